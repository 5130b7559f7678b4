// Chained refresh load for bench/run.sh, which wrk cannot drive: every refresh returns a new
// refresh token that must be used exactly once, in order, so each of C connections runs its
// own chain (its own person, its own refresh family) one request after another.
//
//   node bench/load.mjs setup  --url EDGE --admin TOKEN --state FILE [--chains 16]
//       creates one client (authorization_code + refresh_token), and per chain a person who
//       goes through the code flow (the e2e harness's helpers: login page, consent, PKCE,
//       redeem): FILE gets the client and each chain's refresh and access token.
//   node bench/load.mjs run    --url URL --state FILE [--duration 10] [--warmup 2] [--floor]
//       C chains, each on its own keep-alive connection, for WARMUP s unmeasured and then
//       DURATION s measured: POST grant_type=refresh_token with HTTP Basic, then the next
//       with the refresh token just returned. Saves the chains' newest tokens in FILE.
//       --floor: the same requests, byte for byte (each chain repeats its current token), to
//       URL, e.g. the floor worker's /rpc-put; answers are read and not interpreted.
//       Prints one line: BENCHRESULT requests= duration_us= rps= p50_us= p99_us= non2xx=
//       socket_errors= (as bench/report.lua does for wrk).
//   node bench/load.mjs check  --url EDGE --state FILE [--revoke]
//       every chain's newest access token must validate (GET /validate: 200); with --revoke,
//       then revoke chain 0's refresh token (POST /revoke) and require at once that its newest
//       access token is refused (401) and its refresh token too (400 invalid_grant).
//
// Requests carry no CF-Connecting-IP: `wrangler dev` supplies 127.0.0.1, as for wrk and curl.
// Exit status 1 on any failure of setup or check.
import http from "node:http";
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { clientFor, formClient, createUser, codeFlow, uniq } from "../tests/e2e/harness.mjs";

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" },
    admin: { type: "string" },
    state: { type: "string" },
    chains: { type: "string", default: "16" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "2" },
    timeout: { type: "string", default: "10" },
    floor: { type: "boolean", default: false },
    revoke: { type: "boolean", default: false },
  },
});
const mode = positionals[0];
const fail = (msg) => {
  console.error(`load.mjs ${mode}: ${msg}`);
  process.exit(1);
};
if (!opt.url || !opt.state) fail("--url and --state are required");
const REDIRECT = "https://bench-app.example/cb";
const basic = (id, secret) => "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");
const refreshBody = (token) => `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}`;

if (mode === "setup") await setup();
else if (mode === "run") await run();
else if (mode === "check") await check();
else fail("mode must be setup, run or check");

