/** Task functions that make blocks from nothing but their arguments: constants, ranges, delayed values. */
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, allocate, checkBlock, BORROWS_INPUTS } from "./block.js";
import { sizeOf } from "./chunks.js";
import { type DType, dtypeOfTypedArray, storageOf } from "./dtype.js";
import { castNumber } from "./elementwise-ops.js";

const here = import.meta.url;

/** `weft.array.full(dtype, shape, value)`: a block filled with one value. */
export const FULL = "weft.array.full";
/** `weft.array.range(dtype, shape, start, step, offset, last)`: `start + (offset + i) * step`, a ramp along one axis. */
export const RANGE = "weft.array.range";
/** `weft.array.fromValue(value, shape, dtype)`: a block from a computed value (a block, a typed array or nested numbers). */
export const FROM_VALUE = "weft.array.fromValue";

registerTask(
  FULL,
  (dtype: DType, shape: readonly number[], value: number): Block => {
    const data = allocate(dtype, sizeOf(shape));
    const cast = castNumber(value, dtype);
    if (cast !== 0) data.fill(cast);
    return { data, shape: [...shape], dtype };
  },
  here,
  BORROWS_INPUTS,
);

registerTask(
  RANGE,
  (dtype: DType, shape: readonly number[], start: number, step: number, offset: number, last: { readonly index: number; readonly value: number } | null): Block => {
    const n = sizeOf(shape);
    const data = allocate(dtype, n);
    for (let i = 0; i < n; i++) data[i] = castNumber(start + (offset + i) * step, dtype);
    // linspace ends exactly on its stop value, as NumPy's does.
    if (last !== null && last.index >= offset && last.index < offset + n) data[last.index - offset] = castNumber(last.value, dtype);
    return { data, shape: [...shape], dtype };
  },
  here,
  BORROWS_INPUTS,
);

registerTask(
  FROM_VALUE,
  (value: unknown, shape: readonly number[], dtype: DType): Block => {
    const block = toBlock(value, dtype);
    if (block.shape.length !== shape.length || block.shape.some((length, axis) => length !== shape[axis])) {
      throw new RangeError(`a delayed value promised shape [${shape.join(", ")}] but computed [${block.shape.join(", ")}]`);
    }
    return block;
  },
  here,
  BORROWS_INPUTS,
);

/** A block from a block, a typed array (1-d) or nested arrays of numbers/booleans, converted to `dtype`. */
export function toBlock(value: unknown, dtype: DType): Block {
  if (ArrayBuffer.isView(value)) {
    const data = value as unknown as ArrayLike<number>;
    return convert({ data: value as Block["data"], shape: [data.length], dtype: dtypeOfTypedArray(value) }, dtype);
  }
  if (Array.isArray(value) || typeof value === "number" || typeof value === "boolean") {
    const { shape, flat } = flatten(value);
    const data = new (storageOf(dtype))(flat.length);
    for (let i = 0; i < flat.length; i++) data[i] = castNumber(flat[i], dtype);
    return { data, shape, dtype };
  }
  return convert(checkBlock(value, "a delayed array value"), dtype);
}

function convert(block: Block, dtype: DType): Block {
  if (block.dtype === dtype) return block;
  const data = new (storageOf(dtype))(block.data.length);
  for (let i = 0; i < data.length; i++) data[i] = castNumber(block.data[i], dtype);
  return { data, shape: block.shape, dtype };
}

/** The shape and row-major elements of nested arrays; ragged nesting is a RangeError. */
export function flatten(value: unknown): { shape: number[]; flat: number[] } {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const flat: number[] = [];
  const walk = (item: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (typeof item === "number") flat.push(item);
      else if (typeof item === "boolean") flat.push(item ? 1 : 0);
      else throw new TypeError(`nested array element ${path || "value"} must be a number or boolean; got ${Array.isArray(item) ? "an array" : typeof item}`);
      return;
    }
    if (!Array.isArray(item) || item.length !== shape[depth]) {
      throw new RangeError(`nested arrays are ragged at ${path || "the top"}: expected ${shape[depth]} elements along axis ${depth}`);
    }
    item.forEach((inner, i) => walk(inner, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, "");
  return { shape, flat };
}
