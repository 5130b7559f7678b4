// RFC 7591 dynamic client registration through the real runtime: REGISTRATION off (404), open
// and token (initial access tokens from /admin/registration-tokens, their uses counted in one
// Durable Object), the metadata rules, registered clients living like admin-made ones (a code
// flow, client authentication, the admin list, disable, delete), the per-address rate limit,
// and a certified client library (oauth4webapi) registering through discovery.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import { startWorker, clientFor, formClient, createUser, codeFlow, storedRecords, ADMIN, sleep, uniq } from "./harness.mjs";

const SCOPES = "read write";
const CB = "https://app.example/cb";
let off, open, token;
// A token made first and checked last, after it has expired (60 s is the shortest lifetime).
let shortLived, shortLivedAt;

before(async () => {
  [off, open, token] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN } }),
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, REGISTRATION: "open", REGISTRATION_SCOPES: SCOPES } }),
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, REGISTRATION: "token", REGISTRATION_SCOPES: SCOPES } }),
  ]);
  const r = await clientFor(token.url).admin("POST", "/admin/registration-tokens", { expires_in: 60, max_uses: 5 });
  assert.equal(r.status, 201, r.text);
  [shortLived, shortLivedAt] = [r.json.token, Date.now()];
});
after(async () => {
  await Promise.all([off?.destroy(), open?.destroy(), token?.destroy()]);
});

// Every test registers from its own address: the rate limit is per address.
let lastOctet = 10;
const nextIp = () => `203.0.113.${lastOctet++}`;

const register = (api, body, headers = {}) =>
  api.call("POST", "/register", {
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

function assertError(r, status, error, label = "") {
  assert.equal(r.status, status, `${label} ${r.status} ${r.text}`);
  assert.equal(r.json?.error, error, label);
  assert.equal(typeof r.json.error_description, "string", label);
  assert.equal(r.headers.get("content-type"), "application/json", label);
}

const metadata = async (w) => (await clientFor(w.url).call("GET", "/.well-known/oauth-authorization-server")).json;

test("REGISTRATION off: /register is 404 like any unknown path, and the metadata has no registration_endpoint", async () => {
  const api = clientFor(off.url, { ip: nextIp() });
  const unknown = await api.call("POST", "/no-such-path", { body: "{}" });
  assert.equal(unknown.status, 404);
  for (const r of [await register(api, { redirect_uris: [CB] }), await api.call("GET", "/register")]) {
    assert.equal(r.status, 404, r.text);
    assert.deepEqual(r.json, unknown.json);
  }
  assert.equal((await metadata(off)).registration_endpoint, undefined);
  assert.equal((await metadata(open)).registration_endpoint, `${open.url}/register`);
  assert.equal((await metadata(token)).registration_endpoint, `${token.url}/register`);
});

test("open: a public client registers (201, RFC 7591 fields, no-store) and completes a PKCE code flow", async () => {
  const ip = nextIp();
  const api = clientFor(open.url, { ip });
  const before = Math.floor(Date.now() / 1000);
  const r = await register(api, { redirect_uris: [CB], client_name: "Reg App", scope: "read", logo_uri: "https://x.example/l.png" });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.headers.get("cache-control"), "no-store");
  const c = r.json;
  assert.equal(typeof c.client_id, "string");
  assert.ok(c.client_id_issued_at >= before - 1 && c.client_id_issued_at <= Date.now() / 1000 + 1, "seconds");
  assert.equal(c.client_secret, undefined);
  assert.equal(c.client_secret_expires_at, undefined);
  assert.deepEqual(
    { redirect_uris: c.redirect_uris, client_name: c.client_name, grant_types: c.grant_types, response_types: c.response_types, method: c.token_endpoint_auth_method, scope: c.scope },
    { redirect_uris: [CB], client_name: "Reg App", grant_types: ["authorization_code", "refresh_token"], response_types: ["code"], method: "none", scope: "read" });
  assert.equal(c.logo_uri, undefined, "unknown fields are ignored, not echoed");

  const user = await createUser(api);
  const flow = await codeFlow(api, formClient(open.url, { ip }), open.url, { client: c, user, auth: "none" });
  assert.equal(flow.token.status, 200, flow.token.text);
  assert.equal(flow.token.json.scope, "read");
  assert.equal(typeof flow.token.json.refresh_token, "string");
  const v = await api.validate(flow.token.json.access_token);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.client_id, c.client_id);
});

