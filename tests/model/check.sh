#!/usr/bin/env bash
# Checks the rotation model (rotation.pml) with Spin.
#   tests/model/check.sh          the cases CI checks: inside the documented bounds every
#                                 property holds; one step outside each bound, Spin finds a
#                                 counterexample (so the bounds are tight and the checks can fail)
#   tests/model/check.sh bounds   searches the bounds: for each clock offset S, reload time R
#                                 and agent downtime C, the smallest margin M and the largest
#                                 delivery delay D for which every property holds
# Units are model ticks; I = 4 ticks per interval, H = 2, L = 2 (see docs/design.md).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/rotation.pml" "$work/"
cd "$work"

# holds ARGS...: 0 when every assertion holds in every reachable state, 1 on a counterexample
holds() {
  spin "$@" -a rotation.pml >/dev/null
  gcc -O1 -w -DSAFETY -o pan pan.c
  local out
  out=$(./pan -m400000 2>&1)
  if grep -q "errors: 0" <<<"$out" && ! grep -q "Search not completed" <<<"$out"; then
    return 0
  fi
  grep -q "errors: [1-9]" <<<"$out" || { echo "$out" >&2; echo "model: search incomplete" >&2; exit 2; }
  return 1
}

case ${1:-ci} in
  ci)
    # expect ARGS... -- holds|fails
    failed=0
    expect() {
      local want=${*: -1} args=("${@:1:$#-1}") got
      if holds "${args[@]}"; then got=holds; else got=fails; fi
      printf 'model: %-40s %-5s (expected %s)\n' "${args[*]}" "$got" "$want"
      [[ $got == "$want" ]] || failed=1
    }
    expect -DS=0 -DR=0 -DD=8 -DM=0 holds          # no skew, instant reloads: no margin needed
    expect -DS=0 -DR=0 -DD=9 -DM=0 fails          # a ring later than L intervals: no key (P4)
    expect -DS=1 -DR=1 -DD=6 -DM=3 holds          # margin 2S+R covers skew and reload
    expect -DS=1 -DR=1 -DD=6 -DM=2 fails          # one tick less margin breaks P1
    expect -DS=1 -DR=1 -DD=7 -DM=3 fails          # one tick more delay breaks P1/P4
    expect -DS=0 -DR=1 -DC=2 -DD=1 -DM=3 holds    # agent down 2 ticks: margin R+C
    expect -DS=1 -DR=1 -DC=2 -DD=1 -DM=6 fails    # 2S+R+C above I-1: a late host refuses next
    expect -DS=1 -DR=1 -DD=2 -DM=3 -DJ=3 holds    # stekd's clock steps back: no second secret
    expect -DS=1 -DR=1 -DD=2 -DM=3 -DROT=1 holds  # domain secret rotation at any time
    exit $failed ;;
  bounds)
    printf '%s\n' "S R C  smallest-M  largest-D(at that M)"
    for S in 0 1; do for R in 0 1 2; do for C in 0 1 2; do
      m=none
      for M in 0 1 2 3 4 5 6 7; do
        if holds -DS=$S -DR=$R -DC=$C -DD=1 -DM=$M; then m=$M; break; fi
      done
      d=-
      if [[ $m != none ]]; then
        for D in 1 2 3 4 5 6 7 8 9; do
          holds -DS=$S -DR=$R -DC=$C -DD=$D -DM=$m || break
          d=$D
        done
      fi
      echo "$S $R $C  $m  $d"
    done; done; done ;;
  *) echo "usage: $0 [ci|bounds]" >&2; exit 2 ;;
esac
