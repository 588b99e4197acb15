"""Real Structured Streaming queries for the checkpoint tests (pyspark 4.3.0, local mode).

One SparkSession per process. Two ways to call it:

  python streams.py                 reads JSON requests on stdin, one per line, and answers one JSON
                                    line each on stdout (the JVM's own output goes to stderr)
  python streams.py '<json>' ...    runs each request given as an argument, prints each answer

Every answer has "ok" (false with "error" when the request failed) and "seconds" (wall time).

Scenarios (each under a root directory: <root>/checkpoint, <root>/input, <root>/output):

  hdfs-agg        file source (JSON files, input/batch-<b>.json, one file per micro-batch)
                  -> groupBy(k).agg(count, sum(v)),
                  update mode, HDFSBackedStateStoreProvider, checkpoint format 1,
                  minDeltasForSnapshot=2 -> foreachBatch writing parquet to output/batch=<id>/
  rocksdb-v2      the same query on RocksDBStateStoreProvider with changelog checkpointing and
                  spark.sql.streaming.stateStore.checkpointFormatVersion=2
  file-sink       file source -> withWatermark + 10 s tumbling window count, append mode, HDFS state,
                  -> the real parquet file sink (output/_spark_metadata); source and sink logs
                  compact every 3 batches (sources/0/2.compact, _spark_metadata/2.compact)
  delta-to-delta  source: a Delta table (input/, written with deltalake, one append per batch) read
                  through a Python streaming data source whose offsets are Delta's own source
                  offsets ({"sourceVersion":1,"reservoirId":<metaData.id>,"reservoirVersion":v,
                  "index":-1,"isStartingVersion":false}: as Delta's source writes them once it
                  has read every change of version v - 1, the offset names the next version to
                  read); a batch reads the versions [start, end);
                  sink: foreachBatch appending to a Delta table (output/) with deltalake, one
                  application transaction (appId = query id = `id` in checkpoint/metadata,
                  version = batch id) per batch, skipping a batch whose id is <= the txn the sink
                  table already has for that appId, as Delta's own sink does

Batch b always brings the same input (input_rows(scenario, b)), so runs are reproducible.

Requests:

  {"op": "start"}                                  starts the SparkSession now -> {"spark": version}
  {"op": "create", "scenario": S, "root": DIR, "batches": 4, "settle": 0, "conf": {}}
      fresh query; input for batch b is added, then processAllAvailable(), for b in 0..batches-1.
      "settle": seconds to wait after each batch, so the state store maintenance thread (every 1 s)
      writes its snapshots (HDFS: <v>.snapshot once more than 2 deltas follow the last one; RocksDB:
      the <v>.zip uploads) at predictable versions; "conf": extra SQL confs for the query.
      -> {"query_id", "batches": [ids run], "rows": [...sink rows, sorted...], "tree": {...}}
  {"op": "add_input", "scenario": S, "source": DIR, "from": B, "count": N}
      adds the inputs of batches B..B+N-1 to a source directory (a file dir or a Delta table).
  {"op": "restart", "scenario": S, "checkpoint": C, "source": SRC, "sink": SINK,
   "add_batches": N (optional), "conf": {}}
      restarts the query from those (possibly copied) directories and runs what is pending
      (processAllAvailable), then, as "create" does, adds the input of one more batch and runs it,
      N times: the query goes on as it would have without the restart.
      -> {"before"/"after": {"last_offsets", "last_commit"} of the checkpoint,
          "resumed_at": first batch id run or null, "batches": [ids run],
          "sink_calls": [batch ids the foreachBatch sink was called with],
          "skipped": [batch ids the idempotent Delta sink skipped], "rows": [...],
          "error" and "causes" (the exception lines of the JVM trace) if the query failed}
  {"op": "rows", "scenario": S, "sink": SINK}          the sink's rows, sorted
  {"op": "tree", "dir": D}                             {"files": {relative path: size}}
  {"op": "copy", "src": D1, "dst": D2, "exclude": [fnmatch patterns of relative paths]}
      plain recursive copy (hidden files included), for failover experiments.

A file source's log (checkpoint/sources/0/<b>) and a file sink's log (output/_spark_metadata/<b>)
name files by absolute URI. A restart from a copy at another path therefore fails at once
("Wrong basePath <new input> for the root path: file:<old input>/batch-<n>.json": Spark re-plans the
last committed batch of a file source on restart), and reading a copied file-sink directory at
another path finds no file at all. Restore copies of the file-source scenarios at their original
paths; delta-to-delta restarts from any path.

Rows: hdfs-agg/rocksdb-v2 report the newest (k, count, sum) per key over output/batch=*/;
file-sink reports rows read through the sink's _spark_metadata log ("rows") and the parquet files
present in the directory ("files_rows"); delta-to-delta reports the sink table's rows.
"""
import fnmatch
import json
import os
import shutil
import sys
import time
import traceback

