// Starts the built worker under `wrangler dev` (the real workerd runtime, local KV and Durable
// Objects) on a free port with a fresh state folder, and talks HTTP to it as a client would.
import { spawn, execFileSync } from "node:child_process";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ADMIN = "e2e-admin-token";

// Ports handed out by this process: never the same one twice (the system's pick of a free
// port may repeat one that is closed again but not yet taken by the wrangler it was meant for).
const handedOut = new Set();

export async function freePort() {
  for (;;) {
    const port = await new Promise((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.on("error", reject);
      srv.listen(0, "127.0.0.1", () => {
        const { port } = srv.address();
        srv.close(() => resolve(port));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/**
 * Start `wrangler dev`. `configs` are wrangler.toml paths relative to the repo (the first is
 * the one served on the port); `state` reuses a state folder (for restart tests); `port` is a
 * port chosen beforehand (from `freePort()`), for vars that must name the worker's own URL.
 */
export async function startWorker(options = {}) {
  // A port picked free can still be taken before wrangler binds it (by another process's own
  // pick): then wrangler exits with EADDRINUSE, and a start with fresh ports succeeds.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (e) {
      if (attempt >= 3 || !/EADDRINUSE|address already in use/i.test(String(e.message))) throw e;
    }
  }
}

async function startOnce({ configs = ["wrangler.toml"], state, vars = { ADMIN_TOKEN: ADMIN }, port: chosen, stamp = false, logFile } = {}) {
  const port = chosen ?? await freePort();
  const stateDir = state ?? mkdtempSync(join(tmpdir(), "edge-oauth-e2e-"));
  const args = ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(port), "--persist-to", stateDir,
    "--show-interactive-dev-session=false", "--inspector-port", String(await freePort())];
  for (const c of configs) args.push("-c", c);
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const child = spawn("npx", args, {
    cwd: ROOT,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  // With `stamp`, every chunk of the log starts with the time it arrived (ISO): long runs use it
  // to line the worker's log up with what their clients saw. With `logFile`, the log is also
  // appended there as it comes (readable while the run goes on).
  let log = "";
  const add = (d) => {
    const chunk = stamp ? `[${new Date().toISOString()}] ${d}` : String(d);
    log += chunk;
    if (logFile) appendFileSync(logFile, chunk);
  };
  child.stdout.on("data", add);
  child.stderr.on("data", add);
  let exited = false;
  child.on("exit", () => (exited = true));

  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (exited) return;
    const done = new Promise((r) => child.once("exit", r));
    try { process.kill(-child.pid, "SIGTERM"); } catch {}
    const timer = setTimeout(() => { try { process.kill(-child.pid, "SIGKILL"); } catch {} }, 5000);
    await done;
    clearTimeout(timer);
  };
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) {
      if (!state) rmSync(stateDir, { recursive: true, force: true });
      throw new Error(`wrangler dev exited before it was ready. Its log:\n${log}`);
    }
    // Only once wrangler says it listens there: until then, what answers on the port may be
    // another process (a wrangler starting beside this one binds ports of its own).
    if (log.includes(`Ready on ${url}`)) {
      try {
        const r = await fetch(`${url}/.well-known/oauth-authorization-server`, { signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (r.status < 500) break;
      } catch {}
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not come up in 180 s. Its log:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stateDir,
    /** The process id of `npx wrangler dev`, also its process group's (it is started detached). */
    pid: child.pid,
    log: () => log,
    stop,
    /** `kill -9` of the whole process group (wrangler, workerd): a crash, not a stop. */
    async kill() {
      if (exited) return;
      const done = new Promise((r) => child.once("exit", r));
      try { process.kill(-child.pid, "SIGKILL"); } catch {}
      await done;
    },
    /** Stop, and remove the state folder if this session made it (or `force`). */
    async destroy(force = false) {
      await stop();
      if (!state || force) rmSync(stateDir, { recursive: true, force: true });
    },
  };
}

/**
 * One request. `headers` is an object or a list of pairs (a list may repeat a name); `body` is
 * a string, a stream, or a function returning either; `ip` is the CF-Connecting-IP (null: none).
 */
export async function request(url, method, path, { headers = {}, body, ip = "198.51.100.7" } = {}) {
  const h = new Headers();
  if (ip !== null) h.set("cf-connecting-ip", ip);
  for (const [k, v] of Array.isArray(headers) ? headers : Object.entries(headers)) {
    if (k.toLowerCase() === "cf-connecting-ip") {
      if (v === null) h.delete(k); else h.set(k, v);
    } else h.append(k, v);
  }
  if (typeof body === "function") body = body();
  const init = { method, headers: h, body, redirect: "manual" };
  if (body instanceof ReadableStream) init.duplex = "half";
  const r = await fetch(url + path, init);
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: r.status, headers: r.headers, text, json };
}

/** A small client for the worker under test. */
export function clientFor(url, { ip = "198.51.100.7" } = {}) {
  const call = (method, path, { headers = {}, body, ip: fromIp = ip } = {}) =>
    request(url, method, path, { headers, body, ip: fromIp });
  const api = {
    call,
    admin: (method, path, body) =>
      call(method, path, {
        headers: { authorization: `Bearer ${ADMIN}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      }),
    async createClient(settings = {}) {
      const r = await api.admin("POST", "/admin/clients", { name: "e2e", ...settings });
      if (r.status !== 201) throw new Error(`create client: ${r.status} ${r.text}`);
      return r.json;
    },
    basic: (id, secret) =>
      "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64"),
    token: (id, secret, { scope, ip: fromIp, extra = "" } = {}) =>
      call("POST", "/token", {
        ip: fromIp,
        headers: { authorization: api.basic(id, secret), "content-type": "application/x-www-form-urlencoded" },
        body: "grant_type=client_credentials" + (scope ? `&scope=${encodeURIComponent(scope)}` : "") + extra,
      }),
    async accessToken(c, opts) {
      const r = await api.token(c.client_id, c.client_secret, opts);
      if (r.status !== 200) throw new Error(`token: ${r.status} ${r.text}`);
      return r.json.access_token;
    },
    validate: (token, { ip: fromIp, query = "" } = {}) =>
      call("GET", "/validate" + query, { ip: fromIp, headers: { authorization: `Bearer ${token}` } }),
    form: (path, id, secret, body) =>
      call("POST", path, {
        headers: { authorization: api.basic(id, secret), "content-type": "application/x-www-form-urlencoded" },
        body,
      }),
  };
  return api;
}

/**
 * Entries stored by the Durable Objects in a state folder (read-only, from their SQLite files):
 * how many keys start with `prefix`, optionally only those whose value contains `containing`.
 */
export function storedKeys(stateDir, prefix, containing = "") {
  return Number(execFileSync("python3", ["-c", `
import glob, sqlite3, sys
n = 0
for f in glob.glob(sys.argv[1] + "/**/*.sqlite", recursive=True):
    try:
        db = sqlite3.connect("file:" + f + "?mode=ro", uri=True)
        n += db.execute("select count(*) from _cf_KV where substr(key, 1, length(?)) = ? and instr(value, ?) > 0",
                        (sys.argv[2], sys.argv[2], sys.argv[3].encode())).fetchone()[0]
    except sqlite3.Error:
        pass
print(n)`, stateDir, prefix, containing]).toString());
}

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
/** Named and numeric character references (askama writes `&` as `&#38;`). */
const unescapeHtml = (s) =>
  s.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (m, e) =>
    e[0] !== "#" ? ENTITIES[e] ?? m : String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)));
const attrs = (tag) => Object.fromEntries([...tag.matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)].slice(1).map(([, k, v]) => [k.toLowerCase(), unescapeHtml(v ?? "")]));

/**
 * The forms of a server-rendered page: `[{ action, method, fields: {name: value}, buttons:
 * [{name, value}] }]`. Enough for edge-oauth's own pages (quoted attributes, no nesting).
 */
export function parseForms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, head, inner]) => {
    const a = attrs("<form " + head);
    const fields = {};
    const buttons = [];
    for (const [tag] of inner.matchAll(/<(input|button)\b[^>]*>/g)) {
      const f = attrs(tag);
      if (!f.name) continue;
      if (tag.startsWith("<button") || f.type === "submit") buttons.push({ name: f.name, value: f.value ?? "" });
      else fields[f.name] = f.value ?? "";
    }
    return { action: a.action ?? "", method: (a.method ?? "get").toUpperCase(), fields, buttons };
  });
}

/**
 * A cookie-keeping HTML client: drives server-rendered forms without a browser. `get` and
 * `submit` return the response with its `forms` parsed; redirects are not followed.
 */
export function formClient(url, { ip = "198.51.100.7" } = {}) {
  const jar = new Map();
  const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
  const keep = (headers) => {
    for (const line of headers.getSetCookie?.() ?? []) {
      const [pair, ...attrs] = line.split(";");
      const i = pair.indexOf("=");
      const name = pair.slice(0, i).trim(), value = pair.slice(i + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (expired || value === "") jar.delete(name); else jar.set(name, value);
    }
  };
  const go = async (method, path, { form, headers = {} } = {}) => {
    const h = { ...headers };
    if (jar.size) h.cookie = cookieHeader();
    let body;
    if (form) {
      h["content-type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(form).toString();
    }
    const r = await request(url, method, path, { headers: h, body, ip });
    keep(r.headers);
    return { ...r, location: r.headers.get("location"), forms: parseForms(r.text) };
  };
  return {
    jar,
    get: (path, opts) => go("GET", path, opts),
    post: (path, form, opts) => go("POST", path, { ...opts, form }),
    /** Submit `form` (from `forms`) with its fields, `changes` on top, and the named button. */
    submit: (form, changes = {}, button) => {
      const fields = { ...form.fields, ...changes };
      if (button) fields[button.name] = button.value;
      const target = form.action || "/";
      return form.method === "GET" ? go("GET", `${target}?${new URLSearchParams(fields)}`) : go("POST", target, { form: fields });
    },
  };
}

/** Send raw bytes over TCP (for requests fetch refuses to make) and return status + body. */
export function rawRequest(url, bytes) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(port), hostname, () => sock.end(bytes));
    const chunks = [];
    sock.on("data", (d) => chunks.push(d));
    sock.on("error", reject);
    sock.on("close", () => {
      const text = Buffer.concat(chunks).toString("latin1");
      const [head, ...rest] = text.split("\r\n\r\n");
      const status = Number(head.split(" ")[1]);
      const headers = Object.fromEntries(head.split("\r\n").slice(1).map((l) => {
        const i = l.indexOf(":");
        return [l.slice(0, i).toLowerCase(), l.slice(i + 1).trim()];
      }));
      resolve({ status, headers, body: rest.join("\r\n\r\n") });
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- Seed 004 (users, /authorize, the authorization code grant): helpers for the suites that
// drive the pages. Appended; nothing above changes.
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";

/** A short random suffix, so every test makes its own users and clients. */
export const uniq = (prefix = "") => prefix + randomBytes(5).toString("hex");

/** A PKCE pair (RFC 7636): a 43-character verifier and its S256 challenge. */
export function pkce(verifier = randomBytes(32).toString("base64url")) {
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
}

/** `/authorize?…` from an object; `undefined` values are left out. */
export function authorizePath(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.append(k, v);
  return `/authorize?${q}`;
}

/** A Location (absolute or relative) as a path on the worker (`base`). */
export function pathOf(location, base) {
  const u = new URL(location, base);
  return u.pathname + u.search;
}

/** Decode HTML character references: the common named ones and every numeric one (`&#38;`). */
export function decodeEntities(s) {
  const named = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
  return s.replace(/&(#[xX][0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (m, e) =>
    e[0] === "#" ? String.fromCodePoint(e[1] === "x" || e[1] === "X" ? parseInt(e.slice(2), 16) : Number(e.slice(1))) : named[e] ?? m);
}

/** The visible text of HTML: tags removed, character references decoded. */
export const htmlText = (html) => decodeEntities(html.replace(/<[^>]*>/g, " "));

/**
 * Like `parseForms`, but decoding every character reference in attribute values (askama, for
 * one, writes `&` as `&#38;`, which `parseForms` leaves alone).
 */
export function formsOf(html) {
  const attrsOf = (tag) => Object.fromEntries([...tag.matchAll(/([a-zA-Z_:-]+)(?:="([^"]*)")?/g)].slice(1).map(([, k, v]) => [k.toLowerCase(), decodeEntities(v ?? "")]));
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/g)].map(([, head, inner]) => {
    const a = attrsOf("<form " + head);
    const fields = {};
    const buttons = [];
    for (const [tag] of inner.matchAll(/<(input|button)\b[^>]*>/g)) {
      const f = attrsOf(tag);
      if (!f.name) continue;
      if (tag.startsWith("<button") || f.type === "submit") buttons.push({ name: f.name, value: f.value ?? "" });
      else fields[f.name] = f.value ?? "";
    }
    return { action: a.action ?? "", method: (a.method ?? "get").toUpperCase(), fields, buttons };
  });
}

/** The login form of a formClient response (it has a `password` input), or undefined. */
export const loginFormOf = (page) => formsOf(page.text).find((f) => "password" in f.fields);
/** The consent form of a formClient response (its buttons are named `decision`), or undefined. */
export const consentFormOf = (page) => formsOf(page.text).find((f) => f.buttons.some((b) => b.name === "decision"));

/**
 * Submit a parsed form with a formClient, like a browser would: an absolute `action` becomes a
 * path on the worker, an empty one is the page's own path (`pagePath`).
 */
export function submitForm(fc, url, form, changes = {}, button, pagePath = "/") {
  const action = form.action ? pathOf(form.action, url) : pagePath;
  return fc.submit({ ...form, action }, changes, button);
}

const describeResponse = (r) => `${r.status} ${r.location ? `Location: ${r.location} ` : ""}${r.text.slice(0, 300)}`;

/**
 * Sign in on the login page that `path` (an `/authorize?…` path) shows. Returns the login
 * POST's response (303 to `return_to` on success).
 */
export async function signIn(fc, url, path, username, password) {
  const page = await fc.get(path);
  const form = loginFormOf(page);
  if (!form) throw new Error(`expected the login page at ${path}, got ${describeResponse(page)}`);
  return submitForm(fc, url, form, { username, password }, form.buttons[0], path);
}

/**
 * Walk `/authorize?…` (`path`) with a formClient as a person would: sign in if the login page
 * shows (with `username`/`password`), then press `decision` (approve/deny) on the consent page
 * if it shows (`decision: null` stops there and returns the consent page). Returns the last
 * response, with `loginShown` and `consentShown`.
 */
export async function authorizeAs(fc, url, path, { username, password, decision = "approve" } = {}) {
  let loginShown = false, consentShown = false;
  let page = await fc.get(path);
  let pagePath = path;
  const login = loginFormOf(page);
  if (login) {
    loginShown = true;
    if (username === undefined) throw new Error(`the login page was shown for ${path}, and no user was given`);
    const r = await submitForm(fc, url, login, { username, password }, login.buttons[0], path);
    if (r.status !== 303 || !r.location) throw new Error(`sign-in as ${username}: expected 303 to return_to, got ${describeResponse(r)}`);
    pagePath = pathOf(r.location, url);
    page = await fc.get(pagePath);
  }
  const consent = consentFormOf(page);
  if (consent) {
    consentShown = true;
    if (decision === null) return Object.assign(page, { loginShown, consentShown, pagePath });
    const button = consent.buttons.find((b) => b.name === "decision" && b.value === decision);
    if (!button) throw new Error(`the consent page has no decision=${decision} button: ${JSON.stringify(consent.buttons)}`);
    page = await submitForm(fc, url, consent, {}, button, pagePath);
  }
  return Object.assign(page, { loginShown, consentShown, pagePath });
}

/** The query of a redirect response's Location, as URLSearchParams (throws when none). */
export function redirectQuery(r) {
  if (!r.location) throw new Error(`expected a redirect, got ${describeResponse(r)}`);
  return new URL(r.location).searchParams;
}

/**
 * Redeem an authorization code at `/token/`. `auth`: "none" (public client: the body exactly as
 * seed 004 writes it), "basic" or "post" (confidential client). `omit` leaves body fields out,
 * `set` overrides them.
 */
export function redeemCode(api, { client, code, redirect_uri, code_verifier, auth = "none", omit = [], set = {}, ip }) {
  const fields = [["grant_type", "authorization_code"], ["code", code], ["redirect_uri", redirect_uri], ["client_id", client.client_id], ["code_verifier", code_verifier]];
  if (auth === "post") fields.push(["client_secret", client.client_secret]);
  if (auth === "basic") fields.splice(3, 1);
  const body = fields
    .map(([k, v]) => [k, k in set ? set[k] : v])
    .filter(([k, v]) => !omit.includes(k) && v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v)}`)
    .join("&");
  const headers = { "content-type": "application/x-www-form-urlencoded" };
  if (auth === "basic") headers.authorization = api.basic(client.client_id, client.client_secret);
  return api.call("POST", "/token/", { headers, body, ip });
}

/** Create a user through the admin API (throws unless 201); returns its JSON plus `password`. */
export async function createUser(api, { username = uniq("u-"), password = uniq("pw-") + "Xy9!", name = "E2E Person" } = {}) {
  const r = await api.admin("POST", "/admin/users", { username, password, name });
  if (r.status !== 201) throw new Error(`create user: ${r.status} ${r.text}`);
  return { ...r.json, password };
}

/**
 * The whole code flow for `user` and `client` (which has `redirect_uris[0]` unless
 * `redirect_uri` is given): authorize with formClient `fc`, approve, redeem at `/token/` with
 * `api`. Returns `{ code, state, verifier, redirect, token }` (`token` is the /token response).
 */
export async function codeFlow(api, fc, url, { client, user, scope, redirect_uri = client.redirect_uris[0], auth, state = uniq("st-") }) {
  const { verifier, challenge } = pkce();
  const path = authorizePath({ response_type: "code", client_id: client.client_id, redirect_uri, scope, state, code_challenge: challenge, code_challenge_method: "S256" });
  const r = await authorizeAs(fc, url, path, { username: user.username, password: user.password });
  if (r.status !== 302) throw new Error(`authorize ${client.client_id} as ${user.username}: expected 302 to the client, got ${describeResponse(r)}`);
  const q = redirectQuery(r);
  const code = q.get("code");
  if (!code) throw new Error(`no code in ${r.location}`);
  const token = await redeemCode(api, { client, code, redirect_uri, code_verifier: verifier, auth: auth ?? (client.client_secret ? "basic" : "none") });
  return { code, state, verifier, redirect: r, token, consentShown: r.consentShown, loginShown: r.loginShown };
}

/**
 * Every stored record in a state folder (read-only): Durable Object storage rows (`_cf_KV` in
 * each SQLite file) and KV entries (`_mf_entries`, values from their blob files). Returns
 * `[{ kind: "do" | "kv", file, key, value: Buffer }]`.
 */
export function storedRecords(stateDir) {
  const out = execFileSync("python3", ["-c", `
import base64, glob, json, os, sqlite3, sys
root = sys.argv[1]
blobs = {}
for p in glob.glob(root + "/**/blobs/*", recursive=True):
    blobs[os.path.basename(p)] = p
rows = []
for f in glob.glob(root + "/**/*.sqlite", recursive=True):
    try:
        db = sqlite3.connect("file:" + f + "?mode=ro", uri=True)
        tables = {r[0] for r in db.execute("select name from sqlite_master where type = 'table'")}
        if "_cf_KV" in tables:
            for k, v in db.execute("select key, value from _cf_KV"):
                v = v if isinstance(v, bytes) else str(v).encode()
                rows.append({"kind": "do", "file": f, "key": k, "value": base64.b64encode(v).decode()})
        if "_mf_entries" in tables:
            for k, b, m in db.execute("select key, blob_id, metadata from _mf_entries"):
                v = b""
                if b in blobs:
                    with open(blobs[b], "rb") as fh:
                        v = fh.read()
                rows.append({"kind": "kv", "file": f, "key": k, "value": base64.b64encode(v).decode(), "metadata": m})
    except sqlite3.Error:
        pass
print(json.dumps(rows))`, stateDir], { maxBuffer: 1 << 28 }).toString();
  return JSON.parse(out).map((r) => ({ ...r, value: Buffer.from(r.value, "base64") }));
}

/** Every file under `dir` (recursively) whose bytes contain `needle` (string or Buffer). */
export function filesContaining(dir, needle) {
  const bytes = Buffer.isBuffer(needle) ? needle : Buffer.from(needle);
  const hits = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try { if (readFileSync(p).includes(bytes)) hits.push(p); } catch {}
      }
    }
  };
  walk(dir);
  return hits;
}

// ---- Protected resources (RFC 9728): appended; nothing above changes.

/**
 * The challenges of a `WWW-Authenticate` value (RFC 9110 §11.6.1): `[{ scheme, params }]`, the
 * scheme and parameter names lowercased, quoted-string values unescaped. No token68 forms.
 */
export function parseChallenges(header) {
  const s = header ?? "";
  const out = [];
  let i = 0;
  const ws = () => { while (s[i] === " " || s[i] === "\t") i++; };
  const token = () => {
    const m = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/.exec(s.slice(i));
    if (!m) return null;
    i += m[0].length;
    return m[0];
  };
  const fail = () => { throw new Error(`malformed WWW-Authenticate at ${i}: ${s}`); };
  while (i < s.length) {
    ws();
    if (s[i] === ",") { i++; continue; }
    if (i >= s.length) break;
    const scheme = token() ?? fail();
    const params = {};
    out.push({ scheme: scheme.toLowerCase(), params });
    for (;;) {
      ws();
      const start = i;
      const name = token();
      ws();
      if (name === null || s[i] !== "=") { i = start; break; } // the next challenge, or the end
      i++;
      ws();
      let value = "";
      if (s[i] === '"') {
        for (i++; i < s.length && s[i] !== '"'; i++) value += s[i] === "\\" ? s[++i] : s[i];
        if (s[i++] !== '"') fail();
      } else value = token() ?? fail();
      if (name.toLowerCase() in params) fail(); // RFC 9110: each parameter at most once
      params[name.toLowerCase()] = value;
      ws();
      if (s[i] !== ",") break;
      i++;
    }
    ws();
    if (i < s.length && s[i] !== "," && !/[A-Za-z]/.test(s[i])) fail();
  }
  return out;
}
