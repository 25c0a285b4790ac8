import { Packr } from "msgpackr";
import { describe, expect, it } from "vitest";
import { scanMsgpack } from "../../../scheduler/http/msgpack-scan.js";

const packr = new Packr({ useRecords: false, variableMapSize: true });

describe("scanMsgpack", () => {
  it("finds nothing wrong in a body within the depth, whatever its formats", () => {
    const body = packr.pack({ a: [1, -1, 300, -70000, 2 ** 40, 1.5, null, true, "x".repeat(300), new Uint8Array(70000).fill(0x91)], b: { c: {} } });
    expect(scanMsgpack(body, 3)).toBeUndefined();
  });

  it("reports the first array or map one level deeper than allowed, by its offset", () => {
    expect(scanMsgpack(new Uint8Array([0x91, 0x91, 0x90]), 2)).toEqual({ kind: "too-deep", offset: 2 });
    expect(scanMsgpack(packr.pack({ a: { b: {} } }), 2)).toEqual({ kind: "too-deep", offset: 6 });
  });

  it("skips bytes inside strings and binaries, which only look like headers", () => {
    expect(scanMsgpack(packr.pack([new Uint8Array(40).fill(0x91), "\u0091".repeat(40)]), 1)).toBeUndefined();
  });

  it("reports a string whose bytes are not UTF-8, with its text as a decoder would replace it", () => {
    const wtf8 = new Uint8Array([0x91, 0xa4, 0x61, 0xed, 0xa0, 0x80]);
    expect(scanMsgpack(wtf8, 4)).toEqual({ kind: "not-utf8", offset: 1, text: "a\ufffd\ufffd\ufffd" });
  });

  it("leaves a truncated body to the decoder", () => {
    expect(scanMsgpack(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xff]), 4)).toBeUndefined();
    expect(scanMsgpack(new Uint8Array([0xa4, 0x61]), 4)).toBeUndefined();
  });
});
