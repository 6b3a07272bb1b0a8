#!/usr/bin/env bash
# Builds the release tree and runs every Google Benchmark program (build/bench/bench_*), then
# prints each benchmark's ratio against its baseline from the same run (bench/ratios.py).
# Not part of the test command. Extra arguments go to each program, e.g.
#   scripts/bench.sh --benchmark_filter=Find --benchmark_repetitions=5
# The stekd fan-out load test is separate: bench/fanout.py (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
found=0
for b in build/bench/bench_*; do
  [[ -f $b && -x $b ]] || continue
  found=1
  name=$(basename "$b")
  echo "bench: $name"
  "$b" --benchmark_out="$out/$name.json" --benchmark_out_format=json "$@"
  echo
  if [[ ! -s $out/$name.json ]]; then
    echo "bench: no benchmark of $name matched the filter"
    echo
    continue
  fi
  echo "ratios against same-run baselines ($name):"
  /usr/bin/python3 bench/ratios.py "$out/$name.json"
  echo
done
if ((found == 0)); then
  echo "bench: no programs under build/bench/ (is libbenchmark-dev installed?)" >&2
  exit 1
fi
