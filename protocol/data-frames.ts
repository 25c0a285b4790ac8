import { decodeValue, encodeValue } from "../graph/codec.js";
import { VIEW_CLASSES, type ViewConstructor } from "../graph/view-classes.js";

/**
 * How results travel between workers: a sequence of frames, one per requested key, each a 6-byte
 * header (kind, view class, byte length as little-endian u32) followed by the bytes.
 *
 * A typed array travels as its raw bytes (`kind` RAW), written to the socket straight from its
 * buffer: no encoding, no copy on the sending side. Anything else travels msgpack-encoded by the wire
 * codec. A key the worker does not hold gets a MISSING frame, so the asker can report it to the
 * scheduler instead of waiting.
 */
export const FRAME_HEADER_BYTES = 6;

const enum FrameKind {
  Encoded = 0,
  Raw = 1,
  Missing = 2,
}

/** The frames for one value: a header, and the body (a view on the value's own memory when raw). */
export function encodeFrame(value: unknown, found: boolean): [Uint8Array, Uint8Array] {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  const view = new DataView(header.buffer);
  if (!found) {
    header[0] = FrameKind.Missing;
    return [header, new Uint8Array(0)];
  }
  const viewClass = ArrayBuffer.isView(value) ? VIEW_CLASSES.indexOf(value.constructor as ViewConstructor) : -1;
  if (viewClass >= 0 && !(value instanceof DataView)) {
    const array = value as ArrayBufferView;
    header[0] = FrameKind.Raw;
    header[1] = viewClass;
    view.setUint32(2, array.byteLength, true);
    return [header, new Uint8Array(array.buffer, array.byteOffset, array.byteLength)];
  }
  const body = encodeValue(value);
  header[0] = FrameKind.Encoded;
  view.setUint32(2, body.byteLength, true);
  return [header, body];
}

/** A decoded frame: the value, or `found: false` for a key the peer does not hold. */
export type DecodedFrame = { readonly found: true; readonly value: unknown } | { readonly found: false };

/**
 * Reads `count` frames from `bytes` (one response body). Raw typed arrays come back as views on
 * `bytes` when their offset is aligned for their element size, and as copies otherwise.
 */
export function decodeFrames(bytes: Uint8Array, count: number): DecodedFrame[] {
  const frames: DecodedFrame[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + FRAME_HEADER_BYTES > bytes.byteLength) throw new Error(`data response ends inside frame ${i} of ${count}`);
    const kind = bytes[offset];
    const viewClass = bytes[offset + 1];
    const length = view.getUint32(offset + 2, true);
    offset += FRAME_HEADER_BYTES;
    if (offset + length > bytes.byteLength) throw new Error(`data response ends inside the body of frame ${i} of ${count}`);
    const body = bytes.subarray(offset, offset + length);
    offset += length;
    if (kind === FrameKind.Missing) {
      frames.push({ found: false });
    } else if (kind === FrameKind.Raw) {
      frames.push({ found: true, value: rawView(viewClass, body) });
    } else if (kind === FrameKind.Encoded) {
      frames.push({ found: true, value: decodeValue(body) });
    } else {
      throw new Error(`data response has a frame of unknown kind ${kind}`);
    }
  }
  return frames;
}

function rawView(viewClass: number, body: Uint8Array): ArrayBufferView {
  const View = VIEW_CLASSES[viewClass] as ViewConstructor & { BYTES_PER_ELEMENT?: number };
  if (View === undefined) throw new Error(`data response names unknown array class ${viewClass}`);
  const size = View.BYTES_PER_ELEMENT ?? 1;
  if (body.byteLength % size !== 0) throw new Error(`data response holds ${body.byteLength} bytes, not whole ${View.name} elements`);
  // A copy realigns the bytes (Buffer#slice would only make another view).
  const aligned = body.byteOffset % size === 0 ? body : new Uint8Array(body);
  return new View(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
}
