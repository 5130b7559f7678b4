// edge-oauth crash rounds (issue 24): kill -9 the whole `wrangler dev` process group at a random
// moment of a mixed concurrent workload, restart on the same persisted state, and check that
// everything the server answered before the kill still holds. Run it through `bench/crash`
// (settings and output are described there).
//
// A round:
//   1. (first round only) start the worker on a fresh state folder and set up the workload's
//      world through the admin API and the Account API: client_credentials clients, a client
//      with refresh tokens, people (one owns the console projects and is never disabled; the
//      others own refresh families and one project each and are disabled and enabled), a
//      catalogue API. Later rounds reuse the worker restarted by the round before, on the same
//      state, so state accumulates.
//   2. CONCURRENCY loops run a mixed workload: client_credentials issuance, validation (with
//      CF-Connecting-IP), refresh chains (authorization code + PKCE, then refresh after refresh),
//      revocations (access tokens and whole families), secret rotation with grace 0, disabling
//      and enabling people, and the console's project operations through the Account API
//      (create, rotate the key with grace 0, delete). Conflicting calls on one object (two
//      rotations of one client, two refreshes of one family) are not run at once.
//   3. After a random delay, SIGKILL to the process group of `npx wrangler dev` (wrangler, its
//      node children and workerd). Every request either answered (status and body recorded) or
//      was in flight (its connection died).
//   4. Restart on the same state; the time until it answers is the restart time (limit 30 s).
//   5. Admin calls cut by the kill (rotations, person disable/enable, project rotate/delete) are
//      polled, without repeating them, until their effect is all-or-nothing: a cut rotation
//      either left the old secret and all its old tokens working, or refuses both; a cut person
//      disable shows `disabled` in GET /admin/users/{id} exactly when every token of that person
//      is refused. Not consistent within 30 s: a violation. Their time to converge is reported.
//   6. Every answered write is checked: an issued token validates unless an answered call
//      (revocation, rotation, disable, delete) started after it was issued; a revoked token is
//      refused; after an answered rotation the old secret is refused and the current one issues;
//      a person's disabled flag is the last answered one; a deleted project is 404 and an
//      existing one is 200; refresh families: the newest answered refresh token still refreshes
//      (unless the family is dead by an answered call), presenting it again inside the retry
//      window gives the same successor, and presenting the one before it is reuse: refused, and
//      then the whole family is dead. Writes that overlap in time with a call that could undo
//      them, or were touched by a call that was in flight at the kill, may go either way and are
//      counted as such. Any 5xx after the restart is a violation.
//   7. After the checks, what a cut call left unknown (a secret nobody was told, a person's
//      state) is set again by a fresh answered call, so the next round starts from known state.
import { startWorker, clientFor, formClient, codeFlow, createUser, ADMIN, sleep } from "../tests/e2e/harness.mjs";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

// ---- settings --------------------------------------------------------------------------------
const SHORT = process.argv.includes("--short");
const env = process.env;
const int = (name, dflt) => {
  const v = env[name];
  if (v === undefined || v === "") return dflt;
  if (!/^[0-9]+$/.test(v)) { console.error(`crash: ${name} must be a non-negative integer (got '${v}')`); process.exit(2); }
  return Number(v);
};
const ROUNDS = int("ROUNDS", SHORT ? 3 : 18);
const WORKLOAD_SECONDS = int("WORKLOAD_SECONDS", SHORT ? 5 : 8); // the kill falls in [MIN_KILL_MS, this]
const MIN_KILL_MS = 500;
const CONCURRENCY = int("CONCURRENCY", 8);
const CONVERGE_SECONDS = int("CONVERGE_SECONDS", 30);
const RESTART_LIMIT_SECONDS = 30;
const OLD_SAMPLE = int("OLD_SAMPLE", 400); // tokens of earlier rounds re-checked per round
// Requests per secret check of a cut call. A token's shard is random and a cut rotation may
// have raised the gates of only some of the 8 shards: with one raised, 16 probes miss it with
// probability (7/8)^16 = 12 %, and a "not applied" verdict takes two observations (32 probes,
// 1.4 %); a miss shows up later as a refused "current" secret, flagged as such.
const PROBES = int("PROBES", 16);
const FAMILIES = 4;                        // live refresh families at the start of each round
const VERBOSE = env.VERBOSE === "1";
// CUT=1: after the random delay, the kill waits (at most 3 s) for an admin call to be in flight,
// then falls at a random point of it (up to 1.5 x the median admin latency of the round), so that
// rounds cut admin calls more often.
const CUT = (env.CUT ?? (SHORT ? "1" : "0")) === "1";
const KEEP_STATE = env.KEEP_STATE === "1";
const SEED = env.SEED !== undefined && env.SEED !== "" ? Number(env.SEED) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
if (env.SEED && !/^[0-9]+$/.test(env.SEED)) { console.error("crash: SEED must be an unsigned integer"); process.exit(2); }

const IP = "198.51.100.24";
const REDIRECT = "https://app.example/cb";
const VARS = {
  ADMIN_TOKEN: ADMIN,
  // The checks present old secrets on purpose: failed-authentication limits must not answer 429.
  AUTH_FAILURES_PER_IP: "100000000",
  AUTH_FAILURES_PER_CLIENT: "100000000",
  MAX_PROJECTS: "1000",
};

// ---- randomness: every choice comes from a seeded PRNG ------------------------------------------
function mulberry32(a) {
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
/** Round i's seed: the run's seed for round 0, a mix of it for the others. */
const roundSeed = (i) => (i === 0 ? SEED : (mulberry32((SEED ^ Math.imul(i, 0x9e3779b9)) >>> 0)() * 2 ** 32) >>> 0);
const pick = (rng, xs) => xs[Math.floor(rng() * xs.length)];
function weighted(rng, table) {
  const total = table.reduce((s, [, w]) => s + w, 0);
  let x = rng() * total;
  for (const [v, w] of table) if ((x -= w) < 0) return v;
  return table[table.length - 1][0];
}

// ---- HTTP ------------------------------------------------------------------------------------
const now = () => performance.now();
let base = "";             // the worker's URL (changes at each restart)
let afterRestart = false;  // 5xx after a restart are violations
let violations = [];       // this round's
let currentWorker = null, logShown = false;
const basic = (id, secret) => "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64");

