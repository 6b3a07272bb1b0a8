#!/usr/bin/env bash
# Builds the Debian packages stek_<version>_<arch>.deb and libstek-dev_<version>_<arch>.deb
# (cmake/package.cmake, docs/packaging.md).
#   scripts/package.sh                    release build in build/, packages in build/packages/
#   scripts/package.sh BUILD_DIR [OUT]    package an existing build as it is (the tests package
#                                         build-asan/: its programs carry the sanitizers)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build package
programs=(stekd stek-agent stekctl stek-scan)
libraries=(stek_core stek_crypto stek_formats stek_io stek_openssl)
if (($# == 0)); then
  dir=$(bash scripts/build.sh release "${programs[@]}" "${libraries[@]}" | tail -n 1)
else
  dir=$1
  for p in "${programs[@]}"; do
    [[ -x $dir/apps/$p/$p ]] || { echo "package: $dir/apps/$p/$p is missing: build it first" >&2; exit 1; }
  done
fi
out=$(realpath -m "${2:-$dir/packages}")
mkdir -p "$out"
# The man pages, then cpack: each component (stek, libstek) is installed into a staging tree
# under $out/_CPack_Packages and packed.
bash scripts/man.sh "$dir/man" >/dev/null
# STEK_DEB_COMPRESSION: gzip by default; the tests use zstd (dpkg >= 1.21.18) to pack the large
# sanitizer builds quickly.
cpack -G DEB -D CPACK_STRIP_FILES=ON -D CPACK_DEBIAN_COMPRESSION_TYPE="${STEK_DEB_COMPRESSION:-gzip}" --config "$dir/CPackConfig.cmake" -B "$out" >"$out/cpack.log" 2>&1 ||
  { cat "$out/cpack.log" >&2; exit 1; }
rm -rf "$out/_CPack_Packages"
ls "$out"/*.deb
