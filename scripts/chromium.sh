#!/usr/bin/env bash
# Finds or installs a headless-capable Chromium for the dashboard's browser test.
#
# Usage:
#   scripts/chromium.sh install
#       Ensure Debian's `chromium` package is installed (apt-get update only when the
#       package is not known yet, then apt-get install -y chromium) and print on stdout:
#           CHROMIUM=/usr/bin/chromium
#       so that `eval "$(scripts/chromium.sh install)"; export CHROMIUM` works.
#       Idempotent; quiet on success. A CHROMIUM already set to an executable wins.
#   scripts/chromium.sh path
#       Print CHROMIUM=… if a browser is found, exit 1 otherwise (installs nothing).
#
# The browser is only ever pointed at servers on 127.0.0.1.
set -euo pipefail

readonly SCRIPT_NAME=chromium
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR

# shellcheck source=scripts/lib.sh
source "$SCRIPT_DIR/lib.sh"

find_browser() {
    if [[ -n ${CHROMIUM:-} && -x $CHROMIUM ]]; then
        printf '%s\n' "$CHROMIUM"
        return 0
    fi
    local name
    for name in chromium chromium-browser google-chrome; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

install() {
    local found
    if found=$(find_browser); then
        printf 'CHROMIUM=%s\n' "$found"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "no chromium found and no apt-get to install it"
    # Update the package lists only when they do not know the package yet.
    if ! apt-cache show chromium >/dev/null 2>&1; then
        quietly as_root apt-get update -qq
    fi
    DEBIAN_FRONTEND=noninteractive quietly as_root apt-get install -y -qq chromium ||
        die "apt-get install chromium failed"
    found=$(find_browser) || die "chromium installed but not found on PATH"
    printf 'CHROMIUM=%s\n' "$found"
}

case ${1:-} in
install) install ;;
path)
    found=$(find_browser) || exit 1
    printf 'CHROMIUM=%s\n' "$found"
    ;;
-h | --help) usage 0 ;;
*) usage ;;
esac
