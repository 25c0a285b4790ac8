import type { Key } from "../graph/task-spec.js";
import type { WorkerId } from "../scheduler/events.js";
import type { DataClient } from "./data-client.js";
import type { ResultStore } from "./result-store.js";
import type { InputSource } from "./task-message.js";

/** The inputs of a task, or the ones that could not be had from the workers said to hold them. */
export type GatheredInputs =
  | {
      readonly ok: true;
      readonly values: Map<Key, unknown>;
      /** The inputs that came from peers (the rest were inline or held here). */
      readonly fetched: readonly Key[];
    }
  | { readonly ok: false; readonly missing: readonly { readonly key: Key; readonly worker: WorkerId }[] };

/**
 * Collects a task's inputs: from the message (inline), from this worker's own results, or from peers,
 * one request per peer for all the keys wanted from it. A holder that fails (gone, or no longer has
 * the key) is replaced by the input's next holder; an input every holder failed comes back in
 * `missing`, naming each of them, for the `task-missing-data` report.
 *
 * The caller decides what becomes of fetched inputs; a worker keeps them as replicas (see
 * `WorkerProcess`).
 */
export async function gatherInputs(inputs: readonly InputSource[], store: ResultStore, client: DataClient): Promise<GatheredInputs> {
  const values = new Map<Key, unknown>();
  let pending: Extract<InputSource, { inline: false }>[] = [];
  for (const input of inputs) {
    if (input.inline) {
      values.set(input.key, input.value);
      continue;
    }
    const held = store.get(input.key);
    if (held !== undefined) values.set(input.key, held.value);
    else pending.push(input);
  }
  const missing: { key: Key; worker: WorkerId }[] = [];
  const fetched: Key[] = [];
  // Round r asks every pending input's r-th holder, all peers in parallel.
  for (let round = 0; pending.length > 0; round++) {
    const byAddress = new Map<string, Extract<InputSource, { inline: false }>[]>();
    for (const input of pending) {
      const holder = input.holders[round];
      if (holder === undefined) {
        for (const h of input.holders) missing.push({ key: input.key, worker: h.worker });
        // No holder at all is the scheduler's mistake; still report it rather than run without it.
        if (input.holders.length === 0) missing.push({ key: input.key, worker: "" });
        continue;
      }
      let group = byAddress.get(holder.address);
      if (group === undefined) byAddress.set(holder.address, (group = []));
      group.push(input);
    }
    const retry: Extract<InputSource, { inline: false }>[] = [];
    await Promise.all(
      [...byAddress].map(async ([address, group]) => {
        try {
          const frames = await client.fetch(address, group.map((input) => input.key));
          frames.forEach((frame, i) => {
            if (frame.found) {
              values.set(group[i].key, frame.value);
              fetched.push(group[i].key);
            } else retry.push(group[i]);
          });
        } catch {
          retry.push(...group);
        }
      }),
    );
    pending = retry;
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, values, fetched };
}
