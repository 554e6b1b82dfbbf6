#!/usr/bin/env bash
# The reference tool for the OpenAPI tests, installed into a rebuildable cache under target/
# (never committed; delete it to start over):
#
#   venv/   a Python venv with PyPI `schemathesis` (generates requests from a spec and checks
#           that the answers conform to it: status codes, content types, headers, schemas)
#   env     `export` line: SCHEMATHESIS (the `st` command)
#
# Idempotent: a second run finds everything in place and only rewrites `env`.
# Usage: .ci/openapi-tools.sh [CACHE_DIR]   (default target/openapi-tools), then
#        . target/openapi-tools/env
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache=${1:-target/openapi-tools}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

SCHEMATHESIS_SPEC='schemathesis>=4,<5'

venv=$cache/venv
if [ ! -x "$venv/bin/st" ] || ! "$venv/bin/python" -c 'import schemathesis' 2>/dev/null; then
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m venv --help >/dev/null 2>&1; then
        echo "python3 or its venv module missing: installing python3 and python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3 python3-venv >/dev/null
    fi
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        echo "python3 -m venv failed: installing python3-venv"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
    echo "pip install $SCHEMATHESIS_SPEC"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$SCHEMATHESIS_SPEC"
fi
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))')

cat >"$cache/env" <<ENV
# Written by .ci/openapi-tools.sh; source it before cargo test.
export SCHEMATHESIS='$venv/bin/st'
ENV

echo "SCHEMATHESIS=$venv/bin/st (schemathesis $version)"
echo "env file: $cache/env"
printf 'openapi tools ready in %d s\n' $((SECONDS - started))
