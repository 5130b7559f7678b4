// Seed 004 in a real browser: headless Chromium (Debian's, driven by playwright-core) signs in
// and approves on edge-oauth's own pages, and lands on a loopback client served by this test.
// Writes docs/login.png and docs/consent.png at a phone-sized viewport (390×844).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, clientFor, ROOT, uniq, pkce, authorizePath, createUser, redeemCode } from "../e2e/harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DOCS = join(ROOT, "docs");
const VIEWPORT = { width: 390, height: 844 };

let worker, api, browser, callback, cbUrl, issuer;
/** Every request the loopback client received: `{ path, query }`. */
const received = [];

before(async () => {
  [worker, browser] = await Promise.all([
    startWorker(),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
  api = clientFor(worker.url, { ip: "203.0.113.90" });
  issuer = (await api.call("GET", "/.well-known/oauth-authorization-server")).json.issuer;
  // The client application: a loopback redirect URI (RFC 8252 §7.3) that records what it gets.
  callback = createServer((req, res) => {
    const u = new URL(req.url, "http://127.0.0.1");
    if (u.pathname === "/frame") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      res.end(`<!doctype html><title>framer</title><iframe id="f" width="380" height="600" src="${u.searchParams.get("src")}"></iframe>`);
      return;
    }
    received.push({ path: u.pathname, query: u.searchParams });
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end("<!doctype html><title>client</title><p>Back at the client.</p>");
  });
  await new Promise((r) => callback.listen(0, "127.0.0.1", r));
  cbUrl = `http://127.0.0.1:${callback.address().port}/cb`;
  mkdirSync(DOCS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => (callback ? callback.close(r) : r()));
  await worker?.destroy();
});

// ---- helpers --------------------------------------------------------------------------------

/** A new browser context (fresh cookies) and page at the phone viewport; records dialogs. */
async function newPage() {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 2, locale: "en-US" });
  const page = await context.newPage();
  page.dialogs = [];
  page.on("dialog", async (d) => {
    page.dialogs.push(d.message());
    await d.dismiss().catch(() => {});
  });
  return { context, page };
}

const client = (settings = {}) =>
  api.createClient({
    name: uniq("Photo Print "), client_type: "public", grant_types: ["authorization_code"], redirect_uris: [cbUrl],
    scopes: ["profile", "photos"], ...settings,
  });

function authRequest(c, overrides = {}) {
  const { verifier, challenge } = pkce();
  const params = {
    response_type: "code", client_id: c.client_id, redirect_uri: cbUrl, scope: "profile photos", state: uniq("state & é "),
    code_challenge: challenge, code_challenge_method: "S256", ...overrides,
  };
  return { url: worker.url + authorizePath(params), verifier, params };
}

const passwordForm = (page) => page.locator("form:has(input[name=password])");
const approveButton = (page) => page.locator('button[name="decision"][value="approve"], input[type=submit][name="decision"][value="approve"]');
const denyButton = (page) => page.locator('button[name="decision"][value="deny"], input[type=submit][name="decision"][value="deny"]');

/** Wait for the POST to `path` that the next action triggers; returns its response. */
const postTo = (page, path) =>
  page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === path, { timeout: 20_000 });

/** Fill and submit the login form (by clicking its submit button, as a person would). */
async function signIn(page, username, password) {
  const form = passwordForm(page);
  await form.locator("input[name=username]").fill(username);
  await form.locator("input[name=password]").fill(password);
  const posted = postTo(page, "/login");
  await form.locator("button, input[type=submit]").first().click();
  return posted;
}

/** What the loopback client received for `state`. */
const callbackFor = (state) => received.find((r) => r.query.get("state") === state);

// ---- tests ----------------------------------------------------------------------------------

