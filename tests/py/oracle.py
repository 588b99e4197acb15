"""Independent Delta reader for the tests: compares DR copies with their sources.

Reads JSON requests on stdin, one per line, and answers one JSON line each:

  {"source": "/local/table", "dr": "s3://bucket/prefix/table", "versions": [3, 4],
   "expect_latest": 4, "storage": {...object_store options...}}

For every version listed, the DR table is opened at that version with `deltalake` (delta-rs)
and its rows must equal the source's rows at that version. `expect_latest` is the version a
plain open of the DR table must see. Source snapshots are cached: sources never change.
"""
import json
import sys
import traceback

import deltalake

_cache = {}


def rows(uri, version, storage):
    dt = deltalake.DeltaTable(uri, version=version, storage_options=storage or None)
    table = dt.to_pyarrow_table()
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


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            resp = check(json.loads(line))
        except Exception:  # noqa: BLE001
            resp = {"ok": False, "problems": [traceback.format_exc()]}
        sys.stdout.write(json.dumps(resp) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
