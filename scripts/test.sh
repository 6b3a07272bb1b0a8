#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs packages, builds with ASan/UBSan and
# -Werror, runs every unit and integration test (real nginx, HAProxy, ... on 127.0.0.1),
# then runs each fuzz target briefly. Usage: scripts/test.sh [ctest args, e.g. -R nginx]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
jobs=$(nproc)
bash scripts/build.sh asan >/dev/null
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --test-dir build-asan --output-on-failure -j "$jobs" --timeout 900 "$@"
if [[ $# -eq 0 ]]; then
  # Thread-safety tests (label "tsan") again under ThreadSanitizer; only their targets are built.
  bash scripts/build.sh tsan openssl_concurrency_test >/dev/null
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -L tsan --no-tests=error --output-on-failure --timeout 600
  if ls tests/fuzz/*.cmake >/dev/null 2>&1; then
    bash scripts/fuzz.sh smoke
  fi
fi
