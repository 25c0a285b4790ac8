/**
 * Arrays example: the correlation matrix of 60,000 samples of 40 correlated signals, built from
 * chunked arrays — seeded random data, broadcasting, tree reductions, a transpose and a matrix
 * product — and computed on the local threads executor.
 *
 * Run it with `npm run build && node dist/examples/array-correlation.js`.
 */
import { pathToFileURL } from "node:url";
import { Client } from "../client/client.js";
import * as wa from "../client/array/index.js";

/** Options of {@link correlation}. */
export interface CorrelationOptions {
  readonly samples?: number;
  readonly signals?: number;
  /** Rows per block. */
  readonly rowsPerBlock?: number;
  readonly seed?: number;
}

/**
 * The lazy correlation matrix of `signals` columns of noise, each column mixed with its left
 * neighbour (so neighbours correlate at 0.75 / 1.5625 = 0.48 and others not at all).
 */
export function correlation(options: CorrelationOptions = {}): { data: wa.ChunkedArray; corr: wa.ChunkedArray } {
  const { samples = 60_000, signals = 40, rowsPerBlock = 10_000, seed = 7 } = options;
  const noise = wa.random.normal([samples, signals + 1], { chunks: [rowsPerBlock, -1], seed });
  // Column j + 1 plus 0.75 × column j: adjacent columns share a component.
  const data = noise.get(null, wa.slice(1)).add(noise.get(null, wa.slice(0, -1)).mul(0.75));
  const mean = data.mean({ axis: 0, keepdims: true });
  const std = data.std({ axis: 0, keepdims: true });
  const z = data.sub(mean).div(std); // broadcasting [samples, signals] against [1, signals]
  const corr = z.T.matmul(z).div(samples);
  return { data, corr };
}

/** Computes the example on `executor` and summarizes the matrix. */
export async function main(executor: "sync" | "threads" = "threads", options: CorrelationOptions = {}): Promise<{
  corr: wa.DenseArray;
  neighbour: number;
  largestOther: number;
}> {
  const client = await Client.local({ executor });
  try {
    const { corr } = correlation(options);
    const [dense] = await client.compute(corr);
    const n = dense.shape[0];
    let neighbour = 0;
    let largestOther = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const value = dense.data[i * n + j];
        if (Math.abs(i - j) === 1) neighbour += value / (2 * (n - 1));
        else if (i !== j) largestOther = Math.max(largestOther, Math.abs(value));
      }
    }
    return { corr: dense, neighbour, largestOther };
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = performance.now();
  const { corr, neighbour, largestOther } = await main();
  console.log(`correlation matrix ${corr.shape.join("×")}: neighbours ${neighbour.toFixed(3)} on average (0.48 expected), others at most ${largestOther.toFixed(3)}`);
  console.log(`computed in ${(performance.now() - started).toFixed(0)} ms on the threads executor`);
}
