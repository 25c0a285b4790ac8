/**
 * The uniform stream of weft's random arrays, computed in WebAssembly for its 64-bit integers.
 *
 * Position `g` of the stream keyed by `(k0, k1)` lies in tile `t = floor(g / 64)`. Each tile runs its
 * own xoshiro256+ generator (Blackman and Vigna; the variant they recommend for floating point),
 * whose state is four successive outputs of SplitMix64 started from `key ^ (t × 0x9E3779B97F4A7C15)`,
 * `key` being `k1 · 2^32 + k0` — the seeding its authors recommend. Position `64t + i` is the
 * generator's `i`-th output, and its top 53 bits make a uniform deviate in [0, 1), as NumPy's
 * `random()` does. A fill that starts inside a tile steps the generator to its first position.
 *
 * One 64-bit step per deviate: in JavaScript, 32-bit generators need two steps and a float
 * assembly per deviate, more than twice the work.
 */
import { F64, HEADER, I32, I64, OP, VOID, f64Bytes, name, section, sleb, uleb, vector } from "./wasm-encoder.js";

/** Positions per generator tile. */
export const TILE = 64;
/** Deviates one call writes at most: the module's one page of memory. */
const CHUNK = 8192;

const GOLDEN = 0x9e3779b97f4a7c15n;
const MIX1 = 0xbf58476d1ce4e5b9n;
const MIX2 = 0x94d049bb133111ebn;

// Parameters of `fill(at, g, count, k0, k1, a, scale)`, then locals.
const AT = 0, G = 1, COUNT = 2, K0 = 3, K1 = 4, A = 5, SCALE = 6;
const KEY = 7, POS = 8, END = 9, TILE_NO = 10, SM = 11, Z = 12, S0 = 13, S1 = 14, S2 = 15, S3 = 16, T = 17, TILE_END = 18, FIRST = 19;
const I64_LOCALS = 13;

const get = (local: number) => [OP["local.get"], ...uleb(local)];
const set = (local: number) => [OP["local.set"], ...uleb(local)];
const tee = (local: number) => [OP["local.tee"], ...uleb(local)];
const i64 = (value: bigint) => [OP["i64.const"], ...sleb(value)];
const increment = (local: number) => [...get(local), ...i64(1n), OP["i64.add"], ...set(local)];
/** `while (!(left >= right)) { body }` */
const whileBelow = (left: number, right: number, body: number[]) => [
  OP.block, VOID, OP.loop, VOID,
  ...get(left), ...get(right), OP["i64.ge_u"], OP.br_if, 1,
  ...body,
  OP.br, 0, OP.end, OP.end,
];

/** SplitMix64's next output into `target`. */
const splitMix = (target: number) => [
  ...get(SM), ...i64(GOLDEN), OP["i64.add"], ...tee(SM), ...set(Z),
  ...get(Z), ...get(Z), ...i64(30n), OP["i64.shr_u"], OP["i64.xor"], ...i64(MIX1), OP["i64.mul"], ...tee(Z),
  ...get(Z), ...i64(27n), OP["i64.shr_u"], OP["i64.xor"], ...i64(MIX2), OP["i64.mul"], ...tee(Z),
  ...get(Z), ...i64(31n), OP["i64.shr_u"], OP["i64.xor"], ...set(target),
];

const xorInto = (target: number, other: number) => [...get(target), ...get(other), OP["i64.xor"], ...set(target)];

/** One xoshiro256+ state transition. */
const step = [
  ...get(S1), ...i64(17n), OP["i64.shl"], ...set(T),
  ...xorInto(S2, S0),
  ...xorInto(S3, S1),
  ...xorInto(S1, S2),
  ...xorInto(S0, S3),
  ...xorInto(S2, T),
  ...get(S3), ...i64(45n), OP["i64.rotl"], ...set(S3),
];

