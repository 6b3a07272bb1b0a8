#!/usr/bin/env bash
# clang-format over every C and C++ file in git, with the repository's .clang-format.
#   scripts/format.sh          rewrites the files in place
#   scripts/format.sh --check  changes nothing; lists unformatted files and exits 1 (CI)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh clang
mapfile -t files < <(git ls-files '*.c' '*.cc' '*.h' '*.cpp' '*.hpp')
if [[ ${1:-} == --check ]]; then
  bad=()
  for f in "${files[@]}"; do
    clang-format --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
  done
  if ((${#bad[@]})); then
    printf 'format: not clang-formatted (run scripts/format.sh): %s\n' "${bad[@]}" >&2
    exit 1
  fi
  echo "format: ${#files[@]} files clang-formatted"
else
  clang-format -i "${files[@]}"
fi
