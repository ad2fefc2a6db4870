# shellcheck shell=bash
# Helpers shared by the scripts in this folder; sourced, never run. The sourcing script sets
# SCRIPT_NAME (the prefix of its messages) first; its usage text is its header comment, from
# line 2 down to `set -euo pipefail`.

die() {
    printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[-1]}" >&2
    exit "${1:-2}"
}

# Runs "$@" with its output kept in a temporary file, shown only if it fails.
quietly() {
    local out status=0
    out=$(mktemp)
    "$@" >"$out" 2>&1 || status=$?
    if ((status != 0)); then
        printf '%s: command failed (exit %d): %s\n' "$SCRIPT_NAME" "$status" "$*" >&2
        tail -n 40 "$out" >&2
    fi
    rm -f "$out"
    return "$status"
}

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}