/** One request; throws on a network error (the worker died). */
async function http(method, path, { headers = {}, form, json, timeout = 15_000 } = {}) {
  const h = { "cf-connecting-ip": IP, ...headers };
  let body;
  if (form !== undefined) { h["content-type"] = "application/x-www-form-urlencoded"; body = new URLSearchParams(form).toString(); }
  if (json !== undefined) { h["content-type"] = "application/json"; body = JSON.stringify(json); }
  let r;
  try {
    r = await fetch(base + path, { method, headers: h, body, redirect: "manual", signal: AbortSignal.timeout(timeout) });
  } catch (e) {
    if (!afterRestart) throw e;
    // After the restart every request must be answered: a hang or a reset is a violation.
    violation("no answer after restart", `${method} ${path.split("?")[0]}: ${e.name === "TimeoutError" ? `no answer in ${timeout / 1000} s` : String(e.cause?.code ?? e.message)}`);
    if (!logShown && currentWorker) {
      logShown = true;
      console.log(`  wrangler log (last lines):\n${currentWorker.log().trim().split("\n").slice(-15).map((l) => `    ${l}`).join("\n")}`);
    }
    return { status: 0, text: "", json: undefined };
  }
  const text = await r.text();
  let parsed;
  try { parsed = JSON.parse(text); } catch {}
  if (r.status >= 500 && afterRestart) {
    // wrangler's dev proxy answers this when it restarts the runtime under a request.
    const proxy = /Your worker restarted mid-request/.test(text) ? " (wrangler's proxy: the runtime restarted again after answering)" : "";
    violation("5xx after restart", `${method} ${path.split("?")[0]} -> ${r.status} ${text.slice(0, 200)}${proxy}`);
  }
  return { status: r.status, text, json: parsed };
}
const admin = (method, path, json) => http(method, path, { headers: { authorization: `Bearer ${ADMIN}` }, json });
const account = (token, method, path, json) => http(method, path, { headers: { authorization: `Bearer ${token}` }, json });
const issue = (id, secret) => http("POST", "/token", { headers: { authorization: basic(id, secret) }, form: { grant_type: "client_credentials" } });
const validate = (token) => http("GET", "/validate", { headers: { authorization: `Bearer ${token}` } });
const refreshCall = (fc, token) => http("POST", "/token", { headers: { authorization: basic(fc.id, fc.secret) }, form: { grant_type: "refresh_token", refresh_token: token } });
const revokeCall = (c, token) => http("POST", "/revoke", { headers: { authorization: basic(c.id, c.secret) }, form: { token } });

/**
 * Whether a secret issues: `n` client_credentials requests (a token's shard is random, and each
 * shard keeps its own gate, so one request can miss a half-applied change). "works" when all
 * answer 200, "refused" when all answer 401, else "mixed". Issued tokens join the model
 * (`keep`), except a cut call's probes: whether they live depends on that call.
 */
async function secretState(c, secret, n, round, keep = true) {
  const rs = await mapLimit(Array.from({ length: n }), 4, async () => {
    const start = now();
    const r = await issue(c.id, secret);
    if (r.status === 200 && keep && secret === c.secret) addToken(r.json.access_token, c, { start, end: now(), round });
    return r.status;
  });
  const ok = rs.filter((s) => s === 200).length, no = rs.filter((s) => s === 401).length;
  return { state: ok === n ? "works" : no === n ? "refused" : "mixed", text: ok === n ? "issues" : no === n ? "refused" : `${ok}/${n} issue (${[...new Set(rs)].join(",")})` };
}

function violation(kind, detail) {
  violations.push({ kind, detail });
  console.log(`  VIOLATION ${kind}: ${detail}`);
}
const short = (t) => (t ? `${t.slice(0, 30)}…` : String(t));

// ---- the model ---------------------------------------------------------------------------------
// Times are performance.now() milliseconds of this process. An op is a request the workload made:
// { kind, start, end (null while in flight), status, answered, inflight, ... }.
const M = {
  clients: [],   // { id, secret, oldSecrets: [{secret, by: op}], kind: "admin"|"project"|"family"|"account", owner (person index), deleted, ttl }
  persons: [],   // { user, disabled, token (Account API token, for the console person and setup), project (client) }
  families: [],  // { client, person, bornStart, bornEnd, head, prev, dead: reason|null, access: [token], round }
  tokens: [],    // { value, client, person, family, start, end, lastUse, round, ops: killer ops that apply }
  killers: [],   // ops that can end tokens: rotate / revoke / revokeFamily / disable / delete
};
const locks = new Set();
const tryLock = (k) => (locks.has(k) ? false : (locks.add(k), true));
const unlock = (k) => locks.delete(k);

/**
 * What a killer op means for a token (or a family, with `t.start/t.end` its birth):
 * "dead" (certainly ended), "maybe" (timing or the kill leaves it open), "none".
 */
function effect(k, t) {
  const applied = k.applied;                        // set for cut calls once they converged
  if (applied === false) return "none";
  const answered2xx = (k.answered && k.status >= 200 && k.status < 300) || applied === true;
  if (k.answered && !answered2xx && k.status < 500) return "none"; // refused: changed nothing
  if (!answered2xx) return "maybe";                 // in flight at the kill, or a 5xx
  if (k.kind === "revoke" || k.kind === "revokeFamily" || k.kind === "delete" || k.kind === "reuse") return "dead";
  if (k.start > t.end) return "dead";               // started after the token was answered
  if (k.end !== null && k.end < t.start) return "none";
  return "maybe";
}
function killersOf(t) {
  const fam = t.family;
  return M.killers.filter((k) => {
    if (k.kind === "revoke") return k.token === t.value;
    if (k.kind === "revokeFamily" || k.kind === "reuse") return fam && k.family === fam;
    if (k.kind === "rotate") return !fam && k.client === t.client;
    if (k.kind === "delete") return k.client === t.client;
    if (k.kind === "disable") return t.person !== null && k.person === t.person;
    return false;
  });
}
/** "alive" | "dead" | "maybe" | "expired" for a token, optionally ignoring one killer. */
function expect(t, ignore = null) {
  const c = t.client;
  if (now() - t.lastUse > (c.ttl - 20) * 1000) return "expired";
  // A family the server has since refused (a refresh answered invalid_grant, or our reuse
  // probe) is dead as a whole, whatever the model's killers say.
  if (t.family?.dead) return "dead";
  let out = "alive";
  for (const k of killersOf(t)) {
    if (k === ignore) continue;
    // A family dies as a whole: a disable counts from the family's birth, not this token's.
    const e = effect(k, k.kind === "disable" && t.family ? { start: t.family.bornStart, end: t.family.bornEnd } : t);
    if (e === "dead") return "dead";
    if (e === "maybe") out = "maybe";
  }
  return out;
}
function familyExpect(f, ignore = null) {
  let out = "alive";
  for (const k of M.killers) {
    if (k === ignore) continue;
    let applies = false;
    if (k.kind === "revokeFamily" || k.kind === "reuse") applies = k.family === f;
    else if (k.kind === "disable") applies = k.person === f.person;
    if (!applies) continue;
    const e = effect(k, { start: f.bornStart, end: f.bornEnd });
    if (e === "dead") return "dead";
    if (e === "maybe") out = "maybe";
  }
  return out;
}
function addToken(value, client, { person = client.owner ?? null, family = null, start, end, round }) {
  const t = { value, client, person, family, start, end, lastUse: end, round };
  M.tokens.push(t);
  if (family) family.access.push(t);
  return t;
}

