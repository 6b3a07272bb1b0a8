#!/usr/bin/env bash
# The main job on the embedded default: installs packages, builds, and runs stek's local
# fleet (scripts/fleet.py): stekd on its embedded sealed store, two domains of two hosts,
# each host a stek-agent feeding a real server (eu-west: nginx, us-east: HAProxy), all on
# 127.0.0.1. No external services.
# Runs until Ctrl-C or SIGTERM; arguments go to fleet.py (see scripts/fleet.py --help),
# e.g. scripts/run.sh --interval 5 --duration 60.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build peers
bash scripts/build.sh release stekd stek-agent stekctl >/dev/null
exec /usr/bin/python3 scripts/fleet.py "$@"
