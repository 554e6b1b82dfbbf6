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
# shellcheck source=.ci/tools-lib.sh
. .ci/tools-lib.sh
py_venv "$venv" schemathesis "$SCHEMATHESIS_SPEC"
version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("schemathesis"))')

cat >"$cache/env" <<ENV
# Written by .ci/openapi-tools.sh; source it before cargo test.
export SCHEMATHESIS='$venv/bin/st'
ENV

echo "SCHEMATHESIS=$venv/bin/st (schemathesis $version)"
echo "env file: $cache/env"
printf 'openapi tools ready in %d s\n' $((SECONDS - started))
