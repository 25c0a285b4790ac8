import { execFile } from "node:child_process";
import { once } from "node:events";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { delayed } from "../../client/delayed.js";
import { progressBar, type ProgressStream } from "../../client/progress-bar.js";
import { TaskError } from "../../protocol/task-error.js";
import { fail, sleepThen, sum } from "../fixtures/math-tasks.js";
import { usePrivateRedis } from "../support/cluster-setup.js";
import { TEST_TOKEN, useApiCluster } from "../scheduler/http/api-cluster.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tasksModule = new URL("../fixtures/math-tasks.ts", import.meta.url);

/** A terminal, or a log file when `tty` is false: what the bar wrote, as the frames it drew. */
function screen(tty: boolean): ProgressStream & { text: string; frames(): string[] } {
  return {
    isTTY: tty,
    columns: tty ? 200 : undefined,
    text: "",
    write(chunk: string) {
      this.text += chunk;
    },
    frames() {
      // A terminal frame starts with a carriage return and clears the rest of the line.
      return tty ? this.text.split("\r").filter((frame) => frame !== "").map((frame) => frame.replace("\x1b[K", "")) : this.text.split(/(?<=\n)/);
    },
  };
}

/** 16 tasks of 60 ms on 2 threads, summed: about half a second, long enough for several frames. */
function napsSummed() {
  return delayed(sum)(Array.from({ length: 16 }, (_, i) => delayed(sleepThen)(60, i)));
}