_OUT = None  # the protocol stream (the original stdout)
_spark = None
_events = {"batches": [], "skipped": []}

SCENARIOS = ("hdfs-agg", "rocksdb-v2", "file-sink", "delta-to-delta")
BASE_TS = 1767225600  # 2026-01-01T00:00:00Z


# ---------------------------------------------------------------------------------- session


def spark():
    global _spark
    if _spark is None:
        from pyspark.sql import SparkSession

        # Python workers (data source, foreachBatch helpers) run this interpreter, not `python3`.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        _spark = (
            SparkSession.builder.master("local[2]")
            .appName("lakedr-streams")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.streaming.stateStore.maintenanceInterval", "1s")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.memory", "1g")
            .getOrCreate()
        )
        _spark.sparkContext.setLogLevel("ERROR")
        _spark.dataSource.register(DeltaVersionsSource)
    return _spark


def scenario_conf(scenario):
    hdfs = "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider"
    rocks = "org.apache.spark.sql.execution.streaming.state.RocksDBStateStoreProvider"
    conf = {
        "spark.sql.streaming.stateStore.providerClass": hdfs,
        "spark.sql.streaming.stateStore.checkpointFormatVersion": "1",
        "spark.sql.streaming.stateStore.minDeltasForSnapshot": "2",
        "spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled": "false",
        "spark.sql.streaming.fileSource.log.compactInterval": "10",
        "spark.sql.streaming.fileSink.log.compactInterval": "10",
        "spark.sql.streaming.noDataMicroBatches.enabled": "true",
    }
    if scenario == "rocksdb-v2":
        conf["spark.sql.streaming.stateStore.providerClass"] = rocks
        conf["spark.sql.streaming.stateStore.checkpointFormatVersion"] = "2"
        conf["spark.sql.streaming.stateStore.rocksdb.changelogCheckpointing.enabled"] = "true"
    if scenario == "file-sink":
        conf["spark.sql.streaming.fileSource.log.compactInterval"] = "3"
        conf["spark.sql.streaming.fileSink.log.compactInterval"] = "3"
        # Keep one micro-batch per input file: no extra batch only to move the watermark.
        conf["spark.sql.streaming.noDataMicroBatches.enabled"] = "false"
    return conf


# ---------------------------------------------------------------------------------- inputs


def input_rows(scenario, b):
    if scenario == "file-sink":
        return [{"ts": BASE_TS + 10 * b + i, "k": f"k{i % 2}", "v": 10 * b + i} for i in range(4)]
    if scenario == "delta-to-delta":
        return [{"id": 10 * b + i, "k": f"k{(b + i) % 3}", "v": 100 * b + i} for i in range(3)]
    return [{"k": f"k{(3 * b + i) % 5}", "v": 10 * b + i} for i in range(5)]


def add_input(scenario, source, first, count):
    if scenario == "delta-to-delta":
        import deltalake
        import pyarrow as pa

        for b in range(first, first + count):
            rows = input_rows(scenario, b)
            table = pa.table(
                {
                    "id": pa.array([r["id"] for r in rows], pa.int64()),
                    "k": pa.array([r["k"] for r in rows], pa.string()),
                    "v": pa.array([r["v"] for r in rows], pa.int64()),
                }
            )
            deltalake.write_deltalake(source, table, mode="append")
        return
    os.makedirs(source, exist_ok=True)
    for b in range(first, first + count):
        # Written beside the directory, then renamed in: the file source never sees half a file.
        tmp = os.path.join(os.path.dirname(os.path.abspath(source)), f".batch-{b}.json.tmp")
        with open(tmp, "w") as f:
            for r in input_rows(scenario, b):
                f.write(json.dumps(r) + "\n")
        os.replace(tmp, os.path.join(source, f"batch-{b}.json"))


def next_input_index(scenario, source):
    if scenario == "delta-to-delta":
        import deltalake

        try:
            return deltalake.DeltaTable(source).version() + 1
        except Exception:  # noqa: BLE001 - no table yet
            return 0
    if not os.path.isdir(source):
        return 0
    ids = [int(n[6:-5]) for n in os.listdir(source) if n.startswith("batch-") and n.endswith(".json")]
    return max(ids) + 1 if ids else 0


# ---------------------------------------------------------------------------------- Delta source


