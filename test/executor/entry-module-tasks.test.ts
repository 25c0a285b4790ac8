import { execFile } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const program = fileURLToPath(new URL("../fixtures/entry-module-program.ts", import.meta.url));

let links: string;
beforeAll(async () => {
  links = await mkdtemp(join(tmpdir(), "weft-entry-link-"));
  await symlink(program, join(links, "linked-program.ts"));
});
afterAll(() => rm(links, { recursive: true, force: true }));

/** Runs the program to its end; one that has not finished in time (one that starts itself again, say) is killed. */
function run(path: string): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ["--import", "tsx", path], { cwd: root, timeout: 40_000, killSignal: "SIGKILL" }, (error, stdout, stderr) =>
      resolve({ stdout, stderr, error }),
    );
  });
}

describe("a task defined in the program's entry module, on the threads executor", () => {
  it.each([
    ["started by its path", () => program],
    ["started through a symbolic link", () => join(links, "linked-program.ts")],
  ])("runs on the calling thread, with one warning, while tasks of other modules run on the pool (%s)", async (_how, path) => {
    const { stdout, stderr, error } = await run(path());
    expect(error, stderr).toBeNull();
    const ran = JSON.parse(stdout) as { main: number; entry: number; other: number };
    expect(ran.entry).toBe(ran.main);
    expect(ran.other).not.toBe(ran.main);
    const warnings = stderr.split("\n").filter((line) => line.includes("Warning:"));
    expect(warnings).toEqual([
      expect.stringContaining(
        `task "test.entryModule.whereAmI" is defined in the program's entry module (file://${program}), which worker threads cannot import without running the whole program again`,
      ),
    ]);
  }, 60_000);
});
