#!/usr/bin/env bash
# The whole test suite: formatting, unit and end-to-end tests (moto server, deltalake; the
# README's first command on the bundled example is crates/lakedr-cli/tests/example.rs), a build
# of every binary (the Lambda functions included), the arm64 release build of the functions
# (scripts/package.sh), and the SAM template lint. Clippy is scripts/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase prints the seconds elapsed since the start, so a slow phase shows in the log.
phase() { echo "== $1 (${SECONDS}s)"; }
logs=$(mktemp -d)

# The Python tools install while Rust compiles: the build does not need them.
phase "setup (in the background)"
bash scripts/setup.sh >"$logs/setup" 2>&1 &
setup=$!

phase format
cargo fmt --all --check

if cargo nextest --version >/dev/null 2>&1; then
  phase build
  cargo nextest run --workspace --locked --no-run --cargo-quiet
  cargo build --workspace --bins --locked --quiet
  run_tests() { cargo nextest run --workspace --locked --no-fail-fast --cargo-quiet; }
else
  phase build
  cargo test --workspace --locked --no-run --quiet
  cargo build --workspace --bins --locked --quiet
  run_tests() { cargo test --workspace --locked --no-fail-fast; }
fi

phase "setup done?"
if ! wait "$setup"; then
  cat "$logs/setup"
  exit 1
fi
export LAKEDR_PYTHON="$PWD/.venv/bin/python"

# The template lint is a single Python process: it runs beside the tests.
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .tools/sam/bin/sam validate --lint \
  --template infra/template.yaml >"$logs/sam" 2>&1 &
sam=$!

phase tests
run_tests

phase "SAM template"
sam_status=0
wait "$sam" || sam_status=$?
cat "$logs/sam"
[ "$sam_status" -eq 0 ]

# The functions as deployed: arm64 release builds with cargo lambda (zig links them). They need
# the aarch64 standard library (rustup's target); where it cannot be had, the log says so.
phase "Lambda functions, arm64 release"
targets=$(rustup target list --installed 2>/dev/null || true)
if [[ $'\n'"$targets"$'\n' == *$'\n'aarch64-unknown-linux-gnu$'\n'* ]] ||
  timeout 300 rustup target add aarch64-unknown-linux-gnu >/dev/null 2>&1; then
  bash scripts/package.sh
else
  echo "NOT BUILT: the aarch64 standard library is not installed and rustup could not fetch it"
fi

phase done
