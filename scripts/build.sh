#!/usr/bin/env bash
# Build the worker (build/worker/shim.mjs + build/index_bg.wasm) with worker-build, using the
# wasm-bindgen, wasm-opt and esbuild installed by scripts/setup.sh: nothing is downloaded here.
# This is wrangler.toml's build command; it skips the build when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PWD/node_modules/.bin:$PATH"
need() { command -v "$1" >/dev/null 2>&1 || { echo "build: $1 is missing; run scripts/setup.sh first" >&2; exit 1; }; }
need worker-build; need wasm-bindgen; need wasm-opt; need esbuild
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$(command -v wasm-opt)"
export ESBUILD_BIN="$(command -v esbuild)"

# Everything the build reads; when its fingerprint matches the last build's, skip the build.
stamp=build/.fingerprint
fingerprint=$( { cat Cargo.toml Cargo.lock scripts/build.sh; find src -type f -name '*.rs' | sort | xargs cat; } | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && [ -f build/worker/shim.mjs ]; then
  echo "build: up to date"
  exit 0
fi
# Panic locations embed source paths; strip the machine-specific prefixes (smaller wasm, and
# the same bytes whoever builds it).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
# (CARGO_ENCODED_RUSTFLAGS: flags separated by 0x1f, so paths may contain spaces.)
sep=$'\x1f'
flags="--remap-path-prefix=$PWD/="
for dir in "$cargo_home"/registry/src/*/; do flags="$flags$sep--remap-path-prefix=$dir="; done
export CARGO_ENCODED_RUSTFLAGS="$flags"
worker-build --release
wasm=$(ls build/*.wasm | head -1)
# Size-optimise, with the feature set worker-build uses (nothing newer than workerd supports),
# dropping the names section and DWARF. --low-memory-unused lets wasm-opt fold constant
# offsets into loads and stores; it holds because Rust links the stack first: memory below
# 1 MiB is the stack, which grows down from there, so the first KiB is never addressed.
wasm-opt "$wasm" -o "$wasm.opt" -Oz --converge --strip-debug --low-memory-unused \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling
mv "$wasm.opt" "$wasm"
echo "$fingerprint" > "$stamp"
echo "build: $(wc -c < "$wasm") bytes wasm, $(gzip -9 -c "$wasm" | wc -c) bytes gzipped"
