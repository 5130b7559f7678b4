// The device grant's pages in a real browser (headless Chromium via playwright-core): a device
// starts a flow, a person enters the code, signs in, compares the code and approves; the
// device's poll then gets tokens. Writes docs/device.png (code entry) and
// docs/device-consent.png at a phone-sized viewport.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { startWorker, clientFor, ROOT, createUser, sleep } from "../e2e/harness.mjs";

const DEVICE = "urn:ietf:params:oauth:grant-type:device_code";
const DOCS = join(ROOT, "docs");
let worker, api, browser;

before(async () => {
  [worker, browser] = await Promise.all([
    startWorker(),
    chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run"],
    }),
  ]);
  api = clientFor(worker.url, { ip: "127.0.0.1" });
  mkdirSync(DOCS, { recursive: true });
});
after(async () => {
  await browser?.close();
  await worker?.destroy();
});

async function startFlow() {
  const client = await api.createClient({ name: "Living Room TV", client_type: "public", scopes: ["read"], grant_types: [DEVICE] });
  const r = await api.call("POST", "/device_authorization", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `client_id=${client.client_id}&scope=read`,
  });
  assert.equal(r.status, 200, r.text);
  return { client, d: r.json };
}

const poll = (client, d) =>
  api.call("POST", "/token/", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `client_id=${client.client_id}&device_code=${d.device_code}&grant_type=${DEVICE}`,
  });

test("enter the code, sign in, compare the code, approve: the device gets tokens", async () => {
  const user = await createUser(api, { username: "ada", password: "correct horse battery", name: "Ada Lovelace" }).catch(() => createUser(api));
  const { client, d } = await startFlow();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
  const page = await context.newPage();
  await page.goto(d.verification_uri);
  await page.screenshot({ path: join(DOCS, "device.png") });
  // Typed loosely: lower case and a space, as a person might.
  await page.fill('input[name="user_code"]', d.user_code.toLowerCase().replace("-", " "));
  await page.click('button[type="submit"]');
  await page.fill('input[name="username"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.click('button[type="submit"]');
  await page.waitForSelector('button[value="approve"]');
  const text = await page.textContent("body");
  assert.ok(text.includes(d.user_code), "the code is shown for comparison");
  assert.ok(text.includes("Living Room TV"));
  assert.match(text, /holding/);
  await page.screenshot({ path: join(DOCS, "device-consent.png"), fullPage: true });
  await page.click('button[value="approve"]');
  await page.waitForLoadState();
  assert.match(await page.textContent("body"), /device/i);
  const tokens = await poll(client, d);
  assert.equal(tokens.status, 200, tokens.text);
  assert.equal((await api.validate(tokens.json.access_token)).json.sub, user.user_id);
  await context.close();
});

test("deny in the browser: the device gets access_denied", async () => {
  const user = await createUser(api);
  const { client, d } = await startFlow();
  const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(d.verification_uri_complete);
  await page.fill('input[name="username"]', user.username);
  await page.fill('input[name="password"]', user.password);
  await page.click('button[type="submit"]');
  await page.click('button[value="deny"]');
  await page.waitForLoadState();
  await sleep(100);
  assert.equal((await poll(client, d)).json.error, "access_denied");
  await context.close();
});
