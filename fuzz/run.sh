#!/bin/sh
# Builds the libFuzzer targets with clang in BUILD_DIR and runs each one for
# a share of SECONDS, from a working corpus seeded by fuzz/corpus/<target>.
# Exits non-zero on the first crash; the reproducer is left in BUILD_DIR.
# Usage: fuzz/run.sh BUILD_DIR SECONDS
set -eu
build=${1:?build dir}
seconds=${2:-60}
src=$(cd "$(dirname "$0")" && pwd)
CC=clang CXX=clang++ cmake -S "$src" -B "$build" -G Ninja >/dev/null
cmake --build "$build"
# The request parser is the larger attack surface (every visitor): it gets
# half the time; upstream responses (tenants' apps and scripts) and the
# path decoder a quarter each.
parser_s=$(( seconds / 2 )); [ "$parser_s" -ge 1 ] || parser_s=1
response_s=$(( seconds / 4 )); [ "$response_s" -ge 1 ] || response_s=1
path_s=$(( seconds - parser_s - response_s )); [ "$path_s" -ge 1 ] || path_s=1
for t in request_parser:$parser_s upstream_response:$response_s request_path:$path_s; do
  name=${t%%:*}
  secs=${t#*:}
  corpus="$build/corpus-$name"
  mkdir -p "$corpus"
  cp -n "$src/corpus/$name"/* "$corpus"/ 2>/dev/null || true
  echo "fuzzing $name for ${secs}s"
  "$build/${name}_fuzzer" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$build/" "$corpus" 2>"$build/$name.log" || {
    tail -40 "$build/$name.log"
    echo "fuzz: $name crashed; reproducer in $build/ (see $build/$name.log)" >&2
    exit 1
  }
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/$name.log" | sed "s/^/  $name /"
done
