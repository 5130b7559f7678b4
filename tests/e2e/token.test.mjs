// Issue 2: the admin API and POST /token through the real runtime.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, ADMIN } from "./harness.mjs";

let worker, api;
before(async () => {
  worker = await startWorker();
  api = clientFor(worker.url);
});
after(async () => worker && (await worker.destroy()));

const FORM = { "content-type": "application/x-www-form-urlencoded" };

function assertNoStore(r) {
  assert.equal(r.headers.get("cache-control"), "no-store");
  assert.equal(r.headers.get("pragma"), "no-cache");
}

test("admin API: create, get, list, update, disable, rotate, delete", async () => {
  const c = await api.createClient({ name: "svc", scopes: ["read", "write"], token_ttl: 120 });
  assert.match(c.client_id, /^[A-Za-z0-9_-]{22}$/);
  assert.match(c.client_secret, /^[A-Za-z0-9_-]{43}$/, "256-bit secret, base64url");
  assert.equal(c.token_ttl, 120);
  assert.equal(c.max_lifetime, 86400);
  assert.equal(c.expiry, "sliding");
  assert.equal(c.ip_binding, true);

  const got = await api.admin("GET", `/admin/clients/${c.client_id}`);
  assert.equal(got.status, 200);
  assert.equal(got.json.name, "svc");
  assert.ok(!got.text.includes(c.client_secret) && !got.text.includes("secret"), "no secret or hash in GET");

  const list = await api.admin("GET", "/admin/clients");
  assert.equal(list.status, 200);
  assert.ok(list.json.clients.some((x) => x.client_id === c.client_id));
  assert.ok(!list.text.includes("secret"));

  const patched = await api.admin("PATCH", `/admin/clients/${c.client_id}`, { scopes: ["read"], token_ttl: 60 });
  assert.equal(patched.status, 200);
  assert.deepEqual(patched.json.scopes, ["read"]);
  assert.equal(patched.json.token_ttl, 60);

  const disabled = await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: true });
  assert.equal(disabled.json.disabled, true);
  assert.equal((await api.token(c.client_id, c.client_secret)).status, 401);
  await api.admin("PATCH", `/admin/clients/${c.client_id}`, { disabled: false });
  assert.equal((await api.token(c.client_id, c.client_secret)).status, 200);

  const rotated = await api.admin("POST", `/admin/clients/${c.client_id}/secret`, { grace: 60 });
  assert.equal(rotated.status, 201);
  assert.notEqual(rotated.json.client_secret, c.client_secret);
  assert.equal((await api.token(c.client_id, c.client_secret)).status, 200, "old secret works in grace");
  assert.equal((await api.token(c.client_id, rotated.json.client_secret)).status, 200);
  const again = await api.admin("POST", `/admin/clients/${c.client_id}/secret`);
  assert.equal(again.status, 201);
  assert.equal((await api.token(c.client_id, rotated.json.client_secret)).status, 401, "no grace: old secret dead");
  assert.equal((await api.token(c.client_id, again.json.client_secret)).status, 200);

  assert.equal((await api.admin("DELETE", `/admin/clients/${c.client_id}`)).status, 204);
  assert.equal((await api.admin("GET", `/admin/clients/${c.client_id}`)).status, 404);
  assert.equal((await api.token(c.client_id, again.json.client_secret)).status, 401);
});

test("admin API: auth and validation errors", async () => {
  assert.equal((await api.call("GET", "/admin/clients")).status, 401);
  assert.equal((await api.call("GET", "/admin/clients", { headers: { authorization: "Bearer nope" } })).status, 401);
  const bad = await api.admin("POST", "/admin/clients", { name: "x", token_ttl: "300" });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, "token_ttl");
  const noName = await api.admin("POST", "/admin/clients", {});
  assert.equal(noName.json.field, "name");
  assert.equal((await api.admin("POST", "/admin/clients", "{not json")).status, 400);
  assert.equal((await api.admin("PATCH", "/admin/clients/unknown", { name: "y" })).status, 404);
});