const body = [
  // key = k1 << 32 | k0; pos = g; end = g + count
  ...get(K1), OP["i64.extend_i32_u"], ...i64(32n), OP["i64.shl"], ...get(K0), OP["i64.extend_i32_u"], OP["i64.or"], ...set(KEY),
  ...get(G), OP["i64.trunc_f64_u"], ...tee(POS), ...get(COUNT), OP["i64.extend_i32_u"], OP["i64.add"], ...set(END),
  ...whileBelow(POS, END, [
    // The tile's generator.
    ...get(POS), ...i64(6n), OP["i64.shr_u"], ...tee(TILE_NO), ...i64(GOLDEN), OP["i64.mul"], ...get(KEY), OP["i64.xor"], ...set(SM),
    ...splitMix(S0), ...splitMix(S1), ...splitMix(S2), ...splitMix(S3),
    // Steps to the first position wanted.
    ...get(POS), ...set(FIRST),
    ...get(TILE_NO), ...i64(6n), OP["i64.shl"], ...set(POS),
    ...whileBelow(POS, FIRST, [...step, ...increment(POS)]),
    // tileEnd = min(end, (tile + 1) << 6)
    ...get(END),
    ...get(TILE_NO), ...i64(1n), OP["i64.add"], ...i64(6n), OP["i64.shl"], ...tee(TILE_END),
    ...get(END), ...get(TILE_END), OP["i64.lt_u"], OP.select, ...set(TILE_END),
    ...whileBelow(POS, TILE_END, [
      // memory[at] = a + scale × ((s0 + s3) >>> 11) × 2^-53
      ...get(AT),
      ...get(A), ...get(SCALE),
      ...get(S0), ...get(S3), OP["i64.add"], ...i64(11n), OP["i64.shr_u"], OP["f64.convert_i64_u"],
      OP["f64.const"], ...f64Bytes(2 ** -53), OP["f64.mul"], OP["f64.mul"], OP["f64.add"],
      OP["f64.store"], 3, 0,
      ...step,
      ...get(AT), OP["i32.const"], ...sleb(8n), OP["i32.add"], ...set(AT),
      ...increment(POS),
    ]),
  ]),
  OP.end,
];

const moduleBytes = new Uint8Array([
  ...HEADER,
  section(1, vector([[0x60, ...vector([[I32], [F64], [I32], [I32], [I32], [F64], [F64]]), ...vector([])]])),
  section(3, vector([uleb(0)])),
  section(5, vector([[0x00, ...uleb(1)]])),
  section(7, vector([[...name("fill"), 0x00, ...uleb(0)], [...name("memory"), 0x02, ...uleb(0)]])),
  section(10, vector([(() => {
    const code = [...vector([[...uleb(I64_LOCALS), I64]]), ...body];
    return [...uleb(code.length), ...code];
  })()])),
].flat());

/** What this module uses of the WebAssembly API (the project's TypeScript libraries do not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object) => {
    readonly exports: {
      readonly fill: (at: number, g: number, count: number, k0: number, k1: number, a: number, scale: number) => void;
      readonly memory: { readonly buffer: ArrayBuffer };
    };
  };
}

const wasm = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;
const { fill, memory } = new wasm.Instance(new wasm.Module(moduleBytes)).exports;
const deviates = new Float64Array(memory.buffer, 0, CHUNK);

/**
 * Writes `a + scale × u(g + i)` for `i < count` into `out` from `at`, where `u` is the uniform stream
 * keyed by `k0, k1` (32-bit words) and `g + count <= 2^53`.
 */
export function fillUniform(
  out: { set(values: ArrayLike<number>, offset: number): void },
  at: number,
  g: number,
  count: number,
  k0: number,
  k1: number,
  a: number,
  scale: number,
): void {
  for (let done = 0; done < count; done += CHUNK) {
    const n = Math.min(CHUNK, count - done);
    fill(0, g + done, n, k0, k1, a, scale);
    out.set(n === CHUNK ? deviates : deviates.subarray(0, n), at + done);
  }
}
