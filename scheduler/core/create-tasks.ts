import { userPriorityProblem, type Key } from "../../graph/task-spec.js";
import type { CoreState } from "./core-state.js";
import type { GraphSubmitted } from "./events.js";
import { TaskState } from "./task-state.js";

/**
 * Creates and links a submission's new tasks, or refuses the whole submission — duplicate keys, a
 * dependency or wanted key that exists nowhere, a cycle, a known key with another computation (when
 * `sameRunSpec` is given), a user priority outside ±1,000,000 — leaving the state as it was.
 *
 * @example
 * ```ts
 * const created = createTasks(state, event, state.generation++, undefined);
 * if (!Array.isArray(created)) state.emit({ type: "graph-rejected", client: event.client, ...created });
 * ```
 */
export function createTasks(
  state: CoreState,
  event: GraphSubmitted,
  generation: number,
  sameRunSpec: ((known: unknown, submitted: unknown) => boolean) | undefined,
): TaskState[] | { reason: string; keys: Key[] } {
  const created: TaskState[] = [];
  /** Position in `event.tasks` of each created task. */
  const positions: number[] = [];
  /** The task, new or known, at each position of `event.tasks`. */
  const atPosition: TaskState[] = new Array(event.tasks.length);
  const refuse = (reason: string, keys: Key[]) => {
    for (const task of created) {
      state.tasks.delete(task.key);
      for (const dep of task.dependencies) dep.unlinkDependent(task);
    }
    return { reason, keys };
  };
  for (let position = 0; position < event.tasks.length; position++) {
    const spec = event.tasks[position];
    const known = state.tasks.get(spec.key);
    if (known !== undefined) {
      atPosition[position] = known;
      // Tasks of this very submission carry its generation: a second spec under their key is a duplicate.
      if (known.generation === generation) return refuse(`task "${spec.key}" is submitted twice`, [spec.key]);
      if (sameRunSpec !== undefined && known.runSpec !== spec.runSpec && !sameRunSpec(known.runSpec, spec.runSpec)) {
        return refuse(`key "${spec.key}" is already known with a different computation`, [spec.key]);
      }
      continue;
    }
    // The worker queues' scores are exact only for priorities in the documented range (queue-score.ts).
    const priorityProblem = spec.userPriority === undefined ? undefined : userPriorityProblem(spec.userPriority);
    if (priorityProblem !== undefined) return refuse(`priority of task "${spec.key}" ${priorityProblem}`, [spec.key]);
    const prefix = state.durations.prefix(spec.prefix ?? spec.key);
    const task = new TaskState(
      spec.key,
      prefix,
      -(spec.userPriority ?? 0),
      generation,
      spec.order,
      spec.retries ?? 0,
      spec.runSpec,
    );
    if (spec.scattered === true) task.scattered = true;
    state.tasks.set(spec.key, task);
    atPosition[position] = task;
    created.push(task);
    positions.push(position);
  }
  const links = event.links;
  for (let i = 0; i < created.length; i++) {
    const task = created[i];
    const position = positions[i];
    const keys = event.tasks[position].deps;
    if (keys.length === 0) continue;
    if (links !== undefined && links.depStart[position + 1] - links.depStart[position] === keys.length) {
      const deps: TaskState[] = new Array(keys.length);
      for (let e = links.depStart[position], j = 0; j < keys.length; e++, j++) deps[j] = atPosition[links.deps[e]];
      task.linkDependencies(deps);
      continue;
    }
    // A dependency listed twice is linked once: stamp each as it is found.
    const stamp = ++state.visitStamp;
    const deps: TaskState[] = new Array(keys.length);
    let count = 0;
    for (const depKey of keys) {
      const dep = state.tasks.get(depKey);
      if (dep === undefined) {
        return refuse(`task "${task.key}" depends on "${depKey}", which is not in the graph`, [task.key, depKey]);
      }
      if (dep.visitStamp === stamp) continue;
      dep.visitStamp = stamp;
      deps[count++] = dep;
    }
    deps.length = count;
    task.linkDependencies(deps);
  }
  for (const key of event.wanted) {
    if (!state.tasks.has(key)) return refuse(`wanted key "${key}" is not in the graph`, [key]);
  }
  const cycle = event.acyclic === true ? undefined : findCycle(state, created, generation);
  if (cycle !== undefined) {
    return refuse(`the graph has a cycle: ${[...cycle, cycle[0]].map((k) => `"${k}"`).join(" -> ")}`, cycle);
  }
  return created;
}

/**
 * A cycle among the tasks of one submission (known tasks cannot depend on new ones, so a cycle can
 * only run through new tasks), as its keys; undefined when there is none. Iterative three-colour DFS
 * marking `visitStamp` with two fresh stamps: on the current path, and done.
 */
function findCycle(state: CoreState, created: readonly TaskState[], generation: number): Key[] | undefined {
  const ON_PATH = ++state.visitStamp;
  const DONE = ++state.visitStamp;
  const path: TaskState[] = [];
  const next: number[] = [];
  for (const root of created) {
    if (root.visitStamp === ON_PATH || root.visitStamp === DONE) continue;
    root.visitStamp = ON_PATH;
    path.push(root);
    next.push(0);
    while (path.length > 0) {
      const top = path.length - 1;
      const task = path[top];
      if (next[top] < task.dependencies.length) {
        const dep = task.dependencies[next[top]++];
        if (dep.generation !== generation) continue;
        if (dep.visitStamp === ON_PATH) return path.slice(path.indexOf(dep)).map((t) => t.key).reverse();
        if (dep.visitStamp !== DONE) {
          dep.visitStamp = ON_PATH;
          path.push(dep);
          next.push(0);
        }
        continue;
      }
      task.visitStamp = DONE;
      path.pop();
      next.pop();
    }
  }
  return undefined;
}
