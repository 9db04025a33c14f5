#!/usr/bin/env bash
# Installs what is missing, builds mlo (release) and runs the quickstart end to end: data versioning,
# then the examples/churn pipeline (train, re-train with another param, compare the runs).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
MLO="$PWD/build/release/mlo" examples/quickstart/run.sh