test("open: a confidential client's secret authenticates, a wrong one fails; listed registered:true; disable and delete work", async () => {
  const ip = nextIp();
  const api = clientFor(open.url, { ip });
  const r = await register(api, { redirect_uris: [CB], token_endpoint_auth_method: "client_secret_post", grant_types: ["authorization_code"] });
  assert.equal(r.status, 201, r.text);
  const c = r.json;
  assert.equal(c.token_endpoint_auth_method, "client_secret_post");
  assert.equal(typeof c.client_secret, "string");
  assert.equal(c.client_secret_expires_at, 0);
  assert.equal(c.scope, undefined, "no scope asked, none registered");
  const introspect = (secret) => api.form("/introspect", c.client_id, secret, "token=nothing");
  const good = await introspect(c.client_secret);
  assert.equal(good.status, 200, good.text);
  assert.deepEqual(good.json, { active: false });
  assertError(await introspect("wrong-secret"), 401, "invalid_client");

  // A code flow, redeemed with client_secret_post, gives no refresh token (not registered).
  const user = await createUser(api);
  const flow = await codeFlow(api, formClient(open.url, { ip }), open.url, { client: c, user, auth: "post" });
  assert.equal(flow.token.status, 200, flow.token.text);
  assert.equal(flow.token.json.refresh_token, undefined);

  const listed = (await api.admin("GET", "/admin/clients")).json.clients.find((x) => x.client_id === c.client_id);
  assert.equal(listed.registered, true);
  assert.equal(listed.client_type, "confidential");
  const admin = await api.createClient({ name: uniq("admin-made-") });
  assert.equal((await api.admin("GET", `/admin/clients/${admin.client_id}`)).json.registered, false);

  const d = await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: true });
  assert.equal(d.status, 200, d.text);
  assert.equal(d.json.registered, true);
  assertError(await introspect(c.client_secret), 401, "invalid_client");
  assert.equal((await api.validate(flow.token.json.access_token)).status, 401, "its token died with it");
  assert.equal((await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: false })).status, 200);
  assert.equal((await introspect(c.client_secret)).status, 200, "re-enabled");
  assert.equal((await api.admin("DELETE", `/admin/clients/${c.client_id}`)).status, 204);
  assert.equal((await api.admin("GET", `/admin/clients/${c.client_id}`)).status, 404);
  assertError(await introspect(c.client_secret), 401, "invalid_client");
});

test("open: bad metadata is 400 invalid_redirect_uri or invalid_client_metadata and stores nothing", async () => {
  const api = clientFor(open.url, { ip: nextIp() });
  const countClients = async () => (await api.admin("GET", "/admin/clients")).json.clients.length;
  const n = await countClients();
  const cases = [
    [{}, "invalid_redirect_uri"],
    [{ redirect_uris: [] }, "invalid_redirect_uri"],
    [{ redirect_uris: ["http://app.example/cb"] }, "invalid_redirect_uri"],
    [{ redirect_uris: ["https://app.example/cb#x"] }, "invalid_redirect_uri"],
    [{ redirect_uris: ["javascript:alert(1)"] }, "invalid_redirect_uri"],
    [{ redirect_uris: [CB], scope: "read admin" }, "invalid_client_metadata"],
    [{ redirect_uris: [CB], grant_types: ["client_credentials"] }, "invalid_client_metadata"],
    [{ redirect_uris: [CB], token_endpoint_auth_method: "private_key_jwt" }, "invalid_client_metadata"],
    [{ redirect_uris: [CB], response_types: ["token"] }, "invalid_client_metadata"],
    [{ redirect_uris: [CB], client_name: "" }, "invalid_client_metadata"],
    ["not json", "invalid_client_metadata"],
    ["[1, 2]", "invalid_client_metadata"],
    ["", "invalid_client_metadata"],
  ];
  for (const [body, error] of cases) {
    const r = await register(api, body);
    assertError(r, 400, error, JSON.stringify(body));
    assert.equal(r.headers.get("cache-control"), "no-store");
  }
  assert.equal(await countClients(), n);
  const get = await api.call("GET", "/register");
  assert.equal(get.status, 405);
  assert.equal(get.headers.get("allow"), "POST");
});

