/** A constructor of an `ArrayBufferView` over part of a buffer: a typed-array class or `DataView`. */
export type ViewConstructor = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

/**
 * Every built-in view class, in a fixed order: the wire codec uses the position as the class code
 * (so only ever append), and tokenize uses the list to tell built-in views from other classes.
 */
export const VIEW_CLASSES: readonly ViewConstructor[] = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  DataView,
];
