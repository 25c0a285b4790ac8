/**
 * Counter-based random numbers: element `g` (its row-major position in the whole array) of an
 * array drawn with seed `s` is a fixed function of `(s, g)`. Blocks are computed independently, in
 * any order, on any worker, and the array is the same whatever its chunking — the property Dask's
 * per-block seeding lacks.
 *
 * The stream is cut into tiles of 64 positions. Tile `t` starts a xoshiro128+ generator (Blackman
 * and Vigna; the variant they recommend for floating point) from a state hashed from `(s, t)` with
 * MurmurHash3's 32-bit finalizer; each position takes two of its outputs, whose top 27 and 26 bits
 * make a 53-bit uniform in [0, 1). A block starting inside a tile steps the generator to its first
 * position (at most 63 positions of waste per row). Normal deviates are Box–Muller transforms of the
 * uniforms at positions 2g and 2g + 1 of a second stream. Statistically sound for simulation, not
 * cryptographic, and not NumPy's stream.
 */
import { fmix } from "../../../graph/tokenize.js";
import { registerTask } from "../../../worker/task-registry.js";
import { type Block, allocateUnfilled, BORROWS_INPUTS, stridesOf } from "../block.js";
import { sizeOf } from "../chunks.js";
import type { DType, TypedArray } from "../dtype.js";

const here = import.meta.url;

/** `weft.array.random(distribution, seed, arrayShape, blockStart, blockShape, dtype, a, b)`. */
export const RANDOM = "weft.array.random";

/** The distributions `weft.array.random` draws from: uniform on [a, b), or normal with mean a and deviation b. */
export type Distribution = "uniform" | "normal";

/** Positions per generator tile. */
const TILE = 64;
const TWO_POW_32 = 4294967296;
/** 2^-53. */
const ULP = 1.1102230246251565e-16;


/** The two key words of a seed (any safe integer). */
export function seedKeys(seed: number): [number, number] {
  const low = seed % TWO_POW_32 | 0;
  const high = Math.floor(seed / TWO_POW_32) | 0;
  return [fmix(low ^ 0x3c6ef372), fmix(high ^ 0xa54ff53a ^ fmix(low))];
}

/**
 * Writes `a + scale * u(g)` for the `count` positions from `g` into `out` from `at`, where `u` is
 * the uniform stream keyed by `k0, k1`.
 */
export function fillUniform(out: TypedArray, at: number, g: number, count: number, k0: number, k1: number, a: number, scale: number): void {
  let done = 0;
  while (done < count) {
    const position = g + done;
    const tile = Math.floor(position / TILE);
    const skip = position - tile * TILE;
    const n = Math.min(TILE - skip, count - done);
    // The tile's state: its 53-bit number split in two words, hashed with the keys.
    const tileLow = tile % TWO_POW_32 | 0;
    const tileHigh = Math.floor(tile / TWO_POW_32) | 0;
    let s0 = fmix(tileLow ^ k0);
    let s1 = fmix(s0 ^ tileHigh ^ k1);
    let s2 = fmix(s1 ^ 0x243f6a88);
    let s3 = fmix(s2 ^ k0 ^ 0x85a308d3);
    if ((s0 | s1 | s2 | s3) === 0) s3 = 1; // xoshiro's one forbidden state
    // Steps to the first position wanted (only when a block starts inside a tile).
    for (let i = 0; i < 2 * skip; i++) {
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
    }
    const base = at + done;
    for (let i = 0; i < n; i++) {
      const x = (s0 + s3) | 0;
      let t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      const y = (s0 + s3) | 0;
      t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[base + i] = a + scale * (((x >>> 5) * 67108864 + (y >>> 6)) * ULP);
    }
    done += n;
  }
}

/** The uniform deviate in [0, 1) at position `g` of the stream keyed by `k0, k1`. */
export function uniformAt(g: number, k0: number, k1: number): number {
  const one = new Float64Array(1);
  fillUniform(one, 0, g, 1, k0, k1, 0, 1);
  return one[0];
}

/** Writes `mean + std * z(g)` for `count` positions from `g`: Box–Muller on positions 2g, 2g + 1 of the stream keyed by `k0, k1`. */
function fillNormal(out: TypedArray, at: number, g: number, count: number, k0: number, k1: number, mean: number, std: number, scratch: Float64Array): void {
  fillUniform(scratch, 0, 2 * g, 2 * count, k0, k1, 0, 1);
  for (let i = 0; i < count; i++) {
    const u1 = scratch[2 * i];
    const u2 = scratch[2 * i + 1];
    out[at + i] = mean + std * Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
  }
}

/** Implements {@link RANDOM}: the block of `blockShape` at `blockStart` of an array of `arrayShape`. */
export function randomBlock(
  distribution: Distribution,
  seed: number,
  arrayShape: readonly number[],
  blockStart: readonly number[],
  blockShape: readonly number[],
  dtype: DType,
  a: number,
  b: number,
): Block {
  const n = sizeOf(blockShape);
  const data = allocateUnfilled(dtype, n);
  if (n === 0) return { data, shape: [...blockShape], dtype };
  const [k0, k1] = distribution === "uniform" ? seedKeys(seed) : seedKeys(seed + 0x5bd1e995);
  const strides = stridesOf(arrayShape);
  const nd = blockShape.length;
  const inner = nd === 0 ? 1 : blockShape[nd - 1];
  const scratch = distribution === "normal" ? new Float64Array(2 * inner) : undefined;
  const index = new Array<number>(nd).fill(0);
  // Row by row: the positions of a row of the block are consecutive in the whole array.
  for (let o = 0; o < n; o += inner) {
    let g = 0;
    for (let d = 0; d < nd; d++) g += (blockStart[d] + index[d]) * strides[d];
    if (scratch === undefined) fillUniform(data, o, g, inner, k0, k1, a, b - a);
    else fillNormal(data, o, g, inner, k0, k1, a, b, scratch);
    for (let d = nd - 2; d >= 0; d--) {
      if (++index[d] < blockShape[d]) break;
      index[d] = 0;
    }
  }
  return { data, shape: [...blockShape], dtype };
}

registerTask(RANDOM, randomBlock, here, BORROWS_INPUTS);
