// The usage chart of a project's page in a real browser (headless Chromium): after a known
// number of accepted and rejected requests, the SVG drawn by the server shows them, each bar's
// numbers come up on hover (its <title>), the 24 h / 7 d / 30 d links switch the window, and the
// chart fits a phone's width. Writes docs/usage-chart-390.png and docs/usage-chart-1280.png.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, clientFor, ROOT, ADMIN } from "../e2e/harness.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const DOCS = join(ROOT, "docs");
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

let worker, api, browser, maps;

before(async () => {
  [worker, browser] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, SIGNUP: "open" } }),
    chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
  api = clientFor(worker.url, { ip: "127.0.0.1" });
  maps = (await api.admin("POST", "/admin/apis", { name: "Maps API", scopes: ["maps:read"] })).json;
  mkdirSync(DOCS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await worker?.destroy();
});

const submitAndWait = async (page, locator) => {
  await Promise.all([page.waitForLoadState("load"), page.waitForResponse((r) => r.request().method() === "POST"), locator.click()]);
};

test("the project page charts accepted against rejected, with numbers on hover", async () => {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: "en-US" });
  const page = await context.newPage();
  await page.goto(worker.url + "/signup");
  await page.fill("#username", "grace");
  await page.fill("#name", "Grace Hopper");
  await page.fill("#password", "compiler first");
  await submitAndWait(page, page.getByRole("button", { name: "Create account" }));
  await page.goto(worker.url + "/console/projects/new");
  await page.fill("#name", "Fleet tracker");
  await page.getByLabel(/Maps API/).check();
  await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  const secret = (await page.locator("#secret").textContent()).trim();
  const keyId = (await page.locator(".facts code.id").first().textContent()).trim();

  // 3 tokens, 9 good validations; 2 from another address, 1 without the scope, 2 bad secrets.
  const tokens = [];
  for (let i = 0; i < 3; i++) tokens.push((await api.token(keyId, secret)).json.access_token);
  for (let i = 0; i < 9; i++) assert.equal((await api.validate(tokens[i % 3])).status, 200);
  for (let i = 0; i < 2; i++) assert.equal((await api.validate(tokens[0], { ip: "192.0.2.9" })).status, 401);
  assert.equal((await api.validate(tokens[1], { query: "?scope=maps:write" })).status, 403);
  for (let i = 0; i < 2; i++) assert.equal((await api.token(keyId, "wrong")).status, 401);

  await page.goto(`${worker.url}/console/projects/${keyId}`);
  const usage = page.locator("#usage");
  assert.match(await usage.textContent(), /The last 24 hours: 12 accepted, 5 rejected\./);
  assert.match(await usage.textContent(), /Generated at \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
  assert.match(await page.locator(".facts").textContent(), /Last used\s*\d{4}-\d\d-\d\d/);
  // The current hour's bar: its numbers in its <title>, which a hover shows.
  const bars = usage.locator("svg.chart > g");
  assert.equal(await bars.count(), 24);
  const last = bars.last();
  assert.match(await last.locator("title").textContent(), /UTC: 12 accepted, 5 rejected$/);
  await last.hover();
  // Fits a phone: no sideways scrolling, the chart as wide as its column.
  const box = await usage.locator("svg.chart").boundingBox();
  assert.ok(box.width > 300 && box.width <= PHONE.width, `chart ${box.width} px wide`);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), PHONE.width);
  await usage.screenshot({ path: join(DOCS, "usage-chart-390.png") });

  // The other windows, by link (no JavaScript needed).
  await page.getByRole("link", { name: "7 days" }).click();
  await page.waitForURL(/range=7d/);
  assert.equal(await page.locator("svg.chart > g").count(), 28);
  assert.match(await page.locator("#usage").textContent(), /The last 7 days: 12 accepted, 5 rejected\./);
  assert.equal(await page.getByRole("link", { name: "7 days" }).getAttribute("aria-current"), "page");
  await page.getByRole("link", { name: "30 days" }).click();
  await page.waitForURL(/range=30d/);
  assert.equal(await page.locator("svg.chart > g").count(), 30);
  await page.getByRole("link", { name: "24 hours" }).click();
  await page.waitForURL(/range=24h/);
  await page.setViewportSize(DESKTOP);
  await page.locator("#usage").screenshot({ path: join(DOCS, "usage-chart-1280.png"), scale: "css" });
  await context.close();
});

test("the project page sets its alerts webhook through a plain form (no JavaScript) and shows it", async () => {
  const context = await browser.newContext({ viewport: PHONE, deviceScaleFactor: 2, locale: "en-US", javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(worker.url + "/signup");
  await page.fill("#username", "ada");
  await page.fill("#name", "Ada Lovelace");
  await page.fill("#password", "analytical engine");
  await submitAndWait(page, page.getByRole("button", { name: "Create account" }));
  await page.goto(worker.url + "/console/projects/new");
  await page.fill("#name", "Loom");
  await page.getByLabel(/Maps API/).check();
  await submitAndWait(page, page.getByRole("button", { name: "Create project" }));
  const keyId = (await page.locator(".facts code.id").first().textContent()).trim();
  await page.goto(`${worker.url}/console/projects/${keyId}#webhook`);
  const hook = page.locator("#webhook");
  assert.match(await hook.textContent(), /No webhook yet/);
  assert.equal(await hook.locator('input[name="event"]:checked').count(), 9, "every event, before there is a webhook");

  // A URL the contract refuses: the form again with the reason.
  await page.fill("#webhook_url", "http://hooks.example/in");
  await submitAndWait(page, page.getByRole("button", { name: "Save webhook" }));
  assert.match(await page.locator("p.alert").textContent(), /The webhook URL must use https/);

  const url = "https://hooks.example/alerts";
  await page.fill("#webhook_url", url);
  for (const e of ["key.created", "key.deleted", "rate_limit.exceeded"]) await page.getByLabel(e, { exact: true }).uncheck();
  await submitAndWait(page, page.getByRole("button", { name: "Save webhook" }));
  const secret = (await page.locator("#webhook-secret").textContent()).trim();
  assert.match(secret, /^whsec_[A-Za-z0-9+/=]{20,}$/);
  assert.equal(await page.locator("#webhook-url").textContent(), url);
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), PHONE.width, "fits a phone");
  await page.locator("#webhook").screenshot({ path: join(DOCS, "console-webhook-390.png") });

  // Reloaded: the webhook and its events stay; the secret is not shown again.
  await page.goto(`${worker.url}/console/projects/${keyId}`);
  assert.equal(await page.locator("#webhook-url").textContent(), url);
  assert.equal(await page.locator("#webhook-secret").count(), 0);
  assert.equal(await hook.locator('input[name="event"]:checked').count(), 6);
  assert.equal(await page.getByLabel("key.created", { exact: true }).isChecked(), false);
  await context.close();
});