// ---- setup (first round) --------------------------------------------------------------------
async function setup() {
  const api = clientFor(base, { ip: IP });
  const fc = (settings) => api.createClient({ token_ttl: 86400, max_lifetime: 86400, ...settings });
  for (let i = 0; i < 3; i++) {
    const c = await fc({ name: `crash-cc-${i}`, scopes: ["read", "write"] });
    M.clients.push({ id: c.client_id, secret: c.client_secret, oldSecrets: [], kind: "admin", owner: null, deleted: false, ttl: 86400 });
  }
  const famRaw = await fc({ name: "crash-family", scopes: ["read", "write"], grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT], skip_consent: true });
  const accRaw = await fc({ name: "crash-console-cli", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], scopes: ["account"], skip_consent: true });
  M.familyClient = { id: famRaw.client_id, secret: famRaw.client_secret, raw: famRaw, oldSecrets: [], kind: "family", owner: null, ttl: 86400 };
  M.accountClient = { raw: accRaw };
  const apiRes = await admin("POST", "/admin/apis", { name: "Crash API", scopes: ["crash:read"] });
  if (apiRes.status !== 201) throw new Error(`create API: ${apiRes.status} ${apiRes.text}`);
  M.apiId = apiRes.json.api_id;
  for (let i = 0; i < 4; i++) {
    const user = await createUser(api, { username: `crash-${SEED}-${i}`, password: `crash-pw-${SEED}-${i}!` });
    const { token } = await codeFlow(api, formClient(base, { ip: IP }), base, { client: accRaw, user, scope: "account" });
    if (token.status !== 200) throw new Error(`account token: ${token.status} ${token.text}`);
    const p = { index: i, user, disabled: false, token: token.json.access_token, project: null };
    M.persons.push(p);
    if (i > 0) {
      // One project per person who gets disabled: its key follows its owner.
      const r = await account(p.token, "POST", "/account/projects", { name: `crash-p${i}`, apis: [M.apiId] });
      if (r.status !== 201) throw new Error(`project: ${r.status} ${r.text}`);
      p.project = { id: r.json.client_id, secret: r.json.client_secret, oldSecrets: [], kind: "project", owner: p, deleted: false, ttl: 300 };
      M.clients.push(p.project);
    }
  }
  M.console = M.persons[0];
}

/** A new refresh family for person `p` (authorization code + PKCE through the pages). */
async function newFamily(p, round) {
  const start = now();
  const { token } = await codeFlow(clientFor(base, { ip: IP }), formClient(base, { ip: IP }), base, { client: M.familyClient.raw, user: p.user });
  const end = now();
  if (token.status !== 200) return null;
  const f = { client: M.familyClient, person: p, bornStart: start, bornEnd: end, head: token.json.refresh_token, prev: null, dead: null, access: [], round, headSince: end };
  M.families.push(f);
  addToken(token.json.access_token, M.familyClient, { person: p, family: f, start, end, round });
  return f;
}

// ---- the workload ------------------------------------------------------------------------------
const OPS = [
  ["issueAdmin", 20], ["issueProject", 12], ["validate", 30], ["refresh", 16], ["newFamily", 2],
  ["revoke", 4], ["revokeFamily", 0.8], ["rotate", 1.2], ["toggle", 1.2],
  ["projectCreate", 1.5], ["projectRotate", 2], ["projectDelete", 1.2],
];

