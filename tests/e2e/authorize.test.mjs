// Seed 004, the authorization code grant through the real runtime: client settings, GET
// /authorize and its errors, the login and consent pages (driven by formClient, no browser),
// POST /token with grant_type=authorization_code, who the token is for, the metadata, and the
// same flow through the certified client library oauth4webapi.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { performance } from "node:perf_hooks";
import * as oauth from "oauth4webapi";
import {
  startWorker, clientFor, formClient, request, ADMIN, sleep, uniq, pkce, authorizePath, pathOf, htmlText,
  formsOf, loginFormOf, consentFormOf, submitForm, authorizeAs, redirectQuery, redeemCode, createUser,
} from "./harness.mjs";

const HOME_IP = "203.0.113.80";
const REDIRECT = "https://app.example/cb";
const WINDOW_S = 4;
const LIMIT_IP = 5;
const LIMIT_USER = 4;

// worker: failure limits out of the way. limited: small login-failure limits (the same worker
// variables as client authentication: the contract says login uses the same limits and window).
let worker, limited, api, ISSUER, meta;

before(async () => {
  [worker, limited] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", AUTH_FAILURES_PER_CLIENT: "100000" } }),
    startWorker({
      vars: {
        ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: String(LIMIT_IP), AUTH_FAILURES_PER_CLIENT: String(LIMIT_USER),
        AUTH_FAILURE_WINDOW_SECONDS: String(WINDOW_S),
      },
    }),
  ]);
  api = clientFor(worker.url, { ip: HOME_IP });
  const m = await api.call("GET", "/.well-known/oauth-authorization-server");
  assert.equal(m.status, 200);
  meta = m.json;
  ISSUER = meta.issuer;
});
after(async () => {
  await Promise.all([worker?.destroy(), limited?.destroy()]);
});

// ---- helpers --------------------------------------------------------------------------------

let ipSeq = 0;
/** A fresh address for each browser-like client, so failure counters never meet by accident. */
const nextIp = () => {
  ipSeq++;
  return `198.18.${50 + Math.floor(ipSeq / 250)}.${(ipSeq % 250) + 1}`;
};
const browser = (w = worker) => formClient(w.url, { ip: nextIp() });

/** A public client with the code grant (settings on top). */
const publicClient = (settings = {}, a = api) =>
  a.createClient({ name: uniq("app-"), client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], scopes: ["read", "write"], ...settings });
const confidentialClient = (settings = {}, a = api) =>
  a.createClient({ name: uniq("web-"), grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT], scopes: ["read", "write"], ...settings });

/** An authorization request for `client`; `null` in `overrides` leaves a parameter out. */
function authReq(client, overrides = {}) {
  const { verifier, challenge } = pkce();
  const params = {
    response_type: "code", client_id: client.client_id, redirect_uri: client.redirect_uris?.[0], scope: "read",
    state: uniq("st-"), code_challenge: challenge, code_challenge_method: "S256", ...overrides,
  };
  for (const k of Object.keys(params)) if (params[k] === null) delete params[k];
  return { path: authorizePath(params), verifier, params };
}

/** Approve `path` as `user` with `fc`; returns the code and the redirect. */
async function approve(fc, path, user, w = worker) {
  const r = await authorizeAs(fc, w.url, path, { username: user.username, password: user.password });
  assert.equal(r.status, 302, `approving ${path}: expected 302 to the client, got ${r.status} ${r.location ?? ""} ${r.text.slice(0, 200)}`);
  const q = redirectQuery(r);
  assert.ok(q.get("code"), `a code in ${r.location}`);
  return { code: q.get("code"), q, r };
}

/** A fresh code for `client` as `user` (new formClient unless given). */
async function freshCode(client, user, { fc = browser(), overrides = {} } = {}) {
  const req = authReq(client, overrides);
  const { code, r } = await approve(fc, req.path, user);
  return { code, verifier: req.verifier, redirect_uri: req.params.redirect_uri, fc, r };
}

const FORM = { "content-type": "application/x-www-form-urlencoded" };
const INVALID_TOKEN = 'Bearer realm="edge-oauth", error="invalid_token"';

/** The HTML 400 page of a request that must never redirect. */
function assertErrorPage(r, label) {
  assert.equal(r.status, 400, `${label}: expected the HTML 400 page, got ${r.status} ${r.location ?? ""}`);
  assert.equal(r.headers.get("location"), null, `${label}: never a redirect (no Location), got ${r.headers.get("location")}`);
  assert.match(r.headers.get("content-type") ?? "", /^text\/html/, `${label}: an HTML page`);
  assertPageHeaders(r, label);
}

/** Headers every page carries. */
function assertPageHeaders(r, label) {
  const xfo = (r.headers.get("x-frame-options") ?? "").trim().toUpperCase();
  const csp = r.headers.get("content-security-policy") ?? "";
  assert.ok(xfo === "DENY" || /frame-ancestors\s+'none'/.test(csp), `${label}: X-Frame-Options: DENY or CSP frame-ancestors 'none' (got XFO ${JSON.stringify(xfo)}, CSP ${JSON.stringify(csp)})`);
  assert.match(r.headers.get("cache-control") ?? "", /(^|,)\s*no-store\s*(,|$)/, `${label}: Cache-Control: no-store`);
}

/** An error redirect to `redirectUri` with `error` (one of a list), `error_description`, `state` and `iss`. */
function assertErrorRedirect(r, redirectUri, errors, state, label) {
  errors = [].concat(errors);
  assert.ok([302, 303].includes(r.status), `${label}: expected a redirect to the client with error=${errors.join("|")}, got ${r.status} ${r.text.slice(0, 200)}`);
  const loc = r.headers.get("location") ?? "";
  assert.ok(loc.startsWith(redirectUri + "?"), `${label}: redirected to the redirect URI ${redirectUri}, got ${loc}`);
  const q = new URL(loc).searchParams;
  assert.ok(errors.includes(q.get("error")), `${label}: error=${errors.join("|")}, got ${q.get("error")} (${loc})`);
  assert.ok((q.get("error_description") ?? "").length > 0, `${label}: an error_description`);
  assert.equal(q.get("state"), state, `${label}: state returned unchanged`);
  assert.equal(q.get("iss"), ISSUER, `${label}: iss is the issuer (RFC 9207)`);
  assert.equal(q.get("code"), null, `${label}: no code`);
}

/** A /token error response. */
function assertTokenError(r, status, errors, label) {
  errors = [].concat(errors);
  assert.equal(r.status, status, `${label}: expected ${status} ${errors.join("|")}, got ${r.status} ${r.text}`);
  assert.ok(errors.includes(r.json?.error), `${label}: error ${errors.join("|")}, got ${r.text}`);
  assert.equal(r.headers.get("cache-control"), "no-store", `${label}: Cache-Control: no-store`);
  assert.equal(r.headers.get("pragma"), "no-cache", `${label}: Pragma: no-cache`);
}

/** A 400 naming `field`, in the clients API's error shape. */
function assert400Field(r, fields, label) {
  fields = [].concat(fields);
  assert.equal(r.status, 400, `${label}: expected 400 naming ${fields.join(" or ")}, got ${r.status} ${r.text}`);
  assert.ok(fields.includes(r.json?.field), `${label}: the error names ${fields.join(" or ")}: ${r.text}`);
}

const scopeSet = (s) => (s ?? "").split(" ").filter(Boolean).sort();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// ---- metadata --------------------------------------------------------------------------------

test("metadata (RFC 8414): authorization and device endpoints, code + S256 only, every grant type, auth method none, iss parameter supported", async () => {
  assert.equal(ISSUER, worker.url, "the issuer is the worker's origin when ISSUER is not set");
  assert.equal(meta.authorization_endpoint, `${ISSUER}/authorize`);
  assert.equal(meta.device_authorization_endpoint, `${ISSUER}/device_authorization`);
  assert.deepEqual(meta.response_types_supported, ["code"]);
  assert.deepEqual(meta.code_challenge_methods_supported, ["S256"]);
  for (const g of ["client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"]) {
    assert.ok(meta.grant_types_supported?.includes(g), `grant_types_supported has ${g}: ${JSON.stringify(meta.grant_types_supported)}`);
  }
  for (const m of ["none", "client_secret_basic", "client_secret_post"]) {
    assert.ok(meta.token_endpoint_auth_methods_supported?.includes(m), `token_endpoint_auth_methods_supported has ${m}`);
  }
  assert.equal(meta.authorization_response_iss_parameter_supported, true);
  assert.equal(meta.token_endpoint, `${ISSUER}/token`, "unchanged");
});

// ---- client settings ---------------------------------------------------------------------------

