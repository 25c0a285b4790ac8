import { SchedulerProcess, type SchedulerHttpOptions } from "../../../scheduler/scheduler-process.js";
import { WorkerProcess } from "../../../worker/worker-process.js";
import "../../fixtures/math-tasks.js";
import { useStoppables, type usePrivateRedis } from "../../support/cluster-setup.js";

/** The token the HTTP tests' schedulers use. */
export const TEST_TOKEN = "test-token-0123456789abcdef";

/** A scheduler serving the HTTP API on a free port, and its workers, all in this process. */
export interface ApiCluster {
  readonly url: string;
  /** The key prefix of its Redis keys, for more workers to join it. */
  readonly prefix: string;
  readonly scheduler: SchedulerProcess;
  readonly workers: WorkerProcess[];
  /** `fetch` against the API with the test token. */
  request(path: string, init?: RequestInit): Promise<Response>;
}

let prefixSeq = 0;

/**
 * Starts API clusters for a test file's tests, each on its own key prefix, stopped after each test.
 * Call at the top level of the file, next to `usePrivateRedis()`.
 */
export function useApiCluster(server: ReturnType<typeof usePrivateRedis>): (options?: {
  workers?: number;
  http?: Partial<SchedulerHttpOptions>;
}) => Promise<ApiCluster> {
  const stopAfterTest = useStoppables();
  return async (options = {}) => {
    const prefix = `http${process.pid}-${++prefixSeq}`;
    // The scheduler starts first so that it stops last: workers stopping while it runs hand their
    // results over (or have them released) at once, instead of waiting out their hand-over time.
    const scheduler = await SchedulerProcess.start({
      redis: server().url,
      prefix,
      tickMs: 20,
      http: { token: TEST_TOKEN, port: 0, ...options.http },
    });
    stopAfterTest(scheduler);
    const workers = await Promise.all(
      Array.from({ length: options.workers ?? 1 }, () =>
        WorkerProcess.start({ redis: server().url, prefix, nthreads: 2, executor: "main" }),
      ),
    );
    stopAfterTest(...workers);
    const deadline = Date.now() + 5000;
    while (scheduler.scheduler.workerIds.length < workers.length) {
      if (Date.now() > deadline) throw new Error("workers did not join within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const url = scheduler.http!.url;
    return {
      url,
      prefix,
      scheduler,
      workers,
      request: (path, init = {}) =>
        fetch(`${url}${path}`, { ...init, headers: { authorization: `Bearer ${TEST_TOKEN}`, ...(init.headers as Record<string, string>) } }),
    };
  };
}

/** A JSON POST body. */
export function json(body: unknown): RequestInit {
  return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
}
