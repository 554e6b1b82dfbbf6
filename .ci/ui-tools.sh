#!/usr/bin/env bash
# The tools of the journal page's browser test (tests/it/ui.rs runs tests/ui/journal_page.py),
# installed where missing; the Python part goes into a rebuildable cache under target/ (never
# committed; delete it to start over):
#
#   chromium, chromedriver   Debian's `chromium` and `chromium-driver`, via apt, when missing
#   venv/                    a Python venv with PyPI `selenium`
#   env                      `export` lines: UNDERSTUDY_UI_PYTHON, CHROME_BIN, CHROMEDRIVER
#
# Idempotent: a second run finds everything in place and only rewrites `env`.
# Time: under 1 s warm; cold, about 9 s for the venv with selenium (pip from PyPI) and, where
# they are missing, apt's chromium and chromium-driver (about 9 s to install on Debian 12 once
# downloaded, plus the download of roughly 100 MB).
# Usage: .ci/ui-tools.sh [CACHE_DIR]   (default target/ui-tools), then . target/ui-tools/env
set -euo pipefail
cd "$(dirname "$0")/.."

started=$SECONDS
cache=${1:-target/ui-tools}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

SELENIUM_SPEC='selenium>=4.20,<5'

# shellcheck source=.ci/tools-lib.sh
. .ci/tools-lib.sh

step_start=$SECONDS
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "chromium or chromedriver missing: installing chromium chromium-driver"
    apt_install chromium chromium-driver
fi
chromium --version 2>/dev/null | head -1
chromedriver --version | head -1
printf 'browser ready in %d s\n' $((SECONDS - step_start))

step_start=$SECONDS
venv=$cache/venv
py_venv "$venv" selenium "$SELENIUM_SPEC"
selenium_version=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("selenium"))')
printf 'selenium %s ready in %d s\n' "$selenium_version" $((SECONDS - step_start))

cat >"$cache/env" <<ENV
# Written by .ci/ui-tools.sh; source it before cargo test.
export UNDERSTUDY_UI_PYTHON='$venv/bin/python'
export CHROME_BIN='$(command -v chromium)'
export CHROMEDRIVER='$(command -v chromedriver)'
ENV

echo "UNDERSTUDY_UI_PYTHON=$venv/bin/python (selenium $selenium_version)"
echo "CHROME_BIN=$(command -v chromium)"
echo "CHROMEDRIVER=$(command -v chromedriver)"
echo "env file: $cache/env"
printf 'ui tools ready in %d s\n' $((SECONDS - started))
