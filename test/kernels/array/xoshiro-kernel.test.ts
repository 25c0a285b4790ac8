import { describe, expect, it } from "vitest";
import { fillUniform, TILE } from "../../../kernels/array/xoshiro-kernel.js";

const MASK = (1n << 64n) - 1n;

/** SplitMix64 and xoshiro256+ with BigInt, straight from their authors' C: the reference the WebAssembly kernel must match. */
function referenceUniform(g: number, k0: number, k1: number): number {
  const key = (BigInt(k1 >>> 0) << 32n) | BigInt(k0 >>> 0);
  const tile = BigInt(Math.floor(g / TILE));
  let sm = key ^ ((tile * 0x9e3779b97f4a7c15n) & MASK);
  const splitMix = () => {
    sm = (sm + 0x9e3779b97f4a7c15n) & MASK;
    let z = sm;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & MASK;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & MASK;
    return z ^ (z >> 31n);
  };
  const s = [splitMix(), splitMix(), splitMix(), splitMix()];
  let result = 0n;
  for (let i = 0; i <= g % TILE; i++) {
    result = (s[0] + s[3]) & MASK;
    const t = (s[1] << 17n) & MASK;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ((s[3] << 45n) | (s[3] >> 19n)) & MASK;
  }
  return Number(result >> 11n) * 2 ** -53;
}

describe("the uniform stream kernel", () => {
  it("computes xoshiro256+ seeded by SplitMix64 per tile, as the reference does", () => {
    const k0 = 0x12345678 | 0;
    const k1 = 0x9abcdef0 | 0;
    const out = new Float64Array(3 * TILE);
    fillUniform(out, 0, 5 * TILE, out.length, k0, k1, 0, 1);
    for (let i = 0; i < out.length; i++) expect(out[i]).toBe(referenceUniform(5 * TILE + i, k0, k1));
  });

  it("starts a fill inside a tile at the same deviate a whole-tile fill reaches there", () => {
    const whole = new Float64Array(2 * TILE);
    fillUniform(whole, 0, 0, whole.length, 7, 11, 0, 1);
    const part = new Float64Array(50);
    fillUniform(part, 0, 37, part.length, 7, 11, 0, 1);
    expect([...part]).toEqual([...whole.subarray(37, 87)]);
  });

  it("gives positions beyond 2^32 their own deviates", () => {
    const g = 2 ** 40 + 3;
    const out = new Float64Array(2);
    fillUniform(out, 0, g, 2, 1, 2, 0, 1);
    expect(out[0]).toBe(referenceUniform(g, 1, 2));
    expect(out[1]).toBe(referenceUniform(g + 1, 1, 2));
  });

  it("fills more than one chunk of its memory in a call, and scales and shifts each deviate", () => {
    const n = 20_000;
    const unit = new Float64Array(n);
    fillUniform(unit, 0, 123, n, 3, 4, 0, 1);
    const shifted = new Float64Array(n + 5);
    fillUniform(shifted, 5, 123, n, 3, 4, -2, 4);
    for (const i of [0, 8191, 8192, 16384, n - 1]) {
      expect(unit[i]).toBe(referenceUniform(123 + i, 3, 4));
      expect(shifted[5 + i]).toBe(-2 + 4 * unit[i]);
    }
  });

  it("draws deviates in [0, 1) with the uniform distribution's mean and variance", () => {
    const n = 1_000_000;
    const out = new Float64Array(n);
    fillUniform(out, 0, 0, n, 42, 43, 0, 1);
    let sum = 0;
    let sumSquares = 0;
    let min = 1;
    let max = 0;
    for (const x of out) {
      sum += x;
      sumSquares += x * x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const mean = sum / n;
    const variance = sumSquares / n - mean * mean;
    // Standard errors: 0.29 / sqrt(n) for the mean, about 0.09 / sqrt(n) for the variance; 6 of them.
    expect(Math.abs(mean - 0.5)).toBeLessThan(6 * 0.29 / Math.sqrt(n));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(6 * 0.09 / Math.sqrt(n));
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
  });
});
