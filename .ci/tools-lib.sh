# Shared by the CI tool installers (.ci/wiremock-tools.sh, .ci/ui-tools.sh, .ci/redis-tools.sh,
# .ci/openapi-tools.sh): Debian packages installed once per run, and Python venvs holding one
# PyPI package each. Sourced, not run.

apt_updated=""

# apt_install PACKAGE...: installs Debian packages quietly (one `apt-get update` per run).
apt_install() {
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# py_venv VENV MODULE SPEC: a venv at VENV in which `import MODULE` works, pip-installing SPEC
# when it does not yet. `python3 -m venv` needs Debian's python3-venv where Python is the
# system one; both are installed when missing.
py_venv() {
    local venv=$1 module=$2 spec=$3
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import $module" 2>/dev/null; then
        return 0
    fi
    if ! command -v python3 >/dev/null 2>&1; then
        echo "python3 missing: installing python3 and python3-venv"
        apt_install python3 python3-venv
    fi
    rm -rf "$venv"
    if ! python3 -m venv "$venv" >/dev/null 2>&1; then
        echo "python3 -m venv failed: installing python3-venv"
        apt_install python3-venv
        rm -rf "$venv"
        python3 -m venv "$venv"
    fi
    echo "pip install $spec"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "$spec"
}
