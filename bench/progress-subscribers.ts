/**
 * What following a job's events costs the job: the time of one job of N independent tasks over the
 * HTTP API with 0, 1 and many clients following its event stream (`GET /v1/jobs/:id/events`).
 *
 *   npx tsx bench/progress-subscribers.ts [--tasks 10000,50000] [--subscribers 0,1,500] [--events all|progress] [--repeat 3] [--workers 2] [--gate 3000] [--timeout 120]
 *
 * Starts a private redis-server, `weft scheduler` in its own process and worker processes under a
 * nanny, as an operator would; this process is only the client. Each run submits a fresh graph
 * of N tasks `weft.add(gate, i)` (keys of their own, so nothing is reused) behind one gate task that
 * sleeps `--gate` ms, opens the subscribers' event streams (real HTTP connections, each its own
 * socket, reading everything) while the gate holds the tasks back, so that every subscriber follows
 * every task, and waits for the result (`GET /v1/jobs/:id/result?wait=`): the run's time is from
 * submission to result, less the gate's sleep. The subscribers live in a process of their own (a
 * fork of this script), so that reading their streams does not delay this process's reading of the
 * result; they still share the machine's cores with the scheduler and workers. Runs of every
 * subscriber count alternate (interleaved, so that none is measured in a quieter moment); the median
 * of each is printed, with the ratio to 0 subscribers, and one subscriber's count of progress events.
 * A run longer than `--timeout` seconds is reported as such and its job cancelled. `--events progress`
 * follows with `?events=progress` (progress and done alone, as progress bars do); the default, every
 * event, each task's end included. The scheduler's CPU time per run (from /proc) is printed too.
 */
import { fork } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { jsonLogger } from "../protocol/logger.js";
import { lookupTask } from "../protocol/task-registry.js";
import { startRedisServer } from "../protocol/redis/private-redis-server.js";
import { Nanny } from "../worker/nanny.js";
import { sleep } from "./bench-tasks.js";
import { startScheduler, waitForApiWorkers } from "./scheduler-child.js";
import { median } from "./median.js";

const { values } = parseArgs({
  options: {
    tasks: { type: "string", default: "10000,50000" },
    subscribers: { type: "string", default: "0,1,500" },
    repeat: { type: "string", default: "3" },
    workers: { type: "string", default: "2" },
    timeout: { type: "string", default: "120" },
    events: { type: "string", default: "all" },
    gate: { type: "string", default: "3000" },
    "follower-process": { type: "boolean", default: false },
  },
});
const sizes = values.tasks.split(",").map(Number);
const subscriberCounts = values.subscribers.split(",").map(Number);
const repeat = Number(values.repeat);
const workers = Number(values.workers);
const timeoutMs = Number(values.timeout) * 1000;
const gateMs = Number(values.gate);
const query = values.events === "progress" ? "?events=progress" : "";

/**
 * CPU time (user + system) a process and its descendants have used, in ms, from /proc (Linux; NaN
 * elsewhere): `weft` may run the scheduler in a child process of its own.
 */
function cpuMs(pid: number | undefined, kind: "all" | "system" = "all"): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name (clock ticks of 10 ms).
    let ms = (((kind === "all" ? Number(fields[11]) : 0) + Number(fields[12])) * 1000) / 100;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
    for (const child of children === "" ? [] : children.split(" ")) ms += cpuMs(Number(child), kind);
    return ms;
  } catch {
    return Number.NaN;
  }
}

/** One follower of a job's events: counts bytes and progress events, resolves at the stream's end. */
function follow(
  url: string,
  token: string,
  job: string,
  countProgress: boolean,
): { connected: Promise<void>; ended: Promise<{ bytes: number; progress: number; done: boolean }>; abort(): void } {
  let abort = () => {};
  let connected!: () => void;
  const connection = new Promise<void>((resolve) => (connected = resolve));
  const ended = new Promise<{ bytes: number; progress: number; done: boolean }>((resolve, reject) => {
    const req = httpRequest(`${url}/v1/jobs/${job}/events${query}`, { headers: { authorization: `Bearer ${token}` }, agent: false }, (reply: IncomingMessage) => {
      if (reply.statusCode !== 200) reject(new Error(`events answered ${reply.statusCode}`));
      connected();
      let bytes = 0;
      let progress = 0;
      let tail = "";
      let done = false;
      reply.on("data", (chunk: Buffer) => {
        bytes += chunk.length;
        // Only the end of the stream is looked at (a `done` event), unless progress events are counted.
        const text = tail + (countProgress ? chunk.toString("latin1") : chunk.toString("latin1", Math.max(0, chunk.length - 100)));
        if (countProgress) progress += text.split("event: progress\n").length - 1;
        done ||= text.includes("event: done\n");
        // What follows the last complete event: an event split between chunks is counted once whole.
        tail = text.slice(text.lastIndexOf("\n\n") + 2).slice(-200);
      });
      // Ended, or cut off (the scheduler disconnects a subscriber that falls too far behind).
      reply.on("end", () => resolve({ bytes, progress, done }));
      reply.on("error", () => resolve({ bytes, progress, done }));
      reply.on("aborted", () => resolve({ bytes, progress, done }));
    });
    req.on("error", reject);
    req.end();
    abort = () => req.destroy();
  });
  ended.catch(() => connected());
  return { connected: connection, ended, abort };
}

