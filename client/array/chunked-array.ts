import { COLLECTION, type Collection, type CollectionProtocol } from "../collection.js";
import type { Key, ReadonlyGraph, TaskSpec } from "../../graph/task-spec.js";
import { type Block } from "../../kernels/array/block.js";
import { type Chunks, type ChunksSpec, blockIndices, gridShape, sizeOf } from "../../kernels/array/chunks.js";
import type { DType } from "../../kernels/array/dtype.js";
import { assembleDense } from "../../kernels/array/assemble-kernels.js";
import type { Term } from "./term.js";
import { astype, elementwise, materializeTerm, type Operand } from "./elementwise.js";
import { matmul } from "./linalg.js";
import { rechunk } from "./rechunk.js";
import { reduce, type ReductionOptions } from "./reductions.js";
import { reshape, transpose } from "./reshape.js";
import { getItem, type Index } from "./slicing.js";

/** A computed array: row-major data, its shape and dtype. What `compute` returns for a {@link ChunkedArray}. */
export type DenseArray = Block;

/** Where the tasks of an array come from: other arrays, or any graph (delayed values). */
export type GraphSource = ChunkedArray | ReadonlyGraph;

/** The parts of an array made of tasks, one per block. */
export interface BlockLayer {
  /** The name the block keys derive from; equal names mean equal arrays. */
  readonly name: string;
  /** The key of every block, in row-major order of block index. */
  readonly keys: readonly Key[];
  /** The tasks this array adds (some keys may belong to its inputs, as after `concatenate`). */
  readonly tasks: ReadonlyGraph;
  /** Where the tasks its own tasks read come from. */
  readonly dependencies: readonly GraphSource[];
}

/** The key of block `index` of the array named `name`. */
export function blockKey(name: string, index: readonly number[]): Key {
  return `${name}[${index.join(",")}]`;
}

/**
 * A lazy, chunked N-dimensional array, like a `dask.array.Array`: a grid of blocks, each a typed
 * array computed by a task. Every operation returns a new array and builds tasks; nothing runs until
 * `compute` (on a {@link Client} or the default one), which returns a {@link DenseArray}.
 *
 * Elementwise operations are not turned into tasks at once: they stack up into an expression, and
 * the whole chain becomes one task per block when something needs the blocks (a reduction fuses it
 * into its own per-block tasks too). So `x.add(1).mul(2).sub(y)` over 100 blocks is 100 tasks.
 *
 * Arrays implement the collection protocol, so `client.compute(a, b)` and `client.persist(a)` accept
 * them alongside delayed values.
 *
 * @example
 * ```ts
 * import * as wa from "weft/array";
 * const x = wa.random.uniform([8000, 8000], { chunks: 1000, seed: 42 });
 * const m = x.add(x.T).mean();
 * const [{ data }] = await client.compute(m); // data[0] ≈ 1
 * ```
 */
export class ChunkedArray implements Collection<DenseArray> {
  private materialized: BlockLayer | undefined;

  /** @internal Use the creation functions (`fromArray`, `zeros`, ...) or operations on arrays. */
  constructor(
    /** Length of each axis. */
    readonly shape: readonly number[],
    /** Block sizes along each axis. */
    readonly chunks: Chunks,
    readonly dtype: DType,
    source: BlockLayer | Term,
  ) {
    if ("keys" in source) this.materialized = source;
    else this.term = source;
  }

  /**
   * @internal The elementwise expression this array stands for, or undefined for an array made of
   * tasks. Consumers that can evaluate it themselves (reductions, further elementwise operations)
   * read it instead of the blocks, which is how chains fuse.
   */
  readonly term: Term | undefined;

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Number of blocks along each axis. */
  get numblocks(): number[] {
    return gridShape(this.chunks);
  }

  /** @internal The array's blocks as tasks (an elementwise expression becomes one task per block here). */
  get layer(): BlockLayer {
    this.materialized ??= materializeTerm(this);
    return this.materialized;
  }

