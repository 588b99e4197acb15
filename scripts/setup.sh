#!/usr/bin/env bash
# Installs what the tests need, idempotently, without Docker or an AWS account: a virtualenv
# (.venv) with moto server, deltalake and pyarrow, and the SAM CLI in its own (.tools/sam: its
# pins clash with moto's). The pins cover each whole dependency closure, so pip installs them
# with --no-deps and never runs its resolver.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import moto.server, deltalake, pyarrow" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
    -r tests/py/requirements.txt
fi

if [ ! -x .tools/sam/bin/sam ]; then
  python3 -m venv .tools/sam
  .tools/sam/bin/pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    -r scripts/sam-requirements.txt
fi
