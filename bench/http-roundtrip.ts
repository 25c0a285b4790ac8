import { randomBytes } from "node:crypto";
import { availableParallelism } from "node:os";
import { jsonLogger } from "../protocol/logger.js";
import { decodeValue } from "../graph/codec.js";
import { startRedisServer, type RedisServer } from "../protocol/redis/private-redis-server.js";
import { Nanny } from "../worker/nanny.js";
import { startScheduler } from "./scheduler-child.js";

/** Untimed round trips before the timed ones: connections opened, JIT warm, workers' threads started. */
const WARM_UP_ROUND_TRIPS = 200;

/** Options of {@link runHttpRoundTrip}. */
export interface HttpRoundTripOptions {
  /** Timed round trips. Default 200. */
  readonly roundTrips?: number;
  /** Untimed round trips of each kind first. Default 200. */
  readonly warmUps?: number;
  /** Worker processes. Default 2. */
  readonly workers?: number;
  /** Threads per worker. Default: CPU count ÷ workers, at least 1. */
  readonly nthreads?: number;
  /** An existing Redis; default: a private redis-server for the run. */
  readonly redis?: string;
}

/** What {@link runHttpRoundTrip} measured, in milliseconds. */
export interface HttpRoundTripResult {
  readonly roundTrips: number;
  readonly medianMs: number;
  readonly p90Ms: number;
  /** Median of the submit request alone, and of the result request alone. */
  readonly submitMedianMs: number;
  readonly resultMedianMs: number;
  /** The same round trip as one request, `POST /v1/jobs?wait=…` (submit and wait): median and p90. */
  readonly waitMedianMs: number;
  readonly waitP90Ms: number;
  readonly runs: readonly number[];
}

/**
 * The round trip of a 1-task graph over the HTTP API with warm workers: starts a private redis-server,
 * a `weft scheduler` process serving HTTP on a free port, and worker processes under a nanny, as an
 * operator would, so that this process is only the client; then, one after the
 * other, submits `{"x-i": weft.add(i, 1)}` as JSON (`POST /v1/jobs`) and fetches its result
 * (`GET /v1/jobs/:id/result?wait=…`, MessagePack), checking each value; times each pair. Each such
 * round trip alternates with one made of a single request, `POST /v1/jobs?wait=…`, which replies
 * with the result.
 */
export async function runHttpRoundTrip(options: HttpRoundTripOptions = {}): Promise<HttpRoundTripResult> {
  const count = options.roundTrips ?? 200;
  const workers = options.workers ?? 2;
  const server: RedisServer | undefined = options.redis === undefined ? await startRedisServer() : undefined;
  const redis = options.redis ?? server!.url;
  const prefix = `weft-bench-http-${process.pid}-${Date.now()}`;
  const token = randomBytes(24).toString("base64url");
  const nthreads = options.nthreads ?? Math.max(1, Math.floor(availableParallelism() / workers));
  // Workers first: the scheduler's readiness then tells when they have joined.
  const nanny = Nanny.start({
    nprocs: workers,
    worker: { redis, prefix, nthreads, logLevel: "warn" },
    logger: jsonLogger({ level: "warn", fields: { component: "nanny" } }),
  });
  const scheduler = startScheduler(["--redis", redis, "--prefix", prefix, "--http-port", "0", `--api-token=${token}`, "--tick-ms", "100"]);
  try {
    const url = await scheduler.url;
    const deadline = Date.now() + 60_000;
    for (;;) {
      const ready = await fetch(`${url}/v1/ready`);
      const body = (await ready.json()) as { workers?: number; details?: { workers?: number } };
      if ((body.workers ?? body.details?.workers ?? 0) >= workers) break;
      if (Date.now() > deadline) throw new Error(`only ${body.workers ?? body.details?.workers ?? 0} of ${workers} workers joined within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const headers = { authorization: `Bearer ${token}` };
    const roundTrip = async (i: number): Promise<[number, number]> => {
      const start = performance.now();
      const key = `x-${i}`;
      const submitted = await fetch(`${url}/v1/jobs`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ tasks: { [key]: { fn: "weft.add", args: [i, 1] } }, outputs: [key] }),
      });
      if (submitted.status !== 201) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
      const { id } = (await submitted.json()) as { id: string };
      const submittedAt = performance.now();
      const reply = await fetch(`${url}/v1/jobs/${id}/result?wait=10000`, { headers });
      if (reply.status !== 200) throw new Error(`result answered ${reply.status}: ${await reply.text()}`);
      const value = (decodeValue(new Uint8Array(await reply.arrayBuffer())) as Record<string, unknown>)[key];
      if (value !== i + 1) throw new Error(`round trip ${i} computed ${String(value)}, expected ${i + 1}`);
      const end = performance.now();
      return [submittedAt - start, end - submittedAt];
    };
    const submitAndWait = async (i: number): Promise<number> => {
      const start = performance.now();
      const key = `w-${i}`;
      const reply = await fetch(`${url}/v1/jobs?wait=10000`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ tasks: { [key]: { fn: "weft.add", args: [i, 1] } }, outputs: [key] }),
      });
      if (reply.status !== 200) throw new Error(`submit-and-wait answered ${reply.status}: ${await reply.text()}`);
      const value = (decodeValue(new Uint8Array(await reply.arrayBuffer())) as Record<string, unknown>)[key];
      if (value !== i + 1) throw new Error(`round trip ${i} computed ${String(value)}, expected ${i + 1}`);
      return performance.now() - start;
    };
    // Both kinds warm up, then alternate, so that neither is measured on a colder scheduler (its JIT
    // keeps improving over the first few hundred requests) or in a quieter moment of the machine.
    for (let i = 0; i < (options.warmUps ?? WARM_UP_ROUND_TRIPS); i++) {
      await roundTrip(-1 - i);
      await submitAndWait(-1 - i);
    }
    const submits: number[] = [];
    const results: number[] = [];
    const waits: number[] = [];
    for (let i = 0; i < count; i++) {
      const [submit, result] = await roundTrip(i);
      submits.push(submit);
      results.push(result);
      waits.push(await submitAndWait(i));
    }
    const runs = submits.map((submit, i) => submit + results[i]);
    return {
      roundTrips: count,
      medianMs: quantile(runs, 0.5),
      p90Ms: quantile(runs, 0.9),
      submitMedianMs: quantile(submits, 0.5),
      resultMedianMs: quantile(results, 0.5),
      waitMedianMs: quantile(waits, 0.5),
      waitP90Ms: quantile(waits, 0.9),
      runs,
    };
  } finally {
    await scheduler.stop();
    await nanny.stop();
    await server?.stop();
  }
}

/** The q-quantile by nearest rank. */
function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}
