/**
 * Task functions that move elements between blocks without computing on them: assembling a block
 * from boxes of other blocks (slicing, rechunking, concatenation), giving a block a new shape, and
 * assembling computed blocks into the dense result.
 */
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, allocate, checkBlock, copyBox, BORROWS_INPUTS } from "./block.js";
import { blockIndices, type Chunks, gridShape, offsetsOf, sizeOf } from "./chunks.js";
import { type DType, storageOf } from "./dtype.js";

const here = import.meta.url;

/** A box of an input block copied into an output block. */
export interface Piece {
  /** The input block (a `Ref` in the graph). */
  readonly block: unknown;
  /** Per input axis: first element, step (may be negative) and how many. */
  readonly start: readonly number[];
  readonly step: readonly number[];
  readonly count: readonly number[];
  /** Per input axis: where the box lands in the output block seen with the input's axes. */
  readonly at: readonly number[];
}

/**
 * `weft.array.assemble(dtype, shape, boxShape, pieces)`: a block of `shape` made of boxes of input
 * blocks. `boxShape` is `shape` seen with the inputs' axes: integer indexing drops input axes, which
 * appear there with length 1.
 */
export const ASSEMBLE = "weft.array.assemble";

/** `weft.array.reshape(block, shape)`: the same elements, row-major, under a new shape. */
export const RESHAPE_BLOCK = "weft.array.reshape";

/** Implements {@link ASSEMBLE}. */
export function assemble(dtype: DType, shape: readonly number[], boxShape: readonly number[], pieces: readonly Piece[]): Block {
  const out = allocate(dtype, sizeOf(shape));
  for (const piece of pieces) {
    const block = checkBlock(piece.block, "an assembled piece");
    copyBox(block.data, block.shape, piece.start, piece.step, piece.count, out, boxShape, piece.at);
  }
  return { data: out, shape: [...shape], dtype };
}

/** Implements {@link RESHAPE_BLOCK}. */
export function reshapeBlock(value: unknown, shape: readonly number[]): Block {
  const block = checkBlock(value, "a reshaped block");
  if (sizeOf(shape) !== block.data.length) throw new RangeError(`cannot reshape a block of [${block.shape.join(", ")}] into [${shape.join(", ")}]`);
  return { data: block.data, shape: [...shape], dtype: block.dtype };
}

registerTask(ASSEMBLE, assemble, here, BORROWS_INPUTS);
registerTask(RESHAPE_BLOCK, reshapeBlock, here, BORROWS_INPUTS);

/** The dense array of `shape` made of computed blocks (row-major order of block index). */
export function assembleDense(shape: readonly number[], chunks: Chunks, dtype: DType, blocks: readonly Block[]): Block {
  const Storage = storageOf(dtype);
  const data = new Storage(sizeOf(shape));
  const offsets = chunks.map(offsetsOf);
  const indices = blockIndices(gridShape(chunks));
  if (blocks.length === 1 && indices.length === 1) {
    const only = checkBlock(blocks[0], "a computed block");
    data.set(only.data);
    return { data, shape: [...shape], dtype };
  }
  indices.forEach((index, i) => {
    const block = checkBlock(blocks[i], "a computed block");
    const start = block.shape.map(() => 0);
    const step = block.shape.map(() => 1);
    copyBox(block.data, block.shape, start, step, block.shape, data, shape, index.map((b, axis) => offsets[axis][b]));
  });
  return { data, shape: [...shape], dtype };
}
