// Issue 3: token semantics through the real runtime: IP binding, sliding and fixed expiry,
// max_lifetime, revocation, client deletion, concurrency, alarms.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, sleep, storedKeys } from "./harness.mjs";

let worker, api;
before(async () => {
  worker = await startWorker();
  api = clientFor(worker.url, { ip: "203.0.113.10" });
});
after(async () => worker && (await worker.destroy()));

const INVALID = 'Bearer realm="edge-oauth", error="invalid_token"';

test("IP binding: a token works only from the address that obtained it", async () => {
  const c = await api.createClient();
  const t = await api.accessToken(c);
  assert.equal((await api.validate(t)).status, 200);
  const other = await api.validate(t, { ip: "203.0.113.11" });
  assert.equal(other.status, 401);
  assert.equal(other.headers.get("www-authenticate"), INVALID);
  // X-Forwarded-For / X-Real-IP are never trusted.
  const spoof = await api.call("GET", "/validate", {
    ip: "203.0.113.11",
    headers: { authorization: `Bearer ${t}`, "x-forwarded-for": "203.0.113.10", "x-real-ip": "203.0.113.10" },
  });
  assert.equal(spoof.status, 401);
  // Unknown, wrong-IP and garbage tokens get the same body.
  const unknown = await api.validate(`${c.client_id}.${"A".repeat(43)}`);
  assert.equal(unknown.text, other.text);
  // ip_binding: false
  const free = await api.createClient({ ip_binding: false });
  const ft = await api.accessToken(free);
  assert.equal((await api.validate(ft, { ip: "192.0.2.99" })).status, 200);
});

test("/validate: 200 body, scope check, missing and malformed credentials", async () => {
  const c = await api.createClient({ scopes: ["read", "write"], token_ttl: 60 });
  const t = await api.accessToken(c, { scope: "read" });
  const r = await api.validate(t);
  assert.equal(r.status, 200);
  assert.deepEqual(Object.keys(r.json).sort(), ["active", "auth", "client_id", "exp", "expires_in", "iat", "scope"]);
  assert.equal(r.json.active, true);
  assert.equal(r.json.client_id, c.client_id);
  assert.equal(r.json.scope, "read");
  assert.equal(r.json.auth, "bearer");
  assert.equal(r.json.expires_in, 60);
  assert.ok(Math.abs(r.json.exp - (Date.now() / 1000 + 60)) < 5);
  assert.ok(Math.abs(r.json.iat - Date.now() / 1000) < 5);

  const scoped = await api.validate(t, { query: "?scope=write" });
  assert.equal(scoped.status, 403);
  assert.equal(scoped.json.error, "insufficient_scope");
  assert.match(scoped.headers.get("www-authenticate"), /error="insufficient_scope"/);
  assert.equal((await api.validate(t, { query: "?scope=read" })).status, 200);

  const none = await api.call("GET", "/validate");
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="edge-oauth"');
  const malformed = await api.call("GET", "/validate", { headers: { authorization: "Bearer two words" } });
  assert.equal(malformed.status, 400);
  assert.equal(malformed.json.error, "invalid_request");
  // Any method is accepted.
  const post = await api.call("POST", "/validate", { headers: { authorization: `Bearer ${t}` } });
  assert.equal(post.status, 200);
});

test("API keys: header and query, only for api_key clients", async () => {
  const k = await api.createClient({ api_key: true, scopes: ["maps"] });
  const h = await api.call("GET", "/validate", { headers: { key: k.client_id } });
  assert.equal(h.status, 200);
  assert.equal(h.json.auth, "api_key");
  assert.equal(h.json.client_id, k.client_id);
  const q = await api.call("GET", `/validate?key=${k.client_id}&scope=maps`);
  assert.equal(q.status, 200);
  assert.equal((await api.call("GET", `/validate?key=${k.client_id}&scope=other`)).status, 403);
  const plain = await api.createClient();
  const refused = await api.call("GET", `/validate?key=${plain.client_id}`);
  assert.equal(refused.status, 401);
  assert.equal(refused.headers.get("www-authenticate"), INVALID);
  await api.admin("DELETE", `/admin/clients/${k.client_id}`);
  assert.equal((await api.call("GET", "/validate", { headers: { key: k.client_id } })).status, 401);
});

test("sliding expiry: used every second it outlives its ttl, unused it dies", async () => {
  const c = await api.createClient({ token_ttl: 3 });
  const t = await api.accessToken(c);
  const start = Date.now();
  while (Date.now() - start < 6000) {
    await sleep(1000);
    const r = await api.validate(t);
    assert.equal(r.status, 200, `alive at ${Date.now() - start} ms`);
    assert.equal(r.json.expires_in, 3);
  }
  await sleep(3300);
  assert.equal((await api.validate(t)).status, 401, "dead after 3 s unused");
});

/** Use a new token every 500 ms until `aliveMs` after issue (each use must pass), then
 * check it is refused at `deadMs` after issue. */
async function usedUntilDeath(settings, aliveMs, deadMs) {
  const c = await api.createClient(settings);
  const r = await api.token(c.client_id, c.client_secret);
  assert.equal(r.status, 200, r.text);
  // The server's own stamp: a slow request must not shift the checks' instants.
  const issued = r.json.issued_at;
  const t = r.json.access_token;
  while (Date.now() - issued < aliveMs) {
    assert.equal((await api.validate(t)).status, 200, `alive at ${Date.now() - issued} ms`);
    await sleep(500);
  }
  await sleep(Math.max(0, issued + deadMs - Date.now()));
  assert.equal((await api.validate(t)).status, 401, `dead at ${Date.now() - issued} ms`);
}

