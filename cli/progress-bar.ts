import type { TaskCounts } from "../protocol/job-api.js";

/**
 * One line showing a job's progress, such as
 * `[##########··········] 12/24 tasks, 2 running`; erred tasks are counted when there are any.
 *
 * @param width - Characters between the brackets. Default 30.
 */
export function renderProgressBar(tasks: TaskCounts, width = 30): string {
  const done = tasks.finished + tasks.erred;
  const filled = tasks.total === 0 ? width : Math.min(width, Math.floor((done / tasks.total) * width));
  const bar = "#".repeat(filled) + "·".repeat(width - filled);
  let line = `[${bar}] ${tasks.finished}/${tasks.total} tasks`;
  if (tasks.processing > 0) line += `, ${tasks.processing} running`;
  if (tasks.erred > 0) line += `, ${tasks.erred} erred`;
  return line;
}
