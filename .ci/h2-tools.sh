#!/usr/bin/env bash
# The HTTP/2 clients for the HTTP/2 tests, installed into a rebuildable cache under target/
# (never committed; delete it to start over):
#
#   venv/   a Python venv with PyPI `httpx[http2]` (httpx over HTTP/2, with and without TLS)
#           and the `h2` library it brings (raw frames: 103 before the final HEADERS,
#           RST_STREAM, GOAWAY, one stream silent while another answers)
#   env     `export` lines: H2_PYTHON (that venv's python), H2LOAD (Debian `nghttp2-client`'s
#           h2load, for benches/h2.py)
#
# Idempotent: a second run finds everything in place and only rewrites `env`.
# Usage: .ci/h2-tools.sh [CACHE_DIR]   (default target/h2-tools), then . target/h2-tools/env
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache=${1:-target/h2-tools}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

HTTPX_SPEC='httpx[http2]>=0.27,<1'

venv=$cache/venv
# shellcheck source=.ci/tools-lib.sh
. .ci/tools-lib.sh
py_venv "$venv" 'httpx, h2' "$HTTPX_SPEC"
versions=$("$venv/bin/python" -c 'import importlib.metadata as m; print("httpx", m.version("httpx"), "h2", m.version("h2"))')

if ! command -v h2load >/dev/null 2>&1; then
    echo "h2load missing: installing nghttp2-client"
    apt_install nghttp2-client
fi
h2load=$(command -v h2load)

cat >"$cache/env" <<ENV
# Written by .ci/h2-tools.sh; source it before cargo test.
export H2_PYTHON='$venv/bin/python'
export H2LOAD='$h2load'
ENV

echo "H2_PYTHON=$venv/bin/python ($versions)"
echo "H2LOAD=$h2load"
echo "env file: $cache/env"
printf 'h2 tools ready in %d s\n' $((SECONDS - started))
