/**
 * Elementwise operations with NumPy broadcasting, and blockwise fusion: operations build a
 * {@link Term} (no tasks); {@link materializeTerm} turns a whole expression into one task per output
 * block running a fused kernel.
 */
import { taskSpec, Ref, type Graph } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { type BlockLayer, ChunkedArray, blockKey, type GraphSource } from "./chunked-array.js";
import { blockIndices, type Chunks, gridShape, refineChunks, blockShape, linearIndex } from "../../kernels/array/chunks.js";
import type { ElementwiseProgram, ExprNode, ProgramInput } from "../../kernels/array/compile-kernel.js";
import { type DType, isInteger, promote, promoteScalar } from "../../kernels/array/dtype.js";
import { castNumber, elementwiseOp } from "../../kernels/array/elementwise-ops.js";
import { ELEMENTWISE } from "../../kernels/array/elementwise-kernels.js";
import { rechunk } from "./rechunk.js";
import { isIdentityLeaf, type LeafTerm, leafOf, mapLeaves, padAxes, type Term } from "./term.js";

/** What elementwise operations take: arrays, numbers and booleans (scalars broadcast everywhere). */
export type Operand = ChunkedArray | number | boolean;

/** The broadcast shape of several shapes, or a RangeError naming them. */
export function broadcastShapes(shapes: readonly (readonly number[])[]): number[] {
  const ndim = Math.max(0, ...shapes.map((s) => s.length));
  const out = new Array<number>(ndim).fill(1);
  for (const shape of shapes) {
    const offset = ndim - shape.length;
    shape.forEach((length, axis) => {
      const d = axis + offset;
      if (length === out[d] || length === 1) return;
      if (out[d] === 1) out[d] = length;
      else throw new RangeError(`shapes ${shapes.map((s) => `[${s.join(", ")}]`).join(" and ")} do not broadcast (axis ${d}: ${out[d]} vs ${length})`);
    });
  }
  return out;
}

/**
 * Applies elementwise operation `op` to `operands`, broadcasting them (NumPy rules) and promoting
 * dtypes (NumPy rules, plain numbers being "weak" scalars). Operands chunked differently are
 * rechunked to the common refinement of their chunks. Builds no task.
 *
 * @example
 * ```ts
 * elementwise("add", [x, 1]); // x + 1
 * elementwise("where", [x.gt(0), x, 0]);
 * ```
 */
export function elementwise(op: string, operands: readonly Operand[]): ChunkedArray {
  const definition = elementwiseOp(op);
  if (operands.length !== definition.arity) throw new TypeError(`${op} takes ${definition.arity} operands, got ${operands.length}`);
  const arrays = operands.filter((o): o is ChunkedArray => o instanceof ChunkedArray);
  if (arrays.length === 0) throw new TypeError(`${op} needs at least one array operand; got only scalars`);
  operands.forEach((operand, i) => {
    if (!(operand instanceof ChunkedArray) && typeof operand !== "number" && typeof operand !== "boolean") {
      throw new TypeError(`operand ${i} of ${op} must be an array, a number or a boolean; got ${typeof operand}`);
    }
  });
  // Scalars take the dtype of the arrays they meet (a where's condition does not count).
  const valueArrays = operands.filter((o, i): o is ChunkedArray => o instanceof ChunkedArray && !(op === "where" && i === 0));
  const base: DType | undefined = valueArrays.length === 0 ? undefined : valueArrays.map((a) => a.dtype).reduce(promote);
  const dtypes = operands.map((operand) => (operand instanceof ChunkedArray ? operand.dtype : scalarDType(operand, base, op)));
  const problem = definition.check?.(dtypes);
  if (problem !== undefined) throw new TypeError(problem);
  const dtype = definition.resultDType(dtypes);

  const shape = broadcastShapes(arrays.map((a) => a.shape));
  const chunks = unifiedChunks(arrays, shape);
  const args = operands.map((operand, i): Term =>
    operand instanceof ChunkedArray
      ? alignTerm(padAxes(leafOf(operand), shape.length - operand.ndim), shape, chunks)
      : { kind: "constant", value: castNumber(Number(operand), dtypes[i]), dtype: dtypes[i] },
  );
  return new ChunkedArray(shape, chunks, dtype, { kind: "op", op, args, dtype });
}

/** `array` cast to `dtype` (elementwise, fused like any other operation). */
export function astype(array: ChunkedArray, dtype: DType): ChunkedArray {
  if (array.dtype === dtype) return array;
  return new ChunkedArray(array.shape, array.chunks, dtype, { kind: "op", op: "astype", args: [leafOf(array)], dtype });
}

function scalarDType(value: number | boolean, base: DType | undefined, op: string): DType {
  if (typeof value === "boolean") return base ?? "bool";
  if (base === undefined) return Number.isInteger(value) ? "int32" : "float64";
  const dtype = promoteScalar(base, value);
  if (isInteger(dtype) && castNumber(value, dtype) !== value) {
    // NumPy 2 refuses a Python integer out of the array's range instead of wrapping it.
    throw new RangeError(`${value} is out of range for ${dtype} in ${op}; cast the array first (astype)`);
  }
  return dtype;
}

