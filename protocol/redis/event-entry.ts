import { unpack } from "msgpackr";
import type { Key } from "../../graph/task-spec.js";
import type { WorkerId } from "../ids.js";

/** One entry of the events stream, as workers' scripts write it. */
export interface EventEntry {
  /** The worker it came from. */
  readonly worker: WorkerId;
  /** Encoded task reports (see `protocol/task-report.ts`), from `finishTasks`. */
  readonly data?: Buffer;
  /** Set when the worker began to stop (`markStopping`): the tasks it handed back unstarted, maybe none. */
  readonly returned?: Key[];
  /** The worker's account (`protocol/worker-account.ts`), sent when the cluster's generation changed. */
  readonly account?: Buffer;
  /** With an account: the tasks Redis held for the worker when it was sent, queued or taken. */
  readonly assigned?: Key[];
}

/** Reads an events-stream entry's field list (`[name, value, name, value, ...]`). */
export function parseEventFields(fields: readonly Buffer[]): EventEntry {
  let worker = "";
  let data: Buffer | undefined;
  let returned: Key[] | undefined;
  let account: Buffer | undefined;
  let assigned: Key[] | undefined;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i].toString();
    if (name === "worker") worker = fields[i + 1].toString();
    else if (name === "data") data = fields[i + 1];
    else if (name === "returned") returned = luaKeyList(fields[i + 1]);
    else if (name === "account") account = fields[i + 1];
    else if (name === "assigned") assigned = luaKeyList(fields[i + 1]);
  }
  return { worker, data, returned, account, assigned };
}

/** A list of keys packed by Lua's msgpack, which writes an empty table as a map. */
function luaKeyList(bytes: Buffer): Key[] {
  const keys: unknown = unpack(bytes);
  return Array.isArray(keys) ? (keys as Key[]) : [];
}
