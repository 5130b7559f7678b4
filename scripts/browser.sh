#!/usr/bin/env bash
# The real-browser tests (tests/browser/): headless Debian Chromium driven by playwright-core
# against the worker under `wrangler dev`. Playwright's own browser download is not used: this
# installs Debian's chromium when /usr/bin/chromium is missing. Writes docs/login.png and
# docs/consent.png (screenshots at a phone-sized viewport).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export WRANGLER_SEND_METRICS=false

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian chromium (apt-get)"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

# playwright-core and the other npm packages come with the project's setup (npm ci).
if [ ! -d node_modules/playwright-core ]; then
  ./scripts/setup.sh
fi

echo "== browser tests (node --test, headless chromium $(/usr/bin/chromium --version 2>/dev/null | awk '{print $2}'))"
node --test --test-concurrency=1 --test-reporter=spec tests/browser/
