import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { usePrivateRedis } from "../../support/cluster-setup.js";
import { useApiCluster, type ApiCluster } from "./api-cluster.js";

/**
 * The API token lets a client run built-in functions, not read and write the cluster's files: the
 * built-in file tasks of graphs sent over HTTP are confined to the scheduler's data roots.
 */

const server = usePrivateRedis();
const cluster = useApiCluster(server);

const base = mkdtempSync(join(tmpdir(), "weft-file-access-"));
afterAll(() => rmSync(base, { recursive: true, force: true }));
const root = join(base, "root");
const outside = join(base, "outside");
mkdirSync(root);
mkdirSync(outside);
writeFileSync(join(root, "people.csv"), "name,age\nada,36\nalan,41\n");
writeFileSync(join(outside, "secret.csv"), "name,age\nnot,yours\n");
symlinkSync(join(outside, "secret.csv"), join(root, "link-out.csv"));
symlinkSync(outside, join(root, "dir-out"));

/** A graph reading one CSV file whole, as `readCsv` makes it. */
function readGraph(path: unknown, names = ["name"]) {
  const block = { path, start: 0, end: 1 << 20, skipHeader: true, delimiter: ",", positions: names.map((_, i) => i), names, kinds: names.map(() => "string") };
  return { tasks: { rows: { fn: "weft.df.readCsvBlock", args: [block] } }, outputs: ["rows"] };
}

async function submit(api: ApiCluster, graph: unknown): Promise<Response> {
  return api.request("/v1/jobs?wait=20000&format=json", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(graph),
  });
}

async function expectRefused(reply: Response, path: string, reason: RegExp): Promise<void> {
  expect(reply.status).toBe(403);
  const body = (await reply.json()) as { error: string; message: string; details: Record<string, unknown> };
  expect(body.error).toBe("file-access-denied");
  expect(body.details).toMatchObject({ key: expect.any(String), path, flag: "--data-root" });
  expect(body.message).toContain(path);
  expect(body.message).toContain("--data-root");
  expect(body.message).toMatch(reason);
}

describe("a scheduler without data roots", () => {
  it("refuses reading /etc/passwd through a crafted readCsvBlock graph with 403, naming the task, the path and the flag", async () => {
    const api = await cluster();
    const passwd = { path: "/etc/passwd", start: 0, end: 1 << 20, skipHeader: false, delimiter: ":", positions: [0], names: ["user"], kinds: ["string"] };
    const reply = await submit(api, { tasks: { steal: { fn: "weft.df.readCsvBlock", args: [passwd] } }, outputs: ["steal"] });
    await expectRefused(reply, "/etc/passwd", /task "steal" may not read \/etc\/passwd with weft\.df\.readCsvBlock: no data roots are configured/);
  });

  it("refuses writing a file, too", async () => {
    const api = await cluster();
    const target = join(outside, "dropped.csv");
    const graph = {
      tasks: {
        rows: { fn: "weft.df.readCsvBlock", args: [{ path: join(root, "people.csv"), start: 0, end: 1 << 20, skipHeader: true, delimiter: ",", positions: [0], names: ["name"], kinds: ["string"] }] },
        write: { fn: "weft.df.writeCsv", args: [{ $ref: "rows" }, target, {}] },
      },
      outputs: ["write"],
    };
    expect((await submit(api, graph)).status).toBe(403);
  });
});

describe("a scheduler with a data root", () => {
  const withRoot = () => cluster({ http: { dataRoots: [root] } });

  it("reads a file inside the root", async () => {
    const api = await withRoot();
    const reply = await submit(api, readGraph(join(root, "people.csv"), ["name", "age"]));
    expect(reply.status).toBe(200);
    expect(await reply.json()).toEqual({ rows: [{ name: "ada", age: "36" }, { name: "alan", age: "41" }] });
  });

  it("writes a file inside the root, making its directory", async () => {
    const api = await withRoot();
    const target = join(root, "out", "people.csv");
    const graph = {
      tasks: { ...readGraph(join(root, "people.csv"), ["name", "age"]).tasks, write: { fn: "weft.df.writeCsv", args: [{ $ref: "rows" }, target, {}] } },
      outputs: ["write"],
    };
    const reply = await submit(api, graph);
    expect(reply.status).toBe(200);
    expect(readFileSync(target, "utf8")).toBe("name,age\nada,36\nalan,41\n");
  });

  it("refuses a path that climbs out of the root with ..", async () => {
    const api = await withRoot();
    const climbing = `${root}/../outside/secret.csv`;
    await expectRefused(await submit(api, readGraph(climbing)), climbing, /outside the data roots/);
  });

  it("refuses a symbolic link inside the root that points outside it, for reading and for writing", async () => {
    const api = await withRoot();
    const link = join(root, "link-out.csv");
    await expectRefused(await submit(api, readGraph(link)), link, /outside the data roots \(really .*secret\.csv\)/);
    const throughDir = join(root, "dir-out", "new.csv");
    const write = {
      tasks: { ...readGraph(join(root, "people.csv")).tasks, write: { fn: "weft.df.writeIpc", args: [{ $ref: "rows" }, throughDir] } },
      outputs: ["write"],
    };
    await expectRefused(await submit(api, write), throughDir, /outside the data roots/);
  });

  it("refuses a relative path, and a path computed by another task, which it cannot check", async () => {
    const api = await withRoot();
    await expectRefused(await submit(api, readGraph("people.csv")), "people.csv", /relative path/);
    const computed = {
      tasks: { p: { fn: "weft.identity", args: ["/etc/passwd"] }, rows: { fn: "weft.df.readParquet", args: [{ $ref: "p" }, 0, ["x"]] } },
      outputs: ["rows"],
    };
    const reply = await submit(api, computed);
    expect(reply.status).toBe(403);
    expect(((await reply.json()) as { message: string }).message).toContain("must be a string written in the graph");
  });

  it("checks file tasks called inline ($call) too", async () => {
    const api = await withRoot();
    const graph = { tasks: { n: { fn: "weft.df.numRows", args: [{ $call: "weft.df.readIpc", args: ["/etc/passwd", 0, ["x"]] }] } }, outputs: ["n"] };
    await expectRefused(await submit(api, graph), "/etc/passwd", /task "n" may not read \/etc\/passwd with weft\.df\.readIpc: outside the data roots/);
  });
});
