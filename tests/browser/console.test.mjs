// The customer control panel in a real browser (headless Chromium, as the other browser tests):
// sign up, create a project, copy its secret, get a token with it from node (outside the
// browser), rotate with no grace, delete; CSRF refusal; a `<script>` name shown as text; not
// signed in → sign-in → back to the page asked for. Writes docs/console-*.png at 390 px and
// 1280 px widths.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, clientFor, ROOT, ADMIN, createUser } from "../e2e/harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DOCS = join(ROOT, "docs");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let worker, api, browser, maps, geo;

before(async () => {
  [worker, browser] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, SIGNUP: "open" } }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
  api = clientFor(worker.url, { ip: "127.0.0.1" });
  // Fixed names: the screenshots in docs/ are the same on every run.
  maps = (await api.admin("POST", "/admin/apis", {
    name: "Maps API", description: "Map tiles, routes and places.", scopes: ["maps:read", "maps:write"], resource: "https://maps.example/",
  })).json;
  geo = (await api.admin("POST", "/admin/apis", { name: "Geocoding API", description: "Addresses to coordinates and back.", scopes: ["geo:read"] })).json;
  mkdirSync(DOCS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await worker?.destroy();
});

async function newPage(viewport = PHONE) {
  const context = await browser.newContext({ viewport, deviceScaleFactor: viewport === PHONE ? 2 : 1, locale: "en-US" });
  const page = await context.newPage();
  page.dialogs = [];
  page.on("dialog", async (d) => {
    page.dialogs.push(d.message());
    await d.dismiss().catch(() => {});
  });
  return { context, page };
}

/** Screenshots of the page at `path` (already signed in, in `context`) at both widths. */
async function shoot(context, path, name) {
  const page = await context.newPage();
  for (const [viewport, suffix] of [[PHONE, "390"], [DESKTOP, "1280"]]) {
    await page.setViewportSize(viewport);
    await page.goto(worker.url + path);
    await page.screenshot({ path: join(DOCS, `console-${name}-${suffix}.png`), fullPage: true, scale: viewport === PHONE ? "device" : "css" });
  }
  await page.close();
}

const submitAndWait = async (page, locator) => {
  await Promise.all([page.waitForLoadState("load"), page.waitForResponse((r) => r.request().method() === "POST"), locator.click()]);
};

test("sign up, make a project, copy its secret, use it, rotate, delete", async () => {
  const { context, page } = await newPage();
  const home = await page.goto(worker.url + "/");
  assert.equal(home.status(), 200);
  await page.getByRole("link", { name: "Create an account" }).click();
  await page.waitForURL(/\/signup$/);
  await page.screenshot({ path: join(DOCS, "console-signup-390.png"), fullPage: true });
  await page.fill("#username", "ada");
  await page.fill("#name", "Ada Lovelace");
  await page.fill("#password", "analytical engine");
  await submitAndWait(page, page.getByRole("button", { name: "Create account" }));
  assert.equal(new URL(page.url()).pathname, "/console");
  assert.match(await page.textContent("main"), /No projects yet/);
  await page.screenshot({ path: join(DOCS, "console-empty-390.png"), fullPage: true });

  await page.getByRole("link", { name: "New project" }).first().click();
  await page.waitForURL(/\/console\/projects\/new$/);
  await page.fill("#name", "Store locator");
  await page.getByLabel(/Maps API/).check();
  await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  const secretEl = page.locator("#secret");
  await secretEl.waitFor();
  // "Copy": the button (one script, allowed by its hash in the CSP) puts it on the clipboard...
  await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: worker.url });
  await page.getByRole("button", { name: "Copy" }).click();
  await page.getByRole("button", { name: "Copied" }).waitFor();
  const secret = (await page.evaluate(() => navigator.clipboard.readText())).trim();
  assert.equal(secret, (await secretEl.textContent()).trim());
  assert.ok(secret.length >= 40, secret);
  // ...and without it, one click selects the whole secret (selectable text).
  await secretEl.click();
  assert.equal(await page.evaluate(() => window.getSelection().toString().trim()), secret);
  const keyId = (await page.locator(".facts code.id").first().textContent()).trim();
  assert.deepEqual(page.dialogs, []);
  await page.screenshot({ path: join(DOCS, "console-secret-390.png"), fullPage: true });
  await page.setViewportSize(DESKTOP);
  await page.screenshot({ path: join(DOCS, "console-secret-1280.png"), fullPage: true, scale: "css" });
  await page.setViewportSize(PHONE);

  // The key, from node (outside the browser), as curl would.
  const t1 = await api.token(keyId, secret);
  assert.equal(t1.status, 200, t1.text);
  assert.equal(t1.json.scope, "maps:read maps:write");
  assert.equal((await api.validate(t1.json.access_token)).status, 200);

  // More projects, for a list worth looking at.
  for (const [name, api_] of [["Checkout service", geo], ["Mobile app backend", maps]]) {
    await page.goto(worker.url + "/console/projects/new");
    await page.fill("#name", name);
    await page.getByLabel(new RegExp(api_.name)).check();
    await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  }
  await shoot(context, "/console", "list");
  await shoot(context, "/console/projects/new", "new");
  await shoot(context, `/console/projects/${keyId}`, "project");
  // The home page as a visitor sees it (signed out).
  const visitor = await browser.newContext({ deviceScaleFactor: 2, locale: "en-US" });
  await shoot(visitor, "/", "home");
  await visitor.close();

  // Rotate with no grace: the old secret stops at once, and so does its token.
  await page.goto(`${worker.url}/console/projects/${keyId}`);
  await page.selectOption("#grace", "0");
  await submitAndWait(page, page.getByRole("button", { name: "Rotate secret" }));
  const newSecret = (await page.locator("#secret").textContent()).trim();
  assert.notEqual(newSecret, secret);
  assert.equal((await api.token(keyId, secret)).status, 401);
  assert.equal((await api.validate(t1.json.access_token)).status, 401);
  const t2 = await api.token(keyId, newSecret);
  assert.equal(t2.status, 200);

  // Delete, confirming with the name: the token stops.
  await page.fill("#confirm", "Store locator");
  await submitAndWait(page, page.getByRole("button", { name: "Delete project" }));
  assert.equal(new URL(page.url()).pathname, "/console");
  assert.equal((await api.validate(t2.json.access_token)).status, 401);
  assert.equal((await api.token(keyId, newSecret)).status, 401);
  assert.ok(!(await page.textContent("main")).includes("Store locator"));
  assert.deepEqual(page.dialogs, []);
  await context.close();
});

