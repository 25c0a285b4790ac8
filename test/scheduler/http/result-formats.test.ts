import { tableFromArrays, tableFromIPC } from "apache-arrow";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../../scheduler/http/api-error.js";
import { chooseResultFormat, renderResult } from "../../../scheduler/http/result-formats.js";

describe("chooseResultFormat", () => {
  it("is MessagePack unless asked otherwise", () => {
    expect(chooseResultFormat(undefined, undefined)).toBe("msgpack");
    expect(chooseResultFormat(undefined, "*/*")).toBe("msgpack");
  });

  it("follows the first Accept type it serves, and ?format= over Accept", () => {
    expect(chooseResultFormat(undefined, "text/html, application/json;q=0.9")).toBe("json");
    expect(chooseResultFormat(undefined, "application/vnd.apache.arrow.stream")).toBe("arrow");
    expect(chooseResultFormat("msgpack", "application/json")).toBe("msgpack");
  });
});

describe("renderResult", () => {
  it("sends an Arrow table as an Arrow IPC stream", () => {
    const table = tableFromArrays({ k: Int32Array.from([1, 2, 3]), v: Float64Array.from([0.5, 1.5, 2.5]) });
    const { contentType, body } = renderResult(table, "arrow");
    expect(contentType).toBe("application/vnd.apache.arrow.stream");
    const read = tableFromIPC(body as Buffer);
    expect(read.numRows).toBe(3);
    expect([...read.getChild("v")!]).toEqual([0.5, 1.5, 2.5]);
  });

  it("refuses Arrow for a value that is not a table with 406", () => {
    let error: unknown;
    try {
      renderResult({ a: 1 }, "arrow");
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ statusCode: 406, code: "not-a-table" });
  });

  it("writes JSON for values JSON has no type for", () => {
    const value = { typed: new Float32Array([1, 2]), big: 2n ** 70n, map: new Map([["a", 1]]), set: new Set([3]), missing: undefined };
    expect(JSON.parse(renderResult(value, "json").body as string)).toEqual({
      typed: [1, 2],
      big: "1180591620717411303424",
      map: { a: 1 },
      set: [3],
      missing: null,
    });
  });
});