const FRAME = /^\[[#X·]{30}\] +\d+% \d+\/\d+ tasks, \d+ running(, \d+ erred)? \| /;

describe("progressBar on a local computation", () => {
  it("redraws one line on a terminal as tasks finish, with elapsed time and ETA, ending with 0 running", async () => {
    const terminal = screen(true);
    const client = await Client.local({ executor: "threads", nthreads: 2, imports: [tasksModule], onProgress: progressBar({ stream: terminal }) });
    try {
      expect(await client.compute(napsSummed())).toEqual([120]);
    } finally {
      await client.close();
    }
    const frames = terminal.frames();
    expect(frames.length).toBeGreaterThanOrEqual(3);
    for (const frame of frames) expect(frame).toMatch(FRAME);
    const finished = frames.map((frame) => Number(/ (\d+)\/17 tasks/.exec(frame)![1]));
    expect(finished).toEqual([...finished].sort((a, b) => a - b));
    expect(frames.slice(0, -1).some((frame) => / elapsed, ETA [\d.]+ s$/.test(frame))).toBe(true);
    expect(frames.at(-1)).toMatch(/^\[#{30}\] 100% 17\/17 tasks, 0 running \| [\d.]+ s, completed\n$/);
    // Only the last frame ends the line.
    expect(terminal.text.split("\n")).toHaveLength(2);
  });

  it("shows a failed computation's failure in its last frame, with 0 running and the bar not full", async () => {
    const terminal = screen(true);
    const client = await Client.local({ executor: "threads", nthreads: 2, imports: [tasksModule], onProgress: progressBar({ stream: terminal }) });
    const leaves = [...Array.from({ length: 6 }, (_, i) => delayed(sleepThen)(200, i)), delayed(fail)("boom")];
    try {
      await expect(client.compute(delayed(sum)(leaves))).rejects.toBeInstanceOf(TaskError);
    } finally {
      await client.close();
    }
    const last = terminal.frames().at(-1)!;
    expect(last).toMatch(FRAME);
    expect(last).toMatch(/^\[#*X+·+\] +\d+% \d+\/8 tasks, 0 running, 1 erred \| [\d.]+ s, FAILED: task "test\.sum-[^"]+" failed because its input "test\.fail-[^"]+" failed: TypeError: boom\n$/);
  });

  it("prints a few plain lines when not on a terminal: the start, each quarter, and the end", async () => {
    const log = screen(false);
    const client = await Client.local({ executor: "threads", nthreads: 2, imports: [tasksModule], onProgress: progressBar({ stream: log }) });
    try {
      await client.compute(napsSummed());
    } finally {
      await client.close();
    }
    const lines = log.frames();
    expect(log.text).not.toContain("\r");
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.length).toBeLessThanOrEqual(5);
    for (const line of lines) expect(line).toMatch(FRAME);
    expect(lines.at(-1)).toMatch(/ 17\/17 tasks, 0 running \| [\d.]+ s, completed\n$/);
  });

  it("draws on stderr for a client made with { progress: true }", async () => {
    const program = `
      import { Client, delayed } from "./client/index.ts";
      import { sleepThen, sum } from "./test/fixtures/math-tasks.ts";
      const client = await Client.local({ executor: "sync", progress: true });
      const [total] = await client.compute(delayed(sum)([1, 2, 3].map((i) => delayed(sleepThen)(20, i))));
      console.log(total);
      await client.close();`;
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", program], { cwd: root });
    expect(stdout).toBe("6\n");
    expect(stderr.trimEnd().split("\n").at(-1)).toMatch(/^\[#{30}\] 100% 4\/4 tasks, 0 running \| [\d.]+ s, completed$/);
  });
});

describe("progressBar on a cluster", () => {
  const server = usePrivateRedis();
  const cluster = useApiCluster(server);

  it("draws the job's progress from its events; the last frame shows 0 running", async () => {
    const api = await cluster();
    const terminal = screen(true);
    const client = await Client.connect(api.url, { token: TEST_TOKEN, onProgress: progressBar({ stream: terminal }) });
    expect(await client.compute(napsSummed())).toEqual([120]);
    const frames = terminal.frames();
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) expect(frame).toMatch(FRAME);
    expect(frames.at(-1)).toMatch(/^\[#{30}\] 100% 17\/17 tasks, 0 running \| [\d.]+ s, completed\n$/);
  });

  it("draws the last frame from the job's events before compute returns, though the events lag behind the result", async () => {
    const api = await cluster();
    const terminal = screen(true);
    const client = await Client.connect(await disturbingEventStreams(api.url, { lagMs: 300 }), { token: TEST_TOKEN, onProgress: progressBar({ stream: terminal }) });
    expect(await client.compute(napsSummed())).toEqual([120]);
    expect(terminal.frames().at(-1)).toMatch(/^\[#{30}\] 100% 17\/17 tasks, 0 running \| [\d.]+ s, completed\n$/);
  });

  const proxies: Server[] = [];
  afterEach(async () => {
    for (const proxy of proxies.splice(0)) {
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  /**
   * A proxy in front of the API that disturbs every job's event stream: cuts it after its first
   * chunk, or delays each chunk (and its end) by `lagMs`. Other requests pass as they are.
   */
  async function disturbingEventStreams(target: string, disturbance: { readonly cut: true } | { readonly lagMs: number }): Promise<string> {
    const proxy = createServer((incoming, outgoing) => {
      const upstream = request(`${target}${incoming.url}`, { method: incoming.method, headers: incoming.headers }, (reply) => {
        outgoing.writeHead(reply.statusCode!, reply.headers);
        if (!incoming.url!.endsWith("/events")) reply.pipe(outgoing);
        else if ("cut" in disturbance) {
          reply.once("data", (chunk: Buffer) => {
            outgoing.write(chunk, () => {
              outgoing.destroy();
              reply.destroy();
            });
          });
        } else {
          reply.on("data", (chunk: Buffer) => setTimeout(() => outgoing.write(chunk), disturbance.lagMs));
          reply.on("end", () => setTimeout(() => outgoing.end(), disturbance.lagMs));
        }
      });
      incoming.pipe(upstream);
    });
    proxies.push(proxy);
    proxy.listen(0, "127.0.0.1");
    await once(proxy, "listening");
    return `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  }

  it("draws a last frame from the outcome when the job's event stream breaks: completed, 0 running", async () => {
    const api = await cluster();
    const terminal = screen(true);
    const client = await Client.connect(await disturbingEventStreams(api.url, { cut: true }), { token: TEST_TOKEN, onProgress: progressBar({ stream: terminal }) });
    expect(await client.compute(napsSummed())).toEqual([120]);
    expect(terminal.frames().at(-1)).toMatch(/^\[#{30}\] 100% 17\/17 tasks, 0 running \| [\d.]+ s, completed\n$/);
  });

  it("draws a failed job's failure when its event stream breaks", async () => {
    const api = await cluster();
    const terminal = screen(true);
    const client = await Client.connect(await disturbingEventStreams(api.url, { cut: true }), { token: TEST_TOKEN, onProgress: progressBar({ stream: terminal }) });
    const leaves = [...Array.from({ length: 3 }, (_, i) => delayed(sleepThen)(100, i)), delayed(fail)("unseen")];
    await expect(client.compute(delayed(sum)(leaves))).rejects.toBeInstanceOf(TaskError);
    expect(terminal.frames().at(-1)).toMatch(/, 0 running(, \d+ erred)? \| [\d.]+ s, FAILED: task "test\.sum-[^"]+" failed because its input "test\.fail-[^"]+" failed: TypeError: unseen\n$/);
  });

  it("shows a failed job's failure, not a full bar", async () => {
    const api = await cluster();
    const terminal = screen(true);
    const client = await Client.connect(api.url, { token: TEST_TOKEN, onProgress: progressBar({ stream: terminal }) });
    const leaves = [...Array.from({ length: 3 }, (_, i) => delayed(sleepThen)(100, i)), delayed(fail)("remote boom")];
    await expect(client.compute(delayed(sum)(leaves))).rejects.toBeInstanceOf(TaskError);
    const last = terminal.frames().at(-1)!;
    expect(last).toMatch(/^\[#*X+·*\] +\d+% \d+\/5 tasks, 0 running, 1 erred \| [\d.]+ s, FAILED: task "test\.sum-[^"]+" failed because its input "test\.fail-[^"]+" failed: TypeError: remote boom\n$/);
  });
});