async function workload(round, rng, deadline, state) {
  const ops = [];
  /** Run request `fn` as op `o` (pushed to `ops`); fills status/answered/inflight. */
  const run = async (o, fn) => {
    o.start = now(); o.end = null; o.round = round; o.answered = false; o.inflight = false;
    ops.push(o);
    state.pending.add(o);
    try {
      const r = await fn();
      o.end = now(); o.status = r.status; o.answered = true; o.res = r;
    } catch (e) {
      o.inflight = true; o.error = String(e.cause?.code ?? e.name ?? e);
    } finally {
      state.pending.delete(o);
    }
    return o;
  };
  const liveTokens = () => M.tokens.filter((t) => t.round === round || now() - t.lastUse < 60_000);
  let families = 0;

  async function loop(li) {
    const r = mulberry32((roundSeed(round) + li * 7919) >>> 0);
    while (!state.killed && now() < deadline) {
      const kind = weighted(r, OPS);
      await one(kind, r).catch((e) => { if (!state.killed) console.log(`  (workload error in ${kind}: ${e.message})`); });
      await sleep(Math.floor(r() * 15));
    }
  }
  async function one(kind, r) {
    switch (kind) {
      case "issueAdmin":
      case "issueProject": {
        const pool = M.clients.filter((c) => (kind === "issueAdmin" ? c.kind === "admin" : c.kind === "project") && !c.deleted && !c.unknown);
        if (!pool.length) return;
        const c = pick(r, pool), secret = c.secret;
        const o = await run({ kind: "issue", client: c }, () => issue(c.id, secret));
        if (o.answered && o.status === 200) addToken(o.res.json.access_token, c, { start: o.start, end: o.end, round });
        return;
      }
      case "validate": {
        const pool = liveTokens();
        if (!pool.length) return;
        const t = pick(r, pool);
        const o = await run({ kind: "validate", token: t }, () => validate(t.value));
        if (o.answered && o.status === 200) t.lastUse = o.end;
        else if (o.answered && !state.killed && expect(t) === "alive") violation("refused before the kill", `${t.family ? "family access" : t.client.kind} token ${short(t.value)} (round ${t.round}) answered ${o.status} with nothing that ends it`);
        return;
      }
      case "refresh": {
        const pool = M.families.filter((f) => !f.dead && !f.unknown && !locks.has(f));
        if (!pool.length) return;
        const f = pick(r, pool);
        if (!tryLock(f)) return;
        try {
          const head = f.head;
          const o = await run({ kind: "refresh", family: f, presented: head }, () => refreshCall(f.client, head));
          if (o.answered && o.status === 200) {
            f.prev = head; f.head = o.res.json.refresh_token; f.headSince = o.end;
            addToken(o.res.json.access_token, f.client, { person: f.person, family: f, start: o.start, end: o.end, round });
          } else if (o.answered && o.status !== 400) {
            f.unknown = true; // 429 or 5xx: nothing is known of the family from here on
          } else if (o.answered) {
            if (familyExpect(f) === "alive") violation("refused before the kill", `family of ${f.person.user.user_id}: its newest refresh token answered ${o.status} ${o.res.json?.error} with nothing that ends it`);
            f.dead = f.dead ?? `refused in the workload (${o.status} ${o.res.json?.error})`;
          } else f.inflightRefresh = o; // the head may have been rotated away
        } finally { unlock(f); }
        return;
      }
      case "newFamily": {
        if (families >= 4) return;
        const pool = M.persons.filter((p) => p !== M.console && !p.disabled && !p.unknown && !locks.has(p));
        if (!pool.length) return;
        const p = pick(r, pool);
        if (!tryLock(p)) return;
        families++;
        try { await newFamily(p, round); } catch (e) { if (!state.killed) throw e; } finally { unlock(p); }
        return;
      }
      case "revoke": {
        const pool = liveTokens().filter((t) => !t.family && !t.client.deleted && !t.client.unknown && t.client.kind !== "account");
        if (!pool.length) return;
        const t = pick(r, pool), c = t.client;
        const secret = c.secret;
        const o = { kind: "revoke", token: t.value, client: c };
        M.killers.push(o);
        await run(o, () => revokeCall({ id: c.id, secret }, t.value));
        return;
      }
      case "revokeFamily": {
        const pool = M.families.filter((f) => !f.dead && !f.unknown && !locks.has(f));
        if (!pool.length) return;
        const f = pick(r, pool);
        if (!tryLock(f)) return;
        try {
          const o = { kind: "revokeFamily", family: f, token: f.head };
          M.killers.push(o);
          await run(o, () => revokeCall(f.client, f.head));
          if (o.answered && o.status === 200) f.dead = "revoked";
          else if (o.inflight) f.inflightRevoke = o;
        } finally { unlock(f); }
        return;
      }
      case "rotate":
      case "projectRotate": {
        const pool = M.clients.filter((c) => (kind === "rotate" ? c.kind === "admin" : c.kind === "project" && c.owner === M.console) && !c.deleted && !c.unknown && !locks.has(c));
        if (!pool.length) return;
        const c = pick(r, pool);
        if (!tryLock(c)) return;
        try {
          const o = { kind: "rotate", via: kind === "rotate" ? "admin" : "account", client: c, oldSecret: c.secret };
          M.killers.push(o);
          await run(o, () => (kind === "rotate"
            ? admin("POST", `/admin/clients/${c.id}/secret`, { grace: 0 })
            : account(M.console.token, "POST", `/account/projects/${c.id}/rotate`, { grace: 0 })));
          if (o.answered && o.status === 201) {
            c.oldSecrets.push({ secret: c.secret, by: o });
            c.secret = o.res.json.client_secret;
          } else if (o.inflight) { c.unknown = true; c.cut = o; }
        } finally { unlock(c); }
        return;
      }
      case "toggle": {
        const pool = M.persons.filter((p) => p !== M.console && !p.unknown && !locks.has(p));
        if (!pool.length) return;
        const p = pick(r, pool);
        if (!tryLock(p)) return;
        try {
          const to = !p.disabled;
          const o = { kind: to ? "disable" : "enable", person: p };
          if (to) M.killers.push(o);
          await run(o, () => admin("PATCH", `/admin/users/${p.user.user_id}`, { disabled: to }));
          if (o.answered && o.status === 200) p.disabled = to;
          else if (o.inflight) { p.unknown = true; p.cut = o; }
        } finally { unlock(p); }
        return;
      }
      case "projectCreate": {
        if (M.clients.filter((c) => c.kind === "project" && c.owner === M.console && !c.deleted).length >= 5) return;
        const o = await run({ kind: "projectCreate" }, () => account(M.console.token, "POST", "/account/projects", { name: `crash-r${round}`, apis: [M.apiId] }));
        if (o.answered && o.status === 201) {
          const c = { id: o.res.json.client_id, secret: o.res.json.client_secret, oldSecrets: [], kind: "project", owner: M.console, deleted: false, ttl: 300, created: o };
          M.clients.push(c);
        }
        return;
      }
      case "projectDelete": {
        const pool = M.clients.filter((c) => c.kind === "project" && c.owner === M.console && !c.deleted && !locks.has(c));
        if (pool.length < 2) return;
        const c = pick(r, pool);
        if (!tryLock(c)) return;
        try {
          const o = { kind: "delete", client: c };
          M.killers.push(o);
          await run(o, () => account(M.console.token, "DELETE", `/account/projects/${c.id}`));
          if (o.answered && o.status === 204) c.deleted = true;
          else if (o.inflight) { c.unknownDeleted = true; c.cutDelete = o; }
        } finally { unlock(c); }
        return;
      }
    }
  }
  const loops = Array.from({ length: CONCURRENCY }, (_, i) => loop(i));
  return { ops, done: Promise.all(loops) };
}

