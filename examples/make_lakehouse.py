"""Regenerates the bundled sample lakehouse (examples/lakehouse) with deltalake.

usage: python examples/make_lakehouse.py   (needs deltalake and pyarrow, e.g. from .venv)
"""
import os
import shutil

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lakehouse")


def orders(start, n):
    return pa.table({
        "order_id": pa.array(range(start, start + n), pa.int64()),
        "country": pa.array([["FR", "US", "JP", "BR"][i % 4] for i in range(start, start + n)]),
        "amount": pa.array([round(10 + i * 1.5, 2) for i in range(start, start + n)], pa.float64()),
    })


def main():
    shutil.rmtree(ROOT, ignore_errors=True)
    sales = os.path.join(ROOT, "warehouse", "sales", "orders")
    write_deltalake(sales, orders(0, 40), partition_by=["country"])
    for k in range(1, 4):
        write_deltalake(sales, orders(k * 40, 20), partition_by=["country"], mode="append")
    dt = DeltaTable(sales)
    dt.delete("amount > 150")
    dt.create_checkpoint()
    write_deltalake(sales, orders(500, 10), partition_by=["country"], mode="append")

    customers = os.path.join(ROOT, "warehouse", "crm", "customers")
    write_deltalake(customers, pa.table({"id": [1, 2, 3], "name": ["Ada", "Grace", "Linus"]}))
    write_deltalake(customers, pa.table({"id": [4], "name": ["Barbara"]}), mode="append")

    raw = os.path.join(ROOT, "raw", "clickstream", "date=2026-11-24")
    os.makedirs(raw, exist_ok=True)
    with open(os.path.join(raw, "events 00.json"), "w") as f:
        f.write('{"user": 1, "page": "/home"}\n{"user": 2, "page": "/cart"}\n')
    art = os.path.join(ROOT, "mlflow", "artifacts", "0", "run-1", "artifacts", "model")
    os.makedirs(art, exist_ok=True)
    with open(os.path.join(art, "MLmodel"), "w") as f:
        f.write("flavors:\n  python_function:\n    loader_module: example\n")


if __name__ == "__main__":
    main()
