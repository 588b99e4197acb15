"""Writes real Delta tables with deltalake (delta-rs) for the end-to-end tests.

usage: write_tables.py OUT_DIR

Tables:
  odd_partitions  appends, overwrite, delete, update, optimize, checkpoint; partition values
                  with spaces, '+', '%', '&', ':', '/', '=' and non-ASCII
  cdf             change data feed on: deletes and updates write _change_data files
  cleaned         checkpoints then metadata cleanup: the log starts at a checkpoint
  vacuumed        12 appends, a delete, optimize, a checkpoint, VACUUM with zero retention, one
                  more append: every file older versions need is gone, the log is whole
Prints a JSON summary {table: latest_version}.
"""
import json
import os
import sys

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

ODD = ["a b", "x+y", "50%", "r&d", "t:10", "a/b", "k=v", "été", "日本"]


def batch(start, n, parts):
    ids = list(range(start, start + n))
    return pa.table({
        "id": pa.array(ids, pa.int64()),
        "part": pa.array([parts[i % len(parts)] for i in ids], pa.string()),
        "value": pa.array([f"v{i}" for i in ids], pa.string()),
    })


def odd_partitions(root):
    uri = os.path.join(root, "odd_partitions")
    write_deltalake(uri, batch(0, 20, ODD), partition_by=["part"])
    for k in range(1, 5):
        write_deltalake(uri, batch(k * 20, 10, ODD), partition_by=["part"], mode="append")
    dt = DeltaTable(uri)
    dt.delete("id % 7 = 0")
    dt.update(predicate="id < 10", updates={"value": "'updated'"})
    dt.create_checkpoint()
    write_deltalake(uri, batch(100, 15, ODD[:4]), partition_by=["part"], mode="append")
    dt = DeltaTable(uri)
    dt.optimize.compact()
    write_deltalake(uri, batch(200, 12, ODD[3:]), partition_by=["part"], mode="overwrite")
    write_deltalake(uri, batch(300, 5, ODD), partition_by=["part"], mode="append")
    DeltaTable(uri).create_checkpoint()
    write_deltalake(uri, batch(400, 5, ODD), partition_by=["part"], mode="append")
    return DeltaTable(uri).version()


def cdf(root):
    uri = os.path.join(root, "cdf")
    write_deltalake(uri, batch(0, 30, ["p1", "p2"]), partition_by=["part"],
                    configuration={"delta.enableChangeDataFeed": "true"})
    dt = DeltaTable(uri)
    dt.delete("id < 5")
    dt.update(predicate="id > 25", updates={"value": "'changed'"})
    write_deltalake(uri, batch(30, 10, ["p1", "p3"]), partition_by=["part"], mode="append")
    return DeltaTable(uri).version()


def cleaned(root):
    uri = os.path.join(root, "cleaned")
    write_deltalake(uri, batch(0, 10, ["a"]),
                    configuration={"delta.logRetentionDuration": "interval 0 seconds"})
    for k in range(1, 6):
        write_deltalake(uri, batch(k * 10, 10, ["a"]), mode="append")
    dt = DeltaTable(uri)
    dt.create_checkpoint()
    dt.cleanup_metadata()
    for k in range(6, 8):
        write_deltalake(uri, batch(k * 10, 10, ["a"]), mode="append")
    return DeltaTable(uri).version()


def vacuumed(root):
    uri = os.path.join(root, "vacuumed")
    write_deltalake(uri, batch(0, 10, ["a", "b"]), partition_by=["part"])
    for k in range(1, 12):
        write_deltalake(uri, batch(k * 10, 10, ["a", "b"]), partition_by=["part"], mode="append")
    dt = DeltaTable(uri)
    dt.delete("id % 3 = 0")
    dt.optimize.compact()
    dt = DeltaTable(uri)
    dt.create_checkpoint()
    dt.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    write_deltalake(uri, batch(500, 10, ["a", "c"]), partition_by=["part"], mode="append")
    return DeltaTable(uri).version()


def main():
    root = sys.argv[1]
    os.makedirs(root, exist_ok=True)
    out = {"odd_partitions": odd_partitions(root), "cdf": cdf(root), "cleaned": cleaned(root),
           "vacuumed": vacuumed(root)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
