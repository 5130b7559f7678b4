// Seed 004, users: the admin users API (/admin/users), how passwords are stored, and what
// disabling or deleting a user and revoking a grant do to its sessions and tokens — through the
// real runtime, with the pages driven by formClient (no browser).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startWorker, clientFor, formClient, ADMIN, uniq, authorizePath, pkce, loginFormOf, consentFormOf,
  signIn, codeFlow, createUser, storedRecords, filesContaining,
} from "./harness.mjs";

const HOME_IP = "203.0.113.70";
const REDIRECT = "https://app.example/cb";
let worker, api;
// A public client with the code and refresh grants, used by most flows below.
let app;

before(async () => {
  // High failure limits: some tests sign in with wrong or dead passwords on purpose, and the
  // brute-force protection must not turn an expected 401 login page into a 429.
  worker = await startWorker({
    vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", AUTH_FAILURES_PER_CLIENT: "100000" },
  });
  api = clientFor(worker.url, { ip: HOME_IP });
  app = await publicClient();
});
after(async () => worker && (await worker.destroy()));

// ---- helpers --------------------------------------------------------------------------------

let ipSeq = 0;
/** A fresh address for each browser-like client. */
const nextIp = () => `198.18.40.${(++ipSeq % 250) + 1}`;
const browser = () => formClient(worker.url, { ip: nextIp() });

function publicClient(settings = {}) {
  return api.createClient({
    name: uniq("users-app-"), client_type: "public", grant_types: ["authorization_code", "refresh_token"],
    redirect_uris: [REDIRECT], scopes: ["read", "write"], ...settings,
  });
}

/** A flow as `user` for `client` with a fresh formClient unless `fc` is given; returns tokens. */
async function tokensFor(user, { client = app, fc = browser(), scope = "read" } = {}) {
  const f = await codeFlow(api, fc, worker.url, { client, user, scope });
  assert.equal(f.token.status, 200, `code redemption: ${f.token.text}`);
  return { fc, access: f.token.json.access_token, refresh: f.token.json.refresh_token, flow: f };
}

/** An /authorize path for `client` with a fresh PKCE challenge. */
function authorizeUrl(client = app, scope = "read") {
  return authorizePath({
    response_type: "code", client_id: client.client_id, redirect_uri: client.redirect_uris[0], scope,
    state: uniq("s-"), code_challenge: pkce().challenge, code_challenge_method: "S256",
  });
}

/** What a signed-in or signed-out formClient sees at /authorize: "login", "consent" or "redirect". */
async function whatShows(fc, client = app, scope = "read") {
  const r = await fc.get(authorizeUrl(client, scope));
  if (loginFormOf(r)) return "login";
  if (consentFormOf(r)) return "consent";
  if (r.status === 302) return "redirect";
  return `${r.status} ${r.text.slice(0, 200)}`;
}

