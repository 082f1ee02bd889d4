#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite with ctest.
#   scripts/test.sh              the normal build (build/)
#   scripts/test.sh --sanitize   the ASan + UBSan build (build-asan/)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
if [ "${1:-}" = "--sanitize" ]; then
  export ATOMCUT_SANITIZE=1
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fi
bash scripts/setup.sh
build_dir="${ATOMCUT_BUILD_DIR:-build}"
if [ "${ATOMCUT_SANITIZE:-0}" = "1" ]; then build_dir="${ATOMCUT_BUILD_DIR:-build-asan}"; fi
ctest --test-dir "$build_dir" --output-on-failure -j "${ATOMCUT_TEST_JOBS:-2}" --timeout 900
