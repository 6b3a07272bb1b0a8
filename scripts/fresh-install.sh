#!/usr/bin/env bash
# Installs the built packages into a fresh Debian 12 root and runs stek from the installed files
# as the stek user, the way a new operator would: the ctest integration.fresh_install
# (tests/integration/test_fresh_install.py, steps in tests/integration/stektest/freshroot.py),
# run on packages you choose, its report printed. Needs root, debootstrap, chromium and network
# for apt (docs/packaging.md, "Tests").
#   scripts/fresh-install.sh [PACKAGES_DIR]     (default: build/packages, see scripts/package.sh)
# The debootstrap base is cached in /tmp/stek-fresh/base ($FRESH_BASE; shared with
# ../shared/tools/fresh-root.sh); each run works in a copy beside it.
set -euo pipefail
cd "$(dirname "$0")/.."
debs=$(realpath "${1:-build/packages}")
ls "$debs"/stek_*.deb "$debs"/libstek-dev_*.deb >/dev/null
bash scripts/setup.sh peers
STEK_FRESH_DEBS=$debs PYTHONPATH=tests/integration PYTHONDONTWRITEBYTECODE=1 \
  /usr/bin/python3 -m pytest -q -s -p no:cacheprovider tests/integration/test_fresh_install.py