try:
    from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition
except ImportError:  # pragma: no cover - only without pyspark
    DataSource = DataSourceStreamReader = InputPartition = object


def _delta_offset(reservoir_id, version):
    return {
        "sourceVersion": 1,
        "reservoirId": reservoir_id,
        "reservoirVersion": version,
        "index": -1,
        "isStartingVersion": False,
    }


class VersionRange(InputPartition):
    def __init__(self, path, versions):
        self.path = path
        self.versions = versions


class DeltaVersionsReader(DataSourceStreamReader):
    """Offsets name the next table version to read; a batch reads versions [start, end)."""

    def __init__(self, options):
        self.path = options["path"]

    def _snapshot(self):
        import deltalake

        dt = deltalake.DeltaTable(self.path)
        return dt.metadata().id, dt.version()

    def _check_id(self, offset, reservoir_id):
        if offset and offset.get("reservoirId") not in (None, reservoir_id):
            # Delta's own source refuses a checkpoint made on another table the same way.
            raise RuntimeError(
                f"the table at {self.path} has id {reservoir_id}, the checkpoint's offsets name "
                f"reservoirId {offset.get('reservoirId')}"
            )

    def initialOffset(self):
        reservoir_id, _ = self._snapshot()
        return _delta_offset(reservoir_id, 0)

    def latestOffset(self, start, limit):
        reservoir_id, version = self._snapshot()
        self._check_id(start, reservoir_id)
        nxt = version + 1
        if start is not None:
            nxt = max(nxt, start["reservoirVersion"])
        return _delta_offset(reservoir_id, nxt)

    def partitions(self, start, end):
        reservoir_id, _ = self._snapshot()
        self._check_id(start, reservoir_id)
        self._check_id(end, reservoir_id)
        return [VersionRange(self.path, list(range(start["reservoirVersion"], end["reservoirVersion"])))]

    def read(self, partition):
        import pyarrow.parquet as pq
        from urllib.parse import unquote

        for v in partition.versions:
            commit = os.path.join(partition.path, "_delta_log", f"{v:020d}.json")
            with open(commit) as f:  # a missing version fails the batch, as Delta's source does
                actions = [json.loads(line) for line in f if line.strip()]
            for a in actions:
                if "add" in a:
                    table = pq.read_table(os.path.join(partition.path, unquote(a["add"]["path"])))
                    for r in table.to_pylist():
                        yield (r["id"], r["k"], r["v"])

    def commit(self, end):
        pass


class DeltaVersionsSource(DataSource):
    @classmethod
    def name(cls):
        return "lakedr_delta_versions"

    def schema(self):
        return "id long, k string, v long"

    def streamReader(self, schema):
        return DeltaVersionsReader(self.options)


# ---------------------------------------------------------------------------------- queries


def build_query(scenario, checkpoint, source, sink, extra_conf=None):
    from pyspark.sql import functions as F

    s = spark()
    for k, v in {**scenario_conf(scenario), **(extra_conf or {})}.items():
        s.conf.set(k, str(v))
    if scenario in ("hdfs-agg", "rocksdb-v2"):
        df = s.readStream.schema("k string, v long").option("maxFilesPerTrigger", 1).json(source)
        agg = df.groupBy("k").agg(F.count("*").alias("count"), F.sum("v").alias("sum"))

        def write_batch(batch_df, batch_id):
            _events["batches"].append(batch_id)
            batch_df.coalesce(1).write.mode("overwrite").parquet(os.path.join(sink, f"batch={batch_id}"))

        w = agg.writeStream.outputMode("update").foreachBatch(write_batch)
    elif scenario == "file-sink":
        # One input file per batch, on a restart too: the watermark, hence the windows
        # emitted, moves as in an uninterrupted run.
        df = s.readStream.schema("ts long, k string, v long").option("maxFilesPerTrigger", 1).json(source)
        df = df.withColumn("t", F.col("ts").cast("timestamp")).withWatermark("t", "0 seconds")
        agg = df.groupBy(F.window("t", "10 seconds").alias("w"), "k").agg(
            F.count("*").alias("count"), F.sum("v").alias("sum")
        )
        out = agg.select(F.col("w.start").cast("long").alias("start"), "k", "count", "sum")
        w = out.writeStream.outputMode("append").format("parquet").option("path", sink)
    elif scenario == "delta-to-delta":
        df = s.readStream.format("lakedr_delta_versions").load(source)

        def write_batch(batch_df, batch_id):
            import deltalake
            import pyarrow as pa

            with open(os.path.join(checkpoint, "metadata")) as f:
                app_id = json.load(f)["id"]
            try:
                current = deltalake.DeltaTable(sink).transaction_version(app_id)
            except Exception:  # noqa: BLE001 - no sink table yet
                current = None
            _events["batches"].append(batch_id)
            if current is not None and batch_id <= current:
                _events["skipped"].append(batch_id)
                return
            table = batch_df.toArrow()
            table = pa.table(
                {
                    "id": table.column("id").cast(pa.int64()),
                    "k": table.column("k").cast(pa.string()),
                    "v": table.column("v").cast(pa.int64()),
                }
            )
            deltalake.write_deltalake(
                sink,
                table,
                mode="append",
                commit_properties=deltalake.CommitProperties(
                    app_transactions=[deltalake.Transaction(app_id=app_id, version=batch_id)]
                ),
            )

        w = df.writeStream.foreachBatch(write_batch)
    else:
        raise ValueError(f"unknown scenario {scenario!r}; one of {SCENARIOS}")
    return w.option("checkpointLocation", checkpoint)