const refresh = (client, refreshToken) =>
  api.call("POST", "/token", {
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(refreshToken)}&client_id=${client.client_id}`,
  });

/** A refresh token whose family is dead: 400 invalid_grant. */
function assertDeadRefresh(r, label) {
  assert.equal(r.status, 400, `${label}: expected 400 invalid_grant (the family is dead), got ${r.status} ${r.text}`);
  assert.equal(r.json?.error, "invalid_grant", `${label}: expected invalid_grant, got ${r.text}`);
}

const USER_KEYS = ["user_id", "username", "name", "created_at", "disabled"];
const SECRETISH = /pass|hash|salt|secret|iteration|pbkdf/i;

/** A user object as the contract has it, with no password or hash in sight. */
function assertUserShape(u, label) {
  assert.equal(typeof u, "object", label);
  for (const k of USER_KEYS) assert.ok(k in u, `${label}: the user has "${k}" (contract: {user_id, username, name, created_at, disabled})`);
  for (const k of Object.keys(u)) assert.doesNotMatch(k, SECRETISH, `${label}: no password or hash field, found "${k}"`);
  assert.equal(typeof u.user_id, "string", `${label}: user_id is a string`);
  assert.ok(u.user_id.length > 0, `${label}: user_id is not empty`);
  assert.equal(typeof u.disabled, "boolean", `${label}: disabled is a boolean`);
  assertNearNow(u.created_at, `${label}: created_at`);
}

/** A timestamp (unix s, unix ms or a date string) within a minute of now. */
function assertNearNow(v, label) {
  let ms;
  if (typeof v === "number") ms = v > 1e11 ? v : v * 1000;
  else if (typeof v === "string") ms = Date.parse(v);
  assert.ok(Number.isFinite(ms), `${label} is a time (number or date string), got ${JSON.stringify(v)}`);
  assert.ok(Math.abs(ms - Date.now()) < 60_000, `${label} is about now, got ${JSON.stringify(v)}`);
}

/** A 400 naming `field`, in the clients API's error shape. */
function assert400Field(r, field, label) {
  assert.equal(r.status, 400, `${label}: expected 400 naming "${field}", got ${r.status} ${r.text}`);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/, `${label}: JSON error`);
  assert.equal(r.json?.field, field, `${label}: the error names the field "${field}": ${r.text}`);
}

const listUsers = async () => {
  const r = await api.admin("GET", "/admin/users");
  assert.equal(r.status, 200, `GET /admin/users: ${r.text}`);
  assert.ok(Array.isArray(r.json?.users), `the list is {"users": [...]}: ${r.text}`);
  return r;
};

// ---- the admin API ---------------------------------------------------------------------------

test("POST /admin/users: 201 {user_id, username, name, created_at, disabled: false}, never a password or hash; GET and list show the same", async () => {
  const username = uniq("Ada.L_ove@x-");
  const password = uniq("correct horse ") + " battery";
  const r = await api.admin("POST", "/admin/users", { username, password, name: "Ada Lovelace" });
  assert.equal(r.status, 201, r.text);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assertUserShape(r.json, "201");
  assert.equal(r.json.username, username, "the username as given");
  assert.equal(r.json.name, "Ada Lovelace");
  assert.equal(r.json.disabled, false);
  assert.notEqual(r.json.user_id, username, "user_id is an opaque id, not the username");
  assert.ok(!r.text.includes(password), "the 201 does not echo the password");

  const got = await api.admin("GET", `/admin/users/${encodeURIComponent(r.json.user_id)}`);
  assert.equal(got.status, 200, got.text);
  assertUserShape(got.json, "GET");
  for (const k of USER_KEYS) assert.deepEqual(got.json[k], r.json[k], `GET shows the same ${k} as the 201`);
  assert.ok(!got.text.includes(password));

  const list = await listUsers();
  const mine = list.json.users.find((u) => u.user_id === r.json.user_id);
  assert.ok(mine, "the new user is in the list");
  for (const u of list.json.users) assertUserShape(u, `list entry ${u.username}`);
  for (const k of USER_KEYS) assert.deepEqual(mine[k], r.json[k], `the list shows the same ${k}`);
  assert.ok(!list.text.includes(password), "the list does not contain the password");

  // A second user gets a different id.
  const other = await createUser(api);
  assert.notEqual(other.user_id, r.json.user_id);
});

test("usernames: 1–64 of A-Z a-z 0-9 . _ @ -; anything else is 400 naming username, and creates nothing", async () => {
  const pw = "long enough password";
  const good = ["q", uniq("A.b_c@d-e").padEnd(64, "z"), uniq("user@example.com-"), uniq("0123456789_"), uniq("-.@_")];
  for (const username of good) {
    const r = await api.admin("POST", "/admin/users", { username, password: pw, name: "ok" });
    assert.equal(r.status, 201, `username ${JSON.stringify(username)} (${username.length} chars) is valid: ${r.text}`);
    assert.equal(r.json.username, username);
  }
  const before = (await listUsers()).json.users.length;
  const bad = [
    "", "x".repeat(65), uniq("has space "), uniq("tab\t"), uniq("newline\n"), uniq("é"), uniq("a/b"), uniq("a:b"),
    uniq("a+b"), uniq("<b>"), uniq("nul\u0000"), uniq("a,b"), uniq("a%b"), uniq("ａ"), uniq("a'b"), uniq('a"b'),
    " " + uniq("lead"), uniq("trail") + " ", uniq("emoji😀"), uniq("a\\b"), uniq("semi;"),
  ];
  for (const username of bad) {
    const r = await api.admin("POST", "/admin/users", { username, password: pw, name: "bad" });
    assert400Field(r, "username", `username ${JSON.stringify(username)}`);
  }
  for (const username of [5, null, true, ["a"], { a: 1 }]) {
    const r = await api.admin("POST", "/admin/users", { username, password: pw });
    assert400Field(r, "username", `username of type ${JSON.stringify(username)}`);
  }
  assert400Field(await api.admin("POST", "/admin/users", { password: pw, name: "no username" }), "username", "missing username");
  assert.equal((await listUsers()).json.users.length, before, "no bad request created a user");
});

test("passwords: 8–1024 characters (characters, not bytes), else 400 naming password", async () => {
  const ok = ["12345678", "p".repeat(1024), "é".repeat(8), "é".repeat(1024), "pass word with spaces"];
  for (const password of ok) {
    const r = await api.admin("POST", "/admin/users", { username: uniq("pw-ok-"), password, name: "x" });
    assert.equal(r.status, 201, `a password of ${[...password].length} characters is valid: ${r.text.slice(0, 200)}`);
  }
  const bad = ["", "1234567", "p".repeat(1025), "é".repeat(7) /* 14 bytes, 7 characters */, "é".repeat(1025)];
  for (const password of bad) {
    const r = await api.admin("POST", "/admin/users", { username: uniq("pw-bad-"), password, name: "x" });
    assert400Field(r, "password", `a password of ${[...password].length} characters`);
  }
  for (const password of [12345678, null, true, ["12345678"]]) {
    const r = await api.admin("POST", "/admin/users", { username: uniq("pw-type-"), password });
    assert400Field(r, "password", `password ${JSON.stringify(password)}`);
  }
  assert400Field(await api.admin("POST", "/admin/users", { username: uniq("pw-none-"), name: "x" }), "password", "missing password");
});

test("a non-ASCII password works for sign-in", async () => {
  const user = await createUser(api, { password: "pässwörd-ünïcödé-" + uniq() });
  const { access } = await tokensFor(user);
  assert.equal((await api.validate(access)).status, 200);
});

test("usernames are unique case-insensitively: 409 on a duplicate", async () => {
  const base = uniq("Alice-");
  const first = await api.admin("POST", "/admin/users", { username: base, password: "first password", name: "A" });
  assert.equal(first.status, 201, first.text);
  for (const username of [base, base.toLowerCase(), base.toUpperCase(), base[0].toLowerCase() + base.slice(1)]) {
    const r = await api.admin("POST", "/admin/users", { username, password: "second password", name: "B" });
    assert.equal(r.status, 409, `"${username}" duplicates "${base}": expected 409, got ${r.status} ${r.text}`);
    assert.ok(!r.text.includes("second password") && !r.text.includes("first password"));
  }
  const list = await listUsers();
  assert.equal(list.json.users.filter((u) => u.username.toLowerCase() === base.toLowerCase()).length, 1, "only the first was created");
});

test("PATCH name, disabled and password; DELETE is 204 and then everything is 404", async () => {
  const user = await createUser(api, { name: "Before" });
  const id = encodeURIComponent(user.user_id);

  const named = await api.admin("PATCH", `/admin/users/${id}`, { name: "After" });
  assert.equal(named.status, 200, named.text);
  assertUserShape(named.json, "PATCH name");
  assert.equal(named.json.name, "After");
  assert.equal(named.json.username, user.username);
  assert.equal(named.json.user_id, user.user_id);
  assert.equal((await api.admin("GET", `/admin/users/${id}`)).json.name, "After");

  const off = await api.admin("PATCH", `/admin/users/${id}`, { disabled: true });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.disabled, true);
  assert.equal((await api.admin("GET", `/admin/users/${id}`)).json.disabled, true);
  const on = await api.admin("PATCH", `/admin/users/${id}`, { disabled: false });
  assert.equal(on.json.disabled, false);

  // A new password: the old one stops working, the new one works; neither is ever echoed.
  const newPassword = uniq("brand new password ");
  const pw = await api.admin("PATCH", `/admin/users/${id}`, { password: newPassword });
  assert.equal(pw.status, 200, pw.text);
  assertUserShape(pw.json, "PATCH password");
  assert.ok(!pw.text.includes(newPassword) && !pw.text.includes(user.password));
  const fc = browser();
  const old = await signIn(fc, worker.url, authorizeUrl(), user.username, user.password);
  assert.equal(old.status, 401, `the old password is refused with the 401 login page: ${old.status}`);
  assert.ok(loginFormOf(old), "the login page again");
  const { access } = await tokensFor({ ...user, password: newPassword });
  assert.equal((await api.validate(access)).status, 200, "the new password signs in");

  const del = await api.admin("DELETE", `/admin/users/${id}`);
  assert.equal(del.status, 204, del.text);
  assert.equal(del.text, "", "204 has no body");
  assert.equal((await api.admin("GET", `/admin/users/${id}`)).status, 404);
  assert.equal((await api.admin("PATCH", `/admin/users/${id}`, { name: "x" })).status, 404);
  assert.equal((await api.admin("DELETE", `/admin/users/${id}`)).status, 404);
  assert.equal((await api.admin("GET", `/admin/users/${id}/grants`)).status, 404);
  assert.ok(!(await listUsers()).json.users.some((u) => u.user_id === user.user_id), "gone from the list");
  const gone = await signIn(browser(), worker.url, authorizeUrl(), user.username, newPassword);
  assert.equal(gone.status, 401, "a deleted user cannot sign in");
});

test("PATCH with bad values or bad JSON is 400 naming the field and changes nothing", async () => {
  const user = await createUser(api, { name: "Stable" });
  const id = encodeURIComponent(user.user_id);
  const cases = [
    [{ password: "short" }, "password"],
    [{ password: "x".repeat(1025) }, "password"],
    [{ password: 123456789 }, "password"],
    [{ name: 5 }, "name"],
    [{ disabled: "yes" }, "disabled"],
    [{ disabled: 1 }, "disabled"],
  ];
  for (const [body, field] of cases) assert400Field(await api.admin("PATCH", `/admin/users/${id}`, body), field, `PATCH ${JSON.stringify(body)}`);
  // A bad field next to a good one: nothing of the request is applied.
  assert400Field(await api.admin("PATCH", `/admin/users/${id}`, { name: "Changed", disabled: "no" }), "disabled", "PATCH name + bad disabled");
  for (const raw of ["{nope", "[]", "null", '"x"', ""]) {
    const r = await api.admin("PATCH", `/admin/users/${id}`, raw);
    assert.equal(r.status, 400, `PATCH body ${JSON.stringify(raw)}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.error, "string", `a JSON error for body ${JSON.stringify(raw)}`);
  }
  const got = await api.admin("GET", `/admin/users/${id}`);
  assert.equal(got.json.name, "Stable");
  assert.equal(got.json.disabled, false);
  const { access } = await tokensFor(user);
  assert.equal((await api.validate(access)).status, 200, "the original password still works");
});

