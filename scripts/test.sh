#!/usr/bin/env bash
# Every test: the wasm size gate, formatting, native unit tests of the core, the end-to-end
# suite against the real worker under `wrangler dev`, the short crash rounds (bench/crash), then
# the real-browser tests (headless Chromium). Installs and builds whatever is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WRANGLER_SEND_METRICS=false

# The size budget: the release wasm may not grow past 512,000 bytes gzipped.
WASM_GZ_LIMIT=${WASM_GZ_LIMIT:-512000}

./scripts/setup.sh

log=$(mktemp)
trap 'rm -f "$log"' EXIT

wasm=$(ls build/*.wasm | head -1)
raw=$(wc -c < "$wasm"); gz=$(gzip -9 -c "$wasm" | wc -c)
echo "== wasm size: $raw bytes, $gz bytes gzipped (limit $WASM_GZ_LIMIT)"
if [ "$gz" -gt "$WASM_GZ_LIMIT" ]; then
  echo "FAIL: the gzipped wasm ($gz bytes) is over the limit ($WASM_GZ_LIMIT bytes)" >&2
  exit 1
fi

echo "== formatting (cargo fmt --check; the style is rustfmt.toml's)"
if cargo fmt --version >/dev/null 2>&1; then cargo fmt --check; else echo "(skipped: this toolchain has no rustfmt)"; fi

echo "== native unit tests (cargo test), and a smoke run of the micro-benchmarks"
cargo test --quiet 2>&1 | tee -a "$log"
cargo test --quiet --benches >/dev/null
echo "== the fuzz targets compile (cargo check; fuzzing itself is fuzz/run.sh)"
cargo check --quiet --manifest-path fuzz/Cargo.toml --bins

echo "== end-to-end tests (node --test, wrangler dev)"
# From here on a failing step is counted, not the end of the run (`set -e` would stop at the
# first failing pipeline): every step runs, and the exit status is the first failure's.
set +e
node --test --test-concurrency=1 --test-reporter=spec tests/e2e/ 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}

# Crash rounds, short form (issue 24): kill -9 wrangler dev mid-workload, restart on the same
# state, check every answered write and that cut admin calls converge by themselves
# (bench/crash; the full form is 18 rounds).
echo "== crash rounds (bench/crash --short)"
./bench/crash --short 2>&1 | tee -a "$log"
crash=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$crash

# The soak's short form (issue 24): ~2 minutes of steady mixed load; 0 errors, no gross leak,
# no gross rise of p99 (second half within 3 x the first). (The full hour: bench/soak.)
echo "== soak, short form (bench/soak --short)"
./bench/soak --short 2>&1 | tee -a "$log"
soak=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$soak

./scripts/browser.sh 2>&1 | tee -a "$log"
browser=${PIPESTATUS[0]}
[ "$status" -ne 0 ] || status=$browser
set -e

# One closing line for both runners.
passed=$(( $(grep -oE 'test result: [a-z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}') + $(grep -E '^ℹ pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ))
failed=$(( $(grep -oE '[0-9]+ failed;' "$log" | awk '{s+=$1} END {print s+0}') + $(grep -E '^ℹ fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}') ))
echo "all tests: $passed passed, $failed failed"
exit "$status"