async function setup() {
  if (!opt.admin) fail("--admin is required");
  const n = Number(opt.chains);
  const api = clientFor(opt.url, { ip: null });
  // The harness's admin calls use its fixed e2e token; this worker has its own.
  api.admin = (method, path, body) =>
    api.call(method, path, {
      headers: { authorization: `Bearer ${opt.admin}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const client = await api.createClient({
    name: "bench-refresh",
    scopes: ["read"],
    grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [REDIRECT],
  });
  const chains = [];
  for (let i = 0; i < n; i++) {
    const user = await createUser(api, { username: uniq(`bench-${i}-`) });
    const { token } = await codeFlow(api, formClient(opt.url, { ip: null }), opt.url, { client, user, scope: "read" });
    if (token.status !== 200 || !token.json?.refresh_token) fail(`code flow for chain ${i}: ${token.status} ${token.text}`);
    const who = await api.validate(token.json.access_token);
    if (who.status !== 200) fail(`chain ${i}: GET /validate of its first access token: ${who.status} ${who.text}`);
    chains.push({ user: user.username, refresh: token.json.refresh_token, access: token.json.access_token });
  }
  writeFileSync(opt.state, JSON.stringify({ client: { client_id: client.client_id, client_secret: client.client_secret }, chains }));
  console.log(`setup: client ${client.client_id}, ${n} people, ${n} refresh families (code flow, then GET /validate 200 each)`);
}

async function run() {
  const state = JSON.parse(readFileSync(opt.state, "utf8"));
  const target = new URL(opt.url);
  const auth = basic(state.client.client_id, state.client.client_secret);
  const warmupMs = Number(opt.warmup) * 1000, durationMs = Number(opt.duration) * 1000, timeoutMs = Number(opt.timeout) * 1000;
  const start = performance.now();
  const from = start + warmupMs, to = from + durationMs;
  const latencies = []; // microseconds, of the requests completed inside [from, to]
  let non2xx = 0, socketErrors = 0, broken = 0;

  // One request on `agent` (one keep-alive socket): resolves { status, text }, rejects on socket errors.
  const post = (agent, body) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          agent, host: target.hostname, port: target.port, path: target.pathname + target.search, method: "POST",
          headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded", "content-length": Buffer.byteLength(body) },
        },
        (res) => {
          const chunks = [];
          res.on("data", (c) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
          res.on("error", reject);
        },
      );
      req.setTimeout(timeoutMs, () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end(body);
    });

  const chain = async (c, i) => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      while (performance.now() < to) {
        const t0 = performance.now();
        let r;
        try {
          r = await post(agent, refreshBody(c.refresh));
        } catch {
          // The refresh may have happened; presenting the same token again within 30 s gets the
          // same successor (the retry window), so the chain goes on with it.
          if (t0 >= from) socketErrors++;
          await new Promise((res) => setTimeout(res, 50));
          continue;
        }
        const t1 = performance.now();
        const inside = t0 >= from && t1 <= to; // as wrk: completed within the measured window (and started in it)
        if (r.status < 200 || r.status > 299) {
          if (t0 >= from) non2xx++;
          if (!opt.floor) {
            broken++;
            console.error(`chain ${i}: ${r.status} ${r.text.slice(0, 200)} (the chain stops)`);
            return;
          }
        } else if (!opt.floor) {
          const j = JSON.parse(r.text);
          if (!j.refresh_token || !j.access_token) {
            non2xx++;
            broken++;
            console.error(`chain ${i}: 200 without tokens: ${r.text.slice(0, 200)} (the chain stops)`);
            return;
          }
          c.refresh = j.refresh_token;
          c.access = j.access_token;
        }
        if (inside) latencies.push(Math.round((t1 - t0) * 1000));
      }
    } finally {
      agent.destroy();
    }
  };
  await Promise.all(state.chains.map(chain));
  if (!opt.floor) writeFileSync(opt.state, JSON.stringify(state));
  latencies.sort((a, b) => a - b);
  const q = (p) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.ceil((latencies.length * p) / 100) - 1)] : 0);
  const seconds = durationMs / 1000;
  console.log(`${state.chains.length} chains, ${opt.warmup} s warm-up, ${opt.duration} s measured: ${latencies.length} requests, ` +
    `${(latencies.length / seconds).toFixed(1)} req/s, p50 ${(q(50) / 1000).toFixed(2)} ms, p99 ${(q(99) / 1000).toFixed(2)} ms, ` +
    `non-2xx ${non2xx}, socket errors ${socketErrors}${opt.floor ? "" : `, broken chains ${broken}`}`);
  console.log(`BENCHRESULT requests=${latencies.length} duration_us=${durationMs * 1000} rps=${(latencies.length / seconds).toFixed(1)} ` +
    `p50_us=${q(50)} p99_us=${q(99)} non2xx=${non2xx} socket_errors=${socketErrors}`);
}

async function check() {
  const state = JSON.parse(readFileSync(opt.state, "utf8"));
  const api = clientFor(opt.url, { ip: null });
  const { client_id, client_secret } = state.client;
  let ok = 0;
  for (const [i, c] of state.chains.entries()) {
    const r = await api.validate(c.access);
    if (r.status !== 200) fail(`chain ${i}: GET /validate of its newest access token: ${r.status} ${r.text}`);
    ok++;
  }
  console.log(`check: the newest access token of each of ${ok} chains validates (200)`);
  if (!opt.revoke) return;
  const c = state.chains[0];
  const rv = await api.form("/revoke", client_id, client_secret, `token=${encodeURIComponent(c.refresh)}`);
  if (rv.status !== 200) fail(`POST /revoke of chain 0's refresh token: ${rv.status} ${rv.text}`);
  const v = await api.validate(c.access);
  if (v.status !== 401) fail(`after revoking its family, chain 0's newest access token answers ${v.status} (expected 401): ${v.text}`);
  const rf = await api.form("/token", client_id, client_secret, refreshBody(c.refresh));
  if (rf.status !== 400 || rf.json?.error !== "invalid_grant") fail(`after revoking it, chain 0's refresh token answers ${rf.status} ${rf.text} (expected 400 invalid_grant)`);
  console.log("check: POST /revoke of chain 0's refresh token 200; at once its newest access token GET /validate 401 and its refresh token 400 invalid_grant");
}
