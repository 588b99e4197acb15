#!/usr/bin/env bash
# Builds the Lambda functions for arm64 (release), as `sam build` does. Installs cargo-lambda
# and zig (its cross-linker) and the aarch64 Rust target on first use.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

if [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/package-requirements.txt
fi
if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  rustup target add aarch64-unknown-linux-gnu
fi
export PATH="$PWD/.venv/bin:$PATH"

echo "== Lambda builds (arm64, release)"
cargo lambda build --release --arm64 --locked --package replicator --package ordered-sync \
  --package audit-events --package control-plane-export
ls -l target/lambda/*/bootstrap