/** The output chunks: per axis, the common refinement of the operands that are not broadcast along it. */
function unifiedChunks(arrays: readonly ChunkedArray[], shape: readonly number[]): number[][] {
  return shape.map((length, d) => {
    let sizes: number[] | undefined;
    for (const array of arrays) {
      const axis = d - (shape.length - array.ndim);
      if (axis < 0 || array.shape[axis] !== length) continue;
      sizes = sizes === undefined ? [...array.chunks[axis]] : refineChunks(sizes, array.chunks[axis]);
    }
    return sizes ?? [length];
  });
}

/** Rechunks the term's leaves that are not chunked like the output along the axes they map. */
function alignTerm(term: Term, shape: readonly number[], chunks: Chunks): Term {
  return mapLeaves(term, (leaf) => {
    const wanted = leaf.array.chunks.map((own, axis) => {
      const d = leaf.axes.indexOf(axis);
      if (d < 0 || leaf.array.shape[axis] !== shape[d]) return own;
      return chunks[d];
    });
    const same = wanted.every((sizes, axis) => sizes === leaf.array.chunks[axis] || sameSizes(sizes, leaf.array.chunks[axis]));
    return same ? leaf : { ...leaf, array: rechunk(leaf.array, wanted) };
  });
}

function sameSizes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/** The block of `leaf.array` that output block `index` reads. */
export function leafBlockIndex(leaf: LeafTerm, index: readonly number[], shape: readonly number[]): number[] {
  const array = leaf.array;
  return array.shape.map((length, axis) => {
    const d = leaf.axes.indexOf(axis);
    return d < 0 || length !== shape[d] ? 0 : index[d];
  });
}

/** A term compiled into a kernel program: its distinct leaves become the inputs. */
export interface CompiledTerm {
  readonly program: ElementwiseProgram;
  readonly leaves: readonly LeafTerm[];
}

/** The program computing `term`, whose distinct leaves (array and axes) are its inputs. */
export function compileTerm(term: Term, dtype: DType): CompiledTerm {
  const leaves: LeafTerm[] = [];
  const leafIndex = new Map<string, number>();
  const constants: number[] = [];
  const toNode = (t: Term): ExprNode => {
    if (t.kind === "constant") {
      constants.push(t.value);
      return { constant: constants.length - 1 };
    }
    if (t.kind === "leaf") {
      const id = `${t.array.name}|${t.axes.join(",")}`;
      let k = leafIndex.get(id);
      if (k === undefined) {
        k = leaves.push(t) - 1;
        leafIndex.set(id, k);
      }
      return { input: k };
    }
    return { op: t.op, args: t.args.map(toNode), dtype: t.dtype };
  };
  const root = toNode(term);
  const inputs: ProgramInput[] = leaves.map((leaf) => ({ dtype: leaf.array.dtype, axes: leaf.axes }));
  return { program: { root, inputs, constants, dtype }, leaves };
}

/** The blocks `term`'s leaves give to output block `index`, as references. */
export function leafRefs(leaves: readonly LeafTerm[], index: readonly number[], shape: readonly number[]): Ref[] {
  return leaves.map((leaf) => {
    const at = leafBlockIndex(leaf, index, shape);
    return new Ref(leaf.array.blockKeys()[linearIndex(at, gridShape(leaf.array.chunks))]);
  });
}

/** One task per block of `array` (an elementwise expression) running its fused kernel. */
export function materializeTerm(array: ChunkedArray): BlockLayer {
  const term = array.term!;
  if (isIdentityLeaf(term)) return term.array.layer;
  const { program, leaves } = compileTerm(term, array.dtype);
  const name = `${rootName(term)}-${tokenize(program, leaves.map((l) => l.array.name), array.chunks)}`;
  const tasks: Graph = new Map();
  const keys = blockIndices(gridShape(array.chunks)).map((index) => {
    const key = blockKey(name, index);
    tasks.set(key, taskSpec(key, ELEMENTWISE, [program, blockShape(array.chunks, index), ...leafRefs(leaves, index, array.shape)]));
    return key;
  });
  const dependencies: GraphSource[] = [...new Set(leaves.map((leaf) => leaf.array))];
  return { name, keys, tasks, dependencies };
}

function rootName(term: Term): string {
  if (term.kind === "op") return term.op;
  return term.kind === "leaf" ? "transpose" : "constant";
}

/** The array `term` describes with `array`'s shape, chunks and dtype (for operations that rewrite terms). */
export function withTerm(array: ChunkedArray, term: Term, shape = array.shape, chunks = array.chunks): ChunkedArray {
  return new ChunkedArray(shape, chunks, array.dtype, term);
}
