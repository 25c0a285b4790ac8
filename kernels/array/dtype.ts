/**
 * The element types of weft arrays and NumPy-like type promotion between them.
 *
 * Five dtypes, ordered by "kind": `bool` < `uint8` < `int32` < `float32` < `float64`. Booleans are
 * stored as bytes (0 or 1) in a `Uint8Array`; the dtype travels with every block, so a bool block and
 * a uint8 block are never confused. There is no 64-bit integer: where NumPy would widen an integer
 * sum to int64, weft accumulates in float64 (exact up to 2^53).
 */

/** The element type of an array. */
export type DType = "float64" | "float32" | "int32" | "uint8" | "bool";

/** Every dtype, narrowest kind first. */
export const DTYPES: readonly DType[] = ["bool", "uint8", "int32", "float32", "float64"];

/** The typed array holding elements of each dtype. */
export type TypedArray = Float64Array | Float32Array | Int32Array | Uint8Array;

/** A constructor of one of the {@link TypedArray} classes. */
export type TypedArrayConstructor = Float64ArrayConstructor | Float32ArrayConstructor | Int32ArrayConstructor | Uint8ArrayConstructor;

const STORAGE: Readonly<Record<DType, TypedArrayConstructor>> = {
  float64: Float64Array,
  float32: Float32Array,
  int32: Int32Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

/** The typed-array class storing `dtype`; a TypeError for a name that is not a dtype (graphs may come from anywhere). */
export function storageOf(dtype: DType): TypedArrayConstructor {
  if (!Object.hasOwn(STORAGE, dtype)) throw new TypeError(`unknown dtype ${JSON.stringify(dtype)}`);
  return STORAGE[dtype];
}

/** True for a dtype name weft knows. */
export function isDType(value: unknown): value is DType {
  return typeof value === "string" && (DTYPES as readonly string[]).includes(value);
}

/** Checks a user-given dtype, naming the argument when it is not one of the five. */
export function checkDType(value: unknown, argument = "dtype"): DType {
  if (!isDType(value)) throw new TypeError(`${argument} must be one of ${DTYPES.join(", ")}; got ${JSON.stringify(value)}`);
  return value;
}

/** The dtype stored by a typed array (a `Uint8Array` counts as uint8; say "bool" explicitly). */
export function dtypeOfTypedArray(data: ArrayBufferView): DType {
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return "uint8";
  throw new TypeError(`arrays are made of Float64Array, Float32Array, Int32Array or Uint8Array data; got ${data.constructor.name}`);
}

/** float64 or float32. */
export function isFloat(dtype: DType): boolean {
  return dtype === "float64" || dtype === "float32";
}

/** int32 or uint8 (bool is not counted as an integer). */
export function isInteger(dtype: DType): boolean {
  return dtype === "int32" || dtype === "uint8";
}

/**
 * The dtype of an operation between arrays of dtypes `a` and `b`, as NumPy's `result_type`, within
 * weft's five types: the wider kind wins, except int32 with float32 gives float64 (float32 cannot
 * hold every int32 exactly) — uint8 with float32 stays float32.
 *
 * @example
 * ```ts
 * promote("int32", "float32"); // "float64"
 * promote("uint8", "int32"); // "int32"
 * promote("bool", "uint8"); // "uint8"
 * ```
 */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === "int32" && b === "float32") || (a === "float32" && b === "int32")) return "float64";
  return DTYPES.indexOf(a) > DTYPES.indexOf(b) ? a : b;
}

/**
 * The dtype of an operation between an array of `dtype` and a plain JavaScript number, following
 * NumPy 2's rule for Python scalars (NEP 50): the scalar is "weak" and takes the array's dtype when
 * it fits its kind. An integral number keeps an integer or float array's dtype and turns a bool
 * array into int32; a fractional number (or NaN/Infinity) turns an integer or bool array into
 * float64. A JavaScript boolean is a bool scalar.
 */
export function promoteScalar(dtype: DType, scalar: number | boolean): DType {
  if (typeof scalar === "boolean") return dtype;
  if (isFloat(dtype)) return dtype;
  if (Number.isInteger(scalar)) return dtype === "bool" ? "int32" : dtype;
  return "float64";
}

/** The dtype true division and floating functions (sqrt, exp, ...) give for inputs of `dtype`. */
export function floatOf(dtype: DType): DType {
  // NumPy gives float16 for bool and uint8; weft has no float16 and uses the next float up.
  if (dtype === "float64" || dtype === "int32") return "float64";
  return "float32";
}

/** The dtype of a plain number or boolean standing alone (a 0-d array made from it). */
export function dtypeOfScalar(value: number | boolean): DType {
  if (typeof value === "boolean") return "bool";
  return "float64";
}

/** The dtype sums and products accumulate in: float64 for integers and bools, else the input's. */
export function sumDType(dtype: DType): DType {
  return isFloat(dtype) ? dtype : "float64";
}
