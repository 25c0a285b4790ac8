import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBlockBytes } from "../../../kernels/dataframe/csv-kernel.js";

const dir = mkdtempSync(join(tmpdir(), "weft-csv-block-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("readBlockBytes", () => {
  it("returns only bytes of the file, whatever memory its read buffer was given", () => {
    const path = join(dir, "no-final-newline.csv");
    const text = "a,b\n1,x\n2,last";
    writeFileSync(path, text);
    const decoder = new TextDecoder();
    for (let round = 0; round < 300; round++) {
      // Freed buffers full of newlines: memory the reader's unfilled buffer may be given next.
      for (let i = 0; i < 4; i++) Buffer.allocUnsafe(text.length + (1 << 16)).fill(10);
      const blocks = [0, 5, 10].map((start) => decoder.decode(readBlockBytes(path, start, Math.min(text.length, start + 5))));
      expect(blocks.join("")).toBe(text);
    }
  });
});