  /** The name of the array's blocks: block keys are `name[i,j,...]`. */
  get name(): string {
    return this.layer.name;
  }

  /** Every block key, in row-major order of block index. */
  blockKeys(): readonly Key[] {
    return this.layer.keys;
  }

  /** Every task needed to compute this array, its inputs' included. */
  graph(): Map<Key, TaskSpec> {
    const graph = new Map<Key, TaskSpec>();
    const seen = new Set<unknown>();
    const stack: GraphSource[] = [this];
    while (stack.length > 0) {
      const source = stack.pop()!;
      if (seen.has(source)) continue;
      seen.add(source);
      if (source instanceof ChunkedArray) {
        const layer = source.layer;
        if (seen.has(layer)) continue;
        seen.add(layer);
        for (const [key, spec] of layer.tasks) graph.set(key, spec);
        for (const dependency of layer.dependencies) stack.push(dependency);
      } else {
        for (const [key, spec] of source) graph.set(key, spec);
      }
    }
    return graph;
  }

  get [COLLECTION](): CollectionProtocol<DenseArray> {
    return {
      graph: () => this.graph(),
      keys: () => this.layer.keys,
      finalize: (values) => assembleDense(this.shape, this.chunks, this.dtype, values as readonly Block[]),
      held: () =>
        new ChunkedArray(this.shape, this.chunks, this.dtype, {
          name: this.layer.name,
          keys: this.layer.keys,
          tasks: new Map(),
          dependencies: [],
        }),
    };
  }


  // Elementwise operations (lazy; fused into one task per block with whatever follows).

  /** `this + other`, broadcasting. */
  add(other: Operand): ChunkedArray {
    return elementwise("add", [this, other]);
  }
  /** `this - other`. */
  sub(other: Operand): ChunkedArray {
    return elementwise("subtract", [this, other]);
  }
  /** `this * other`. */
  mul(other: Operand): ChunkedArray {
    return elementwise("multiply", [this, other]);
  }
  /** `this / other` (true division: integers give float64). */
  div(other: Operand): ChunkedArray {
    return elementwise("divide", [this, other]);
  }
  /** `this // other` (floor division; integer division by zero gives 0, as in NumPy). */
  floorDiv(other: Operand): ChunkedArray {
    return elementwise("floorDivide", [this, other]);
  }
  /** `this % other`, with the sign of the divisor (Python's and NumPy's remainder). */
  mod(other: Operand): ChunkedArray {
    return elementwise("mod", [this, other]);
  }
  /** `this ** other`. */
  pow(other: Operand): ChunkedArray {
    return elementwise("power", [this, other]);
  }
  /** `-this`. */
  neg(): ChunkedArray {
    return elementwise("negative", [this]);
  }
  /** `|this|`. */
  abs(): ChunkedArray {
    return elementwise("abs", [this]);
  }
  /** `this == other` (bool). */
  eq(other: Operand): ChunkedArray {
    return elementwise("equal", [this, other]);
  }
  /** `this != other` (bool). */
  ne(other: Operand): ChunkedArray {
    return elementwise("notEqual", [this, other]);
  }
  /** `this < other` (bool). */
  lt(other: Operand): ChunkedArray {
    return elementwise("less", [this, other]);
  }
  /** `this <= other` (bool). */
  le(other: Operand): ChunkedArray {
    return elementwise("lessEqual", [this, other]);
  }
  /** `this > other` (bool). */
  gt(other: Operand): ChunkedArray {
    return elementwise("greater", [this, other]);
  }
  /** `this >= other` (bool). */
  ge(other: Operand): ChunkedArray {
    return elementwise("greaterEqual", [this, other]);
  }
  /** Logical and (bool). */
  and(other: Operand): ChunkedArray {
    return elementwise("logicalAnd", [this, other]);
  }
  /** Logical or (bool). */
  or(other: Operand): ChunkedArray {
    return elementwise("logicalOr", [this, other]);
  }
  /** Logical not (bool). */
  not(): ChunkedArray {
    return elementwise("logicalNot", [this]);
  }
  /** Elements clipped to `[low, high]`. */
  clip(low: Operand, high: Operand): ChunkedArray {
    return elementwise("clip", [this, low, high]);
  }
  /** This array converted to `dtype` (floats to integers truncate toward zero, as NumPy's `astype`). */
  astype(dtype: DType): ChunkedArray {
    return astype(this, dtype);
  }

