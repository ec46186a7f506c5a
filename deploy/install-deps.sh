#!/bin/bash
# Installs the Debian 12 packages Wereldpas needs to build, run and test, and only those
# that are missing. Run as root. A second run installs nothing and takes a moment.
#
#   deploy/install-deps.sh                 build, run and test dependencies
#   deploy/install-deps.sh --no-test-deps  without Node.js, npm and the browsers
set -euo pipefail

with_tests=1
for arg in "$@"; do
    case "$arg" in
    --no-test-deps) with_tests=0 ;;
    -h | --help)
        sed -n '2,6s/^# \{0,1\}//p' "$0"
        exit 0
        ;;
    *)
        echo "install-deps.sh: unknown option: $arg" >&2
        exit 2
        ;;
    esac
done

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (apt-get needs it)" >&2
    exit 1
fi

# Build and run: compiler and tools, the libraries of DESIGN.md, sqlite3, curl and jq for
# deploy/demo.sh; clang for the fuzz targets.
packages=(
    build-essential cmake pkg-config clang
    libmicrohttpd-dev libjansson-dev libssl-dev libsodium-dev libcjose-dev liboauth2-dev
    libcbor-dev libfido2-dev libsqlite3-dev libpq-dev libinih-dev libcurl4-openssl-dev
    libcmocka-dev zlib1g-dev
    sqlite3 curl ca-certificates jq
)

if [ "$with_tests" -eq 1 ]; then
    # Node.js only for the integration and end-to-end tests. Keep a node that is there
    # already (for example from NodeSource, which ships its own npm).
    if ! command -v node >/dev/null 2>&1; then
        packages+=(nodejs)
    fi
    if ! command -v npm >/dev/null 2>&1; then
        packages+=(npm)
    fi
    # The browsers of the end-to-end tests (Chromium; Firefox ESR in tests/e2e/firefox.test.mjs),
    # static analysis (tests/lint.sh) and the fuzz targets' runtime (tests/fuzz).
    packages+=(chromium firefox-esr clang-format clang-tidy cppcheck libclang-rt-14-dev python3-aiosmtpd valgrind
        apache2 libapache2-mod-auth-openidc)
fi

# Succeeds when the package is installed.
is_installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
    [ "$status" = installed ]
}

missing=()
for p in "${packages[@]}"; do
    if ! is_installed "$p"; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps.sh: all ${#packages[@]} packages are installed"
else
    echo "install-deps.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
    # Apache is only a test relying party (mod_auth_openidc), started by its test on
    # 127.0.0.1: never leave the package's own service listening on port 80.
    if pgrep -x apache2 >/dev/null 2>&1; then
        apache2ctl stop >/dev/null 2>&1 || true
    fi
fi

if [ "$with_tests" -eq 1 ]; then
    major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
    if [ "$major" -lt 18 ]; then
        echo "install-deps.sh: Node.js $(node --version 2>/dev/null || echo none) is too old;" \
            "the tests need 18 or newer" >&2
        exit 1
    fi
fi
