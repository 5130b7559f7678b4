#!/usr/bin/env bash
# edge-oauth throughput benchmark: one command, `bench/run.sh`.
#
# Builds the release worker (scripts/setup.sh, which skips work already done), starts it under
# `wrangler dev` with fresh local state on a free port of 127.0.0.1, and measures with wrk at a
# fixed concurrency for a fixed time:
#   1. issuance    POST /token, grant_type=client_credentials, HTTP Basic auth
#   2. validation  GET /validate, Bearer token (a live token, issued to 127.0.0.1)
#   3. the FLOOR   bench/floor/: one Durable Object round trip with one storage write, nothing
#                  else, under the same `wrangler dev`, with the same wrk scripts.
# and prints req/s, p50 and p99 latency for each, and the ratios issuance/floor (target >= 0.7)
# and validation/floor (target >= 0.8).
#
# The floor is run in two shapes, each sent byte-for-byte the request of the operation it is
# compared with: "floor POST" gets /token's request (POST, Basic auth header, 29-byte form
# body) and "floor GET" gets /validate's (GET, Bearer header). The floor ignores both, but
# workerd parses (and for POST, drains) them, and running both costs seconds while arguing
# that the shape cannot matter costs more; the ratios compare like with like.
#
# Both workers run under `wrangler dev` at once (idle between their turns) and are measured in
# the order floor POST, issuance, floor GET, validation: each operation right after its floor.
#
# What the numbers mean: under `wrangler dev` every request also costs CPU in wrangler's node
# process (its per-request log line, and its inspector relay, which forwards ~4 DevTools
# Network.* events per Durable Object stub.fetch to node as loopback HTTP POSTs). That cost is
# the same for edge-oauth and for the floor per DO call, is printed per run ("cpu: ..."), and
# pulls both ratios toward 1; these are local, relative numbers, not production throughput.
#
# Settings (environment):
#   CONCURRENCY  open connections                       (default 16)
#   DURATION     seconds measured per target            (default 10)
#   THREADS      wrk threads                            (default 1: the machine has 2 cores
#                and workerd, which runs every request, needs them more than wrk does)
#   WARMUP       seconds of unmeasured load before each (default 2)
#   WRANGLER_LOG_LEVEL  passed as --log-level when set (e.g. "warn" drops wrangler's per-request
#                log line; default: wrangler's own default, as a developer would run it)
#
# Everything targets 127.0.0.1 only; every wrk run is bounded by -d; the wrangler processes
# started here are killed on exit (their process groups, by id); state lives in a fresh temp
# folder that is removed on exit (KEEP_TMP=1 keeps it, with the wrangler logs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH="$ROOT/bench"
CONCURRENCY=${CONCURRENCY:-16}
DURATION=${DURATION:-10}
THREADS=${THREADS:-1}
WARMUP=${WARMUP:-2}
WRANGLER_LOG_LEVEL=${WRANGLER_LOG_LEVEL:-}
for v in CONCURRENCY DURATION THREADS WARMUP; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer (got '${!v}')" >&2; exit 2; }
done
(( CONCURRENCY >= THREADS )) || { echo "bench: CONCURRENCY must be >= THREADS" >&2; exit 2; }

say() { printf '\n== %s\n' "$*"; }
die() { echo "bench: $*" >&2; exit 1; }

# ---- header ----------------------------------------------------------------------------------
echo "# edge-oauth benchmark"
echo "command:  CONCURRENCY=$CONCURRENCY DURATION=$DURATION THREADS=$THREADS WARMUP=$WARMUP${WRANGLER_LOG_LEVEL:+ WRANGLER_LOG_LEVEL=$WRANGLER_LOG_LEVEL} $0${*:+ $*}"
echo "date:     $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "machine:  nproc=$(nproc), $(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min, before the run)"
echo "commit:   $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' (+ uncommitted changes in src/Cargo)')"

# ---- tools -----------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  say "installing wrk (Debian)"
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq wrk >/dev/null
fi
command -v wrk >/dev/null 2>&1 || die "wrk is not installed and could not be installed"
for t in curl node npx setsid; do command -v "$t" >/dev/null 2>&1 || die "$t is required"; done

say "building the release worker (scripts/setup.sh)"
(cd "$ROOT" && ./scripts/setup.sh)