test("POST with bad JSON or wrong types is 400", async () => {
  for (const raw of ["{not json", "[]", "null", "42", ""]) {
    const r = await api.admin("POST", "/admin/users", raw);
    assert.equal(r.status, 400, `POST body ${JSON.stringify(raw)}: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.error, "string", `a JSON error for body ${JSON.stringify(raw)}`);
  }
  assert400Field(await api.admin("POST", "/admin/users", { username: uniq("n-"), password: "12345678", name: 5 }), "name", "name: 5");
  assert400Field(await api.admin("POST", "/admin/users", { username: uniq("d-"), password: "12345678", disabled: "no" }), "disabled", "disabled: \"no\"");
});

test("every users endpoint is 401 without the admin token or with a wrong one, and does nothing", async () => {
  const user = await createUser(api);
  const id = encodeURIComponent(user.user_id);
  const calls = [
    ["GET", "/admin/users"],
    ["POST", "/admin/users", JSON.stringify({ username: uniq("intruder-"), password: "12345678" })],
    ["GET", `/admin/users/${id}`],
    ["PATCH", `/admin/users/${id}`, JSON.stringify({ disabled: true })],
    ["DELETE", `/admin/users/${id}`],
    ["GET", `/admin/users/${id}/grants`],
    ["DELETE", `/admin/users/${id}/grants/${app.client_id}`],
  ];
  for (const auth of [undefined, "Bearer wrong-token", `Bearer ${ADMIN}x`, ADMIN, `Basic ${Buffer.from(`admin:${ADMIN}`).toString("base64")}`]) {
    for (const [method, path, body] of calls) {
      const headers = { "content-type": "application/json" };
      if (auth) headers.authorization = auth;
      const r = await api.call(method, path, { headers, body });
      assert.equal(r.status, 401, `${method} ${path} with authorization ${JSON.stringify(auth)}: ${r.status} ${r.text}`);
    }
  }
  const got = await api.admin("GET", `/admin/users/${id}`);
  assert.equal(got.status, 200, "the user was not deleted");
  assert.equal(got.json.disabled, false, "the user was not disabled");
  assert.ok(!(await listUsers()).json.users.some((u) => u.username.startsWith("intruder-")), "no user was created");
});

test("unknown user ids are 404", async () => {
  for (const id of ["unknown", "AAAAAAAAAAAAAAAAAAAAAA", "..%2F..", "%00"]) {
    assert.equal((await api.admin("GET", `/admin/users/${id}`)).status, 404, `GET ${id}`);
    assert.equal((await api.admin("PATCH", `/admin/users/${id}`, { name: "x" })).status, 404, `PATCH ${id}`);
    assert.equal((await api.admin("DELETE", `/admin/users/${id}`)).status, 404, `DELETE ${id}`);
    assert.equal((await api.admin("GET", `/admin/users/${id}/grants`)).status, 404, `GET ${id}/grants`);
    assert.equal((await api.admin("DELETE", `/admin/users/${id}/grants/${app.client_id}`)).status, 404, `DELETE ${id}/grants/…`);
  }
});

// ---- how passwords are stored ---------------------------------------------------------------

/** The forms a stored password could take if it were stored in the clear or merely encoded. */
const encodings = (pw) => [
  ["plaintext (UTF-8)", Buffer.from(pw)],
  ["UTF-16LE", Buffer.from(pw, "utf16le")],
  ["base64", Buffer.from(Buffer.from(pw).toString("base64").replace(/=+$/, ""))],
  ["base64url", Buffer.from(Buffer.from(pw).toString("base64url"))],
  ["hex", Buffer.from(Buffer.from(pw).toString("hex"))],
  ["JSON-escaped", Buffer.from(JSON.stringify(pw).slice(1, -1))],
];

function assertNowhere(pw, label) {
  const records = storedRecords(worker.stateDir);
  assert.ok(records.length > 0, "the state folder's records are readable");
  for (const [how, bytes] of encodings(pw)) {
    const files = filesContaining(worker.stateDir, bytes);
    assert.deepEqual(files, [], `${label}: the password (${how}) appears in no file of the state folder`);
    const hits = records.filter((r) => r.value.includes(bytes) || String(r.key).includes(bytes.toString()));
    assert.deepEqual(hits.map((r) => `${r.kind}:${r.key}`), [], `${label}: the password (${how}) is in no stored key or value`);
  }
  assert.ok(!worker.log().includes(pw), `${label}: the password is not in the worker's log`);
}

test("the password is stored only hashed: not in any stored value, KV entry or file of the state folder, nor in the log", async () => {
  const password = "Plain-Text-" + uniq() + "-Σίσυφος";
  const user = await createUser(api, { password });
  // Sign in once, so whatever a session stores is stored too.
  const { access } = await tokensFor(user);
  assert.equal((await api.validate(access)).status, 200);
  const records = storedRecords(worker.stateDir);
  assert.ok(
    records.some((r) => r.value.includes(Buffer.from(user.user_id)) || String(r.key).includes(user.user_id) || r.value.includes(Buffer.from(user.username)) || String(r.key).includes(user.username)),
    "the user is stored somewhere the test can see (DO storage or KV)",
  );
  assertNowhere(password, "after create and sign-in");

  const next = "Second-Plain-" + uniq() + "-Ωmega";
  assert.equal((await api.admin("PATCH", `/admin/users/${encodeURIComponent(user.user_id)}`, { password: next })).status, 200);
  const { access: a2 } = await tokensFor({ ...user, password: next });
  assert.equal((await api.validate(a2)).status, 200);
  // A failed sign-in with a guessed password must not store the guess either.
  const guess = "Guessed-" + uniq();
  assert.equal((await signIn(browser(), worker.url, authorizeUrl(), user.username, guess)).status, 401);
  assertNowhere(next, "after a password change");
  assertNowhere(password, "the old password after the change");
  assertNowhere(guess, "a wrong guess");
});

test("per-user salt: two users with the same password have no stored hash material in common", async () => {
  const password = "Same-Password-" + uniq();
  const a = await createUser(api, { password });
  const b = await createUser(api, { password });
  const records = storedRecords(worker.stateDir);
  const about = (u, other) =>
    records.filter((r) => {
      const text = `${r.key} ${r.value.toString("latin1")}`;
      return (text.includes(u.user_id) || text.includes(u.username)) && !text.includes(other.user_id) && !text.includes(other.username);
    });
  const ra = about(a, b), rb = about(b, a);
  assert.ok(ra.length > 0 && rb.length > 0, "each user's record is found in storage by its id or username");
  // Long base64/hex runs (salts and hashes are at least 16 bytes: 22+ characters).
  const runs = (recs, u) => new Set(recs.flatMap((r) => r.value.toString("latin1").match(/[A-Za-z0-9+/=_-]{22,}/g) ?? [])
    .filter((s) => !s.includes(u.user_id) && !s.includes(u.username)));
  const common = [...runs(ra, a)].filter((s) => runs(rb, b).has(s));
  assert.deepEqual(common, [], "no salt or hash is shared between two users with the same password");
});

test("the stored hash is PBKDF2-HMAC-SHA256 of the password with the stored salt (checked when the record names salt, hash and iterations)", async (t) => {
  const password = "Derive-Me-" + uniq();
  const user = await createUser(api, { password });
  const candidates = [];
  for (const r of storedRecords(worker.stateDir)) {
    const text = r.value.toString("utf8");
    if (!text.includes(user.user_id) && !String(r.key).includes(user.user_id)) continue;
    // Find any JSON object in the value with salt + hash (+ iterations) members.
    for (const m of text.matchAll(/\{[^{}]*"salt"[^{}]*\}/g)) {
      try { candidates.push(JSON.parse(m[0])); } catch {}
    }
  }
  if (candidates.length === 0) {
    t.diagnostic("no {salt, hash, iterations} object found in the user's stored record: format not checked");
    return;
  }
  const decode = (s) => [Buffer.from(s, "base64url"), Buffer.from(s, "base64"), Buffer.from(s, "hex"), Buffer.from(s)].filter((b) => b.length > 0);
  const { pbkdf2Sync } = await import("node:crypto");
  let matched = false;
  for (const c of candidates) {
    const hash = c.hash ?? c.dk ?? c.key;
    const iterations = Number(c.iterations ?? c.iter ?? c.rounds);
    if (typeof hash !== "string" || typeof c.salt !== "string" || !Number.isInteger(iterations)) continue;
    assert.ok(iterations >= 10_000, `a meaningful work factor (${iterations} iterations)`);
    for (const salt of decode(c.salt)) {
      for (const expected of decode(hash)) {
        if (pbkdf2Sync(password, salt, iterations, expected.length, "sha256").equals(expected)) matched = true;
      }
    }
  }
  assert.ok(matched, `the stored hash is PBKDF2-HMAC-SHA256(password, salt, iterations): ${JSON.stringify(candidates.map((c) => Object.keys(c)))}`);
});

// ---- what disabling, deleting and revoking grants do ------------------------------------------

test("disabling a user ends its sessions and kills its access and refresh tokens at once; re-enabling revives nothing", async () => {
  const user = await createUser(api);
  const bystander = await createUser(api);
  const first = await tokensFor(user);
  // A second flow in the same session: consent is remembered, so it goes straight through.
  const second = await tokensFor(user, { fc: first.fc });
  assert.equal(second.flow.consentShown, false, "the second authorization needs no consent");
  const other = await tokensFor(bystander);
  assert.equal((await api.validate(first.access)).status, 200);
  assert.equal(await whatShows(first.fc), "redirect", "signed in and consented: /authorize redirects at once");

  const id = encodeURIComponent(user.user_id);
  assert.equal((await api.admin("PATCH", `/admin/users/${id}`, { disabled: true })).status, 200);
  const v = await api.validate(first.access);
  assert.equal(v.status, 401, `the access token is invalid at once: ${v.status} ${v.text}`);
  assert.equal(v.headers.get("www-authenticate"), 'Bearer realm="edge-oauth", error="invalid_token"');
  assert.equal(await whatShows(first.fc), "login", "the session has ended: the login page, not consent or a code");
  const disabledLogin = await signIn(browser(), worker.url, authorizeUrl(), user.username, user.password);
  assert.equal(disabledLogin.status, 401, "a disabled user cannot sign in, even with the right password");

  // Re-enable with no use of `second` in between: only the disable itself can have killed it.
  assert.equal((await api.admin("PATCH", `/admin/users/${id}`, { disabled: false })).status, 200);
  assert.equal((await api.validate(second.access)).status, 401, "re-enabling does not revive access tokens");
  assert.equal((await api.validate(first.access)).status, 401);
  assert.equal(await whatShows(first.fc), "login", "re-enabling does not revive the session");

  assert.equal((await api.validate(other.access)).status, 200, "another user's token is unaffected");
  const fresh = await tokensFor(user);
  assert.equal((await api.validate(fresh.access)).status, 200, "after re-enabling, the user can sign in and get new tokens");
  // The refresh tokens of both earlier flows died with the disable (and stay dead).
  assertDeadRefresh(await refresh(app, first.refresh), "the first flow's refresh token");
  assertDeadRefresh(await refresh(app, second.refresh), "the second flow's refresh token (never used while disabled)");
});

test("deleting a user ends its sessions and kills its tokens at once; other users are unaffected", async () => {
  const user = await createUser(api);
  const bystander = await createUser(api);
  const t = await tokensFor(user);
  const other = await tokensFor(bystander);
  assert.equal((await api.validate(t.access)).status, 200);
  assert.equal((await api.admin("DELETE", `/admin/users/${encodeURIComponent(user.user_id)}`)).status, 204);
  assert.equal((await api.validate(t.access)).status, 401, "the access token is invalid at once");
  assert.equal(await whatShows(t.fc), "login", "the session has ended");
  assert.equal((await api.validate(other.access)).status, 200, "another user's token is unaffected");
  assert.equal(await whatShows(other.fc), "redirect", "another user's session is unaffected");
  assertDeadRefresh(await refresh(app, t.refresh), "a deleted user's refresh token");
  const alive = await refresh(app, other.refresh);
  assert.equal(alive.status, 200, `another user's refresh token still works: ${alive.text}`);
});

test("grants: GET lists {client_id, scope, created_at}; DELETE forgets the consent and kills only that client's tokens for that user", async () => {
  const c1 = await publicClient();
  const c2 = await publicClient({ scopes: ["read"] });
  const user = await createUser(api);
  const other = await createUser(api);

  const empty = await api.admin("GET", `/admin/users/${encodeURIComponent(user.user_id)}/grants`);
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.json, { grants: [] }, "no grants before any consent");

  const u1 = await tokensFor(user, { client: c1, scope: "read" });
  const u2 = await tokensFor(user, { client: c2, fc: u1.fc, scope: "read" });
  assert.equal(u2.flow.consentShown, true, "consent is per client");
  const o1 = await tokensFor(other, { client: c1, scope: "read" });

  const id = encodeURIComponent(user.user_id);
  const list = await api.admin("GET", `/admin/users/${id}/grants`);
  assert.equal(list.status, 200, list.text);
  assert.ok(Array.isArray(list.json?.grants), `{"grants": [...]}: ${list.text}`);
  assert.deepEqual(list.json.grants.map((g) => g.client_id).sort(), [c1.client_id, c2.client_id].sort(), "one grant per client");
  for (const g of list.json.grants) {
    assert.equal(g.scope, "read", "the granted scope");
    assertNearNow(g.created_at, "grant created_at");
  }

  const del = await api.admin("DELETE", `/admin/users/${id}/grants/${encodeURIComponent(c1.client_id)}`);
  assert.equal(del.status, 204, del.text);
  assert.equal((await api.validate(u1.access)).status, 401, "the user's tokens for that client are invalid at once");
  assert.equal((await api.validate(u2.access)).status, 200, "the user's tokens for another client are unaffected");
  assert.equal((await api.validate(o1.access)).status, 200, "another user's tokens for the same client are unaffected");
  const after = await api.admin("GET", `/admin/users/${id}/grants`);
  assert.deepEqual(after.json.grants.map((g) => g.client_id), [c2.client_id], "only the other grant is left");
  assert.equal(await whatShows(u1.fc, c1), "consent", "the consent was forgotten: the consent page shows again (session kept)");
  assert.equal(await whatShows(u1.fc, c2), "redirect", "the other client's consent is kept");
  assertDeadRefresh(await refresh(c1, u1.refresh), "the refresh token of the revoked grant");
  const kept = await refresh(c2, u2.refresh);
  assert.equal(kept.status, 200, `the refresh token of the other grant still works: ${kept.text}`);
});