test("client settings: defaults; a public client gets no client_secret; valid combinations are accepted", async () => {
  const plain = await api.createClient({ name: uniq("defaults-") });
  assert.equal(plain.client_type, "confidential");
  assert.deepEqual(plain.grant_types, ["client_credentials"]);
  assert.deepEqual(plain.redirect_uris, []);
  assert.equal(plain.refresh_token_ttl, 2592000);
  assert.equal(plain.skip_consent, false);
  assert.equal(typeof plain.client_secret, "string");

  const pub = await api.admin("POST", "/admin/clients", {
    name: uniq("spa-"), client_type: "public", grant_types: ["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code"],
    redirect_uris: [REDIRECT], refresh_token_ttl: 60, skip_consent: true,
  });
  assert.equal(pub.status, 201, pub.text);
  assert.ok(!("client_secret" in pub.json), `no client_secret for a public client: ${pub.text}`);
  assert.equal(pub.json.client_type, "public");
  assert.equal(pub.json.refresh_token_ttl, 60);
  assert.equal(pub.json.skip_consent, true);
  const got = await api.admin("GET", `/admin/clients/${pub.json.client_id}`);
  assert.equal(got.json.client_type, "public");
  assert.deepEqual(got.json.redirect_uris, [REDIRECT]);

  for (const ttl of [1, 31536000]) {
    const r = await api.admin("POST", "/admin/clients", { name: uniq("ttl-"), grant_types: ["authorization_code", "refresh_token"], redirect_uris: [REDIRECT], refresh_token_ttl: ttl });
    assert.equal(r.status, 201, `refresh_token_ttl ${ttl}: ${r.text}`);
  }
  const all = await api.admin("POST", "/admin/clients", {
    name: uniq("all-"), grant_types: ["client_credentials", "authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"],
    redirect_uris: [REDIRECT],
  });
  assert.equal(all.status, 201, `a confidential client may have every grant: ${all.text}`);
  const device = await api.admin("POST", "/admin/clients", { name: uniq("tv-"), client_type: "public", grant_types: ["urn:ietf:params:oauth:grant-type:device_code"] });
  assert.equal(device.status, 201, `a public device client needs no redirect URI: ${device.text}`);
});

test("client settings validation: bad client_type, grant_types, refresh_token_ttl, skip_consent and invalid combinations are 400 naming the field", async () => {
  const count = async () => (await api.admin("GET", "/admin/clients")).json.clients.length;
  const before = await count();
  const base = { grant_types: ["authorization_code"], redirect_uris: [REDIRECT] };
  const cases = [
    [{ client_type: "Public" }, "client_type"],
    [{ client_type: "private" }, "client_type"],
    [{ client_type: 1 }, "client_type"],
    [{ client_type: ["public"] }, "client_type"],
    [{ grant_types: ["password"] }, "grant_types"],
    [{ grant_types: ["implicit"] }, "grant_types"],
    [{ grant_types: ["authorization_code", "bogus"] }, "grant_types"],
    [{ grant_types: "authorization_code" }, "grant_types"],
    [{ grant_types: [1] }, "grant_types"],
    [{ refresh_token_ttl: 0 }, "refresh_token_ttl"],
    [{ refresh_token_ttl: 31536001 }, "refresh_token_ttl"],
    [{ refresh_token_ttl: -5 }, "refresh_token_ttl"],
    [{ refresh_token_ttl: 1.5 }, "refresh_token_ttl"],
    [{ refresh_token_ttl: "60" }, "refresh_token_ttl"],
    [{ skip_consent: "true" }, "skip_consent"],
    [{ skip_consent: 1 }, "skip_consent"],
    [{ redirect_uris: REDIRECT }, "redirect_uris"],
    [{ redirect_uris: [5] }, "redirect_uris"],
  ];
  for (const [settings, field] of cases) {
    assert400Field(await api.admin("POST", "/admin/clients", { name: uniq("bad-"), ...base, ...settings }), field, JSON.stringify(settings));
  }
  // Invalid combinations.
  const combos = [
    [{ client_type: "public", grant_types: ["client_credentials"] }, ["grant_types", "client_type"], "public + client_credentials"],
    [{ client_type: "public", grant_types: ["authorization_code", "client_credentials"], redirect_uris: [REDIRECT] }, ["grant_types", "client_type"], "public + code + client_credentials"],
    [{ client_type: "public", grant_types: ["urn:ietf:params:oauth:grant-type:token-exchange"] }, ["grant_types", "client_type"], "public + token exchange"],
    [{ client_type: "public" }, ["grant_types", "client_type"], "public with the default grant (client_credentials)"],
    [{ grant_types: ["authorization_code"] }, "redirect_uris", "authorization_code without redirect_uris"],
    [{ grant_types: ["authorization_code"], redirect_uris: [] }, "redirect_uris", "authorization_code with redirect_uris []"],
    [{ client_type: "public", grant_types: ["authorization_code", "refresh_token"] }, "redirect_uris", "public code client without redirect_uris"],
  ];
  for (const [settings, fields, label] of combos) {
    assert400Field(await api.admin("POST", "/admin/clients", { name: uniq("combo-"), ...settings }), fields, label);
  }
  assert.equal(await count(), before, "no refused request created a client");
});

test("redirect URIs: https, loopback http (127.0.0.1, [::1], localhost, any port) and private-use schemes with a dot are accepted", async () => {
  const good = [
    "https://app.example/cb", "https://app.example:8443/oauth/callback", "https://app.example/cb?tenant=1",
    "http://127.0.0.1/cb", "http://127.0.0.1:8080/cb", "http://[::1]/cb", "http://[::1]:9000/cb", "http://localhost/cb", "http://localhost:3000/cb",
    "com.example.app:/oauth2redirect", "com.example.app:/cb", "io.github.tool://callback",
  ];
  for (const uri of good) {
    const r = await api.admin("POST", "/admin/clients", { name: uniq("good-"), grant_types: ["authorization_code"], redirect_uris: [uri] });
    assert.equal(r.status, 201, `${JSON.stringify(uri)} is an allowed redirect URI: ${r.text}`);
    assert.deepEqual(r.json.redirect_uris, [uri], "stored as given");
  }
  const many = await api.admin("POST", "/admin/clients", { name: uniq("many-"), grant_types: ["authorization_code"], redirect_uris: good });
  assert.equal(many.status, 201, many.text);
});

test("redirect URIs: dangerous schemes, userinfo, fragments, wildcards, non-loopback http, relative and control characters are 400 naming redirect_uris (create and PATCH)", async () => {
  const bad = [
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)", "\tjavascript:alert(1)", "\u0000javascript:alert(1)",
    "java\nscript:alert(1)", "java\tscript:alert(1)", "javascript://app.example/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://app.example/cb",
    "https://good.example@evil.example/cb", "https://user:pass@app.example/cb", "https://@app.example/cb",
    "https://app.example/cb#x", "https://app.example/cb#", "com.example.app:/cb#frag",
    "https://*.example/cb", "https://app.example/*", "*", "https://app.example/cb*",
    "http://app.example/cb", "http://127.0.0.1.evil.example/cb", "http://localhost.evil.example/cb", "http://0.0.0.0/cb",
    "myapp:/cb", "/relative/cb", "app.example/cb", "//app.example/cb", "", "https://", "https:///cb",
    "https://app.example/cb ", " https://app.example/cb", "https://app.example/c\u0000b", "https://app.example/c\nb", "https://app.ex ample/cb",
  ];
  for (const uri of bad) {
    const r = await api.admin("POST", "/admin/clients", { name: uniq("evil-"), grant_types: ["authorization_code"], redirect_uris: [uri] });
    assert400Field(r, "redirect_uris", `create with redirect URI ${JSON.stringify(uri)}`);
  }
  const mixed = await api.admin("POST", "/admin/clients", { name: uniq("mixed-"), grant_types: ["authorization_code"], redirect_uris: [REDIRECT, "javascript:alert(1)"] });
  assert400Field(mixed, "redirect_uris", "one good and one bad redirect URI");
  // PATCH is held to the same rules, and a refused PATCH changes nothing.
  const c = await publicClient();
  for (const uri of ["javascript:alert(1)", "https://good.example@evil.example/cb", "https://app.example/cb#x", "http://app.example/cb", "https://*.example/cb"]) {
    assert400Field(await api.admin("PATCH", `/admin/clients/${c.client_id}`, { redirect_uris: [uri] }), "redirect_uris", `PATCH redirect URI ${JSON.stringify(uri)}`);
  }
  assert.deepEqual((await api.admin("GET", `/admin/clients/${c.client_id}`)).json.redirect_uris, [REDIRECT], "unchanged");
});

