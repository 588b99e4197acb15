"""Bench data: N small objects, a few large ones, and a Delta table of many commits.

usage: make_data.py OUT_DIR [--small 5000] [--large 3] [--large-mib 96] [--commits 200]
"""
import argparse
import os

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--small", type=int, default=5000)
    ap.add_argument("--large", type=int, default=3)
    ap.add_argument("--large-mib", type=int, default=96)
    ap.add_argument("--commits", type=int, default=200)
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
    table = os.path.join(a.out, "table")
    for c in range(a.commits):
        batch = pa.table({"id": list(range(c * 10, c * 10 + 10)), "v": [f"row-{c}"] * 10})
        write_deltalake(table, batch, mode="append")
        if c % 50 == 49:
            DeltaTable(table).create_checkpoint()


if __name__ == "__main__":
    main()
