#!/usr/bin/env bash
# Build the worker's core (build/index.js + build/index_bg.wasm, imported by the entry module
# src/edge/entry.mjs): cargo, then wasm-bindgen and wasm-opt as installed by scripts/setup.sh;
# nothing is downloaded here. This is wrangler.toml's build command; it skips the build when
# nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PWD/node_modules/.bin:$PATH"
need() { command -v "$1" >/dev/null 2>&1 || { echo "build: $1 is missing; run scripts/setup.sh first" >&2; exit 1; }; }
need cargo; need wasm-bindgen; need wasm-opt

# Everything the build reads (the Rust sources and the askama templates compiled into them);
# when its fingerprint matches the last build's, skip the build.
stamp=build/.fingerprint
fingerprint=$( { cat Cargo.toml Cargo.lock scripts/build.sh; find src templates -type f \( -name '*.rs' -o -path 'templates/*' \) | sort | xargs cat; } | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && [ -f build/index.js ]; then
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
# SIMD (supported by V8, so by workerd): LLVM then moves and compares memory 16 bytes at a
# time, which also makes the code smaller (about 2 KB gzipped).
flags="$flags$sep-Ctarget-feature=+simd128"
export CARGO_ENCODED_RUSTFLAGS="$flags"
cargo build --lib --release --target wasm32-unknown-unknown
rm -rf build && mkdir -p build
# JS glue for ES modules. The reset function lets the entry recover from a trap (a panic).
wasm-bindgen "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/edge_oauth.wasm" --out-dir build --out-name index \
  --target module --no-typescript --experimental-reset-state-function
# The glue imports the module with the source-phase syntax (`import source`), which wrangler's
# bundler does not parse; a plain import of a .wasm file gives the same WebAssembly.Module.
sed -i 's/^import source wasmModule from/import wasmModule from/' build/index.js
grep -q '^import wasmModule from "./index_bg.wasm";' build/index.js || { echo "build: unexpected wasm-bindgen glue" >&2; exit 1; }
wasm=build/index_bg.wasm
# Size-optimise, with features workerd supports,
# dropping the names section and DWARF. --low-memory-unused lets wasm-opt fold constant
# offsets into loads and stores; it holds because Rust links the stack first: memory below
# 1 MiB is the stack, which grows down from there, so the first KiB is never addressed.
wasm-opt "$wasm" -o "$wasm.opt" -Oz --converge --strip-debug --low-memory-unused \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int --enable-bulk-memory \
  --enable-multivalue --enable-reference-types --enable-exception-handling --enable-simd
mv "$wasm.opt" "$wasm"
echo "$fingerprint" > "$stamp"
echo "build: $(wc -c < "$wasm") bytes wasm, $(gzip -9 -c "$wasm" | wc -c) bytes gzipped"
