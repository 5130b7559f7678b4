// An MCP-style client against edge-oauth, end to end: every protocol step is made by oauth4webapi
// (a certified OAuth client library), the person signs in and consents in headless Chromium.
//
// Cast (one `wrangler dev`, as tests/e2e/consumer.test.mjs runs it):
// - the protected resource: examples/consumer/worker.js on the port, with RESOURCE set to
//   `http://localhost:<port>/api` (the "MCP server URL"); edge-oauth behind its AUTH binding,
//   its endpoints passed through on the same port, configured with CIMD=dev, RESOURCES and
//   REGISTRATION_SCOPES (a generated copy of wrangler.toml: `--var` reaches only the first
//   config's Worker);
// - the client: a Client ID Metadata Document served by this test at
//   `http://127.0.0.1:<port>/client.json` (loopback http, accepted with CIMD=dev), whose
//   redirect URI is a loopback callback on the same server (RFC 8252 §7.3).
// The resource is reached as `localhost` and the client document as `127.0.0.1`, so the consent
// page's two hosts can be told apart.
//
// The steps follow the MCP authorization specification (2025-11-25, "Authorization"):
// 401 with `resource_metadata` → RFC 9728 metadata → `authorization_servers[0]` → RFC 8414
// metadata (`client_id_metadata_document_supported`, S256) → authorization code with PKCE (RFC
// 7636) and `resource` (RFC 8707), `iss` checked (RFC 9207) → token request with `resource` →
// the API with the token → refresh.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { chromium } from "playwright-core";
import * as oauth from "oauth4webapi";
import { startWorker, clientFor, freePort, createUser, parseChallenges, ROOT } from "../e2e/harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
// oauth4webapi refuses plain http unless told; everything here is loopback.
const insecure = { [oauth.allowInsecureRequests]: true };

let worker, browser, site, configDir, user;
let SERVER, RESOURCE, OTHER, CLIENT_ID, CALLBACK, metadataDoc;
/** Requests the client's site received: `{ path, query }`. */
const received = [];

/**
 * edge-oauth's wrangler.toml with `vars` added, written to a temporary folder (paths made
 * absolute): in a multi-config `wrangler dev`, a secondary Worker's variables come only from its
 * own config.
 */
function edgeConfig(vars) {
  const toml = readFileSync(join(ROOT, "wrangler.toml"), "utf8")
    .replace(/^main = "([^"]+)"/m, (_, m) => `main = ${JSON.stringify(relative(configDir, join(ROOT, m)))}`)
    .replace(/^\[build\]\n/m, `[build]\ncwd = ${JSON.stringify(ROOT)}\nwatch_dir = ${JSON.stringify(relative(configDir, join(ROOT, "src")))}\n`);
  const path = join(configDir, "wrangler.toml");
  writeFileSync(path, `${toml}\n[vars]\n${Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`).join("\n")}\n`);
  return path;
}

before(async () => {
  // The client's site: its metadata document and its loopback redirect URI.
  site = createServer((req, res) => {
    const u = new URL(req.url, "http://127.0.0.1");
    received.push({ path: u.pathname, query: u.searchParams });
    if (u.pathname === "/client.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "max-age=60" });
      res.end(JSON.stringify(metadataDoc));
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>MCP client</title><p>You can close this window.</p>");
  });
  await new Promise((r) => site.listen(0, "127.0.0.1", r));
  const sitePort = site.address().port;
  CLIENT_ID = `http://127.0.0.1:${sitePort}/client.json`;
  CALLBACK = `http://127.0.0.1:${sitePort}/callback`;
  metadataDoc = {
    client_id: CLIENT_ID,
    client_name: "Example MCP Client",
    redirect_uris: [CALLBACK],
    grant_types: ["authorization_code", "refresh_token"],
    token_endpoint_auth_method: "none",
  };

  const port = await freePort();
  SERVER = `http://localhost:${port}/api`; // the MCP server URL, and its resource identifier
  RESOURCE = SERVER;
  OTHER = `http://localhost:${port}/other`; // another resource edge-oauth serves tokens for

  // A person, made through the admin API of a plain edge-oauth session on the same state (the
  // consumer does not pass /admin through).
  const admin = await startWorker();
  try {
    user = await createUser(clientFor(admin.url, { ip: "203.0.113.50" }), { name: "Grace Hopper" });
  } finally {
    await admin.stop();
  }
  configDir = mkdtempSync(join(tmpdir(), "edge-oauth-mcp-"));
  const edge = edgeConfig({ CIMD: "dev", RESOURCES: `${RESOURCE} ${OTHER}`, REGISTRATION_SCOPES: "read write" });
  [worker, browser] = await Promise.all([
    startWorker({ configs: ["examples/consumer/wrangler.toml", edge], state: admin.stateDir, port, vars: { RESOURCE } }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
});
after(async () => {
  await browser?.close();
  await new Promise((r) => (site ? site.close(r) : r()));
  await worker?.destroy(true);
  if (configDir) rmSync(configDir, { recursive: true, force: true });
});

// ---- the MCP client's steps ------------------------------------------------------------------

/**
 * Discovery as an MCP client does it: call the server without a token, follow the 401's
 * `resource_metadata` (RFC 9728 §5.1), check the document is about the URL called (§3.3), and
 * read the first authorization server's RFC 8414 metadata (issuer checked, §3.3 of RFC 8414).
 */
async function discover() {
  const unauthenticated = await fetch(SERVER);
  assert.equal(unauthenticated.status, 401, "no token: 401");
  const challenges = parseChallenges(unauthenticated.headers.get("www-authenticate"));
  const bearer = challenges.find((c) => c.scheme === "bearer");
  assert.ok(bearer, `a Bearer challenge: ${unauthenticated.headers.get("www-authenticate")}`);
  const metadataUrl = bearer.params.resource_metadata;
  assert.ok(metadataUrl, "the challenge names the resource metadata (RFC 9728 §5.1; MCP: MUST)");

  const rs = await oauth.processResourceDiscoveryResponse(new URL(SERVER), await fetch(metadataUrl));
  assert.equal(rs.resource, RESOURCE);
  assert.ok(rs.authorization_servers?.length >= 1, "at least one authorization server (MCP: MUST)");
  const issuer = new URL(rs.authorization_servers[0]);
  const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: "oauth2", ...insecure }));
  return { metadataUrl, rs, as };
}

