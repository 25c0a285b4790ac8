/**
 * Selections: output arrays whose blocks are boxes of input blocks, each output element a copy of
 * one input element. Slicing, integer indexing and rechunking are all selections; one builder makes
 * their tasks, one per output block, each copying the boxes it needs.
 */
import { Ref, taskSpec, type Graph, type Key } from "../../graph/task-spec.js";
import { tokenize } from "../../graph/tokenize.js";
import { ChunkedArray, blockKey } from "./chunked-array.js";
import { blockIndices, gridShape, linearIndex, offsetsOf } from "../../kernels/array/chunks.js";
import { ASSEMBLE, type Piece } from "../../kernels/array/assemble-kernels.js";

/** What a selection takes along one input axis: `count` elements from `start`, `step` apart. */
export interface AxisSelection {
  readonly start: number;
  readonly step: number;
  readonly count: number;
  /** Output block sizes along the axis (they add up to `count`); ignored when `drop`. */
  readonly chunks: readonly number[];
  /** Integer indexing: the axis (count 1) does not appear in the output. */
  readonly drop: boolean;
}

/** A run of one output block along one axis: `count` elements of input block `block`. */
interface Run {
  readonly block: number;
  readonly start: number;
  readonly count: number;
  readonly at: number;
}

/** Per output block along the axis, the runs of input blocks it copies. */
function axisRuns(inChunks: readonly number[], selection: AxisSelection): Run[][] {
  const offsets = offsetsOf(inChunks);
  const { start, step } = selection;
  const outChunks = selection.drop ? [1] : selection.chunks;
  let k = 0;
  return outChunks.map((size) => {
    const runs: Run[] = [];
    let at = 0;
    while (at < size) {
      const index = start + k * step;
      let block = 0;
      while (offsets[block + 1] <= index) block++;
      const fit = step > 0 ? Math.floor((offsets[block + 1] - 1 - index) / step) + 1 : Math.floor((index - offsets[block]) / -step) + 1;
      const count = Math.min(fit, size - at);
      runs.push({ block, start: index - offsets[block], count, at });
      at += count;
      k += count;
    }
    return runs;
  });
}

/** Output block sizes when each block holds what one input block gives (Dask's slicing chunks). */
export function naturalChunks(inChunks: readonly number[], start: number, step: number, count: number): number[] {
  const offsets = offsetsOf(inChunks);
  const sizes: number[] = [];
  let k = 0;
  while (k < count) {
    const index = start + k * step;
    let block = 0;
    while (offsets[block + 1] <= index) block++;
    const fit = step > 0 ? Math.floor((offsets[block + 1] - 1 - index) / step) + 1 : Math.floor((index - offsets[block]) / -step) + 1;
    const n = Math.min(fit, count - k);
    sizes.push(n);
    k += n;
  }
  return sizes.length === 0 ? [0] : sizes;
}

/** The array selected from `array` by one {@link AxisSelection} per axis. */
export function select(array: ChunkedArray, selections: readonly AxisSelection[], prefix: string): ChunkedArray {
  const runs = selections.map((selection, axis) => axisRuns(array.chunks[axis], selection));
  const kept = selections.map((s, axis) => ({ s, axis })).filter(({ s }) => !s.drop);
  const outShape = kept.map(({ s }) => s.count);
  const outChunks = kept.map(({ s }) => [...s.chunks]);
  const name = `${prefix}-${tokenize(array.name, selections)}`;
  const inGrid = gridShape(array.chunks);
  const inKeys = array.blockKeys();
  const tasks: Graph = new Map();
  const keys: Key[] = blockIndices(gridShape(outChunks)).map((outIndex) => {
    // The output block index seen with the input's axes (dropped axes have one block).
    const full = selections.map((s, axis) => (s.drop ? 0 : outIndex[kept.findIndex((k) => k.axis === axis)]));
    const boxShape = selections.map((s, axis) => (s.drop ? 1 : outChunks[kept.findIndex((k) => k.axis === axis)][full[axis]]));
    const pieces: Piece[] = [];
    const combos = blockIndices(full.map((b, axis) => runs[axis][b].length));
    for (const combo of combos) {
      const parts = combo.map((r, axis) => runs[axis][full[axis]][r]);
      const inIndex = parts.map((p) => p.block);
      pieces.push({
        block: new Ref(inKeys[linearIndex(inIndex, inGrid)]),
        start: parts.map((p) => p.start),
        step: selections.map((s) => s.step),
        count: parts.map((p) => p.count),
        at: parts.map((p) => p.at),
      });
    }
    const key = blockKey(name, outIndex);
    const shape = outChunks.map((sizes, d) => sizes[outIndex[d]]);
    tasks.set(key, taskSpec(key, ASSEMBLE, [array.dtype, shape, boxShape, pieces]));
    return key;
  });
  return new ChunkedArray(outShape, outChunks, array.dtype, { name, keys, tasks, dependencies: [array] });
}
