#!/usr/bin/env bash
# Control-plane export benchmark: a fake workspace of 10,000 jobs, 2,000 notebooks and 5,000
# tables with grants (tests/py/fake_databricks.py), exported in full by `lakedr export`, then
# exported again (nothing changed). Reports duration, API calls and peak memory of each run in
# bench/out/control.json.
#   bash bench/control.sh [--jobs N] [--notebooks N] [--tables N]
# LAKEDR_DATABRICKS_RPS sets the client's pace (default here: 0, unpaced, to measure the
# export itself); BENCH_PROFILE=dev reuses the test build.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
PROFILE=${BENCH_PROFILE:-release}
JOBS=10000 NOTEBOOKS=2000 TABLES=5000
while [ $# -gt 0 ]; do case $1 in
  --jobs) JOBS=$2; shift 2 ;;
  --notebooks) NOTEBOOKS=$2; shift 2 ;;
  --tables) TABLES=$2; shift 2 ;;
  *) echo "unknown option $1" >&2; exit 2 ;;
esac; done
if [ "$PROFILE" = dev ]; then
  cargo build --locked -p lakedr-cli
  BIN=target/debug/lakedr
else
  cargo build --locked --profile "$PROFILE" -p lakedr-cli
  BIN=target/$PROFILE/lakedr
fi
OUT=bench/out/control
rm -rf "$OUT" && mkdir -p "$OUT"
port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
.venv/bin/python tests/py/fake_databricks.py --port "$port" --fixtures ../shared/fixtures/databricks-api/exporter-test-data \
  --jobs "$JOBS" --notebooks "$NOTEBOOKS" --tables "$TABLES" &
fake=$!
trap 'kill $fake 2>/dev/null' EXIT
for _ in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.1; done

export DATABRICKS_HOST="http://127.0.0.1:$port" DATABRICKS_TOKEN=dapi-test-token
export LAKEDR_DATABRICKS_RPS=${LAKEDR_DATABRICKS_RPS:-0}
run() {  # $1: label; prints one JSON object with the run's summary and peak memory
  /usr/bin/time -f '%M' -o "$OUT/$1.rss" "$BIN" --json export --to "$OUT/dr" >"$OUT/$1.json" || true
  .venv/bin/python - "$OUT/$1.json" "$OUT/$1.rss" "$1" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
print(json.dumps({"run": sys.argv[3], "objects": sum(m["counts"].values()), "written": m["written"],
                  "unchanged": m["unchanged"], "errors": len(m["errors"]), "api_calls": m["api_calls"],
                  "seconds": m["duration_ms"] / 1000, "calls_per_s": m["api_calls"] / max(m["duration_ms"], 1) * 1000,
                  "peak_rss_mib": round(rss, 1)}))
EOF
}
{
  echo "{\"jobs\": $JOBS, \"notebooks\": $NOTEBOOKS, \"tables\": $TABLES, \"rps\": $LAKEDR_DATABRICKS_RPS, \"profile\": \"$PROFILE\", \"runs\": ["
  run first
  echo ","
  run second
  echo "]}"
} | .venv/bin/python -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2))' | tee "$OUT/../control.json"
