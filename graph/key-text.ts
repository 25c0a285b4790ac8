/**
 * Keys must be text: a JavaScript string may hold a lone UTF-16 surrogate (half of a pair, such as
 * `"\ud800"`), which JSON text can carry (`"\ud800"` escaped) but UTF-8 cannot. Such a key changes on
 * its way through Redis, MessagePack or a worker (it comes back as U+FFFD, or as three bytes some
 * decoders read back and others replace), so the scheduler would wait forever for a result reported
 * under another key. Keys are therefore checked where they enter: graph validation, the HTTP data
 * upload, and `Client.connect` before it sends anything.
 */

import { GraphError } from "./graph-error.js";
import type { Key } from "./task-spec.js";

/** `String.prototype.isWellFormed` (ES2024, in Node 20), which the ES2023 lib does not declare. */
const isWellFormed = (String.prototype as unknown as { isWellFormed: (this: string) => boolean }).isWellFormed;

/** A surrogate code point: in `u` mode, only a lone surrogate matches; a pair is one other code point. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Why `key` cannot be a key, or undefined when it can. O(1) for the usual one-byte (Latin-1) keys.
 *
 * @example
 * ```ts
 * keyTextProblem("part-1"); // undefined
 * keyTextProblem("part-\ud800"); // "holds a lone UTF-16 surrogate (\\ud800 at index 5), ..."
 * ```
 */
export function keyTextProblem(key: Key): string | undefined {
  if (isWellFormed.call(key)) return undefined;
  const at = LONE_SURROGATE.exec(key)?.index ?? 0;
  const unit = key.charCodeAt(at).toString(16);
  return (
    `holds a lone UTF-16 surrogate (\\u${unit} at index ${at}), half of a character that is not text and would not ` +
    "survive UTF-8 on its way to the workers; use the whole character (both halves of the pair) or leave it out"
  );
}

/**
 * Throws a {@link GraphError} `"invalid-key"` naming the first of `keys` that {@link keyTextProblem}
 * refuses. `role` says what the keys are, for the message: `"task"`, `"output"`, `"data"`.
 *
 * @example
 * ```ts
 * checkKeyText(outputs, "output"); // GraphError: output key "a\ud800" holds a lone UTF-16 surrogate ...
 * ```
 */
export function checkKeyText(keys: Iterable<Key>, role: string): void {
  for (const key of keys) {
    const problem = keyTextProblem(key);
    if (problem !== undefined) throw new GraphError("invalid-key", `${role} key ${JSON.stringify(key)} ${problem}`, [key]);
  }
}
