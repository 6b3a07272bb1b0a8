#!/usr/bin/env bash
# Installs every Debian 12 package stek needs to build, test, fuzz and benchmark.
# Idempotent: packages already present are skipped; safe to run on every build.
set -euo pipefail

# Package groups, so the test run can install what only the tests and fuzzing need while the
# first build compiles:  scripts/setup.sh [build] [clang] [peers] [package] [stress]
# (no argument: build, clang, peers and package)
build=(
  build-essential cmake ninja-build pkg-config ccache
  libssl-dev nlohmann-json3-dev libcli11-dev libtomlplusplus-dev libspdlog-dev
  libfmt-dev libyaml-cpp-dev libboost-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsystemd-dev
)
# clang's tools: libFuzzer (fuzz builds) and clang-format (scripts/format.sh)
clang=(clang libclang-rt-14-dev clang-format)
# real peers and clients used by the integration tests; librsvg2-bin renders stek-scan's SVG
# timeline to PNG in its tests; spin checks the rotation protocol's model (tests/model);
# faketime steps stekd's clock (test_clock_step.py); etcd-server is the 3-member cluster that
# stekd replicas share in test_stekd_etcd.py (docs/etcd.md); caddy (Go crypto/tls),
# libnss3-tools (NSS selfserv) and openjdk-17-jdk-headless (JSSE, run from source) are the
# other TLS stacks whose ticket layouts stek-scan tells apart (test_scan_stacks.py); chromium
# renders the status pages headless (test_status_page.py); prometheus brings promtool, which
# checks the alert rules and the /metrics text, logrotate checks the shipped rotation config,
# python3-yaml reads the rules (test_observability.py); debootstrap makes the fresh Debian 12
# root the packages are installed into (test_fresh_install.py)
peers=(
  python3-pytest openssl curl python3 nginx-light haproxy apache2 trafficserver h2o gnutls-bin
  librsvg2-bin spin faketime libfaketime etcd-server caddy libnss3-tools openjdk-17-jdk-headless
  chromium prometheus logrotate python3-yaml debootstrap
)
# the Debian package (scripts/package.sh): go-md2man makes the man pages from docs/ (a 2 MB Go
# program; pandoc would bring about 200 MB), dpkg-dev's dpkg-shlibdeps computes the
# dependencies, systemd-analyze (systemd) checks the units in test_package.py (and each unit's
# Documentation= man page with man(1), from man-db), CPack's DEB generator refuses to compute
# dependencies without file(1); a minimal Debian 12 has neither file nor man
package=(go-md2man dpkg-dev systemd man-db file)
# the stress harness's load (scripts/stress.sh), not needed by the test suite
stress=(stress-ng)

groups=("$@")
((${#groups[@]})) || groups=(build clang peers package)
packages=()
for g in "${groups[@]}"; do
  case $g in
    build) packages+=("${build[@]}") ;;
    clang) packages+=("${clang[@]}") ;;
    peers) packages+=("${peers[@]}") ;;
    package) packages+=("${package[@]}") ;;
    stress) packages+=("${stress[@]}") ;;
    *) echo "usage: $0 [build] [clang] [peers] [package] [stress]" >&2; exit 2 ;;
  esac
done

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
