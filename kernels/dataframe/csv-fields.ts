// Field decoders of the CSV reader that work on the file's bytes, so a field becomes a number or a
// dictionary code without first becoming a string.

const POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The number a decimal field such as `-12.5`, `0.07` or `3e-4` spells, computed from its bytes, or
 * undefined when it is not such a field (surrounding spaces, `NaN`, `Infinity`, hex, more than 15
 * significant digits, an exponent past ±22): the caller then parses its text with `Number`. Where
 * it answers, it answers exactly as `Number` would: a mantissa below 2^53 times or divided by an exact
 * power of ten rounds once, correctly (Clinger's fast path).
 *
 * @example
 * ```ts
 * parseDecimal(new TextEncoder().encode("0.29"), 0, 4); // 0.29
 * ```
 */
export function parseDecimal(bytes: Uint8Array, start: number, end: number): number | undefined {
  let i = start;
  let negative = false;
  if (bytes[i] === 45 /* - */ || bytes[i] === 43 /* + */) negative = bytes[i++] === 45;
  let mantissa = 0;
  let digits = 0;
  let significant = 0;
  let scale = 0;
  for (; i < end; i++) {
    const digit = bytes[i] - 48;
    if (digit < 0 || digit > 9) break;
    digits++;
    if (significant > 0 || digit !== 0) significant++;
    mantissa = mantissa * 10 + digit;
  }
  if (i < end && bytes[i] === 46 /* . */) {
    for (i++; i < end; i++) {
      const digit = bytes[i] - 48;
      if (digit < 0 || digit > 9) break;
      digits++;
      if (significant > 0 || digit !== 0) significant++;
      mantissa = mantissa * 10 + digit;
      scale--;
    }
  }
  if (digits === 0 || significant > 15) return undefined;
  if (i < end && (bytes[i] === 101 /* e */ || bytes[i] === 69 /* E */)) {
    i++;
    let exponentNegative = false;
    if (bytes[i] === 45 || bytes[i] === 43) exponentNegative = bytes[i++] === 45;
    let exponent = 0;
    const from = i;
    for (; i < end && exponent < 1000; i++) {
      const digit = bytes[i] - 48;
      if (digit < 0 || digit > 9) break;
      exponent = exponent * 10 + digit;
    }
    if (i === from) return undefined;
    scale += exponentNegative ? -exponent : exponent;
  }
  if (i !== end || scale < -22 || scale > 22) return undefined;
  const value = scale < 0 ? mantissa / POW10[-scale] : mantissa * POW10[scale];
  return negative ? -value : value;
}

const utf8 = new TextDecoder();

/**
 * The dictionary of a string column being read: each distinct text once, with its code. Fields are
 * looked up by their bytes (FNV-1a over the bytes, open addressing), so a field seen before costs a
 * hash and a byte comparison, and only a new one is decoded. One text never gets two codes: fields
 * are keyed by the UTF-8 bytes of their text (a quoted field's `""` undone first), and a new key whose
 * text is already known (invalid UTF-8 decodes to U+FFFD) joins that text's code.
 *
 * @example
 * ```ts
 * const dictionary = new ByteDictionary();
 * dictionary.code(bytes, start, end, false); // 0 for the first text, then 1, 2, … for new ones
 * ```
 */
export class ByteDictionary {
  /** Each code's text, in code order. */
  readonly entries: string[] = [];
  /** Per slot, 1 + the index of the key held there; 0 for an empty slot. */
  private slots = new Int32Array(64);
  /** Per key: where its bytes start in `store`, how many there are, its hash and its code. */
  private keyStart = new Int32Array(32);
  private keyLength = new Int32Array(32);
  private keyHash = new Int32Array(32);
  private keyCode = new Int32Array(32);
  private keys = 0;
  private store = new Uint8Array(1024);
  private stored = 0;
  private readonly codeOfText = new Map<string, number>();
  private scratch = new Uint8Array(64);

  /** The code of the field `bytes[start, end)`; `quoted` when it was quoted, so `""` stands for `"`. */
  code(bytes: Uint8Array, start: number, end: number, quoted: boolean): number {
    if (quoted && bytes.subarray(start, end).includes(34)) {
      const unescaped = this.unescape(bytes, start, end);
      return this.lookup(unescaped, 0, unescaped.length);
    }
    return this.lookup(bytes, start, end);
  }

  private lookup(bytes: Uint8Array, start: number, end: number): number {
    let hash = 0x811c9dc5;
    for (let i = start; i < end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
    const mask = this.slots.length - 1;
    const length = end - start;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot];
      if (held === 0) return this.insert(bytes, start, end, hash, slot);
      const key = held - 1;
      if (this.keyHash[key] === hash && this.keyLength[key] === length && this.sameBytes(key, bytes, start)) return this.keyCode[key];
    }
  }

  private sameBytes(key: number, bytes: Uint8Array, start: number): boolean {
    const store = this.store;
    const from = this.keyStart[key];
    const length = this.keyLength[key];
    for (let i = 0; i < length; i++) if (store[from + i] !== bytes[start + i]) return false;
    return true;
  }

  private insert(bytes: Uint8Array, start: number, end: number, hash: number, slot: number): number {
    const text = shortAscii(bytes, start, end) ?? utf8.decode(bytes.subarray(start, end));
    let code = this.codeOfText.get(text);
    if (code === undefined) {
      code = this.entries.push(text) - 1;
      this.codeOfText.set(text, code);
    }
    const key = this.keys++;
    if (key === this.keyStart.length) this.growKeys();
    const length = end - start;
    while (this.stored + length > this.store.length) this.store = grown(this.store, this.store.length * 2);
    this.store.set(bytes.subarray(start, end), this.stored);
    this.keyStart[key] = this.stored;
    this.keyLength[key] = length;
    this.keyHash[key] = hash;
    this.keyCode[key] = code;
    this.stored += length;
    this.slots[slot] = key + 1;
    // At most half full, so probe runs stay short.
    if (this.keys * 2 > this.slots.length) this.rehash();
    return code;
  }

  private growKeys(): void {
    const size = this.keyStart.length * 2;
    this.keyStart = grown(this.keyStart, size);
    this.keyLength = grown(this.keyLength, size);
    this.keyHash = grown(this.keyHash, size);
    this.keyCode = grown(this.keyCode, size);
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let key = 0; key < this.keys; key++) {
      let slot = this.keyHash[key] & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = key + 1;
    }
    this.slots = slots;
  }

  /** A quoted field's bytes with each `""` made one `"`. */
  private unescape(bytes: Uint8Array, start: number, end: number): Uint8Array {
    if (this.scratch.length < end - start) this.scratch = new Uint8Array(2 * (end - start));
    let length = 0;
    for (let i = start; i < end; i++) {
      this.scratch[length++] = bytes[i];
      if (bytes[i] === 34 && bytes[i + 1] === 34 && i + 1 < end) i++;
    }
    return this.scratch.subarray(0, length);
  }
}

function grown<T extends Int32Array | Uint8Array>(array: T, size: number): T {
  const bigger = new (array.constructor as new (n: number) => T)(size);
  bigger.set(array);
  return bigger;
}

/**
 * The text of a short ASCII field, built byte by byte: for the many short, distinct fields of an
 * identifier column this is several times cheaper than a TextDecoder call each. `undefined` for a
 * longer field or one with a non-ASCII byte.
 */
function shortAscii(bytes: Uint8Array, start: number, end: number): string | undefined {
  if (end - start > 32) return undefined;
  let text = "";
  for (let i = start; i < end; i++) {
    const byte = bytes[i];
    if (byte >= 0x80) return undefined;
    text += String.fromCharCode(byte);
  }
  return text;
}
