// Bad-input suite: malformed, oversized, repeated, mis-encoded and misplaced input on every
// endpoint, through the real runtime. Each case asserts the exact status, error code and headers
// of the contract, that nothing answers 5xx, and that no bad request changes any state.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, rawRequest, request, storedKeys, sleep, ADMIN } from "./harness.mjs";

let worker, api;
// c: an ordinary client; keysOnly: no grant types; keyClient: an API-key client.
let c, keysOnly, keyClient, t0;
const HOME_IP = "198.51.100.7";

before(async () => {
  // Every failing authentication also gets its own address below; the high limits make sure
  // the brute-force protection never turns an expected 401 into a 429.
  worker = await startWorker({
    vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", AUTH_FAILURES_PER_CLIENT: "100000" },
  });
  api = clientFor(worker.url, { ip: HOME_IP });
  c = await api.createClient({ name: "bad-input", scopes: ["read", "write"] });
  keysOnly = await api.createClient({ name: "keys-only", grant_types: [], api_key: true });
  keyClient = await api.createClient({ name: "api-key", api_key: true, scopes: ["maps"] });
  t0 = await api.accessToken(c);
  // The "nothing issued" checks below count stored tokens; make sure the count sees them.
  assert.ok(tokenRecords() >= 1, "the token records in the state folder are visible");
});
after(async () => {
  console.log(`bad-input cases: ${cases}`);
  if (worker) await worker.destroy();
});

// ---- helpers --------------------------------------------------------------------------------

let cases = 0;
let ipSeq = 0;
/** A fresh documentation-range address per request, so no two failures share a counter. */
const nextIp = () => {
  ipSeq++;
  return `198.18.${Math.floor(ipSeq / 250)}.${(ipSeq % 250) + 1}`;
};

const FORM = "application/x-www-form-urlencoded";
const OK_BODY = "grant_type=client_credentials";
const BASIC_CHALLENGE = 'Basic realm="edge-oauth"';
const BEARER_BARE = 'Bearer realm="edge-oauth"';
const BEARER_INVALID_REQUEST = 'Bearer realm="edge-oauth", error="invalid_request"';
const BEARER_INVALID_TOKEN = 'Bearer realm="edge-oauth", error="invalid_token"';
const b64 = (s) => Buffer.from(s, typeof s === "string" ? "utf8" : undefined).toString("base64");
const basicRaw = (s) => "Basic " + b64(s);
/** Percent-encode every character (RFC 6749 §2.3.1 allows any form-urlencoding). */
const encodeAll = (s) => [...Buffer.from(s)].map((b) => "%" + b.toString(16).toUpperCase().padStart(2, "0")).join("");

/** One request, from a fresh address unless the case names one. */
const send = ({ method = "POST", path = "/token", headers = {}, body, ip }) =>
  request(worker.url, method, path, { headers, body, ip: ip ?? nextIp() });

/** Raw bytes over TCP (latin1), answered like `send`. */
async function sendRaw(path, method, headerLines, body = "") {
  const host = new URL(worker.url).host;
  const head = [`${method} ${path} HTTP/1.1`, `Host: ${host}`, `cf-connecting-ip: ${nextIp()}`, ...headerLines, "connection: close"];
  const raw = await rawRequest(worker.url, Buffer.from(head.join("\r\n") + "\r\n\r\n" + body, "latin1"));
  let text = raw.body;
  if (/chunked/i.test(raw.headers["transfer-encoding"] ?? "")) {
    let out = "", rest = text;
    for (;;) {
      const i = rest.indexOf("\r\n");
      const n = parseInt(rest.slice(0, i), 16);
      if (!n) break;
      out += rest.slice(i + 2, i + 2 + n);
      rest = rest.slice(i + 2 + n + 2);
    }
    text = out;
  }
  let json;
  try { json = JSON.parse(text); } catch {}
  return { status: raw.status, headers: { get: (k) => raw.headers[k.toLowerCase()] ?? null }, text, json };
}

/** A chunked (no Content-Length) body, as a stream. */
const streamOf = (text, pieces = 10) => () => {
  const bytes = Buffer.from(text);
  const size = Math.ceil(bytes.length / pieces);
  return new ReadableStream({
    start(ctl) {
      for (let i = 0; i < bytes.length; i += size) ctl.enqueue(new Uint8Array(bytes.subarray(i, i + size)));
      ctl.close();
    },
  });
};
const chunked = (text) => {
  const parts = [];
  for (let i = 0; i < text.length; i += 3000) {
    const p = text.slice(i, i + 3000);
    parts.push(Buffer.byteLength(p, "latin1").toString(16) + "\r\n" + p + "\r\n");
  }
  return parts.join("") + "0\r\n\r\n";
};

const TOKEN_STYLE = new Set(["/token", "/token/", "/introspect", "/revoke"]);

/** The assertions every case gets, plus the case's own expectations. */
function check(label, path, r, exp) {
  cases++;
  const where = `${label}: ${r.status} ${r.text.slice(0, 300)}`;
  assert.ok(r.status < 500, `5xx for ${where}`);
  assert.equal(r.status, exp.status, where);
  const p = path.split("?")[0];
  if (exp.status >= 400) {
    assert.equal(r.headers.get("content-type"), "application/json", where);
    assert.ok(r.json && typeof r.json === "object" && !Array.isArray(r.json), `JSON error body for ${where}`);
    assert.equal(typeof r.json.error, "string", where);
    if (exp.error) assert.equal(r.json.error, exp.error, where);
    assert.equal(typeof r.json.error_description, "string", where);
  }
  if (p === "/token" || p === "/token/") {
    assert.equal(r.headers.get("cache-control"), "no-store", where);
    assert.equal(r.headers.get("pragma"), "no-cache", where);
  }
  if ("www" in exp) assert.equal(r.headers.get("www-authenticate"), exp.www, where);
  else if (TOKEN_STYLE.has(p) && exp.status === 400) assert.equal(r.headers.get("www-authenticate"), null, where);
  if (exp.allow) assert.equal(r.headers.get("allow"), exp.allow, where);
  if (exp.field) assert.equal(r.json.field, exp.field, where);
}

/** Run every case; return the failures (all of them, so that one does not hide the next). */
async function runCases(list) {
  const failures = [];
  for (const k of list) {
    try {
      const r = await send(k);
      check(k.name, k.path ?? "/token", r, k);
    } catch (e) {
      failures.push(`${k.name}: ${e.message.split("\n")[0]}`);
    }
  }
  return failures;
}

