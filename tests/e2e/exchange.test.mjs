// Issue 13: token exchange (RFC 8693) through the real runtime, with a local identity provider
// started by this test: its JWKS served over HTTP, its keys and JWTs made with `jose`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import * as jose from "jose";
import { startWorker, clientFor, formClient, createUser, codeFlow, uniq, sleep } from "./harness.mjs";

const EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const AT = "urn:ietf:params:oauth:token-type:access_token";
const JWT = "urn:ietf:params:oauth:token-type:jwt";
const ISS = "https://idp.test";
const IP = "198.51.100.80";

let worker, api, idp, jwksUrl, fetches = 0;
/** The IdP's signing keys: what its JWKS publishes is `published`. */
const keys = {};
let published = [];

before(async () => {
  keys.rsa = await jose.generateKeyPair("RS256", { extractable: true });
  keys.ec = await jose.generateKeyPair("ES256", { extractable: true });
  keys.rsa2 = await jose.generateKeyPair("RS256", { extractable: true });
  const jwk = async (k, kid, alg) => ({ ...(await jose.exportJWK(k.publicKey)), kid, alg, use: "sig" });
  keys.jwks = { rsa: await jwk(keys.rsa, "rsa-1", "RS256"), ec: await jwk(keys.ec, "ec-1", "ES256"), rsa2: await jwk(keys.rsa2, "rsa-2", "RS256") };
  published = [keys.jwks.rsa, keys.jwks.ec];
  idp = createServer((req, res) => {
    fetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: published }));
  });
  await new Promise((r) => idp.listen(0, "127.0.0.1", r));
  jwksUrl = `http://127.0.0.1:${idp.address().port}/jwks.json`;
  worker = await startWorker();
  api = clientFor(worker.url, { ip: IP });
  const r = await api.admin("POST", "/admin/issuers", { issuer: ISS, jwks_uri: jwksUrl, audience: "edge-oauth" });
  assert.equal(r.status, 201, r.text);
});
after(async () => {
  await worker?.destroy();
  await new Promise((r) => idp?.close(r));
});

async function sign(claims = {}, { key = keys.rsa, kid = "rsa-1", alg = "RS256" } = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new jose.SignJWT({ sub: "ext-user-42", aud: "edge-oauth", ...claims })
    .setProtectedHeader({ alg, kid })
    .setIssuer(claims.iss ?? ISS)
    .setIssuedAt(now)
    .setExpirationTime(claims.exp ?? now + 600)
    .sign(key.privateKey);
}

async function actor() {
  const c = await api.createClient({ name: uniq("svc-"), scopes: ["read", "write"], grant_types: ["client_credentials", EXCHANGE] });
  return { client: c, token: await api.accessToken(c) };
}

/** Seed 004's request, exactly: the client's token in Authorization with no scheme and as actor_token. */
const exchange = (own, subject, { subjectType = AT, extra = "", auth = own } = {}) =>
  api.call("POST", "/token", {
    headers: { authorization: auth, "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=${EXCHANGE}&actor_token_type=${AT}&actor_token=${own}&subject_token_type=${subjectType}&subject_token=${subject}${extra}`,
  });

test("seed 004's exchange as written, and with Bearer", async () => {
  const { client, token } = await actor();
  const subject = await sign();
  const r = await exchange(token, subject);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.issued_token_type, AT);
  assert.equal(r.json.token_type, "Bearer");
  assert.equal(r.json.scope, "read write");
  assert.equal(r.headers.get("cache-control"), "no-store");
  const who = await api.call("GET", "/validate", { headers: { authorization: r.json.access_token } });
  assert.equal(who.status, 200, who.text);
  assert.equal(who.json.sub, "ext-user-42");
  assert.equal(who.json.subject_issuer, ISS);
  assert.deepEqual(who.json.act, { sub: client.client_id });
  const bearer = await exchange(token, await sign({}, { key: keys.ec, kid: "ec-1", alg: "ES256" }), { subjectType: JWT, auth: `Bearer ${token}` });
  assert.equal(bearer.status, 200, bearer.text);
});

