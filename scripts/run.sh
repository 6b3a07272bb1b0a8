#!/usr/bin/env bash
# The main job on the embedded default: sets up, builds, and runs stek with no external
# services. Extra arguments go to the command it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh release stekctl >/dev/null
exec build/apps/stekctl/stekctl demo "$@"
