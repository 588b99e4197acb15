"""Bench data: N small objects, a few large ones, a Delta table of many commits, and the same
commits at the end of a long log.

usage: make_data.py OUT_DIR [--small 5000] [--large 3] [--large-mib 96] [--commits 200]
                            [--long-log 20000]

`table/` is a table of COMMITS appends (a checkpoint every 50). `long-table/` has a log of
LONG_LOG entries before the same COMMITS appends: a first append, then commits that only record
an application transaction (as a streaming sink's empty batches do), a checkpoint where they end;
`long-prefix/` holds just those entries (what DR has already replicated when the timed commits
start).
"""
import argparse
import json
import os
import shutil

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--large", type=int, default=3)
    ap.add_argument("--large-mib", type=int, default=96)
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--long-log", type=int, default=20000)
    a = ap.parse_args()
    objects = os.path.join(a.out, "objects")
    for i in range(a.small):
        d = os.path.join(objects, "small", f"{i % 50:02d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"obj-{i:05d}.bin"), "wb") as f:
            f.write(os.urandom(1024 + (i * 7919) % 15360))
    os.makedirs(os.path.join(objects, "large"), exist_ok=True)
    for i in range(a.large):
        with open(os.path.join(objects, "large", f"big-{i}.bin"), "wb") as f:
            for _ in range(a.large_mib):
                f.write(os.urandom(1024 * 1024))
    appends(os.path.join(a.out, "table"), a.commits)
    long_table(a.out, a.long_log, a.commits)


def appends(table, commits, first=0):
    for c in range(first, first + commits):
        batch = pa.table({"id": list(range(c * 10, c * 10 + 10)), "v": [f"row-{c}"] * 10})
        write_deltalake(table, batch, mode="append")
        if c % 50 == 49:
            DeltaTable(table).create_checkpoint()


def long_table(out, entries, commits):
    table = os.path.join(out, "long-table")
    log = os.path.join(table, "_delta_log")
    write_deltalake(table, pa.table({"id": [0], "v": ["first"]}))
    # Versions 1..N-1 record a transaction and nothing else; N-1 gets the checkpoint, so the log
    # holds N commits and one checkpoint, plus the hint.
    last = entries - 2
    for v in range(1, last + 1):
        with open(os.path.join(log, f"{v:020}.json"), "w") as f:
            f.write(json.dumps({"commitInfo": {"timestamp": 1764000000000 + v, "operation": "STREAMING UPDATE"}}) + "\n")
            f.write(json.dumps({"txn": {"appId": "bench-stream", "version": v, "lastUpdated": 1764000000000 + v}}) + "\n")
    DeltaTable(table).create_checkpoint()
    prefix = os.path.join(out, "long-prefix")
    shutil.copytree(table, prefix)
    appends(table, commits, first=1)


if __name__ == "__main__":
    main()
