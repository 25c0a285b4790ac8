import type { Key } from "../graph/task-spec.js";
import type { WorkerId } from "../protocol/ids.js";
import type { DataClient } from "../protocol/data-client.js";
import type { DecodedFrame } from "../protocol/data-frames.js";
import type { ResultStore } from "./result-store.js";
import type { InputSource } from "../protocol/task-message.js";

/** The inputs of a task, or the ones that could not be had from the workers said to hold them. */
export type GatheredInputs =
  | {
      readonly ok: true;
      readonly values: Map<Key, unknown>;
      /** The inputs this call fetched from peers (the rest were inline, held here, or fetched by another task). */
      readonly fetched: readonly Key[];
    }
  | { readonly ok: false; readonly missing: readonly { readonly key: Key; readonly worker: WorkerId }[] };

/** How one worker's fetch of a key ended: with its value, or with no holder able to give it. */
export type FetchOutcome = { readonly found: true; readonly value: unknown } | { readonly found: false };

/** Options of {@link gatherInputs}. */
export interface GatherOptions {
  /**
   * Fetches under way on this worker, by key, shared by the tasks gathering inputs at the same time:
   * a task needing a key that another is already fetching waits for that fetch rather than start a
   * second one (the scheduler sends a task to a worker fetching its input precisely so that one
   * transfer serves both). Entries are added and removed by `gatherInputs`. Default: none shared.
   */
  readonly inFlight?: Map<Key, Promise<FetchOutcome>>;
  /**
   * Called with each input this call fetches from a peer, as it arrives: before the task runs, and
   * before the fetch stops being shared, so a worker keeping copies has it in its store by the time a
   * later task looks there. Default: the copy is the task's alone.
   */
  readonly onFetched?: (key: Key, value: unknown) => void;
}

type RemoteInput = Extract<InputSource, { inline: false }>;

const NOT_FOUND: FetchOutcome = { found: false };

/**
 * Collects a task's inputs: from the message (inline), from this worker's own results, from a fetch
 * of the same key already under way for another task (`inFlight`), or from peers, one request per
 * peer for all the keys wanted from it. A holder that fails (gone, or no longer has the key) is
 * replaced by the input's next holder; an input every holder failed comes back in `missing`, naming
 * each of them, for the `task-missing-data` report. A shared fetch that found nothing does not decide
 * for this task: it then tries its own holders, as if it had been first.
 *
 * The caller decides what becomes of fetched inputs (`onFetched`); a worker keeps them as replicas
 * (see `WorkerProcess`).
 */
export async function gatherInputs(
  inputs: readonly InputSource[],
  store: ResultStore,
  client: DataClient,
  options: GatherOptions = {},
): Promise<GatheredInputs> {
  const values = new Map<Key, unknown>();
  const missing: { key: Key; worker: WorkerId }[] = [];
  const fetched: Key[] = [];
  const own: RemoteInput[] = [];
  const joined: { input: RemoteInput; outcome: Promise<FetchOutcome> }[] = [];
  const fetcher = new SharedFetches(options);
  for (const input of inputs) {
    if (input.inline) {
      values.set(input.key, input.value);
      continue;
    }
    const held = store.get(input.key);
    if (held !== undefined) {
      values.set(input.key, held.value);
      continue;
    }
    const shared = options.inFlight?.get(input.key);
    if (shared !== undefined) {
      joined.push({ input, outcome: shared });
    } else {
      // Claimed now, before the first await, so that tasks gathering in the same tick find it.
      fetcher.claim(input.key);
      own.push(input);
    }
  }

  const fromPeers = (list: RemoteInput[]) => fetchFromHolders(list, client, fetcher, values, fetched, missing);
  const retry: RemoteInput[] = [];
  await Promise.all([
    fromPeers(own),
    ...joined.map(async ({ input, outcome }) => {
      const result = await outcome;
      if (result.found) values.set(input.key, result.value);
      else retry.push(input);
    }),
  ]);
  if (retry.length > 0) {
    for (const input of retry) fetcher.claim(input.key);
    await fromPeers(retry);
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, values, fetched };
}

/** The fetches one `gatherInputs` call started, offered to other tasks through `inFlight` until they end. */
class SharedFetches {
  private readonly pending = new Map<Key, { promise: Promise<FetchOutcome>; resolve: (outcome: FetchOutcome) => void }>();

  constructor(private readonly options: GatherOptions) {}

  /** This call fetches `key`; other tasks may wait for it. A key some fetch already offers stays with that one. */
  claim(key: Key): void {
    const inFlight = this.options.inFlight;
    if (inFlight === undefined || inFlight.has(key)) return;
    let resolve!: (outcome: FetchOutcome) => void;
    const promise = new Promise<FetchOutcome>((r) => (resolve = r));
    inFlight.set(key, promise);
    this.pending.set(key, { promise, resolve });
  }

  /** The value arrived: hand it to the caller, then to the tasks waiting for it. */
  found(key: Key, value: unknown): void {
    this.options.onFetched?.(key, value);
    this.end(key, { found: true, value });
  }

  /** Every holder failed (or the fetch was abandoned): waiting tasks try on their own. */
  end(key: Key, outcome: FetchOutcome = NOT_FOUND): void {
    const entry = this.pending.get(key);
    if (entry === undefined) return;
    this.pending.delete(key);
    if (this.options.inFlight?.get(key) === entry.promise) this.options.inFlight.delete(key);
    entry.resolve(outcome);
  }

  /** Ends every fetch still claimed, so no waiting task waits forever. */
  endAll(): void {
    for (const key of [...this.pending.keys()]) this.end(key);
  }
}

/**
 * Fetches `pending` from their holders: round r asks every input's r-th holder, all peers in
 * parallel. Fills `values` and `fetched`, and `missing` for inputs no holder gave.
 */
async function fetchFromHolders(
  pending: RemoteInput[],
  client: DataClient,
  shared: SharedFetches,
  values: Map<Key, unknown>,
  fetched: Key[],
  missing: { key: Key; worker: WorkerId }[],
): Promise<void> {
  try {
    for (let round = 0; pending.length > 0; round++) {
      const byAddress = new Map<string, RemoteInput[]>();
      for (const input of pending) {
        const holder = input.holders[round];
        if (holder === undefined) {
          for (const h of input.holders) missing.push({ key: input.key, worker: h.worker });
          // No holder at all is the scheduler's mistake; still report it rather than run without it.
          if (input.holders.length === 0) missing.push({ key: input.key, worker: "" });
          shared.end(input.key);
          continue;
        }
        let group = byAddress.get(holder.address);
        if (group === undefined) byAddress.set(holder.address, (group = []));
        group.push(input);
      }
      const retry: RemoteInput[] = [];
      await Promise.all(
        [...byAddress].map(async ([address, group]) => {
          let frames: DecodedFrame[];
          try {
            frames = await client.fetch(address, group.map((input) => input.key));
          } catch {
            retry.push(...group);
            return;
          }
          frames.forEach((frame, i) => {
            if (frame.found) {
              values.set(group[i].key, frame.value);
              fetched.push(group[i].key);
              shared.found(group[i].key, frame.value);
            } else retry.push(group[i]);
          });
        }),
      );
      pending = retry;
    }
  } finally {
    shared.endAll();
  }
}
