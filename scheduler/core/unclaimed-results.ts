import type { Key } from "../../graph/task-spec.js";
import type { WorkerId } from "../../protocol/ids.js";

/** A result a worker holds that no known task claims (yet): see {@link UnclaimedResults}. */
export interface UnclaimedResult {
  readonly worker: WorkerId;
  readonly nbytes: number;
  /** What computed it (`taskFingerprint`); a new task claims it only with the same fingerprint. */
  readonly fingerprint: string;
  /** The core's time (the last `tick`'s `now`) when the worker named it. */
  readonly since: number;
}

/**
 * Results workers named in their accounts that the core knows no task for: computed for an earlier
 * scheduler (this one took over from it) or released while Redis lost the release. A task submitted
 * later under the same key and with the same fingerprint starts in memory on those workers instead
 * of being computed again, as Dask's scheduler takes in the keys a reconnecting worker still holds.
 * Unclaimed for `SchedulerConfig.unclaimedResultTtlMs`, they are released.
 *
 * @example
 * ```ts
 * const unclaimed = new UnclaimedResults();
 * unclaimed.add("sum-1", { worker: "w1", nbytes: 8, fingerprint: "q3Jx…", since: 0 });
 * unclaimed.take("sum-1"); // [{ worker: "w1", … }], and it is no longer unclaimed
 * ```
 */
export class UnclaimedResults {
  private readonly byKey = new Map<Key, UnclaimedResult[]>();

  /** Number of keys with unclaimed results. */
  get size(): number {
    return this.byKey.size;
  }

  has(key: Key): boolean {
    return this.byKey.has(key);
  }

  add(key: Key, result: UnclaimedResult): void {
    const results = this.byKey.get(key);
    if (results === undefined) this.byKey.set(key, [result]);
    else if (!results.some((other) => other.worker === result.worker)) results.push(result);
  }

  /** The results under `key`, which are no longer unclaimed. */
  take(key: Key): UnclaimedResult[] {
    const results = this.byKey.get(key) ?? [];
    this.byKey.delete(key);
    return results;
  }

  /** Forgets what `worker` held (it left); returns nothing: its results left with it. */
  dropWorker(worker: WorkerId): void {
    for (const [key, results] of this.byKey) {
      const kept = results.filter((result) => result.worker !== worker);
      if (kept.length === 0) this.byKey.delete(key);
      else if (kept.length !== results.length) this.byKey.set(key, kept);
    }
  }

  /** Takes out the results named before `before`: the caller releases them. */
  expire(before: number): { readonly key: Key; readonly workers: WorkerId[] }[] {
    const expired: { key: Key; workers: WorkerId[] }[] = [];
    for (const [key, results] of this.byKey) {
      const old = results.filter((result) => result.since < before);
      if (old.length === 0) continue;
      expired.push({ key, workers: old.map((result) => result.worker) });
      const kept = results.filter((result) => result.since >= before);
      if (kept.length === 0) this.byKey.delete(key);
      else this.byKey.set(key, kept);
    }
    return expired;
  }

  /** Every unclaimed result, by key, for the state's validation. */
  entries(): IterableIterator<[Key, readonly UnclaimedResult[]]> {
    return this.byKey.entries();
  }
}