test("browser: login page, consent page, approve → the code arrives at the loopback client with state and iss, and redeems", async () => {
  // Fixed names (this worker is fresh), so the screenshots in docs/ are the same on every run.
  const user = await createUser(api, { username: "ada", name: "Ada Lovelace" });
  const c = await client({ name: "Photo Print" });
  const req = authRequest(c);
  const { context, page } = await newPage();
  try {
    const first = await page.goto(req.url);
    assert.equal(first.status(), 200, "no session: the login page");
    await passwordForm(page).waitFor();
    assert.equal(await page.locator("input[name=csrf_token]").count() >= 1, true, "a CSRF token in the form");
    assert.equal(await page.locator("input[name=password]").getAttribute("type"), "password", "the password is masked");
    await page.screenshot({ path: join(DOCS, "login.png"), fullPage: true });

    const login = await signIn(page, user.username, user.password);
    assert.equal(login.status(), 303, "sign-in answers 303 back to /authorize");
    await approveButton(page).waitFor();
    const text = await page.locator("body").innerText();
    assert.ok(text.includes("Photo Print"), "the consent page names the client");
    assert.ok(text.includes("profile") && text.includes("photos"), "and each scope");
    await page.screenshot({ path: join(DOCS, "consent.png"), fullPage: true });

    // The session cookie as the browser stored it.
    const cookies = await context.cookies(worker.url);
    const session = cookies.filter((k) => k.httpOnly);
    assert.ok(session.length > 0, `an HttpOnly session cookie: ${JSON.stringify(cookies.map((k) => k.name))}`);
    for (const k of session) {
      assert.equal(k.sameSite, "Lax", `${k.name}: SameSite=Lax`);
      assert.equal(k.secure, false, `${k.name}: not Secure on plain-http loopback`);
      assert.equal(k.path, "/", `${k.name}: Path=/`);
    }

    await approveButton(page).click();
    await page.waitForURL((u) => u.href.startsWith(cbUrl), { timeout: 20_000 });
    const got = callbackFor(req.params.state);
    assert.ok(got, `the loopback client received the redirect with the state unchanged (${JSON.stringify(received.map((r) => r.query.toString()))})`);
    assert.equal(got.path, "/cb");
    assert.equal(got.query.get("iss"), issuer, "iss is the issuer (RFC 9207)");
    const code = got.query.get("code");
    assert.ok(code, "a code");
    assert.equal(got.query.get("error"), null);

    const t = await redeemCode(api, { client: c, code, redirect_uri: cbUrl, code_verifier: req.verifier });
    assert.equal(t.status, 200, t.text);
    assert.equal(t.json.token_type, "Bearer");
    const v = await api.validate(t.json.access_token);
    assert.equal(v.status, 200, v.text);
    assert.equal(v.json.sub, user.user_id);
    assert.equal(v.json.username, user.username);

    // Signed in and consented: a second authorization goes straight back to the client.
    const again = authRequest(c, { scope: "profile photos" });
    await page.goto(again.url);
    await page.waitForURL((u) => u.href.startsWith(cbUrl), { timeout: 20_000 });
    assert.ok(callbackFor(again.params.state)?.query.get("code"), "no login or consent the second time");
    assert.deepEqual(page.dialogs, [], "no dialog ever opened");
  } finally {
    await context.close();
  }
});

test("browser: deny → access_denied at the loopback client, with state and iss, and no code", async () => {
  const user = await createUser(api);
  const c = await client();
  const req = authRequest(c);
  const { context, page } = await newPage();
  try {
    await page.goto(req.url);
    await signIn(page, user.username, user.password);
    await denyButton(page).click();
    await page.waitForURL((u) => u.href.startsWith(cbUrl), { timeout: 20_000 });
    const got = callbackFor(req.params.state);
    assert.ok(got, "the loopback client received the redirect");
    assert.equal(got.query.get("error"), "access_denied");
    assert.equal(got.query.get("iss"), issuer);
    assert.equal(got.query.get("code"), null);
  } finally {
    await context.close();
  }
});

