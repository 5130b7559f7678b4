#!/usr/bin/env bash
# One command from a fresh clone to a running edge-oauth on http://127.0.0.1:$PORT (8787):
# installs what is missing, builds, starts `wrangler dev` with local KV and Durable Objects
# (state kept in .wrangler/state), creates a demo client once, and prints how to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
PORT="${PORT:-8787}"
export WRANGLER_SEND_METRICS=false

./scripts/setup.sh

# A local admin token, generated once and kept in .dev.vars (git-ignored).
if ! grep -qs '^ADMIN_TOKEN=' .dev.vars; then
  echo "ADMIN_TOKEN=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')" >> .dev.vars
fi
ADMIN_TOKEN=$(grep '^ADMIN_TOKEN=' .dev.vars | head -1 | cut -d= -f2-)

# wrangler itself (not through npx), so that stopping it stops workerd too.
./node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false &
wrangler_pid=$!
trap 'kill $wrangler_pid 2>/dev/null || true; wait $wrangler_pid 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

base="http://127.0.0.1:$PORT"
for _ in $(seq 1 300); do
  curl -fs "$base/.well-known/oauth-authorization-server" >/dev/null 2>&1 && break
  kill -0 "$wrangler_pid" 2>/dev/null || { echo "wrangler dev exited; see its output above" >&2; exit 1; }
  sleep 0.5
done

# The demo client's secret is shown only once, so keep it beside the local state.
demo=.wrangler/demo-client.json
if [ -f "$demo" ]; then
  id=$(node -p "require('./$demo').client_id")
  code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$base/admin/clients/$id")
  [ "$code" = 200 ] || rm -f "$demo"
fi
if [ ! -f "$demo" ]; then
  curl -fs -X POST "$base/admin/clients" -H "Authorization: Bearer $ADMIN_TOKEN" \
    -H 'Content-Type: application/json' -d '{"name":"demo","scopes":["read","write"]}' > "$demo.tmp"
  mv "$demo.tmp" "$demo"
fi
id=$(node -p "require('./$demo').client_id")
secret=$(node -p "require('./$demo').client_secret")

cat <<MSG

edge-oauth is running on $base  (Ctrl-C stops it)
  admin token:   $ADMIN_TOKEN   (from .dev.vars)
  demo client:   client_id=$id
                 client_secret=$secret

Get a token:
  curl -s -u '$id:$secret' -d grant_type=client_credentials $base/token

Validate it (as another Worker would):
  curl -s -H "Authorization: Bearer \$TOKEN" $base/validate

MSG
wait $wrangler_pid