def forget_conf(conf):
    # A started query runs on a clone of the session's conf: later requests start from defaults.
    for k in conf or {}:
        spark().conf.unset(k)


def committed(checkpoint, log):
    d = os.path.join(checkpoint, log)
    if not os.path.isdir(d):
        return []
    return sorted(int(n) for n in os.listdir(d) if n.isdigit())


def progress_batches(query):
    # A trigger that found nothing to run reports progress too (with the next batch id), but
    # without an addBatch duration.
    return [p["batchId"] for p in query.recentProgress if "addBatch" in (p.get("durationMs") or {})]


def create(req):
    scenario, root, n = req["scenario"], req["root"], int(req.get("batches", 4))
    settle = float(req.get("settle", 0))
    checkpoint, source, sink = (os.path.join(root, d) for d in ("checkpoint", "input", "output"))
    os.makedirs(root, exist_ok=True)
    _events["batches"].clear()
    _events["skipped"].clear()
    add_input(scenario, source, 0, 1)
    query = build_query(scenario, checkpoint, source, sink, req.get("conf")).start()
    forget_conf(req.get("conf"))
    try:
        query.processAllAvailable()
        time.sleep(settle)
        for b in range(1, n):
            add_input(scenario, source, b, 1)
            query.processAllAvailable()
            time.sleep(settle)
        ran = progress_batches(query)
    finally:
        query.stop()
    with open(os.path.join(checkpoint, "metadata")) as f:
        query_id = json.load(f)["id"]
    return {
        "query_id": query_id,
        "batches": ran,
        "rows": rows(scenario, sink),
        "tree": tree(checkpoint),
    }


def restart(req):
    scenario = req["scenario"]
    checkpoint, source, sink = req["checkpoint"], req["source"], req["sink"]
    before = {
        "last_offsets": (committed(checkpoint, "offsets") or [None])[-1],
        "last_commit": (committed(checkpoint, "commits") or [None])[-1],
    }
    _events["batches"].clear()
    _events["skipped"].clear()
    out = {"before": before}
    query = build_query(scenario, checkpoint, source, sink, req.get("conf")).start()
    forget_conf(req.get("conf"))
    try:
        query.processAllAvailable()
        for _ in range(int(req.get("add_batches", 0))):
            add_input(scenario, source, next_input_index(scenario, source), 1)
            query.processAllAvailable()
    except Exception as e:  # noqa: BLE001 - the answer carries the query's failure
        text = str(e)
        out["error"] = text.split("\n=== Streaming Query ===")[0][:4000]
        out["causes"] = causes(text + "\n" + str(getattr(e, "_stackTrace", "") or ""))
    ran = progress_batches(query)
    if not ran and _events["batches"]:
        ran = list(_events["batches"])
    try:
        query.stop()
    except Exception:  # noqa: BLE001
        pass
    out.update(
        {
            "resumed_at": ran[0] if ran else None,
            "batches": ran,
            "sink_calls": list(_events["batches"]),
            "skipped": list(_events["skipped"]),
            "after": {
                "last_offsets": (committed(checkpoint, "offsets") or [None])[-1],
                "last_commit": (committed(checkpoint, "commits") or [None])[-1],
            },
        }
    )
    try:
        out.update(rows_answer(scenario, sink))
    except Exception as e:  # noqa: BLE001
        out["rows_error"] = f"{type(e).__name__}: {str(e)[:500]}"
    if "error" in out:
        out["ok"] = False
    return out


# ---------------------------------------------------------------------------------- sinks


def rows(scenario, sink):
    return rows_answer(scenario, sink)["rows"]


