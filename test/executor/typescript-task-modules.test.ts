import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserProject, type UserProject } from "../support/user-project.js";

let project: UserProject;
beforeAll(async () => {
  project = await createUserProject();
  await project.write("tasks.ts", `import { task } from "weft";\nexport const inc = task("inc", (x: number): number => x + 1);\n`);
  await project.write(
    "run.ts",
    `import { Client, delayed } from "weft";
import { inc } from "./tasks.js";
const client = await Client.local({ nthreads: 1 });
try {
  console.log(await client.compute(delayed(inc)(1)));
} catch (error) {
  console.log((error as Error).message);
} finally {
  await client.close();
}
`,
  );
  // tsx registered by the program itself, not by the command that started it: nothing a thread can inherit.
  await project.write("main.mjs", `import { register } from "tsx/esm/api";\nregister();\nawait import("./run.ts");\n`);
}, 60_000);
afterAll(() => project?.remove());

describe("a TypeScript task module on the threads executor, with weft installed (compiled)", () => {
  it("fails its tasks, saying to start the program with tsx, when the program registered a loader itself, which threads do not get", async () => {
    const { stdout, stderr, code } = await project.run(process.execPath, ["main.mjs"], { timeoutMs: 45_000 });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain(
      `importing file://${project.dir}/tasks.ts failed: TypeError: file://${project.dir}/tasks.ts is TypeScript, and worker threads load it only with the loader the program was started with: run the program with tsx (npx tsx main.ts, or node --import tsx main.ts), or compile it to JavaScript`,
    );
  }, 60_000);
});
