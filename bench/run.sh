#!/usr/bin/env bash
# edge-oauth load benchmark, side by side with @cloudflare/workers-oauth-provider and with the
# runtime's floors. One command: `bench/run.sh` (settings below, from the environment).
#
# It builds the release worker (scripts/setup.sh, which skips work already done), then starts
# three Workers under `wrangler dev`, each from a copy in a temp folder with fresh local state,
# on free ports of 127.0.0.1, all in the same runtime (workerd, as wrangler runs it):
#   edge-oauth  this repo (wrangler.toml, src/edge/entry.mjs, build/)
#   wop         bench/wop/: @cloudflare/workers-oauth-provider 1.2.3 (npm), a tiny Worker that
#               issues itself one token (POST /bench/issue) and validates it on an API route
#   floor       bench/floor/: the floors, plain JS: /const (a constant response), /fetch (a
#               Durable Object through stub.fetch), /rpc (the object through JS RPC), /rpc-get
#               (RPC plus a storage get), /rpc-put (RPC plus a storage put: the "RPC-plus-write
#               floor")
# and measures, with wrk (THREADS threads, CONCURRENCY connections, WARMUP s unmeasured, then
# DURATION s), unless noted:
#   1. validation, ROUNDS alternating rounds: edge-oauth GET /validate and wop GET /api/whoami,
#      each with its own live Bearer token; the order alternates from round to round (edge-oauth
#      first in odd rounds). Each round's pair and ratio, and the median of the ratios
#      (goal: >= 1.2).
#   2. the five floors, once each, sent /validate's request (GET, the same Bearer header).
#   3. issuance: POST /token (client_credentials, HTTP Basic), ROUNDS alternating rounds with
#      the new-key floor /rpc-insert sent /token's request byte for byte (each issuance stores a
#      new key, so this is its floor); the median of the ratios (goal: >= 0.9). The floor
#      /rpc-put (overwriting one key) once before, for reference.
#   4. chained refresh: bench/load.mjs (Node), CONCURRENCY chains, each its own person and
#      refresh family, using every new refresh token exactly once, in order (wrk cannot: its
#      connections would share tokens); beside the floor /rpc-put measured by the same tool with
#      the same requests. The ratio, and refreshes/s (for scale: a mainstream Java server is
#      sized at 120 refreshes/s per vCPU).
#   Before and after: the benchmark tokens validate (200), and a revoked token is refused at
#   once (POST /revoke, then GET /validate: 401; for a refresh family, its newest access token
#   401 and its refresh token invalid_grant), so that speed is not bought with revocation.
# Then a markdown table (operation, req/s, p50, p99, ratio, errors, CPU per request of workerd
# and of wrangler's node) and the ratios again, also computed from workerd CPU per request.
#
# What the numbers mean: under `wrangler dev` every request also costs CPU in wrangler's node
# process (its proxy, its per-request log line, its inspector relay). That cost is printed per
# measurement ("cpu: workerd ... + wrangler/node ..."); it is the same for every Worker per
# request and pulls ratios toward 1. workerd runs everything (wrangler's entry worker, the
# Worker, its Durable Objects) on one thread, which is the bottleneck: req/s follows 1 / workerd
# CPU per request, and a constant response (/const) already costs about 1.3 ms of it (2 cores,
# 2026-11), against a few tens of microseconds of JS and wasm (perf). These are local, relative
# numbers, not production throughput; on a shared machine they are noisy (hence the
# alternating rounds, and the ratios also computed from CPU per request).
#
# Settings (environment):
#   CONCURRENCY  open connections (and refresh chains)  (default 16)
#   DURATION     seconds measured per target            (default 10)
#   THREADS      wrk threads                            (default 1: the machine has 2 cores
#                and workerd, which runs every request, needs them more than wrk does)
#   WARMUP       seconds of unmeasured load before each (default 2)
#   ROUNDS       validation rounds                      (default 3)
#   PRIME        seconds of unmeasured load on each worker once, before everything (default 5;
#                edge-oauth gets it on /validate and on /token)
#   BUILD        0: do not run scripts/setup.sh; use build/ as it is (default 1)
#   EDGE_DIR     a folder holding a prebuilt build/ and src/edge/entry.mjs to measure instead of
#                the repo's (implies BUILD=0; e.g. a copy kept to compare two variants in
#                alternating runs)
#   STRICT       1: exit 3 when a goal is missed        (default 0: the table says BELOW)
#   WRANGLER_LOG_LEVEL  passed as --log-level when set (e.g. "warn" drops wrangler's per-request
#                log line; default: wrangler's own default, as a developer would run it)
# Exit status: 0; 1 when any measured request failed (non-2xx or socket error) or a check
# failed; 3 with STRICT=1 when a goal is missed.
#
# Everything targets 127.0.0.1 only; every wrk run is bounded by -d, every curl by --max-time,
# every load.mjs request by a 10 s timeout; the wrangler processes started here are killed on
# exit (their process groups, by id); state lives in a fresh temp folder that is removed on
# exit (KEEP_TMP=1 keeps it, with the wrangler logs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
ROUNDS=${ROUNDS:-3}
PRIME=${PRIME:-5}
BUILD=${BUILD:-1}
EDGE_DIR=${EDGE_DIR:-}
if [ -n "$EDGE_DIR" ]; then
  EDGE_DIR=$(cd "$EDGE_DIR" && pwd) || { echo "bench: EDGE_DIR $EDGE_DIR is not a folder" >&2; exit 2; }
  [ -f "$EDGE_DIR/build/index.js" ] && [ -f "$EDGE_DIR/src/edge/entry.mjs" ] || { echo "bench: EDGE_DIR needs build/index.js and src/edge/entry.mjs" >&2; exit 2; }
  BUILD=0
