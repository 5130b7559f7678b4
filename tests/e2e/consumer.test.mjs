// Issue 3: a second Worker validates tokens over a service binding, both Workers under one
// `wrangler dev` (several -c configs). The consumer is also an RFC 9728 protected resource.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import * as oauth from "oauth4webapi";
import { startWorker, clientFor, freePort, parseChallenges } from "./harness.mjs";

let worker, api, c, limited, other, port, resource, metadataUrl;
before(async () => {
  // The consumer's resource identifier is its origin (no RESOURCE var): known before it starts,
  // so the clients can name it among their `resources` (RFC 8707; edge-oauth then binds and
  // checks their tokens' audience).
  port = await freePort();
  resource = `http://127.0.0.1:${port}`;
  metadataUrl = `${resource}/.well-known/oauth-protected-resource`;
  // Create clients with a plain edge-oauth session, then serve the consumer on the same local
  // state: the consumer is on the port, edge-oauth behind its AUTH binding.
  const admin = await startWorker();
  try {
    c = await clientFor(admin.url).createClient({ scopes: ["read"], api_key: true, resources: [resource] });
    limited = await clientFor(admin.url).createClient({ scopes: ["read"], rate_limit: 2, resources: [resource] });
    other = await clientFor(admin.url).createClient({ scopes: ["read"], resources: [resource, "https://other.example"] });
  } finally {
    await admin.stop();
  }
  worker = await startWorker({ configs: ["examples/consumer/wrangler.toml", "wrangler.toml"], state: admin.stateDir, port });
  assert.equal(worker.url, resource);
  api = clientFor(worker.url, { ip: "198.51.100.20" });
});
after(async () => worker && (await worker.destroy(true)));

/** The one Bearer challenge of a response (RFC 6750 §3: one challenge, all parameters in it). */
function bearerChallenge(r) {
  const all = parseChallenges(r.headers.get("www-authenticate"));
  assert.equal(all.length, 1, `one challenge: ${r.headers.get("www-authenticate")}`);
  assert.equal(all[0].scheme, "bearer");
  return all[0].params;
}

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
  assert.equal(none.headers.get("www-authenticate"), `Bearer realm="edge-oauth", resource_metadata="${metadataUrl}"`);

  const bad = await api.call("GET", "/api/hello", { headers: { authorization: `Bearer ${c.client_id}.${"x".repeat(43)}` } });
  assert.equal(bad.status, 401);
  assert.equal(bad.headers.get("www-authenticate"), `Bearer realm="edge-oauth", error="invalid_token", resource_metadata="${metadataUrl}"`);

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

// ---- RFC 9728: the consumer as a protected resource ------------------------------------------

test("RFC 9728: the protected resource metadata names the resource, edge-oauth as its authorization server, scopes and bearer methods", async () => {
  const r = await api.call("GET", "/.well-known/oauth-protected-resource");
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get("content-type"), /^application\/json\b/);
  assert.match(r.headers.get("cache-control"), /max-age=\d+/);
  assert.deepEqual(r.json, {
    resource,
    authorization_servers: [resource],
    scopes_supported: ["read", "write"],
    bearer_methods_supported: ["header"],
  });
  // The resource is a bare origin: its metadata is at the root well-known URI only (§3.1).
  assert.equal((await api.call("GET", "/.well-known/oauth-protected-resource/api")).status, 404);

  // The listed authorization server is real: its RFC 8414 metadata (passed through on this port
  // in development) has that issuer, as a certified client library checks (RFC 8414 §3.3).
  const issuer = new URL(r.json.authorization_servers[0]);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", [oauth.allowInsecureRequests]: true }));
  assert.equal(as.issuer, r.json.authorization_servers[0]);
  // And the resource's own metadata passes oauth4webapi's RFC 9728 §3.3 check (resource identical).
  const rs = await oauth.processResourceDiscoveryResponse(new URL(resource), await oauth.resourceDiscoveryRequest(new URL(resource), { [oauth.allowInsecureRequests]: true }));
  assert.deepEqual(rs.authorization_servers, [resource]);
});

