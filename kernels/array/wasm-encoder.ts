/**
 * Just enough of the WebAssembly binary format to write one small module by hand: the encodings of
 * numbers and sections, and the opcodes the array kernels use, by their text-format names. Kernels
 * that need 64-bit integer arithmetic, which JavaScript numbers cannot do quickly, are written with
 * it (see `xoshiro-kernel.ts`); writing them here keeps their source readable and reviewable, where a
 * prebuilt binary would not be.
 */

/** Value types. */
export const I32 = 0x7f;
export const I64 = 0x7e;
export const F64 = 0x7c;

/** Opcodes, named as in the text format. */
export const OP = {
  block: 0x02,
  loop: 0x03,
  end: 0x0b,
  br: 0x0c,
  br_if: 0x0d,
  select: 0x1b,
  "local.get": 0x20,
  "local.set": 0x21,
  "local.tee": 0x22,
  "f64.store": 0x39,
  "i32.const": 0x41,
  "i64.const": 0x42,
  "f64.const": 0x44,
  "i64.lt_u": 0x54,
  "i64.ge_u": 0x5a,
  "i32.add": 0x6a,
  "i64.add": 0x7c,
  "i64.mul": 0x7e,
  "i64.or": 0x84,
  "i64.xor": 0x85,
  "i64.shl": 0x86,
  "i64.shr_u": 0x88,
  "i64.rotl": 0x89,
  "f64.add": 0xa0,
  "f64.mul": 0xa2,
  "i64.extend_i32_u": 0xad,
  "i64.trunc_f64_u": 0xb1,
  "f64.convert_i64_u": 0xba,
} as const;

/** A block with no result (the block type of `block` and `loop`). */
export const VOID = 0x40;

/** Unsigned LEB128. */
export function uleb(value: number): number[] {
  const bytes: number[] = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) byte |= 0x80;
    bytes.push(byte);
  } while (value !== 0);
  return bytes;
}

/** Signed LEB128 of a 64-bit integer (constants of `i64.const` and `i32.const`). */
export function sleb(value: bigint): number[] {
  const bytes: number[] = [];
  let v = BigInt.asIntN(64, value);
  for (;;) {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    const done = (v === 0n && (byte & 0x40) === 0) || (v === -1n && (byte & 0x40) !== 0);
    bytes.push(done ? byte : byte | 0x80);
    if (done) return bytes;
  }
}

/** The eight little-endian bytes of a float64 (the immediate of `f64.const`). */
export function f64Bytes(value: number): number[] {
  return [...new Uint8Array(Float64Array.of(value).buffer)];
}

/** A vector: its length, then its items. */
export function vector(items: readonly number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

/** A name as the binary format stores it. */
export function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...uleb(bytes.length), ...bytes];
}

/** A section: its id, its size, its contents. */
export function section(id: number, contents: readonly number[]): number[] {
  return [id, ...uleb(contents.length), ...contents];
}

/** The module header: magic number and version 1. */
export const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
