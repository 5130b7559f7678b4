// Client ID Metadata Documents through the real runtime: a local document server (node http on
// 127.0.0.1, started here) and workers with CIMD=dev (loopback http allowed), CIMD=on and CIMD
// off. The code flow with a URL client_id, refresh and revocation; every refusal (http when on,
// path "/", a redirect not followed, > 5 KiB, slower than 5 s, non-200, not JSON, client_id
// mismatch, bad redirect_uris, client_credentials, client_secret_basic); the cache; the host
// blocklist; PATCH 403; the metadata flag.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import {
  startWorker, clientFor, formClient, ADMIN, uniq, pkce, authorizePath, htmlText, authorizeAs, codeFlow, createUser,
} from "./harness.mjs";

const REDIRECT = "https://app.example/cb";
const FORM = { "content-type": "application/x-www-form-urlencoded" };

// ---- the document server ----------------------------------------------------------------------

/** Hits per path. */
const hits = new Map();
let docServer, BASE;

/** What the server answers for a path: [status, headers, body, delay ms]. */
function answer(path) {
  const url = BASE + path;
  const doc = (extra = {}) => JSON.stringify({ client_id: url, client_name: "Doc App", redirect_uris: [REDIRECT], grant_types: ["authorization_code", "refresh_token"], ...extra });
  const json = { "content-type": "application/json" };
  const kind = path.split("/")[1];
  switch (kind) {
    case "good": return [200, json, doc()];
    case "cached": return [200, { ...json, "cache-control": "max-age=3600" }, doc()];
    case "redirect": return [302, { location: BASE + "/good/target.json" }, ""];
    case "big": return [200, json, doc({ logo_uri: "https://app.example/" + "x".repeat(6000) })];
    case "slow": return [200, json, doc(), 10000];
    case "missing": return [404, json, "{}"];
    case "html": return [200, { "content-type": "text/html" }, "<html>hello</html>"];
    case "mismatch": return [200, json, doc({ client_id: BASE + "/good/other.json" })];
    case "badredirect": return [200, json, doc({ redirect_uris: ["http://app.example/cb"] })];
    case "m2m": return [200, json, doc({ grant_types: ["authorization_code", "client_credentials"] })];
    case "secret": return [200, json, doc({ token_endpoint_auth_method: "client_secret_basic" })];
    default: return [200, json, doc()];
  }
}

let dev, on, api, onApi;

before(async () => {
  docServer = createServer((req, res) => {
    hits.set(req.url, (hits.get(req.url) ?? 0) + 1);
    const [status, headers, body, delay = 0] = answer(req.url);
    const timer = setTimeout(() => { res.writeHead(status, headers); res.end(body); }, delay);
    res.on("close", () => clearTimeout(timer));
  });
  await new Promise((r) => docServer.listen(0, "127.0.0.1", r));
  BASE = `http://127.0.0.1:${docServer.address().port}`;
  [dev, on] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, CIMD: "dev", REGISTRATION_SCOPES: "read mcp", AUTH_FAILURES_PER_IP: "100000" } }),
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, CIMD: "on" } }),
  ]);
  api = clientFor(dev.url);
  onApi = clientFor(on.url);
});
after(async () => {
  await Promise.all([dev?.destroy(), on?.destroy()]);
  docServer?.closeAllConnections();
  await new Promise((r) => docServer?.close(r));
});

/** A fresh document URL of `kind` on the document server. */
const docUrl = (kind) => `${BASE}/${kind}/${uniq()}.json`;
const hitsOf = (url) => hits.get(new URL(url).pathname) ?? 0;

function authPath(clientId, extra = {}) {
  const { verifier, challenge } = pkce();
  return { verifier, path: authorizePath({ response_type: "code", client_id: clientId, redirect_uri: REDIRECT, scope: "read", state: uniq(), code_challenge: challenge, code_challenge_method: "S256", ...extra }) };
}

/** The HTML 400 page, never a redirect. */
function assertPage(r, label, says) {
  assert.equal(r.status, 400, `${label}: the HTML 400 page, got ${r.status} ${r.headers.get("location") ?? ""} ${r.text.slice(0, 300)}`);
  assert.equal(r.headers.get("location"), null, `${label}: never a redirect`);
  assert.match(r.headers.get("content-type") ?? "", /^text\/html/);
  if (says) assert.match(htmlText(r.text), says, `${label}: ${htmlText(r.text).replace(/\s+/g, " ").slice(0, 400)}`);
}

