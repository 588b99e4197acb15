#!/usr/bin/env bash
# Installs what the tests need, idempotently, without Docker or an AWS account: a virtualenv
# (.venv) with moto server, deltalake and pyarrow; the SAM CLI in its own (.tools/sam: its pins
# clash with moto's); MLflow in a third (.tools/mlflow); pyspark in a fourth (.tools/spark). The pins cover each whole dependency
# closure, so pip installs them with --no-deps and never runs its resolver. Then the Terraform
# provider schema (npm, .tools/cdktf).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import moto.server, deltalake, pyarrow, jsonpath_ng" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check --no-deps \
    -r tests/py/requirements.txt
fi

if [ ! -x .tools/sam/bin/sam ]; then
  python3 -m venv .tools/sam
  .tools/sam/bin/pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    -r scripts/sam-requirements.txt
fi

# A real MLflow tracking server and registry (its own venv: its pins differ from moto's).
# Compiled at install: the server starts in a third of the time when it finds bytecode.
if [ ! -x .tools/mlflow/bin/mlflow ]; then
  python3 -m venv .tools/mlflow
  .tools/mlflow/bin/pip install --quiet --disable-pip-version-check --no-deps \
    -r tests/py/mlflow-requirements.txt
fi

# Real Structured Streaming (pyspark, on the machine's Java) with deltalake for the stream tests.
if ! .tools/spark/bin/python -c "import pyspark, deltalake, pandas" 2>/dev/null; then
  python3 -m venv .tools/spark
  .tools/spark/bin/pip install --quiet --disable-pip-version-check --no-deps \
    -r tests/py/spark-requirements.txt
fi

# The Databricks Terraform provider's schema, as its generated bindings (npm): the tests check
# every generated resource and attribute against it.
CDKTF=.tools/cdktf
if [ ! -f "$CDKTF/package/package.json" ]; then
  mkdir -p "$CDKTF"
  (cd "$CDKTF" && npm pack --silent @cdktf/provider-databricks@15.16.1 >/dev/null \
    && tar xzf cdktf-provider-databricks-15.16.1.tgz && rm cdktf-provider-databricks-15.16.1.tgz)
fi
