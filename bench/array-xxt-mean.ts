/**
 * The array benchmark of the design targets: `(x + x.T).mean()` over a seeded uniform random
 * float64 array of N×N in 1000×1000 blocks, generation included (Dask:
 * `da.random.random((8000, 8000), chunks=1000); (x + x.T).mean()`).
 *
 * The graph: one random task per block, one partial task per block reading blocks `[i, j]` and
 * `[j, i]` (the addition and the transposition fused into the partial sum), and a tree reduction of
 * the partials (fan-in 16).
 */
import { ChunkedArray, type DenseArray } from "../client/array/chunked-array.js";
import { uniform } from "../client/array/random.js";
import type { Workload } from "./workloads.js";

/** Block side length. */
const CHUNK = 1000;

export function arrayXxtMean(n: number): Workload {
  const x = uniform([n, n], { chunks: CHUNK, seed: 42 });
  const output: ChunkedArray = x.add(x.T).mean();
  return {
    output,
    tasks: output.graph().size,
    check(result) {
      const { data, shape, dtype } = result as DenseArray;
      if (shape.length !== 0 || dtype !== "float64") throw new Error(`array-xxt-mean computed shape [${shape.join(", ")}] ${dtype}, expected a float64 scalar`);
      // The mean of x + x.T is twice the mean of uniform [0, 1) deviates: 1, to within sampling error.
      if (!(Math.abs(data[0] - 1) < 1e-3)) throw new Error(`array-xxt-mean computed ${data[0]}, expected about 1`);
    },
  };
}
