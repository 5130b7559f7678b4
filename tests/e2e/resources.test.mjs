// RFC 8707 resource indicators through the real runtime: per-client `resources`, `resource` at
// /authorize, /token (code, refresh, client credentials) and /device_authorization, `aud` in
// /validate and /introspect, /validate?resource= refusing a token meant for another resource,
// and the resource's host on the consent page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startWorker, clientFor, formClient, ADMIN, uniq, pkce, authorizePath, htmlText, authorizeAs, redirectQuery, createUser,
} from "./harness.mjs";

const IP = "203.0.113.90";
const REDIRECT = "https://app.example/cb";
const API = "https://api.example.com";
const MCP = "https://mcp.example.com/mcp";

let worker, api;
before(async () => {
  worker = await startWorker({ vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", AUTH_FAILURES_PER_CLIENT: "100000" } });
  api = clientFor(worker.url, { ip: IP });
});
after(async () => {
  await worker?.destroy();
});

const form = (path, body, c) =>
  api.call("POST", path, {
    headers: { "content-type": "application/x-www-form-urlencoded", ...(c?.client_secret ? { authorization: api.basic(c.client_id, c.client_secret) } : {}) },
    body,
  });
const at = (token, resource) => api.validate(token, { query: `?resource=${encodeURIComponent(resource)}` });

test("resources are a client setting: absolute https URIs (or loopback http), no fragment", async () => {
  for (const bad of [["http://api.example.com"], ["https://api.example.com/#x"], ["urn:example:api"], "https://api.example.com", [7]]) {
    const r = await api.admin("POST", "/admin/clients", { name: "r", resources: bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.json.field, "resources");
  }
  const c = await api.createClient({ name: "r", resources: [API, "http://127.0.0.1:8787/mcp"] });
  assert.deepEqual(c.resources, [API, "http://127.0.0.1:8787/mcp"]);
  const plain = await api.createClient({ name: "plain" });
  assert.deepEqual(plain.resources, []);
});

test("a code flow: the consent page names the resource's host, the token is bound to it, refresh stays within it", async () => {
  const user = await createUser(api);
  const client = await api.createClient({
    name: uniq("mcp-"), grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT], scopes: ["read"], resources: [`${API}/`, MCP],
  });
  const { verifier, challenge } = pkce();
  const state = uniq("st-");
  const path = authorizePath({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, scope: "read", state, code_challenge: challenge, code_challenge_method: "S256", resource: API });
  const fc = formClient(worker.url, { ip: IP });
  const consent = await authorizeAs(fc, worker.url, path, { ...user, decision: null });
  assert.ok(consent.consentShown);
  const words = htmlText(consent.text);
  assert.match(words, /api\.example\.com/, "the resource's host is on the consent page");
  assert.doesNotMatch(words, /mcp\.example\.com/, "only the resource asked for");
  const r = await authorizeAs(fc, worker.url, path, { ...user });
  const code = redirectQuery(r).get("code");

  // RFC 8707 §2.2: a resource at /token must have been authorized; a refusal uses nothing up.
  const redeem = (extra) =>
    form("/token", `grant_type=authorization_code&code=${code}&redirect_uri=${encodeURIComponent(REDIRECT)}&code_verifier=${verifier}${extra}`, client);
  const other = await redeem(`&resource=${encodeURIComponent(MCP)}`);
  assert.equal(other.status, 400);
  assert.equal(other.json.error, "invalid_target");
  const t = await redeem("");
  assert.equal(t.status, 200, t.text);
  const access = t.json.access_token;

  const ok = await at(access, API);
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.aud, [`${API}/`], "aud in its registered form");
  assert.equal((await at(access, `${API}/`)).status, 200, "one trailing slash of a bare origin is the same resource");
  const elsewhere = await at(access, MCP);
  assert.equal(elsewhere.status, 401);
  assert.match(elsewhere.headers.get("www-authenticate"), /error="invalid_token"/);
  assert.deepEqual((await api.validate(access)).json.aud, [`${API}/`], "aud without ?resource= too");
  const intro = await form("/introspect", `token=${access}`, client);
  assert.deepEqual(intro.json.aud, [`${API}/`]);

  const wider = await form("/token", `grant_type=refresh_token&refresh_token=${t.json.refresh_token}&resource=${encodeURIComponent(MCP)}`, client);
  assert.equal(wider.status, 400);
  assert.equal(wider.json.error, "invalid_target");
  const same = await form("/token", `grant_type=refresh_token&refresh_token=${t.json.refresh_token}&resource=${encodeURIComponent(API)}`, client);
  assert.equal(same.status, 200, `the refused refresh changed nothing: ${same.text}`);
  assert.deepEqual((await api.validate(same.json.access_token)).json.aud, [`${API}/`]);
});

test("/authorize: a resource the client does not have goes back to the client as invalid_target", async () => {
  const client = await api.createClient({ name: "r", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], resources: [API] });
  const { challenge } = pkce();
  const path = authorizePath({ response_type: "code", client_id: client.client_id, redirect_uri: REDIRECT, state: "s1", code_challenge: challenge, code_challenge_method: "S256", resource: "https://evil.example" });
  const r = await api.call("GET", path);
  assert.equal(r.status, 302);
  const q = new URL(r.headers.get("location")).searchParams;
  assert.deepEqual([q.get("error"), q.get("state"), q.has("iss")], ["invalid_target", "s1", true]);
});

test("client credentials: a named resource binds the token; an unbound token serves only its client's resources", async () => {
  const c = await api.createClient({ name: "m2m", resources: [API] });
  const bound = await api.accessToken(c, { extra: `&resource=${encodeURIComponent(API + "/")}` });
  assert.deepEqual((await at(bound, API)).json.aud, [API]);
  assert.equal((await at(bound, MCP)).status, 401);
  const unbound = await api.accessToken(c);
  const v = await api.validate(unbound);
  assert.equal(v.status, 200);
  assert.equal(v.json.aud, undefined, "no resource named: no aud");
  assert.equal((await at(unbound, API)).status, 200);
  assert.equal((await at(unbound, MCP)).status, 401);
  const refused = await api.token(c.client_id, c.client_secret, { extra: `&resource=${encodeURIComponent(MCP)}` });
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error, "invalid_target");
});

test("/device_authorization checks resource like /authorize", async () => {
  const c = await api.createClient({ name: "tv", client_type: "public", grant_types: ["urn:ietf:params:oauth:grant-type:device_code"], resources: [API] });
  const bad = await form("/device_authorization", `client_id=${c.client_id}&resource=${encodeURIComponent(MCP)}`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error, "invalid_target");
  const good = await form("/device_authorization", `client_id=${c.client_id}&resource=${encodeURIComponent(API)}`);
  assert.equal(good.status, 200, good.text);
});
