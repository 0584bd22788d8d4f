#!/bin/sh
# npm install in DIR, idempotent: skipped when node_modules matches the
# lock file; tolerated offline when node_modules is already there.
set -eu
dir=$1
cd "$dir"
stamp=node_modules/.package-lock.json
if [ -f "$stamp" ] && [ ! package-lock.json -nt "$stamp" ] && [ ! package.json -nt "$stamp" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed in $dir (the console's libraries, the Kubernetes schema tests)" >&2
  exit 1
fi
if npm install --no-audit --no-fund --loglevel=error; then
  exit 0
fi
if [ -d node_modules ]; then
  echo "warning: npm install failed in $dir; using the node_modules already there" >&2
  exit 0
fi
echo "error: npm install failed in $dir and there is no node_modules: is the npm registry reachable?" >&2
exit 1