// ---- the kill ----------------------------------------------------------------------------------
function groupAlive(pid) {
  try { process.kill(-pid, 0); return true; } catch { return false; }
}
/** Processes whose command line names this state folder or port (wrangler, workerd). */
function leftovers(worker) {
  const port = new URL(worker.url).port;
  let out = "";
  try { out = execFileSync("ps", ["-eo", "pid,pgid,comm,args"], { encoding: "utf8" }); } catch { return []; }
  const mine = new RegExp(`--port ${port}\\b|127\\.0\\.0\\.1:${port}\\b`);
  return out.split("\n").slice(1).filter((l) => l.includes(worker.stateDir) || mine.test(l)).filter((l) => !l.includes(" ps -eo"));
}
async function kill(worker) {
  const pid = worker.pid;
  const workerd = execFileSync("ps", ["-eo", "pid,pgid,comm"], { encoding: "utf8" }).split("\n")
    .filter((l) => / workerd$/.test(l.trim()) && l.trim().split(/\s+/)[1] === String(pid)).length;
  process.kill(-pid, "SIGKILL");
  const until = now() + 10_000;
  while (groupAlive(pid) && now() < until) await sleep(20);
  if (groupAlive(pid)) throw new Error(`process group ${pid} still alive 10 s after SIGKILL`);
  const left = leftovers(worker);
  if (left.length) throw new Error(`processes of the killed worker remain:\n${left.join("\n")}`);
  return { workerd };
}

// ---- after the restart: cut calls ------------------------------------------------------------
/**
 * Observe a cut call's effect: "none" (nothing applied), "applied" (all of it) or "mixed"
 * (with details). Never repeats the call.
 */
async function observeCut(k) {
  if (k.kind === "rotate") {
    const c = k.client;
    const old = M.tokens.filter((t) => t.client === c && !t.family && t.end < k.start && expect(t, k) === "alive");
    const sec = await secretState(c, k.oldSecret, PROBES, k.round, false);
    const statuses = await mapLimit(old, 8, async (t) => (await validate(t.value)).status);
    const alive = statuses.filter((s) => s === 200).length;
    const state = sec.state === "works" && alive === old.length ? "none" : sec.state === "refused" && alive === 0 ? "applied" : "mixed";
    return { state, some: sec.state !== "works" || alive < old.length, detail: `old secret ${sec.text}, ${alive}/${old.length} old tokens validate` };
  }
  if (k.kind === "disable" || k.kind === "enable") {
    const p = k.person;
    const g = await admin("GET", `/admin/users/${p.user.user_id}`);
    const disabled = g.json?.disabled;
    const toks = M.tokens.filter((t) => t.person === p && t.end < k.start && expect(t, k) === "alive");
    const statuses = await mapLimit(toks, 8, async (t) => (await validate(t.value)).status);
    const alive = statuses.filter((s) => s === 200).length;
    let keyWorks = null, keyText = "-";
    if (p.project && !p.project.deleted && !p.project.unknown) {
      const sec = await secretState(p.project, p.project.secret, PROBES, k.round, false);
      keyWorks = sec.state === "works" ? true : sec.state === "refused" ? false : "mixed";
      keyText = sec.text;
    }
    const detail = `GET disabled=${disabled}, ${alive}/${toks.length} of the person's tokens validate, project key ${keyText}`;
    let state;
    if (k.kind === "disable") {
      // Tokens of an enabled person may have died by the disable only if it applied.
      if (disabled === true && alive === 0 && (keyWorks === false || keyWorks === null)) state = "applied";
      else if (disabled === false && alive === toks.length && (keyWorks === true || keyWorks === null)) state = "none";
      else state = "mixed";
    } else {
      if (disabled === false && (keyWorks === true || keyWorks === null) && alive === 0) state = "applied";
      else if (disabled === true && (keyWorks === false || keyWorks === null) && alive === 0) state = "none";
      else state = "mixed";
    }
    const some = k.kind === "disable" ? disabled === true || alive < toks.length || (keyWorks !== true && keyWorks !== null)
      : disabled === false || (keyWorks !== false && keyWorks !== null);
    return { state, some, detail, disabled };
  }
  if (k.kind === "delete") {
    const c = k.client;
    const g = await account(M.console.token, "GET", `/account/projects/${c.id}`);
    const toks = M.tokens.filter((t) => t.client === c && t.end < k.start && expect(t, k) === "alive");
    const statuses = await mapLimit(toks, 8, async (t) => (await validate(t.value)).status);
    const alive = statuses.filter((s) => s === 200).length;
    const sec = await secretState(c, c.secret, PROBES, k.round, false);
    const detail = `GET ${g.status}, secret ${sec.text}, ${alive}/${toks.length} tokens validate`;
    const state = g.status === 200 && sec.state === "works" && alive === toks.length ? "none"
      : g.status === 404 && sec.state === "refused" && alive === 0 ? "applied" : "mixed";
    return { state, some: g.status === 404 || sec.state !== "works" || alive < toks.length, detail };
  }
  throw new Error(`no observation for ${k.kind}`);
}
async function converge(k, readyAt) {
  const limit = readyAt + CONVERGE_SECONDS * 1000;
  let obs, polls = 0, seen = false;
  // Once any part of the call was seen in force, "nothing applied" is no longer a consistent
  // end (a probe that missed the one changed shard would otherwise pass for it).
  const look = async () => {
    const o = await observeCut(k);
    seen ||= o.some;
    if (o.state === "none" && seen) return { ...o, state: "mixed", detail: `${o.detail} (but parts of the call were seen in force before)` };
    return o;
  };
  for (;;) {
    obs = await look();
    polls++;
    if (obs.state !== "mixed") {
      const at = now();
      // Converged once two observations 3 s apart agree (32 probes of the secret). If they
      // differ, a probe missed a shard, or an intent is still being completed: keep watching.
      await sleep(3000);
      const again = await look();
      if (again.state === obs.state) return { k, state: obs.state, ms: at - readyAt, polls: polls + 1, detail: obs.detail, disabled: obs.disabled };
      obs = { ...again, detail: `${obs.detail}, then ${again.detail}` };
    }
    if (now() > limit) return { k, state: "mixed", ms: null, polls, detail: obs.detail };
    await sleep(300);
  }
}
const describeCut = (k) => k.kind === "rotate" ? `${k.via} rotation of ${k.client.kind} ${k.client.id}`
  : k.kind === "delete" ? `project delete ${k.client.id}` : `person ${k.kind} ${k.person.user.user_id}`;

async function mapLimit(xs, n, fn) {
  const out = new Array(xs.length);
  let i = 0;
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, async () => {
    while (i < xs.length) { const j = i++; out[j] = await fn(xs[j], j); }
  }));
  return out;
}

