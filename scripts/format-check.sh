#!/bin/sh
# The C++ sources against .clang-format (Google style, 100 columns): run by
# `make test` (ctest format.check). `--fix` rewrites them instead.
# Usage: format-check.sh [--fix]
set -eu
cd "$(dirname "$0")/.."
if ! command -v clang-format >/dev/null 2>&1; then
  echo "error: clang-format is not installed (make deps installs it)" >&2
  exit 1
fi
if [ -d .git ] || git rev-parse --git-dir >/dev/null 2>&1; then
  files=$(git ls-files 'src/*.cc' 'src/*.h' 'tests/*.cc' 'tests/*.h' 'bench/*.cc' 'fuzz/*.cc')
else
  files=$(find src tests bench fuzz -name '*.cc' -o -name '*.h')
fi
if [ "${1:-}" = "--fix" ]; then
  # shellcheck disable=SC2086 # one word per file
  clang-format -i $files
  exit 0
fi
# shellcheck disable=SC2086
if ! clang-format --dry-run -Werror $files 2>&1 | head -40; then :; fi
# shellcheck disable=SC2086
if ! clang-format --dry-run -Werror $files >/dev/null 2>&1; then
  echo "error: these files are not formatted as .clang-format says; scripts/format-check.sh --fix rewrites them" >&2
  exit 1
fi
echo "$(echo "$files" | wc -l) files formatted as .clang-format says"
