import { createHash } from "node:crypto";
import { decodeValue, encodeValue } from "../graph/codec.js";
import type { Key } from "../graph/task-spec.js";

/** A result a worker holds, as its account names it. */
export interface HeldResult {
  readonly key: Key;
  /** Its size in bytes, as the worker reported it when it computed or copied it. */
  readonly nbytes: number;
  /**
   * What computed it ({@link taskFingerprint} of its function and arguments), or "" for a copy
   * fetched from a peer: a scheduler reuses a result it did not see computed only when a submitted
   * task has this same fingerprint.
   */
  readonly fingerprint: string;
}

/**
 * What a worker tells the scheduler when the cluster's generation changes (a new scheduler took the
 * role, or Redis lost its data): the results it holds and the tasks it runs. The scheduler adds the
 * tasks Redis holds for the worker (queued and taken) from the same atomic step that sends it.
 */
export interface WorkerAccount {
  /** The generation it answers. */
  readonly generation: string;
  readonly held: readonly HeldResult[];
  /** Tasks it is running now. */
  readonly running: readonly Key[];
}

/**
 * The fingerprint of a task's computation: a hash of its function name and its arguments in the
 * wire codec (dependencies appear there by key). Two tasks under one key with the same fingerprint
 * compute the same result; the scheduler compares them before reusing a result a worker holds from
 * an earlier scheduler. 22 characters of base64url (128 bits of SHA-256).
 *
 * @example
 * ```ts
 * taskFingerprint("inc", [1]) === taskFingerprint("inc", [1]); // true
 * ```
 */
export function taskFingerprint(fn: string, args: readonly unknown[]): string {
  return createHash("sha256").update(fn).update("\u0000").update(encodeValue(args)).digest("base64url").slice(0, 22);
}

/** Encodes an account for the events stream. */
export function encodeWorkerAccount(account: WorkerAccount): Uint8Array {
  return encodeValue([account.generation, account.held.map((held) => [held.key, held.nbytes, held.fingerprint]), account.running]);
}

/** Decodes an account; throws on bytes that are not one. */
export function decodeWorkerAccount(bytes: Uint8Array): WorkerAccount {
  const decoded = decodeValue(bytes);
  if (!Array.isArray(decoded) || decoded.length !== 3) throw new Error("not a worker account");
  const [generation, held, running] = decoded as [unknown, unknown, unknown];
  if (typeof generation !== "string" || !Array.isArray(held) || !Array.isArray(running)) throw new Error("not a worker account");
  return {
    generation,
    held: held.map((entry) => {
      const [key, nbytes, fingerprint] = entry as [unknown, unknown, unknown];
      if (typeof key !== "string" || typeof nbytes !== "number" || typeof fingerprint !== "string") throw new Error("not a worker account");
      return { key, nbytes, fingerprint };
    }),
    running: running.map((key) => {
      if (typeof key !== "string") throw new Error("not a worker account");
      return key;
    }),
  };
}
