/**
 * Counter-based random numbers: element `g` (its row-major position in the whole array) of an
 * array drawn with seed `s` is a fixed function of `(s, g)`. Blocks are computed independently, in
 * any order, on any worker, and the array is the same whatever its chunking — the property Dask's
 * per-block seeding lacks.
 *
 * The function hashes the 53-bit index with the seed through three rounds of MurmurHash3's 32-bit
 * finalizer (a bijection with full avalanche), giving 53 uniform bits per element; normal deviates
 * use the Box–Muller transform of the uniforms at positions 2g and 2g + 1 of a derived stream. Fast
 * and well spread, but not cryptographic and not NumPy's stream.
 */
import { registerTask } from "../../../worker/task-registry.js";
import { type Block, allocate, stridesOf } from "../block.js";
import { sizeOf } from "../chunks.js";
import type { DType } from "../dtype.js";

const here = import.meta.url;

/** `weft.array.random(distribution, seed, arrayShape, blockStart, blockShape, dtype, a, b)`. */
export const RANDOM = "weft.array.random";

/** The distributions `weft.array.random` draws from: uniform on [a, b), or normal with mean a and deviation b. */
export type Distribution = "uniform" | "normal";

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** The two key words of a seed (any safe integer). */
export function seedKeys(seed: number): [number, number] {
  const low = seed % TWO_POW_32 | 0;
  const high = Math.floor(seed / TWO_POW_32) | 0;
  return [fmix(low ^ 0x3c6ef372), fmix(high ^ 0xa54ff53a ^ fmix(low))];
}

/** The uniform deviate in [0, 1) at position `g` of the stream keyed by `k0, k1`. */
export function uniformAt(g: number, k0: number, k1: number): number {
  const lo = g % TWO_POW_32 | 0;
  const hi = Math.floor(g / TWO_POW_32) | 0;
  const a = fmix(fmix(lo ^ k0) ^ fmix(hi ^ k1));
  const b = fmix(a ^ k1 ^ 0x6a09e667);
  return ((a >>> 5) * 67108864 + (b >>> 6)) / TWO_POW_53;
}

/** The standard normal deviate at position `g` (Box–Muller on the derived stream keyed by `k0, k1`). */
export function normalAt(g: number, k0: number, k1: number): number {
  const u1 = uniformAt(2 * g, k0, k1);
  const u2 = uniformAt(2 * g + 1, k0, k1);
  return Math.sqrt(-2 * Math.log(1 - u1)) * Math.cos(2 * Math.PI * u2);
}

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
  const data = allocate(dtype, n);
  if (n === 0) return { data, shape: [...blockShape], dtype };
  const [k0, k1] = seedKeys(seed);
  const [n0, n1] = seedKeys(seed + 0x5bd1e995);
  const strides = stridesOf(arrayShape);
  const nd = blockShape.length;
  const inner = nd === 0 ? 1 : blockShape[nd - 1];
  const index = new Array<number>(nd).fill(0);
  const scale = b - a;
  for (let o = 0; o < n; o += inner) {
    let g = 0;
    for (let d = 0; d < nd; d++) g += (blockStart[d] + index[d]) * strides[d];
    if (distribution === "uniform") {
      // The hot loop of array benchmarks: the 32-bit counter rarely carries into the high word.
      const hi = Math.floor(g / TWO_POW_32) | 0;
      const fh = fmix(hi ^ k1);
      let lo = g % TWO_POW_32 | 0;
      for (let j = 0; j < inner; j++, lo = (lo + 1) | 0) {
        if (lo === 0 && j > 0) {
          data.set(rowFrom(g + j, inner - j, k0, k1, scale, a), o + j);
          break;
        }
        const x = fmix(fmix(lo ^ k0) ^ fh);
        const y = fmix(x ^ k1 ^ 0x6a09e667);
        data[o + j] = a + scale * (((x >>> 5) * 67108864 + (y >>> 6)) / TWO_POW_53);
      }
    } else {
      for (let j = 0; j < inner; j++) data[o + j] = a + b * normalAt(g + j, n0, n1);
    }
    for (let d = nd - 2; d >= 0; d--) {
      if (++index[d] < blockShape[d]) break;
      index[d] = 0;
    }
  }
  return { data, shape: [...blockShape], dtype };
}

/** The rest of a row that crosses a 2^32 boundary, element by element. */
function rowFrom(g: number, count: number, k0: number, k1: number, scale: number, a: number): Float64Array {
  const out = new Float64Array(count);
  for (let j = 0; j < count; j++) out[j] = a + scale * uniformAt(g + j, k0, k1);
  return out;
}

registerTask(RANDOM, randomBlock, here);
