// Issue 11: refresh tokens through the real runtime: rotation, the retry window under truly
// concurrent requests, reuse detection that kills the family including its newest access
// token, users' grants, and families that survive a restart of `wrangler dev`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, formClient, createUser, codeFlow, storedKeys, sleep, uniq } from "./harness.mjs";

const IP = "198.51.100.40";
let worker, api;
before(async () => {
  worker = await startWorker();
  api = clientFor(worker.url, { ip: IP });
});
after(async () => worker && (await worker.destroy()));

const REDIRECT = "https://app.example/cb";

async function family({ settings = {}, public: pub = false } = {}) {
  const user = await createUser(api);
  const client = await api.createClient({
    name: uniq("refresh-"), scopes: ["read", "write"], grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [REDIRECT], ...(pub ? { client_type: "public" } : {}), ...settings,
  });
  const { token } = await codeFlow(api, formClient(worker.url, { ip: IP }), worker.url, { client, user });
  assert.equal(token.status, 200, token.text);
  return { user, client, access: token.json.access_token, refresh: token.json.refresh_token };
}

const refresh = (f, token, extra = "") =>
  api.call("POST", "/token", {
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(f.client.client_secret ? { authorization: api.basic(f.client.client_id, f.client.client_secret) } : {}),
    },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}${f.client.client_secret ? "" : `&client_id=${f.client.client_id}`}${extra}`,
  });

test("every refresh rotates; the response is the token response with a new refresh_token", async () => {
  const f = await family();
  const r = await refresh(f, f.refresh);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.deepEqual(Object.keys(r.json).sort(), ["access_token", "expires_in", "issued_at", "refresh_token", "scope", "token_type"]);
  assert.notEqual(r.json.refresh_token, f.refresh);
  const who = await api.validate(r.json.access_token);
  assert.equal(who.json.sub, f.user.user_id);
  assert.equal((await api.validate(f.access)).status, 200, "earlier access tokens stay valid");
});

test("N simultaneous refreshes with one token: one successor, and the family lives", async () => {
  const f = await family();
  const N = 12;
  const answers = await Promise.all(Array.from({ length: N }, () => refresh(f, f.refresh)));
  assert.deepEqual(answers.map((a) => a.status), Array(N).fill(200), answers.map((a) => a.text).join("\n"));
  const successors = new Set(answers.map((a) => a.json.refresh_token));
  assert.equal(successors.size, 1, "every concurrent refresh got the same successor");
  const accessTokens = new Set(answers.map((a) => a.json.access_token));
  assert.equal(accessTokens.size, N, "each got its own access token");
  for (const t of accessTokens) assert.equal((await api.validate(t)).status, 200);
  const [successor] = successors;
  const next = await refresh(f, successor);
  assert.equal(next.status, 200, "the family lives on: its successor works");
});

test("reuse after the successor was used kills the family, including its newest access token", async () => {
  const f = await family();
  const r2 = (await refresh(f, f.refresh)).json;
  const r3 = (await refresh(f, r2.refresh_token)).json; // the successor is used
  assert.equal((await api.validate(r3.access_token)).status, 200);
  const reuse = await refresh(f, f.refresh); // within 30 s, but its successor was used
  assert.equal(reuse.status, 400);
  assert.equal(reuse.json.error, "invalid_grant");
  for (const t of [f.access, r2.access_token, r3.access_token]) {
    assert.equal((await api.validate(t)).status, 401, "every access token of the family is dead at once");
  }
  assert.equal((await refresh(f, r3.refresh_token)).json.error, "invalid_grant", "and its current refresh token");
});

test("the retry window is 30 s", async () => {
  const f = await family();
  const r2 = (await refresh(f, f.refresh)).json;
  await sleep(31_000);
  const late = await refresh(f, f.refresh);
  assert.equal(late.json.error, "invalid_grant");
  assert.equal((await api.validate(r2.access_token)).status, 401, "late reuse killed the family");
});

test("scope narrows the new access token only; widening is invalid_scope and changes nothing", async () => {
  const f = await family();
  const narrow = await refresh(f, f.refresh, "&scope=read");
  assert.equal(narrow.json.scope, "read");
  assert.equal((await api.validate(narrow.json.access_token, { query: "?scope=write" })).status, 403);
  const wide = await refresh(f, narrow.json.refresh_token, "&scope=read%20admin");
  assert.equal(wide.status, 400);
  assert.equal(wide.json.error, "invalid_scope");
  const again = await refresh(f, narrow.json.refresh_token);
  assert.equal(again.status, 200, "the refused request used nothing up");
  assert.equal(again.json.scope, "read write", "the family keeps its grant");
});

test("a refresh token works only for its client; a public client refreshes and revokes by client_id", async () => {
  const f = await family({ public: true });
  const other = await api.createClient({ scopes: ["read"], grant_types: ["refresh_token"] });
  const stolen = await api.form("/token", other.client_id, other.client_secret, `grant_type=refresh_token&refresh_token=${f.refresh}`);
  assert.equal(stolen.json.error, "invalid_grant");
  const r = await refresh(f, f.refresh);
  assert.equal(r.status, 200, r.text);
  const revoked = await api.call("POST", "/revoke", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `client_id=${f.client.client_id}&token=${r.json.refresh_token}&token_type_hint=refresh_token`,
  });
  assert.equal(revoked.status, 200);
  assert.equal((await api.validate(r.json.access_token)).status, 401, "revoking a refresh token kills its family");
  assert.equal((await refresh(f, r.json.refresh_token)).json.error, "invalid_grant");
});

test("a family dies refresh_token_ttl after the authorization, with its access tokens", async () => {
  const f = await family({ settings: { refresh_token_ttl: 3 } });
  const r = await refresh(f, f.refresh);
  assert.equal(r.status, 200);
  assert.ok(r.json.expires_in <= 3, `access tokens never outlive the family: ${r.json.expires_in}`);
  await sleep(3_200);
  assert.equal((await refresh(f, r.json.refresh_token)).json.error, "invalid_grant");
  assert.equal((await api.validate(r.json.access_token)).status, 401);
});

test("refresh tokens are stored only as hashes", async () => {
  const f = await family();
  const secret = f.refresh.split(".")[1];
  assert.equal(storedKeys(worker.stateDir, "", secret), 0, "no stored value contains the refresh token");
  assert.equal(storedKeys(worker.stateDir, "", f.refresh), 0);
});

test("families survive a restart of wrangler dev", async () => {
  const f = await family();
  await worker.stop();
  worker = await startWorker({ state: worker.stateDir });
  api = clientFor(worker.url, { ip: IP });
  assert.equal((await api.validate(f.access)).status, 200, "the access token survived");
  const r = await refresh(f, f.refresh);
  assert.equal(r.status, 200, r.text);
  assert.equal((await refresh(f, r.json.refresh_token)).status, 200, "and the chain goes on");
});