test("key rotation: a new kid is fetched, at most once a minute (sleeps 61 s)", async () => {
  const { token } = await actor();
  published = [keys.jwks.rsa, keys.jwks.ec, keys.jwks.rsa2];
  // The keys were fetched moments ago (the test before): within the minute, no refetch.
  const before = fetches;
  const early = await exchange(token, await sign({}, { key: keys.rsa2, kid: "rsa-2" }));
  assert.equal(early.json.error, "invalid_grant");
  assert.equal(fetches, before, "an unknown kid does not refetch within a minute of the last fetch");
  await sleep(61_000);
  const { token: fresh } = await actor();
  const r = await exchange(fresh, await sign({}, { key: keys.rsa2, kid: "rsa-2" }));
  assert.equal(r.status, 200, r.text);
  assert.equal(fetches, before + 1, "one refetch for the new kid");
});

/** An ES256 JWT with exactly this header, signed with the IdP's EC key (jose refuses to sign a `crit` it does not know). */
async function signRaw(header, claims) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.ec.privateKey, new TextEncoder().encode(input));
  return `${input}.${Buffer.from(sig).toString("base64url")}`;
}

test("refusals: bad signature, expired, not yet valid, wrong issuer, wrong audience, alg none, HS256 with the RSA public key, crit, exp past all dates", async () => {
  const { token } = await actor();
  const now = Math.floor(Date.now() / 1000);
  const good = await sign();
  const rsaPublicPem = await jose.exportSPKI(keys.rsa.publicKey);
  const hs256 = await new jose.SignJWT({ sub: "x", aud: "edge-oauth" }).setProtectedHeader({ alg: "HS256", kid: "rsa-1" })
    .setIssuer(ISS).setExpirationTime(now + 600).sign(new TextEncoder().encode(rsaPublicPem));
  const none = new jose.UnsecuredJWT({ sub: "x", aud: "edge-oauth" }).setIssuer(ISS).setExpirationTime(now + 600).encode();
  const cases = {
    "bad signature": good.slice(0, -4) + (good.endsWith("AAAA") ? "BBBB" : "AAAA"),
    expired: await sign({ exp: now - 120 }),
    "not yet valid": await sign({ nbf: now + 600 }),
    "wrong issuer": await sign({ iss: "https://evil.test" }),
    "wrong audience": await sign({ aud: "someone-else" }),
    "alg none": none,
    "HS256 signed with the RSA public key": hs256,
    "another issuer's key": await new jose.SignJWT({ sub: "x", aud: "edge-oauth" }).setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .setIssuer(ISS).setExpirationTime(now + 600).sign((await jose.generateKeyPair("RS256")).privateKey),
    // RFC 7515 §4.1.11: we understand no extension, so any `crit`, even null or empty, is refused.
    "crit null": await signRaw({ alg: "ES256", kid: "ec-1", crit: null }, { iss: ISS, sub: "x", aud: "edge-oauth", exp: now + 600 }),
    "crit empty": await signRaw({ alg: "ES256", kid: "ec-1", crit: [] }, { iss: ISS, sub: "x", aud: "edge-oauth", exp: now + 600 }),
    "exp past the year 9999": await sign({ exp: 1e20 }),
    "exp whose milliseconds wrap a u64": await sign({ exp: 18446744073709552 }),
  };
  for (const [name, subject] of Object.entries(cases)) {
    const r = await exchange(token, subject);
    assert.equal(r.status, 400, `${name}: ${r.text}`);
    assert.equal(r.json.error, "invalid_grant", name);
  }
});