test("admin API answers 404 to everything without ADMIN_TOKEN", async () => {
  // An empty value counts as unset (and overrides a developer's .dev.vars).
  const w = await startWorker({ vars: { ADMIN_TOKEN: "" } });
  try {
    const r = await clientFor(w.url).admin("GET", "/admin/clients");
    assert.equal(r.status, 404);
  } finally {
    await w.destroy();
  }
});

test("POST /token with client_secret_basic: every field and header", async () => {
  const c = await api.createClient({ scopes: ["read", "write"] });
  const before = Date.now();
  const r = await api.token(c.client_id, c.client_secret);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers.get("content-type"), "application/json");
  assertNoStore(r);
  const b = r.json;
  assert.equal(b.token_type, "Bearer");
  assert.equal(typeof b.expires_in, "number");
  assert.equal(b.expires_in, 300);
  assert.equal(typeof b.issued_at, "number");
  assert.ok(b.issued_at >= before - 5000 && b.issued_at <= Date.now() + 5000, "issued_at is ms since the epoch");
  assert.equal(b.scope, "read write");
  assert.equal(b.refresh_token, undefined);
  assert.ok(b.access_token.split(".")[1].length >= 43, "at least 256 bits of randomness");
  assert.deepEqual(Object.keys(b).sort(), ["access_token", "expires_in", "issued_at", "scope", "token_type"]);

  const narrowed = await api.token(c.client_id, c.client_secret, { scope: "write" });
  assert.equal(narrowed.json.scope, "write");
  // /token/ is the same endpoint (seed 004).
  const slash = await api.call("POST", "/token/", {
    headers: { ...FORM, authorization: api.basic(c.client_id, c.client_secret) },
    body: "grant_type=client_credentials",
  });
  assert.equal(slash.status, 200);
});

test("POST /token with client_secret_post and a charset", async () => {
  const c = await api.createClient();
  const r = await api.call("POST", "/token", {
    headers: { "content-type": "application/x-www-form-urlencoded; charset=utf-8" },
    body: `grant_type=client_credentials&client_id=${c.client_id}&client_secret=${c.client_secret}`,
  });
  assert.equal(r.status, 200, r.text);
  assertNoStore(r);
  assert.equal(r.json.scope, undefined, "no scopes, no scope field");
});

test("POST /token errors (RFC 6749 §5.2)", async () => {
  const c = await api.createClient({ scopes: ["read"] });
  const basic = api.basic(c.client_id, c.client_secret);
  const ok = "grant_type=client_credentials";
  const cases = [
    ["GET", { authorization: basic }, undefined, 405, "method_not_allowed"],
    ["POST", { authorization: basic, "content-type": "application/json" }, ok, 400, "invalid_request"],
    ["POST", { authorization: basic }, undefined, 400, "invalid_request"],
    ["POST", { authorization: basic, ...FORM }, "", 400, "invalid_request"],
    ["POST", { authorization: basic, ...FORM }, ok + "&" + ok, 400, "invalid_request"],
    ["POST", { authorization: basic, ...FORM }, "grant_type=password", 400, "unsupported_grant_type"],
    ["POST", { authorization: basic, ...FORM }, "grant_type=authorization_code&code=x", 400, "unauthorized_client"],
    ["POST", { authorization: basic, ...FORM }, ok + "&scope=admin", 400, "invalid_scope"],
    ["POST", { authorization: api.basic(c.client_id, "wrong"), ...FORM }, ok, 401, "invalid_client"],
    ["POST", { authorization: api.basic("unknown-client", "wrong"), ...FORM }, ok, 401, "invalid_client"],
    ["POST", { ...FORM }, ok, 401, "invalid_client"],
    ["POST", { authorization: basic, ...FORM }, `${ok}&client_id=${c.client_id}&client_secret=${c.client_secret}`, 400, "invalid_request"],
  ];
  for (const [method, headers, body, status, error] of cases) {
    const r = await api.call(method, "/token", { headers, body });
    assert.equal(r.status, status, `${method} ${JSON.stringify(headers)} ${body}: ${r.text}`);
    assert.equal(r.json.error, error);
    assert.equal(typeof r.json.error_description, "string");
    assertNoStore(r);
    assert.equal(r.headers.get("content-type"), "application/json");
    if (status === 405) assert.equal(r.headers.get("allow"), "POST");
  }
  // The unauthorized_client case: a client not allowed the grant.
  const keysOnly = await api.createClient({ grant_types: [], api_key: true });
  const u = await api.token(keysOnly.client_id, keysOnly.client_secret);
  assert.equal(u.status, 400);
  assert.equal(u.json.error, "unauthorized_client");
});

