#!/usr/bin/env bash
# Every test: native unit tests of the core, then the end-to-end suite against the real
# worker under `wrangler dev`. Installs and builds whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

./scripts/setup.sh

echo "== native unit tests (cargo test)"
cargo test --quiet

echo "== end-to-end tests (node --test, wrangler dev)"
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/