test("a forged form is refused and changes nothing; a <script> name is text", async () => {
  const user = await createUser(api, { username: "grace", password: "compiler pioneer" });
  const { context, page } = await newPage();
  await page.goto(worker.url + "/login?return_to=%2Fconsole");
  await page.fill("#username", user.username);
  await page.fill("#password", "compiler pioneer");
  await submitAndWait(page, page.getByRole("button", { name: "Sign in" }));
  assert.equal(new URL(page.url()).pathname, "/console");

  const evil = "<script>window.pwned=1;alert(1)</script>";
  await page.goto(worker.url + "/console/projects/new");
  await page.fill("#name", evil);
  await page.getByLabel(/Geocoding API/).check();
  await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  assert.equal((await page.locator("h1").textContent()).trim(), evil, "shown as text");
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  await page.goto(worker.url + "/console");
  assert.ok((await page.textContent("main")).includes(evil));
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.deepEqual(page.dialogs, []);

  // A form whose CSRF token is not this browser's: 403, and the project stays enabled.
  await page.getByRole("link", { name: evil }).click();
  const id = new URL(page.url()).pathname.split("/").pop();
  await page.evaluate(() => document.querySelectorAll('input[name="csrf_token"]').forEach((i) => (i.value = "forged")));
  await submitAndWait(page, page.getByRole("button", { name: "Disable project" }));
  assert.match(await page.textContent("h1"), /This form has expired/);
  const p = await api.admin("GET", `/admin/clients/${id}`);
  assert.equal(p.json.disabled, false);
  await context.close();
});

test("without JavaScript the copy button stays hidden and the secret is text", async () => {
  await createUser(api, { username: "nojs", password: "plain html only" });
  const context = await browser.newContext({ viewport: PHONE, javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(worker.url + "/login?return_to=%2Fconsole%2Fprojects%2Fnew");
  await page.fill("#username", "nojs");
  await page.fill("#password", "plain html only");
  await submitAndWait(page, page.getByRole("button", { name: "Sign in" }));
  await page.fill("#name", "No script");
  await page.getByLabel(/Maps API/).check();
  await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  assert.equal(await page.locator("button.copy").isVisible(), false);
  const secret = (await page.locator("#secret").textContent()).trim();
  const keyId = (await page.locator(".facts code.id").first().textContent()).trim();
  assert.equal((await api.token(keyId, secret)).status, 200);
  await context.close();
});

test("not signed in: the sign-in page, then back to the page asked for", async () => {
  const user = await createUser(api, { username: "linus", password: "penguin power" });
  const { context, page } = await newPage();
  await page.goto(worker.url + "/console/projects/new");
  assert.equal(new URL(page.url()).pathname, "/login");
  await page.fill("#username", user.username);
  await page.fill("#password", "penguin power");
  await submitAndWait(page, page.getByRole("button", { name: "Sign in" }));
  assert.equal(new URL(page.url()).pathname, "/console/projects/new");
  assert.match(await page.textContent("h1"), /New project/);
  await context.close();
});
