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
# restic, which a backup Job runs from the image (no shell, no PATH): found
# and run the way `wok backup-job` runs it.
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
path = sys.argv[1]
config = json.load(open(path))
config["process"]["args"] = ["/usr/local/bin/wok", "backup-job", "create", "--project", "p",
                             "--site", "s", "--uid", "u1", "--dir", "/tmp"]
config["process"]["env"] = [e for e in config["process"]["env"] if not e.startswith("PATH=")] + [
    "RESTIC_REPOSITORY=/tmp/repository", "RESTIC_PASSWORD_FILE=/etc/passwd",
    'WOK_BACKUP_REVISION={"revision": 1, "commit": "", "spec": {"mode": "static"}}']
json.dump(config, open(path, "w"))
PY
(cd "$work/bundle" && runc run "$id") > "$work/out" 2> "$work/err" </dev/null || true
cat "$work/out" "$work/err"
grep -q '^{"backup":{"id":"[0-9a-f]\{8\}"' "$work/out"
test -f "$work/bundle/rootfs/etc/ssl/certs/ca-certificates.crt"
test ! -e "$work/bundle/rootfs/bin/sh"
grep -q '"uid": *10001' "$work/bundle/config.json"
echo "image ok: wok version and a backup Job's restic ran under runc as uid 10001"
