import { describe, expect, it } from "vitest";
import { ByteDictionary, parseDecimal } from "../../../kernels/dataframe/csv-fields.js";
import { seededRandom } from "../../support/seeded-random.js";

const bytesOf = (text: string) => new TextEncoder().encode(text);
const decimal = (text: string) => parseDecimal(bytesOf(text), 0, bytesOf(text).length);

describe("parseDecimal", () => {
  it("reads what Number reads, bit for bit, for decimals of up to 15 significant digits", () => {
    const random = seededRandom(11);
    const texts = ["0", "-0", "+7", "0.1", "0.29", "1.", ".5", "-12.375", "123456789012345", "0.000000000000001", "1e22", "1E-22", "4.5e+3", "007.50"];
    for (let i = 0; i < 20_000; i++) {
      const digits = String(Math.floor(random() * 1e15)).slice(0, 1 + Math.floor(random() * 15));
      const point = Math.floor(random() * (digits.length + 1));
      const exponent = random() < 0.3 ? `e${Math.floor(random() * 30) - 15}` : "";
      texts.push(`${random() < 0.5 ? "-" : ""}${digits.slice(0, point)}.${digits.slice(point)}${exponent}`);
    }
    for (const text of texts) {
      const value = decimal(text);
      if (value !== undefined) expect(Object.is(value, Number(text)), text).toBe(true);
    }
    // Plain decimals, as data files hold them, never need the slow path; far exponents may.
    expect(texts.filter((text) => !/e/i.test(text) && decimal(text) === undefined)).toEqual([]);
    expect(texts.filter((text) => decimal(text) !== undefined).length).toBeGreaterThan(0.9 * texts.length);
  });

  it("leaves to Number what it does not read exactly: long mantissas, far exponents, names, hex, spaces", () => {
    for (const text of ["1234567890123456", "1e23", "1e-23", "NaN", "Infinity", "0x1A", " 1.5", "1.5 ", "1e", "-", "", "1.2.3", "e5"]) {
      expect(decimal(text), text).toBeUndefined();
    }
  });
});

describe("ByteDictionary", () => {
  const codesOf = (fields: readonly (readonly [string, boolean])[], dictionary = new ByteDictionary()) => {
    const codes = fields.map(([text, quoted]) => {
      const bytes = bytesOf(text);
      return dictionary.code(bytes, 0, bytes.length, quoted);
    });
    return { codes, entries: dictionary.entries };
  };

  it("gives each distinct text one code, in order of first appearance", () => {
    expect(codesOf([["tea", false], ["jam", false], ["tea", false], ["", true], ["jam", false]])).toEqual({ codes: [0, 1, 0, 2, 1], entries: ["tea", "jam", ""] });
  });

  it("reads a quoted field's doubled quotes as one, and knows that text by either spelling", () => {
    expect(codesOf([['say ""hi""', true], ['say "hi"', false], ['say ""hi""', false]])).toEqual({
      codes: [0, 0, 1],
      entries: ['say "hi"', 'say ""hi""'],
    });
  });

  it("decodes UTF-8, and gives invalid sequences that decode alike one code", () => {
    const dictionary = new ByteDictionary();
    const codes = [bytesOf("ünïcødé 😀"), new Uint8Array([0xff]), new Uint8Array([0xfe]), bytesOf("ünïcødé 😀")].map((bytes) => dictionary.code(bytes, 0, bytes.length, false));
    expect(codes).toEqual([0, 1, 1, 0]);
    expect(dictionary.entries).toEqual(["ünïcødé 😀", "\ufffd"]);
  });

  it("reads ASCII fields of every length, and ASCII beside non-ASCII, as TextDecoder does", () => {
    const texts = ["x".repeat(31), "y".repeat(32), "z".repeat(33), `${"a".repeat(20)}é`, "\u007f\u0001", "a b\tc"];
    expect(codesOf(texts.map((text) => [text, false] as const)).entries).toEqual(texts);
  });

  it("keeps every code right as it grows past its first tables", () => {
    const texts = Array.from({ length: 5000 }, (_, i) => `key-${(i * 7919) % 3001}`);
    const { codes, entries } = codesOf(texts.map((text) => [text, false] as const));
    expect(entries).toHaveLength(3001);
    codes.forEach((code, i) => expect(entries[code]).toBe(texts[i]));
  });
});
