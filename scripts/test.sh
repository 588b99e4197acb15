#!/usr/bin/env bash
# The whole test suite: formatting, unit and end-to-end tests (moto server, deltalake; the
# README's first command on the bundled example is crates/lakedr-cli/tests/example.rs), and the
# SAM template lint. The arm64 release build of the functions is scripts/package.sh; clippy is
# scripts/lint.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LAKEDR_PYTHON="$PWD/.venv/bin/python"

echo "== format"
cargo fmt --all --check

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

echo "== SAM template"
SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 .tools/sam/bin/sam validate --lint --template infra/template.yaml

