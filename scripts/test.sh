#!/usr/bin/env bash
# The whole test suite: unit, property, conformance and integration tests
# (network namespaces with real FRR, BIRD and GoBGP peers). Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -ne 0 ]; then
    echo "the test suite creates network namespaces: run it as root" >&2
    exit 1
fi
scripts/install-deps.sh
cargo build --workspace --all-targets
if cargo nextest --version >/dev/null 2>&1; then
    # nextest does not run doc tests; they go first so that its summary
    # is the last word.
    cargo test --workspace --doc
    cargo nextest run --workspace --no-fail-fast "$@"
else
    cargo test --workspace --no-fail-fast "$@"
fi
