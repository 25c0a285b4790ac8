/** Task functions of linear algebra: block matrix products. */
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, allocate, checkBlock, BORROWS_INPUTS } from "./block.js";
import type { DType } from "./dtype.js";
import { castNumber } from "./elementwise-ops.js";

const here = import.meta.url;

/** `weft.array.matmul(dtype, aBlocks, bBlocks)`: the sum over k of `a[k] @ b[k]` (2-d blocks). */
export const MATMUL = "weft.array.matmul";

/** Implements {@link MATMUL}. */
export function matmulBlocks(dtype: DType, aBlocks: readonly unknown[], bBlocks: readonly unknown[]): Block {
  const as = aBlocks.map((a) => checkBlock(a, "a matmul operand"));
  const bs = bBlocks.map((b) => checkBlock(b, "a matmul operand"));
  const m = as[0].shape[0];
  const n = bs[0].shape[1];
  // Accumulate in float64, row by row in i-k-j order (unit stride on b and on the result).
  const acc = new Float64Array(m * n);
  for (let t = 0; t < as.length; t++) {
    const a = as[t].data;
    const b = bs[t].data;
    const kk = as[t].shape[1];
    if (bs[t].shape[0] !== kk) throw new RangeError(`matmul blocks do not align: [${as[t].shape.join(", ")}] @ [${bs[t].shape.join(", ")}]`);
    for (let i = 0; i < m; i++) {
      const row = i * n;
      for (let k = 0; k < kk; k++) {
        const x = a[i * kk + k];
        if (x === 0) continue;
        const bRow = k * n;
        for (let j = 0; j < n; j++) acc[row + j] += x * b[bRow + j];
      }
    }
  }
  const out = allocate(dtype, m * n);
  for (let e = 0; e < acc.length; e++) out[e] = castNumber(acc[e], dtype);
  return { data: out, shape: [m, n], dtype };
}

registerTask(MATMUL, matmulBlocks, here, BORROWS_INPUTS);
