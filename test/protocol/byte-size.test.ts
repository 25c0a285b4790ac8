import { describe, expect, it } from "vitest";
import { parseBytes } from "../../protocol/byte-size.js";

describe("parseBytes", () => {
  it("reads plain byte counts", () => {
    expect(parseBytes("1000")).toBe(1000);
  });

  it("reads SI and binary units, case-insensitive and with spaces", () => {
    expect(parseBytes("512MB")).toBe(512e6);
    expect(parseBytes("1.5 GiB")).toBe(1.5 * 2 ** 30);
    expect(parseBytes("64kib")).toBe(64 * 1024);
  });

  it("refuses what is not a positive size", () => {
    expect(parseBytes("lots")).toBeNull();
    expect(parseBytes("0")).toBeNull();
    expect(parseBytes("12 parsecs")).toBeNull();
  });
});
