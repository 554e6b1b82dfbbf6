#!/usr/bin/env bash
# The state store for the replica tests (tests/it/replicas.rs): Debian's redis-server, and an
# env file under a rebuildable cache in target/ (never committed):
#
#   env     `export` line: REDIS_SERVER (the redis-server binary)
#
# The tests start their own redis-server on free loopback ports without persistence; this
# script starts none and stops the service Debian's package may start on port 6379.
# Idempotent: a second run finds the package installed and only rewrites `env`.
# Usage: .ci/redis-tools.sh [CACHE_DIR]   (default target/redis-tools), then
#        . target/redis-tools/env
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache=${1:-target/redis-tools}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# shellcheck source=.ci/tools-lib.sh
. .ci/tools-lib.sh
if ! [ -x /usr/bin/redis-server ]; then
    echo "apt-get install redis-server"
    apt_install redis-server
    # No service on the default port: the tests bring their own.
    if command -v service >/dev/null 2>&1; then
        service redis-server stop >/dev/null 2>&1 || true
    fi
fi
version=$(/usr/bin/redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')

cat >"$cache/env" <<ENV
# Written by .ci/redis-tools.sh; source it before cargo test.
export REDIS_SERVER='/usr/bin/redis-server'
ENV

echo "REDIS_SERVER=/usr/bin/redis-server (redis $version)"
echo "env file: $cache/env"
printf 'redis tools ready in %d s\n' $((SECONDS - started))
