#!/bin/sh
# `make image` for real: build the OCI image from scratch, unpack it, and run
# `wok version` inside it with runc. Usage: image_test.sh WOK_BINARY
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
wok=$1
if ! command -v runc >/dev/null || ! command -v umoci >/dev/null; then
  echo "SKIP: runc and umoci are needed (apt-get install runc umoci)" >&2
  exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: running a runc container here needs root" >&2
  exit 77
fi
work=$(mktemp -d)
id=wok-image-test-$$
trap 'runc delete -f "$id" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

"$ROOT/scripts/make-image.sh" "$wok" "$work/image" test
umoci unpack --image "$work/image:test" "$work/bundle"
# No terminal: the test's output is a pipe.
sed -i 's/"terminal": *true/"terminal": false/' "$work/bundle/config.json"
# No network namespace setup: `wok version` finds no server and says so.
(cd "$work/bundle" && runc run "$id") > "$work/out" 2> "$work/err" </dev/null
cat "$work/out" "$work/err"
grep -q "^Client Version: " "$work/out"
# Only what the image holds: the binary, its libraries, certificates.
test -x "$work/bundle/rootfs/usr/local/bin/wok"
test -f "$work/bundle/rootfs/etc/ssl/certs/ca-certificates.crt"
test ! -e "$work/bundle/rootfs/bin/sh"
grep -q '"uid": *10001' "$work/bundle/config.json"
echo "image ok: wok version ran under runc as uid 10001"
