// Abuse: brute force on client authentication (per address and per client id), per-client rate
// limits on /validate, revocation racing concurrent validations, and state surviving a restart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, ADMIN, sleep } from "./harness.mjs";

const WINDOW_S = 4;
const PER_IP = 5;
const PER_CLIENT = 4;

// byIp: a small per-address limit and a short window. byClient: a small per-client limit and
// a large per-address one; it also serves the rate-limit and concurrency tests, which never
// fail an authentication.
let byIp, byClient;
before(async () => {
  [byIp, byClient] = await Promise.all([
    startWorker({
      vars: {
        ADMIN_TOKEN: ADMIN,
        AUTH_FAILURES_PER_IP: String(PER_IP),
        AUTH_FAILURES_PER_CLIENT: "1000",
        AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_S),
      },
    }),
    startWorker({
      vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "1000", AUTH_FAILURES_PER_CLIENT: String(PER_CLIENT) },
    }),
  ]);
});
after(async () => {
  await Promise.all([byIp?.destroy(), byClient?.destroy()]);
});

/** A 429 as the contract has it: `Retry-After` in whole seconds (at least 1), a JSON error. */
function assert429(r, label, maxRetry) {
  assert.equal(r.status, 429, `${label}: ${r.status} ${r.text}`);
  const retry = r.headers.get("retry-after");
  assert.match(retry ?? "", /^[1-9][0-9]*$/, `${label}: Retry-After is a positive integer`);
  if (maxRetry) assert.ok(Number(retry) <= maxRetry, `${label}: Retry-After ${retry} <= ${maxRetry}`);
  assert.equal(r.headers.get("content-type"), "application/json", label);
  assert.equal(typeof r.json?.error, "string", label);
  assert.equal(typeof r.json.error_description, "string", label);
  return Number(retry);
}