test("PATCH: changing client_type is 400 naming client_type; invalid combinations are refused and change nothing; valid changes apply", async () => {
  const conf = await confidentialClient();
  const pub = await publicClient();
  assert400Field(await api.admin("PATCH", `/admin/clients/${conf.client_id}`, { client_type: "public" }), "client_type", "confidential → public");
  assert400Field(await api.admin("PATCH", `/admin/clients/${pub.client_id}`, { client_type: "confidential" }), "client_type", "public → confidential");
  assert400Field(await api.admin("PATCH", `/admin/clients/${pub.client_id}`, { grant_types: ["authorization_code", "client_credentials"] }), ["grant_types", "client_type"], "public + client_credentials by PATCH");
  assert400Field(await api.admin("PATCH", `/admin/clients/${pub.client_id}`, { redirect_uris: [] }), "redirect_uris", "removing every redirect URI of a code client");
  const svc = await api.createClient({ name: uniq("svc-") });
  assert400Field(await api.admin("PATCH", `/admin/clients/${svc.client_id}`, { grant_types: ["authorization_code"] }), "redirect_uris", "adding the code grant without redirect URIs");
  assert.equal((await api.admin("GET", `/admin/clients/${conf.client_id}`)).json.client_type, "confidential");
  const p = (await api.admin("GET", `/admin/clients/${pub.client_id}`)).json;
  assert.equal(p.client_type, "public");
  assert.deepEqual(p.grant_types, ["authorization_code"]);
  assert.deepEqual(p.redirect_uris, [REDIRECT]);
  assert.deepEqual((await api.admin("GET", `/admin/clients/${svc.client_id}`)).json.grant_types, ["client_credentials"]);

  const ok = await api.admin("PATCH", `/admin/clients/${pub.client_id}`, { redirect_uris: [REDIRECT, "http://127.0.0.1/cb"], skip_consent: true, grant_types: ["authorization_code", "refresh_token"] });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json.redirect_uris, [REDIRECT, "http://127.0.0.1/cb"]);
  assert.equal(ok.json.skip_consent, true);
  assert.ok(!("client_secret" in ok.json));
});

// ---- GET /authorize: errors ----------------------------------------------------------------

test("GET /authorize: unknown or disabled client, missing client_id, missing or unregistered redirect_uri are an HTML 400 page, never a redirect", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const two = await publicClient({ redirect_uris: [REDIRECT, "https://app.example/other"] });
  const off = await publicClient();
  assert.equal((await api.admin("PATCH", `/admin/clients/${off.client_id}`, { disabled: true })).status, 200);
  const svc = await api.createClient({ name: uniq("svc-"), redirect_uris: [REDIRECT] });

  // A signed-in session must not change any of this.
  const signedIn = browser();
  const consent = await authorizeAs(signedIn, worker.url, authReq(c).path, { ...user, decision: null });
  assert.ok(consentFormOf(consent), "signed in (the consent page of a valid request)");

  const cases = [
    ["unknown client", authReq({ client_id: "AAAAAAAAAAAAAAAAAAAAAA", redirect_uris: [REDIRECT] })],
    ["missing client_id", authReq(c, { client_id: null })],
    ["empty client_id", authReq(c, { client_id: "" })],
    ["disabled client", authReq(off)],
    ["missing redirect_uri, two registered", authReq(two, { redirect_uri: null })],
    ["unregistered redirect_uri", authReq(c, { redirect_uri: "https://evil.example/cb" })],
    ["redirect_uri with a trailing slash", authReq(c, { redirect_uri: REDIRECT + "/" })],
    ["redirect_uri with another case", authReq(c, { redirect_uri: "https://APP.example/cb" })],
    ["redirect_uri with an added query", authReq(c, { redirect_uri: REDIRECT + "?x=1" })],
    ["redirect_uri with a fragment", authReq(c, { redirect_uri: REDIRECT + "#x" })],
    ["redirect_uri with a port (https: exact match)", authReq(c, { redirect_uri: "https://app.example:8443/cb" })],
    ["redirect_uri over http", authReq(c, { redirect_uri: "http://app.example/cb" })],
    ["redirect_uri with userinfo", authReq(c, { redirect_uri: "https://app.example@evil.example/cb" })],
    ["javascript: redirect_uri", authReq(c, { redirect_uri: "javascript:alert(1)" })],
    ["another client's redirect_uri", authReq(c, { redirect_uri: "https://app.example/other" })],
    // Other errors as well: the unusable redirect URI still wins; nothing redirects.
    ["unregistered redirect_uri + response_type=token", authReq(c, { redirect_uri: "https://evil.example/cb", response_type: "token" })],
    ["unregistered redirect_uri + bad scope", authReq(c, { redirect_uri: "https://evil.example/cb", scope: "admin" })],
    ["unregistered redirect_uri + no PKCE", authReq(c, { redirect_uri: "https://evil.example/cb", code_challenge: null })],
    ["unknown client + no response_type", authReq({ client_id: "AAAAAAAAAAAAAAAAAAAAAA", redirect_uris: [REDIRECT] }, { response_type: null })],
    ["disabled client + plain PKCE", authReq(off, { code_challenge_method: "plain" })],
    ["client without the code grant + unregistered redirect_uri", authReq(svc, { redirect_uri: "https://evil.example/cb" })],
  ];
  for (const [label, req] of cases) {
    assertErrorPage(await browser().get(req.path), `${label} (no session)`);
    assertErrorPage(await signedIn.get(req.path), `${label} (signed in)`);
  }
  // The error page does not reflect its input unescaped.
  const xss = await browser().get(authReq(c, { client_id: "<script>alert(1)</script>", redirect_uri: "<img src=x onerror=alert(1)>" }).path);
  assertErrorPage(xss, "a client_id with markup");
  assert.ok(!xss.text.includes("<script>alert(1)</script>") && !xss.text.includes("<img src=x"), "input is escaped on the error page");
});

test("GET /authorize: other errors redirect with error, error_description, state (unchanged) and iss, signed in or not", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const svc = await api.createClient({ name: uniq("svc-"), redirect_uris: [REDIRECT], scopes: ["read"] });
  const signedIn = browser();
  assert.ok(consentFormOf(await authorizeAs(signedIn, worker.url, authReq(c).path, { ...user, decision: null })), "signed in");
  const ch = (n, ch = "A") => ch.repeat(n);
  const cases = [
    ["response_type missing", c, { response_type: null }, ["invalid_request", "unsupported_response_type"]],
    ["response_type=token", c, { response_type: "token" }, "unsupported_response_type"],
    ["response_type=code token", c, { response_type: "code token" }, "unsupported_response_type"],
    ["response_type=CODE", c, { response_type: "CODE" }, "unsupported_response_type"],
    ["client without the authorization_code grant", svc, {}, "unauthorized_client"],
    ["scope outside the client's", c, { scope: "admin" }, "invalid_scope"],
    ["scope partly outside the client's", c, { scope: "read admin" }, "invalid_scope"],
    ["code_challenge missing", c, { code_challenge: null }, "invalid_request"],
    ["code_challenge and method missing", c, { code_challenge: null, code_challenge_method: null }, "invalid_request"],
    ["code_challenge_method=plain", c, { code_challenge_method: "plain" }, "invalid_request"],
    ["code_challenge_method missing", c, { code_challenge_method: null }, "invalid_request"],
    ["code_challenge_method=s256 (case matters)", c, { code_challenge_method: "s256" }, "invalid_request"],
    ["code_challenge_method=S512", c, { code_challenge_method: "S512" }, "invalid_request"],
    ["code_challenge of 42 characters", c, { code_challenge: ch(42) }, "invalid_request"],
    ["code_challenge of 129 characters", c, { code_challenge: ch(129) }, "invalid_request"],
    ["code_challenge empty", c, { code_challenge: "" }, "invalid_request"],
    ["code_challenge with +", c, { code_challenge: ch(42) + "+" }, "invalid_request"],
    ["code_challenge with /", c, { code_challenge: ch(42) + "/" }, "invalid_request"],
    ["code_challenge with = padding", c, { code_challenge: ch(42) + "=" }, "invalid_request"],
    ["code_challenge with a space", c, { code_challenge: ch(21) + " " + ch(21) }, "invalid_request"],
    ["code_challenge with é", c, { code_challenge: ch(42) + "é" }, "invalid_request"],
  ];
  for (const fc of [browser(), signedIn]) {
    const who = fc === signedIn ? "signed in" : "no session";
    for (const [label, client, overrides, errors] of cases) {
      const state = `s &=+?#/é ${uniq()}`;
      const req = authReq(client, { ...overrides, state });
      assertErrorRedirect(await fc.get(req.path), REDIRECT, errors, state, `${label} (${who})`);
    }
    // A repeated parameter (RFC 6749 §3.1: parameters must not be included more than once).
    const state = uniq("rep-");
    const rep = authReq(c, { state });
    assertErrorRedirect(await fc.get(`${rep.path}&code_challenge=${pkce().challenge}`), REDIRECT, "invalid_request", state, `repeated code_challenge (${who})`);
  }
  // No state sent: none comes back (RFC 6749 §4.1.2.1).
  const noState = await browser().get(authReq(c, { state: null, scope: "admin" }).path);
  assert.ok([302, 303].includes(noState.status), `${noState.status}`);
  const q = redirectQuery(noState);
  assert.equal(q.get("error"), "invalid_scope");
  assert.equal(q.has("state"), false, "no state parameter when none was sent");
  assert.equal(q.get("iss"), ISSUER);
});