test("fixed expiry: dies on time even while used", () =>
  usedUntilDeath({ token_ttl: 3, expiry: "fixed" }, 2400, 3300));

test("max_lifetime caps a sliding token that is used all the time", () =>
  usedUntilDeath({ token_ttl: 2, max_lifetime: 4 }, 3400, 4300));

test("revocation (RFC 7009) takes effect at once; only the owner can revoke", async () => {
  const a = await api.createClient();
  const b = await api.createClient();
  const t = await api.accessToken(a);
  const foreign = await api.form("/revoke", b.client_id, b.client_secret, `token=${t}`);
  assert.equal(foreign.status, 200);
  assert.equal((await api.validate(t)).status, 200, "another client cannot revoke it");
  const own = await api.form("/revoke", a.client_id, a.client_secret, `token=${t}&token_type_hint=access_token`);
  assert.equal(own.status, 200);
  assert.equal((await api.validate(t)).status, 401);
  assert.equal((await api.form("/revoke", a.client_id, a.client_secret, "token=unknown")).status, 200);
  assert.equal((await api.form("/revoke", a.client_id, "bad", `token=${t}`)).status, 401);
});

test("re-enabling a disabled client does not revive its tokens (no use in between)", async () => {
  const c = await api.createClient({ scopes: ["read"] });
  const t = await api.accessToken(c);
  const other = await api.accessToken(c);
  assert.equal((await api.validate(other)).status, 200);
  // Disable and re-enable with no validation, introspection or sweep of `t` in between: only
  // the disable itself can have removed it.
  assert.equal((await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: true })).status, 200);
  assert.equal((await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: false })).status, 200);
  assert.equal(storedKeys(worker.stateDir, "t:", c.client_id), 0, "the disable deleted the stored tokens");
  assert.equal((await api.validate(t)).status, 401, "re-enabling does not revive old tokens");
  assert.equal((await api.validate(other)).status, 401);
  assert.equal((await api.validate(await api.accessToken(c))).status, 200, "new tokens work");
});

test("deleting, disabling or rotating without grace kills tokens at once", async () => {
  const c = await api.createClient();
  const t1 = await api.accessToken(c);
  await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: true });
  assert.equal((await api.validate(t1)).status, 401);
  await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: false });
  assert.equal((await api.validate(t1)).status, 401, "re-enabling does not revive old tokens");

  const t2 = await api.accessToken(c);
  const rot = await api.admin("POST", `/admin/clients/${c.client_id}/secret`, { grace: 0 });
  assert.equal((await api.validate(t2)).status, 401);
  const t3 = await api.accessToken({ client_id: c.client_id, client_secret: rot.json.client_secret });
  assert.equal((await api.validate(t3)).status, 200);

  assert.equal((await api.admin("DELETE", `/admin/clients/${c.client_id}`)).status, 204);
  assert.equal((await api.validate(t3)).status, 401);
});

test("introspection (RFC 7662) is not a use; privileged clients see all tokens", async () => {
  const c = await api.createClient({ token_ttl: 30, scopes: ["read"] });
  const other = await api.createClient();
  const rs = await api.createClient({ introspect: true });
  const t = await api.accessToken(c);
  await sleep(1100);
  const own = await api.form("/introspect", c.client_id, c.client_secret, `token=${t}`);
  assert.equal(own.status, 200);
  assert.equal(own.json.active, true);
  assert.equal(own.json.client_id, c.client_id);
  assert.ok(own.json.expires_in <= 29, "introspection did not slide the expiry");
  assert.deepEqual((await api.form("/introspect", other.client_id, other.client_secret, `token=${t}`)).json, { active: false });
  assert.equal((await api.form("/introspect", rs.client_id, rs.client_secret, `token=${t}`)).json.active, true);
  assert.deepEqual((await api.form("/introspect", c.client_id, c.client_secret, "token=nonsense")).json, { active: false });
});

test("50 concurrent validations of one token all succeed and leave a sane expiry", async () => {
  const c = await api.createClient({ token_ttl: 60 });
  const t = await api.accessToken(c);
  const t0 = Date.now() / 1000;
  const results = await Promise.all(Array.from({ length: 50 }, () => api.validate(t)));
  assert.deepEqual(results.map((r) => r.status), Array(50).fill(200));
  const exps = results.map((r) => r.json.exp);
  const after = await api.form("/introspect", c.client_id, c.client_secret, `token=${t}`);
  assert.ok(after.json.exp >= Math.max(...exps), "expiry never moved backwards");
  assert.ok(after.json.exp <= Date.now() / 1000 + 61 && after.json.exp >= t0 + 59);
});

test("alarms delete expired tokens from Durable Object storage", async () => {
  // 3 s: the three tokens must still be there when counted, on a slow machine too.
  const c = await api.createClient({ token_ttl: 3 });
  for (let i = 0; i < 3; i++) await api.accessToken(c);
  // This client's token records in the Durable Objects' SQLite files (read-only).
  const count = () => storedKeys(worker.stateDir, "t:", c.client_id);
  assert.ok(count() >= 3, "the tokens are stored");
  const deadline = Date.now() + 15000;
  while (count() > 0 && Date.now() < deadline) await sleep(500);
  assert.equal(count(), 0, "every expired token was deleted without being read");
});
