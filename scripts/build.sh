#!/usr/bin/env bash
# Configures and builds stek. Usage: scripts/build.sh [release|debug|asan|tsan|fuzz] [ninja args]
#   release (default): optimised, for running and benchmarks        -> build/
#   asan:    ASan + UBSan, warnings as errors, for the test suite   -> build-asan/
#   tsan:    ThreadSanitizer, for the concurrency tests             -> build-tsan/
#   fuzz:    clang + libFuzzer targets (only the fuzz_* programs)    -> build-fuzz/
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-release}
shift || true
if [[ $kind == fuzz ]]; then bash scripts/setup.sh build clang; else bash scripts/setup.sh build; fi
case $kind in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  debug) dir=build-debug; flags=(-DCMAKE_BUILD_TYPE=Debug -DSTEK_WERROR=ON) ;;
  # -g1 (functions and line tables, enough for sanitizer and gdb backtraces) compiles about a
  # quarter faster than full -g, which CI pays on every fresh machine.
  # No benchmarks here: no test runs them, and under ASan at -O0 their one large Beast client
  # (fanout_client) was the last object of the build on 2 cores. scripts/bench.sh builds them.
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSTEK_WERROR=ON -DSTEK_SANITIZE=ON -DSTEK_BENCH=OFF
                               "-DCMAKE_CXX_FLAGS_DEBUG=-g1" "-DCMAKE_C_FLAGS_DEBUG=-g1") ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEK_TSAN=ON -DSTEK_BENCH=OFF
                               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  fuzz) dir=build-fuzz; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTEK_FUZZ=ON -DSTEK_TESTS=OFF -DSTEK_BENCH=OFF
                               "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                               -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "usage: $0 [release|debug|asan|tsan|fuzz]" >&2; exit 2 ;;
esac
# Precompiled headers are safe to cache when ccache ignores their time stamps.
export CCACHE_SLOPPINESS=${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
targets=("$@")
if [[ $kind == fuzz && ${#targets[@]} -eq 0 ]]; then
  # The fuzz build exists for its fuzz_* programs: build those (and what they link), not the
  # programs and tests, which the asan build already covers.
  mapfile -t targets < <(ninja -C "$dir" -t targets all | sed -n 's/^\(fuzz_[A-Za-z0-9_]*\): .*/\1/p')
fi
ninja -C "$dir" "${targets[@]}"
echo "$dir"
