/** Basic indexing: slices with start, stop and step (negative too), and integer indices that drop their axis. */
import type { ChunkedArray } from "./chunked-array.js";
import { type AxisSelection, naturalChunks, select } from "./selection.js";

/** A slice along one axis, as Python's `start:stop:step`; omitted parts take Python's defaults. */
export interface Slice {
  readonly start?: number;
  readonly stop?: number;
  readonly step?: number;
}

/** One index per axis: a whole number (the axis is dropped), a {@link Slice}, or `null` for the whole axis. */
export type Index = number | Slice | null;

/**
 * A slice, for indexing: `x.get(slice(1, -1), slice(null, null, -2), 3)` is NumPy's
 * `x[1:-1, ::-2, 3]`.
 */
export function slice(start?: number | null, stop?: number | null, step?: number | null): Slice {
  return { start: start ?? undefined, stop: stop ?? undefined, step: step ?? undefined };
}

/** start, step and count of a slice along an axis of `length` (Python's `slice.indices`). */
export function resolveSlice(s: Slice, length: number, axis: number): { start: number; step: number; count: number } {
  const step = s.step ?? 1;
  if (!Number.isInteger(step) || step === 0) throw new RangeError(`slice step on axis ${axis} must be a nonzero whole number; got ${step}`);
  for (const [what, v] of [["start", s.start], ["stop", s.stop]] as const) {
    if (v !== undefined && !Number.isInteger(v)) throw new RangeError(`slice ${what} on axis ${axis} must be a whole number; got ${v}`);
  }
  const clamp = (v: number, low: number, high: number) => Math.min(Math.max(v, low), high);
  let start: number;
  let stop: number;
  if (step > 0) {
    start = s.start === undefined ? 0 : clamp(s.start < 0 ? s.start + length : s.start, 0, length);
    stop = s.stop === undefined ? length : clamp(s.stop < 0 ? s.stop + length : s.stop, 0, length);
  } else {
    start = s.start === undefined ? length - 1 : clamp(s.start < 0 ? s.start + length : s.start, -1, length - 1);
    stop = s.stop === undefined ? -1 : clamp(s.stop < 0 ? s.stop + length : s.stop, -1, length - 1);
  }
  const count = Math.max(0, Math.ceil((stop - start) / step));
  return { start: count === 0 ? 0 : start, step, count };
}

/**
 * `array` indexed with one {@link Index} per leading axis (axes left out are taken whole).
 *
 * @example
 * ```ts
 * getItem(x, [slice(0, 100), 5]); // x[0:100, 5]
 * ```
 */
export function getItem(array: ChunkedArray, indices: readonly Index[]): ChunkedArray {
  if (indices.length > array.ndim) throw new RangeError(`too many indices: ${indices.length} for an array of ${array.ndim} axes`);
  let whole = true;
  const selections: AxisSelection[] = array.shape.map((length, axis) => {
    const index = axis < indices.length ? indices[axis] : null;
    if (typeof index === "number") {
      if (!Number.isInteger(index) || index < -length || index >= length) {
        throw new RangeError(`index ${index} is out of bounds for axis ${axis} of length ${length}`);
      }
      whole = false;
      return { start: index < 0 ? index + length : index, step: 1, count: 1, chunks: [1], drop: true };
    }
    if (index !== null && (typeof index !== "object" || Array.isArray(index))) {
      throw new TypeError(`index on axis ${axis} must be a whole number, a slice or null; got ${Array.isArray(index) ? "an array" : typeof index}`);
    }
    const { start, step, count } = index === null ? { start: 0, step: 1, count: length } : resolveSlice(index, length, axis);
    if (!(start === 0 && step === 1 && count === length)) whole = false;
    return { start, step, count, chunks: naturalChunks(array.chunks[axis], start, step, count), drop: false };
  });
  if (whole) return array;
  return select(array, selections, "getitem");
}
