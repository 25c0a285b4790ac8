import { decodeValue, encodeValue } from "../graph/codec.js";
import type { Key } from "../graph/task-spec.js";

/** What the scheduler tells a worker through its inbox. */
export type WorkerMessage =
  /** Drop these results: nothing needs them any more. */
  | { readonly type: "release"; readonly keys: readonly Key[] }
  /** These tasks are no longer needed: skip them if not started, drop their results if done. */
  | { readonly type: "cancel"; readonly keys: readonly Key[] }
  /** Copy these results from the data server at `from` (a stopping worker) and report each as held. */
  | { readonly type: "replicate"; readonly keys: readonly Key[]; readonly from: string };

export function encodeWorkerMessage(message: WorkerMessage): Uint8Array {
  return encodeValue(message.type === "replicate" ? [message.type, message.keys, message.from] : [message.type, message.keys]);
}

export function decodeWorkerMessage(bytes: Uint8Array): WorkerMessage {
  const [type, keys, from] = decodeValue(bytes) as [string, Key[], unknown];
  if (!Array.isArray(keys)) throw new Error("not a worker message");
  if (type === "release" || type === "cancel") return { type, keys };
  if (type === "replicate" && typeof from === "string") return { type, keys, from };
  throw new Error(`not a worker message: ${JSON.stringify(type)}`);
}