test("open: the 11th registration from one address within a minute is 429 with Retry-After; other addresses go on", async () => {
  const ip = nextIp();
  const api = clientFor(open.url, { ip });
  for (let i = 0; i < 3; i++) assert.equal((await register(api, {})).status, 400, "refused requests do not count");
  for (let i = 1; i <= 10; i++) {
    const r = await register(api, { redirect_uris: [CB] });
    assert.equal(r.status, 201, `registration ${i}: ${r.text}`);
  }
  const r = await register(api, { redirect_uris: [CB] });
  assert.equal(r.status, 429, r.text);
  assert.match(r.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
  assert.ok(Number(r.headers.get("retry-after")) <= 120);
  assert.equal(typeof r.json.error, "string");
  assert.equal((await register(clientFor(open.url, { ip: nextIp() }), { redirect_uris: [CB] })).status, 201);
});

test("token: missing, unknown and used-up tokens are 401 with the right challenge; a 400 uses nothing; max_uses > 1", async () => {
  const api = clientFor(token.url, { ip: nextIp() });
  const body = { redirect_uris: [CB], scope: "read write" };
  const bare = 'Bearer realm="edge-oauth"';
  const invalid = 'Bearer realm="edge-oauth", error="invalid_token"';

  let r = await register(api, body);
  assert.equal(r.status, 401, r.text);
  assert.equal(r.headers.get("www-authenticate"), bare);
  r = await register(api, body, { authorization: api.basic("someone", "x") });
  assert.equal(r.status, 401, "another scheme is no initial access token");
  assert.equal(r.headers.get("www-authenticate"), bare);
  r = await register(api, body, { authorization: "Bearer not-a-real-token" });
  assert.equal(r.status, 401);
  assert.equal(r.headers.get("www-authenticate"), invalid);

  const made = await api.admin("POST", "/admin/registration-tokens", {});
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(Object.keys(made.json).sort(), ["created_at", "expires_at", "id", "max_uses", "token", "uses"]);
  assert.equal(made.json.max_uses, 1);
  assert.ok(Math.abs(made.json.expires_at - (Date.now() + 86_400_000)) < 60_000, "milliseconds, a day from now");
  const auth = { authorization: `Bearer ${made.json.token}` };
  const uses = async (id) => (await api.admin("GET", "/admin/registration-tokens")).json.registration_tokens.find((t) => t.id === id)?.uses;

  r = await register(api, { redirect_uris: ["ftp://nope"] }, auth);
  assertError(r, 400, "invalid_redirect_uri");
  assert.equal(await uses(made.json.id), 0, "a 400 uses nothing");
  r = await register(api, body, auth);
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.scope, "read write");
  assert.equal(await uses(made.json.id), 1);
  r = await register(api, body, auth);
  assert.equal(r.status, 401, "used up");
  assert.equal(r.headers.get("www-authenticate"), invalid);

  // The short-lived token works while it lives (checked again after it expired, last).
  assert.equal((await register(api, body, { authorization: `Bearer ${shortLived}` })).status, 201);

  const three = (await api.admin("POST", "/admin/registration-tokens", { max_uses: 3 })).json;
  // Three at once: exactly three succeed, and a fourth is refused.
  const results = await Promise.all([0, 1, 2, 3].map(() => register(api, body, { authorization: `Bearer ${three.token}` })));
  assert.deepEqual(results.map((x) => x.status).sort(), [201, 201, 201, 401]);
  assert.equal(await uses(three.id), 3);
});