echo "tools:    $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2), wrangler $(cd "$ROOT" && npx --no-install wrangler --version 2>/dev/null | tail -1), node $(node --version)"

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

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# start_worker NAME CONFIG READY_PATH [--var K:V ...]: fills PGID, URLOF and LOGOF for NAME.
start_worker() {
  local name=$1 config=$2 ready=$3; shift 3
  local port inspector state log url pid
  port=$(free_port); inspector=$(free_port)
  state="$TMP/$name-state"; mkdir -p "$state"
  log="$TMP/$name-wrangler.log"
  url="http://127.0.0.1:$port"
  local args=(wrangler dev -c "$config" --ip 127.0.0.1 --port "$port" --inspector-port "$inspector"
              --persist-to "$state" --show-interactive-dev-session=false "$@")
  [ -z "$WRANGLER_LOG_LEVEL" ] || args+=(--log-level "$WRANGLER_LOG_LEVEL")
  echo "start:    npx ${args[*]//ADMIN_TOKEN:*/ADMIN_TOKEN:<random>}"
  # setsid: its own process group, so that stop_worker ends wrangler and workerd together.
  (cd "$ROOT" && WRANGLER_SEND_METRICS=false NO_COLOR=1 exec setsid npx --no-install "${args[@]}") \
    </dev/null >"$log" 2>&1 &
  pid=$!
  PGID[$name]=$pid; URLOF[$name]=$url; LOGOF[$name]=$log
  local deadline=$((SECONDS + 180))
  until curl -fsS -o /dev/null --max-time 5 "$url$ready" 2>/dev/null; do
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
  { grep -aiE 'error|panic|uncaught|exception|✘|\[wrangler:warn\]' "$1" \
      | grep -avE '^\[wrangler:info\] [A-Z]+ /|Request\.cf|ENOTFOUND workers\.cloudflare\.com' || true
    grep -aE '^\[wrangler:info\] [A-Z]+ [^ ]+ [45][0-9]{2} ' "$1" | sed -E 's/ \([0-9]+ms\)$//' || true
  } | sort | uniq -c | sort -rn | head -20
}

# ---- measuring -------------------------------------------------------------------------------
declare -A RPS P50 P99 BAD CPU
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
# measure LABEL WORKER LUA PATH: WARMUP s unmeasured, then DURATION s with --latency.
measure() {
  local label=$1 worker=$2 lua=$3 url=${URLOF[$2]}$4 out="$TMP/wrk-${1// /-}.txt"
  local wrk=(wrk -t "$THREADS" -c "$CONCURRENCY" --timeout 10s -s "$BENCH/$lua")
  say "$label: ${wrk[*]} -d ${DURATION}s --latency $url   (after ${WARMUP}s warm-up)"
  BENCH_DIR="$BENCH" "${wrk[@]}" -d "${WARMUP}s" "$url" >/dev/null
  local before after; before=$(cpu_snapshot "$worker")
  BENCH_DIR="$BENCH" "${wrk[@]}" -d "${DURATION}s" --latency "$url" | tee "$out" | sed 's/^/    /'
  after=$(cpu_snapshot "$worker")
  local line; line=$(grep '^BENCHRESULT ' "$out") || die "$label: wrk printed no BENCHRESULT line"
  field() { sed -E "s/.* $1=([0-9.]+).*/\1/" <<<"$line"; }
  RPS[$label]=$(field rps)
  P50[$label]=$(field p50_us)
  P99[$label]=$(field p99_us)
  BAD[$label]=$(( $(field non2xx) + $(field socket_errors) ))
  # Where the CPU went: workerd runs the worker; node is wrangler itself (its proxy, request
  # log and inspector relay), which is overhead of `wrangler dev`, not of the worker.
  CPU[$label]=$(awk -v b="$before" -v a="$after" -v n="$(field requests)" 'BEGIN { n = n > 0 ? n : 1
    split(b, x, " "); split(a, y, " "); w = y[1] - x[1]; o = y[2] - x[2]
    printf "workerd %.1f s + wrangler/node %.1f s CPU = %.2f + %.2f ms per request", w, o, 1000 * w / n, 1000 * o / n }')
  echo "    cpu: ${CPU[$label]}"
}

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v==null)process.exit(1);console.log(v)})' "$1"; }

