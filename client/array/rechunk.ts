import { ChunkedArray } from "./chunked-array.js";
import { type ChunksSpec, normalizeChunks, sameChunks } from "../../kernels/array/chunks.js";
import { select } from "./selection.js";

/**
 * `array` cut into new blocks. Each new block is assembled from the old blocks it overlaps, in one
 * task (Dask plans multi-stage rechunks for huge grids; weft does it in one stage).
 *
 * @example
 * ```ts
 * rechunk(x, [500, -1]); // 500-row blocks spanning all columns
 * ```
 */
export function rechunk(array: ChunkedArray, chunks: ChunksSpec): ChunkedArray {
  const normalized = normalizeChunks(array.shape, chunks);
  if (sameChunks(normalized, array.chunks)) return array;
  return select(
    array,
    array.shape.map((length, axis) => ({ start: 0, step: 1, count: length, chunks: normalized[axis], drop: false })),
    "rechunk",
  );
}
