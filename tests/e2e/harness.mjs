// Starts the built worker under `wrangler dev` (the real workerd runtime, local KV and Durable
// Objects) on a free port with a fresh state folder, and talks HTTP to it as a client would.
import { spawn } from "node:child_process";
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

/** A small client for the worker under test. */
export function clientFor(url, { ip = "198.51.100.7" } = {}) {
  const call = async (method, path, { headers = {}, body, ip: fromIp = ip } = {}) => {
    const h = { "cf-connecting-ip": fromIp, ...headers };
    if (h["cf-connecting-ip"] === null) delete h["cf-connecting-ip"];
    const r = await fetch(url + path, { method, headers: h, body, redirect: "manual" });
    const text = await r.text();
    let json;
    try { json = JSON.parse(text); } catch {}
    return { status: r.status, headers: r.headers, text, json };
  };
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
