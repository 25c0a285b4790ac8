import { decodeValue, encodeValue } from "../graph/codec.js";
import type { Key } from "../graph/task-spec.js";

/** What the scheduler tells a worker through its inbox. */
export type WorkerMessage =
  /** Drop these results: nothing needs them any more. */
  | { readonly type: "release"; readonly keys: readonly Key[] }
  /** These tasks are no longer needed: skip them if not started, drop their results if done. */
  | { readonly type: "cancel"; readonly keys: readonly Key[] };

export function encodeWorkerMessage(message: WorkerMessage): Uint8Array {
  return encodeValue([message.type, message.keys]);
}

export function decodeWorkerMessage(bytes: Uint8Array): WorkerMessage {
  const [type, keys] = decodeValue(bytes) as [string, Key[]];
  if ((type !== "release" && type !== "cancel") || !Array.isArray(keys)) throw new Error("not a worker message");
  return { type, keys };
}
