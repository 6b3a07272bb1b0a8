#!/usr/bin/env bash
# The in-domain resumption stress run (scripts/stress.py --help): installs stress-ng, builds
# the release programs, runs the fleet under load and writes every failure with its timeline
# to stress.jsonl. Not part of scripts/test.sh: it runs for minutes (10,000 resumptions).
#   scripts/stress.sh [--resumptions N] [--interval S] [--load "stress-ng args" | none]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build peers stress
bash scripts/build.sh release stekd stek-agent stekctl >/dev/null
exec /usr/bin/python3 scripts/stress.py "$@"