const client = () => ({ client_id: CLIENT_ID, token_endpoint_auth_method: "none" });

/** An authorization request (RFC 6749 §4.1.1) with PKCE S256 (RFC 7636) and `resource`s (RFC 8707). */
async function authorizationRequest(as, resources, scope = "read") {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set("response_type", "code");
  url.searchParams.set("client_id", CLIENT_ID);
  url.searchParams.set("redirect_uri", CALLBACK);
  url.searchParams.set("scope", scope);
  url.searchParams.set("state", state);
  url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set("code_challenge_method", "S256");
  for (const r of resources) url.searchParams.append("resource", r);
  return { url, verifier, state };
}

const passwordForm = (page) => page.locator("form:has(input[name=password])");
const approveButton = (page) => page.locator('button[name="decision"][value="approve"], input[type=submit][name="decision"][value="approve"]');

/**
 * The person's part, in a fresh browser context: sign in, read the consent page, approve.
 * Returns the consent page's text and the URL the browser landed on at the client.
 */
async function signInAndApprove(url, screenshot) {
  // Phone-sized, like the other screenshots in docs/.
  const context = await browser.newContext({ locale: "en-US", viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  try {
    const first = await page.goto(url.href);
    assert.equal(first.status(), 200, `the login page, not an error page: ${(await page.locator("body").innerText()).slice(0, 300)}`);
    const form = passwordForm(page);
    await form.waitFor();
    await form.locator("input[name=username]").fill(user.username);
    await form.locator("input[name=password]").fill(user.password);
    await form.locator("button, input[type=submit]").first().click();
    // A metadata-document client always gets the consent page.
    await approveButton(page).waitFor({ timeout: 20_000 });
    const consent = await page.locator("body").innerText();
    if (screenshot) await page.screenshot({ path: join(ROOT, "docs", screenshot), fullPage: true });
    await approveButton(page).click();
    await page.waitForURL((u) => u.href.startsWith(CALLBACK), { timeout: 20_000 });
    return { consent, landed: new URL(page.url()) };
  } finally {
    await context.close();
  }
}

/** The API, called as an MCP client calls its server: `Authorization: Bearer` (RFC 6750 §2.1). */
const callApi = (token) => oauth.protectedResourceRequest(token, "GET", new URL(SERVER), undefined, undefined, insecure);

// ---- tests -----------------------------------------------------------------------------------

test("MCP discovery: 401 → resource_metadata → RFC 9728 document → RFC 8414 metadata with PKCE S256, iss, and metadata-document clients", async () => {
  const { metadataUrl, rs, as } = await discover();
  // RFC 9728 §3.1: the resource has a path, so its metadata is at the path-suffixed well-known URI.
  assert.equal(metadataUrl, SERVER.replace("/api", "/.well-known/oauth-protected-resource/api"));
  // Found the same way without the header (§3.1 well-known URI, the MCP fallback).
  const viaWellKnown = await oauth.processResourceDiscoveryResponse(new URL(RESOURCE), await oauth.resourceDiscoveryRequest(new URL(RESOURCE), insecure));
  assert.deepEqual(viaWellKnown, rs);
  assert.deepEqual(rs.scopes_supported, ["read", "write"]);
  assert.deepEqual(rs.bearer_methods_supported, ["header"]);

  assert.equal(as.issuer, rs.authorization_servers[0]);
  assert.ok(as.code_challenge_methods_supported?.includes("S256"), "PKCE S256 advertised (MCP: clients MUST refuse without it)");
  assert.equal(as.authorization_response_iss_parameter_supported, true, "RFC 9207");
  assert.ok(as.grant_types_supported.includes("authorization_code") && as.grant_types_supported.includes("refresh_token"));
  // Awaits the CIMD merge: advertised when CIMD is on or dev.
  assert.equal(as.client_id_metadata_document_supported, true, "CIMD advertised (RFC 8414 metadata, MCP client registration)");
});

test("MCP flow: a metadata-document client gets a code with PKCE and resource, the token works at the API, and refreshes", async () => {
  const { as } = await discover();
  const req = await authorizationRequest(as, [RESOURCE]);

  const { consent, landed } = await signInAndApprove(req.url, "consent-mcp.png");
  assert.ok(received.some((r) => r.path === "/client.json"), "edge-oauth fetched the client's metadata document");
  assert.ok(consent.includes(metadataDoc.client_name), `the consent page names the client: ${consent}`);
  assert.ok(consent.includes(new URL(CLIENT_ID).hostname), `the consent page shows the metadata document's host: ${consent}`);
  assert.ok(consent.includes(new URL(RESOURCE).hostname), `the consent page shows the resource's host (RFC 8707): ${consent}`);
  assert.ok(consent.includes("read"), "and the scope");

  // RFC 9207 and RFC 6749 §4.1.2: iss (the metadata says it is always sent) and state are checked.
  const params = oauth.validateAuthResponse(as, client(), landed, req.state);
  assert.equal(landed.searchParams.get("iss"), as.issuer);

  // The token request names the resource again (RFC 8707 §2.2; MCP: MUST in both requests).
  const tokenResponse = await oauth.authorizationCodeGrantRequest(as, client(), oauth.None(), params, CALLBACK, req.verifier, {
    additionalParameters: { resource: RESOURCE }, ...insecure,
  });
  const tokens = await oauth.processAuthorizationCodeResponse(as, client(), tokenResponse);
  assert.equal(tokens.token_type, "bearer");
  assert.equal(tokens.scope, "read");
  assert.ok(tokens.refresh_token, "a refresh token (the document names the refresh_token grant)");

  const ok = await callApi(tokens.access_token);
  assert.equal(ok.status, 200);
  const who = await ok.json();
  assert.equal(who.message, `hello, ${CLIENT_ID}`);
  assert.equal(who.sub, user.user_id, "the token is the person's");
  assert.deepEqual(who.aud, [RESOURCE], "bound to the resource it was asked for (RFC 8707)");

  // Refresh (RFC 6749 §6), with the resource: a new access token that works, and a rotated
  // refresh token (public client, OAuth 2.1 / MCP: MUST rotate).
  const refreshed = await oauth.processRefreshTokenResponse(as, client(),
    await oauth.refreshTokenGrantRequest(as, client(), oauth.None(), tokens.refresh_token, { additionalParameters: { resource: RESOURCE }, ...insecure }));
  assert.ok(refreshed.access_token && refreshed.access_token !== tokens.access_token);
  assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, "rotated");
  const again = await callApi(refreshed.access_token);
  assert.equal(again.status, 200);
  assert.deepEqual((await again.json()).aud, [RESOURCE]);
});

test("MCP flow: a token bound to another resource is refused by this API with 401 invalid_token and resource_metadata", async () => {
  const { as, metadataUrl } = await discover();
  // Authorized and issued for OTHER only (one of edge-oauth's RESOURCES, not this API).
  const req = await authorizationRequest(as, [OTHER]);
  const { consent, landed } = await signInAndApprove(req.url);
  const params = oauth.validateAuthResponse(as, client(), landed, req.state);
  const tokens = await oauth.processAuthorizationCodeResponse(as, client(),
    await oauth.authorizationCodeGrantRequest(as, client(), oauth.None(), params, CALLBACK, req.verifier, { additionalParameters: { resource: OTHER }, ...insecure }));

  // The API passes its own identifier to edge-oauth, which checks the token's audience (RFC 8707;
  // MCP: servers MUST only accept tokens issued for them).
  await assert.rejects(callApi(tokens.access_token), (e) => {
    assert.ok(e instanceof oauth.WWWAuthenticateChallengeError, String(e));
    assert.equal(e.response.status, 401);
    const [challenge] = e.cause;
    assert.equal(challenge.scheme, "bearer");
    assert.equal(challenge.parameters.error, "invalid_token");
    assert.equal(challenge.parameters.resource_metadata, metadataUrl);
    return true;
  });
});