test("a 100 KB JWT is refused before parsing; audience or resource is invalid_target; no grant is unauthorized_client", async () => {
  const { token } = await actor();
  const big = await sign({ pad: "x".repeat(100 * 1024) });
  const r = await exchange(token, big);
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "invalid_request", "the body is over the 8 KiB limit");
  for (const extra of ["&audience=https://api.example", "&resource=https://api.example"]) {
    const t = await exchange(token, await sign(), { extra });
    assert.equal(t.status, 400);
    assert.equal(t.json.error, "invalid_target", extra);
  }
  const plain = await api.createClient({ scopes: ["read"] });
  const own = await api.accessToken(plain);
  const u = await exchange(own, await sign());
  assert.equal(u.status, 400);
  assert.equal(u.json.error, "unauthorized_client");
});

test("the new token never outlives the subject, and scope only narrows", async () => {
  const { token } = await actor();
  const now = Math.floor(Date.now() / 1000);
  const r = await exchange(token, await sign({ exp: now + 30 }), { extra: "&scope=read" });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.expires_in <= 30, `expires_in ${r.json.expires_in}`);
  assert.equal(r.json.scope, "read");
  assert.equal((await exchange(token, await sign(), { extra: "&scope=admin" })).json.error, "invalid_scope");
});

test("an unreachable JWKS is a clean invalid_grant, never a hang", async () => {
  const c = await api.admin("POST", "/admin/issuers", { issuer: "https://down.test", jwks_uri: "http://127.0.0.1:9/jwks.json", audience: "x" });
  assert.equal(c.status, 201);
  const { token } = await actor();
  const started = Date.now();
  const r = await exchange(token, await sign({ iss: "https://down.test", aud: "x" }));
  assert.equal(r.status, 400, r.text);
  assert.equal(r.json.error, "invalid_grant");
  assert.ok(Date.now() - started < 10_000);
});

test("an edge-oauth user token as subject: subject_issuer is our issuer; the token dies with the user", async () => {
  const { token } = await actor();
  const user = await createUser(api);
  const web = await api.createClient({ name: uniq("web-"), scopes: ["read"], grant_types: ["authorization_code"], redirect_uris: ["https://app.example/cb"] });
  const { token: t } = await codeFlow(api, formClient(worker.url, { ip: IP }), worker.url, { client: web, user });
  const r = await exchange(token, t.json.access_token);
  assert.equal(r.status, 200, r.text);
  const who = await api.validate(r.json.access_token);
  assert.equal(who.json.sub, user.user_id);
  assert.equal(who.json.subject_issuer, worker.url);
  await api.admin("PATCH", `/admin/users/${user.user_id}`, { disabled: true });
  assert.equal((await api.validate(r.json.access_token)).status, 401);
});

test("/admin/issuers: create, list, read, duplicate, bad URLs, no audience, delete", async () => {
  // RFC 8725 §3.9: an issuer without an audience would let any of its JWTs pass.
  for (const audience of [undefined, null, "", 5]) {
    const r = await api.admin("POST", "/admin/issuers", { issuer: "https://other.test", jwks_uri: "https://other.test/jwks", audience });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error, "invalid_request");
    assert.equal(r.json.field, "audience", `audience ${audience}`);
  }
  const c = await api.admin("POST", "/admin/issuers", { issuer: "https://other.test", jwks_uri: "https://other.test/jwks", audience: "edge-oauth" });
  assert.equal(c.status, 201);
  const id = c.json.issuer_id;
  assert.ok((await api.admin("GET", "/admin/issuers")).json.issuers.some((i) => i.issuer_id === id));
  assert.equal((await api.admin("GET", `/admin/issuers/${id}`)).json.issuer, "https://other.test");
  assert.equal((await api.admin("POST", "/admin/issuers", { issuer: "https://other.test", jwks_uri: "https://other.test/jwks", audience: "edge-oauth" })).status, 409);
  assert.equal((await api.admin("POST", "/admin/issuers", { issuer: "https://x.test", jwks_uri: "http://x.test/jwks", audience: "edge-oauth" })).json.field, "jwks_uri");
  assert.equal((await api.admin("DELETE", `/admin/issuers/${id}`)).status, 204);
  assert.equal((await api.admin("GET", `/admin/issuers/${id}`)).status, 404);
});
