#!/usr/bin/env bash
# The whole test suite: formatting, lints, unit and end-to-end tests (moto, deltalake), the SAM
# template lint, the Lambda builds, and the README's first command on the bundled example.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export LAKEDR_PYTHON="$PWD/.venv/bin/python"
export PATH="$PWD/.venv/bin:$PATH"

echo "== format"
cargo fmt --all --check

echo "== tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --locked --no-fail-fast
else
  cargo test --workspace --locked --no-fail-fast
fi

echo "== SAM template"
AWS_DEFAULT_REGION=us-east-1 .tools/sam/bin/sam validate --lint --template infra/template.yaml

echo "== README example: sync the bundled lakehouse to a local DR directory"
rm -rf examples/dr
cargo run --quiet --locked -p lakedr-cli -- --config examples/lakedr.toml sync

echo "== Lambda builds (arm64, release)"
cargo lambda build --release --arm64 --locked --package replicator --package ordered-sync
ls -l target/lambda/*/bootstrap
