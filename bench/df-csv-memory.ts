/**
 * Measures the peak resident memory of worker processes streaming a CSV file several times larger
 * than their memory limit through `readCsv(...).groupBy("k").agg(...)`.
 *
 *   npm run build && node dist/bench/df-csv-memory.js [--gb 1.2] [--limit 256MB] [--blocksize 16MB] [--workers 2]
 *
 * Writes the file to a temporary directory (removed afterwards), starts a private redis-server, a
 * scheduler and worker processes (one thread each, `--memory-limit`), computes the group-by, checks
 * it against sums kept while writing, and prints each worker's peak RSS (VmHWM in /proc/<pid>/status).
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Table } from "apache-arrow";
import { readCsv } from "../client/dataframe/read-csv.js";
import { parseBytes } from "../protocol/byte-size.js";
import { startBenchCluster } from "./bench-cluster.js";

const KEYS = 10_000;
const WORDS = ["north", "south", "east", "west", "up", "down", "left", "right", "in", "out"];

const { values } = parseArgs({
  options: {
    gb: { type: "string", default: "1.2" },
    limit: { type: "string", default: "256MB" },
    blocksize: { type: "string", default: "16MB" },
    workers: { type: "string", default: "2" },
  },
});
const targetBytes = Number(values.gb) * 1e9;
const limit = parseBytes(values.limit)!;
const blocksize = parseBytes(values.blocksize)!;
const workers = Number(values.workers);

/** Writes rows `k,v,w,s` until the file reaches `targetBytes`; returns the per-key sums and counts of v. */
function writeCsv(path: string): { sums: Float64Array; counts: Float64Array; rows: number } {
  const sums = new Float64Array(KEYS);
  const counts = new Float64Array(KEYS);
  const fd = openSync(path, "w");
  let written = writeSync(fd, "k,v,w,s\n");
  let row = 0;
  while (written < targetBytes) {
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++, row++) {
      const k = (row * 7919) % KEYS;
      const v = ((row * 31) % 100_003) / 100;
      sums[k] += v;
      counts[k]++;
      lines.push(`${k},${v},${row % 1000},${WORDS[row % WORDS.length]}`);
    }
    written += writeSync(fd, lines.join("\n") + "\n");
  }
  closeSync(fd);
  return { sums, counts, rows: row };
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

const dir = mkdtempSync(join(tmpdir(), "weft-df-memory-"));
try {
  const path = join(dir, "big.csv");
  const started = performance.now();
  const expected = writeCsv(path);
  const size = statSync(path).size;
  console.log(`wrote ${path}: ${(size / 1e9).toFixed(2)} GB, ${expected.rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const cluster = await startBenchCluster({ workers, nthreads: 1, memoryLimit: limit });
  try {
    const workerPids = (await cluster.workers()).map((worker) => worker.pid);
    const frame = readCsv(path, { blocksize });
    const computeStart = performance.now();
    const table = (await cluster.compute(frame.groupBy("k").agg({ v: "mean", w: "max" }))) as Table;
    const seconds = (performance.now() - computeStart) / 1000;
    const keys = table.getChild("k")!.toArray() as Int32Array;
    const means = table.getChild("v")!.toArray() as Float64Array;
    let worst = 0;
    for (let g = 0; g < table.numRows; g++) worst = Math.max(worst, Math.abs(means[g] - expected.sums[keys[g]] / expected.counts[keys[g]]));
    if (table.numRows !== KEYS || worst > 1e-6) throw new Error(`wrong result: ${table.numRows} groups, worst mean error ${worst}`);
    console.log(`groupBy("k").agg({ v: "mean", w: "max" }) over ${frame.npartitions} partitions of ${mb(blocksize)}: ${seconds.toFixed(1)} s, ${KEYS} groups checked`);
    console.log(`file ${mb(size)}; worker memory limit ${mb(limit)} (pause at 80%); ${workers} workers x 1 thread`);
    for (const pid of workerPids) console.log(`  worker pid ${pid}: peak RSS (VmHWM) ${mb(peakRss(pid))}`);
    console.log(`  scheduler + client process: peak RSS ${mb(peakRss(process.pid))}`);
  } finally {
    await cluster.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