// ---- after the restart: the answered writes -----------------------------------------------------
async function checkAnswered(round, rng, stats) {
  // Secrets: the current one issues, the ones rotated away by answered calls are refused.
  for (const c of M.clients) {
    if (c.unknown || c.unknownDeleted || c.owner?.unknown) continue;
    if (c.deleted && c.checkedDeleted) continue;
    const r = await secretState(c, c.secret, 4, round);
    stats.checked++;
    const ownerOff = c.owner && c.owner.disabled;
    if (c.deleted || ownerOff) {
      if (r.state !== "refused") violation("lost write", `${c.kind} ${c.id} is ${c.deleted ? "deleted" : "owned by a disabled person"} (answered), yet its secret: ${r.text}`);
    } else if (r.state !== "works") {
      violation("lost write", `${c.kind} ${c.id}: its current secret (answered ${c.oldSecrets.length ? "rotation" : "creation"}) is refused: ${r.text}` +
        (c.judgedNone ? ` (NB: judged not applied after the restart, so possibly half-applied where the probes missed: ${c.judgedNone.join("; ")})` : ""));
    }
    for (const o of c.oldSecrets.filter((s) => s.by.round === round)) {
      const q = await secretState(c, o.secret, 4, round);
      stats.checked++;
      if (q.state !== "refused") violation("lost write", `${c.kind} ${c.id}: a secret rotated away (grace 0, answered ${o.by.status}) still: ${q.text}`);
    }
  }
  // People: the last answered disabled flag.
  for (const p of M.persons) {
    if (p.unknown) continue;
    const g = await admin("GET", `/admin/users/${p.user.user_id}`);
    stats.checked++;
    if (g.json?.disabled !== p.disabled) violation("lost write", `person ${p.user.user_id}: GET says disabled=${g.json?.disabled}, the last answered PATCH set ${p.disabled}`);
  }
  // Projects: exist unless deleted.
  for (const c of M.clients.filter((c) => c.kind === "project" && c.owner === M.console && !c.unknownDeleted)) {
    if (c.deleted && c.checkedDeleted) continue;
    const g = await account(M.console.token, "GET", `/account/projects/${c.id}`);
    stats.checked++;
    if (g.status !== (c.deleted ? 404 : 200)) violation("lost write", `project ${c.id}: GET ${g.status}, expected ${c.deleted ? 404 : 200}`);
    if (c.deleted) c.checkedDeleted = true;
  }
  // Tokens: this round's, and a sample of earlier ones.
  const mine = M.tokens.filter((t) => t.round === round);
  const older = M.tokens.filter((t) => t.round !== round && !(t.verifiedDead));
  for (let i = older.length - 1; i > 0; i--) { const j = Math.floor(rng() * (i + 1)); [older[i], older[j]] = [older[j], older[i]]; }
  const toCheck = mine.concat(older.slice(0, OLD_SAMPLE));
  await mapLimit(toCheck, 8, async (t) => {
    const e = expect(t);
    if (e === "expired") return;
    const v = await validate(t.value);
    if (v.status === 0) return; // no answer: already a violation
    if (e === "maybe") { stats.maybe++; if (v.status === 200) t.lastUse = now(); return; }
    stats.checked++;
    if (e === "alive") {
      if (v.status === 200) t.lastUse = now();
      else violation("lost write", `${t.family ? "family access" : t.client.kind} token ${short(t.value)} (issued round ${t.round}, answered) no longer validates: ${v.status}`);
    } else {
      if (v.status === 200) {
        const why = killersOf(t).filter((k) => effect(k, t) === "dead").map((k) => `${k.kind}${k.via ? `/${k.via}` : ""} (round ${k.round}, answered ${k.status ?? (k.applied ? "cut, applied" : "")})`);
        violation("lost write", `${t.client.kind} token ${short(t.value)} (round ${t.round}) still validates after ${why.join(", ")}`);
      } else t.verifiedDead = true;
    }
  });
  // Refresh families.
  for (const f of M.families) {
    if (f.verifiedDead || f.unknown) continue;
    const e = f.dead ? "dead" : familyExpect(f);
    const inflight = f.inflightRefresh && f.inflightRefresh.round === round;
    if (e === "dead") {
      const r = await refreshCall(f.client, f.head);
      stats.checked++;
      if (r.status === 200) violation("lost write", `family of ${f.person.user.user_id}: dead (${f.dead ?? "by an answered call"}), yet its newest refresh token refreshes`);
      else f.verifiedDead = true;
      continue;
    }
    const r1 = await refreshCall(f.client, f.head);
    if (r1.status === 0) continue; // no answer: already a violation
    if (r1.status !== 200) {
      if (e === "alive" && !inflight) {
        stats.checked++;
        violation("lost write", `family of ${f.person.user.user_id} (round ${f.round}): its newest answered refresh token is refused: ${r1.status} ${r1.json?.error}`);
        f.dead = "refused after restart";
        continue;
      }
      // It may go either way; if refused, the family must be dead as a whole.
      stats.maybe++;
      const live = [];
      for (const t of f.access) if (expect(t) !== "expired" && (await validate(t.value)).status === 200) live.push(t);
      if (live.length) violation("family half-dead", `family of ${f.person.user.user_id}: its newest refresh token is refused (${r1.status} ${r1.json?.error}${inflight ? ", a refresh of it was in flight at the kill" : ""}) but ${live.length} of its access tokens still validate`);
      f.dead = `refused after restart (${inflight ? "in-flight refresh" : "touched by a cut call"})`;
      f.verifiedDead = true;
      continue;
    }
    stats.checked++;
    if (inflight) stats.inflightResolved++;
    const s1 = r1.json.refresh_token;
    const t1 = addToken(r1.json.access_token, f.client, { person: f.person, family: f, start: now(), end: now(), round });
    // The same token again, inside the retry window: the same successor, never a second one.
    const r2 = await refreshCall(f.client, f.head);
    stats.checked++;
    if (r2.status !== 200 || r2.json.refresh_token !== s1) {
      violation("fork", `family of ${f.person.user.user_id}: presenting its newest refresh token twice gave ${r2.status} ${r2.json?.refresh_token === undefined ? r2.json?.error : "a different successor"} (retry window: the same successor)`);
    } else addToken(r2.json.access_token, f.client, { person: f.person, family: f, start: now(), end: now(), round });
    if (f.prev && e === "alive" && rng() < 0.5) {
      // Reuse: the token rotated away by an answered refresh, after its successor was used.
      const r3 = await refreshCall(f.client, f.prev);
      stats.checked++;
      if (r3.status === 200) { violation("fork", `family of ${f.person.user.user_id}: a refresh token rotated away by an answered refresh refreshes again (${r3.json.refresh_token === f.head ? "its old successor" : "a new successor"}) after the successor was used`); }
      const r4 = await refreshCall(f.client, s1);
      stats.checked++;
      const live = [];
      for (const t of f.access) if (expect(t) !== "expired" && (await validate(t.value)).status === 200) live.push(t);
      if (r4.status === 200 || live.length) violation("fork", `family of ${f.person.user.user_id}: after reuse of an old refresh token the family lives on (successor ${r4.status}, ${live.length} access tokens validate)`);
      const k = { kind: "reuse", family: f, start: now(), end: now(), answered: true, status: 200, round };
      M.killers.push(k);
      f.dead = "reuse probe"; f.verifiedDead = true;
      continue;
    }
    f.prev = f.head; f.head = s1; f.headSince = now();
    void t1;
  }
}

