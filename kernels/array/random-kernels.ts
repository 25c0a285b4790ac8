/**
 * Counter-based random numbers: element `g` (its row-major position in the whole array) of an
 * array drawn with seed `s` is a fixed function of `(s, g)`. Blocks are computed independently, in
 * any order, on any worker, and the array is the same whatever its chunking — the property Dask's
 * per-block seeding lacks.
 *
 * The seed is hashed into two key words with MurmurHash3's 32-bit finalizer; the uniform stream they
 * key is defined in `xoshiro-kernel.ts` (xoshiro256+ generators, one per tile of 64 positions, 53-bit
 * deviates). Normal deviates are Box–Muller transforms of the uniforms at positions 2g and 2g + 1 of
 * a second stream. Statistically sound for simulation, not cryptographic, and not NumPy's stream.
 */
import { fmix } from "../../graph/tokenize.js";
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, allocateUnfilled, BORROWS_INPUTS, stridesOf } from "./block.js";
import { sizeOf } from "./chunks.js";
import type { DType, TypedArray } from "./dtype.js";
import { fillUniform } from "./xoshiro-kernel.js";

const here = import.meta.url;

/** `weft.array.random(distribution, seed, arrayShape, blockStart, blockShape, dtype, a, b)`. */
export const RANDOM = "weft.array.random";

/** The distributions `weft.array.random` draws from: uniform on [a, b), or normal with mean a and deviation b. */
export type Distribution = "uniform" | "normal";

const TWO_POW_32 = 4294967296;

/** The two key words of a seed (any safe integer). */
export function seedKeys(seed: number): [number, number] {
  const low = seed % TWO_POW_32 | 0;
  const high = Math.floor(seed / TWO_POW_32) | 0;
  return [fmix(low ^ 0x3c6ef372), fmix(high ^ 0xa54ff53a ^ fmix(low))];
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
