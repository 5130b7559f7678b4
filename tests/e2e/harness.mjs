// Starts the built worker under `wrangler dev` (the real workerd runtime, local KV and Durable
// Objects) on a free port with a fresh state folder, and talks HTTP to it as a client would.
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const ADMIN = "e2e-admin-token";

async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Start `wrangler dev`. `configs` are wrangler.toml paths relative to the repo (the first is
 * the one served on the port); `state` reuses a state folder (for restart tests).
 */
export async function startWorker({ configs = ["wrangler.toml"], state, vars = { ADMIN_TOKEN: ADMIN } } = {}) {
  const port = await freePort();
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
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
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
    if (exited) throw new Error(`wrangler dev exited before it was ready. Its log:\n${log}`);
    try {
      const r = await fetch(`${url}/.well-known/oauth-authorization-server`);
      await r.arrayBuffer();
      if (r.status < 500) break;
    } catch {}
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`wrangler dev did not come up in 180 s. Its log:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stateDir,
    log: () => log,
    stop,
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

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', "#39": "'", "#x27": "'" };
const unescapeHtml = (s) => s.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_, e) => ENTITIES[e]);
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