test("GET /authorize: code_challenge of 43 and 128 characters of the whole RFC 7636 alphabet is accepted", async () => {
  const c = await publicClient();
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
  for (const challenge of [alphabet.slice(0, 43), (alphabet + alphabet).slice(0, 128), alphabet.slice(-43)]) {
    const r = await browser().get(authReq(c, { code_challenge: challenge }).path);
    assert.equal(r.status, 200, `challenge of ${challenge.length} characters: the login page, got ${r.status} ${r.location ?? ""}`);
    assert.ok(loginFormOf(r), "the login page");
  }
});

test("loopback redirect URIs (RFC 8252 §7.3): any port matches; scheme, host and path must still match exactly", async () => {
  const user = await createUser(api);
  const c = await publicClient({ redirect_uris: ["http://127.0.0.1/cb", "http://localhost:8080/callback", "http://[::1]/cb"] });
  for (const uri of ["http://127.0.0.1/cb", "http://127.0.0.1:54321/cb", "http://127.0.0.1:1/cb", "http://localhost:8080/callback", "http://localhost:9999/callback", "http://localhost/callback", "http://[::1]:4000/cb"]) {
    const r = await browser().get(authReq(c, { redirect_uri: uri }).path);
    assert.equal(r.status, 200, `${uri} matches a registered loopback URI: expected the login page, got ${r.status} ${r.location ?? ""}`);
    assert.ok(loginFormOf(r));
  }
  for (const uri of [
    "http://127.0.0.1:54321/callback", "http://127.0.0.1:54321/cb/", "http://127.0.0.1:54321/cb?x=1", "http://127.0.0.1:54321/CB",
    "http://localhost:54321/cb", "https://127.0.0.1/cb", "https://127.0.0.1:54321/cb", "http://127.0.0.2:54321/cb", "http://[::1]:4000/callback",
    "http://127.0.0.1.evil.example:54321/cb", "http://127.0.0.1:54321@evil.example/cb",
  ]) {
    assertErrorPage(await browser().get(authReq(c, { redirect_uri: uri }).path), `${uri} matches no registered URI`);
  }
  // The whole flow on an ephemeral port: the code comes back to that port, and redeems with it.
  const uri = "http://127.0.0.1:49152/cb";
  const req = authReq(c, { redirect_uri: uri });
  const { code, r } = await approve(browser(), req.path, user);
  assert.ok(r.location.startsWith(uri + "?"), `redirected to the requested port: ${r.location}`);
  const t = await redeemCode(api, { client: c, code, redirect_uri: uri, code_verifier: req.verifier });
  assert.equal(t.status, 200, t.text);
});

// ---- the flow ----------------------------------------------------------------------------------

test("the code flow for a public client, redeemed exactly as seed 004 writes it: login page, consent page, code, token", async () => {
  const user = await createUser(api, { name: "Grace Hopper" });
  const c = await publicClient({ name: uniq("Photo Printer "), scopes: ["photos", "calendar", "contacts"] });
  const fc = browser();
  const state = uniq("state-");
  const req = authReq(c, { scope: "photos calendar", state });

  const login = await fc.get(req.path);
  assert.equal(login.status, 200, `no session: the login page (200), got ${login.status}`);
  assert.match(login.headers.get("content-type") ?? "", /^text\/html/);
  assertPageHeaders(login, "login page");
  const lf = loginFormOf(login);
  assert.ok(lf, "a form with a password input");
  assert.equal(lf.method, "POST");
  assert.ok("username" in lf.fields, "an input named username");
  assert.ok(lf.fields.csrf_token, "a hidden csrf_token with a value");

  const signedIn = await submitForm(fc, worker.url, lf, { username: user.username, password: user.password }, lf.buttons[0], req.path);
  assert.equal(signedIn.status, 303, `sign-in: 303 back to /authorize, got ${signedIn.status} ${signedIn.text.slice(0, 200)}`);
  const back = pathOf(signedIn.location, worker.url);
  assert.equal(new URL(signedIn.location, worker.url).origin, worker.url, "back to this server");
  assert.equal(new URL(back, worker.url).pathname, "/authorize");
  assert.deepEqual(Object.fromEntries(new URL(back, worker.url).searchParams), Object.fromEntries(new URL(req.path, worker.url).searchParams), "the same authorization request");

  const consent = await fc.get(back);
  assert.equal(consent.status, 200, `the consent page, got ${consent.status}`);
  assertPageHeaders(consent, "consent page");
  const cf = consentFormOf(consent);
  assert.ok(cf, "a form with decision buttons");
  assert.equal(cf.method, "POST");
  assert.ok(cf.fields.csrf_token, "a hidden csrf_token");
  assert.deepEqual(cf.buttons.filter((b) => b.name === "decision").map((b) => b.value).sort(), ["approve", "deny"]);
  const text = htmlText(consent.text);
  assert.ok(text.includes(c.name), "the consent page names the client");
  assert.ok(text.includes("photos") && text.includes("calendar"), "the consent page names each scope");
  assert.ok(!text.includes("contacts"), "and not scopes that were not requested");

  const approved = await submitForm(fc, worker.url, cf, {}, cf.buttons.find((b) => b.value === "approve"), back);
  assert.equal(approved.status, 302, `approve: 302 to the client, got ${approved.status}`);
  assert.ok(approved.location.startsWith(REDIRECT + "?"), approved.location);
  const q = new URL(approved.location).searchParams;
  assert.ok(q.get("code"), "code");
  assert.equal(q.get("state"), state);
  assert.equal(q.get("iss"), ISSUER);
  assert.equal(q.get("error"), null);

  // Exactly the body of seed 004's example, to /token/.
  const body = `grant_type=authorization_code&code=${encodeURIComponent(q.get("code"))}&redirect_uri=${encodeURIComponent(REDIRECT)}&client_id=${c.client_id}&code_verifier=${req.verifier}`;
  const t = await api.call("POST", "/token/", { headers: FORM, body });
  assert.equal(t.status, 200, t.text);
  assert.match(t.headers.get("content-type") ?? "", /^application\/json/);
  assert.equal(t.headers.get("cache-control"), "no-store");
  assert.equal(t.headers.get("pragma"), "no-cache");
  assert.match(t.json.access_token, new RegExp(`^${c.client_id}\\.[A-Za-z0-9_-]{43}$`), "an access token of edge-oauth's shape");
  assert.equal(t.json.token_type, "Bearer");
  assert.equal(t.json.expires_in, 300);
  assert.equal(typeof t.json.issued_at, "number");
  assert.ok(Math.abs(t.json.issued_at - Date.now()) < 60_000, "issued_at in ms");
  assert.deepEqual(scopeSet(t.json.scope), ["calendar", "photos"]);
  assert.ok(!("refresh_token" in t.json), "no refresh_token without the refresh_token grant");

  // Who the token is for.
  const v = await api.validate(t.json.access_token);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.active, true);
  assert.equal(v.json.client_id, c.client_id);
  assert.equal(v.json.sub, user.user_id, "sub is the user_id");
  assert.equal(v.json.username, user.username);
  assert.equal(v.json.auth, "bearer");
  assert.deepEqual(scopeSet(v.json.scope), ["calendar", "photos"]);
  const rs = await api.createClient({ name: uniq("rs-"), introspect: true });
  const i = await api.form("/introspect", rs.client_id, rs.client_secret, `token=${t.json.access_token}`);
  assert.equal(i.status, 200);
  assert.equal(i.json.active, true);
  assert.equal(i.json.sub, user.user_id);
  assert.equal(i.json.username, user.username);
  // The client's IP binding applies.
  const elsewhere = await api.validate(t.json.access_token, { ip: "192.0.2.200" });
  assert.equal(elsewhere.status, 401, "bound to the address that redeemed the code");
  assert.equal(elsewhere.headers.get("www-authenticate"), INVALID_TOKEN);
  // A client-credentials token has no sub or username.
  const cc = await api.validate(await api.accessToken(rs));
  assert.ok(!("sub" in cc.json) && !("username" in cc.json), "client-credentials tokens are unchanged");
});

