/**
 * Redis dies under a running cluster, as an operator would see it: a `weft scheduler` and a `weft
 * worker` (the compiled command; the worker process its nanny starts), a job running, and the
 * redis-server killed with SIGKILL, then started again on its port with its append-only file.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exited } from "../support/processes.js";
import { useRestartableRedis } from "../support/restartable-redis.js";
import { startWeft, type StartedWeft } from "../support/weft-command.js";

const TOKEN = "redis-outage-token-0123456789abcdef";
const redis = useRestartableRedis();

let scheduler: StartedWeft;
let worker: StartedWeft;
let url: string;

beforeAll(async () => {
  scheduler = startWeft(["scheduler", "--redis", redis().url, "--http-port", "0", "--api-token", TOKEN, "--tick-ms", "50"]);
  worker = startWeft(["worker", "--redis", redis().url, "--nthreads", "2", "--executor", "main", "--import", "test/fixtures/math-tasks.ts"]);
  url = (await logged(scheduler, /"weft scheduler running".*?"http":"(http:[^"]+)"/, 20_000))[1];
  const deadline = Date.now() + 20_000;
  while ((await api("/v1/ready")).status !== 200) {
    if (Date.now() > deadline) throw new Error(`the worker did not join within 20 s:\n${worker.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}, 60_000);

afterAll(async () => {
  // Stopped however the tests ended; SIGKILL for one that does not stop in time.
  for (const started of [worker, scheduler]) {
    if (started === undefined || started.command.exitCode !== null || started.command.signalCode !== null) continue;
    started.command.kill("SIGTERM");
    const timer = setTimeout(() => started.command.kill("SIGKILL"), 10_000);
    await exited(started.command);
    clearTimeout(timer);
  }
}, 30_000);

/** Waits up to `timeoutMs` for output matching `pattern`; fails with what the process wrote. */
async function logged(process: StartedWeft, pattern: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const match = pattern.exec(process.stderr());
    if (match !== null) return match;
    if (Date.now() > deadline) throw new Error(`no output matching ${pattern} within ${timeoutMs} ms; stderr:\n${process.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function api(path: string, init: RequestInit = {}): Promise<Response> {
  // Bounded here: a request that hangs fails the test rather than timing it out.
  return fetch(`${url}${path}`, {
    signal: AbortSignal.timeout(15_000),
    ...init,
    headers: { authorization: `Bearer ${TOKEN}`, accept: "application/json", "content-type": "application/json", ...(init.headers as Record<string, string>) },
  });
}

/** A request and how long its reply took, in ms. */
async function timed(path: string, init: RequestInit = {}): Promise<{ status: number; body: { error: string; message: string }; ms: number }> {
  const started = Date.now();
  const reply = await api(path, init);
  return { status: reply.status, body: (await reply.json()) as { error: string; message: string }, ms: Date.now() - started };
}

/** The JSON log lines of a process whose `msg` matches `pattern`, with their pid. */
function lines(process: StartedWeft, pattern: RegExp): { msg: string; pid: number; downMs?: number; error?: string }[] {
  return process
    .stderr()
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { msg: string; pid: number; downMs?: number; error?: string })
    .filter((line) => pattern.test(line.msg));
}

/** A job of 8 tasks named `name-…` of `ms` each (on 2 threads), summed as `name-total`: 0 + 1 + … + 7 = 28. */
function sleepySum(name: string, ms: number): object {
  const tasks: Record<string, object> = {};
  for (let i = 0; i < 8; i++) tasks[`${name}-${i}`] = { fn: "test.sleepThen", args: [ms, i] };
  tasks[`${name}-total`] = { fn: "test.sum", args: [Array.from({ length: 8 }, (_, i) => ({ $ref: `${name}-${i}` }))] };
  return { tasks, outputs: [`${name}-total`] };
}

describe("Redis killed with SIGKILL while a job runs", () => {
  let job: string;
  beforeAll(async () => {
    const reply = await api("/v1/jobs", { method: "POST", body: JSON.stringify(sleepySum("before", 600)) });
    expect(reply.status).toBe(201);
    job = ((await reply.json()) as { id: string }).id;
    // Its first tasks are running when Redis dies.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await redis().kill();
  });

  it("readiness answers 503 within its bound, saying Redis is unreachable", async () => {
    const { status, body, ms } = await timed("/v1/ready");
    expect(status).toBe(503);
    expect(body.error).toBe("not-ready");
    expect(body.message).toMatch(new RegExp(`^not ready: Redis at ${redis().url} (is unreachable|did not answer in time)`));
    // The bound of a readiness ping is 3 s (--redis-timeout of requests); a known outage answers at once.
    expect(ms).toBeLessThan(3_500);
  });

  it("a submission gets 503 redis-unreachable at once, saying to retry", async () => {
    const { status, body, ms } = await timed("/v1/jobs", { method: "POST", body: JSON.stringify(sleepySum("during", 1)) });
    expect(status).toBe(503);
    expect(body.error).toBe("redis-unreachable");
    expect(body.message).toMatch(new RegExp(`^Redis at ${redis().url} is unreachable \\(.+\\): the job was not submitted; retry once Redis is back$`));
    expect(ms).toBeLessThan(2_000);
  });

  it("a scatter gets 503 redis-unreachable at once", async () => {
    const { status, body, ms } = await timed("/v1/data", { method: "POST", body: JSON.stringify({ data: { x: 1 } }) });
    expect(status).toBe(503);
    expect(body.message).toMatch(new RegExp(`^Redis at ${redis().url} is unreachable \\(.+\\): the data was not placed; retry once Redis is back$`));
    expect(ms).toBeLessThan(2_000);
  });

  describe("then restarted on its port with its append-only file", () => {
    beforeAll(async () => {
      // Both processes have noticed by now (a connection error, confirmed by a fresh connection's PING).
      const unreachable = /"msg":"Redis at [^"]+ is unreachable; waiting for it to answer again"/;
      await logged(scheduler, unreachable, 10_000);
      await logged(worker, unreachable, 10_000);
      await redis().restart();
    }, 30_000);

    it("the job submitted before the outage completes with the right result", async () => {
      const reply = await api(`/v1/jobs/${job}/result?wait=30000`);
      expect(reply.status).toBe(200);
      expect(await reply.json()).toEqual({ "before-total": 28 });
    }, 40_000);

    it("the scheduler and the worker process each said once that Redis was unreachable, and once that it was back", async () => {
      const back = /"msg":"Redis at [^"]+ is reachable again, after [\d.]+ s"/;
      await logged(scheduler, back, 10_000);
      await logged(worker, back, 10_000);
      for (const process of [scheduler, worker]) {
        const down = lines(process, /is unreachable; waiting for it to answer again$/);
        const up = lines(process, /is reachable again, after [\d.]+ s$/);
        // One process each: the scheduler, and the worker process (the nanny does not use Redis).
        expect(down.map((line) => line.pid)).toHaveLength(1);
        expect(down[0].msg).toBe(`Redis at ${redis().url} is unreachable; waiting for it to answer again`);
        // Connections open when it died are reset; new ones are refused: either may be said first.
        expect(down[0].error).toMatch(/ECONNREFUSED|ECONNRESET/);
        expect(up.map((line) => line.pid)).toEqual([down[0].pid]);
        expect(up[0].downMs).toBeGreaterThan(0);
        // No line per retry and connection besides.
        expect(lines(process, /^(recovered from an error|worker error)$/).filter((line) => JSON.stringify(line).includes("ECONNREFUSED"))).toEqual([]);
      }
    }, 20_000);

    it("takes submissions again", async () => {
      const reply = await api("/v1/jobs?wait=20000", { method: "POST", body: JSON.stringify(sleepySum("after", 1)) });
      expect(reply.status).toBe(200);
      expect(await reply.json()).toEqual({ "after-total": 28 });
    }, 30_000);
  });
});
