import type { TaskFailure } from "../scheduler/events.js";

/** Turns whatever a task threw into a {@link TaskFailure} that survives the wire. */
export function toTaskFailure(thrown: unknown): TaskFailure {
  if (thrown instanceof Error) {
    return { name: thrown.name, message: thrown.message, ...(thrown.stack !== undefined && { stack: thrown.stack }) };
  }
  let message: string;
  try {
    message = typeof thrown === "string" ? thrown : JSON.stringify(thrown) ?? String(thrown);
  } catch {
    message = String(thrown);
  }
  return { name: "Error", message: `non-Error thrown: ${message}` };
}