test("confidential clients: client_secret_basic and client_secret_post; refresh_token with the grant; no or wrong authentication is 401 invalid_client", async () => {
  const user = await createUser(api);
  const c = await confidentialClient({ token_ttl: 120 });
  const fc = browser();

  const a = await freshCode(c, user, { fc });
  const basic = await redeemCode(api, { client: c, code: a.code, redirect_uri: a.redirect_uri, code_verifier: a.verifier, auth: "basic" });
  assert.equal(basic.status, 200, basic.text);
  assert.equal(basic.json.expires_in, 120, "the client's token_ttl");
  assert.equal(typeof basic.json.refresh_token, "string", "a refresh_token: the client has the refresh_token grant");
  assert.notEqual(basic.json.refresh_token, basic.json.access_token);
  const own = await api.form("/introspect", c.client_id, c.client_secret, `token=${basic.json.access_token}`);
  assert.equal(own.json.active, true);
  assert.equal(own.json.sub, user.user_id);
  assert.equal(own.json.username, user.username);

  const b = await freshCode(c, user, { fc });
  assert.equal(b.r.consentShown, false, "same scopes, same client: no second consent");
  const post = await redeemCode(api, { client: c, code: b.code, redirect_uri: b.redirect_uri, code_verifier: b.verifier, auth: "post" });
  assert.equal(post.status, 200, post.text);
  assert.equal((await api.validate(post.json.access_token)).json.sub, user.user_id);

  const d = await freshCode(c, user, { fc });
  const none = await redeemCode(api, { client: c, code: d.code, redirect_uri: d.redirect_uri, code_verifier: d.verifier, auth: "none" });
  assertTokenError(none, 401, "invalid_client", "a confidential client with client_id alone");
  const wrong = await redeemCode(api, { client: { ...c, client_secret: "wrong" }, code: d.code, redirect_uri: d.redirect_uri, code_verifier: d.verifier, auth: "basic" });
  assertTokenError(wrong, 401, "invalid_client", "a wrong secret");
  assert.equal(wrong.headers.get("www-authenticate"), 'Basic realm="edge-oauth"');
  const both = await api.call("POST", "/token", {
    headers: { ...FORM, authorization: api.basic(c.client_id, c.client_secret) },
    body: `grant_type=authorization_code&code=${d.code}&redirect_uri=${encodeURIComponent(d.redirect_uri)}&code_verifier=${d.verifier}&client_id=${c.client_id}&client_secret=${c.client_secret}`,
  });
  assertTokenError(both, 400, "invalid_request", "Basic and client_secret_post at once");
});

test("a code is single-use: the second redemption is invalid_grant and invalidates the tokens of the first", async () => {
  const user = await createUser(api);
  const c = await publicClient({ grant_types: ["authorization_code", "refresh_token"] });
  const { code, verifier, redirect_uri } = await freshCode(c, user);
  const first = await redeemCode(api, { client: c, code, redirect_uri, code_verifier: verifier });
  assert.equal(first.status, 200, first.text);
  assert.equal(typeof first.json.refresh_token, "string");
  assert.equal((await api.validate(first.json.access_token)).status, 200);
  const second = await redeemCode(api, { client: c, code, redirect_uri, code_verifier: verifier });
  assertTokenError(second, 400, "invalid_grant", "the second redemption");
  const v = await api.validate(first.json.access_token);
  assert.equal(v.status, 401, "the first redemption's access token is now invalid (RFC 6749 §4.1.2)");
  assert.equal(v.headers.get("www-authenticate"), INVALID_TOKEN);
  const third = await redeemCode(api, { client: c, code, redirect_uri, code_verifier: verifier });
  assertTokenError(third, 400, "invalid_grant", "a third redemption");
  const rf = await api.call("POST", "/token", { headers: FORM, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(first.json.refresh_token)}&client_id=${c.client_id}` });
  assertTokenError(rf, 400, "invalid_grant", "the first redemption's refresh token is dead too");
});

test("invalid_grant: wrong or missing verifier, wrong or missing redirect_uri, another client's code, unknown code", async () => {
  const user = await createUser(api);
  const c = await publicClient({ redirect_uris: [REDIRECT, "https://app.example/other"] });
  const other = await publicClient();
  const otherConf = await confidentialClient();
  const fc = browser();
  const code = () => freshCode(c, user, { fc });

  let x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: x.redirect_uri, code_verifier: pkce().verifier }), 400, "invalid_grant", "a wrong code_verifier");
  x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: x.redirect_uri, code_verifier: x.verifier.slice(0, -1) + (x.verifier.endsWith("A") ? "B" : "A") }), 400, "invalid_grant", "a verifier off by one character");
  x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: x.redirect_uri, omit: ["code_verifier"] }), 400, ["invalid_grant", "invalid_request"], "no code_verifier");
  x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: "https://app.example/other", code_verifier: x.verifier }), 400, "invalid_grant", "another registered redirect_uri");
  x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: REDIRECT + "/", code_verifier: x.verifier }), 400, "invalid_grant", "a redirect_uri with a trailing slash");
  x = await code();
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: x.redirect_uri, code_verifier: x.verifier, omit: ["redirect_uri"] }), 400, "invalid_grant", "redirect_uri missing although it was sent to /authorize");
  x = await code();
  assertTokenError(await redeemCode(api, { client: other, code: x.code, redirect_uri: x.redirect_uri, code_verifier: x.verifier }), 400, "invalid_grant", "another (public) client's code");
  x = await code();
  assertTokenError(await redeemCode(api, { client: otherConf, code: x.code, redirect_uri: x.redirect_uri, code_verifier: x.verifier, auth: "basic" }), 400, "invalid_grant", "another (confidential, authenticated) client's code");
  assertTokenError(await redeemCode(api, { client: c, code: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", redirect_uri: REDIRECT, code_verifier: pkce().verifier }), 400, "invalid_grant", "an unknown code");
  assertTokenError(await redeemCode(api, { client: c, code: `${c.client_id}.${"A".repeat(43)}`, redirect_uri: REDIRECT, code_verifier: pkce().verifier }), 400, "invalid_grant", "an unknown code of token shape");
  assertTokenError(await redeemCode(api, { client: c, code: "", redirect_uri: REDIRECT, code_verifier: pkce().verifier }), 400, ["invalid_grant", "invalid_request"], "an empty code");
  // An access token is not a code.
  const good = await code();
  const t = await redeemCode(api, { client: c, code: good.code, redirect_uri: good.redirect_uri, code_verifier: good.verifier });
  assert.equal(t.status, 200, `a correct redemption still works: ${t.text}`);
  assertTokenError(await redeemCode(api, { client: c, code: t.json.access_token, redirect_uri: REDIRECT, code_verifier: good.verifier }), 400, "invalid_grant", "an access token as the code");
});

test("redirect_uri may be left out at both ends when exactly one is registered", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const req = authReq(c, { redirect_uri: null });
  const { code, r } = await approve(browser(), req.path, user);
  assert.ok(r.location.startsWith(REDIRECT + "?"), `sent to the only registered URI: ${r.location}`);
  const t = await redeemCode(api, { client: c, code, redirect_uri: undefined, code_verifier: req.verifier });
  assert.equal(t.status, 200, `no redirect_uri at /token when none was sent to /authorize: ${t.text}`);
});

test("user tokens follow the client's settings: ip_binding false, fixed expiry, and all of its scopes when none are asked for", async () => {
  const user = await createUser(api);
  const c = await publicClient({ ip_binding: false, expiry: "fixed", token_ttl: 3, skip_consent: true });
  const req = authReq(c, { scope: null });
  const { code } = await approve(browser(), req.path, user);
  const t = await redeemCode(api, { client: c, code, redirect_uri: REDIRECT, code_verifier: req.verifier });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.expires_in, 3);
  assert.deepEqual(scopeSet(t.json.scope), ["read", "write"], "no scope at /authorize: all of the client's scopes");
  const issued = Date.now();
  const far = await api.validate(t.json.access_token, { ip: "192.0.2.222" });
  assert.equal(far.status, 200, "ip_binding false: valid from another address");
  assert.equal(far.json.sub, user.user_id);
  await sleep(Math.max(0, issued + 3300 - Date.now()));
  assert.equal((await api.validate(t.json.access_token)).status, 401, "fixed expiry: dead after token_ttl although used");
});

test("state round-trips exactly (& = + space é # % and more) on approve, deny and error", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const states = ["a&b=c+d e", "é ü 日本 😀", "%41%2B#frag?x=1/..", "'\"<>`", "x".repeat(500)];
  for (const state of states) {
    const r = await authorizeAs(fc, worker.url, authReq(c, { state }).path, { ...user });
    assert.equal(r.status, 302, `approve with state ${JSON.stringify(state)}`);
    assert.equal(redirectQuery(r).get("state"), state, "approve: state unchanged");
  }
  const c2 = await publicClient();
  const deny = await authorizeAs(fc, worker.url, authReq(c2, { state: states[0] }).path, { ...user, decision: "deny" });
  assertErrorRedirect(deny, REDIRECT, "access_denied", states[0], "deny");
  const err = await fc.get(authReq(c, { state: states[1], code_challenge_method: "plain" }).path);
  assertErrorRedirect(err, REDIRECT, "invalid_request", states[1], "error");
});

test("consent is remembered per user, client and scopes: the same scopes go straight to the client; more scopes ask again", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const first = await authorizeAs(fc, worker.url, authReq(c, { scope: "read" }).path, { ...user });
  assert.equal(first.consentShown, true, "the first time, consent is asked");
  const req = authReq(c, { scope: "read" });
  const again = await fc.get(req.path);
  assert.equal(again.status, 302, `the same scopes again: straight to the client, got ${again.status}`);
  const q = redirectQuery(again);
  assert.equal(q.get("state"), req.params.state);
  assert.equal(q.get("iss"), ISSUER);
  const t = await redeemCode(api, { client: c, code: q.get("code"), redirect_uri: REDIRECT, code_verifier: req.verifier });
  assert.equal(t.status, 200, t.text);
  assert.equal(t.json.scope, "read");

  const more = await fc.get(authReq(c, { scope: "read write" }).path);
  assert.ok(consentFormOf(more), `more scopes: the consent page again, got ${more.status}`);
  const both = await authorizeAs(fc, worker.url, authReq(c, { scope: "read write" }).path, { ...user });
  assert.equal(both.status, 302);
  const all = await fc.get(authReq(c, { scope: null }).path);
  assert.equal(all.status, 302, "no scope means all of the client's scopes, already granted: no consent");
  // Another user of the same browser-less client does not inherit the consent.
  const someoneElse = await authorizeAs(browser(), worker.url, authReq(c, { scope: "read" }).path, { ...(await createUser(api)), decision: null });
  assert.ok(consentFormOf(someoneElse), "consent is per user");
});