fi
STRICT=${STRICT:-0}
WRANGLER_LOG_LEVEL=${WRANGLER_LOG_LEVEL:-}
for v in CONCURRENCY DURATION THREADS WARMUP ROUNDS PRIME; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer (got '${!v}')" >&2; exit 2; }
done
(( CONCURRENCY >= THREADS )) || { echo "bench: CONCURRENCY must be >= THREADS" >&2; exit 2; }
GOAL_VALIDATION=1.2   # edge-oauth GET /validate / wop GET /api/ (median of the rounds)
GOAL_ISSUANCE=0.9     # edge-oauth POST /token / floor /rpc-insert (same request; median of the rounds)

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }
FAILED=()             # what went wrong, for the end (the run goes on to print the table)
failed() { echo "FAILED: $*" >&2; FAILED+=("$*"); }

# ---- header ----------------------------------------------------------------------------------
COMMAND="CONCURRENCY=$CONCURRENCY DURATION=$DURATION THREADS=$THREADS WARMUP=$WARMUP ROUNDS=$ROUNDS PRIME=$PRIME BUILD=$BUILD${EDGE_DIR:+ EDGE_DIR=$EDGE_DIR}${WRANGLER_LOG_LEVEL:+ WRANGLER_LOG_LEVEL=$WRANGLER_LOG_LEVEL} $0${*:+ $*}"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes in src/Cargo)')"
MACHINE="nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
DATE=$(date -u '+%Y-%m-%dT%H:%M:%SZ')
echo "# edge-oauth benchmark: validation vs workers-oauth-provider, issuance and refresh vs the floors"
echo "command:  $COMMAND"
echo "date:     $DATE"
echo "machine:  $MACHINE"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
echo "commit:   $COMMIT"

# ---- tools -----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (Debian)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi
command -v wrk >/dev/null 2>&1 || die "wrk is not installed and could not be installed"
for t in curl node npx setsid; do command -v "$t" >/dev/null 2>&1 || die "$t is required"; done

if [ -n "$EDGE_DIR" ]; then
  say "EDGE_DIR: measuring $EDGE_DIR/build and $EDGE_DIR/src/edge/entry.mjs (not running scripts/setup.sh)"
elif [ "$BUILD" = 0 ]; then
  say "BUILD=0: using build/ as it is (not running scripts/setup.sh)"
else
  say "building the release worker (scripts/setup.sh)"
  (cd "$ROOT" && ./scripts/setup.sh)
fi
# What build/ was built from: scripts/build.sh's fingerprint, of the working tree and of HEAD.
BUILT_FROM=$(cd "$ROOT" && {
  stamp=$(cat build/.fingerprint 2>/dev/null || echo none)
  tree=$( { cat Cargo.toml Cargo.lock scripts/build.sh; find src templates -type f \( -name '*.rs' -o -path 'templates/*' \) | sort | xargs cat; } | sha256sum | cut -d' ' -f1)
  at() { { git show "$1:Cargo.toml" "$1:Cargo.lock" "$1:scripts/build.sh"
            git ls-tree -r --name-only "$1" -- src templates | grep -E '\.rs$|^templates/' | sort | while read -r f; do git show "$1:$f"; done; } 2>/dev/null | sha256sum | cut -d' ' -f1; }
  if [ "$stamp" = "$tree" ]; then echo "the working tree's sources"
  else
    found=""
    for c in $(git rev-list -n 10 HEAD 2>/dev/null); do
      if [ "$(at "$c")" = "$stamp" ]; then found=$c; break; fi
    done
    if [ -n "$found" ]; then echo "the sources of commit $(git rev-parse --short "$found") (not the working tree's)"
    else echo "sources that are neither the working tree's nor any of the last 10 commits' (fingerprint ${stamp:0:12})"; fi
  fi })
