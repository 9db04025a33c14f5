#!/usr/bin/env bash
# Installs what is missing, builds mlo and runs the whole test suite with ctest: first the release
# build, then the address+undefined sanitizer build (set MLO_SKIP_SANITIZE=1 to skip the second).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
jobs=$(nproc)

run_suite() {
  local preset=$1
  echo "== $preset build" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  ctest --preset "$preset" -j "$jobs"
}

run_suite release
if [ "${MLO_SKIP_SANITIZE:-0}" != 1 ]; then
  run_suite sanitize
fi