test("skip_consent: a first-party client goes from login straight to the client", async () => {
  const user = await createUser(api);
  const c = await publicClient({ skip_consent: true });
  const req = authReq(c, { scope: "read write" });
  const r = await authorizeAs(browser(), worker.url, req.path, { ...user });
  assert.equal(r.loginShown, true, "login is still required");
  assert.equal(r.consentShown, false, "no consent page");
  assert.equal(r.status, 302);
  const q = redirectQuery(r);
  assert.equal(q.get("iss"), ISSUER);
  const t = await redeemCode(api, { client: c, code: q.get("code"), redirect_uri: REDIRECT, code_verifier: req.verifier });
  assert.equal(t.status, 200, t.text);
  assert.deepEqual(scopeSet(t.json.scope), ["read", "write"]);
});

test("deny: access_denied with state and iss, no code; nothing is remembered", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const req = authReq(c);
  const r = await authorizeAs(fc, worker.url, req.path, { ...user, decision: "deny" });
  assertErrorRedirect(r, REDIRECT, "access_denied", req.params.state, "deny");
  const next = await fc.get(authReq(c).path);
  assert.ok(consentFormOf(next), "after a deny, the next request asks again");
  const grants = await api.admin("GET", `/admin/users/${encodeURIComponent(user.user_id)}/grants`);
  assert.equal(grants.status, 200);
  assert.ok(!grants.json.grants.some((g) => g.client_id === c.client_id), "a deny records no grant");
});

test("CSRF: a POST to /authorize, /login or /logout without a valid csrf_token is 403 and changes nothing", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const req = authReq(c);
  const page = await authorizeAs(fc, worker.url, req.path, { ...user, decision: null });
  const cf = consentFormOf(page);
  assert.ok(cf, "the consent page");
  const approveBtn = cf.buttons.find((b) => b.value === "approve");
  const noToken = { ...cf, fields: Object.fromEntries(Object.entries(cf.fields).filter(([k]) => k !== "csrf_token")) };
  for (const [label, form, changes] of [
    ["no csrf_token", noToken, {}],
    ["an empty csrf_token", cf, { csrf_token: "" }],
    ["a wrong csrf_token", cf, { csrf_token: "A".repeat(cf.fields.csrf_token.length || 43) }],
    ["a csrf_token of another browser", cf, { csrf_token: consentFormOf(await authorizeAs(browser(), worker.url, req.path, { ...(await createUser(api)), decision: null })).fields.csrf_token }],
  ]) {
    const r = await submitForm(fc, worker.url, form, changes, approveBtn, page.pagePath);
    assert.equal(r.status, 403, `approve with ${label}: 403, got ${r.status} ${r.location ?? ""}`);
    assert.equal(r.headers.get("location"), null, `approve with ${label}: no redirect, no code`);
    assertPageHeaders(r, `403 (${label})`);
  }
  // The cookie half missing: the right token, but no cookies at all.
  const bare = browser();
  const nocookie = await submitForm(bare, worker.url, cf, {}, approveBtn, page.pagePath);
  assert.equal(nocookie.status, 403, "a POST without the CSRF cookie is 403");
  // Nothing changed: no grant was recorded, so the consent page is still asked for.
  assert.ok(consentFormOf(await fc.get(authReq(c).path)), "no consent was recorded by the refused POSTs");
  const grants = await api.admin("GET", `/admin/users/${encodeURIComponent(user.user_id)}/grants`);
  assert.ok(!grants.json.grants.some((g) => g.client_id === c.client_id), "no grant recorded");
  // The real form still works.
  const ok = await submitForm(fc, worker.url, cf, {}, approveBtn, page.pagePath);
  assert.equal(ok.status, 302, `the intact form approves: ${ok.status}`);

  // /login without a valid token: 403, and no session.
  const lfc = browser();
  const login = await lfc.get(authReq(c).path);
  const lf = loginFormOf(login);
  for (const [label, changes] of [["no csrf_token", { csrf_token: undefined }], ["a wrong csrf_token", { csrf_token: "B".repeat(43) }]]) {
    const fields = { ...lf.fields, username: user.username, password: user.password, ...changes };
    if (changes.csrf_token === undefined) delete fields.csrf_token;
    const r = await submitForm(lfc, worker.url, { ...lf, fields }, {}, lf.buttons[0], req.path);
    assert.equal(r.status, 403, `login with ${label} (right password): 403, got ${r.status}`);
  }
  const otherBrowser = browser();
  const r = await submitForm(otherBrowser, worker.url, lf, { username: user.username, password: user.password }, lf.buttons[0], req.path);
  assert.equal(r.status, 403, "login from a browser without the CSRF cookie: 403");
  assert.ok(loginFormOf(await lfc.get(authReq(c).path)), "no session was made");
  assert.ok(loginFormOf(await otherBrowser.get(authReq(c).path)), "no session was made");

  // /logout without a valid token: 403, and the session lives on.
  const out = await fc.get("/logout");
  const of = formsOf(out.text).find((f) => f.method === "POST");
  assert.ok(of, "GET /logout shows a form");
  const noLogout = await submitForm(fc, worker.url, { ...of, fields: { ...of.fields, csrf_token: "C".repeat(43) } }, {}, of.buttons[0], "/logout");
  assert.equal(noLogout.status, 403, "logout with a wrong csrf_token: 403");
  const still = await fc.get(authReq(c).path);
  assert.equal(still.status, 302, "still signed in (and consented): straight to the client");
});

test("logout: GET /logout shows a form; POST /logout ends the session for good", async () => {
  const user = await createUser(api);
  const c = await publicClient({ skip_consent: true });
  const fc = browser();
  assert.equal((await authorizeAs(fc, worker.url, authReq(c).path, { ...user })).status, 302);
  assert.equal((await fc.get(authReq(c).path)).status, 302, "signed in");
  const saved = new Map(fc.jar);
  const page = await fc.get("/logout");
  assert.equal(page.status, 200);
  assertPageHeaders(page, "logout page");
  const form = formsOf(page.text).find((f) => f.method === "POST");
  assert.ok(form, "a POST form");
  assert.ok(form.fields.csrf_token, "with a csrf_token");
  const out = await submitForm(fc, worker.url, form, {}, form.buttons[0], "/logout");
  assert.ok(out.status < 400, `POST /logout succeeds: ${out.status}`);
  assert.ok(loginFormOf(await fc.get(authReq(c).path)), "signed out: the login page");
  // The old session cookie replayed: ended on the server, not just forgotten by the browser.
  const replay = browser();
  for (const [k, v] of saved) replay.jar.set(k, v);
  assert.ok(loginFormOf(await replay.get(authReq(c).path)), "the old session cookie no longer signs in");
});

test("the session cookie: HttpOnly, SameSite=Lax, Path=/, not Secure on plain-http loopback, and new at sign-in", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const req = authReq(c);
  const page = await fc.get(req.path);
  const before = new Map(fc.jar);
  const pageCookies = (page.headers.getSetCookie?.() ?? []).map((l) => l.split("=")[0].trim());
  const lf = loginFormOf(page);
  const r = await submitForm(fc, worker.url, lf, { username: user.username, password: user.password }, lf.buttons[0], req.path);
  assert.equal(r.status, 303);
  const set = r.headers.getSetCookie?.() ?? [];
  assert.ok(set.length > 0, "sign-in sets a cookie");
  let session = set.filter((l) => !pageCookies.includes(l.split("=")[0].trim()));
  if (session.length === 0) session = set;
  for (const line of session) {
    const attrs = line.split(";").slice(1).map((a) => a.trim().toLowerCase());
    assert.ok(attrs.includes("httponly"), `HttpOnly: ${line}`);
    assert.ok(attrs.includes("samesite=lax"), `SameSite=Lax: ${line}`);
    assert.ok(attrs.includes("path=/"), `Path=/: ${line}`);
    assert.ok(!attrs.includes("secure"), `not Secure on plain-http 127.0.0.1 (browsers would drop it): ${line}`);
    const [name, ...v] = line.split(";")[0].split("=");
    assert.notEqual(before.get(name.trim()), v.join("=").trim(), "a new session value at sign-in (no fixation)");
    assert.ok(![...before.values()].includes(v.join("=").trim()), "the session value was not known before sign-in");
  }
});

