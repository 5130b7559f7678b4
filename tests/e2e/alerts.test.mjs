// Alerts through the real runtime (the contract's "Alerts (Standard Webhooks)"): a project's
// webhook gets signed events through the Queue, each verified here with the `standardwebhooks`
// npm package (code nobody here wrote); a receiver that fails first gets the same webhook-id
// again; a 410 turns the webhook off; the delivery log says what happened.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { Webhook } from "standardwebhooks";
import { startWorker, clientFor, formClient, ADMIN, uniq, codeFlow, createUser, sleep } from "./harness.mjs";

const IP = "203.0.113.44";
const REDIRECT = "https://app.example/cb";
// The operator's webhook (ALERT_WEBHOOK_URL): every client's events, on its own path.
const OPS_SECRET = "whsec_" + Buffer.from("the operator's own key 24").toString("base64");
let worker, api, receiver, port, cli, maps;
// What the receiver answers, per path: a list of statuses, the last one repeated.
const answers = new Map();
const received = [];

before(async () => {
  receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      const list = answers.get(req.url) ?? [204];
      const status = list.length > 1 ? list.shift() : list[0];
      received.push({ path: req.url, headers: req.headers, body, status });
      res.writeHead(status).end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  port = receiver.address().port;
  worker = await startWorker({ vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", ALERT_BACKOFF: "1,1,1",
    ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/ops`, ALERT_WEBHOOK_SECRET: OPS_SECRET } });
  api = clientFor(worker.url, { ip: IP });
  maps = (await api.admin("POST", "/admin/apis", { name: uniq("API "), scopes: ["maps:read"] })).json;
  cli = await api.createClient({
    name: "Account CLI", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], scopes: ["account"],
  });
});
after(async () => {
  await worker?.destroy();
  receiver?.close();
});

let seq = 0;
async function project() {
  const user = await createUser(api);
  const { token } = await codeFlow(api, formClient(worker.url, { ip: `198.18.70.${++seq}` }), worker.url, { client: cli, user, scope: "account" });
  assert.equal(token.status, 200, token.text);
  const t = token.json.access_token;
  const acct = (method, path, body) =>
    api.call(method, path, { headers: { authorization: `Bearer ${t}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
  const p = (await acct("POST", "/account/projects", { name: uniq("P "), apis: [maps.api_id] })).json;
  return { p, acct };
}

async function waitFor(check, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out");
    await sleep(250);
  }
}

const verify = (secret, d) => new Webhook(secret).verify(d.body, {
  "webhook-id": d.headers["webhook-id"], "webhook-timestamp": d.headers["webhook-timestamp"], "webhook-signature": d.headers["webhook-signature"],
});

test("a signed token.wrong_ip alert, verified with standardwebhooks, once per 15 minutes", async () => {
  const { p, acct } = await project();
  const path = `/hook/${p.client_id}`;
  const r = await acct("PUT", `/account/projects/${p.client_id}/webhook`, { url: `http://127.0.0.1:${port}${path}`, events: ["token.wrong_ip", "key.rotated"] });
  assert.equal(r.status, 201, r.text);
  const secret = r.json.secret;
  assert.match(secret, /^whsec_/);
  const t = await api.accessToken(p);
  for (let i = 0; i < 3; i++) assert.equal((await api.validate(t, { ip: "192.0.2.77" })).status, 401);
  const d = await waitFor(() => received.find((x) => x.path === path));
  const event = verify(secret, d);
  assert.equal(event.type, "token.wrong_ip");
  assert.equal(event.data.client_id, p.client_id);
  assert.equal(event.data.count, 1);
  assert.equal(event.data.ip, "192.0.2.77");
  assert.match(event.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.throws(() => verify("whsec_" + Buffer.from("another key of 24 bytes!").toString("base64"), d), "another secret does not verify");
  // The cooldown: the next two were held back (data.count will say 2 in 15 minutes).
  await sleep(1500);
  assert.equal(received.filter((x) => x.path === path).length, 1);
  // key.rotated too.
  assert.equal((await acct("POST", `/account/projects/${p.client_id}/rotate`, { grace: 3600 })).status, 201);
  const rotated = await waitFor(() => received.filter((x) => x.path === path).map((x) => verify(secret, x)).find((e) => e.type === "key.rotated"));
  assert.ok(rotated.data.old_secret_expires_at > Date.now() / 1000);
  const log = await waitFor(async () => {
    const l = (await acct("GET", `/account/projects/${p.client_id}/webhook/deliveries`)).json.deliveries;
    return l.length === 2 && l.every((x) => x.status === "delivered") && l;
  });
  assert.deepEqual(log.map((x) => x.type), ["key.rotated", "token.wrong_ip"], "newest first");
  assert.equal(log[1].attempts, 1);
  assert.equal(log[1].last_status, 204);
  assert.equal(log[1].webhook_id, d.headers["webhook-id"]);
});

test("a receiver that fails first gets the same webhook-id again, then it is delivered", async () => {
  const { p, acct } = await project();
  const path = `/flaky/${p.client_id}`;
  answers.set(path, [500, 503, 200]);
  const secret = (await acct("PUT", `/account/projects/${p.client_id}/webhook`, { url: `http://127.0.0.1:${port}${path}` })).json.secret;
  const t = await api.accessToken(p);
  assert.equal((await api.validate(t, { ip: "192.0.2.78" })).status, 401);
  const tries = await waitFor(() => { const l = received.filter((x) => x.path === path); return l.length >= 3 && l; }, 60_000);
  assert.deepEqual(tries.map((x) => x.status), [500, 503, 200]);
  assert.equal(new Set(tries.map((x) => x.headers["webhook-id"])).size, 1, "one webhook-id on every retry");
  for (const x of tries) assert.equal(verify(secret, x).type, "token.wrong_ip");
  const log = await waitFor(async () => {
    const l = (await acct("GET", `/account/projects/${p.client_id}/webhook/deliveries`)).json.deliveries;
    return l[0]?.status === "delivered" && l;
  });
  assert.equal(log[0].attempts, 3);
  assert.equal(log[0].last_status, 200);
});

test("410 turns the webhook off", async () => {
  const { p, acct } = await project();
  const path = `/gone/${p.client_id}`;
  answers.set(path, [410]);
  await acct("PUT", `/account/projects/${p.client_id}/webhook`, { url: `http://127.0.0.1:${port}${path}`, events: ["token.wrong_ip", "key.rotated"] });
  const t = await api.accessToken(p);
  assert.equal((await api.validate(t, { ip: "192.0.2.79" })).status, 401);
  await waitFor(() => received.find((x) => x.path === path));
  const hook = await waitFor(async () => { const w = (await acct("GET", `/account/projects/${p.client_id}/webhook`)).json; return w.active === false && w; });
  assert.equal(hook.url, `http://127.0.0.1:${port}${path}`);
  const log = (await acct("GET", `/account/projects/${p.client_id}/webhook/deliveries`)).json.deliveries;
  assert.equal(log[0].status, "failed");
  assert.equal(log[0].last_status, 410);
  // Nothing more is sent to it.
  assert.equal((await acct("POST", `/account/projects/${p.client_id}/rotate`, { grace: 0 })).status, 201);
  await sleep(2000);
  assert.equal(received.filter((x) => x.path === path).length, 1);
});

test("webhook URLs are checked before anything is sent", async () => {
  const { p, acct } = await project();
  for (const url of ["http://hooks.example/x", "https://10.0.0.1/x", "https://169.254.169.254/", "https://[fe80::1]/", "ftp://x.example/"]) {
    const r = await acct("PUT", `/account/projects/${p.client_id}/webhook`, { url });
    assert.equal(r.status, 400, url);
    assert.equal(r.json.field, "url");
  }
});

test("refresh.reuse_detected: a reused refresh token alerts the project's webhook and the operator's; the client hears invalid_grant", async () => {
  const { p, acct } = await project();
  const path = `/reuse/${p.client_id}`;
  const r = await acct("PUT", `/account/projects/${p.client_id}/webhook`, { url: `http://127.0.0.1:${port}${path}`, events: ["refresh.reuse_detected"] });
  assert.equal(r.status, 201, r.text);
  const secret = r.json.secret;
  // A project is a client_credentials client; the operator lets this one sign people in too.
  const patched = await api.admin("PATCH", `/admin/clients/${encodeURIComponent(p.client_id)}`, {
    grant_types: ["client_credentials", "authorization_code", "refresh_token"], redirect_uris: [REDIRECT], skip_consent: true,
  });
  assert.equal(patched.status, 200, patched.text);
  const client = { client_id: p.client_id, client_secret: p.client_secret, redirect_uris: [REDIRECT] };
  const refresh = (t) => api.form("/token", p.client_id, p.client_secret, `grant_type=refresh_token&refresh_token=${encodeURIComponent(t)}`);
  const user = await createUser(api);
  const { token } = await codeFlow(api, formClient(worker.url, { ip: "198.18.71.1" }), worker.url, { client, user, scope: "maps:read" });
  assert.equal(token.status, 200, token.text);
  const r1 = token.json.refresh_token;
  const next = await refresh(r1);
  assert.equal(next.status, 200, next.text);
  assert.equal((await refresh(next.json.refresh_token)).status, 200, "the successor is used");
  await sleep(1500);
  assert.equal(received.filter((x) => x.path === path).length, 0, "no alert for ordinary rotation");
  const reuse = await refresh(r1);
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, "invalid_grant", "the same answer as any invalid grant");
  const d = await waitFor(() => received.find((x) => x.path === path));
  const event = verify(secret, d);
  assert.equal(event.type, "refresh.reuse_detected");
  assert.equal(event.data.client_id, p.client_id);
  assert.equal(event.data.count, 1);
  assert.equal(event.data.ip, IP);
  // The operator's webhook gets the same event (same webhook-id), signed with its own secret.
  const ops = await waitFor(() => received.find((x) => x.path === "/ops" && x.headers["webhook-id"] === d.headers["webhook-id"]));
  assert.equal(verify(OPS_SECRET, ops).type, "refresh.reuse_detected");
  assert.throws(() => verify(secret, ops), "each webhook its own secret");
});

test("refresh.reuse_detected for a client without an owner reaches the operator's webhook only", async () => {
  const web = await api.createClient({ name: uniq("web-"), grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT], scopes: ["read"], skip_consent: true });
  const refresh = (t) => api.form("/token", web.client_id, web.client_secret, `grant_type=refresh_token&refresh_token=${encodeURIComponent(t)}`);
  const user = await createUser(api);
  const { token } = await codeFlow(api, formClient(worker.url, { ip: "198.18.71.2" }), worker.url, { client: web, user, scope: "read" });
  assert.equal(token.status, 200, token.text);
  const r1 = token.json.refresh_token;
  const next = await refresh(r1);
  assert.equal(next.status, 200, next.text);
  assert.equal((await refresh(next.json.refresh_token)).status, 200);
  assert.equal((await refresh(r1)).json.error, "invalid_grant");
  const ops = await waitFor(() => received.filter((x) => x.path === "/ops").map((x) => verify(OPS_SECRET, x)).find((e) => e.type === "refresh.reuse_detected" && e.data.client_id === web.client_id));
  assert.equal(ops.data.count, 1);
});
