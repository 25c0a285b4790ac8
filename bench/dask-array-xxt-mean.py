"""Dask's side of `weft bench array-xxt-mean`, for comparing on the same machine.

Not part of weft: it needs Dask, NumPy and distributed (Debian: python3-dask, python3-distributed).

    python3 bench/dask-array-xxt-mean.py threads
    python3 bench/dask-array-xxt-mean.py distributed

Like weft's bench: `(x + x.T).mean()` over a random 8000x8000 float64 array in 1000x1000 chunks,
generation included; 2 untimed runs, then the median of 5. `distributed` runs a LocalCluster of 2
worker processes with 1 thread each, as `--executor distributed --workers 2` does on 2 cores.
"""
import statistics
import sys
import time

import dask
import dask.array as da


def run():
    x = da.random.random((8000, 8000), chunks=1000)
    return (x + x.T).mean().compute()


def timed():
    for _ in range(2):
        run()
    times = []
    for _ in range(5):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "threads"
    if mode == "threads":
        dask.config.set(scheduler="threads")
        median, times = timed()
    elif mode == "distributed":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
            median, times = timed()
    else:
        sys.exit(f"unknown mode {mode!r}: use threads or distributed")
    print(f"dask {mode}: median {median:.3f} s of {', '.join(f'{t:.3f}' for t in sorted(times))}")