function assertNoFailures(failures) {
  if (failures.length) assert.fail(`${failures.length} case(s) failed:\n  ${failures.join("\n  ")}`);
}

/** Live token records in the Durable Objects' SQLite files (read-only). */
const tokenRecords = () => storedKeys(worker.stateDir, "t:");

/** Nothing issued, nothing broken: the token count is unchanged, t0 still validates, and an
 * ordinary token request still works. */
async function assertTokenStateUnchanged(before) {
  assert.equal(tokenRecords(), before, "bad requests issued or deleted no token");
  const v = await api.validate(t0);
  assert.equal(v.status, 200, `the earlier token still validates: ${v.text}`);
  assert.equal(v.json.client_id, c.client_id);
  const good = await api.token(c.client_id, c.client_secret, { ip: nextIp() });
  assert.equal(good.status, 200, `a good /token still works: ${good.text}`);
}

const basicC = () => api.basic(c.client_id, c.client_secret);
const form = (extra = {}) => ({ "content-type": FORM, ...extra });
const withBasic = (extra = {}) => ({ authorization: basicC(), "content-type": FORM, ...extra });

// ---- /token ---------------------------------------------------------------------------------

test("/token, /introspect, /revoke: methods, content types and encoding", async () => {
  const before = tokenRecords();
  const inv = { status: 400, error: "invalid_request" };
  const m405 = { status: 405, allow: "POST" };
  const failures = await runCases([
    // RFC 6749 §3.2: POST only.
    ...["GET", "PUT", "DELETE", "PATCH", "OPTIONS"].map((method) => ({ name: `${method} /token`, method, headers: { authorization: basicC() }, ...m405 })),
    { name: "GET /token/", method: "GET", path: "/token/", ...m405 },
    { name: "GET /introspect", method: "GET", path: "/introspect", ...m405 },
    { name: "PUT /introspect", method: "PUT", path: "/introspect", headers: withBasic(), body: "token=x", ...m405 },
    { name: "GET /revoke", method: "GET", path: "/revoke", ...m405 },
    { name: "DELETE /revoke", method: "DELETE", path: "/revoke", headers: withBasic(), ...m405 },
    { name: "POST to the metadata", path: "/.well-known/oauth-authorization-server", headers: withBasic(), body: OK_BODY, status: 405, allow: "GET, HEAD" },
    // Content type.
    { name: "JSON content type", headers: { authorization: basicC(), "content-type": "application/json" }, body: JSON.stringify({ grant_type: "client_credentials" }), ...inv },
    { name: "JSON content type, form body", headers: { authorization: basicC(), "content-type": "application/json" }, body: OK_BODY, ...inv },
    { name: "no content type", headers: { authorization: basicC() }, body: Buffer.from(OK_BODY), ...inv },
    { name: "content type list", headers: { authorization: basicC(), "content-type": `${FORM}, application/json` }, body: OK_BODY, ...inv },
    { name: "content type list, form second", headers: { authorization: basicC(), "content-type": `application/json, ${FORM}` }, body: OK_BODY, ...inv },
    { name: "two content-type headers", headers: [["authorization", basicC()], ["content-type", FORM], ["content-type", "text/plain"]], body: OK_BODY, ...inv },
    { name: "charset=iso-8859-1", headers: withBasic({ "content-type": `${FORM}; charset=iso-8859-1` }), body: OK_BODY, ...inv },
    { name: "boundary parameter", headers: withBasic({ "content-type": `${FORM}; boundary=xyz` }), body: OK_BODY, ...inv },
    { name: "charset plus unknown parameter", headers: withBasic({ "content-type": `${FORM}; charset=utf-8; q=1` }), body: OK_BODY, ...inv },
    { name: "multipart/form-data", headers: withBasic({ "content-type": "multipart/form-data; boundary=b" }), body: `--b\r\ncontent-disposition: form-data; name="grant_type"\r\n\r\nclient_credentials\r\n--b--\r\n`, ...inv },
    { name: "text/plain", headers: withBasic({ "content-type": "text/plain" }), body: OK_BODY, ...inv },
    { name: "JSON content type on /introspect", path: "/introspect", headers: withBasic({ "content-type": "application/json" }), body: '{"token":"x"}', ...inv },
    { name: "no content type on /revoke", path: "/revoke", headers: { authorization: basicC() }, body: Buffer.from("token=x"), ...inv },
    // Encoding: strict percent-decoding and UTF-8.
    { name: "grant_type=%FF", headers: withBasic(), body: "grant_type=%FF", ...inv },
    { name: "raw 0xFF byte in a value", headers: withBasic(), body: Buffer.concat([Buffer.from(OK_BODY + "&scope=read"), Buffer.from([0xff])]), ...inv },
    { name: "raw 0xFE byte in a name", headers: withBasic(), body: Buffer.concat([Buffer.from(OK_BODY + "&"), Buffer.from([0xfe]), Buffer.from("=1")]), ...inv },
    { name: "overlong UTF-8 %C0%AF", headers: withBasic(), body: OK_BODY + "&scope=%C0%AF", ...inv },
    { name: "bad escape %zz", headers: withBasic(), body: OK_BODY + "&scope=%zz", ...inv },
    { name: "truncated escape %4", headers: withBasic(), body: OK_BODY + "&scope=%4", ...inv },
    { name: "lone %", headers: withBasic(), body: "grant_type=client_credentials%", ...inv },
    { name: "NUL in grant_type", headers: withBasic(), body: Buffer.from("grant_type=client_credentials\0"), status: 400, error: "unsupported_grant_type" },
  ]);
  await assertTokenStateUnchanged(before);
  assertNoFailures(failures);
});

