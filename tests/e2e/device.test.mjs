// Issue 12: the device authorization grant (RFC 8628) through the real runtime. Polling is
// exactly seed 004's request: a public client, client_id in the body, no secret, POST /token/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { startWorker, clientFor, formClient, formsOf, createUser, sleep, uniq, ADMIN } from "./harness.mjs";

const DEVICE = "urn:ietf:params:oauth:grant-type:device_code";
let worker, api;
before(async () => {
  worker = await startWorker();
  api = clientFor(worker.url, { ip: "198.51.100.60" });
});
after(async () => worker && (await worker.destroy()));

const deviceClient = (extra = {}) =>
  api.createClient({ name: "Living Room TV", client_type: "public", scopes: ["read"], grant_types: [DEVICE], ...extra });

async function start(a, client, body = "") {
  const r = await a.call("POST", "/device_authorization", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `client_id=${client.client_id}${body}`,
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Seed 004, "Exchange device code for access token", as written. */
const poll = (a, client, deviceCode) =>
  a.call("POST", "/token/", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `client_id=${client.client_id}&device_code=${deviceCode}&grant_type=${DEVICE}`,
  });

/** A person: open the verification URI, sign in, and decide on the consent page. */
async function decide(userCode, user, decision, { ip = "203.0.113.61", w = worker } = {}) {
  const fc = formClient(w.url, { ip });
  let page = await fc.get(`/device?user_code=${encodeURIComponent(userCode)}`);
  const login = formsOf(page.text).find((f) => "password" in f.fields);
  if (login) {
    const signed = await fc.post(login.action, { ...login.fields, username: user.username, password: user.password });
    assert.equal(signed.status, 303, signed.text);
    page = await fc.get(signed.location);
  }
  const consent = formsOf(page.text).find((f) => f.buttons.some((b) => b.name === "decision"));
  assert.ok(consent, `a consent page: ${page.status} ${page.text.slice(0, 300)}`);
  return { page, result: await fc.post(consent.action, { ...consent.fields, decision }) };
}

test("seed 004's polling: pending, slow_down (+5 s, remembered), approve, tokens, then the code is spent", async () => {
  const user = await createUser(api);
  const client = await deviceClient({ grant_types: [DEVICE, "refresh_token"] });
  const d = await start(api, client, "&scope=read");
  assert.deepEqual(Object.keys(d).sort(), ["device_code", "expires_in", "interval", "user_code", "verification_uri", "verification_uri_complete"]);
  assert.equal(d.expires_in, 600);
  assert.equal(d.interval, 5);
  assert.match(d.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
  assert.equal(d.verification_uri, `${worker.url}/device`);
  assert.equal(d.verification_uri_complete, `${worker.url}/device?user_code=${d.user_code}`);

  const pending = await poll(api, client, d.device_code);
  assert.equal(pending.status, 400);
  assert.equal(pending.json.error, "authorization_pending");
  assert.equal(pending.headers.get("cache-control"), "no-store");
  const fast = await poll(api, client, d.device_code);
  assert.equal(fast.json.error, "slow_down");
  await sleep(5_500);
  assert.equal((await poll(api, client, d.device_code)).json.error, "slow_down", "the interval grew to 10 s and is remembered");
  // Each slow_down adds 5 s: the interval is now 15 s.
  await sleep(15_500);
  assert.equal((await poll(api, client, d.device_code)).json.error, "authorization_pending");

  // The person types the code loosely: lower case, a space instead of the dash.
  const { page, result } = await decide(d.user_code.toLowerCase().replace("-", " "), user, "approve");
  assert.match(page.text, /Living Room TV/);
  assert.match(page.text, new RegExp(d.user_code), "the code is shown for comparison");
  assert.match(page.text, /holding/, "the person is told to approve only a device they hold");
  assert.equal(result.status, 200);

  await sleep(15_500);
  const tokens = await poll(api, client, d.device_code);
  assert.equal(tokens.status, 200, tokens.text);
  assert.equal(tokens.json.token_type, "Bearer");
  assert.equal(tokens.json.scope, "read");
  assert.equal(typeof tokens.json.refresh_token, "string", "the client has the refresh grant");
  const who = await api.validate(tokens.json.access_token);
  assert.equal(who.json.sub, user.user_id);
  assert.equal(who.json.username, user.username);
  // Seed 004's "Access protected resource": a bare token in Authorization.
  const bare = await api.call("GET", "/validate", { headers: { authorization: tokens.json.access_token } });
  assert.equal(bare.status, 200, bare.text);

  await sleep(15_500);
  const again = await poll(api, client, d.device_code);
  assert.equal(again.status, 400);
  assert.equal(again.json.error, "invalid_grant", "a device code yields tokens once");
});

test("deny gives access_denied; another client's and unknown device codes are invalid_grant", async () => {
  const user = await createUser(api);
  const client = await deviceClient();
  const other = await deviceClient();
  const d = await start(api, client);
  assert.equal((await poll(api, other, d.device_code)).json.error, "invalid_grant");
  assert.equal((await poll(api, client, "BCDFGHJK.unknown")).json.error, "invalid_grant");
  const { result } = await decide(d.user_code, user, "deny");
  assert.equal(result.status, 200);
  await sleep(5_100);
  assert.equal((await poll(api, client, d.device_code)).json.error, "access_denied");
});

test("verification_uri_complete shows the consent page and never approves by itself", async () => {
  const user = await createUser(api);
  const client = await deviceClient();
  const d = await start(api, client);
  const fc = formClient(worker.url, { ip: "203.0.113.62" });
  const login = formsOf((await fc.get(new URL(d.verification_uri_complete).pathname + new URL(d.verification_uri_complete).search)).text).find((f) => "password" in f.fields);
  const signed = await fc.post(login.action, { ...login.fields, username: user.username, password: user.password });
  const consent = await fc.get(signed.location);
  assert.equal(consent.status, 200);
  assert.ok(formsOf(consent.text).some((f) => f.buttons.some((b) => b.value === "approve")));
  await sleep(200);
  assert.equal((await poll(api, client, d.device_code)).json.error, "authorization_pending");
});

test("wrong user codes: 20 per address, then 429 with Retry-After", async () => {
  const fc = formClient(worker.url, { ip: "203.0.113.63" });
  for (let i = 0; i < 20; i++) {
    const r = await fc.get(`/device?user_code=BBBB-${"BCDFGHJKLM"[i % 10]}BBB`);
    assert.equal(r.status, 400, `wrong code ${i}: ${r.status}`);
  }
  const blocked = await fc.get("/device?user_code=BBBB-BBBB");
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get("retry-after")) >= 1);
  const elsewhere = formClient(worker.url, { ip: "203.0.113.64" });
  assert.equal((await elsewhere.get("/device?user_code=BBBB-BBBB")).status, 400, "another address is not blocked");
});

