import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../../client/client.js";
import { readCsv } from "../../../client/dataframe/index.js";
import { rowsOf, type Row } from "../../support/dataframe-reference.js";

let client: Client;
let dir: string;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
  dir = mkdtempSync(join(tmpdir(), "weft-csv-quotes-"));
});
afterAll(async () => {
  await client.close();
  rmSync(dir, { recursive: true, force: true });
});

let fileSeq = 0;
function csvFile(text: string): string {
  const path = join(dir, `file-${++fileSeq}.csv`);
  writeFileSync(path, text);
  return path;
}

/** The rows `readCsv` gives with this block size, or the message of the error it throws. */
async function rowsOrError(path: string, blocksize: number): Promise<Row[] | string> {
  try {
    const [table] = await client.compute(readCsv(path, { blocksize, schema: { note: "string" } }));
    return rowsOf(table);
  } catch (error) {
    return (error as Error).message;
  }
}

/** Every block size from 1 byte to the whole file, then one block per file. */
const blockSizes = (text: string) => [...Array.from({ length: Buffer.byteLength(text) }, (_, i) => i + 1), Infinity];

// Byte 10 opens the quoted field "first\nsecond"; the second quoted field escapes quotes and holds a newline too.
const MULTILINE = 'id,note\n1,"first\nsecond"\n2,plain\n3,"a ""quoted""\nword"\n4,"x,\n"\n';
const MULTILINE_ROWS: Row[] = [
  { id: 1, note: "first\nsecond" },
  { id: 2, note: "plain" },
  { id: 3, note: 'a "quoted"\nword' },
  { id: 4, note: "x,\n" },
];

describe("readCsv: quoted fields holding newlines", () => {
  it("reads them whole in one block per file", async () => {
    expect(await rowsOrError(csvFile(MULTILINE), Infinity)).toEqual(MULTILINE_ROWS);
  });

  it("never returns wrong rows when a block boundary falls inside one, at any block size", async () => {
    const path = csvFile(MULTILINE);
    let refused = 0;
    for (const blocksize of blockSizes(MULTILINE)) {
      const outcome = await rowsOrError(path, blocksize);
      if (typeof outcome === "string") {
        refused++;
        expect(outcome, `blocksize ${blocksize}`).toContain(`${path}: the quoted field opened at byte`);
      } else {
        expect(outcome, `blocksize ${blocksize}`).toEqual(MULTILINE_ROWS);
      }
    }
    // Tiny blocks always cut through the quoted newlines: those reads must fail, not guess.
    expect(refused).toBeGreaterThan(0);
    expect(typeof (await rowsOrError(path, 1))).toBe("string");
  });

  it("names the file, the byte offset of the split field, and how to read the file instead", async () => {
    const path = csvFile(MULTILINE);
    // The first block, bytes 0-12, ends inside "first\nsecond", which opens at byte 10.
    const message = await rowsOrError(path, 12);
    expect(message).toContain(`readCsv(): ${path}: the quoted field opened at byte 10 holds a newline`);
    expect(message).toContain("readCsv(path, { blocksize: Infinity })");
  });

  it("reads CRLF files whose quoted fields hold CRLF and doubled quotes, or refuses, at any block size", async () => {
    const text = 'id,note\r\n1,"x ""y""\r\nz"\r\n2,w\r\n3,"""\r\n"""\r\n';
    const expected: Row[] = [
      { id: 1, note: 'x "y"\r\nz' },
      { id: 2, note: "w" },
      { id: 3, note: '"\r\n"' },
    ];
    const path = csvFile(text);
    expect(await rowsOrError(path, Infinity)).toEqual(expected);
    for (const blocksize of blockSizes(text)) {
      const outcome = await rowsOrError(path, blocksize);
      if (typeof outcome === "string") expect(outcome, `blocksize ${blocksize}`).toContain("the quoted field opened at byte");
      else expect(outcome, `blocksize ${blocksize}`).toEqual(expected);
    }
  });

  it("reads quoted fields without newlines at every block size", async () => {
    const text = 'id,note\n1,"a, b"\n2,"say ""hi"""\n3,""\n4,plain\n';
    const expected: Row[] = [
      { id: 1, note: "a, b" },
      { id: 2, note: 'say "hi"' },
      { id: 3, note: "" },
      { id: 4, note: "plain" },
    ];
    const path = csvFile(text);
    for (const blocksize of blockSizes(text)) expect(await rowsOrError(path, blocksize), `blocksize ${blocksize}`).toEqual(expected);
  });

  it("skips a header whose quoted column name holds a newline", async () => {
    const path = csvFile('id,"note\nsecond line"\n1,x\n2,y\n');
    const [table] = await client.compute(readCsv(path, { blocksize: Infinity }));
    expect(table.schema.names).toEqual(["id", "note\nsecond line"]);
    expect(rowsOf(table)).toEqual([
      { id: 1, "note\nsecond line": "x" },
      { id: 2, "note\nsecond line": "y" },
    ]);
  });
});