// ---- a round -----------------------------------------------------------------------------------
async function round(i, stateDir, worker, totals) {
  const seed = roundSeed(i);
  const rng = mulberry32(seed);
  if (VERBOSE) console.log(`round ${i + 1}/${ROUNDS} seed=${seed} starts`);
  violations = [];
  afterRestart = false;
  const stats = { checked: 0, maybe: 0, inflightResolved: 0 };
  const killAfter = MIN_KILL_MS + Math.floor(rng() * Math.max(1, WORKLOAD_SECONDS * 1000 - MIN_KILL_MS));
  const state = { killed: false, pending: new Set() };
  // Refresh chains to work on: a few live families, from enabled people (enable one if need be).
  const liveFamilies = () => M.families.filter((f) => !f.dead && !f.unknown && !f.person.disabled && familyExpect(f) === "alive").length;
  let people = M.persons.filter((p) => p !== M.console && !p.disabled && !p.unknown);
  if (!people.length && liveFamilies() < FAMILIES) {
    const p = pick(rng, M.persons.filter((p) => p !== M.console && !p.unknown));
    const r = await admin("PATCH", `/admin/users/${p.user.user_id}`, { disabled: false });
    if (r.status !== 200) throw new Error(`enable ${p.user.user_id}: ${r.status} ${r.text}`);
    p.disabled = false;
    people = [p];
  }
  for (let n = liveFamilies(); n < FAMILIES; n++) await newFamily(pick(rng, people), i);
  const t0 = now();
  const w = await workload(i, rng, t0 + WORKLOAD_SECONDS * 1000 + 5000, state);
  const ops = w.ops;
  await sleep(killAfter);
  if (CUT) {
    const until = now() + 3000;
    const adminInFlight = () => [...state.pending].some((o) => ["rotate", "disable", "enable", "delete"].includes(o.kind));
    while (!adminInFlight() && now() < until) await sleep(2);
    // A random point of a typical admin call: up to 1.5 x the median admin latency so far.
    const lat = ops.filter((o) => o.answered && ["rotate", "disable", "enable", "delete"].includes(o.kind)).map((o) => o.end - o.start).sort((a, b) => a - b);
    if (adminInFlight()) await sleep(Math.floor(rng() * 1.5 * (lat.length ? lat[lat.length >> 1] : 60)));
  }
  state.killed = true;
  const killedAt = now();
  const pendingAtKill = [...state.pending].map((o) => o.kind);
  if (VERBOSE) console.log(`  at the kill: ${pendingAtKill.length} requests pending (${pendingAtKill.join(", ")})`);
  const { workerd } = await kill(worker);
  await w.done;
  const answered = ops.filter((o) => o.answered);
  const inflight = ops.filter((o) => o.inflight);
  const writes = answered.filter((o) => o.kind !== "validate" && o.status >= 200 && o.status < 300);
  const pre5xx = answered.filter((o) => o.status >= 500);
  // Restart on the same state.
  const r0 = now();
  afterRestart = true;
  worker = await startWorker({ state: stateDir, vars: VARS });
  base = worker.url;
  currentWorker = worker; logShown = false;
  const readyAt = now();
  const restartMs = readyAt - r0;
  if (restartMs > RESTART_LIMIT_SECONDS * 1000) violation("slow restart", `${(restartMs / 1000).toFixed(1)} s`);
  // Cut admin calls first (the answered checks then know whether each applied).
  const cut = M.killers.filter((k) => k.round === i && k.inflight && ["rotate", "disable", "delete"].includes(k.kind))
    .concat(ops.filter((o) => o.inflight && o.kind === "enable"));
  const conv = await Promise.all(cut.map((k) => converge(k, readyAt)));
  for (const c of conv) {
    const k = c.k;
    if (c.state === "mixed") violation("cut call not converged", `${describeCut(k)} (cut at the kill) is still half-done ${CONVERGE_SECONDS} s after the restart: ${c.detail}`);
    if (c.state === "applied" || c.state === "none") k.applied = c.state === "applied";
    if (k.client && c.state === "none") (k.client.judgedNone ??= []).push(`${describeCut(k)} in round ${i + 1}`);
  }
  // Model updates from the cut calls that converged.
  for (const c of conv) {
    const k = c.k;
    if (k.kind === "rotate" && k.applied === false) { k.client.unknown = false; k.client.cut = null; }
    if ((k.kind === "disable" || k.kind === "enable") && k.applied !== undefined) { k.person.disabled = c.disabled; k.person.unknown = false; }
    if (k.kind === "delete" && k.applied !== undefined) { k.client.deleted = k.applied; k.client.unknownDeleted = false; }
  }
  for (const f of M.families) if (f.inflightRevoke && f.inflightRevoke.round === i) f.unknown = true; // revoked or not: either way
  await checkAnswered(i, rng, stats);
  // Put back what a cut call left unknown, with a fresh answered call (after the measurement).
  for (const c of M.clients.filter((c) => c.unknown)) {
    const o = { kind: "rotate", via: c.kind === "admin" ? "admin" : "account", client: c, oldSecret: null, round: i, start: now(), answered: true };
    const r = c.kind === "admin" ? await admin("POST", `/admin/clients/${c.id}/secret`, { grace: 0 })
      : await account(M.console.token, "POST", `/account/projects/${c.id}/rotate`, { grace: 0 });
    o.end = now(); o.status = r.status;
    M.killers.push(o);
    if (r.status === 201) { c.secret = r.json.client_secret; c.unknown = false; c.cut = null; } else c.deleted = true;
  }
  for (const p of M.persons.filter((p) => p.unknown)) {
    const g = await admin("GET", `/admin/users/${p.user.user_id}`);
    const o = { kind: "disable", person: p, round: i, start: now(), answered: true };
    const r = await admin("PATCH", `/admin/users/${p.user.user_id}`, { disabled: !!g.json?.disabled });
    o.end = now(); o.status = r.status;
    if (g.json?.disabled) M.killers.push(o); // in force from here on, whatever happened before
    p.disabled = !!g.json?.disabled; p.unknown = false;
  }
  for (const c of M.clients.filter((c) => c.unknownDeleted)) {
    const o = { kind: "delete", client: c, round: i, start: now(), answered: true };
    const r = await account(M.console.token, "DELETE", `/account/projects/${c.id}`);
    o.end = now(); o.status = r.status === 404 ? 204 : r.status;
    M.killers.push(o);
    c.deleted = true; c.unknownDeleted = false;
  }
  // A person left disabled is enabled again, answered, so that the workload has people to use.
  afterRestart = false;
  const line = {
    round: i + 1, seed, killAfterMs: killAfter, answered: answered.length, writes: writes.length, inflight: inflight.length,
    inflightWrites: inflight.filter((o) => o.kind !== "validate").length, checked: stats.checked, maybe: stats.maybe,
    restartMs: Math.round(restartMs), cut: conv.map((c) => ({ call: describeCut(c.k), state: c.state, ms: c.ms === null ? null : Math.round(c.ms), detail: c.detail })),
    violations: violations.length, pre5xx: pre5xx.length, workerd,
  };
  console.log(`round ${i + 1}/${ROUNDS} seed=${seed}: kill at ${(killAfter / 1000).toFixed(2)} s (${workerd} workerd in the group), ` +
    `${answered.length} answered (${writes.length} writes), ${inflight.length} in flight (${line.inflightWrites} writes), ` +
    `checked ${stats.checked} answered writes, ${stats.maybe} either-way, restart ${(restartMs / 1000).toFixed(1)} s, ` +
    `cut calls ${conv.length ? conv.map((c) => `[${describeCut(c.k)}: ${c.state}${c.ms !== null ? ` in ${(c.ms / 1000).toFixed(1)} s` : ""}]`).join(" ") : "none"}, ` +
    `${pre5xx.length ? `${pre5xx.length} 5xx before the kill, ` : ""}violations ${violations.length}`);
  if (VERBOSE) {
    const byKind = {};
    for (const o of ops) { const key = `${o.kind} ${o.answered ? o.status : "in-flight"}`; byKind[key] = (byKind[key] ?? 0) + 1; }
    console.log(`  ops: ${JSON.stringify(byKind)}`);
    for (const c of conv) console.log(`  cut: ${describeCut(c.k)}: ${c.state} after ${c.polls} polls: ${c.detail}`);
  }
  if (violations.length) console.log(`  replay: SEED=${seed} ROUNDS=1 bench/crash   (or the whole run: SEED=${SEED} ROUNDS=${i + 1} bench/crash)`);
  totals.push({ ...line, violationList: violations });
  void killedAt;
  return worker;
}

