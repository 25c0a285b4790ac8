import { decodeValue, encodeValue } from "../graph/codec.js";
import type { Key } from "../graph/task-spec.js";
import type { WorkerId } from "./ids.js";

/** Where an input of a task can be had: inline, or from the workers holding it. */
export type InputSource =
  | { readonly key: Key; readonly inline: true; readonly value: unknown }
  | { readonly key: Key; readonly inline: false; readonly holders: readonly { readonly worker: WorkerId; readonly address: string }[] };

/**
 * What the scheduler sends a worker for one task: the function, the arguments (with `Ref`s where
 * inputs go, and fused `Call`s), and where each input is. Encoded with the wire codec, so it carries
 * typed arrays, `Ref`s and `Call`s intact.
 */
export interface TaskMessage {
  readonly key: Key;
  readonly fn: string;
  readonly args: readonly unknown[];
  readonly inputs: readonly InputSource[];
  /** Counts reruns, so a late report from an earlier attempt can be told apart. */
  readonly attempt: number;
  /** Longest the task may run, in ms (see `TaskOptions.timeoutMs`). Default: no limit. */
  readonly timeoutMs?: number;
}

/** Encodes a task message for the worker's queue. */
export function encodeTaskMessage(message: TaskMessage): Uint8Array {
  const fields = [message.key, message.fn, message.args, message.inputs.map(encodeInput), message.attempt];
  return encodeValue(message.timeoutMs === undefined ? fields : [...fields, message.timeoutMs]);
}

/** Decodes a task message; throws on bytes that are not one. */
export function decodeTaskMessage(bytes: Uint8Array): TaskMessage {
  const decoded = decodeValue(bytes);
  if (!Array.isArray(decoded) || decoded.length < 5 || decoded.length > 6) throw new Error("not a task message");
  const [key, fn, args, inputs, attempt, timeoutMs] = decoded as [unknown, unknown, unknown, unknown, unknown, unknown];
  if (typeof key !== "string" || typeof fn !== "string" || !Array.isArray(args) || !Array.isArray(inputs) || typeof attempt !== "number") {
    throw new Error("not a task message");
  }
  if (timeoutMs !== undefined && typeof timeoutMs !== "number") throw new Error("not a task message");
  const message = { key, fn, args, inputs: inputs.map(decodeInput), attempt };
  return timeoutMs === undefined ? message : { ...message, timeoutMs };
}

function encodeInput(input: InputSource): unknown {
  return input.inline ? [input.key, 1, input.value] : [input.key, 0, input.holders.map((h) => [h.worker, h.address])];
}

function decodeInput(raw: unknown): InputSource {
  const [key, inline, payload] = raw as [Key, number, unknown];
  if (inline === 1) return { key, inline: true, value: payload };
  return { key, inline: false, holders: (payload as [WorkerId, string][]).map(([worker, address]) => ({ worker, address })) };
}