def rows_answer(scenario, sink):
    import pyarrow.parquet as pq

    if scenario in ("hdfs-agg", "rocksdb-v2"):
        newest = {}
        if os.path.isdir(sink):
            dirs = [d for d in os.listdir(sink) if d.startswith("batch=")]
            for d in sorted(dirs, key=lambda d: int(d[6:])):
                for r in pq.read_table(os.path.join(sink, d)).to_pylist():
                    newest[r["k"]] = r
        return {"rows": [newest[k] for k in sorted(newest)]}
    if scenario == "file-sink":
        out = {}
        try:
            df = spark().read.parquet(sink)  # follows <sink>/_spark_metadata when present
            out["rows"] = sorted((r.asDict() for r in df.collect()), key=_key)
            out["input_files"] = sorted(df.inputFiles())
        except Exception as e:  # noqa: BLE001
            out["rows"] = None
            out["rows_error"] = f"{type(e).__name__}: {str(e).splitlines()[0][:400]}"
            out["rows_causes"] = causes(str(e))
        files = []
        for dirpath, dirnames, filenames in os.walk(sink):
            dirnames[:] = [d for d in dirnames if d != "_spark_metadata"]
            files += [os.path.join(dirpath, n) for n in filenames if n.endswith(".parquet") and not n.startswith(".")]
        out["files_rows"] = sorted((r for f in files for r in pq.read_table(f).to_pylist()), key=_key)
        return out
    if scenario == "delta-to-delta":
        import deltalake

        try:
            dt = deltalake.DeltaTable(sink)
        except Exception:  # noqa: BLE001 - no sink table yet
            return {"rows": []}
        return {
            "rows": sorted(dt.to_pyarrow_table().to_pylist(), key=_key),
            "sink_version": dt.version(),
        }
    raise ValueError(f"unknown scenario {scenario!r}")


def causes(text):
    """The exception lines of a JVM or Python error text (the causes, without stack frames)."""
    import re

    pat = re.compile(r"^(Caused by: |[\w.$]+(Exception|Error)(: |$)|\[[A-Z_]+\])")
    seen, out = set(), []
    for line in text.splitlines():
        line = line.strip().removeprefix(": ")
        if pat.match(line) and line not in seen:
            seen.add(line)
            out.append(line[:600])
    return out[:20]


def _key(r):
    # Column order, nulls first; values of one column share a type within a scenario.
    return tuple((v is not None, v) for _, v in sorted(r.items()))


# ---------------------------------------------------------------------------------- files


def tree(d):
    files = {}
    for dirpath, _, filenames in os.walk(d):
        for n in filenames:
            p = os.path.join(dirpath, n)
            files[os.path.relpath(p, d)] = os.path.getsize(p)
    return dict(sorted(files.items()))


def copy(req):
    src, dst, exclude = req["src"], req["dst"], req.get("exclude", [])
    copied = 0
    for rel in tree(src):
        if any(fnmatch.fnmatch(rel, pat) for pat in exclude):
            continue
        target = os.path.join(dst, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(os.path.join(src, rel), target)
        copied += 1
    return {"copied": copied}


# ---------------------------------------------------------------------------------- protocol


def handle(req):
    started = time.time()
    try:
        op = req.get("op")
        if op == "start":
            resp = {"spark": spark().version}
        elif op == "create":
            resp = create(req)
        elif op == "restart":
            resp = restart(req)
        elif op == "add_input":
            add_input(req["scenario"], req["source"], int(req["from"]), int(req.get("count", 1)))
            resp = {}
        elif op == "rows":
            resp = rows_answer(req["scenario"], req["sink"])
        elif op == "tree":
            resp = {"files": tree(req["dir"])}
        elif op == "copy":
            resp = copy(req)
        else:
            raise ValueError(f"unknown op {op!r}")
        resp.setdefault("ok", True)
    except Exception as e:  # noqa: BLE001 - every failure becomes an answer
        resp = {"ok": False, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()}
    resp["seconds"] = round(time.time() - started, 3)
    return resp


def answer(resp):
    _OUT.write(json.dumps(resp, default=str) + "\n")
    _OUT.flush()


def main(argv):
    global _OUT
    # The protocol keeps the original stdout; everything else (the JVM started later included)
    # writes to stderr.
    _OUT = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    if argv:
        for arg in argv:
            answer(handle(json.loads(arg)))
        return
    for line in sys.stdin:
        line = line.strip()
        if line:
            answer(handle(json.loads(line)))


if __name__ == "__main__":
    main(sys.argv[1:])
