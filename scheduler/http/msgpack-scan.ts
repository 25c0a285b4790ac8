import { isUtf8 } from "node:buffer";

/** What is wrong with a MessagePack body, found by {@link scanMsgpack}: too deep, or a string that is not UTF-8. */
export type MsgpackScanProblem =
  | { readonly kind: "too-deep"; readonly offset: number }
  | { readonly kind: "not-utf8"; readonly offset: number; readonly text: string };

/** Fixed sizes of the MessagePack formats 0xc0–0xdf after their first byte, for those without a length field; -1 for the rest. */
const FIXED_SIZE: Readonly<Record<number, number>> = {
  0xc0: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
  0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8, 0xd4: 2, 0xd5: 3, 0xd6: 5, 0xd7: 9, 0xd8: 17,
};

/**
 * Reads the structure of the first MessagePack value in `bytes` without decoding it, iteratively:
 * reports the first array or map nested more than `maxDepth` deep (the decoder and every walk after
 * it recurse, so a deep enough body would overflow the stack), or the first string whose bytes are
 * not UTF-8 (MessagePack strings must be; a decoder would replace such bytes or read them into a lone
 * surrogate, so a key would silently become another). Returns undefined when neither is found.
 * Anything malformed or truncated is left for the decoder to report. Linear in the number of
 * values, plus the bytes of strings; element counts in headers allocate nothing.
 *
 * @example
 * ```ts
 * scanMsgpack(new Uint8Array([0x91, 0x91, 0x01]), 1); // { kind: "too-deep", offset: 1 }
 * ```
 */
export function scanMsgpack(bytes: Uint8Array, maxDepth: number): MsgpackScanProblem | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Items still to read in each open array or map (a map's entries count twice: key and value).
  const open: number[] = [];
  let at = 0;
  while (at < bytes.length) {
    const start = at;
    const type = bytes[at++];
    let items = -1; // -1: not a container
    let skip = 0;
    let text = false;
    if (type <= 0x7f || type >= 0xe0) {
      // positive or negative fixint
    } else if (type <= 0x8f) items = (type & 0x0f) * 2;
    else if (type <= 0x9f) items = type & 0x0f;
    else if (type <= 0xbf) [skip, text] = [type & 0x1f, true];
    else if (FIXED_SIZE[type] !== undefined) skip = FIXED_SIZE[type];
    else {
      if (at + lengthBytes(type) > bytes.length) return undefined;
      switch (type) {
        case 0xc4: skip = view.getUint8(at); at += 1; break;
        case 0xc5: skip = view.getUint16(at); at += 2; break;
        case 0xc6: skip = view.getUint32(at); at += 4; break;
        case 0xc7: skip = view.getUint8(at) + 1; at += 1; break;
        case 0xc8: skip = view.getUint16(at) + 1; at += 2; break;
        case 0xc9: skip = view.getUint32(at) + 1; at += 4; break;
        case 0xd9: [skip, text] = [view.getUint8(at), true]; at += 1; break;
        case 0xda: [skip, text] = [view.getUint16(at), true]; at += 2; break;
        case 0xdb: [skip, text] = [view.getUint32(at), true]; at += 4; break;
        case 0xdc: items = view.getUint16(at); at += 2; break;
        case 0xdd: items = view.getUint32(at); at += 4; break;
        case 0xde: items = view.getUint16(at) * 2; at += 2; break;
        case 0xdf: items = view.getUint32(at) * 2; at += 4; break;
        default: return undefined; // 0xc1, never used: the decoder says so
      }
    }
    if (at + skip > bytes.length) return undefined;
    if (text && skip > 0) {
      const payload = bytes.subarray(at, at + skip);
      if (!isUtf8(payload)) return { kind: "not-utf8", offset: start, text: Buffer.from(payload).toString("utf8").slice(0, 100) };
    }
    at += skip;
    if (items >= 0 && open.length + 1 > maxDepth) return { kind: "too-deep", offset: start };
    if (items > 0) {
      open.push(items);
      continue;
    }
    // A value ended: it completes one item of the container holding it, which may end that one too.
    while (open.length > 0 && --open[open.length - 1] === 0) open.pop();
    if (open.length === 0) return undefined;
  }
  return undefined;
}

/** Bytes of the length field of the variable-size formats. */
function lengthBytes(type: number): number {
  switch (type) {
    case 0xc4: case 0xc7: case 0xd9: return 1;
    case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: return 2;
    default: return 4;
  }
}