test("pages send X-Frame-Options DENY or CSP frame-ancestors 'none', and Cache-Control: no-store", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const fc = browser();
  const req = authReq(c);
  const login = await fc.get(req.path);
  assertPageHeaders(login, "login page");
  const lf = loginFormOf(login);
  const failed = await submitForm(fc, worker.url, lf, { username: user.username, password: "wrong password" }, lf.buttons[0], req.path);
  assert.equal(failed.status, 401);
  assertPageHeaders(failed, "401 login page");
  const consent = await authorizeAs(fc, worker.url, req.path, { ...user, decision: null });
  assertPageHeaders(consent, "consent page");
  assertPageHeaders(await fc.get("/logout"), "logout page");
  assertPageHeaders(await fc.get(authReq({ client_id: "nope", redirect_uris: [REDIRECT] }).path), "400 page");
  const cf = consentFormOf(consent);
  assertPageHeaders(await submitForm(fc, worker.url, cf, { csrf_token: "x" }, cf.buttons[0], consent.pagePath), "403 page");
});

test("markup in the client's name (and the user's) is escaped on the consent page", async () => {
  const user = await createUser(api, { name: "<img src=x onerror=alert(2)>" });
  const evil = "<script>alert(1)</script>";
  const c = await publicClient({ name: evil });
  const page = await authorizeAs(browser(), worker.url, authReq(c).path, { ...user, decision: null });
  assert.ok(consentFormOf(page), "the consent page");
  assert.ok(!page.text.includes(evil), "the raw client name never appears in the HTML");
  assert.ok(!/<script[\s>]/i.test(page.text), "no script element at all");
  assert.ok(!page.text.includes("<img src=x"), "the raw user name never appears");
  assert.ok(htmlText(page.text).includes(evil), "the client's name is shown, as text");
});

/** One failed sign-in of `kind` (a fresh browser); returns the response, the page before and timing. */
async function failedLogin(path, username, password, w = worker) {
  const fc = browser(w);
  const page = await fc.get(path);
  const lf = loginFormOf(page);
  assert.ok(lf, `the login page (${page.status})`);
  const t0 = performance.now();
  const r = await submitForm(fc, w.url, lf, { username, password }, lf.buttons[0], path);
  const ms = performance.now() - t0;
  return { r, ms, page, fc };
}

test("wrong password, unknown user and disabled user get the same 401 login page, byte for byte but for the CSRF token", async () => {
  const c = await publicClient();
  const wrong = await createUser(api, { username: uniq("same-w-") });
  const disabled = await createUser(api, { username: uniq("same-d-") });
  assert.equal((await api.admin("PATCH", `/admin/users/${encodeURIComponent(disabled.user_id)}`, { disabled: true })).status, 200);
  const unknownName = uniq("same-u-");
  const path = authReq(c).path;
  const results = {
    "wrong password": await failedLogin(path, wrong.username, "not the password"),
    "unknown user": await failedLogin(path, unknownName, "not the password"),
    "disabled user (right password)": await failedLogin(path, disabled.username, disabled.password),
  };
  const normalized = {};
  for (const [kind, { r, page, fc }] of Object.entries(results)) {
    assert.equal(r.status, 401, `${kind}: 401, got ${r.status}`);
    assert.ok(loginFormOf(r), `${kind}: the login page again`);
    const secrets = new Set([...fc.jar.values(), ...[page, r].flatMap((p) => formsOf(p.text).map((f) => f.fields.csrf_token)).filter(Boolean)]);
    let text = r.text;
    for (const s of [...secrets].sort((a, b) => b.length - a.length)) text = text.split(s).join("CSRF");
    for (const name of [wrong.username, disabled.username, unknownName]) text = text.split(name).join("USERNAME");
    const cookies = (r.headers.getSetCookie?.() ?? []).map((l) => l.replace(/=[^;]*/, "=V")).sort();
    const h = (k) => r.headers.get(k);
    normalized[kind] = { status: r.status, text, cookies, type: h("content-type"), cache: h("cache-control"), xfo: h("x-frame-options"), csp: h("content-security-policy"), retry: h("retry-after") };
  }
  const [first, ...rest] = Object.entries(normalized);
  for (const [kind, n] of rest) assert.deepEqual(n, first[1], `${kind} looks exactly like ${first[0]}`);
});

test("wrong password, unknown user and disabled user take similar time (medians within 3×)", async () => {
  const c = await publicClient();
  const wrong = await createUser(api);
  const disabled = await createUser(api);
  await api.admin("PATCH", `/admin/users/${encodeURIComponent(disabled.user_id)}`, { disabled: true });
  const path = authReq(c).path;
  const kinds = {
    "wrong password": () => [wrong.username, "not the password"],
    "unknown user": () => [uniq("ghost-"), "not the password"],
    "disabled user": () => [disabled.username, disabled.password],
  };
  const times = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]));
  for (let i = 0; i < 6; i++) {
    for (const [kind, creds] of Object.entries(kinds)) {
      const { r, ms } = await failedLogin(path, ...creds());
      assert.equal(r.status, 401, `${kind}: 401`);
      if (i > 0) times[kind].push(ms); // the first round warms up
    }
  }
  const medians = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
  console.log(`failed sign-in medians (ms): ${JSON.stringify(medians)}`);
  const values = Object.values(medians);
  const ratio = Math.max(...values) / Math.max(1, Math.min(...values));
  assert.ok(ratio <= 3, `the three kinds of failure take similar time (a hash is computed for each): medians ${JSON.stringify(medians)}, ratio ${ratio.toFixed(2)}`);
});

test("a login cannot send the browser to another site through return_to", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const req = authReq(c);
  for (const target of ["https://evil.example/steal", "//evil.example/x", "/\\evil.example/x", "https:evil.example", "javascript:alert(1)", "http://127.0.0.1:1/elsewhere"]) {
    const fc = browser();
    const page = await fc.get(req.path);
    const lf = loginFormOf(page);
    const r = await submitForm(fc, worker.url, lf, { username: user.username, password: user.password, return_to: target }, lf.buttons[0], req.path);
    const loc = r.headers.get("location");
    if (loc !== null) {
      const u = new URL(loc, worker.url);
      assert.equal(u.origin, worker.url, `return_to ${JSON.stringify(target)}: stays on this server, got Location ${loc}`);
    }
    assert.ok(!r.text.includes("evil.example") || r.status >= 400, `return_to ${JSON.stringify(target)} is not followed`);
  }
});

test("a tampered consent form cannot send the code to an unregistered redirect URI or get scopes outside the client's", async () => {
  const user = await createUser(api);
  const c = await publicClient({ scopes: ["read"] });
  const fc = browser();
  const req = authReq(c);
  const page = await authorizeAs(fc, worker.url, req.path, { ...user, decision: null });
  const cf = consentFormOf(page);
  const approveBtn = cf.buttons.find((b) => b.value === "approve");
  const evil = await submitForm(fc, worker.url, cf, { redirect_uri: "https://evil.example/cb" }, approveBtn, page.pagePath);
  const loc = evil.headers.get("location") ?? "";
  assert.ok(!loc.startsWith("https://evil.example"), `never redirected to an unregistered URI: ${evil.status} ${loc}`);
  assert.ok(!evil.text.includes("code="), "no code in the page either");

  const page2 = await authorizeAs(fc, worker.url, authReq(c).path, { ...user, decision: null });
  const cf2 = consentFormOf(page2);
  const wide = await submitForm(fc, worker.url, cf2, { scope: "read admin" }, cf2.buttons.find((b) => b.value === "approve"), page2.pagePath);
  if (wide.status === 302 && redirectQuery(wide).get("code")) {
    const t = await redeemCode(api, { client: c, code: redirectQuery(wide).get("code"), redirect_uri: REDIRECT, code_verifier: req.verifier });
    if (t.status === 200) assert.deepEqual(scopeSet(t.json.scope), ["read"], "never a scope outside the client's");
  }
});

// ---- failed sign-ins are limited (the `limited` worker) ----------------------------------------

function assert429Page(r, label) {
  assert.equal(r.status, 429, `${label}: 429, got ${r.status} ${r.text.slice(0, 200)}`);
  assert.match(r.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/, `${label}: Retry-After in whole seconds`);
  assert.ok(Number(r.headers.get("retry-after")) <= 2 * WINDOW_S, `${label}: Retry-After within the window`);
  assert.match(r.headers.get("content-type") ?? "", /^text\/html/, `${label}: a page`);
  return Number(r.headers.get("retry-after"));
}

