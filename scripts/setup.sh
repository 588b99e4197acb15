#!/usr/bin/env bash
# Installs everything the tests need, idempotently, without Docker or an AWS account:
#   .venv/       moto server, deltalake + pyarrow, cargo-lambda + zig
#   .tools/sam/  aws-sam-cli in its own virtualenv (its pins clash with moto's)
#   the aarch64 Rust target for `cargo lambda build --arm64`
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import moto, deltalake, pyarrow" 2>/dev/null || [ ! -x .venv/bin/cargo-lambda ]; then
  .venv/bin/pip install --quiet --disable-pip-version-check -r tests/py/requirements.txt
fi

if [ ! -x .tools/sam/bin/sam ]; then
  python3 -m venv .tools/sam
  .tools/sam/bin/pip install --quiet --disable-pip-version-check aws-sam-cli==1.170.0
fi

if ! rustup target list --installed | grep -q '^aarch64-unknown-linux-gnu$'; then
  rustup target add aarch64-unknown-linux-gnu
fi
