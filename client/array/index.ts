/**
 * weft arrays: lazy, chunked N-dimensional arrays like `dask.array`, whose blocks are typed arrays
 * computed by tasks.
 *
 * @example
 * ```ts
 * import { Client } from "weft";
 * import * as wa from "weft/array";
 * const client = await Client.local();
 * const x = wa.random.uniform([8000, 8000], { chunks: 1000, seed: 1 });
 * const [m] = await client.compute(x.add(x.T).mean()); // { data: Float64Array [≈1], shape: [], dtype: "float64" }
 * ```
 */
import "../../kernels/array/index.js";
import * as random from "./random.js";

export { ChunkedArray, type DenseArray } from "./chunked-array.js";
export type { Block } from "../../kernels/array/block.js";
export { type Chunks, type ChunksSpec, normalizeChunks } from "../../kernels/array/chunks.js";
export { type DType, DTYPES, promote, type TypedArray } from "../../kernels/array/dtype.js";
export { arange, fromArray, fromDelayed, full, linspace, ones, zeros, type ArangeOptions, type CreationOptions } from "./creation.js";
export { random };
export type { RandomOptions } from "./random.js";
export { astype, broadcastShapes, elementwise, type Operand } from "./elementwise.js";
export { ELEMENTWISE_OPS } from "../../kernels/array/elementwise-ops.js";
export * from "./math.js";
export { reduce, DEFAULT_SPLIT_EVERY, type ReductionMode, type ReductionOptions } from "./reductions.js";
export { getItem, slice, type Index, type Slice } from "./slicing.js";
export { expandDims, reshape, transpose } from "./reshape.js";
export { rechunk } from "./rechunk.js";
export { concatenate, stack } from "./concatenate.js";
export { dot, matmul, tensordot } from "./linalg.js";
export { blockwise, mapBlocks, type BlockFunction, type BlockwiseOptions, type MapBlocksOptions } from "./map-blocks.js";
