import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserProject, type UserProject } from "../support/user-project.js";

const root = fileURLToPath(new URL("../..", import.meta.url));

/** The README's code block that starts with the comment `// name`. */
function readmeBlock(name: string): string {
  const readme = readFileSync(`${root}/README.md`, "utf8");
  const block = new RegExp("```ts\\n(// " + name.replace(".", "\\.") + "\\n[\\s\\S]*?)```").exec(readme);
  if (block === null) throw new Error(`README.md has no ts block starting with "// ${name}"`);
  return block[1];
}

/** The `@example` of the package's entry point (client/index.ts), without its comment stars. */
function packageExample(): string {
  const index = readFileSync(`${root}/client/index.ts`, "utf8");
  const block = /@example\n \* ```ts\n([\s\S]*?) \* ```/.exec(index);
  if (block === null) throw new Error("client/index.ts has no @example block");
  return block[1].replace(/^ \* ?/gm, "");
}

/** Node's warning lines among a program's stderr. */
function warnings(stderr: string): string[] {
  return stderr.split("\n").filter((line) => /\(node:\d+\) \w*Warning/.test(line));
}

/** Programs that do not finish (ones that start themselves again in every thread, say) are killed after this. */
const TIMEOUT_MS = 45_000;

let project: UserProject;
beforeAll(async () => {
  project = await createUserProject();
  await project.write("tasks.ts", readmeBlock("tasks.ts"));
  await project.write("main.ts", readmeBlock("main.ts"));
  await project.write("index-example.ts", packageExample());
}, 60_000);
afterAll(() => project?.remove());

describe("the documented programs, each run as a file of a user's project with weft installed", () => {
  it.each([
    ["npx tsx main.ts", "npx", ["tsx", "main.ts"]],
    ["node --import tsx main.ts", process.execPath, ["--import", "tsx", "main.ts"]],
  ])("README: main.ts runs the tasks of tasks.ts on worker threads, under `%s`", async (_command, command, args) => {
    const { stdout, stderr, code } = await project.run(command, args, { timeoutMs: TIMEOUT_MS });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe("[ 5, 3, 2 ]\n");
    expect(warnings(stderr)).toEqual([]);
  }, TIMEOUT_MS + 15_000);

  it("package TSDoc: tasks defined in the program's one file run on the calling thread, with a warning, and the program ends", async () => {
    const { stdout, stderr, code } = await project.run(process.execPath, ["--import", "tsx", "index-example.ts"], { timeoutMs: TIMEOUT_MS });
    expect(code, stderr).toBe(0);
    expect(stdout).toBe("5\n");
    expect(warnings(stderr)).toEqual([expect.stringContaining(`task "inc" is defined in the program's entry module`)]);
  }, TIMEOUT_MS + 15_000);
});