test("/token, /introspect, /revoke: bodies over 8 KiB, declared or chunked", async () => {
  const before = tokenRecords();
  const big = OK_BODY + "&pad=" + "x".repeat(9000);
  const inv = { status: 400, error: "invalid_request" };
  const failures = await runCases([
    { name: "9000-byte body with content-length", headers: withBasic(), body: big, ...inv },
    { name: "9000-byte chunked body (stream)", headers: withBasic(), body: streamOf(big), ...inv },
    { name: "9000-byte body on /introspect", path: "/introspect", headers: withBasic(), body: `token=${t0}&pad=${"x".repeat(9000)}`, ...inv },
    { name: "9000-byte chunked body on /revoke", path: "/revoke", headers: withBasic(), body: streamOf(`token=${t0}&pad=${"x".repeat(9000)}`), ...inv },
    { name: "64 KiB body with content-length", headers: withBasic(), body: OK_BODY + "&pad=" + "y".repeat(65536), ...inv },
    { name: "64 KiB chunked body", headers: withBasic(), body: streamOf(OK_BODY + "&pad=" + "y".repeat(65536), 64), ...inv },
    { name: "9000-byte body again", headers: withBasic(), body: big, ...inv },
  ]);
  // Also: an ordinary request right after the oversized ones still works.
  await assertTokenStateUnchanged(before);
  assertNoFailures(failures);
});

test("/token: missing, empty, repeated and unknown parameters", async () => {
  const before = tokenRecords();
  const inv = { status: 400, error: "invalid_request" };
  const post = `client_id=${c.client_id}&client_secret=${c.client_secret}`;
  const failures = await runCases([
    { name: "empty body", headers: withBasic(), body: "", ...inv },
    { name: "no grant_type", headers: withBasic(), body: "scope=read", ...inv },
    { name: "empty grant_type", headers: withBasic(), body: "grant_type=", ...inv },
    { name: "grant_type without =", headers: withBasic(), body: "grant_type", ...inv },
    { name: "grant_type in the query only", path: "/token?grant_type=client_credentials", headers: withBasic(), body: "", ...inv },
    { name: "repeated grant_type", headers: withBasic(), body: `${OK_BODY}&${OK_BODY}`, ...inv },
    { name: "repeated grant_type, first empty", headers: withBasic(), body: `grant_type=&${OK_BODY}`, ...inv },
    { name: "repeated grant_type, different", headers: withBasic(), body: `${OK_BODY}&grant_type=password`, ...inv },
    { name: "repeated scope", headers: withBasic(), body: `${OK_BODY}&scope=read&scope=write`, ...inv },
    { name: "repeated empty scope", headers: withBasic(), body: `${OK_BODY}&scope=&scope=`, ...inv },
    { name: "repeated client_id (post)", headers: form(), body: `${OK_BODY}&client_id=${c.client_id}&${post}`, ...inv },
    { name: "repeated client_secret (post)", headers: form(), body: `${OK_BODY}&${post}&client_secret=${c.client_secret}`, ...inv },
    { name: "repeated client_id beside Basic", headers: withBasic(), body: `${OK_BODY}&client_id=${c.client_id}&client_id=${c.client_id}`, ...inv },
    { name: "repeated token on /introspect", path: "/introspect", headers: withBasic(), body: `token=${t0}&token=${t0}`, ...inv },
    { name: "missing token on /introspect", path: "/introspect", headers: withBasic(), body: "token_type_hint=access_token", ...inv },
    { name: "empty token on /revoke", path: "/revoke", headers: withBasic(), body: "token=", ...inv },
    { name: "repeated token_type_hint on /revoke", path: "/revoke", headers: withBasic(), body: `token=${t0}&token_type_hint=a&token_type_hint=b`, ...inv },
    // Unknown grants: the client authenticates, then the grant is refused.
    ...["password", "urn:ietf:params:oauth:grant-type:jwt-bearer", "CLIENT_CREDENTIALS", "client_credentials ", "implicit", "AUTHORIZATION_CODE"].map((g) => ({
      name: `grant_type=${g}`, headers: withBasic(), body: `grant_type=${encodeURIComponent(g)}&code=x&refresh_token=y`, status: 400, error: "unsupported_grant_type",
    })),
    // Known grants this client does not have.
    ...["authorization_code", "refresh_token", "urn:ietf:params:oauth:grant-type:device_code", "urn:ietf:params:oauth:grant-type:token-exchange"].map((g) => ({
      name: `grant_type=${g}`, headers: withBasic(), body: `grant_type=${encodeURIComponent(g)}&code=x&refresh_token=y`, status: 400, error: "unauthorized_client",
    })),
    { name: "grant not allowed for the client", headers: form({ authorization: api.basic(keysOnly.client_id, keysOnly.client_secret) }), body: OK_BODY, status: 400, error: "unauthorized_client" },
    // Scopes.
    { name: "scope not allowed", headers: withBasic(), body: `${OK_BODY}&scope=admin`, status: 400, error: "invalid_scope" },
    { name: "scope one allowed, one not", headers: withBasic(), body: `${OK_BODY}&scope=read+admin`, status: 400, error: "invalid_scope" },
    { name: "scope with a quote", headers: withBasic(), body: `${OK_BODY}&scope=re%22ad`, status: 400, error: "invalid_scope" },
    { name: "scope with a tab", headers: withBasic(), body: `${OK_BODY}&scope=read%09write`, status: 400, error: "invalid_scope" },
    { name: "scope with a backslash", headers: withBasic(), body: `${OK_BODY}&scope=read%5C`, status: 400, error: "invalid_scope" },
    { name: "scope of 65 tokens", headers: withBasic(), body: `${OK_BODY}&scope=${Array.from({ length: 65 }, (_, i) => `s${i}`).join("+")}`, status: 400, error: "invalid_scope" },
    { name: "scope of 200 characters", headers: withBasic(), body: `${OK_BODY}&scope=${"r".repeat(200)}`, status: 400, error: "invalid_scope" },
    { name: "non-ASCII scope", headers: withBasic(), body: `${OK_BODY}&scope=%C3%A9`, status: 400, error: "invalid_scope" },
  ]);
  await assertTokenStateUnchanged(before);
  assertNoFailures(failures);
});

