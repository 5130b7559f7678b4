// Issue 3: a second Worker validates tokens over a service binding, both Workers under one
// `wrangler dev` (several -c configs).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor } from "./harness.mjs";

let worker, api, c, limited;
before(async () => {
  // Create a client with a plain edge-oauth session, then serve the consumer on the same local
  // state: the consumer is on the port, edge-oauth behind its AUTH binding.
  const admin = await startWorker();
  try {
    c = await clientFor(admin.url).createClient({ scopes: ["read"], api_key: true });
    limited = await clientFor(admin.url).createClient({ scopes: ["read"], rate_limit: 2 });
  } finally {
    await admin.stop();
  }
  worker = await startWorker({ configs: ["examples/consumer/wrangler.toml", "wrangler.toml"], state: admin.stateDir });
  api = clientFor(worker.url, { ip: "198.51.100.20" });
});
after(async () => worker && (await worker.destroy(true)));

test("the consumer Worker gets 200 for a valid token and 401 otherwise", async () => {
  const tok = await api.token(c.client_id, c.client_secret);
  assert.equal(tok.status, 200, tok.text);
  const t = tok.json.access_token;

  const ok = await api.call("GET", "/api/hello", { headers: { authorization: `Bearer ${t}` } });
  assert.equal(ok.status, 200, ok.text);
  assert.equal(ok.json.message, `hello, ${c.client_id}`);
  assert.equal(ok.json.auth, "bearer");

  const none = await api.call("GET", "/api/hello");
  assert.equal(none.status, 401);
  assert.equal(none.headers.get("www-authenticate"), 'Bearer realm="edge-oauth"');

  const bad = await api.call("GET", "/api/hello", { headers: { authorization: `Bearer ${c.client_id}.${"x".repeat(43)}` } });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get("www-authenticate"), 'Bearer realm="edge-oauth", error="invalid_token"');

  const elsewhere = await api.call("GET", "/api/hello", { ip: "198.51.100.21", headers: { authorization: `Bearer ${t}` } });
  assert.equal(elsewhere.status, 401, "the caller's CF-Connecting-IP reaches edge-oauth through the binding");

  const write = await api.call("POST", "/api/hello", { headers: { authorization: `Bearer ${t}` }, body: "x" });
  assert.equal(write.status, 403, "the write route needs a scope the token lacks");

  const key = await api.call("GET", `/api/hello?key=${c.client_id}`);
  assert.equal(key.status, 200, key.text);
  assert.equal(key.json.auth, "api_key");
});

test("over RPC: refusals keep /validate's status, challenge and Retry-After; revocation is immediate", async () => {
  const t = await api.accessToken(c, { scope: "read" });
  const bearer = { authorization: `Bearer ${t}` };

  const write = await api.call("POST", "/api/hello", { headers: bearer, body: "x" });
  assert.equal(write.status, 403);
  assert.equal(write.json.error, "insufficient_scope");
  assert.match(write.headers.get("www-authenticate"), /error="insufficient_scope"/);
  assert.match(write.headers.get("www-authenticate"), /scope="write"/);

  assert.equal((await api.call("GET", "/api/hello", { headers: bearer })).status, 200);
  const revoked = await api.form("/revoke", c.client_id, c.client_secret, `token=${encodeURIComponent(t)}`);
  assert.equal(revoked.status, 200, revoked.text);
  const after = await api.call("GET", "/api/hello", { headers: bearer });
  assert.equal(after.status, 401, "the next call after revocation is refused");
  assert.equal(after.json.error, "invalid_token");

  // A client with rate_limit 2: the third validation in its window is 429 with Retry-After.
  const lt = await api.accessToken(limited);
  const statuses = [];
  let last;
  for (let i = 0; i < 3; i++) {
    last = await api.call("GET", "/api/hello", { headers: { authorization: `Bearer ${lt}` } });
    statuses.push(last.status);
  }
  assert.deepEqual(statuses, [200, 200, 429]);
  assert.ok(Number(last.headers.get("retry-after")) >= 1, "Retry-After reaches the caller");
});
