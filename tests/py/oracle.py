"""Independent Delta reader for the tests: compares DR copies with their sources.

Reads JSON requests on stdin, one per line, and answers one JSON line each:

  {"source": "/local/table", "dr": "s3://bucket/prefix/table", "versions": [3, 4],
   "expect_latest": 4, "storage": {...object_store options...}}

For every version listed, the DR table is opened at that version with `deltalake` (delta-rs)
and its rows must equal the source's rows at that version. Tables whose reader features the
pyarrow path of deltalake refuses (deletion vectors, V2 checkpoints) are read through its
DataFusion engine (delta-kernel log replay), which applies deletion vectors and follows
sidecars. `expect_latest` is the version a
plain open of the DR table must see. Source snapshots are cached: sources never change.

  {"readable": "/local/table", "versions": [0, 1, ...]}

answers {"readable": [...]}: the versions at which the table can be read whole (every file its
snapshot needs is there), as a reader of the source would find them.
"""
import json
import sys
import traceback

import deltalake
import pyarrow as pa
from deltalake import QueryBuilder
from deltalake.exceptions import DeltaProtocolError

_cache = {}


def rows(uri, version, storage):
    dt = deltalake.DeltaTable(uri, version=version, storage_options=storage or None)
    try:
        table = dt.to_pyarrow_table()
    except DeltaProtocolError:
        table = pa.table(QueryBuilder().register("t", dt).execute("select * from t").read_all())
    out = sorted(json.dumps(r, sort_keys=True, default=str) for r in table.to_pylist())
    return out


def source_rows(uri, version):
    key = (uri, version)
    if key not in _cache:
        _cache[key] = rows(uri, version, None)
    return _cache[key]


def check(req):
    storage = req.get("storage")
    problems = []
    checked = []
    if req.get("expect_latest") is not None:
        try:
            latest = deltalake.DeltaTable(req["dr"], storage_options=storage or None).version()
            if latest != req["expect_latest"]:
                problems.append(f"DR opens at version {latest}, expected {req['expect_latest']}")
        except Exception as e:  # noqa: BLE001 - report every reader failure
            problems.append(f"DR does not open: {type(e).__name__}: {e}")
    for v in req.get("versions", []):
        try:
            want = source_rows(req["source"], v)
        except Exception as e:  # noqa: BLE001
            # The source itself is unreadable at v (a feature this reader lacks): say so.
            return {"ok": False, "unsupported": f"source unreadable at {v}: {type(e).__name__}: {e}"}
        try:
            got = rows(req["dr"], v, storage)
        except Exception as e:  # noqa: BLE001
            problems.append(f"version {v}: DR unreadable: {type(e).__name__}: {str(e)[:300]}")
            continue
        if got != want:
            problems.append(f"version {v}: DR has {len(got)} rows, source {len(want)}, contents differ")
        checked.append(v)
    return {"ok": not problems, "problems": problems, "checked": checked}


def readable(req):
    out = []
    for v in req["versions"]:
        try:
            source_rows(req["readable"], v)
            out.append(v)
        except Exception:  # noqa: BLE001 - unreadable at v, whatever the reason
            pass
    return {"readable": out}


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            resp = readable(req) if "readable" in req else check(req)
        except Exception:  # noqa: BLE001
            resp = {"ok": False, "problems": [traceback.format_exc()]}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
