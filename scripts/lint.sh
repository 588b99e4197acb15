#!/usr/bin/env bash
# Formatting and clippy with warnings as errors (the workspace lints are in Cargo.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
