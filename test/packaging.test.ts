import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import semver from "semver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUserProject, type UserProject } from "./support/user-project.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  files: string[];
  license: string;
  exports: Record<string, Record<string, string>>;
  engines: { node: string };
};
const lockfile = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as {
  packages: Record<string, { version?: string; dev?: boolean; engines?: { node?: string } | string[] }>;
};

describe("the package as users install it", () => {
  let project: UserProject;
  beforeAll(async () => {
    project = await createUserProject({ tsx: false });
  });
  afterAll(() => project.remove());

  it("says that weft is an ES module, and how to load it, when a CommonJS program requires it", async () => {
    await project.write("main.cjs", 'require("weft");\n');
    const { code, stderr } = await project.run(process.execPath, ["main.cjs"], { timeoutMs: 30_000 });
    expect(code).toBe(1);
    expect(stderr).toContain("weft is an ES module package and cannot be loaded with require()");
    expect(stderr).toContain('await import("weft")');
  });

  it("says the same for its other entry points", async () => {
    await project.write("array.cjs", 'require("weft/array");\n');
    const { stderr } = await project.run(process.execPath, ["array.cjs"], { timeoutMs: 30_000 });
    expect(stderr).toContain("ERR_WEFT_ESM_ONLY");
  });

  it("loads with a dynamic import from CommonJS", async () => {
    await project.write("dynamic.cjs", 'import("weft").then((weft) => console.log(typeof weft.Client.local));\n');
    const { code, stdout } = await project.run(process.execPath, ["dynamic.cjs"], { timeoutMs: 30_000 });
    expect({ code, stdout: stdout.trim() }).toEqual({ code: 0, stdout: "function" });
  });
});

describe("what the package ships", () => {
  it("has a license file for the license it names", () => {
    expect(manifest.license).toBe("Apache-2.0");
    expect(manifest.files).toContain("LICENSE");
    expect(readFileSync(join(root, "LICENSE"), "utf8")).toContain("Apache License\n                           Version 2.0");
  });

  it("ships every document the README links to", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const linked = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((match) => match[1]);
    expect(linked.length).toBeGreaterThan(0);
    for (const doc of linked) {
      expect(existsSync(join(root, doc)), doc).toBe(true);
      expect(manifest.files.some((entry) => doc === entry || doc.startsWith(`${entry}/`)), doc).toBe(true);
    }
  });

  it("gives every entry point a require condition that explains itself", () => {
    for (const [entry, conditions] of Object.entries(manifest.exports)) {
      expect(conditions.require, entry).toBe("./cjs/esm-only.cjs");
      expect(Object.keys(conditions).indexOf("import"), entry).toBeLessThan(Object.keys(conditions).indexOf("require"));
    }
  });
});

describe("the Node versions it claims", () => {
  it("installs no dependency whose engines exclude a Node version weft supports (npm would warn)", () => {
    const oldest = semver.minVersion(manifest.engines.node)?.version;
    expect(oldest).toBeDefined();
    const excluding = Object.entries(lockfile.packages)
      .filter(([path, entry]) => path !== "" && !entry.dev)
      .flatMap(([path, entry]) => {
        const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
        if (range === undefined) return [];
        const fits = [oldest!, process.versions.node].every((version) => semver.satisfies(version, range));
        return fits ? [] : [`${path}@${entry.version}: node ${range}`];
      });
    expect(excluding).toEqual([]);
  });
});
