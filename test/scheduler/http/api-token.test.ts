import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveApiToken, tokenMatches } from "../../../scheduler/http/api-token.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "weft-token-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("resolveApiToken", () => {
  it("generates a token at the first start and saves it readable by its user only", async () => {
    const stateDir = join(dir, "state");
    const first = await resolveApiToken({ stateDir, env: {} });
    expect(first.source).toBe("generated");
    expect(first.token).toMatch(/^weft_[A-Za-z0-9_-]{43}$/);
    expect((await readFile(first.file, "utf8")).trim()).toBe(first.token);
    expect((await stat(first.file)).mode & 0o777).toBe(0o600);
  });

  it("reads the saved token at later starts", async () => {
    const first = await resolveApiToken({ stateDir: dir, env: {} });
    const second = await resolveApiToken({ stateDir: dir, env: {} });
    expect(second).toEqual({ ...first, source: "state-file" });
  });

  it("takes WEFT_TOKEN over the saved token, and the flag over both", async () => {
    await resolveApiToken({ stateDir: dir, env: {} });
    expect(await resolveApiToken({ stateDir: dir, env: { WEFT_TOKEN: "from-the-environment" } })).toMatchObject({
      token: "from-the-environment",
      source: "environment",
    });
    expect(await resolveApiToken({ stateDir: dir, env: { WEFT_TOKEN: "from-the-environment" }, flag: "from-the-command-line" })).toMatchObject({
      token: "from-the-command-line",
      source: "flag",
    });
  });

  it("refuses a token shorter than 16 characters, naming where it came from", async () => {
    await expect(resolveApiToken({ stateDir: dir, env: {}, flag: "short" })).rejects.toThrow("the API token from --token is too short");
    await expect(resolveApiToken({ stateDir: dir, env: { WEFT_TOKEN: "short" } })).rejects.toThrow("from WEFT_TOKEN");
  });
});

describe("tokenMatches", () => {
  it("accepts the token and refuses any other, of any length", () => {
    const token = "correct-horse-battery-staple";
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches(token.slice(1), token)).toBe(false);
    expect(tokenMatches("", token)).toBe(false);
  });
});
