import { describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { ThreadPoolExecutor } from "../../executor/thread-pool-executor.js";
import { ClientInTaskModuleError } from "../../protocol/task-module-loading.js";
import { WorkerProcess } from "../../worker/worker-process.js";

const module = new URL("../fixtures/starts-a-client.ts", import.meta.url).href;

/** Collects the process warnings emitted while `body` runs, and a moment after (they are emitted on the next tick). */
async function warningsDuring(body: () => Promise<void>): Promise<string[]> {
  const warnings: string[] = [];
  const listener = (warning: Error) => warnings.push(warning.message);
  process.on("warning", listener);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    process.off("warning", listener);
  }
  return warnings;
}

describe("a client started by a module that weft imports for its tasks", () => {
  it("is refused in a worker thread, whose import of the module fails saying what to do", async () => {
    const warnings = await warningsDuring(async () => {
      const pool = await ThreadPoolExecutor.start(() => undefined, { nthreads: 1, imports: [module] });
      await pool.close();
    });
    expect(warnings).toEqual([
      expect.stringMatching(
        /^worker thread could not import .*starts-a-client\.ts: Client\.local\(\) was called while a weft worker thread was importing .*starts-a-client\.ts to find its tasks\. .*Define the tasks in a module of their own/,
      ),
    ]);
  });

  it("is refused in a worker process, which then fails to start, and only while the module is imported", async () => {
    // The module is imported before the worker connects to anything: no Redis is needed to fail.
    const starting = WorkerProcess.start({ redis: "redis://127.0.0.1:1", imports: [module] });
    await expect(starting).rejects.toThrow(ClientInTaskModuleError);
    await expect(starting).rejects.toThrow(/^Client\.local\(\) was called while a weft worker process was importing .*starts-a-client\.ts/);
    const client = await Client.local({ executor: "sync" });
    await client.close();
  });
});