# ---- the workers, copied --------------------------------------------------------------------
# Both workers run from copies in $TMP: edge-oauth from a snapshot of build/ (what setup.sh just
# built) with wrangler.toml minus its [build] section, so that edits to src/ or rebuilds by
# others during the run can neither trigger wrangler's rebuild-on-change nor reload the worker
# mid-measurement (and the repo's .dev.vars, looked up next to the config, is not read: the
# only variable is ADMIN_TOKEN below). Everything else in wrangler.toml is used as is.
mkdir -p "$TMP/edge-oauth" "$TMP/floor"
cp -R "$ROOT/build" "$TMP/edge-oauth/build"
rm -rf "$TMP/edge-oauth/build/.tmp"
awk '/^[[:space:]]*\[/ { skip = ($0 ~ /^[[:space:]]*\[build\]/) } !skip' "$ROOT/wrangler.toml" >"$TMP/edge-oauth/wrangler.toml"
grep -q '^\[build\]' "$TMP/edge-oauth/wrangler.toml" && die "could not strip [build] from wrangler.toml"
cp "$BENCH/floor/wrangler.toml" "$BENCH/floor/worker.mjs" "$TMP/floor/"
wasm=$(ls "$TMP"/edge-oauth/build/*.wasm | head -1)
echo "worker:   $(basename "$wasm") $(wc -c <"$wasm") bytes, sha256 $(sha256sum "$wasm" | cut -c1-16)"

# ---- start both -----------------------------------------------------------------------------
# Both stay up for the whole run (an idle `wrangler dev` uses next to no CPU) so that each
# operation is measured right after its floor: on a shared 2-core machine, background load
# drifts, and adjacent windows keep each ratio's two numbers under similar conditions.
ADMIN_TOKEN="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
say "starting edge-oauth and the floor (bench/floor) under wrangler dev"
start_worker edge-oauth "$TMP/edge-oauth/wrangler.toml" /.well-known/oauth-authorization-server --var "ADMIN_TOKEN:$ADMIN_TOKEN"
start_worker floor "$TMP/floor/wrangler.toml" /
EDGE=${URLOF[edge-oauth]}

# No CF-Connecting-IP anywhere: wrangler dev supplies 127.0.0.1, as it does for wrk's requests.
created=$(curl -sS --max-time 10 -X POST "$EDGE/admin/clients" -H "Authorization: Bearer $ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"bench"}')
CLIENT_ID=$(json_field client_id <<<"$created") || die "POST /admin/clients: $created"
CLIENT_SECRET=$(json_field client_secret <<<"$created") || die "POST /admin/clients: no client_secret"
export BENCH_BASIC="Basic $(node -e 'const [i,s]=process.argv.slice(1);console.log(Buffer.from(encodeURIComponent(i)+":"+encodeURIComponent(s)).toString("base64"))' "$CLIENT_ID" "$CLIENT_SECRET")"
# issue_and_check: a fresh token into BENCH_BEARER, and one GET /validate of it must say 200.
issue_and_check() {
  local issued code ttl
  issued=$(curl -sS --max-time 10 -X POST "$EDGE/token" -H "Authorization: $BENCH_BASIC" \
    -H 'Content-Type: application/x-www-form-urlencoded' -d 'grant_type=client_credentials')
  BENCH_BEARER=$(json_field access_token <<<"$issued") || die "POST /token: $issued"
  export BENCH_BEARER
  ttl=$(json_field expires_in <<<"$issued") || ttl=0
  code=$(curl -sS --max-time 10 -o "$TMP/validate.json" -w '%{http_code}' "$EDGE/validate" -H "Authorization: Bearer $BENCH_BEARER")
  [ "$code" = 200 ] || die "GET /validate of a fresh token: $code $(cat "$TMP/validate.json")"
  echo "checked:  POST /token 200 (expires_in $ttl s); GET /validate 200: $(cat "$TMP/validate.json")"
  (( ttl == 0 || WARMUP + DURATION < ttl )) || echo "WARNING: the token may expire during the run (WARMUP + DURATION >= expires_in)" >&2
}
echo "client:   $CLIENT_ID"
issue_and_check

# ---- measure: each operation right after its floor --------------------------------------------
measure "floor POST" floor token.lua /token
measure issuance edge-oauth token.lua /token
measure "floor GET" floor validate.lua /validate
issue_and_check
measure validation edge-oauth validate.lua /validate
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "$EDGE/validate" -H "Authorization: Bearer $BENCH_BEARER")
echo "after:    GET /validate of the benchmark token: $code"

for name in edge-oauth floor; do
  trouble=$(log_trouble "${LOGOF[$name]}")
  echo "$name wrangler log: $(wc -l <"${LOGOF[$name]}") lines${trouble:+; suspicious lines (count, line):}"
  [ -z "$trouble" ] || echo "$trouble"
  stop_worker "$name"
done

# ---- report ----------------------------------------------------------------------------------
ms() { awk -v u="$1" 'BEGIN { printf "%.2f ms", u / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
meets() { awk -v r="$1" -v t="$2" 'BEGIN { print (r >= t ? "meets" : "BELOW") }'; }
R_ISSUE=$(ratio "${RPS[issuance]}" "${RPS[floor POST]}")
R_VALID=$(ratio "${RPS[validation]}" "${RPS[floor GET]}")

say "results (CONCURRENCY=$CONCURRENCY, DURATION=${DURATION}s, THREADS=$THREADS, nproc=$(nproc))"
echo
echo "| Operation | req/s | p50 | p99 | ratio to floor | non-2xx + socket errors |"
echo "|---|---:|---:|---:|---|---:|"
row() { printf '| %s | %.0f | %s | %s | %s | %s |\n' "$1" "${RPS[$2]}" "$(ms "${P50[$2]}")" "$(ms "${P99[$2]}")" "$3" "${BAD[$2]}"; }
row "issuance (POST /token)" issuance "$R_ISSUE vs floor POST (target >= 0.7: $(meets "$R_ISSUE" 0.7))"
row "validation (GET /validate)" validation "$R_VALID vs floor GET (target >= 0.8: $(meets "$R_VALID" 0.8))"
row "floor POST (1 DO write)" "floor POST" "1"
row "floor GET (1 DO write)" "floor GET" "1"
echo
for k in issuance validation "floor POST" "floor GET"; do printf '%-11s %s\n' "$k:" "${CPU[$k]}"; done
echo
echo "issuance / floor = $R_ISSUE (target >= 0.7), validation / floor = $R_VALID (target >= 0.8)"

errors=0
for k in issuance validation "floor POST" "floor GET"; do (( BAD[$k] == 0 )) || errors=1; done
if (( errors )); then
  echo "WARNING: some requests failed (non-2xx or socket errors); their rates are not comparable." >&2
  exit 1
fi
