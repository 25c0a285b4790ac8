"""Dask's side of `weft bench df-pipeline`, for comparing on the same machine.

Not part of weft: it needs Dask, pandas and distributed (Debian: python3-dask, python3-pandas,
python3-distributed).

    python3 bench/dask-df-pipeline.py threads [ROWS]
    python3 bench/dask-df-pipeline.py distributed [ROWS]

Like weft's bench: writes ROWS orders (default 1,000,000; the same rows as `bench/df-pipeline.ts`) to
a CSV file in a temporary directory, then times, with every option at its default, read_csv ->
filter -> merge with a 50-row product table -> assign -> groupby("customer").agg -> sort_values; 6
untimed runs, then the median of 5. The result is checked against sums kept while writing.
`distributed` runs a LocalCluster of 2 worker processes with 1 thread each, as `--executor distributed
--workers 2` does on 2 cores.
"""
import math
import os
import shutil
import statistics
import sys
import tempfile
import time

import dask
import dask.dataframe as dd
import pandas as pd

PRODUCTS = 50
CATEGORIES = ["tea", "coffee", "cocoa", "jam", "honey", "bread", "cheese"]
CUSTOMERS = 10_000


def unit_price(product):
    return 1 + ((product * 37) % 100) / 4


def write_orders(path, rows):
    revenue = [0.0] * CUSTOMERS
    orders = [0] * CUSTOMERS
    with open(path, "w") as out:
        out.write("order_id,customer,product,quantity,discount\n")
        lines = []
        for i in range(rows):
            customer = (i * 7919) % CUSTOMERS
            product = (i * 31 + (i >> 3)) % PRODUCTS
            quantity = (i * 13) % 11
            discount = ((i * 17) % 100) / 100
            # JavaScript prints 0.1 as 0.1 and 1 as 1, as repr does for floats other than whole ones.
            text = repr(discount) if discount != int(discount) else str(int(discount))
            lines.append(f"{i},{customer},product-{product},{quantity},{text}\n")
            if quantity > 0:
                revenue[customer] += quantity * unit_price(product) * (1 - discount)
                orders[customer] += 1
            if len(lines) >= 65536:
                out.writelines(lines)
                lines = []
        out.writelines(lines)
    return revenue, orders


def pipeline(path, products):
    orders = dd.read_csv(path)
    orders = orders[orders.quantity > 0]
    merged = orders.merge(products, on="product")
    merged = merged.assign(revenue=merged.quantity * merged.unit_price * (1 - merged.discount))
    grouped = merged.groupby("customer").agg({"revenue": "sum", "order_id": "count"})
    return grouped.sort_values("revenue", ascending=False).compute()


def check(result, revenue, orders):
    expected = sum(1 for n in orders if n > 0)
    assert len(result) == expected, f"{len(result)} customers, expected {expected}"
    for customer, row in result.iterrows():
        assert math.isclose(row.revenue, revenue[customer], rel_tol=1e-9, abs_tol=1e-9), (customer, row.revenue, revenue[customer])
        assert row.order_id == orders[customer]
    assert result.revenue.is_monotonic_decreasing


def timed(path, products, revenue, orders):
    for _ in range(6):
        check(pipeline(path, products), revenue, orders)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = pipeline(path, products)
        times.append(time.perf_counter() - start)
        check(result, revenue, orders)
    return statistics.median(times), times


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "threads"
    rows = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    directory = tempfile.mkdtemp(prefix="dask-df-pipeline-")
    try:
        path = os.path.join(directory, "orders.csv")
        revenue, orders = write_orders(path, rows)
        products = pd.DataFrame(
            {
                "product": [f"product-{p}" for p in range(PRODUCTS)],
                "category": [CATEGORIES[p % len(CATEGORIES)] for p in range(PRODUCTS)],
                "unit_price": [unit_price(p) for p in range(PRODUCTS)],
            }
        )
        if mode == "threads":
            dask.config.set(scheduler="threads")
            median, times = timed(path, products, revenue, orders)
        elif mode == "distributed":
            from distributed import Client, LocalCluster

            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster):
                median, times = timed(path, products, revenue, orders)
        else:
            sys.exit(f"unknown mode {mode!r}: use threads or distributed")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(f"dask {mode}: median {median:.3f} s of {', '.join(f'{t:.3f}' for t in sorted(times))}")
