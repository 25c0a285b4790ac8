import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { checkImports, describeViolations, LAYERS, readSources } from "./support/import-rules.js";

const root = fileURLToPath(new URL("..", import.meta.url));

describe("the layout's layering", () => {
  const sources = readSources(root);

  it("reads every folder of the layout", () => {
    const layers = new Set([...sources.keys()].map((file) => file.slice(0, file.indexOf("/"))));
    expect([...layers].sort()).toEqual(Object.keys(LAYERS).sort());
  });

  it("has each folder import only the floors below it, and the core nothing impure", () => {
    const violations = checkImports(sources);
    expect(violations, describeViolations(violations)).toEqual([]);
  });

  it("reports a worker that imports the scheduler", () => {
    const violations = checkImports(new Map([["worker/bad.ts", `import { SchedulerCore } from "../scheduler/core/scheduler-core.js";\n`]]));
    expect(violations).toEqual([{ file: "worker/bad.ts", imports: "../scheduler/core/scheduler-core.js", rule: expect.stringContaining("worker/ may import") }]);
  });

  it("reports a floor that imports a runtime, even for types or a side effect", () => {
    const violations = checkImports(
      new Map([
        ["protocol/bad.ts", `import type { Client } from "../client/client.js";\n`],
        ["kernels/bad.ts", `import "../worker/worker-process.js";\n`],
        ["executor/bad.ts", `const m = await import("../cli/weft.js");\n`],
      ]),
    );
    expect(violations.map((v) => v.file)).toEqual(["protocol/bad.ts", "kernels/bad.ts", "executor/bad.ts"]);
  });

  it("reports a scheduling core that reads the clock or imports a shell", () => {
    const violations = checkImports(
      new Map([
        ["scheduler/core/bad-clock.ts", `export const now = () => Date.now();\n`],
        ["scheduler/core/bad-shell.ts", `import { JobService } from "../job-service.js";\n`],
        ["scheduler/core/bad-package.ts", `import { Redis } from "ioredis";\n`],
      ]),
    );
    expect(violations.map((v) => v.file)).toEqual(["scheduler/core/bad-clock.ts", "scheduler/core/bad-shell.ts", "scheduler/core/bad-package.ts"]);
  });

  it("ignores imports named in comments", () => {
    expect(checkImports(new Map([["worker/fine.ts", `// see "../scheduler/scheduler-shell.js"\n/** import "../client/client.js" */\nexport {};\n`]]))).toEqual([]);
  });
});