const refresh = (a, clientId, token) =>
  a.call("POST", "/token", { headers: FORM, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(token)}&client_id=${encodeURIComponent(clientId)}` });

// ---- tests --------------------------------------------------------------------------------------

test("a good document: login, then consent naming the host, code with PKCE, tokens for client_id = URL (public), refresh and revocation", async () => {
  const url = docUrl("good");
  const user = await createUser(api);
  const fc = formClient(dev.url);
  const { path } = authPath(url);
  const consent = await authorizeAs(fc, dev.url, path, { username: user.username, password: user.password, decision: null });
  assert.ok(consent.loginShown, "the login page first");
  assert.ok(consent.consentShown, "then the consent page");
  const text = htmlText(consent.text);
  assert.ok(text.includes("Doc App"), "the document's client_name");
  assert.ok(consent.text.includes(`<b class="host">127.0.0.1</b>`), "the URL's host, prominently");
  assert.match(text, /described by\s+127\.0\.0\.1\s*, which chose its name/);

  const client = { client_id: url, redirect_uris: [REDIRECT] };
  const flow = await codeFlow(api, fc, dev.url, { client, user, scope: "read" });
  assert.equal(flow.token.status, 200, flow.token.text);
  assert.ok(flow.consentShown, "consent again, although a grant exists now");
  const t = flow.token.json;
  assert.match(t.access_token, /^m[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{43}$/, "a Bearer-safe token");
  assert.equal(t.scope, "read");
  assert.ok(t.refresh_token);
  const v = await api.validate(t.access_token);
  assert.equal(v.status, 200, v.text);
  assert.equal(v.json.client_id, url);
  assert.equal(v.json.sub, user.user_id);

  const r = await refresh(api, url, t.refresh_token);
  assert.equal(r.status, 200, r.text);
  assert.notEqual(r.json.refresh_token, t.refresh_token);
  assert.equal((await api.validate(r.json.access_token)).status, 200);

  const rv = await api.call("POST", "/revoke", { headers: FORM, body: `client_id=${encodeURIComponent(url)}&token=${encodeURIComponent(r.json.refresh_token)}` });
  assert.equal(rv.status, 200);
  assert.equal((await api.validate(r.json.access_token)).status, 401, "revoked with its family");
  assert.equal(hitsOf(url), 1, "fetched once; the rest came from the isolate's copy");
});

test("refusals at /authorize are the HTML 400 page, and invalid_client at /token", async () => {
  const cases = [
    ["redirect (302), not followed", "redirect", /status 302/],
    ["larger than 5 KiB", "big", /could not be fetched/],
    ["non-200", "missing", /status 404/],
    ["not JSON", "html", /not JSON/],
    ["client_id mismatch", "mismatch", /client_id/],
    ["bad redirect_uris", "badredirect", /redirect_uris/],
    ["grant_types with client_credentials", "m2m", /grant_types/],
    ["token_endpoint_auth_method client_secret_basic", "secret", /token_endpoint_auth_method/],
  ];
  const targetHits = hits.get("/good/target.json") ?? 0;
  for (const [label, kind, says] of cases) {
    const url = docUrl(kind);
    assertPage(await api.call("GET", authPath(url).path), label, says);
    assert.equal(hitsOf(url), 1, `${label}: fetched`);
    const t = await refresh(api, url, "m.x");
    assert.equal(t.status, 401, `${label}: /token ${t.status} ${t.text}`);
    assert.equal(t.json.error, "invalid_client");
  }
  assert.equal(hits.get("/good/target.json") ?? 0, targetHits, "the redirect was not followed");
});

test("a document slower than 5 s is unreachable", async () => {
  const url = docUrl("slow");
  const started = Date.now();
  const r = await api.call("GET", authPath(url).path);
  assertPage(r, "slow", /could not be fetched/);
  const took = Date.now() - started;
  // Well before the document would have come (10 s), with room for a slow machine.
  assert.ok(took >= 4500 && took < 9000, `gave up after about 5 s (took ${took} ms)`);
});

test("not document URLs: http when CIMD=on and path '/' are unknown clients; nothing is fetched", async () => {
  const httpUrl = docUrl("good");
  assertPage(await onApi.call("GET", authPath(httpUrl).path), "http with CIMD=on", /not registered/);
  assert.equal(hitsOf(httpUrl), 0, "not fetched");
  const before = hits.get("/") ?? 0;
  assertPage(await api.call("GET", authPath(BASE + "/").path), "path /", /not registered/);
  assert.equal(hits.get("/") ?? 0, before, "not fetched");
  const t = await refresh(onApi, httpUrl, "m.x");
  assert.equal(t.json?.error, "invalid_client");
});

test("cache: a second /authorize within 60 s does not fetch again", async () => {
  const url = docUrl("good");
  const first = await api.call("GET", authPath(url).path);
  assert.equal(first.status, 200, first.text.slice(0, 300));
  const second = await api.call("GET", authPath(url).path);
  assert.equal(second.status, 200);
  assert.equal(hitsOf(url), 1);
});

test("PATCH /admin/clients/{URL} is 403; such clients are not in the admin API", async () => {
  const url = docUrl("good");
  const r = await api.admin("PATCH", `/admin/clients/${encodeURIComponent(url)}`, { skip_consent: true });
  assert.equal(r.status, 403, r.text);
  assert.equal((await api.admin("GET", `/admin/clients/${encodeURIComponent(url)}`)).status, 404);
});

test("metadata: client_id_metadata_document_supported only when CIMD is on or dev; with CIMD off a URL is an unknown client", async () => {
  for (const a of [api, onApi]) {
    const m = await a.call("GET", "/.well-known/oauth-authorization-server");
    assert.equal(m.json.client_id_metadata_document_supported, true);
  }
  const off = await startWorker();
  try {
    const m = await clientFor(off.url).call("GET", "/.well-known/oauth-authorization-server");
    assert.equal(m.status, 200);
    assert.ok(!("client_id_metadata_document_supported" in m.json), "absent when off");
    const url = docUrl("good");
    assertPage(await clientFor(off.url).call("GET", authPath(url).path), "CIMD off", /not registered/);
    assert.equal(hitsOf(url), 0, "CIMD off: not fetched");
  } finally {
    await off.destroy();
  }
});

// Last: the block covers every document on the local server while it lasts.
test("blocklist: a blocked host is refused at /authorize and /token at once, although its document is cached", async () => {
  const url = docUrl("cached");
  const user = await createUser(api);
  const fc = formClient(dev.url);
  const flow = await codeFlow(api, fc, dev.url, { client: { client_id: url, redirect_uris: [REDIRECT] }, user, scope: "read" });
  assert.equal(flow.token.status, 200, flow.token.text);

  const b = await api.admin("POST", "/admin/cimd-blocklist", { host: "127.0.0.1" });
  assert.equal(b.status, 201, b.text);
  assert.deepEqual(b.json, { host: "127.0.0.1" });
  assert.deepEqual((await api.admin("GET", "/admin/cimd-blocklist")).json, { hosts: ["127.0.0.1"] });
  assertPage(await fc.get(authPath(url).path), "blocked at /authorize", /blocked/);
  const t = await refresh(api, url, flow.token.json.refresh_token);
  assert.equal(t.status, 401, t.text);
  assert.equal(t.json.error, "invalid_client");
  assert.equal(hitsOf(url), 1, "never fetched again");

  assert.equal((await api.admin("POST", "/admin/cimd-blocklist", { host: "https://x.example" })).status, 400);
  assert.equal((await api.call("GET", "/admin/cimd-blocklist")).status, 401);
  assert.equal((await api.admin("DELETE", "/admin/cimd-blocklist/127.0.0.1")).status, 204);
  assert.equal((await api.admin("DELETE", "/admin/cimd-blocklist/127.0.0.1")).status, 404);
  assert.deepEqual((await api.admin("GET", "/admin/cimd-blocklist")).json, { hosts: [] });
  const again = await refresh(api, url, flow.token.json.refresh_token);
  assert.equal(again.status, 200, `unblocked: ${again.text}`);
});