test("browser: a wrong password shows the login page again, with an error, and no session", async () => {
  const user = await createUser(api);
  const c = await client();
  const { context, page } = await newPage();
  try {
    await page.goto(authRequest(c).url);
    await passwordForm(page).waitFor();
    const before = await page.locator("body").innerText();
    const r = await signIn(page, user.username, "not the password");
    assert.equal(r.status(), 401, "a failed sign-in answers 401");
    await passwordForm(page).waitFor();
    const after = await page.locator("body").innerText();
    assert.notEqual(after, before, "an error message is shown");
    assert.equal(await page.locator("input[name=password]").inputValue(), "", "the password is not filled back in");
    assert.ok(!(await page.content()).includes("not the password"), "the wrong password is not echoed in the page");
    // No session came of it: /authorize still asks to sign in.
    await page.goto(authRequest(c).url);
    await passwordForm(page).waitFor();
    assert.equal(await approveButton(page).count(), 0, "no consent page: not signed in");
    // The right password on the page shown after the failure works.
    const ok = await signIn(page, user.username, user.password);
    assert.equal(ok.status(), 303);
    await approveButton(page).waitFor();
  } finally {
    await context.close();
  }
});

test("browser: a form POST without the CSRF token is refused with 403 (login and consent), and nothing happens", async () => {
  const user = await createUser(api);
  const c = await client();
  const req = authRequest(c);
  const { context, page } = await newPage();
  try {
    await page.goto(req.url);
    await passwordForm(page).waitFor();
    await page.evaluate(() => document.querySelectorAll("input[name=csrf_token]").forEach((e) => e.remove()));
    const refused = await signIn(page, user.username, user.password);
    assert.equal(refused.status(), 403, "login without csrf_token: 403");

    // Signed in properly, then the consent form without its token.
    await page.goto(req.url);
    await signIn(page, user.username, user.password);
    await approveButton(page).waitFor();
    await page.evaluate(() => document.querySelectorAll("input[name=csrf_token]").forEach((e) => e.remove()));
    const posted = postTo(page, "/authorize");
    await approveButton(page).click();
    const r = await posted;
    assert.equal(r.status(), 403, "approve without csrf_token: 403");
    assert.equal(callbackFor(req.params.state), undefined, "no redirect reached the client");

    // A cross-site-style POST with the browser's cookies but no token (page.request shares them).
    const form = new URLSearchParams({ ...req.params, decision: "approve" });
    const direct = await page.request.post(`${worker.url}/authorize`, {
      headers: { "content-type": "application/x-www-form-urlencoded" }, data: form.toString(), maxRedirects: 0,
    });
    assert.equal(direct.status(), 403, "a crafted POST with cookies but no csrf_token: 403");
    assert.equal(callbackFor(req.params.state), undefined, "still nothing at the client");
  } finally {
    await context.close();
  }
});

test("browser: a client named <script>alert(1)</script> shows as text on the consent page; no dialog opens", async () => {
  const evil = "<script>alert(1)</script>";
  const user = await createUser(api, { name: "<img src=x onerror=alert(2)>" });
  const c = await client({ name: evil });
  const { context, page } = await newPage();
  try {
    await page.goto(authRequest(c).url);
    await signIn(page, user.username, user.password);
    await approveButton(page).waitFor();
    await page.waitForTimeout(500);
    const text = await page.locator("body").innerText();
    assert.ok(text.includes(evil), `the visible text contains the literal name: ${text.slice(0, 300)}`);
    assert.equal(await page.locator("script").count(), 0, "no script element");
    assert.equal(await page.locator("img[onerror]").count(), 0, "no injected element");
    assert.deepEqual(page.dialogs, [], "no dialog opened");
  } finally {
    await context.close();
  }
});

test("browser: the login page cannot be framed by another site", async () => {
  const c = await client();
  const { context, page } = await newPage();
  try {
    const src = authRequest(c).url;
    await page.goto(`http://127.0.0.1:${callback.address().port}/frame?src=${encodeURIComponent(src)}`);
    await page.waitForTimeout(1500);
    const frame = page.frames().find((f) => f !== page.mainFrame());
    assert.ok(frame, "the iframe exists");
    const inputs = await frame.locator("input[name=password]").count().catch(() => 0);
    assert.equal(inputs, 0, "the login form does not render inside a frame (X-Frame-Options / frame-ancestors)");
  } finally {
    await context.close();
  }
});