/** What the followers' process is asked, and what it answers. */
type FollowRequest = { readonly url: string; readonly token: string; readonly job: string; readonly count: number };
type FollowReply =
  | { readonly type: "connected" }
  | { readonly type: "ended"; readonly ends: { bytes: number; progress: number; done: boolean }[] }
  | { readonly type: "failed"; readonly message: string };

/** The followers' process: opens the followers each request asks for, says when they are connected and when they end. */
function serveFollowers(): void {
  process.on("message", (request: FollowRequest) => {
    const followers = Array.from({ length: request.count }, (_, i) => follow(request.url, request.token, request.job, i === 0));
    const send = (reply: FollowReply) => process.send!(reply);
    void Promise.all(followers.map((f) => f.connected)).then(() => send({ type: "connected" }));
    Promise.all(followers.map((f) => f.ended)).then(
      (ends) => send({ type: "ended", ends }),
      (error: Error) => {
        for (const f of followers) f.abort();
        send({ type: "failed", message: error.message });
      },
    );
  });
  process.on("disconnect", () => process.exit(0));
}

/** Starts the followers' process; `follow` opens `count` followers of a job there. */
function startFollowers(): {
  follow(request: FollowRequest): { connected: Promise<void>; ended: Promise<{ bytes: number; progress: number; done: boolean }[]> };
  stop(): void;
} {
  const child = fork(fileURLToPath(import.meta.url), ["--follower-process", ...(query === "" ? [] : ["--events", "progress"])], { execArgv: process.execArgv });
  return {
    follow(request) {
      let connected!: () => void;
      const connection = new Promise<void>((resolve) => (connected = resolve));
      const ended = new Promise<{ bytes: number; progress: number; done: boolean }[]>((resolve, reject) => {
        const onMessage = (reply: FollowReply) => {
          if (reply.type === "connected") connected();
          else {
            child.off("message", onMessage);
            connected();
            if (reply.type === "ended") resolve(reply.ends);
            else reject(new Error(`a follower failed: ${reply.message}`));
          }
        };
        child.on("message", onMessage);
      });
      child.send(request);
      return { connected: connection, ended };
    },
    stop: () => child.disconnect(),
  };
}