test("a client without the device grant: unauthorized_client; a confidential one authenticates", async () => {
  const web = await api.createClient({ scopes: ["read"] });
  const r = await api.form("/device_authorization", web.client_id, web.client_secret, "");
  assert.equal(r.status, 400);
  assert.equal(r.json.error, "unauthorized_client");
  const conf = await api.createClient({ scopes: ["read"], grant_types: [DEVICE] });
  const ok = await api.form("/device_authorization", conf.client_id, conf.client_secret, "scope=read");
  assert.equal(ok.status, 200, ok.text);
  const noSecret = await api.call("POST", "/device_authorization", { headers: { "content-type": "application/x-www-form-urlencoded" }, body: `client_id=${conf.client_id}` });
  assert.equal(noSecret.status, 401);
});

test("expiry: expired_token (DEVICE_CODE_SECONDS=3, a test-only setting; production is 600 s)", async () => {
  const short = await startWorker({ vars: { ADMIN_TOKEN: ADMIN, DEVICE_CODE_SECONDS: "3" } });
  try {
    const a = clientFor(short.url, { ip: "198.51.100.65" });
    const client = await a.createClient({ name: uniq("tv-"), client_type: "public", scopes: ["read"], grant_types: [DEVICE] });
    const d = await start(a, client);
    assert.equal(d.expires_in, 3);
    await sleep(3_200);
    const r = await poll(a, client, d.device_code);
    assert.equal(r.json.error, "expired_token");
    const fc = formClient(short.url, { ip: "198.51.100.66" });
    assert.equal((await fc.get(`/device?user_code=${d.user_code}`)).status, 400, "an expired code is a wrong code");
  } finally {
    await short.destroy();
  }
});

test("examples/device-cli runs the flow: prints the code, polls politely, prints the tokens", async () => {
  const { spawn } = await import("node:child_process");
  const { ROOT } = await import("./harness.mjs");
  const user = await createUser(api);
  const client = await deviceClient();
  const cli = spawn(process.execPath, ["examples/device-cli/device.mjs", client.client_id, "read", worker.url], { cwd: ROOT });
  let out = "";
  cli.stdout.on("data", (b) => (out += b));
  cli.stderr.on("data", (b) => (out += b));
  const exited = new Promise((r) => cli.on("exit", r));
  const deadline = Date.now() + 10_000;
  while (!/enter the code:\s+(\S+)/.test(out) && Date.now() < deadline) await sleep(100);
  const code = out.match(/enter the code:\s+(\S+)/)?.[1];
  assert.ok(code, `the CLI printed a code: ${out}`);
  assert.match(out, new RegExp(`${worker.url}/device`));
  await decide(code, user, "approve");
  const status = await Promise.race([exited, sleep(20_000).then(() => "timeout")]);
  assert.equal(status, 0, out);
  const tokens = JSON.parse(out.slice(out.indexOf("{")));
  assert.equal(tokens.token_type, "Bearer");
  assert.equal((await api.call("GET", "/validate", { headers: { authorization: `Bearer ${tokens.access_token}` }, ip: null })).status, 200);
});

test("curl -u id:secret -X POST: an empty body without Content-Type is an empty form; /validate with a lone non-token is 400", async () => {
  const c = await api.createClient({ name: "CLI", scopes: ["read"], grant_types: [DEVICE] });
  // As `curl -u id:secret -X POST .../device_authorization` and Python requests send it: no body, no Content-Type.
  const r = await api.call("POST", "/device_authorization", { headers: { authorization: api.basic(c.client_id, c.client_secret) } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.interval, 5);
  assert.equal(r.json.expires_in, 600);
  // A body with content still has to say that it is a form.
  const typed = await api.call("POST", "/device_authorization", { headers: { authorization: api.basic(c.client_id, c.client_secret) }, body: "scope=read" });
  assert.equal(typed.status, 400);
  assert.equal(typed.json.error, "invalid_request");
  // A scheme-less Authorization value that is not an edge-oauth token is malformed.
  const v = await api.call("GET", "/validate", { headers: { authorization: "%%%%not-a-token%%%%" } });
  assert.equal(v.status, 400, v.text);
  assert.equal(v.json.error, "invalid_request");
});