test("/token: client authentication, malformed and misplaced", async () => {
  const before = tokenRecords();
  const inv = { status: 400, error: "invalid_request", www: null };
  const id = c.client_id;
  const secret = c.client_secret;
  const swapped = "+" + secret.slice(1);
  const failures = await runCases([
    // RFC 6749 §2.3: one method only.
    { name: "Basic plus client_secret in the body", headers: withBasic(), body: `${OK_BODY}&client_secret=${secret}`, ...inv },
    { name: "Basic plus client_id and client_secret in the body", headers: withBasic(), body: `${OK_BODY}&client_id=${id}&client_secret=${secret}`, ...inv },
    { name: "Basic plus an empty client_secret in the body", headers: withBasic(), body: `${OK_BODY}&client_secret=`, ...inv },
    { name: "Basic plus a different client_id in the body", headers: withBasic(), body: `${OK_BODY}&client_id=${keyClient.client_id}`, ...inv },
    // Malformed Basic.
    { name: "Basic, nothing after it", headers: form({ authorization: "Basic" }), body: OK_BODY, ...inv },
    { name: "Basic, only spaces after it", headers: form({ authorization: "Basic    " }), body: OK_BODY, ...inv },
    { name: "Basic, not base64", headers: form({ authorization: "Basic !!!not-base64!!!" }), body: OK_BODY, ...inv },
    { name: "Basic, base64url alphabet", headers: form({ authorization: "Basic " + b64(`${id}:${secret}??>>`).replace(/\+/g, "-").replace(/\//g, "_") + "_-_-" }), body: OK_BODY, ...inv },
    { name: "Basic, no colon", headers: form({ authorization: basicRaw(`${id}${secret}`) }), body: OK_BODY, ...inv },
    { name: "Basic, colon only percent-encoded (%3A does not split)", headers: form({ authorization: basicRaw(`${id}%3A${secret}`) }), body: OK_BODY, ...inv },
    { name: "Basic, empty id", headers: form({ authorization: basicRaw(`:${secret}`) }), body: OK_BODY, ...inv },
    { name: "Basic, bad escape in id", headers: form({ authorization: basicRaw(`${id}%zz:${secret}`) }), body: OK_BODY, ...inv },
    { name: "Basic, bad escape in secret", headers: form({ authorization: basicRaw(`${id}:${secret}%zz`) }), body: OK_BODY, ...inv },
    { name: "Basic, truncated escape", headers: form({ authorization: basicRaw(`${id}:${secret}%4`) }), body: OK_BODY, ...inv },
    { name: "Basic, %FF in the secret", headers: form({ authorization: basicRaw(`${id}:${secret}%FF`) }), body: OK_BODY, ...inv },
    { name: "Basic, raw 0xFF in the id", headers: form({ authorization: "Basic " + Buffer.concat([Buffer.from(id), Buffer.from([0xff]), Buffer.from(":" + secret)]).toString("base64") }), body: OK_BODY, ...inv },
    { name: "Basic, 5000-character header", headers: form({ authorization: "Basic " + "QUFB".repeat(1250) }), body: OK_BODY, ...inv },
    { name: "two Basic headers", headers: [["authorization", basicC()], ["authorization", basicC()], ["content-type", FORM]], body: OK_BODY, ...inv },
    // Credentials in the URL (RFC 6749 §2.3.1).
    { name: "client_id and client_secret in the query", path: `/token?client_id=${id}&client_secret=${secret}`, headers: form(), body: OK_BODY, ...inv },
    { name: "client_secret in the query, Basic header", path: `/token?client_secret=${secret}`, headers: withBasic(), body: OK_BODY, ...inv },
    { name: "client_id in the query, secret in the body", path: `/token?client_id=${id}`, headers: form(), body: `${OK_BODY}&client_secret=${secret}`, ...inv },
    { name: "client_secret in the query of /introspect", path: `/introspect?client_secret=${secret}`, headers: withBasic(), body: `token=${t0}`, ...inv },
    { name: "client_id in the query of /revoke", path: `/revoke?client_id=${id}`, headers: withBasic(), body: `token=${t0}`, ...inv },
    // Failed authentication: 401 invalid_client, the Basic challenge only for header attempts.
    { name: "wrong secret (Basic)", headers: form({ authorization: api.basic(id, "wrong") }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "'+' in place of a secret character (decodes to a space)", headers: form({ authorization: basicRaw(`${id}:${swapped}`) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "secret with a trailing '+'", headers: form({ authorization: basicRaw(`${id}:${secret}+`) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "id with an encoded colon %3A", headers: form({ authorization: basicRaw(`${id}%3A:${secret}`) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "empty secret (Basic)", headers: form({ authorization: basicRaw(`${id}:`) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "unknown client (Basic)", headers: form({ authorization: api.basic("no-such-client", "wrong") }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "65-character unknown id (Basic)", headers: form({ authorization: api.basic("a".repeat(65), secret) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "non-ASCII unknown id (Basic)", headers: form({ authorization: api.basic("ключ/../..", secret) }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "no credentials at all", headers: form(), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "Bearer scheme on /token", headers: form({ authorization: `Bearer ${t0}` }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "Digest scheme on /token", headers: form({ authorization: 'Digest username="x"' }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "wrong secret (post)", headers: form(), body: `${OK_BODY}&client_id=${id}&client_secret=wrong`, status: 401, error: "invalid_client", www: null },
    { name: "client_id only (post)", headers: form(), body: `${OK_BODY}&client_id=${id}`, status: 401, error: "invalid_client", www: null },
    { name: "client_secret only (post)", headers: form(), body: `${OK_BODY}&client_secret=${secret}`, status: 401, error: "invalid_client", www: null },
    { name: "empty client_id (post)", headers: form(), body: `${OK_BODY}&client_id=&client_secret=${secret}`, status: 401, error: "invalid_client", www: null },
    { name: "4000-character client_id (post)", headers: form(), body: `${OK_BODY}&client_id=${"z".repeat(4000)}&client_secret=x`, status: 401, error: "invalid_client", www: null },
    { name: "wrong secret on /introspect", path: "/introspect", headers: form({ authorization: api.basic(id, "wrong") }), body: `token=${t0}`, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "wrong secret on /revoke", path: "/revoke", headers: form({ authorization: api.basic(id, "wrong") }), body: `token=${t0}`, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "no credentials on /revoke", path: "/revoke", headers: form(), body: `token=${t0}`, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
    { name: "wrong secret of a client without the grant", headers: form({ authorization: api.basic(keysOnly.client_id, "wrong") }), body: OK_BODY, status: 401, error: "invalid_client", www: BASIC_CHALLENGE },
  ]);
  await assertTokenStateUnchanged(before);
  assertNoFailures(failures);
});

test("/token: unknown client and wrong secret are indistinguishable", async () => {
  const disabled = await api.createClient({ name: "disabled" });
  await api.admin("PATCH", `/admin/clients/${disabled.client_id}`, { disabled: true });
  const deleted = await api.createClient({ name: "deleted" });
  await api.admin("DELETE", `/admin/clients/${deleted.client_id}`);
  const headerSet = (r) => JSON.stringify([...r.headers.entries()].filter(([k]) => k !== "date").sort());
  for (const via of ["basic", "post"]) {
    const attempt = (id, secret) => send({
      headers: via === "basic" ? form({ authorization: api.basic(id, secret) }) : form(),
      body: via === "basic" ? OK_BODY : `${OK_BODY}&client_id=${encodeURIComponent(id)}&client_secret=${encodeURIComponent(secret)}`,
    });
    const wrong = await attempt(c.client_id, "wrong-secret");
    const others = {
      unknown: await attempt("AAAAAAAAAAAAAAAAAAAAAA", "wrong-secret"),
      "disabled, right secret": await attempt(disabled.client_id, disabled.client_secret),
      "deleted, right secret": await attempt(deleted.client_id, deleted.client_secret),
    };
    check(`wrong secret (${via})`, "/token", wrong, { status: 401, error: "invalid_client", www: via === "basic" ? BASIC_CHALLENGE : null });
    for (const [what, r] of Object.entries(others)) {
      check(`${what} (${via})`, "/token", r, { status: 401, error: "invalid_client", www: via === "basic" ? BASIC_CHALLENGE : null });
      assert.equal(r.text, wrong.text, `${what} (${via}): byte-identical body`);
      assert.equal(headerSet(r), headerSet(wrong), `${what} (${via}): identical headers`);
    }
  }
});

test("/token: unusual but valid input is accepted (RFC 7235, RFC 6749 §2.3.1, §3.1)", async () => {
  const id = c.client_id;
  const secret = c.client_secret;
  const exact = OK_BODY + "&pad=" + "x".repeat(8192 - OK_BODY.length - 5);
  assert.equal(exact.length, 8192);
  const ok = { status: 200 };
  const list = [
    { name: "lower-case basic scheme", headers: form({ authorization: "basic " + b64(`${id}:${secret}`) }), body: OK_BODY, ...ok },
    { name: "upper-case BASIC scheme", headers: form({ authorization: "BASIC " + b64(`${id}:${secret}`) }), body: OK_BODY, ...ok },
    { name: "Basic with extra spaces", headers: form({ authorization: "Basic    " + b64(`${id}:${secret}`) }), body: OK_BODY, ...ok },
    { name: "every character of the secret percent-encoded", headers: form({ authorization: basicRaw(`${id}:${encodeAll(secret)}`) }), body: OK_BODY, ...ok },
    { name: "every character of id and secret percent-encoded", headers: form({ authorization: basicRaw(`${encodeAll(id)}:${encodeAll(secret)}`) }), body: OK_BODY, ...ok },
    { name: "lower-case hex escapes", headers: form({ authorization: basicRaw(`${id}:${encodeAll(secret).toLowerCase()}`) }), body: OK_BODY, ...ok },
    { name: "Basic without base64 padding", headers: form({ authorization: "Basic " + b64(`${id}:${secret}`).replace(/=+$/, "") }), body: OK_BODY, ...ok },
    { name: "charset=utf-8", headers: withBasic({ "content-type": `${FORM}; charset=utf-8` }), body: OK_BODY, ...ok },
    { name: 'charset="UTF-8"', headers: withBasic({ "content-type": `${FORM};charset="UTF-8"` }), body: OK_BODY, ...ok },
    { name: "upper-case media type", headers: withBasic({ "content-type": FORM.toUpperCase() }), body: OK_BODY, ...ok },
    { name: "client_id in the body equal to the Basic id", headers: withBasic(), body: `${OK_BODY}&client_id=${id}`, ...ok },
    { name: "empty scope means absent", headers: withBasic(), body: `${OK_BODY}&scope=`, ...ok, scope: "read write" },
    { name: "runs of spaces between scopes", headers: withBasic(), body: `${OK_BODY}&scope=read++write`, ...ok, scope: "read write" },
    { name: "unknown parameters are ignored", headers: withBasic(), body: `${OK_BODY}&foo=bar&&x`, ...ok },
    { name: "a body of exactly 8 KiB", headers: withBasic(), body: exact, ...ok },
    { name: "a small chunked body (stream)", headers: withBasic(), body: streamOf(OK_BODY, 3), ...ok },
    { name: "percent-encoded post credentials", headers: form(), body: `${OK_BODY}&client_id=${encodeAll(id)}&client_secret=${encodeAll(secret)}`, ...ok },
  ];
  for (const k of list) {
    const r = await send(k);
    check(k.name, "/token", r, k);
    assert.equal(r.json.token_type, "Bearer", k.name);
    if (k.scope) assert.equal(r.json.scope, k.scope, k.name);
  }
});

// ---- raw bytes: non-UTF-8 headers, chunked bodies -----------------------------------------

test("raw requests: non-UTF-8 header bytes and chunked bodies over 8 KiB", async () => {
  const before = tokenRecords();
  const big = OK_BODY + "&pad=" + "x".repeat(9000);
  const F = `content-type: ${FORM}`;
  const cl = (s) => `content-length: ${Buffer.byteLength(s, "latin1")}`;
  const inv = { status: 400, error: "invalid_request" };
  const list = [
    ["/token", "POST", [`authorization: ${basicC()}`, F, "transfer-encoding: chunked"], chunked(big), inv],
    ["/introspect", "POST", [`authorization: ${basicC()}`, F, "transfer-encoding: chunked"], chunked(`token=${t0}&pad=${"x".repeat(9000)}`), inv],
    ["/admin/clients", "POST", [`authorization: Bearer ${ADMIN}`, "content-type: application/json", "transfer-encoding: chunked"], chunked(JSON.stringify({ name: "n".repeat(9000) })), { ...inv, field: "body" }],
    ["/token", "POST", ["authorization: Basic \xff\xfe\xfd", F, cl(OK_BODY)], OK_BODY, { ...inv, www: null }],
    ["/token", "POST", [`authorization: ${basicC()}`, `content-type: ${FORM}; charset=\xff`, cl(OK_BODY)], OK_BODY, inv],
    ["/token", "POST", [`authorization: ${basicC()}`, "content-type: application/x-www-form-\xe9ncoded", cl(OK_BODY)], OK_BODY, inv],
    ["/token", "POST", [`authorization: ${basicC()}`, F, cl("grant_type=client_credentials&scope=r\xe9ad")], "grant_type=client_credentials&scope=r\xe9ad", inv],
    ["/validate", "GET", ["authorization: Bearer \xff\xfe"], "", { ...inv, www: BEARER_INVALID_REQUEST }],
    ["/validate", "GET", [`authorization: Bearer ${t0}\xe9`], "", { ...inv, www: BEARER_INVALID_REQUEST }],
    ["/validate", "GET", ["key: \xe9\xff"], "", { status: 401, error: "invalid_token", www: BEARER_INVALID_TOKEN }],
    ["/validate", "GET", [`authorization: Bearer ${t0}`, `authorization: Bearer ${t0}`], "", { ...inv, www: BEARER_INVALID_REQUEST }],
    ["/admin/clients", "GET", ["authorization: Bearer \xff"], "", { status: 401 }],
  ];
  const failures = [];
  for (const [path, method, headers, body, exp] of list) {
    const label = `raw ${method} ${path} ${JSON.stringify(headers).slice(0, 120)}`;
    try {
      check(label, path, await sendRaw(path, method, headers, body), exp);
    } catch (e) {
      failures.push(`${label}: ${e.message.split("\n")[0]}`);
    }
  }
  await assertTokenStateUnchanged(before);
  assertNoFailures(failures);
});

// ---- /validate ------------------------------------------------------------------------------

test("/validate: malformed, oversized and conflicting credentials", async () => {
  const inv = { status: 400, error: "invalid_request", www: BEARER_INVALID_REQUEST };
  const bad = { status: 401, error: "invalid_token", www: BEARER_INVALID_TOKEN };
  const none = { status: 401, error: "invalid_request", www: BEARER_BARE };
  const auth = (v) => ({ authorization: v });
  const before = (await api.form("/introspect", c.client_id, c.client_secret, `token=${t0}`)).json;
  // `exp` has whole seconds: past a second boundary, a slide by any refused case would show.
  await sleep(1100);
  const failures = await runCases([
    { name: '"Bearer" alone', headers: auth("Bearer"), ip: HOME_IP, ...inv },
    { name: '"Bearer " and spaces', headers: auth("Bearer    "), ip: HOME_IP, ...inv },
    { name: "two tokens in one header", headers: auth(`Bearer ${t0} ${t0}`), ip: HOME_IP, ...inv },
    { name: "two Bearer credentials, comma-joined", headers: auth(`Bearer ${t0}, Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "two Authorization headers", headers: [["authorization", `Bearer ${t0}`], ["authorization", `Bearer ${t0}`]], ip: HOME_IP, ...inv },
    { name: "5000-character Bearer header", headers: auth("Bearer " + "A".repeat(4993)), ip: HOME_IP, ...inv },
    { name: "5000-character header of a valid token and padding", headers: auth(`Bearer ${t0}${"=".repeat(5000)}`), ip: HOME_IP, ...inv },
    { name: "token of only '='", headers: auth("Bearer ==="), ip: HOME_IP, ...inv },
    { name: "'=' inside the token", headers: auth(`Bearer ${t0.slice(0, 5)}=${t0.slice(5)}`), ip: HOME_IP, ...inv },
    { name: "token with a comma", headers: auth(`Bearer ${t0},`), ip: HOME_IP, ...inv },
    { name: "token with a quote", headers: auth(`Bearer "${t0}"`), ip: HOME_IP, ...inv },
    { name: "malformed Basic on /validate", headers: auth("Basic !!!"), ip: HOME_IP, ...inv },
    { name: "Bearer and key header at once", headers: { authorization: `Bearer ${t0}`, key: keyClient.client_id }, ip: HOME_IP, ...inv },
    { name: "Bearer and key query at once", path: `/validate?key=${keyClient.client_id}`, headers: auth(`Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "two different API keys", path: `/validate?key=${c.client_id}`, headers: { key: keyClient.client_id }, ...inv },
    { name: "repeated key query", path: `/validate?key=${keyClient.client_id}&key=${keyClient.client_id}`, ...inv },
    { name: "repeated scope query", path: "/validate?scope=read&scope=read", headers: auth(`Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "scope query with %FF", path: "/validate?scope=%FF", headers: auth(`Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "scope query with a bad escape", path: "/validate?scope=%zz", headers: auth(`Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "scope query with a quote", path: "/validate?scope=re%22ad", headers: auth(`Bearer ${t0}`), ip: HOME_IP, ...inv },
    { name: "no credential", ...none },
    { name: "empty key header and query", path: "/validate?key=", headers: { key: "" }, ...none },
    { name: "Digest scheme", headers: auth('Digest username="x"'), ...none },
    { name: "well-formed Basic on /validate", headers: auth(api.basic(c.client_id, c.client_secret)), ...none },
    { name: "unknown token of our shape", headers: auth(`Bearer ${c.client_id}.${"A".repeat(43)}`), ...bad },
    { name: "token of another shape", headers: auth("Bearer abc.def"), ...bad },
    { name: "token with a 65-character client id", headers: auth(`Bearer ${"a".repeat(65)}.${"A".repeat(43)}`), ...bad },
    { name: "valid token from another address", headers: auth(`Bearer ${t0}`), ...bad },
    { name: "token truncated by one character", headers: auth(`Bearer ${t0.slice(0, -1)}`), ip: HOME_IP, ...bad },
    { name: "API key of a client that is not an API-key client", headers: { key: c.client_id }, ...bad },
    { name: "API key of 65 characters", headers: { key: "k".repeat(65) }, ...bad },
    { name: "API key with a path", path: "/validate?key=..%2F..%2Fadmin", ...bad },
    { name: "insufficient scope", path: "/validate?scope=admin", headers: auth(`Bearer ${t0}`), ip: HOME_IP, status: 403, error: "insufficient_scope", www: 'Bearer realm="edge-oauth", error="insufficient_scope", scope="admin"' },
  ].map((k) => ({ path: "/validate", method: "GET", ...k })));
  // None of these was a use: the token's expiry did not slide, and it still validates.
  const after = (await api.form("/introspect", c.client_id, c.client_secret, `token=${t0}`)).json;
  assert.equal(after.active, true);
  assert.equal(after.exp, before.exp, "a refused validation is not a use");
  assert.equal((await api.validate(t0)).status, 200);
  assertNoFailures(failures);
});

// ---- admin API ------------------------------------------------------------------------------

test("admin API: bad JSON, bad fields, bad auth, unknown clients and methods; nothing changes", async () => {
  const target = await api.createClient({ name: "admin-target", scopes: ["read"], token_ttl: 300 });
  const id = target.client_id;
  const snapshot = async () => ({
    list: (await api.admin("GET", "/admin/clients")).json,
    one: (await api.admin("GET", `/admin/clients/${id}`)).json,
  });
  const before = await snapshot();
  assert.ok(before.list.clients.length >= 4);

  const A = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
  const field = (f) => ({ status: 400, error: "invalid_request", field: f });
  const post = (name, body, f) => ({ name: `POST ${name}`, path: "/admin/clients", headers: A, body, ...field(f) });
  const patch = (name, body, f) => ({ name: `PATCH ${name}`, method: "PATCH", path: `/admin/clients/${id}`, headers: A, body, ...field(f) });
  const rotate = (name, body, f) => ({ name: `rotate ${name}`, path: `/admin/clients/${id}/secret`, headers: A, body, ...field(f) });
  const j = (o) => JSON.stringify(o);
  const nested = "[".repeat(1000) + "]".repeat(1000);
  const unauth = { status: 401, error: "invalid_token" };
  const notFound = { status: 404, error: "not_found" };
  const m405 = (allow) => ({ status: 405, allow });
  const failures = await runCases([
    // Not JSON, or not an object.
    post("invalid JSON", "{not json", "body"),
    post("empty body", "", "body"),
    post("truncated JSON", '{"name":"a"', "body"),
    post("trailing garbage", '{"name":"a"} x', "body"),
    post("JSON array", "[]", "body"),
    post("JSON string", '"name"', "body"),
    post("JSON number", "42", "body"),
    post("JSON null", "null", "body"),
    post("byte-order mark", "\ufeff" + j({ name: "a" }), "body"),
    post("1000-deep nesting", `{"name":"a","scopes":${nested}}`, "body"),
    post("invalid UTF-8", Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]), "body"),
    post("over 8 KiB", j({ name: "a", scopes: Array.from({ length: 64 }, (_, i) => `${i}`.padEnd(128, "s")) }), "body"),
    { ...post("over 8 KiB, chunked", streamOf(j({ name: "n".repeat(9000) })), "body") },
    // name
    post("missing name", j({ scopes: ["read"] }), "name"),
    post("empty name", j({ name: "" }), "name"),
    post("blank name", j({ name: "   " }), "name"),
    post("numeric name", j({ name: 5 }), "name"),
    post("null name", j({ name: null }), "name"),
    post("201-character name", j({ name: "n".repeat(201) }), "name"),
    post("name with a control character", j({ name: "a\u0000b" }), "name"),
    // numbers
    post("token_ttl as a string", j({ name: "a", token_ttl: "300" }), "token_ttl"),
    post("token_ttl 0", j({ name: "a", token_ttl: 0 }), "token_ttl"),
    post("negative token_ttl", j({ name: "a", token_ttl: -1 }), "token_ttl"),
    post("fractional token_ttl", j({ name: "a", token_ttl: 1.5 }), "token_ttl"),
    post("token_ttl 99999999999999999999999", '{"name":"a","token_ttl":99999999999999999999999}', "token_ttl"),
    post("token_ttl 2^64", '{"name":"a","token_ttl":18446744073709551616}', "token_ttl"),
    post("token_ttl over 30 days", j({ name: "a", token_ttl: 30 * 86400 + 1 }), "token_ttl"),
    // serde_json cannot represent 1e309 at all: it is refused as JSON, naming the body.
    post("token_ttl 1e309", '{"name":"a","token_ttl":1e309}', "body"),
    post("max_lifetime -1e309", '{"name":"a","max_lifetime":-1e309}', "body"),
    post("negative max_lifetime", j({ name: "a", max_lifetime: -86400 }), "max_lifetime"),
    post("max_lifetime over a year", j({ name: "a", max_lifetime: 365 * 86400 + 1 }), "max_lifetime"),
    post("max_lifetime below token_ttl", j({ name: "a", token_ttl: 600, max_lifetime: 60 }), "max_lifetime"),
    post("rate_limit 0", j({ name: "a", rate_limit: 0 }), "rate_limit"),
    post("negative rate_limit", j({ name: "a", rate_limit: -5 }), "rate_limit"),
    post("rate_limit 1e20", '{"name":"a","rate_limit":1e20}', "rate_limit"),
    post("rate_limit as a string", j({ name: "a", rate_limit: "5" }), "rate_limit"),
    // other types
    post("expiry unknown", j({ name: "a", expiry: "forever" }), "expiry"),
    post("expiry upper-case", j({ name: "a", expiry: "FIXED" }), "expiry"),
    post("scopes as a string", j({ name: "a", scopes: "read" }), "scopes"),
    post("scope with a space", j({ name: "a", scopes: ["a b"] }), "scopes"),
    post("empty scope", j({ name: "a", scopes: [""] }), "scopes"),
    post("numeric scope", j({ name: "a", scopes: [1] }), "scopes"),
    post("65 scopes", j({ name: "a", scopes: Array.from({ length: 65 }, (_, i) => `s${i}`) }), "scopes"),
    post("ip_binding as a string", j({ name: "a", ip_binding: "yes" }), "ip_binding"),
    post("api_key as a number", j({ name: "a", api_key: 1 }), "api_key"),
    post("introspect null", j({ name: "a", introspect: null }), "introspect"),
    post("grant_types password", j({ name: "a", grant_types: ["password"] }), "grant_types"),
    post("grant_types as a string", j({ name: "a", grant_types: "client_credentials" }), "grant_types"),
    // unknown fields, including ones that must never be settable
    post("unknown field", j({ name: "a", colour: "red" }), "colour"),
    post("disabled on create", j({ name: "a", disabled: true }), "disabled"),
    post("client_id chosen by the caller", j({ name: "a", client_id: "mine" }), "client_id"),
    post("client_secret chosen by the caller", j({ name: "a", client_secret: "mine" }), "client_secret"),
    post("created_at", j({ name: "a", created_at: 0 }), "created_at"),
    // PATCH: a bad field leaves every other field of the body unapplied.
    patch("bad ttl beside a good name", j({ name: "changed", token_ttl: -1 }), "token_ttl"),
    patch("disabled as a string", j({ name: "changed", disabled: "yes" }), "disabled"),
    patch("client_secret", j({ client_secret: "mine" }), "client_secret"),
    patch("secret hash", j({ secret: { hash: "x", generation: 0 } }), "secret"),
    patch("invalid JSON", "{", "body"),
    patch("JSON array", "[1]", "body"),
    patch("empty body", "", "body"),
    patch("max_lifetime below the current token_ttl", j({ max_lifetime: 10 }), "max_lifetime"),
    patch("over 8 KiB", j({ name: "n".repeat(9000) }), "body"),
    // Rotation: a bad body does not rotate.
    rotate("negative grace", j({ grace: -1 }), "grace"),
    rotate("grace as a string", j({ grace: "60" }), "grace"),
    rotate("grace over 30 days", j({ grace: 30 * 86400 + 1 }), "grace"),
    rotate("grace 1e309", '{"grace":1e309}', "body"),
    rotate("unknown field", j({ grace: 60, force: true }), "force"),
    rotate("JSON array", "[60]", "body"),
    rotate("invalid JSON", "grace=60", "body"),
    rotate("over 8 KiB", j({ grace: 1, pad: "p".repeat(9000) }), "body"),
    // Admin authentication.
    { name: "no admin token", path: "/admin/clients", method: "GET", ...unauth },
    { name: "wrong admin token", path: "/admin/clients", method: "GET", headers: { authorization: "Bearer nope" }, ...unauth },
    { name: "admin token plus a character", path: `/admin/clients/${id}`, method: "GET", headers: { authorization: `Bearer ${ADMIN}x` }, ...unauth },
    { name: "admin token minus a character", path: `/admin/clients/${id}`, method: "DELETE", headers: { authorization: `Bearer ${ADMIN.slice(0, -1)}` }, ...unauth },
    { name: "admin token as Basic", path: "/admin/clients", method: "GET", headers: { authorization: basicRaw(`admin:${ADMIN}`) }, ...unauth },
    { name: "admin token in the query", path: `/admin/clients?token=${ADMIN}&access_token=${ADMIN}`, method: "GET", ...unauth },
    { name: "admin token in a custom header", path: "/admin/clients", method: "GET", headers: { "x-admin-token": ADMIN }, ...unauth },
    { name: "malformed admin Bearer", path: "/admin/clients", method: "GET", headers: { authorization: `Bearer ${ADMIN} ${ADMIN}` }, ...unauth },
    { name: "wrong admin token, bad JSON", path: "/admin/clients", headers: { authorization: "Bearer nope", "content-type": "application/json" }, body: "{", ...unauth },
    { name: "wrong admin token, PATCH", path: `/admin/clients/${id}`, method: "PATCH", headers: { authorization: "Bearer nope" }, body: j({ disabled: true }), ...unauth },
    { name: "wrong admin token, rotate", path: `/admin/clients/${id}/secret`, headers: { authorization: "Bearer nope" }, ...unauth },
    // Unknown clients and paths.
    { name: "GET unknown client", path: "/admin/clients/AAAAAAAAAAAAAAAAAAAAAA", method: "GET", headers: A, ...notFound },
    { name: "PATCH unknown client", path: "/admin/clients/AAAAAAAAAAAAAAAAAAAAAA", method: "PATCH", headers: A, body: j({ name: "x" }), ...notFound },
    { name: "PATCH unknown client, bad JSON", path: "/admin/clients/nope", method: "PATCH", headers: A, body: "{", ...notFound },
    { name: "DELETE unknown client", path: "/admin/clients/nope", method: "DELETE", headers: A, ...notFound },
    { name: "rotate unknown client", path: "/admin/clients/nope/secret", headers: A, body: j({ grace: 5 }), ...notFound },
    { name: "GET a 500-character id", path: `/admin/clients/${"x".repeat(500)}`, method: "GET", headers: A, ...notFound },
    { name: "GET an id with escapes", path: `/admin/clients/${id}%00`, method: "GET", headers: A, ...notFound },
    { name: "unknown sub-path", path: `/admin/clients/${id}/tokens`, method: "GET", headers: A, ...notFound },
    { name: "too deep a path", path: `/admin/clients/${id}/secret/x`, headers: A, ...notFound },
    // Wrong methods.
    { name: "PUT /admin/clients", method: "PUT", path: "/admin/clients", headers: A, body: j({ name: "x" }), ...m405("GET, POST") },
    { name: "DELETE /admin/clients", method: "DELETE", path: "/admin/clients", headers: A, ...m405("GET, POST") },
    { name: "PUT a client", method: "PUT", path: `/admin/clients/${id}`, headers: A, body: j({ name: "x" }), ...m405("GET, PATCH, DELETE") },
    { name: "POST a client", path: `/admin/clients/${id}`, headers: A, body: j({ name: "x" }), ...m405("GET, PATCH, DELETE") },
    { name: "GET a secret", method: "GET", path: `/admin/clients/${id}/secret`, headers: A, ...m405("POST") },
    { name: "DELETE a secret", method: "DELETE", path: `/admin/clients/${id}/secret`, headers: A, ...m405("POST") },
    // Unknown paths outside the admin API.
    { name: "unknown path", method: "GET", path: "/nope", ...notFound },
    { name: "upper-case /TOKEN", path: "/TOKEN", headers: withBasic(), body: OK_BODY, ...notFound },
  ]);

  // Nothing changed: the same clients with the same settings, and the old secret still works.
  const after = await snapshot();
  assert.deepEqual(after.one, before.one, "the target client is unchanged");
  assert.deepEqual(after.list, before.list, "no client was created, changed or deleted");
  const tok = await api.token(id, target.client_secret, { ip: nextIp() });
  assert.equal(tok.status, 200, "the secret was not rotated");
  assert.equal(tok.json.expires_in, 300);
  // Lower-case "bearer" is the same scheme (RFC 7235 §2.1).
  const lower = await send({ method: "GET", path: `/admin/clients/${id}`, headers: { authorization: `bearer ${ADMIN}` } });
  check("lower-case bearer admin token", "/admin", lower, { status: 200 });
  assert.equal(lower.json.client_id, id);
  assertNoFailures(failures);
});