async function main(): Promise<void> {
  const server = await startRedisServer();
  const prefix = `weft-bench-progress-${process.pid}`;
  const token = randomBytes(24).toString("base64url");
  const nthreads = Math.max(1, Math.floor(availableParallelism() / workers));
  const nanny = Nanny.start({
    nprocs: workers,
    worker: { redis: server.url, prefix, nthreads, logLevel: "warn", imports: [lookupTask(sleep.taskName)!.module!] },
    logger: jsonLogger({ level: "warn", fields: { component: "nanny" } }),
  });
  const scheduler = startScheduler(["--redis", server.url, "--prefix", prefix, "--http-port", "0", `--api-token=${token}`, "--tick-ms", "100", "--rate-limit", "1000000"]);
  const headers = { authorization: `Bearer ${token}` };
  const followersProcess = startFollowers();
  let runSeq = 0;
  try {
    const url = await scheduler.url;
    await waitForApiWorkers(url, workers);
    /** One timed run: ms from submission to result, or Infinity past the timeout. */
    const run = async (size: number, subscribers: number): Promise<{ ms: number; cpu: number; sys: number; progress: number; bytes: number }> => {
      const seq = ++runSeq;
      const tasks: Record<string, unknown> = {};
      const gate = `r${seq}-gate`;
      for (let i = 0; i < size; i++) tasks[`r${seq}-${i}`] = { fn: "weft.add", args: [{ $ref: gate }, i] };
      const body = JSON.stringify({ tasks: { ...tasks, [gate]: { fn: "bench.sleep", args: [gateMs] } }, outputs: Object.keys(tasks) });
      const start = performance.now();
      const cpuStart = cpuMs(scheduler.pid);
      const sysStart = cpuMs(scheduler.pid, "system");
      const submitted = await fetch(`${url}/v1/jobs`, { method: "POST", headers: { ...headers, "content-type": "application/json" }, body });
      if (submitted.status !== 201) throw new Error(`submit answered ${submitted.status}: ${await submitted.text()}`);
      const { id } = (await submitted.json()) as { id: string };
      const followers = subscribers === 0 ? undefined : followersProcess.follow({ url, token, job: id, count: subscribers });
      await followers?.connected;
      const late = performance.now() - start - gateMs;
      if (late > 0) console.error(`  (the subscribers connected ${Math.round(late)} ms after the gate opened: raise --gate)`);
      const deadline = start + timeoutMs;
      let ms = Number.POSITIVE_INFINITY;
      for (;;) {
        const wait = Math.max(1, Math.min(30_000, Math.round(deadline - performance.now())));
        const reply = await fetch(`${url}/v1/jobs/${id}/result?wait=${wait}`, { headers: { ...headers, accept: "application/json" } });
        if (reply.status === 200) {
          const values = (await reply.json()) as Record<string, number>;
          if (values[`r${seq}-${size - 1}`] !== gateMs + size - 1) throw new Error(`run ${seq} computed a wrong value`);
          ms = performance.now() - start - gateMs;
          break;
        }
        await reply.body?.cancel();
        if (reply.status !== 202) throw new Error(`result answered ${reply.status}`);
        if (performance.now() >= deadline) {
          await fetch(`${url}/v1/jobs/${id}`, { method: "DELETE", headers });
          break;
        }
      }
      const cpu = cpuMs(scheduler.pid) - cpuStart;
      const sys = cpuMs(scheduler.pid, "system") - sysStart;
      let progress = 0;
      let bytes = 0;
      if (followers !== undefined) {
        // A run cut short is cancelled: its followers see done all the same.
        const ends = await followers.ended;
        // Disconnected by the scheduler for falling too far behind (it logs why), or cut off.
        const missing = ends.filter((e) => !e.done).length;
        if (missing > 0) console.error(`  ${missing} of ${subscribers} subscribers did not see done`);
        progress = ends[0]?.progress ?? 0;
        bytes = ends.reduce((sum, e) => sum + e.bytes, 0) / Math.max(1, ends.length);
      }
      return { ms, cpu, sys, progress, bytes };
    };
    // Warm up: JIT, worker threads, connections.
    for (let i = 0; i < 2; i++) await run(Math.min(2000, sizes[0]), 1);
    for (const size of sizes) {
      const times = new Map<number, number[]>(subscriberCounts.map((s) => [s, []]));
      const cpus = new Map<number, number[]>(subscriberCounts.map((s) => [s, []]));
      const progress = new Map<number, number>();
      for (let r = 0; r < repeat; r++) {
        for (const subscribers of subscriberCounts) {
          const result = await run(size, subscribers);
          times.get(subscribers)!.push(result.ms);
          cpus.get(subscribers)!.push(result.cpu);
          progress.set(subscribers, result.progress);
          console.error(
            `  ${size} tasks, ${subscribers} subscribers: ${Number.isFinite(result.ms) ? `${Math.round(result.ms)} ms` : "timed out"}, scheduler CPU ${Math.round(result.cpu)} ms (system ${Math.round(result.sys)} ms), ${Math.round(result.bytes / 1024)} KiB per subscriber`,
          );
        }
      }
      const base = median(times.get(subscriberCounts[0])!);
      for (const subscribers of subscriberCounts) {
        const m = median(times.get(subscribers)!);
        const shown = Number.isFinite(m) ? `${(m / 1000).toFixed(2)} s` : `> ${timeoutMs / 1000} s`;
        console.log(
          `${size} tasks, ${subscribers} subscribers: median ${shown} of ${repeat} (runs ${times.get(subscribers)!.map((t) => (Number.isFinite(t) ? Math.round(t) : "timeout")).join(", ")} ms), ` +
            `${(m / base).toFixed(2)}x of ${subscriberCounts[0]} subscribers; scheduler CPU median ${Math.round(median(cpus.get(subscribers)!))} ms` +
            (subscribers > 0 ? `; progress events one subscriber got: ${progress.get(subscribers)}` : ""),
        );
      }
    }
  } finally {
    followersProcess.stop();
    await scheduler.stop();
    await nanny.stop();
    await server.stop();
  }
}

if (values["follower-process"]) serveFollowers();
else await main();