test("brute force from one address: blocked on every token endpoint, other addresses unaffected, then let go", async () => {
  const api = clientFor(byIp.url);
  const A = "192.0.2.10";
  const B = "192.0.2.20";
  const c = await api.createClient({ name: "victim" });
  const tB = await api.accessToken(c, { ip: B });

  // Wrong secrets from A until refused.
  let r;
  let failures = 0;
  for (let i = 0; i < PER_IP + 10; i++) {
    r = await api.token(c.client_id, `guess-${i}`, { ip: A });
    if (r.status !== 401) break;
    assert.equal(r.json.error, "invalid_client");
    failures++;
  }
  assert.equal(failures, PER_IP, `exactly ${PER_IP} failures are answered 401 before the block`);
  assert429(r, "the failure over the limit", 2 * WINDOW_S);
  assert.equal(r.headers.get("cache-control"), "no-store");

  // While A is blocked: even the right secret, by either method, and /introspect and /revoke.
  const right = await api.token(c.client_id, c.client_secret, { ip: A });
  let retryAfter = assert429(right, "right secret from the blocked address", 2 * WINDOW_S);
  const post = await api.call("POST", "/token", {
    ip: A,
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=client_credentials&client_id=${c.client_id}&client_secret=${c.client_secret}`,
  });
  assert429(post, "client_secret_post from the blocked address", 2 * WINDOW_S);
  const basic = { authorization: api.basic(c.client_id, c.client_secret), "content-type": "application/x-www-form-urlencoded" };
  const intro = await api.call("POST", "/introspect", { ip: A, headers: basic, body: `token=${tB}` });
  assert429(intro, "/introspect from the blocked address", 2 * WINDOW_S);
  const revoke = await api.call("POST", "/revoke", { ip: A, headers: basic, body: `token=${tB}` });
  assert429(revoke, "/revoke from the blocked address", 2 * WINDOW_S);

  // Another address is not affected, and the refused revocation did nothing.
  assert.equal((await api.token(c.client_id, c.client_secret, { ip: B })).status, 200, "right secret from B");
  assert.equal((await api.validate(tB, { ip: B })).status, 200, "the blocked /revoke revoked nothing");
  const wrongB = await api.token(c.client_id, "guess-b", { ip: B });
  assert.equal(wrongB.status, 401, "B's first failure is a plain 401");

  // Never locked out for good: once Retry-After has passed, A is let in.
  assert.ok(retryAfter <= 2 * WINDOW_S);
  const last = await api.token(c.client_id, c.client_secret, { ip: A });
  retryAfter = last.status === 429 ? Number(last.headers.get("retry-after")) : 0;
  const t0 = Date.now();
  await sleep(retryAfter * 1000 + 250);
  console.log(`brute force: waited ${Date.now() - t0} ms (Retry-After ${retryAfter})`);
  const again = await api.token(c.client_id, c.client_secret, { ip: A });
  assert.equal(again.status, 200, `right secret from A after Retry-After: ${again.text}`);
  assert.equal((await api.validate(again.json.access_token, { ip: A })).status, 200);
  const fresh = await api.token(c.client_id, "guess-after", { ip: A });
  assert.equal(fresh.status, 401, "the failure count starts over");
});

test("brute force on one client id from many addresses: failures refused, the right secret still works", async () => {
  const api = clientFor(byClient.url);
  const c = await api.createClient({ name: "victim" });
  const bystander = await api.createClient({ name: "bystander" });
  let r;
  let failures = 0;
  for (let i = 0; i < PER_CLIENT + 10; i++) {
    r = await api.token(c.client_id, `guess-${i}`, { ip: `198.18.7.${i + 1}` });
    if (r.status !== 401) break;
    failures++;
  }
  assert.equal(failures, PER_CLIENT, `exactly ${PER_CLIENT} failures are answered 401 before the block`);
  assert429(r, "the failure over the client's limit");
  // Further failures from yet another address are refused too...
  assert429(await api.token(c.client_id, "guess-x", { ip: "198.18.8.1" }), "a failure from a fresh address");
  // ...but the right secret from an unblocked address is accepted: the owner is not locked out.
  const ok = await api.token(c.client_id, c.client_secret, { ip: "198.18.8.2" });
  assert.equal(ok.status, 200, ok.text);
  // Other clients are not affected.
  assert.equal((await api.token(bystander.client_id, "guess", { ip: "198.18.8.3" })).status, 401);
  assert.equal((await api.token(bystander.client_id, bystander.client_secret, { ip: "198.18.8.3" })).status, 200);
  // Unknown ids have no counter to fill: they stay 401, however many times they are tried.
  for (let i = 0; i < PER_CLIENT + 2; i++) {
    const u = await api.token("AAAAAAAAAAAAAAAAAAAAAA", "guess", { ip: `198.18.9.${i + 1}` });
    assert.equal(u.status, 401, `unknown id, attempt ${i + 1}`);
  }
});

test("rate_limit on /validate: Bearer and API key", async () => {
  const api = clientFor(byClient.url, { ip: "203.0.113.40" });
  const c = await api.createClient({ name: "limited", rate_limit: 5 });
  const t = await api.accessToken(c);
  for (let i = 1; i <= 5; i++) {
    const r = await api.validate(t);
    assert.equal(r.status, 200, `validation ${i}: ${r.text}`);
  }
  const sixth = await api.validate(t);
  assert429(sixth, "the 6th validation in a minute", 120);
  // The limit is the client's: a second token of the same client is refused as well...
  const t2 = await api.accessToken(c);
  assert429(await api.validate(t2), "another token of the same client", 120);
  // ...while other clients are not affected.
  const free = await api.createClient({ name: "unlimited" });
  const ft = await api.accessToken(free);
  for (let i = 0; i < 7; i++) assert.equal((await api.validate(ft)).status, 200);

  // API keys: header and query count against the same limit.
  const k = await api.createClient({ name: "limited-key", api_key: true, rate_limit: 3 });
  assert.equal((await api.call("GET", "/validate", { headers: { key: k.client_id } })).status, 200);
  assert.equal((await api.call("GET", `/validate?key=${k.client_id}`)).status, 200);
  assert.equal((await api.call("GET", "/validate", { headers: { key: k.client_id } })).status, 200);
  assert429(await api.call("GET", `/validate?key=${k.client_id}`), "the 4th API-key validation", 120);
  assert429(await api.call("GET", "/validate", { headers: { key: k.client_id } }), "the 5th API-key validation", 120);
});

test("forged tokens and wrong-address uses do not use up a client's rate_limit", async () => {
  // A client id is public (it is the prefix of every token), so anyone can present a token of
  // the right shape naming it. Only successful validations may count against its limit;
  // otherwise anybody can lock a client's real tokens out of /validate for free.
  const api = clientFor(byClient.url, { ip: "203.0.113.41" });
  const c = await api.createClient({ name: "target", rate_limit: 3 });
  const t = await api.accessToken(c);
  for (let i = 0; i < 5; i++) {
    const forged = await api.validate(`${c.client_id}.${String(i).repeat(43)}`, { ip: "192.0.2.99" });
    assert.ok([401, 429].includes(forged.status), `forged token ${i}: ${forged.status}`);
    const stolen = await api.validate(t, { ip: "192.0.2.99" });
    assert.ok([401, 429].includes(stolen.status), `real token from the wrong address ${i}: ${stolen.status}`);
  }
  const r = await api.validate(t);
  assert.equal(r.status, 200, `the owner's first validation after the forgeries: ${r.status} ${r.text}`);
});

test("revocation racing 60 concurrent validations: nothing started after the revoke answered succeeds", async () => {
  const api = clientFor(byClient.url, { ip: "203.0.113.50" });
  const c = await api.createClient({ name: "racer", token_ttl: 300 });
  const t = await api.accessToken(c);
  assert.equal((await api.validate(t)).status, 200);

  const early = Array.from({ length: 30 }, () => api.validate(t));
  const revoked = await api.form("/revoke", c.client_id, c.client_secret, `token=${t}`);
  assert.equal(revoked.status, 200);
  // Everything below starts after the revocation's answer has arrived.
  const late = Array.from({ length: 30 }, () => api.validate(t));
  const [e, l] = await Promise.all([Promise.all(early), Promise.all(late)]);
  for (const [i, r] of e.entries()) assert.ok(r.status === 200 || r.status === 401, `early ${i}: ${r.status} ${r.text}`);
  assert.deepEqual(l.map((r) => r.status), Array(30).fill(401), "every validation started after the revoke is refused");
  for (const r of l) assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="edge-oauth", error="invalid_token"');
  for (let i = 0; i < 10; i++) assert.equal((await api.validate(t)).status, 401, `sequential ${i}`);
  assert.deepEqual((await api.form("/introspect", c.client_id, c.client_secret, `token=${t}`)).json, { active: false });
  // The client itself is fine: a new token works.
  assert.equal((await api.validate(await api.accessToken(c))).status, 200);
});

test("clients and live tokens survive a restart on the same state", async () => {
  const ip = "203.0.113.60";
  const w1 = await startWorker();
  let w2;
  try {
    const api1 = clientFor(w1.url, { ip });
    const c = await api1.createClient({ name: "durable", scopes: ["read"], token_ttl: 600 });
    const t = await api1.accessToken(c);
    const dead = await api1.accessToken(c);
    assert.equal((await api1.form("/revoke", c.client_id, c.client_secret, `token=${dead}`)).status, 200);
    const view = (await api1.admin("GET", `/admin/clients/${c.client_id}`)).json;
    await w1.stop();

    w2 = await startWorker({ state: w1.stateDir });
    const api2 = clientFor(w2.url, { ip });
    const got = await api2.admin("GET", `/admin/clients/${c.client_id}`);
    assert.equal(got.status, 200);
    assert.deepEqual(got.json, view, "the client is unchanged");
    const v = await api2.validate(t);
    assert.equal(v.status, 200, `the live token still validates: ${v.text}`);
    assert.equal(v.json.client_id, c.client_id);
    assert.equal(v.json.scope, "read");
    assert.equal((await api2.validate(t, { ip: "203.0.113.61" })).status, 401, "still bound to its address");
    assert.equal((await api2.validate(dead)).status, 401, "a revoked token stays revoked");
    assert.equal((await api2.token(c.client_id, c.client_secret)).status, 200, "the secret still works");
  } finally {
    await w2?.destroy(true);
    await w1.destroy(true);
  }
});