  // Shape and indexing.

  /** The transpose (axes reversed); free until something reads it. */
  get T(): ChunkedArray {
    return transpose(this);
  }
  /** Axes permuted: axis `d` of the result is axis `axes[d]` (default: reversed). */
  transpose(axes?: readonly number[]): ChunkedArray {
    return transpose(this, axes);
  }
  /** The same elements under a new shape (row-major; one `-1` is worked out). */
  reshape(shape: readonly number[]): ChunkedArray {
    return reshape(this, shape);
  }
  /** The same array in new blocks. */
  rechunk(chunks: ChunksSpec): ChunkedArray {
    return rechunk(this, chunks);
  }
  /**
   * Basic indexing, one index per leading axis: `x.get(slice(1, 10, 2), 3)` is NumPy's `x[1:10:2, 3]`;
   * `null` takes an axis whole.
   */
  get(...indices: Index[]): ChunkedArray {
    return getItem(this, indices);
  }

  // Reductions (tree reductions; see `reduce`).

  /** Sum over `axis` (default all). */
  sum(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "sum", options);
  }
  /** Product over `axis` (default all). */
  prod(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "prod", options);
  }
  /** Mean over `axis` (default all). */
  mean(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "mean", options);
  }
  /** Minimum over `axis` (default all); NaN if any element is NaN. */
  min(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "min", options);
  }
  /** Maximum over `axis` (default all); NaN if any element is NaN. */
  max(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "max", options);
  }
  /** Variance over `axis` (default all), divisor `n - ddof`. */
  var(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "var", options);
  }
  /** Standard deviation over `axis` (default all), divisor `n - ddof`. */
  std(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "std", options);
  }
  /** Position of the first minimum, along one axis or (default) row-major in the whole array. */
  argmin(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "argmin", options);
  }
  /** Position of the first maximum, along one axis or (default) row-major in the whole array. */
  argmax(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "argmax", options);
  }
  /** Whether any element is nonzero, over `axis` (default all). */
  any(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "any", options);
  }
  /** Whether every element is nonzero, over `axis` (default all). */
  all(options?: ReductionOptions): ChunkedArray {
    return reduce(this, "all", options);
  }

  // Linear algebra.

  /** The matrix product `this @ other` (2-d). */
  matmul(other: ChunkedArray): ChunkedArray {
    return matmul(this, other);
  }
  /** The same as {@link matmul}. */
  dot(other: ChunkedArray): ChunkedArray {
    return matmul(this, other);
  }

  // Computing.

  /** Computes this array on the default client (see `configure`). */
  async compute(): Promise<DenseArray> {
    const { compute } = await import("../default-client.js");
    const [value] = await compute(this);
    return value as DenseArray;
  }

  /** Computes this array on the default client and keeps its blocks there (see `Client.persist`). */
  async persist(): Promise<ChunkedArray> {
    const { persist } = await import("../default-client.js");
    const [held] = await persist(this);
    return held as ChunkedArray;
  }

  toString(): string {
    return `ChunkedArray<${this.dtype}>(shape=[${this.shape.join(", ")}], chunks=[${this.chunks.map((c) => `[${c.join(", ")}]`).join(", ")}])`;
  }
}

/** Block indices of an array in row-major order, with their keys. */
export function eachBlock(array: ChunkedArray): { index: number[]; key: Key }[] {
  const keys = array.layer.keys;
  return blockIndices(gridShape(array.chunks)).map((index, i) => ({ index, key: keys[i] }));
}
