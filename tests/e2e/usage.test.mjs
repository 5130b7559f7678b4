// Usage counts through the real runtime (the contract's "Usage"): exact numbers after a known
// sequence of issuances, validations and refusals, read by the operator and by the project's
// owner, and `last_used_at`. Counts may lag up to 60 s by the contract: each read is retried
// until it matches, for at most that long (in practice the first read matches: the shards
// answer from memory).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, formClient, ADMIN, uniq, codeFlow, createUser, sleep } from "./harness.mjs";

const IP = "203.0.113.23";
const REDIRECT = "https://app.example/cb";
const STALE_MS = 60_000;
let worker, api;

before(async () => {
  worker = await startWorker({ vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000" } });
  api = clientFor(worker.url, { ip: IP });
});
after(async () => worker && (await worker.destroy()));

/** Read until `check` passes, for at most the contract's staleness. */
async function eventually(read, check) {
  const deadline = Date.now() + STALE_MS;
  for (;;) {
    const r = await read();
    try {
      check(r);
      return r;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await sleep(1000);
    }
  }
}

const FIELDS = ["tokens_issued", "validations", "rejected_token", "rejected_ip", "rejected_scope", "rate_limited", "auth_failures"];

test("a known sequence gives exact counts, per field and per hour", async () => {
  const c = await api.createClient({ scopes: ["read"], rate_limit: 4, api_key: true });
  const t1 = await api.accessToken(c);
  const t2 = await api.accessToken(c);
  for (const t of [t1, t2, t1]) assert.equal((await api.validate(t)).status, 200);
  assert.equal((await api.validate(t1, { ip: "203.0.113.99" })).status, 401, "another address");
  assert.equal((await api.validate(t2, { query: "?scope=write" })).status, 403);
  assert.equal((await api.call("GET", `/validate?key=${c.client_id}`)).status, 200, "an API key, the 4th of 4 a minute");
  assert.equal((await api.validate(t1)).status, 429, "over the rate limit");
  for (let i = 0; i < 2; i++) assert.equal((await api.token(c.client_id, "wrong")).status, 401);
  assert.equal((await api.form("/revoke", c.client_id, c.client_secret, `token=${t2}`)).status, 200);
  assert.equal((await api.validate(t2)).status, 401, "revoked");
  const want = { tokens_issued: 2, validations: 4, rejected_token: 1, rejected_ip: 1, rejected_scope: 1, rate_limited: 1, auth_failures: 2 };
  const r = await eventually(() => api.admin("GET", `/admin/clients/${c.client_id}/usage?days=1`), (r) => {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.totals, want);
  });
  assert.equal(r.json.client_id, c.client_id);
  assert.ok(Math.abs(r.json.generated_at - Date.now() / 1000) < 60, "generated_at: unix seconds, now");
  const hours = r.json.hours;
  assert.ok(hours.length >= 1 && hours.length <= 2, "this hour (or two, across an hour boundary)");
  for (const h of hours) assert.match(h.hour, /^\d{4}-\d\d-\d\dT\d\d:00:00Z$/);
  const sum = Object.fromEntries(FIELDS.map((f) => [f, hours.reduce((n, h) => n + h[f], 0)]));
  assert.deepEqual(sum, want, "the hours add up to the totals");
  for (const bad of ["0", "91", "x"]) {
    const b = await api.admin("GET", `/admin/clients/${c.client_id}/usage?days=${bad}`);
    assert.equal(b.status, 400);
    assert.equal(b.json.field, "days");
  }
  assert.equal((await api.admin("GET", "/admin/clients/nope/usage")).status, 404);
});

test("the owner reads their project's usage and last use; nobody else does", async () => {
  const maps = (await api.admin("POST", "/admin/apis", { name: uniq("API "), scopes: ["maps:read"] })).json;
  const cli = await api.createClient({
    name: "Account CLI", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], scopes: ["account"],
  });
  const person = async (n) => {
    const user = await createUser(api);
    const { token } = await codeFlow(api, formClient(worker.url, { ip: `198.18.60.${n}` }), worker.url, { client: cli, user, scope: "account" });
    assert.equal(token.status, 200, token.text);
    return token.json.access_token;
  };
  const [mine, theirs] = [await person(1), await person(2)];
  const acct = (token, method, path, body) =>
    api.call(method, path, { headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body && JSON.stringify(body) });
  const p = (await acct(mine, "POST", "/account/projects", { name: "Usage", apis: [maps.api_id] })).json;
  assert.equal(p.last_used_at, null);
  const before = Math.floor(Date.now() / 1000);
  const t = await api.accessToken(p);
  assert.equal((await api.validate(t)).status, 200);
  assert.equal((await api.call("GET", `/validate?key=${p.client_id}&scope=maps:write`)).status, 403);
  const r = await eventually(() => acct(mine, "GET", `/account/projects/${p.client_id}/usage`), (r) => {
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.totals, { tokens_issued: 1, validations: 1, rejected_token: 0, rejected_ip: 0, rejected_scope: 1, rate_limited: 0, auth_failures: 0 });
  });
  assert.equal(r.json.client_id, p.client_id);
  await eventually(() => acct(mine, "GET", `/account/projects/${p.client_id}`), (r) => {
    assert.ok(r.json.last_used_at >= before && r.json.last_used_at <= Date.now() / 1000 + 1, `last_used_at ${r.json.last_used_at}`);
  });
  const list = await acct(mine, "GET", "/account/projects");
  assert.ok(list.json.projects.find((x) => x.client_id === p.client_id).last_used_at >= before);
  assert.equal((await acct(theirs, "GET", `/account/projects/${p.client_id}/usage`)).status, 404, "another person's project");
  assert.equal((await acct(mine, "GET", `/account/projects/${p.client_id}/usage?days=91`)).status, 400);
});
