import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataRoots } from "../../protocol/data-roots.js";
import { FILE_TASKS } from "../../protocol/file-tasks.js";
import { lookupTask } from "../../protocol/task-registry.js";
import "../../kernels/index.js";

const base = mkdtempSync(join(tmpdir(), "weft-data-roots-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, "root");
const outside = join(base, "outside");
mkdirSync(join(root, "nested"), { recursive: true });
mkdirSync(outside);
writeFileSync(join(root, "nested", "in.csv"), "x\n1\n");
writeFileSync(join(outside, "secret.csv"), "x\n2\n");
symlinkSync(join(outside, "secret.csv"), join(root, "to-secret.csv"));
symlinkSync(join(root, "nested", "in.csv"), join(root, "to-inside.csv"));
symlinkSync(outside, join(root, "to-outside-dir"));
symlinkSync(join(outside, "not-there-yet.csv"), join(root, "dangling.csv"));
symlinkSync(root, join(base, "root-link"));

describe("data roots", () => {
  const roots = DataRoots.of([root]);

  it("allow files inside a root, existing or to be written in directories still to be made", () => {
    expect(roots.check(join(root, "nested", "in.csv"))).toBeUndefined();
    expect(roots.check(join(root, "new", "deeper", "out.parquet"))).toBeUndefined();
    expect(roots.check(join(root, "to-inside.csv"))).toBeUndefined();
  });

  it("refuse files outside every root, and paths that climb out with ..", () => {
    expect(roots.check("/etc/passwd")).toMatchObject({ path: "/etc/passwd", reason: expect.stringContaining("outside the data roots") });
    expect(roots.check(`${root}/nested/../../outside/secret.csv`)).toMatchObject({ reason: expect.stringContaining("outside the data roots") });
    expect(roots.check(`${root}/../root-sibling.csv`)).toMatchObject({ reason: expect.stringContaining("outside the data roots") });
  });

  it("refuse symbolic links inside a root that lead outside it: to a file, through a directory, or to nothing yet", () => {
    expect(roots.check(join(root, "to-secret.csv"))?.reason).toContain(`really ${join(outside, "secret.csv")}`);
    expect(roots.check(join(root, "to-outside-dir", "secret.csv"))?.reason).toContain("outside the data roots");
    expect(roots.check(join(root, "to-outside-dir", "new", "file.csv"))?.reason).toContain("outside the data roots");
    expect(roots.check(join(root, "dangling.csv"))?.reason).toContain("symbolic link to nothing");
  });

  it("refuse relative paths and what is not a path", () => {
    expect(roots.check("nested/in.csv")?.reason).toContain("relative path");
    expect(roots.check(42)?.reason).toBe("not a path");
    expect(roots.check("/tmp/a\0b")?.reason).toBe("not a path");
  });

  it("resolve a root given through a symbolic link, and refuse a root that does not exist", () => {
    const linked = DataRoots.of([join(base, "root-link")]);
    expect(linked.dirs).toEqual([roots.dirs[0]]);
    expect(linked.check(join(base, "root-link", "nested", "in.csv"))).toBeUndefined();
    expect(() => DataRoots.of([join(base, "missing")])).toThrow(`data root ${join(base, "missing")}: no such directory`);
  });

  it("with none, refuse everything", () => {
    expect(DataRoots.of([]).check(join(root, "nested", "in.csv"))?.reason).toContain("no data roots are configured");
  });
});

describe("the built-in file tasks", () => {
  it("are all registered kernels, so the scheduler's list cannot miss a renamed one", () => {
    for (const name of FILE_TASKS.keys()) expect(lookupTask(name), name).toBeDefined();
  });
});
