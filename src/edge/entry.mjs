// The Worker's entry module: the runtime's classes, and nothing else. Requests are read into
// plain values and handed to the Rust core (src/edge/mod.rs, built by scripts/build.sh into
// build/index.js); its answers become Responses. The runtime offers RPC only on classes that
// extend WorkerEntrypoint or DurableObject, which is why these few lines are JavaScript.

import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
import * as core from "../../build/index.js";

// Request bodies: at most MAX_BODY bytes are kept (src/http.rs has the same limit); a longer
// one is refused. Up to MAX_DRAIN bytes are read and dropped before answering, because
// answering while the client is still sending makes some proxies (wrangler's local one among
// them) fail the request instead of delivering our 400.
const MAX_BODY = 8 * 1024;
const MAX_DRAIN = 1024 * 1024;

// A trap in the wasm (a Rust panic aborts) leaves its memory unusable: the instance is reset
// and every core made before is made again. `generation` tells the objects theirs is stale.
// A trap while the wasm is called from here throws out of that call, and `recover` resets the
// instance at once. A panic while a future is polled later (after a request's first `await`, in
// a microtask of wasm-bindgen's executor) throws where no code of ours runs: the core's panic
// hook tells `onPanic` first, which resets in a microtask of its own (not at once: the wasm is
// still on the stack). Requests that were waiting in the old instance never finish: the runtime
// ends them as hung, and the next requests run in the new one.
let generation = 0;
let resetDue = false;
function reset() {
  resetDue = false;
  core.__wbg_reset_state();
  generation += 1;
}
function recover(error) {
  if (error instanceof WebAssembly.RuntimeError) reset();
  console.error(`edge-oauth: ${error && error.stack ? error.stack : error}`);
}
core.onPanic((message) => {
  console.error(`edge-oauth: panicked: ${message}`);
  if (resetDue) return;
  resetDue = true;
  queueMicrotask(() => {
    if (resetDue) reset();
  });
});

async function readBody(request) {
  if (request.method === "GET" || request.method === "HEAD" || request.body === null) return new Uint8Array(0);
  const length = (request.headers.get("content-length") ?? "").trim();
  const declared = /^\d+$/.test(length) ? Number(length) : null;
  // The common case, a small body of declared length (the runtime enforces it): one read.
  if (declared !== null && declared <= MAX_BODY) {
    const bytes = new Uint8Array(await request.arrayBuffer());
    return bytes.length > MAX_BODY ? null : bytes;
  }
  if (declared !== null && declared > MAX_DRAIN) return null;
  // Undeclared length: keep up to the limit. Declared over the limit: drain only.
  const keep = declared === null;
  const reader = request.body.getReader();
  const chunks = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    seen += value.length;
    if (seen > MAX_DRAIN) {
      reader.cancel().catch(() => {});
      return null;
    }
    if (keep && seen <= MAX_BODY) chunks.push(value);
  }
  if (!keep || seen > MAX_BODY) return null;
  const body = new Uint8Array(seen);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}

// A Durable Object's request or alarm that failed: logged (and the wasm reset after a trap),
// then passed on.
function failed(error) {
  recover(error);
  throw error;
}

const serverError = () =>
  new Response('{"error":"server_error"}', {
    status: 500,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });

export default class EdgeOAuth extends WorkerEntrypoint {
  async fetch(request) {
    try {
      // The request's head as one string (see `handle` in src/edge/mod.rs).
      let head = `${request.method}\n${request.url}`;
      for (const [name, value] of request.headers) head += `\n${name}: ${value}`;
      const body = await readBody(request);
      const [status, flat, bytes, log] = await core.handle(this.env, head, body);
      if (log !== null) console.error(log);
      const out = new Headers();
      for (let i = 0; i < flat.length; i += 2) out.append(flat[i], flat[i + 1]);
      return new Response(bytes.length === 0 ? null : bytes, { status, headers: out });
    } catch (error) {
      recover(error);
      return serverError();
    }
  }