test("RFC 9728 §5.1: a 401 without a token names the metadata URL, and that URL serves the document for this resource", async () => {
  const none = await api.call("GET", "/api/hello");
  assert.equal(none.status, 401);
  const params = bearerChallenge(none);
  assert.equal(params.realm, "edge-oauth", "edge-oauth's realm is kept");
  assert.equal(params.error, undefined, "no error code without credentials (RFC 6750 §3.1)");
  assert.equal(params.resource_metadata, metadataUrl);
  assert.ok(new URL(params.resource_metadata).protocol.startsWith("http"), "an absolute URL");

  const doc = await fetch(params.resource_metadata);
  assert.equal(doc.status, 200);
  const json = await doc.json();
  // The document describes the API that answered (its origin; RFC 9728 §3.3 wants an exact match
  // with the URL called, which tests/browser/mcp.test.mjs shows with RESOURCE set to that URL).
  assert.equal(json.resource, resource);
  assert.deepEqual(json.authorization_servers, [resource]);
});

test("RFC 9728 §5.1 with RFC 6750 §3: a bad token keeps error=\"invalid_token\" and adds resource_metadata, in one Bearer challenge", async () => {
  const bad = await api.call("GET", "/api/hello", { headers: { authorization: `Bearer ${c.client_id}.${"x".repeat(43)}` } });
  assert.equal(bad.status, 401);
  assert.equal(bad.json.error, "invalid_token");
  const params = bearerChallenge(bad);
  assert.equal(params.error, "invalid_token");
  assert.equal(params.resource_metadata, metadataUrl);

  // oauth4webapi, a certified client, reads the same one challenge.
  await assert.rejects(
    oauth.protectedResourceRequest(`${c.client_id}.${"y".repeat(43)}`, "GET", new URL(`${resource}/api/hello`), new Headers({ "cf-connecting-ip": "198.51.100.20" }), null, { [oauth.allowInsecureRequests]: true }),
    (e) => {
      assert.ok(e instanceof oauth.WWWAuthenticateChallengeError, String(e));
      assert.equal(e.cause.length, 1);
      assert.equal(e.cause[0].scheme, "bearer");
      assert.equal(e.cause[0].parameters.error, "invalid_token");
      assert.equal(e.cause[0].parameters.resource_metadata, metadataUrl);
      return true;
    },
  );

  // A token lacking the route's scope: 403 insufficient_scope, with the metadata too (the MCP
  // authorization spec's scope challenge keeps resource_metadata, for consistency with 401).
  const t = await api.accessToken(c, { scope: "read" });
  const write = await api.call("POST", "/api/hello", { headers: { authorization: `Bearer ${t}` }, body: "x" });
  assert.equal(write.status, 403);
  const p403 = bearerChallenge(write);
  assert.equal(p403.error, "insufficient_scope");
  assert.equal(p403.scope, "write");
  assert.equal(p403.resource_metadata, metadataUrl);

  // API keys and other 4xx keep working: a 200 with a key, and no challenge change on success.
  const key = await api.call("GET", `/api/hello?key=${c.client_id}`);
  assert.equal(key.status, 200, key.text);
  assert.equal(key.headers.get("www-authenticate"), null);
});

test("RFC 8707: a token bound to another resource is refused, as Bearer over RPC and as a bare token over HTTP", async () => {
  const tok = await api.token(other.client_id, other.client_secret, { extra: "&resource=https%3A%2F%2Fother.example" });
  assert.equal(tok.status, 200, tok.text);
  const t = tok.json.access_token;
  for (const authorization of [`Bearer ${t}`, t]) {
    const r = await api.call("GET", "/api/hello", { headers: { authorization } });
    assert.equal(r.status, 401, `${authorization.slice(0, 7)}…: ${r.text}`);
    assert.equal(bearerChallenge(r).error, "invalid_token");
  }
  const mine = (await api.token(other.client_id, other.client_secret, { extra: `&resource=${encodeURIComponent(resource)}` })).json.access_token;
  for (const authorization of [`Bearer ${mine}`, mine]) {
    assert.equal((await api.call("GET", "/api/hello", { headers: { authorization } })).status, 200, "bound to this resource");
  }
});