test("token: the admin API lists tokens without their values, deletes them (then 404), and follows its conventions", async () => {
  const api = clientFor(token.url, { ip: nextIp() });
  const made = (await api.admin("POST", "/admin/registration-tokens", { expires_in: 3600, max_uses: 2 })).json;
  const list = await api.admin("GET", "/admin/registration-tokens");
  assert.equal(list.status, 200);
  assert.equal(list.headers.get("cache-control"), "no-store");
  assert.ok(!list.text.includes(made.token), "never the value");
  const listed = list.json.registration_tokens.find((t) => t.id === made.id);
  assert.deepEqual(listed, { id: made.id, created_at: made.created_at, expires_at: made.expires_at, max_uses: 2, uses: 0 });
  // Nowhere in storage in plaintext.
  assert.equal(storedRecords(token.stateDir).filter((rec) => rec.value.includes(Buffer.from(made.token))).length, 0);

  assert.equal((await api.admin("DELETE", `/admin/registration-tokens/${made.id}`)).status, 204);
  assert.equal((await api.admin("DELETE", `/admin/registration-tokens/${made.id}`)).status, 404);
  const r = await register(api, { redirect_uris: [CB] }, { authorization: `Bearer ${made.token}` });
  assert.equal(r.status, 401, "a deleted token is unknown");

  for (const [bad, field] of [[{ expires_in: 59 }, "expires_in"], [{ expires_in: 31536001 }, "expires_in"], [{ max_uses: 0 }, "max_uses"], [{ max_uses: 1001 }, "max_uses"], [{ other: 1 }, "other"]]) {
    const x = await api.admin("POST", "/admin/registration-tokens", bad);
    assert.equal(x.status, 400, JSON.stringify(bad));
    assert.equal(x.json.field, field);
  }
  assert.equal((await api.call("GET", "/admin/registration-tokens")).status, 401);
  assert.equal((await api.call("GET", "/admin/registration-tokens", { headers: { authorization: "Bearer wrong" } })).status, 401);
});

test("oauth4webapi discovers the registration endpoint and registers, in open and in token mode", async () => {
  const insecure = { [oauth.allowInsecureRequests]: true };
  for (const w of [open, token]) {
    const issuer = new URL(w.url);
    const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oauth2" }));
    assert.equal(as.registration_endpoint, `${w.url}/register`);
    const options = { ...insecure };
    if (w === token) {
      options.initialAccessToken = (await clientFor(w.url).admin("POST", "/admin/registration-tokens", {})).json.token;
      // Without it, the library sees the Bearer challenge.
      await assert.rejects(
        oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [CB] }, insecure)),
        (e) => e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401);
    }
    const res = await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: [CB], client_name: "oauth4webapi", token_endpoint_auth_method: "client_secret_basic" }, options);
    const client = await oauth.processDynamicClientRegistrationResponse(res);
    assert.equal(typeof client.client_id, "string");
    assert.equal(typeof client.client_secret, "string");
    assert.equal(client.client_secret_expires_at, 0);
    assert.equal(client.client_name, "oauth4webapi");
    // A bad redirect URI reaches the library as an RFC 7591 error.
    if (w === open) {
      await assert.rejects(
        oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(as, { redirect_uris: ["http://evil.example/"] }, options)),
        (e) => e instanceof oauth.ResponseBodyError && e.error === "invalid_redirect_uri");
    }
  }
});

test("token: an expired token is 401 invalid_token (and is no longer listed)", async () => {
  const api = clientFor(token.url, { ip: nextIp() });
  const auth = { authorization: `Bearer ${shortLived}` };
  const left = shortLivedAt + 61_000 - Date.now();
  if (left > 0) await sleep(left);
  const r = await register(api, { redirect_uris: [CB] }, auth);
  assert.equal(r.status, 401, r.text);
  assert.equal(r.headers.get("www-authenticate"), 'Bearer realm="edge-oauth", error="invalid_token"');
  const list = (await api.admin("GET", "/admin/registration-tokens")).json.registration_tokens;
  assert.equal(list.filter((t) => t.max_uses === 5).length, 0);
});
