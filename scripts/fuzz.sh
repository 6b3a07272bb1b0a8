#!/usr/bin/env bash
# Builds and runs the libFuzzer targets.
#   scripts/fuzz.sh smoke            every target for FUZZ_SECONDS (default 20) each, as CI does
#   scripts/fuzz.sh run NAME [SECS]  one target for longer (default 3600 s), e.g. run formats
# Crashes are written to build-fuzz/crashes/<target>/ and fail the run.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-smoke}
bash scripts/build.sh fuzz >/dev/null
# The fuzz build does not use -fno-sanitize-recover: make every UBSan report fatal, so
# undefined behaviour counts as a crash like an ASan report does.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
targets=()
for t in build-fuzz/tests/fuzz/fuzz_*; do
  [[ -x $t ]] && targets+=("$t")
done
if ((${#targets[@]} == 0)); then
  echo "fuzz: no targets built" >&2
  exit 1
fi
run_one() {
  local bin=$1 secs=$2 name
  name=$(basename "$bin"); name=${name#fuzz_}
  local corpus=build-fuzz/corpus/$name crashes=build-fuzz/crashes/$name
  mkdir -p "$corpus" "$crashes"
  local seeds=()
  [[ -d tests/fuzz/corpus/$name ]] && seeds=("tests/fuzz/corpus/$name")
  echo "fuzz: $name for ${secs}s"
  "$bin" -max_total_time="$secs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "${seeds[@]}" \
    >"build-fuzz/$name.log" 2>&1 || { tail -40 "build-fuzz/$name.log"; return 1; }
  grep -E '^stat::number_of_executed_units' "build-fuzz/$name.log" | sed "s/^/fuzz: $name /"
}
case $mode in
  smoke)
    # One target per core at a time: the smoke run takes FUZZ_SECONDS x targets / cores.
    jobs=$(nproc)
    pids=()
    status=0
    for t in "${targets[@]}"; do
      run_one "$t" "${FUZZ_SECONDS:-20}" &
      pids+=($!)
      if ((${#pids[@]} >= jobs)); then
        wait "${pids[0]}" || status=1
        pids=("${pids[@]:1}")
      fi
    done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    exit $status ;;
  run)
    run_one "build-fuzz/tests/fuzz/fuzz_$2" "${3:-3600}" ;;
  *) echo "usage: $0 smoke | run NAME [SECONDS]" >&2; exit 2 ;;
esac
