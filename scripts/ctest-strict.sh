#!/bin/sh
# The test suite as CI runs it: every test ctest knows, and none may skip
# (WOK_REQUIRE_ALL=1 turns the Python tests' skips into failures; gtest
# skips and exit code 77 show up as "Skipped" in ctest's summary and fail
# here). A test that cannot run on this machine is a red build, not a pass.
# Usage: ctest-strict.sh BUILD_DIR [ctest args...]
set -eu
build=$1
shift
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
(cd "$build" && WOK_REQUIRE_ALL=1 ctest "$@") 2>&1 | tee "$log" || status=1
# ctest's pipeline status is lost in the pipe: read its summary instead.
if ! grep -q "100% tests passed" "$log"; then status=1; fi
skipped=$(grep -E "\*\*\*Skipped|Not Run" "$log" | grep -v "^The following tests did not run" || true)
if [ -n "$skipped" ]; then
  echo "error: tests were skipped; this machine must run them all:" >&2
  echo "$skipped" >&2
  status=1
fi
exit $status