// ---- main ----------------------------------------------------------------------------------------
async function main() {
  const stateDir = mkdtempSync(join(tmpdir(), "edge-oauth-crash-"));
  console.log(`# edge-oauth crash rounds: ROUNDS=${ROUNDS} SEED=${SEED} WORKLOAD_SECONDS=${WORKLOAD_SECONDS} CONCURRENCY=${CONCURRENCY} CONVERGE_SECONDS=${CONVERGE_SECONDS} CUT=${CUT ? 1 : 0}${SHORT ? " (--short)" : ""}`);
  console.log(`state: ${stateDir}${KEEP_STATE ? " (kept)" : ""}`);
  const totals = [];
  let worker;
  const t0 = now();
  try {
    worker = await startWorker({ state: stateDir, vars: VARS });
    base = worker.url;
    await setup();
    for (let f = 0; f < 2; f++) for (const p of M.persons.slice(1)) await newFamily(p, 0);
    for (let i = 0; i < ROUNDS; i++) worker = await round(i, stateDir, worker, totals);
  } finally {
    if (worker) await worker.stop().catch(() => {});
    if (!KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  }
  const sum = (f) => totals.reduce((s, t) => s + f(t), 0);
  const cuts = totals.flatMap((t) => t.cut);
  const conv = cuts.filter((c) => c.ms !== null).map((c) => c.ms);
  const restarts = totals.map((t) => t.restartMs);
  const bad = totals.filter((t) => t.violations);
  console.log(`\nsummary: ${totals.length} rounds, ${totals.length} kills, ${sum((t) => t.answered)} answered requests ` +
    `(${sum((t) => t.writes)} writes), ${sum((t) => t.checked)} answered writes checked after restarts, ${sum((t) => t.maybe)} either-way, ` +
    `${sum((t) => t.inflight)} in flight at the kills (${sum((t) => t.inflightWrites)} writes), ` +
    `${cuts.length} cut admin calls (${cuts.filter((c) => c.state === "applied").length} applied, ${cuts.filter((c) => c.state === "none").length} not applied, ` +
    `${cuts.filter((c) => c.state === "mixed").length} not converged in ${CONVERGE_SECONDS} s` +
    `${conv.length ? `; converged after ${Math.round(Math.min(...conv))}-${Math.round(Math.max(...conv))} ms` : ""}), ` +
    `restart ${(Math.min(...restarts) / 1000).toFixed(1)}-${(Math.max(...restarts) / 1000).toFixed(1)} s (median ${(restarts.sort((a, b) => a - b)[restarts.length >> 1] / 1000).toFixed(1)}), ` +
    `${sum((t) => t.pre5xx)} 5xx before kills, violations ${sum((t) => t.violations)}` +
    `${bad.length ? ` in rounds ${bad.map((t) => `${t.round} (seed ${t.seed})`).join(", ")}` : ""}; ${((now() - t0) / 1000).toFixed(0)} s`);
  if (env.JSON_OUT) (await import("node:fs")).writeFileSync(env.JSON_OUT, JSON.stringify(totals, null, 1));
  process.exit(bad.length ? 1 : 0);
}
main().catch((e) => { console.error(`crash: ${e.stack ?? e}`); process.exit(2); });
