/**
 * Chunk layouts: how an array's extent along each axis is cut into blocks.
 *
 * A layout is one list of block sizes per axis (Dask's `chunks` tuple): `[[2, 2, 1], [3]]` is a 5×3
 * array in three row blocks of one column block. Every block index `[i, j, ...]` names one block;
 * blocks are listed in row-major order of their index.
 */

/** Block sizes per axis. */
export type Chunks = readonly (readonly number[])[];

/**
 * How a user asks for chunks: one size for every axis (`1000`), one size per axis (`[1000, -1]`,
 * where `-1` means the whole axis in one block), or explicit block sizes per axis (`[[2, 2, 1], [3]]`).
 */
export type ChunksSpec = number | readonly (number | readonly number[])[];

/**
 * The chunk layout for an array of `shape` asked for as `spec`; the last block of an axis may be
 * smaller. Throws a RangeError naming the axis when sizes are not positive whole numbers or
 * explicit sizes do not add up to the axis length.
 *
 * @example
 * ```ts
 * normalizeChunks([5, 3], 2); // [[2, 2, 1], [2, 1]]
 * normalizeChunks([5, 3], [[3, 2], -1]); // [[3, 2], [3]]
 * ```
 */
export function normalizeChunks(shape: readonly number[], spec: ChunksSpec): number[][] {
  if (typeof spec === "number") return shape.map((length, axis) => regularChunks(length, spec, axis));
  if (!Array.isArray(spec) || spec.length !== shape.length) {
    throw new RangeError(`chunks must give one entry per axis (${shape.length}); got ${JSON.stringify(spec)}`);
  }
  return shape.map((length, axis) => {
    const entry = spec[axis];
    if (typeof entry === "number") return regularChunks(length, entry, axis);
    const sizes = [...entry];
    for (const size of sizes) {
      if (!Number.isInteger(size) || size < 0) throw new RangeError(`chunks on axis ${axis} must be whole numbers >= 0; got ${size}`);
    }
    const total = sizes.reduce((a, b) => a + b, 0);
    if (total !== length) throw new RangeError(`chunks on axis ${axis} add up to ${total}, but the axis has length ${length}`);
    return sizes.length === 0 ? [0] : sizes;
  });
}

function regularChunks(length: number, size: number, axis: number): number[] {
  if (size === -1) return [length];
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`chunk size on axis ${axis} must be a whole number >= 1 or -1; got ${size}`);
  if (length === 0) return [0];
  const sizes: number[] = [];
  for (let start = 0; start < length; start += size) sizes.push(Math.min(size, length - start));
  return sizes;
}

/** Where each block starts along an axis, plus the axis length at the end. */
export function offsetsOf(sizes: readonly number[]): number[] {
  const offsets = [0];
  for (const size of sizes) offsets.push(offsets[offsets.length - 1] + size);
  return offsets;
}

/** Number of blocks along each axis. */
export function gridShape(chunks: Chunks): number[] {
  return chunks.map((sizes) => sizes.length);
}

/** Every block index of a grid, in row-major order. */
export function blockIndices(grid: readonly number[]): number[][] {
  const total = grid.reduce((a, b) => a * b, 1);
  const out: number[][] = [];
  const index = new Array<number>(grid.length).fill(0);
  for (let n = 0; n < total; n++) {
    out.push(index.slice());
    for (let d = grid.length - 1; d >= 0; d--) {
      if (++index[d] < grid[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

/** The row-major position of a block index in its grid. */
export function linearIndex(index: readonly number[], grid: readonly number[]): number {
  let at = 0;
  for (let d = 0; d < grid.length; d++) at = at * grid[d] + index[d];
  return at;
}

/** The shape of block `index`. */
export function blockShape(chunks: Chunks, index: readonly number[]): number[] {
  return index.map((i, axis) => chunks[axis][i]);
}

/** Product of a shape's lengths (1 for a 0-d shape). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const length of shape) n *= length;
  return n;
}

/**
 * The common refinement of two block layouts of one axis: every boundary of either. Elementwise
 * operations between arrays chunked differently rechunk both to it, as Dask's `unify_chunks` does.
 */
export function refineChunks(a: readonly number[], b: readonly number[]): number[] {
  const cuts = new Set([...offsetsOf(a), ...offsetsOf(b)]);
  const sorted = [...cuts].sort((x, y) => x - y);
  const sizes: number[] = [];
  for (let i = 1; i < sorted.length; i++) sizes.push(sorted[i] - sorted[i - 1]);
  return sizes.length === 0 ? [0] : sizes;
}

/** True when two layouts cut every axis at the same places. */
export function sameChunks(a: Chunks, b: Chunks): boolean {
  return a.length === b.length && a.every((sizes, axis) => sizes.length === b[axis].length && sizes.every((s, i) => s === b[axis][i]));
}
