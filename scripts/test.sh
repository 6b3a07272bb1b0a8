#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs packages, checks formatting, builds with
# ASan/UBSan and -Werror, runs every unit and integration test (real nginx, HAProxy, ... on
# 127.0.0.1), the thread-safety tests under TSan, then each fuzz target briefly.
# Usage: scripts/test.sh [ctest args, e.g. -R nginx]   (with args: only that ctest run)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
phase() { echo "test.sh: $1 done at $((SECONDS - start)) s" >&2; }
bash scripts/setup.sh build
phase "package setup (compilers, libraries)"
# The test peers (nginx, HAProxy, ...) and clang's tools install while the ASan build
# compiles: on a fresh machine that hides most of the download and unpacking. So does
# debootstrap's Debian 12 root for integration.fresh_install (minutes; cached in /tmp/stek-fresh,
# made by the test itself if this fails).
setup_log=$(mktemp)
{
  bash scripts/setup.sh clang peers package || exit 1
  if [[ $(id -u) -eq 0 ]]; then
    PYTHONPATH=tests/integration PYTHONDONTWRITEBYTECODE=1 /usr/bin/python3 -m stektest.freshroot ||
      echo "test.sh: the fresh root's base was not made; integration.fresh_install makes it" >&2
  fi
} >"$setup_log" 2>&1 &
setup_pid=$!
jobs=$(nproc)
bash scripts/build.sh asan >/dev/null
phase "asan build"
if ! wait "$setup_pid"; then
  cat "$setup_log" >&2
  echo "test.sh: installing the test peers failed" >&2
  exit 1
fi
rm -f "$setup_log"
phase "package setup (peers, clang)"
if [[ $# -eq 0 ]]; then
  bash scripts/format.sh --check
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
# The peers are installed above: a test whose peer is missing fails instead of skipping.
export STEK_REQUIRE_PEERS=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Twice as many tests as cores: the integration tests spend most of their time waiting for
# servers, boundaries and timeouts (measured: under half the CPU at one test per core).
ctest --test-dir build-asan --output-on-failure -j "$((2 * jobs))" --timeout 900 "$@"
phase "unit and integration tests"
if [[ $# -eq 0 ]]; then
  # Thread-safety tests (label "tsan") again under ThreadSanitizer; only their targets are built.
  bash scripts/build.sh tsan openssl_concurrency_test >/dev/null
  TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan -L tsan --no-tests=error --output-on-failure --timeout 600
  phase "tsan build and tests"
  bash scripts/fuzz.sh smoke
  phase "fuzz build and smoke"
fi
