#!/usr/bin/env bash
# The whole test suite: formatting, unit and end-to-end tests (moto server, deltalake; the
# README's first command on the bundled example is crates/lakedr-cli/tests/example.rs), and the
# SAM template lint. The arm64 release build of the functions is scripts/package.sh; clippy is
# scripts/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase prints the seconds elapsed since the start, so a slow phase shows in the log.
phase() { echo "== $1 (${SECONDS}s)"; }
phase setup
bash scripts/setup.sh
export LAKEDR_PYTHON="$PWD/.venv/bin/python"

phase format
cargo fmt --all --check

if cargo nextest --version >/dev/null 2>&1; then
  phase build
  cargo nextest run --workspace --locked --no-run --cargo-quiet
  phase tests
  cargo nextest run --workspace --locked --no-fail-fast --cargo-quiet
else
  phase build
  cargo test --workspace --locked --no-run --quiet
  phase tests
  cargo test --workspace --locked --no-fail-fast
fi

phase "SAM template"
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .tools/sam/bin/sam validate --lint --template infra/template.yaml

phase done
