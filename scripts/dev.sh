#!/usr/bin/env bash
# One command from a fresh clone to a running edge-oauth on http://127.0.0.1:$PORT (8787):
# installs what is missing, builds, starts `wrangler dev` with local KV and Durable Objects
# (state kept in .wrangler/state), creates a demo client and a demo API once, and prints how
# to use them and where the developer console is (sign-up is open locally: SIGNUP=open).
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
./node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "$PORT" --show-interactive-dev-session=false --var SIGNUP:open &
wrangler_pid=$!
trap 'kill $wrangler_pid 2>/dev/null || true; cat <<MSG
The developer console (projects and their API keys):
  $base/console
  create an account at $base/signup (or sign in as "demo"), then "New project" with the Demo API.

MSG
wait $wrangler_pid 2>/dev/null || true' EXIT
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
# A demo person and a demo device app (a public client with the device grant), also once, so
# that signing in as a person works from the first run.
keep() { # keep FILE PATH CHECK_PATH JSON: create once with the admin API, recreate if it is gone
  local file=$1 path=$2 check=$3 body=$4 code
  if [ -f "$file" ]; then
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $ADMIN_TOKEN" "$base$check$(node -p "require('./$file').id")")
    [ "$code" = 200 ] || rm -f "$file"
  fi
  if [ ! -f "$file" ]; then
    curl -fs -X POST "$base$path" -H "Authorization: Bearer $ADMIN_TOKEN" -H 'Content-Type: application/json' -d "$body" \
      | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);v.id=v.user_id??v.client_id??v.api_id??v.provider_id;v.password=process.argv[1]||undefined;console.log(JSON.stringify(v))})' "${5:-}" > "$file.tmp" \
      && mv "$file.tmp" "$file" || { rm -f "$file.tmp"; echo "dev: could not create $file (POST $path failed)" >&2; }
  fi
}
password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
keep .wrangler/demo-user.json /admin/users /admin/users/ "{\"username\":\"demo\",\"password\":\"$password\",\"name\":\"Demo Person\"}" "$password"
keep .wrangler/demo-device.json /admin/clients /admin/clients/ \
  '{"name":"Demo TV","client_type":"public","scopes":["read"],"grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"]}'
# A demo API in the catalogue, so that a project can be made in the console at once.
keep .wrangler/demo-api.json /admin/apis /admin/apis/ \
  '{"name":"Demo API","description":"The demo API of this local server.","scopes":["demo:read","demo:write"]}'
# An upstream identity provider from .dev.vars, once (docs/upstream.md#trying-it-locally):
# DEV_PROVIDER_KIND (oidc or github), DEV_PROVIDER_CLIENT_ID, DEV_PROVIDER_CLIENT_SECRET,
# DEV_PROVIDER_ISSUER (oidc), optional DEV_PROVIDER_NAME and DEV_PROVIDER_SCOPES.
devvar() { grep -s "^$1=" .dev.vars | head -1 | cut -d= -f2- || true; }
provider_kind=$(devvar DEV_PROVIDER_KIND)
if [ -n "$provider_kind" ]; then
  provider_body=$(DEV_PROVIDER_KIND="$provider_kind" DEV_PROVIDER_NAME="$(devvar DEV_PROVIDER_NAME)" \
    DEV_PROVIDER_ISSUER="$(devvar DEV_PROVIDER_ISSUER)" DEV_PROVIDER_CLIENT_ID="$(devvar DEV_PROVIDER_CLIENT_ID)" \
    DEV_PROVIDER_CLIENT_SECRET="$(devvar DEV_PROVIDER_CLIENT_SECRET)" DEV_PROVIDER_SCOPES="$(devvar DEV_PROVIDER_SCOPES)" node -e '
      const e = process.env, common = { client_id: e.DEV_PROVIDER_CLIENT_ID, client_secret: e.DEV_PROVIDER_CLIENT_SECRET };
      if (e.DEV_PROVIDER_SCOPES) common.scopes = e.DEV_PROVIDER_SCOPES;
      const body = e.DEV_PROVIDER_KIND === "github"
        ? { name: e.DEV_PROVIDER_NAME || "GitHub", kind: "oauth2", scopes: "read:user", ...common,
            authorization_endpoint: "https://github.com/login/oauth/authorize",
            token_endpoint: "https://github.com/login/oauth/access_token", userinfo_endpoint: "https://api.github.com/user",
            claims: { subject: "id", username: "login", name: "name" } }
        : { name: e.DEV_PROVIDER_NAME || "My provider", kind: "oidc", issuer: e.DEV_PROVIDER_ISSUER, ...common };
      console.log(JSON.stringify(body));')
  keep .wrangler/dev-provider.json /admin/providers /admin/providers/ "$provider_body"
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
if [ -f .wrangler/demo-user.json ] && [ -f .wrangler/demo-device.json ]; then
  cat <<MSG
Sign in as a person (user "demo", password $(node -p "require('./.wrangler/demo-user.json').password")) on a "TV" in this terminal:
  node examples/device-cli/device.mjs $(node -p "require('./.wrangler/demo-device.json').client_id") read $base
  then open the link it prints in a browser, enter the code, sign in and approve.

MSG
fi
cat <<MSG
The developer console (projects and their API keys):
  $base/console
  create an account at $base/signup (or sign in as "demo"), then "New project" with the Demo API.

MSG
if [ -f .wrangler/dev-provider.json ]; then
  cat <<MSG
Sign in with your identity provider ("$(node -p "require('./.wrangler/dev-provider.json').name")"): register this redirect URI there:
  $base/login/$(node -p "require('./.wrangler/dev-provider.json').provider_id")/callback
  then open $base/login and press its button (docs/upstream.md).

MSG
fi
wait $wrangler_pid
