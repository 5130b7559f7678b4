// Sign-in with an upstream identity provider in a real browser: headless Chromium presses
// "Continue with Acme SSO" on edge-oauth's sign-in page, signs in on the OpenID Provider's own
// login page (panva's `oidc-provider`, on loopback), consents there, comes back, approves on
// edge-oauth's consent page, and the application redeems the code for tokens. Another person,
// made by an operator with a password, is linked to a GitHub-shaped account and signs in with it.
// Writes docs/login-providers.png at a phone-sized viewport (390×844).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, clientFor, ROOT, uniq, pkce, authorizePath, redeemCode, ADMIN } from "../e2e/harness.mjs";
import { startOidcProvider, startGithubFake } from "../e2e/upstreams.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const VIEWPORT = { width: 390, height: 844 };

let worker, api, browser, op, gh, oidcId, ghId, callback, cbUrl;
const received = [];

before(async () => {
  [worker, browser, op, gh] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN } }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
    startOidcProvider(),
    startGithubFake(),
  ]);
  api = clientFor(worker.url, { ip: "203.0.113.91" });
  const r = await api.admin("POST", "/admin/providers", { name: "Acme SSO", kind: "oidc", issuer: op.issuer, client_id: "edge", client_secret: "edge-secret" });
  assert.equal(r.status, 201, r.text);
  oidcId = r.json.provider_id;
  op.register(`${worker.url}/login/${oidcId}/callback`);
  const g = await api.admin("POST", "/admin/providers", gh.providerBody());
  assert.equal(g.status, 201, g.text);
  ghId = g.json.provider_id;
  callback = createServer((req, res) => {
    const u = new URL(req.url, "http://127.0.0.1");
    received.push({ path: u.pathname, query: u.searchParams });
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>client</title><p>Back at the client.</p>");
  });
  await new Promise((r) => callback.listen(0, "127.0.0.1", r));
  cbUrl = `http://127.0.0.1:${callback.address().port}/cb`;
});
after(async () => {
  await browser?.close();
  await new Promise((r) => (callback ? callback.close(r) : r()));
  await Promise.all([worker?.destroy(), op?.close(), gh?.close()]);
});

async function newPage() {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 2, locale: "en-US" });
  return { context, page: await context.newPage() };
}

test("a person signs in at the OpenID Provider's own login page; the application gets tokens", async () => {
  const app = await api.createClient({ name: "Photo Print", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [cbUrl], scopes: ["profile"] });
  const { verifier, challenge } = pkce();
  const state = uniq("st-");
  const url = worker.url + authorizePath({ response_type: "code", client_id: app.client_id, redirect_uri: cbUrl, scope: "profile", state, code_challenge: challenge, code_challenge_method: "S256" });
  const { context, page } = await newPage();
  try {
    await page.goto(url);
    await page.getByRole("link", { name: "Continue with Acme SSO" }).waitFor();
    await page.screenshot({ path: join(ROOT, "docs", "login-providers.png"), fullPage: true });
    // No horizontal scrolling at phone width.
    assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth), "fits the phone's width");
    await page.getByRole("link", { name: "Continue with Acme SSO" }).click();
    // oidc-provider's own development login page, then its consent page.
    await page.waitForURL((u) => u.toString().startsWith(op.issuer));
    await page.fill("input[name=login]", "browser-ann");
    await page.fill("input[name=password]", "anything");
    await page.click("button[type=submit]");
    // The consent page (the login page's URL is an /interaction one too: wait for its form).
    await page.locator("input[name=prompt][value=consent]").waitFor({ state: "attached" });
    await page.click("button[type=submit]");
    // Back at edge-oauth: its consent page for the application.
    await page.waitForURL((u) => u.toString().startsWith(worker.url + "/authorize"));
    await page.getByRole("button", { name: /allow|approve/i }).click();
    await page.waitForURL((u) => u.toString().startsWith(cbUrl));
    const got = received.findLast((r) => r.path === "/cb").query;
    assert.equal(got.get("state"), state);
    const tok = await redeemCode(api, { client: app, code: got.get("code"), redirect_uri: cbUrl, code_verifier: verifier });
    assert.equal(tok.status, 200, tok.text);
    const users = (await api.admin("GET", "/admin/users")).json.users;
    assert.ok(users.some((u) => u.username === "browser-ann" && u.name === "Person browser-ann"), JSON.stringify(users));
  } finally {
    await context.close();
  }
});

test("an existing person, linked by an operator, signs in with their GitHub-shaped account", async () => {
  const made = await api.admin("POST", "/admin/users", { username: uniq("lin-"), password: "correct horse battery", name: "Lin" });
  const link = await api.admin("POST", `/admin/users/${made.json.user_id}/identities`, { provider_id: ghId, subject: "9001" });
  assert.equal(link.status, 201, link.text);
  gh.state.nextUser = { id: 9001, login: "lin-on-github", name: "Lin (GitHub)" };
  const { context, page } = await newPage();
  try {
    await page.goto(`${worker.url}/login`);
    await page.getByRole("link", { name: "Continue with GitHub" }).click();
    // Without a return_to the sign-in ends at /console; the person is signed in either way.
    await page.waitForURL((u) => u.toString().startsWith(worker.url) && !u.pathname.startsWith("/login/"));
    await page.goto(`${worker.url}/login`);
    assert.ok((await page.content()).includes(made.json.username), "signed in as the linked person");
    const users = (await api.admin("GET", "/admin/users")).json.users;
    assert.ok(!users.some((u) => u.name === "Lin (GitHub)"), "no one new");
  } finally {
    await context.close();
  }
});
