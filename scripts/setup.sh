#!/usr/bin/env bash
# Installs every Debian 12 package stek needs to build, test, fuzz and benchmark.
# Idempotent: packages already present are skipped; safe to run on every build.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache clang-format
  # libraries
  libssl-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  libfmt-dev libyaml-cpp-dev libboost-dev
  # tests, fuzzing, benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev clang libclang-rt-14-dev
  # real peers used by the integration tests
  python3-pytest
  openssl curl python3 nginx-light haproxy apache2 gnutls-bin
  # stekd under a stepped clock (test_clock_step.py)
  faketime libfaketime
  # stek-scan: renders its SVG timeline to PNG in tests
  librsvg2-bin
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Services from these packages must not start on the host: the tests start their own
# instances on 127.0.0.1 with their own configs. policy-rc.d exit 101 tells
# invoke-rc.d to leave them alone.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 0755 "$policy"
  created_policy=1
fi
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if ((created_policy)); then
  $SUDO rm -f "$policy"
fi
