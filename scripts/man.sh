#!/usr/bin/env bash
# Makes the man pages from the docs with go-md2man: stekd(8), stek-agent(8), stekctl(1),
# stek-scan(1) and stek.toml(5) (docs/configuration.md). Usage: scripts/man.sh OUTDIR
# The markdown's "# name(N)" title becomes the man title line; section names are upper-cased.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/man.sh OUTDIR}
command -v go-md2man >/dev/null || bash scripts/setup.sh package
mkdir -p "$out"
version=$(sed -n 's/^project(stek VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

# page NAME SECTION BODY...: the title block, then the markdown body from stdin.
page() {
  local name=$1 section=$2
  { printf '%% %s %s "" "stek %s" "stek manual"\n' "$name" "$section" "$version"; cat; } |
    go-md2man | sed 's/^\.SH \(.*\)/.SH \U\1/' >"$out/$name.$section"
}
for doc in stekd:8 stek-agent:8 stekctl:1 stek-scan:1; do
  name=${doc%:*}
  tail -n +2 "docs/$name.md" | page "$name" "${doc#*:}"
done
# configuration.md is a reference without the man sections: a Name line is put in front.
{
  printf '## Name\n\n`stek.toml` — the configuration file of stekd(8) (TOML)\n\n## Description\n\n'
  tail -n +2 docs/configuration.md
  printf '\n## See also\n\nstekd(8), stek-agent(8) (whose own configuration `stek-agent --help` prints)\n'
} | page stek.toml 5
ls "$out"
