#!/usr/bin/env bash
# Install what building and running edge-oauth needs, skipping whatever is already in place,
# then build the worker. Everything comes from crates.io or the npm registry:
#   - the wasm32-unknown-unknown Rust target (rustup)
#   - wrangler and binaryen (wasm-opt), pinned in package-lock.json (npm ci)
#   - wasm-bindgen-cli, at the version Cargo.lock names (cargo install)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

lock_version() { # the version of a crate in Cargo.lock
  awk -v n="$1" '$0=="name = \"" n "\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.edge-oauth-lock 2>/dev/null)" != "$lock_hash" ]; then
  say "installing npm packages (wrangler, binaryen, test clients)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.edge-oauth-lock
fi

wbg=$(lock_version wasm-bindgen)
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $wbg" ]; then
  say "installing wasm-bindgen-cli $wbg (cargo install; 5-10 minutes on 2 cores, once)"
  cargo install wasm-bindgen-cli --version "$wbg" --force
fi

./scripts/build.sh
