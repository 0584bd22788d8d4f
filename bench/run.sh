#!/bin/sh
# `make bench`: installs the peers (nginx, HAProxy, h2o, wrk, h2load), builds the router
# benchmark binary in build-bench/, and runs bench/bench.py. Never run by CI.
set -eu
cd "$(dirname "$0")/.."
./scripts/install-deps.sh nginx haproxy h2o wrk nghttp2-client openssl
# Installing nginx must not leave a system nginx running on port 80.
if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx haproxy h2o >/dev/null 2>&1 || true; fi
lock=/tmp/wok-build.lock
cmake -S . -B build-bench -G Ninja -DWOK_BENCH=ON -DBUILD_TESTING=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
flock "$lock" cmake --build build-bench --target wok_router_bench wok
exec python3 bench/bench.py --wok build-bench/bench/wok_router_bench --wok-bin build-bench/src/wok "$@"