test("invalid_client: Basic challenge only for header auth; unknown and wrong identical", async () => {
  const c = await api.createClient();
  const wrong = await api.token(c.client_id, "wrong-secret");
  const unknown = await api.token("no-such-client", "wrong-secret");
  assert.equal(wrong.status, 401);
  assert.equal(wrong.headers.get("www-authenticate"), 'Basic realm="edge-oauth"');
  assert.equal(wrong.text, unknown.text);
  assert.equal(unknown.headers.get("www-authenticate"), wrong.headers.get("www-authenticate"));
  const post = (id) => api.call("POST", "/token", {
    headers: FORM, body: `grant_type=client_credentials&client_id=${id}&client_secret=nope`,
  });
  const [p1, p2] = [await post(c.client_id), await post("no-such-client")];
  assert.equal(p1.status, 401);
  assert.equal(p1.headers.get("www-authenticate"), null);
  assert.equal(p1.text, p2.text);
});

test("metadata (RFC 8414): every advertised endpoint answers, and it may be cached", async () => {
  const r = await api.call("GET", "/.well-known/oauth-authorization-server");
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("content-type"), "application/json");
  assert.equal(r.headers.get("cache-control"), "public, max-age=300");
  assert.equal(r.json.issuer, worker.url);
  assert.deepEqual(r.json.grant_types_supported, ["client_credentials", "authorization_code", "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"]);
  assert.deepEqual(r.json.token_endpoint_auth_methods_supported, ["client_secret_basic", "client_secret_post", "none"]);
  const endpoints = Object.entries(r.json).filter(([k]) => k.endsWith("_endpoint"));
  assert.deepEqual(endpoints.map(([k]) => k).sort(),
    ["authorization_endpoint", "device_authorization_endpoint", "introspection_endpoint", "revocation_endpoint", "token_endpoint"]);
  for (const [name, where] of endpoints) {
    assert.ok(where.startsWith(worker.url + "/"), `${name}: ${where}`);
    const path = where.slice(worker.url.length);
    if (name === "authorization_endpoint") {
      // A person's endpoint: without a client it answers with an HTML error page, not a 404.
      const page = await api.call("GET", path);
      assert.equal(page.status, 400, name);
      assert.match(page.headers.get("content-type"), /^text\/html/);
      continue;
    }
    // A client's endpoint: an unauthenticated POST gets its own 401, not a 404.
    const answer = await api.call("POST", path, {
      headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=x&grant_type=client_credentials",
    });
    assert.equal(answer.status, 401, `${name} answers`);
    assert.equal(answer.json.error, "invalid_client", name);
  }
});

test("metadata: the ISSUER setting names the issuer and every endpoint", async () => {
  const other = await startWorker({ vars: { ADMIN_TOKEN: ADMIN, ISSUER: "https://auth.example.com/" } });
  try {
    const r = await clientFor(other.url).call("GET", "/.well-known/oauth-authorization-server");
    assert.equal(r.json.issuer, "https://auth.example.com");
    for (const [k, v] of Object.entries(r.json).filter(([k]) => k.endsWith("_endpoint"))) {
      assert.ok(v.startsWith("https://auth.example.com/"), `${k}: ${v}`);
    }
  } finally {
    await other.destroy();
  }
});