[ -z "$EDGE_DIR" ] || BUILT_FROM="$EDGE_DIR (fingerprint $(cut -c1-12 "$EDGE_DIR/build/.fingerprint" 2>/dev/null || echo none))"
echo "build/:   built from $BUILT_FROM"
[ -n "$EDGE_DIR" ] || [ "$BUILD" = 1 ] || [[ $BUILT_FROM == "the working tree's"* ]] || echo "WARNING: BUILD=0 and build/ was not built from the working tree's sources" >&2
WOP_DIR="$ROOT/node_modules/@cloudflare/workers-oauth-provider"
WOP_VERSION=$(node -p 'require(process.argv[1]).version' "$WOP_DIR/package.json" 2>/dev/null) || die "@cloudflare/workers-oauth-provider is not installed (run scripts/setup.sh)"
[ "$WOP_VERSION" = 1.2.3 ] || echo "WARNING: @cloudflare/workers-oauth-provider is $WOP_VERSION, not 1.2.3" >&2
TOOLS="$(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), wrangler $(cd "$ROOT" && npx --no-install wrangler --version 2>/dev/null | tail -1), node $(node --version), workers-oauth-provider $WOP_VERSION"
echo "tools:    $TOOLS"

# ---- wrangler dev lifecycle ------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/edge-oauth-bench.XXXXXX")
declare -A PGID URLOF LOGOF   # per worker: process group of its `wrangler dev`, URL, log file
stop_worker() {
  local pid=${PGID[$1]:-}
  [ -n "$pid" ] || return 0
  unset "PGID[$1]"
  kill -TERM -- "-$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 -- "-$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local name
  for name in "${!PGID[@]}"; do stop_worker "$name"; done
  if [ "${KEEP_TMP:-0}" = 1 ]; then echo "bench: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pick_port VAR: a free port into VAR, never one picked before in this run (the system may offer
# a port again that is closed but not yet taken by the wrangler it was picked for).
declare -A PICKED
pick_port() {
  local p
  while :; do
    p=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
    [ -n "${PICKED[$p]:-}" ] || break
  done
  PICKED[$p]=1
  printf -v "$1" '%s' "$p"
}

# start_worker NAME CONFIG READY_PATH [ARG ...]: fills PGID, URLOF and LOGOF for NAME. In the
# extra wrangler arguments, @URL@ stands for the worker's own URL (http://127.0.0.1:PORT).
start_worker() {
  local name=$1 config=$2 ready=$3; shift 3
  local port inspector state log url pid a
  pick_port port; pick_port inspector
  state="$TMP/$name-state"; mkdir -p "$state"
  log="$TMP/$name-wrangler.log"
  url="http://127.0.0.1:$port"
  local args=(wrangler dev -c "$config" --ip 127.0.0.1 --port "$port" --inspector-port "$inspector"
              --persist-to "$state" --show-interactive-dev-session=false)
  for a in "$@"; do args+=("${a//@URL@/$url}"); done
  [ -z "$WRANGLER_LOG_LEVEL" ] || args+=(--log-level "$WRANGLER_LOG_LEVEL")
  echo "start:    npx ${args[*]//ADMIN_TOKEN:*/ADMIN_TOKEN:<random>}"
  # setsid: its own process group, so that stop_worker ends wrangler and workerd together.
  (cd "$ROOT" && WRANGLER_SEND_METRICS=false NO_COLOR=1 exec setsid npx --no-install "${args[@]}") \
    </dev/null >"$log" 2>&1 &
  pid=$!
  PGID[$name]=$pid; URLOF[$name]=$url; LOGOF[$name]=$log
  local deadline=$((SECONDS + 180))
  # Ready once wrangler says it listens on the port (until then another process may answer
  # there) and the worker answers.
  until grep -aqF "Ready on $url" "$log" && curl -fsS -o /dev/null --max-time 5 "$url$ready" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; die "wrangler dev ($name) exited before it was ready"; }
    (( SECONDS < deadline )) || { cat "$log" >&2; die "wrangler dev ($name) not ready in 180 s"; }
    sleep 0.25
  done
  echo "ready:    $name on $url"
}

# Lines of a wrangler log that look like trouble (worker errors, panics, uncaught exceptions,
# requests answered 4xx/5xx), counted. Left out: the `Request.cf` warning, which only says that
# this machine cannot reach workers.cloudflare.com, so wrangler uses a placeholder `cf` object.
log_trouble() {
  { grep -aiE 'error|panic|uncaught|exception|✘|\[wrangler:warn\]|warning' "$1" \
      | grep -avE '^\[wrangler:info\] [A-Z]+ /|Request\.cf|ENOTFOUND workers\.cloudflare\.com|GetAddrInfoReqWrap|CIMD \(Client ID Metadata Document\) is disabled' || true
    grep -aE '^\[wrangler:info\] [A-Z]+ [^ ]+ [45][0-9]{2} ' "$1" | sed -E 's/ \([0-9]+ms\)$//' || true
  } | sort | uniq -c | sort -rn | head -20
}