  // Service-binding RPC for other Workers: `await env.AUTH.validate(token, ip, scope, resource)`
  // answers what `GET /validate` answers for `Authorization: Bearer <token>` from `ip` with
  // `?scope=<scope>&resource=<resource>` (RFC 8707; both optional): its JSON fields, plus `status` (200, 400, 401, 403, 429 or 503) and, when
  // not 200, `active: false` and the `www_authenticate` / `retry_after` to answer with.
  async validate(token, ip = null, scope = null, resource = null) {
    let answer;
    try {
      answer = await core.validate_rpc(this.env, String(token ?? ""), ip == null ? null : String(ip), scope == null ? null : String(scope),
        resource == null ? null : String(resource));
    } catch (error) {
      recover(error);
      return { status: 500, active: false, error: "server_error" };
    }
    const [status, flat, bytes, log] = answer;
    if (log !== null) console.error(log);
    const result = { status };
    if (status !== 200) result.active = false;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i] === "www-authenticate") result.www_authenticate = flat[i + 1];
      if (flat[i] === "retry-after") result.retry_after = Number(flat[i + 1]);
    }
    return Object.assign(result, JSON.parse(new TextDecoder().decode(bytes)));
  }

  // The alerts Queue's consumer (wrangler.toml): one delivery per message, signed afresh by
  // the core on each attempt (`alertAttempt`); its outcome decides ack or retry.
  async queue(batch) {
    await Promise.all(batch.messages.map((msg) => deliverAlert(this.env, msg)));
  }
}

// A webhook delivery: a 2xx is delivered, anything else or 15 s without an answer is retried
// after ALERT_BACKOFF (the core says how long, or that it is done: delivered, 410, out of tries).
async function deliverAlert(env, msg) {
  const text = typeof msg.body === "string" ? msg.body : JSON.stringify(msg.body);
  try {
    const plan = await core.alert_attempt(env, text);
    if (plan === null) return msg.ack();
    const [url, flat, body] = plan;
    const headers = new Headers();
    for (let i = 0; i < flat.length; i += 2) headers.append(flat[i], flat[i + 1]);
    let status = null;
    try {
      const r = await fetch(url, { method: "POST", headers, body, redirect: "manual", signal: AbortSignal.timeout(15_000) });
      status = r.status;
      await r.body?.cancel();
    } catch {}
    const delay = await core.alert_outcome(env, text, status, msg.attempts);
    if (delay === null) msg.ack();
    else msg.retry({ delaySeconds: delay });
  } catch (error) {
    recover(error);
    msg.retry({ delaySeconds: 5 });
  }
}

// The Durable Object classes: each forwards `request` (one JSON request, one JSON reply) and
// its alarm to the Rust core that holds the object's memory.
function objectClass(Core, resumeIntents) {
  return class extends DurableObject {
    #core = null;
    #generation = -1;
    #get() {
      if (this.#generation !== generation) {
        this.#core = new Core(this.ctx);
        this.#generation = generation;
      }
      return this.#core;
    }
    // Not `async`: a reply the core has at once (a token in memory) goes back as it is,
    // without a trip through the microtask queue; a promise is passed on.
    request(json) {
      let reply;
      try {
        reply = this.#get().request(json);
      } catch (error) {
        failed(error);
      }
      return typeof reply === "string" ? reply : reply.catch(failed);
    }
    // The sweep, then the intents the object keeps (changes whose callers were cut): the core
    // resolves to a line to log (one it could not complete yet; it set the alarm again) or null.
    async alarm() {
      try {
        const core = this.#get();
        await core.alarm();
        const log = await resumeIntents(this.env, core);
        if (log) console.error(`edge-oauth: ${log}`);
      } catch (error) {
        failed(error); // the runtime retries the alarm
      }
    }
  };
}

export const TokenShard = objectClass(core.TokenShardCore, core.resume_token_intents);
export const UserObject = objectClass(core.UserObjectCore, core.resume_user_intents);
