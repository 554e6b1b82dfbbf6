#!/usr/bin/env bash
# The reference tools for WireMock compatibility tests, installed into a rebuildable cache under
# target/ (never committed; delete it to start over):
#
#   java                  Debian's default-jdk-headless, via apt, only when `java` is missing
#   node_modules/         npm wiremock@3.13.2 (ships the real WireMock standalone jar, which also
#                         holds the Java client DSL) and wiremock-captain@4.1.3 (a Node client)
#   venv/                 a Python venv with the PyPI `wiremock` client
#   env                   `export` lines: WIREMOCK_JAR, WIREMOCK_NODE_MODULES, WIREMOCK_PYTHON
#
# Idempotent: a second run finds everything in place and only rewrites `env`.
# Time: under 1 s warm; about 5 s cold with java, node and npm present and empty npm/pip
# caches; about 4 min on a bare Debian 12 minbase (measured in a chroot: apt brings the JDK,
# nodejs, and Debian's npm with its node-* dependencies).
# Usage: .ci/wiremock-tools.sh [CACHE_DIR]   (default target/wiremock-tools), then
#        . target/wiremock-tools/env
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache=${1:-target/wiremock-tools}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

WIREMOCK_NPM_VERSION=3.13.2
CAPTAIN_NPM_VERSION=4.1.3
PY_WIREMOCK_SPEC='wiremock>=2.7,<3'

# shellcheck source=.ci/tools-lib.sh
. .ci/tools-lib.sh

# Java: the jar needs Java 11 or newer; Debian 12's default is 17.
if ! command -v java >/dev/null 2>&1; then
    echo "java missing: installing default-jdk-headless"
    apt_install default-jdk-headless
fi
java -version 2>&1 | head -1

# Node and npm (Debian packages them apart).
if ! command -v node >/dev/null 2>&1; then
    echo "node missing: installing nodejs"
    apt_install nodejs
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "npm missing: installing npm"
    apt_install npm
fi

# npm packages, pinned; reinstalled only when a version differs.
installed_version() {
    local pkg="$cache/node_modules/$1/package.json"
    if [ -f "$pkg" ]; then
        node -p "require(process.argv[1]).version" "$pkg" 2>/dev/null || true
    fi
}
if [ "$(installed_version wiremock)" != "$WIREMOCK_NPM_VERSION" ] ||
    [ "$(installed_version wiremock-captain)" != "$CAPTAIN_NPM_VERSION" ]; then
    echo "npm install wiremock@$WIREMOCK_NPM_VERSION wiremock-captain@$CAPTAIN_NPM_VERSION"
    npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error \
        "wiremock@$WIREMOCK_NPM_VERSION" "wiremock-captain@$CAPTAIN_NPM_VERSION"
fi

jar=$(find "$cache/node_modules/wiremock" -name "wiremock-standalone-$WIREMOCK_NPM_VERSION.jar" -print -quit)
if [ -z "$jar" ] || [ ! -s "$jar" ]; then
    echo "no wiremock-standalone-$WIREMOCK_NPM_VERSION.jar under $cache/node_modules/wiremock" >&2
    exit 1
fi

# Python venv with the PyPI client. `python3 -m venv` needs Debian's python3-venv where
# Python is the system one.
venv=$cache/venv
py_venv "$venv" wiremock "$PY_WIREMOCK_SPEC"
py_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("wiremock"))')

cat >"$cache/env" <<EOF
# Written by .ci/wiremock-tools.sh; source it before cargo test.
export WIREMOCK_JAR='$jar'
export WIREMOCK_NODE_MODULES='$cache/node_modules'
export WIREMOCK_PYTHON='$venv/bin/python'
EOF

echo "WIREMOCK_JAR=$jar"
echo "WIREMOCK_NODE_MODULES=$cache/node_modules (wiremock $(installed_version wiremock), wiremock-captain $(installed_version wiremock-captain))"
echo "WIREMOCK_PYTHON=$venv/bin/python (PyPI wiremock $py_version)"
echo "env file: $cache/env"
printf 'wiremock tools ready in %d s\n' $((SECONDS - started))