# ---- measuring -------------------------------------------------------------------------------
declare -A RPS P50 P99 BAD CPU WCPU NCPU TOOL
# CPU seconds used so far by the processes of one `wrangler dev`: "workerd node+other".
cpu_snapshot() {
  local p comm t w=0 o=0 hz; hz=$(getconf CLK_TCK)
  for p in $(pgrep -g "${PGID[$1]}" 2>/dev/null); do
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    t=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) || continue
    if [ "$comm" = workerd ]; then w=$((w + t)); else o=$((o + t)); fi
  done
  awk -v w="$w" -v o="$o" -v hz="$hz" 'BEGIN { printf "%.2f %.2f", w / hz, o / hz }'
}
# record LABEL WORKER OUTFILE CPU_BEFORE CPU_AFTER: the BENCHRESULT line of OUTFILE into the tables.
record() {
  local label=$1 out=$3 before=$4 after=$5 line
  line=$(grep '^BENCHRESULT ' "$out") || { failed "$label: no BENCHRESULT line"; line="BENCHRESULT requests=0 duration_us=1 rps=0 p50_us=0 p99_us=0 non2xx=0 socket_errors=1"; }
  field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
  RPS[$label]=$(field rps)
  P50[$label]=$(field p50_us)
  P99[$label]=$(field p99_us)
  BAD[$label]=$(( $(field non2xx) + $(field socket_errors) ))
  (( BAD[$label] == 0 )) || failed "$label: ${BAD[$label]} requests failed (non-2xx or socket errors)"
  # Where the CPU went: workerd runs the worker; node is wrangler itself (its proxy, request
  # log and inspector relay), which is overhead of `wrangler dev`, not of the worker.
  CPU[$label]=$(awk -v b="$before" -v a="$after" -v n="$(field requests)" 'BEGIN { n = n > 0 ? n : 1
    split(b, x, " "); split(a, y, " "); w = y[1] - x[1]; o = y[2] - x[2]
    printf "workerd %.1f s + wrangler/node %.1f s CPU = %.3f + %.3f ms per request", w, o, 1000 * w / n, 1000 * o / n }')
  WCPU[$label]=$(sed -E 's/.*= ([0-9.]+) \+ ([0-9.]+) ms per request/\1/' <<<"${CPU[$label]}")
  NCPU[$label]=$(sed -E 's/.*= ([0-9.]+) \+ ([0-9.]+) ms per request/\2/' <<<"${CPU[$label]}")
  echo "    cpu: ${CPU[$label]}"
}
# measure LABEL WORKER LUA PATH [VAR=VALUE ...]: wrk, WARMUP s unmeasured, then DURATION s with
# --latency; the VAR=VALUE pairs go to the wrk script's environment (BENCH_BEARER, BENCH_BASIC).
measure() {
  local label=$1 worker=$2 lua=$3 url=${URLOF[$2]}$4; shift 4
  local out="$TMP/wrk-${label//[^A-Za-z0-9]/-}.txt"
  local wrk=(wrk -t "$THREADS" -c "$CONCURRENCY" --timeout 10s -s "$BENCH/$lua")
  say "$label: ${wrk[*]} -d ${DURATION}s --latency $url   (after ${WARMUP}s warm-up)"
  env BENCH_DIR="$BENCH" "$@" "${wrk[@]}" -d "${WARMUP}s" "$url" >/dev/null
  local before after; before=$(cpu_snapshot "$worker")
  env BENCH_DIR="$BENCH" "$@" "${wrk[@]}" -d "${DURATION}s" --latency "$url" | tee "$out" | sed 's/^/    /'
  after=$(cpu_snapshot "$worker")
  TOOL[$label]=wrk
  record "$label" "$worker" "$out" "$before" "$after"
}
# measure_node LABEL WORKER PATH [--floor]: bench/load.mjs, CONCURRENCY chains, WARMUP s
# unmeasured (a run of its own, so the CPU counted is the measured run's), then DURATION s.
measure_node() {
  local label=$1 worker=$2 url=${URLOF[$2]}$3; shift 3
  local out="$TMP/node-${label//[^A-Za-z0-9]/-}.txt"
  local run=(node "$BENCH/load.mjs" run --url "$url" --state "$REFRESH_STATE" --timeout 10 "$@")
  say "$label: ${run[*]/$REFRESH_STATE/STATE} --warmup 0 --duration $DURATION   (after ${WARMUP}s warm-up)"
  "${run[@]}" --warmup 0 --duration "$WARMUP" >/dev/null || failed "$label: the warm-up run failed"
  local before after; before=$(cpu_snapshot "$worker")
  "${run[@]}" --warmup 0 --duration "$DURATION" | tee "$out" | sed 's/^/    /' || failed "$label: load.mjs failed"
  after=$(cpu_snapshot "$worker")
  TOOL[$label]="node"
  record "$label" "$worker" "$out" "$before" "$after"
}

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v==null)process.exit(1);console.log(v)})' "$1"; }
# status URL [curl args]: the HTTP status of one request (000 when none).
status() { local url=$1; shift; curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$@" "$url" || true; }

# ---- the workers, copied --------------------------------------------------------------------
# Every worker runs from a copy in $TMP, so that edits to the repo or rebuilds by others during
# the run can neither trigger wrangler's rebuild-on-change nor reload a worker mid-measurement.
# edge-oauth: wrangler.toml minus its [build] section, src/edge/entry.mjs and a snapshot of
# build/ (what setup.sh just built), at the same relative places (entry.mjs imports
# ../../build/index.js); the repo's .dev.vars, looked up next to the config, is not read: the
# only variable is ADMIN_TOKEN below. wop: bench/wop/ plus a copy of the npm package.
mkdir -p "$TMP/edge-oauth/src/edge" "$TMP/wop/node_modules/@cloudflare" "$TMP/floor"
cp -R "${EDGE_DIR:-$ROOT}/build" "$TMP/edge-oauth/build"
rm -rf "$TMP/edge-oauth/build/.tmp"
[ -s "$TMP/edge-oauth/build/index.js" ] && ls "$TMP"/edge-oauth/build/*.wasm >/dev/null 2>&1 || die "build/ has no index.js or .wasm (a build in progress?)"
cp "${EDGE_DIR:-$ROOT}/src/edge/entry.mjs" "$TMP/edge-oauth/src/edge/entry.mjs"
awk '/^[[:space:]]*\[/ { skip = ($0 ~ /^[[:space:]]*\[build\]/) } !skip' "$ROOT/wrangler.toml" >"$TMP/edge-oauth/wrangler.toml"
grep -q '^\[build\]' "$TMP/edge-oauth/wrangler.toml" && die "could not strip [build] from wrangler.toml"
main=$(sed -nE 's/^main *= *"(.*)"/\1/p' "$TMP/edge-oauth/wrangler.toml")
[ -f "$TMP/edge-oauth/$main" ] || die "wrangler.toml's main ($main) is not in the copy: update bench/run.sh's copy step"
cp "$BENCH/wop/wrangler.toml" "$BENCH/wop/worker.mjs" "$TMP/wop/"
cp -R "$WOP_DIR" "$TMP/wop/node_modules/@cloudflare/"
cp "$BENCH/floor/wrangler.toml" "$BENCH/floor/worker.mjs" "$TMP/floor/"
wasm=$(ls "$TMP"/edge-oauth/build/*.wasm | head -1)
WORKER_ID="$(basename "$wasm") $(wc -c <"$wasm") bytes, sha256 $(sha256sum "$wasm" | cut -c1-16), entry.mjs sha256 $(sha256sum "$TMP/edge-oauth/src/edge/entry.mjs" | cut -c1-16)"
echo "worker:   $WORKER_ID"

# ---- start all three --------------------------------------------------------------------------
# All stay up for the whole run (an idle `wrangler dev` uses next to no CPU) so that compared
# measurements run back to back: on a shared 2-core machine, background load drifts, and
# adjacent windows keep each ratio's two numbers under similar conditions.
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
say "starting edge-oauth, wop and the floors under wrangler dev"
start_worker edge-oauth "$TMP/edge-oauth/wrangler.toml" /.well-known/oauth-authorization-server --var "ADMIN_TOKEN:$ADMIN_TOKEN"
start_worker wop "$TMP/wop/wrangler.toml" /.well-known/oauth-authorization-server --var "ORIGIN:@URL@"
start_worker floor "$TMP/floor/wrangler.toml" /const
EDGE=${URLOF[edge-oauth]} WOP=${URLOF[wop]}

# ---- tokens and checks before ------------------------------------------------------------------
# No CF-Connecting-IP anywhere: wrangler dev supplies 127.0.0.1, as it does for wrk's requests.
say "tokens, and checks before"
created=$(curl -sS --max-time 10 -X POST "$EDGE/admin/clients" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}')
CLIENT_ID=$(json_field client_id <<<"$created") || die "POST /admin/clients: $created"
CLIENT_SECRET=$(json_field client_secret <<<"$created") || die "POST /admin/clients: no client_secret"
BASIC="Basic $(node -e 'const [i,s]=process.argv.slice(1);console.log(Buffer.from(encodeURIComponent(i)+":"+encodeURIComponent(s)).toString("base64"))' -- "$CLIENT_ID" "$CLIENT_SECRET")"
echo "client:   $CLIENT_ID (client_credentials, defaults: token_ttl 300 s sliding, IP-bound)"
# issue: a fresh client_credentials token on stdout.
issue() {
  local issued
  issued=$(curl -sS --max-time 10 -X POST "$EDGE/token" -H "Authorization: $BASIC" \
    -H 'Content-Type: application/x-www-form-urlencoded' -d 'grant_type=client_credentials')
  json_field access_token <<<"$issued" || die "POST /token: $issued"
}
# expect WHAT WANT URL [curl args]: one request must answer WANT.
expect() {
  local what=$1 want=$2 url=$3 got; shift 3
  got=$(status "$url" "$@")
  if [ "$got" = "$want" ]; then echo "check:    $what: $got"; else failed "$what: $got (expected $want)"; fi
}
# revocation_check WHEN: a fresh token validates, is revoked, and is refused at once.
revocation_check() {
  local t; t=$(issue)
  expect "$1: a fresh token, GET /validate" 200 "$EDGE/validate" -H "Authorization: Bearer $t"
  expect "$1: POST /revoke of it" 200 "$EDGE/revoke" -X POST -H "Authorization: $BASIC" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-urlencode "token=$t"
  expect "$1: GET /validate of it at once" 401 "$EDGE/validate" -H "Authorization: Bearer $t"
}
EDGE_BEARER=$(issue)
expect "before: the edge-oauth benchmark token, GET /validate" 200 "$EDGE/validate" -H "Authorization: Bearer $EDGE_BEARER"
revocation_check before
issued=$(curl -sS --max-time 30 -X POST "$WOP/bench/issue")
WOP_BEARER=$(json_field access_token <<<"$issued") || die "wop POST /bench/issue: $issued"
expect "before: the wop benchmark token, GET /api/whoami" 200 "$WOP/api/whoami" -H "Authorization: Bearer $WOP_BEARER"
expect "before: wop refuses a wrong token" 401 "$WOP/api/whoami" -H "Authorization: Bearer ${WOP_BEARER}x"
REFRESH_STATE="$TMP/refresh-chains.json"
node "$BENCH/load.mjs" setup --url "$EDGE" --admin "$ADMIN_TOKEN" --state "$REFRESH_STATE" --chains "$CONCURRENCY" \
  | sed 's/^/check:    /' || die "load.mjs setup failed"

# ---- priming ------------------------------------------------------------------------------------
# The first seconds of load on a fresh `wrangler dev` cost more (wrangler's node and workerd warm
# up: in trials, the first 5 s window cost up to twice the node CPU per request of later ones),
# and would fall on whichever worker is measured first: PRIME s of unmeasured load on each.
say "priming: ${PRIME}s of unmeasured load on each worker"
prime() { env BENCH_DIR="$BENCH" "${@:3}" wrk -t "$THREADS" -c "$CONCURRENCY" --timeout 10s -s "$BENCH/$1" -d "${PRIME}s" "$2" >/dev/null; }
prime validate.lua "$EDGE/validate" BENCH_BEARER="$EDGE_BEARER"
prime token.lua "$EDGE/token" BENCH_BASIC="$BASIC"
prime validate.lua "$WOP/api/whoami" BENCH_BEARER="$WOP_BEARER"
prime validate.lua "${URLOF[floor]}/rpc-put" BENCH_BEARER="$EDGE_BEARER"

# ---- 1. validation: edge-oauth vs wop, alternating rounds --------------------------------------
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.4f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "meets" : "BELOW") }'; }
ROUND_RATIOS=()
for r in $(seq "$ROUNDS"); do
  edge_v() { measure "validation edge-oauth r$r" edge-oauth validate.lua /validate BENCH_BEARER="$EDGE_BEARER"; }
  wop_v() { measure "validation wop r$r" wop validate.lua /api/whoami BENCH_BEARER="$WOP_BEARER"; }
  if (( r % 2 )); then edge_v; wop_v; else wop_v; edge_v; fi
  ROUND_RATIOS+=("$(ratio "${RPS[validation edge-oauth r$r]}" "${RPS[validation wop r$r]}")")
  printf 'round %d: edge-oauth %.0f req/s, wop %.0f req/s: ratio %s\n' "$r" "${RPS[validation edge-oauth r$r]}" "${RPS[validation wop r$r]}" "${ROUND_RATIOS[-1]}"
done
R_VALID=$(printf '%s\n' "${ROUND_RATIOS[@]}" | median)
R_VALID=$(printf '%.2f' "$R_VALID")
echo "validation: median ratio edge-oauth / wop over $ROUNDS rounds = $R_VALID (${ROUND_RATIOS[*]}); goal >= $GOAL_VALIDATION: $(meets "$R_VALID" "$GOAL_VALIDATION")"

say "checks after the validation rounds"
expect "after: the edge-oauth benchmark token, GET /validate" 200 "$EDGE/validate" -H "Authorization: Bearer $EDGE_BEARER"
expect "after: the wop benchmark token, GET /api/whoami" 200 "$WOP/api/whoami" -H "Authorization: Bearer $WOP_BEARER"
# The benchmark token is as hot in memory as a token gets: revoking it must still take at once.
expect "after: POST /revoke of the (hot) edge-oauth benchmark token" 200 "$EDGE/revoke" -X POST -H "Authorization: $BASIC" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data-urlencode "token=$EDGE_BEARER"
expect "after: GET /validate of it at once" 401 "$EDGE/validate" -H "Authorization: Bearer $EDGE_BEARER"
EDGE_BEARER=$(issue)   # the floors below are sent /validate's request with a live token's header

# ---- 2. the floors ---------------------------------------------------------------------------
FLOORS=(const fetch rpc rpc-get rpc-put)
for f in "${FLOORS[@]}"; do measure "floor /$f" floor validate.lua "/$f" BENCH_BEARER="$EDGE_BEARER"; done

# ---- 3. issuance beside the RPC-plus-write floor -------------------------------------------------
measure "floor /rpc-put POST" floor token.lua /rpc-put BENCH_BASIC="$BASIC"
ISSUE_RATIOS=()
for r in $(seq "$ROUNDS"); do
  edge_i() { measure "issuance r$r" edge-oauth token.lua /token BENCH_BASIC="$BASIC"; }
  floor_i() { measure "floor /rpc-insert POST r$r" floor token.lua /rpc-insert BENCH_BASIC="$BASIC"; }
  if (( r % 2 )); then edge_i; floor_i; else floor_i; edge_i; fi
  ISSUE_RATIOS+=("$(ratio "${RPS[issuance r$r]}" "${RPS[floor /rpc-insert POST r$r]}")")
  printf 'round %d: issuance %.0f req/s, floor /rpc-insert %.0f req/s: ratio %s\n' "$r" "${RPS[issuance r$r]}" "${RPS[floor /rpc-insert POST r$r]}" "${ISSUE_RATIOS[-1]}"
done
R_ISSUE=$(printf '%.2f' "$(printf '%s\n' "${ISSUE_RATIOS[@]}" | median)")
# Against the overwrite floor: the median issuance over the rounds.
R_ISSUE_PUT=$(ratio "$(for r in $(seq "$ROUNDS"); do echo "${RPS[issuance r$r]}"; done | median)" "${RPS[floor /rpc-put POST]}")
echo "issuance / floor /rpc-insert: median over $ROUNDS rounds = $R_ISSUE (${ISSUE_RATIOS[*]}); goal >= $GOAL_ISSUANCE: $(meets "$R_ISSUE" "$GOAL_ISSUANCE"); median issuance / floor /rpc-put = $R_ISSUE_PUT"

# ---- 4. chained refresh beside the same floor, both with bench/load.mjs -------------------------
measure_node "floor /rpc-put node" floor /rpc-put --floor
measure_node "refresh" edge-oauth /token
R_REFRESH=$(ratio "${RPS[refresh]}" "${RPS[floor /rpc-put node]}")
echo "refresh / floor /rpc-put (both load.mjs) = $R_REFRESH; $(awk -v r="${RPS[refresh]}" -v n="$(nproc)" 'BEGIN { printf "%.0f refreshes/s, %.0f per core of this %d-core machine (for scale: a mainstream Java server is sized at 120/s per vCPU)", r, r / n, n }')"

# ---- checks after ------------------------------------------------------------------------------
say "checks after"
node "$BENCH/load.mjs" check --url "$EDGE" --state "$REFRESH_STATE" --revoke | sed 's/^/check:    after: /' \
  || failed "after: the refresh chains' check (load.mjs check --revoke)"
revocation_check after

for name in edge-oauth wop floor; do
  trouble=$(log_trouble "${LOGOF[$name]}")
  echo "$name wrangler log: $(wc -l <"${LOGOF[$name]}") lines${trouble:+; suspicious lines (count, line):}"
  [ -z "$trouble" ] || echo "$trouble"
  stop_worker "$name"
done
echo "(expected in edge-oauth's log: 4 x 'GET /validate 401' and 1 x 'POST /token 400', from the revocation checks;"
echo " in wop's: 1 x 'GET /api/whoami 401' from its wrong-token check)"

# ---- report ----------------------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
say "results"
echo
echo "command: \`$COMMAND\`  "
echo "date: $DATE; machine: $MACHINE; commit: $COMMIT  "
echo "worker: $WORKER_ID, built from $BUILT_FROM; tools: $TOOLS"
echo
echo "| Operation | tool | req/s | p50 | p99 | ratio | errors | CPU/req workerd + wrangler |"
echo "|---|---|---:|---:|---:|---|---:|---:|"
row() { printf '| %s | %s | %.0f | %s | %s | %s | %s | %s + %s ms |\n' "$1" "${TOOL[$2]}" "${RPS[$2]}" "$(ms "${P50[$2]}")" "$(ms "${P99[$2]}")" "$3" "${BAD[$2]}" "${WCPU[$2]}" "${NCPU[$2]}"; }
for r in $(seq "$ROUNDS"); do
  row "validation, round $r: edge-oauth GET /validate" "validation edge-oauth r$r" "${ROUND_RATIOS[r-1]} vs wop"
  row "validation, round $r: wop GET /api/whoami" "validation wop r$r" "1"
done
echo "| **validation: median of $ROUNDS rounds** | | | | | **$R_VALID** (goal >= $GOAL_VALIDATION: $(meets "$R_VALID" "$GOAL_VALIDATION")) | | |"
for r in $(seq "$ROUNDS"); do
  row "issuance, round $r: POST /token (client_credentials)" "issuance r$r" "${ISSUE_RATIOS[r-1]} vs /rpc-insert"
  row "issuance, round $r: floor /rpc-insert (a new key per call), sent /token's request" "floor /rpc-insert POST r$r" "1"
done
echo "| **issuance: median of $ROUNDS rounds** | | | | | **$R_ISSUE** vs /rpc-insert (goal >= $GOAL_ISSUANCE: $(meets "$R_ISSUE" "$GOAL_ISSUANCE")) | | |"
row "floor /rpc-put (overwrites one key), sent /token's request" "floor /rpc-put POST" "median issuance: $R_ISSUE_PUT of it"
row "refresh: POST /token (refresh_token), $CONCURRENCY chains" refresh "**$R_REFRESH** vs floor /rpc-put (load.mjs)"
row "floor /rpc-put, sent refresh's request" "floor /rpc-put node" "1"
for f in "${FLOORS[@]}"; do
  row "floor /$f (GET, /validate's request)" "floor /$f" "$(ratio "${RPS[floor /$f]}" "${RPS[floor /const]}") of /const"
done
echo
echo "CPU/req: CPU seconds used during the measured window by the Worker's \`wrangler dev\` process group, per"
echo "request: workerd (one thread runs the Worker, its Durable Objects and wrangler's own entry"
echo "worker) + wrangler's node (proxy, request log, inspector). When workerd is the bottleneck,"
echo "req/s follows 1 / workerd CPU per request; background load on the machine moves req/s more"
echo "than it moves CPU per request."
echo
cpu_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }   # a / b
V_CPU=$(for r in $(seq "$ROUNDS"); do cpu_ratio "${WCPU[validation wop r$r]}" "${WCPU[validation edge-oauth r$r]}"; echo; done | median)
echo "- validation, edge-oauth / wop: **$R_VALID** req/s (median of $ROUNDS rounds: ${ROUND_RATIOS[*]}; goal >= $GOAL_VALIDATION: $(meets "$R_VALID" "$GOAL_VALIDATION")); by workerd CPU per request (wop / edge-oauth, median): $(printf '%.2f' "$V_CPU")"
I_CPU=$(for r in $(seq "$ROUNDS"); do cpu_ratio "${WCPU[floor /rpc-insert POST r$r]}" "${WCPU[issuance r$r]}"; echo; done | median)
echo "- issuance / floor /rpc-insert: **$R_ISSUE** req/s (median of $ROUNDS rounds: ${ISSUE_RATIOS[*]}; goal >= $GOAL_ISSUANCE: $(meets "$R_ISSUE" "$GOAL_ISSUANCE")); by workerd CPU per request (floor / issuance, median): $(printf '%.2f' "$I_CPU"); median issuance / floor /rpc-put (one key overwritten): $R_ISSUE_PUT"
echo "- refresh / floor /rpc-put (both load.mjs): **$R_REFRESH** req/s; by workerd CPU per request (floor / refresh): $(cpu_ratio "${WCPU[floor /rpc-put node]}" "${WCPU[refresh]}")"
echo "- refresh chains: $(awk -v r="${RPS[refresh]}" -v n="$(nproc)" 'BEGIN { printf "%.0f refreshes/s on %d cores (for scale: a mainstream Java server is sized at 120/s per vCPU)", r, n }')."
echo

if (( ${#FAILED[@]} )); then
  echo
  echo "FAILED (${#FAILED[@]}): the rates above are not comparable where requests failed:" >&2
  printf '  - %s\n' "${FAILED[@]}" >&2
  exit 1
fi
if [ "$STRICT" = 1 ]; then
  [ "$(meets "$R_VALID" "$GOAL_VALIDATION")" = meets ] && [ "$(meets "$R_ISSUE" "$GOAL_ISSUANCE")" = meets ] || exit 3
fi