/** Sign in on `limited` from `ip`: a 429 on the GET counts as refused too. */
async function limitedLogin(path, username, password, ip) {
  const fc = formClient(limited.url, { ip });
  const page = await fc.get(path);
  const lf = loginFormOf(page);
  if (!lf) return page;
  return submitForm(fc, limited.url, lf, { username, password }, lf.buttons[0], path);
}

test("failed logins are limited per IP: then a 429 page with Retry-After, even for the right password; other addresses unaffected; let go afterwards", async () => {
  const lapi = clientFor(limited.url, { ip: HOME_IP });
  const user = await createUser(lapi);
  const c = await publicClient({ skip_consent: true }, lapi);
  const path = authReq(c).path;
  const A = "192.0.2.61", B = "192.0.2.62";
  let r, failures = 0;
  for (let i = 0; i < LIMIT_IP + 5; i++) {
    // Different unknown usernames: only the address is common.
    r = await limitedLogin(path, uniq("nobody-"), "wrong password", A);
    if (r.status !== 401) break;
    failures++;
  }
  assert.equal(failures, LIMIT_IP, `exactly ${LIMIT_IP} failures are answered 401 before the block (AUTH_FAILURES_PER_IP)`);
  assert429Page(r, "the failure over the limit");
  assertPageHeaders(r, "429 page");
  const right = await limitedLogin(path, user.username, user.password, A);
  const retry = assert429Page(right, "the right password from the blocked address");
  const fromB = await limitedLogin(path, user.username, user.password, B);
  assert.equal(fromB.status, 303, `another address signs in: ${fromB.status}`);
  await sleep(retry * 1000 + 250);
  const later = await limitedLogin(path, user.username, user.password, A);
  assert.equal(later.status, 303, `after Retry-After the address is let in: ${later.status}`);
});

test("failed logins are limited per username, unknown usernames alike (the limit tells nothing about who exists)", async () => {
  const lapi = clientFor(limited.url, { ip: HOME_IP });
  const user = await createUser(lapi);
  const c = await publicClient({ skip_consent: true }, lapi);
  const path = authReq(c).path;
  const ghost = uniq("ghost-");
  for (const [label, name] of [["a real user", user.username], ["an unknown user", ghost]]) {
    let r, failures = 0;
    for (let i = 0; i < LIMIT_USER + 5; i++) {
      // A different address for every attempt: only the username is common.
      r = await limitedLogin(path, name, `wrong-${i}`, `${label === "a real user" ? "198.51.100" : "203.0.113"}.${100 + i}`);
      if (r.status !== 401) break;
      failures++;
    }
    assert.equal(failures, LIMIT_USER, `${label}: exactly ${LIMIT_USER} failures from different addresses are answered 401 (AUTH_FAILURES_PER_CLIENT)`);
    assert429Page(r, `${label}: the failure over the limit`);
  }
  // A blocked username refuses even the right password from a fresh address; otherwise a
  // password guesser would learn "wrong" (429) from "right" (success) and keep going.
  const right = await limitedLogin(path, user.username, user.password, "192.0.2.201");
  const retry = assert429Page(right, "the right password for a blocked username");
  await sleep(retry * 1000 + 250);
  const later = await limitedLogin(path, user.username, user.password, "192.0.2.202");
  assert.equal(later.status, 303, `after Retry-After the user signs in: ${later.status}`);
});

test("a login POST refused for its CSRF token does not count as a failed login", async () => {
  const lapi = clientFor(limited.url, { ip: HOME_IP });
  const user = await createUser(lapi);
  const c = await publicClient({ skip_consent: true }, lapi);
  const path = authReq(c).path;
  const fc = formClient(limited.url, { ip: "192.0.2.150" });
  const page = await fc.get(path);
  const lf = loginFormOf(page);
  for (let i = 0; i < LIMIT_IP + LIMIT_USER; i++) {
    const r = await submitForm(fc, limited.url, lf, { username: user.username, password: `wrong-${i}`, csrf_token: "forged" }, lf.buttons[0], path);
    assert.equal(r.status, 403, `CSRF-less attempt ${i}: 403`);
  }
  const r = await submitForm(fc, limited.url, lf, { username: user.username, password: user.password }, lf.buttons[0], path);
  assert.equal(r.status, 303, `the right password is accepted: the refused POSTs counted nothing (got ${r.status})`);
});

// ---- the certified client library -------------------------------------------------------------

const insecure = { [oauth.allowInsecureRequests]: true };

async function discover() {
  const issuer = new URL(worker.url);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
  assert.equal(as.issuer, ISSUER);
  return as;
}

test("oauth4webapi: discovery, PKCE, authorization URL, iss-checked callback and code grant for a public client", async () => {
  const as = await discover();
  const user = await createUser(api);
  const c = await publicClient({ grant_types: ["authorization_code", "refresh_token"] });
  const client = { client_id: c.client_id };
  const code_verifier = oauth.generateRandomCodeVerifier();
  const code_challenge = await oauth.calculatePKCECodeChallenge(code_verifier);
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({ client_id: c.client_id, redirect_uri: REDIRECT, response_type: "code", scope: "read write", state, code_challenge, code_challenge_method: "S256" })) {
    url.searchParams.set(k, v);
  }
  const r = await authorizeAs(browser(), worker.url, url.pathname + url.search, { ...user });
  assert.equal(r.status, 302, `${r.status} ${r.text.slice(0, 200)}`);
  const params = oauth.validateAuthResponse(as, client, new URL(r.location), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, REDIRECT, code_verifier, insecure);
  const result = await oauth.processAuthorizationCodeResponse(as, client, response);
  assert.equal(result.token_type, "bearer", "oauth4webapi lowercases token_type");
  assert.equal(typeof result.access_token, "string");
  assert.equal(typeof result.refresh_token, "string");
  assert.deepEqual(scopeSet(result.scope), ["read", "write"]);
  // The library's requests carry no CF-Connecting-IP of ours; validate from the same (default) address.
  const v = await request(worker.url, "GET", "/validate", { headers: { authorization: `Bearer ${result.access_token}` }, ip: null });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.sub, user.user_id);
  assert.equal(v.json.username, user.username);

  const refreshed = await oauth.processRefreshTokenResponse(as, client, await oauth.refreshTokenGrantRequest(as, client, oauth.None(), result.refresh_token, insecure));
  assert.equal(typeof refreshed.access_token, "string");
  assert.notEqual(refreshed.refresh_token, result.refresh_token, "rotated");
});

test("oauth4webapi: confidential client with client_secret_basic and client_secret_post; a denied callback is an access_denied AuthorizationResponseError", async () => {
  const as = await discover();
  const user = await createUser(api);
  const c = await confidentialClient({ scopes: ["read"] });
  const client = { client_id: c.client_id };
  const fc = browser();
  for (const auth of [oauth.ClientSecretBasic(c.client_secret), oauth.ClientSecretPost(c.client_secret)]) {
    const code_verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: c.client_id, redirect_uri: REDIRECT, response_type: "code", state, code_challenge: await oauth.calculatePKCECodeChallenge(code_verifier), code_challenge_method: "S256" })) {
      url.searchParams.set(k, v);
    }
    const r = await authorizeAs(fc, worker.url, url.pathname + url.search, { ...user });
    assert.equal(r.status, 302);
    const params = oauth.validateAuthResponse(as, client, new URL(r.location), state);
    const result = await oauth.processAuthorizationCodeResponse(as, client, await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT, code_verifier, insecure));
    assert.equal(result.scope, "read");
    assert.equal(typeof result.refresh_token, "string");
  }
  // A deny, through the library's callback validation (which checks iss first).
  const c2 = await confidentialClient({ scopes: ["read"] });
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries({ client_id: c2.client_id, redirect_uri: REDIRECT, response_type: "code", state, code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()), code_challenge_method: "S256" })) {
    url.searchParams.set(k, v);
  }
  const denied = await authorizeAs(fc, worker.url, url.pathname + url.search, { ...user, decision: "deny" });
  assert.throws(() => oauth.validateAuthResponse(as, { client_id: c2.client_id }, new URL(denied.location), state), (e) => e instanceof oauth.AuthorizationResponseError && e.error === "access_denied");
  // A forged iss is caught by the library: the server's iss is what makes that check possible.
  const forged = new URL(denied.location);
  forged.searchParams.set("iss", "https://evil.example");
  assert.throws(() => oauth.validateAuthResponse(as, { client_id: c2.client_id }, forged, state), /iss/);
});

// ---- slow ---------------------------------------------------------------------------------------

test("SLOW (sleeps 61 s): a code expires 60 s after it is issued: invalid_grant", async () => {
  const user = await createUser(api);
  const c = await publicClient();
  const x = await freshCode(c, user);
  await sleep(61_000);
  assertTokenError(await redeemCode(api, { client: c, code: x.code, redirect_uri: x.redirect_uri, code_verifier: x.verifier }), 400, "invalid_grant", "a code after 61 s");
});
