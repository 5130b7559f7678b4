// Sign-in with an upstream identity provider through the real runtime: a real OpenID Provider
// (panva's `oidc-provider`) and a GitHub-shaped OAuth 2 server on loopback as the upstreams,
// `/admin/providers`, the "Continue with" buttons, `/login/{id}` and its callback, the identity
// links, and an application getting the person's tokens from /authorize → /token.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startWorker, clientFor, formClient, ADMIN, uniq, pkce, authorizePath, pathOf, formsOf, consentFormOf, submitForm,
  redirectQuery, redeemCode, htmlText,
} from "./harness.mjs";
import { startOidcProvider, startGithubFake } from "./upstreams.mjs";

const REDIRECT = "https://app.example/cb";
let worker, api, op, gh, oidcId, ghId, app;
let ipSeq = 0;
const browser = () => formClient(worker.url, { ip: `198.18.90.${++ipSeq}` });

before(async () => {
  [worker, op, gh] = await Promise.all([
    startWorker({ vars: { ADMIN_TOKEN: ADMIN, AUTH_FAILURES_PER_IP: "100000", AUTH_FAILURES_PER_CLIENT: "100000" } }),
    startOidcProvider(),
    startGithubFake(),
  ]);
  api = clientFor(worker.url);
  const r = await api.admin("POST", "/admin/providers", { name: "Acme SSO", kind: "oidc", issuer: op.issuer, client_id: "edge", client_secret: "edge-secret" });
  assert.equal(r.status, 201, r.text);
  oidcId = r.json.provider_id;
  op.register(`${worker.url}/login/${oidcId}/callback`);
  const g = await api.admin("POST", "/admin/providers", gh.providerBody());
  assert.equal(g.status, 201, g.text);
  ghId = g.json.provider_id;
  app = await api.createClient({ name: "Upstream app", client_type: "public", grant_types: ["authorization_code"], redirect_uris: [REDIRECT], scopes: ["read"] });
});
after(async () => {
  await Promise.all([worker?.destroy(), op?.close(), gh?.close()]);
});

/** Follow the provider's pages (oidc-provider's development login and consent forms) from
 * `location` until it sends the browser back to the worker; returns that URL. */
async function throughProvider(location, login = "alice") {
  const jar = new Map();
  let url = location;
  for (let step = 0; step < 12; step++) {
    if (url.startsWith(worker.url)) return url;
    const r = await fetch(url, { redirect: "manual", headers: { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") } });
    for (const line of r.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    const text = await r.text();
    if (r.status >= 300 && r.status < 400) {
      url = new URL(r.headers.get("location"), url).toString();
      continue;
    }
    const form = formsOf(text)[0];
    assert.ok(form, `a form at ${url}: ${r.status} ${text.slice(0, 300)}`);
    const fields = { ...form.fields };
    if ("login" in fields || form.fields.prompt === "login") Object.assign(fields, { login, password: "any" });
    const post = await fetch(new URL(form.action, url), {
      method: "POST", redirect: "manual", body: new URLSearchParams(fields),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") },
    });
    for (const line of post.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const i = pair.indexOf("=");
      jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
    await post.text();
    url = new URL(post.headers.get("location"), url).toString();
  }
  throw new Error(`the provider did not send the browser back: ${url}`);
}

/** The "Continue with {name}" links of a sign-in page. */
const buttons = (html) => [...html.matchAll(/<a class="button alt" href="([^"]*)">([^<]*)<\/a>/g)].map(([, href, text]) => ({ href: href.replaceAll("&#38;", "&").replaceAll("&amp;", "&"), text: htmlText(text) }));

/** Sign in from `/login/{id}?return_to=…` with browser `fc`; returns the callback's response. */
async function signInWith(fc, id, returnTo, login) {
  const start = await fc.get(`/login/${id}?return_to=${encodeURIComponent(returnTo)}`);
  assert.equal(start.status, 302, start.text);
  const back = id === ghId ? start.location : await throughProvider(start.location, login);
  const toWorker = id === ghId ? await fetch(back, { redirect: "manual", headers: { "user-agent": "e2e" } }).then((r) => r.headers.get("location")) : back;
  return { callback: pathOf(toWorker, worker.url), response: await fc.get(pathOf(toWorker, worker.url)) };
}

const users = async () => (await api.admin("GET", "/admin/users")).json.users;

test("providers: created from the discovery document, never showing the secret", async () => {
  const one = await api.admin("GET", `/admin/providers/${oidcId}`);
  assert.equal(one.status, 200);
  assert.equal(one.json.kind, "oidc");
  assert.equal(one.json.issuer, op.issuer);
  assert.equal(one.json.token_endpoint, `${op.issuer}/token`);
  const list = await api.admin("GET", "/admin/providers");
  assert.deepEqual(list.json.providers.map((p) => p.provider_id), [oidcId, ghId]);
  for (const r of [one, list]) assert.ok(!r.text.includes("edge-secret") && !r.text.includes(gh.clientSecret), "no secret");
  assert.deepEqual(list.json.providers[1].claims, { subject: "id", username: "login", name: "name" });
  // The discovery document's issuer must be the configured one (a trailing slash is another).
  const bad = await api.admin("POST", "/admin/providers", { name: "X", kind: "oidc", issuer: `${op.issuer}/`, client_id: "c", client_secret: "s" });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.field, "issuer");
  const http = await api.admin("POST", "/admin/providers", { ...gh.providerBody(), token_endpoint: "http://idp.example/token" });
  assert.equal(http.json.field, "token_endpoint", "http only on loopback");
});

test("an application gets tokens for a person who signed in at the OpenID Provider", async () => {
  const fc = browser();
  const { verifier, challenge } = pkce();
  const path = authorizePath({ response_type: "code", client_id: app.client_id, redirect_uri: REDIRECT, scope: "read", state: "s1", code_challenge: challenge, code_challenge_method: "S256" });
  const login = await fc.get(path);
  const b = buttons(login.text);
  assert.deepEqual(b.map((x) => x.text), ["Continue with Acme SSO", "Continue with GitHub"]);
  const start = await fc.get(b[0].href);
  assert.equal(start.status, 302);
  const to = new URL(start.location);
  assert.equal(to.origin, op.issuer);
  assert.equal(to.searchParams.get("code_challenge_method"), "S256");
  assert.ok(to.searchParams.get("nonce") && to.searchParams.get("state"));
  const cookie = start.headers.get("set-cookie");
  assert.match(cookie, /^eo_upstream=.*HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  const back = await throughProvider(start.location, "alice");
  const cb = await fc.get(pathOf(back, worker.url));
  assert.equal(cb.status, 303, cb.text);
  const returnTo = formsOf(login.text).find((f) => "password" in f.fields).fields.return_to;
  assert.equal(cb.location, returnTo, "exactly return_to");
  const consent = await fc.get(pathOf(cb.location, worker.url));
  const form = consentFormOf(consent);
  assert.ok(form, consent.text.slice(0, 300));
  const done = await submitForm(fc, worker.url, form, {}, form.buttons.find((x) => x.value === "approve"), pathOf(cb.location, worker.url));
  const code = redirectQuery(done).get("code");
  const tok = await redeemCode(api, { client: app, code, redirect_uri: REDIRECT, code_verifier: verifier });
  assert.equal(tok.status, 200, tok.text);
  assert.ok(tok.json.access_token);
  const person = (await users()).find((u) => u.username === "alice");
  assert.ok(person, "alice was created");
  assert.equal(person.name, "Person alice");
  const v = await api.admin("GET", `/admin/users/${person.user_id}`);
  assert.deepEqual(v.json.identities, [{ provider_id: oidcId, subject: "alice" }]);

  // The callback again (a replay): never a second sign-in.
  const replay = await browser().get(pathOf(back, worker.url));
  assert.equal(replay.status, 400);
  const again = await fc.get(pathOf(back, worker.url));
  assert.equal(again.status, 400);
  assert.match(again.headers.get("cache-control") ?? "", /no-store/);
  assert.equal(again.headers.get("x-frame-options"), "DENY");
  assert.ok(!again.text.includes("edge-secret"));
});

test("the state is this browser's; return_to stays on this server", async () => {
  const a = browser(), b = browser();
  const start = await a.get(`/login/${oidcId}?return_to=/x`);
  const back = await throughProvider(start.location, "bob");
  const other = await b.get(pathOf(back, worker.url));
  assert.equal(other.status, 400, "another browser's callback");
  assert.ok(!(await users()).some((u) => u.username === "bob"), "nothing created");
  for (const [asked, want] of [["//evil.example/x", "/console"], ["/\\evil.example", "/console"], ["http:evil.example", "/console"], [`${worker.url.replace("127.0.0.1", "localhost")}/x`, "/console"], ["/device?user_code=ABCD", "/device?user_code=ABCD"]]) {
    const { response } = await signInWith(browser(), oidcId, asked, "carol");
    assert.equal(response.status, 303, response.text);
    assert.equal(response.location, want, asked);
  }
});

test("the GitHub-shaped OAuth 2 provider: userinfo claims, a numeric id, a free username", async () => {
  const { response } = await signInWith(browser(), ghId, "/x");
  assert.equal(response.status, 303, response.text);
  const person = (await users()).find((u) => u.name === "The Octocat");
  assert.equal(person.username, "octo-cat");
  const v = await api.admin("GET", `/admin/users/${person.user_id}`);
  assert.deepEqual(v.json.identities, [{ provider_id: ghId, subject: "4242" }]);
  const exchange = gh.requests.find((r) => r.path === "/login/oauth/access_token");
  assert.match(exchange.headers.authorization, /^Basic /);
  assert.equal(exchange.headers.accept, "application/json");
  assert.ok(exchange.headers["user-agent"]);
  assert.ok(!exchange.body.includes("gh-secret"), "client_secret_basic by default");
  // Another GitHub account with the same login: a free username that contains it.
  gh.state.nextUser = { id: 5151, login: "octo-cat", name: "Another Octocat" };
  await signInWith(browser(), ghId, "/x");
  assert.equal((await users()).find((u) => u.name === "Another Octocat").username, "octo-cat-2");
});

test("an operator links an existing person; disabled people are refused; deleted providers stop", async () => {
  const made = await api.admin("POST", "/admin/users", { username: uniq("dora-"), password: "correct horse battery" });
  const dora = made.json.user_id;
  const link = (who, body) => api.admin("POST", `/admin/users/${who}/identities`, body);
  assert.equal((await link(dora, { provider_id: "nope", subject: "1" })).status, 400);
  assert.equal((await link(dora, { provider_id: ghId, subject: "777" })).status, 201);
  const someone = (await users()).find((u) => u.name === "The Octocat").user_id;
  assert.equal((await link(someone, { provider_id: ghId, subject: "777" })).status, 409);
  gh.state.nextUser = { id: 777, login: "dora-gh", name: "Dora on GitHub" };
  const fc = browser();
  const { response } = await signInWith(fc, ghId, "/x");
  assert.equal(response.status, 303);
  const page = await fc.get("/login");
  assert.ok(page.text.includes(made.json.username), "signed in as the linked person");
  assert.ok(!(await users()).some((u) => u.name === "Dora on GitHub"), "no one new");

  await api.admin("PATCH", `/admin/users/${dora}`, { disabled: true });
  const refused = (await signInWith(browser(), ghId, "/x")).response;
  assert.equal(refused.status, 403);
  assert.ok(!refused.headers.get("set-cookie")?.includes("eo_session="));
  await api.admin("PATCH", `/admin/users/${dora}`, { disabled: false });
  assert.equal((await api.admin("DELETE", `/admin/users/${dora}/identities/${ghId}`)).status, 204);

  const temp = await api.admin("POST", "/admin/providers", gh.providerBody({ name: "Temporary" }));
  const fcT = browser();
  const start = await fcT.get(`/login/${temp.json.provider_id}?return_to=/x`);
  assert.equal(start.status, 302);
  assert.equal((await api.admin("DELETE", `/admin/providers/${temp.json.provider_id}`)).status, 204);
  const back = await fetch(start.location, { redirect: "manual", headers: { "user-agent": "e2e" } }).then((r) => r.headers.get("location"));
  assert.equal((await fcT.get(pathOf(back, worker.url))).status, 404, "the deleted provider's callback");
  assert.equal((await fcT.get(`/login/${temp.json.provider_id}`)).status, 404);
  assert.ok(!buttons((await browser().get("/login")).text).some((x) => x.text.includes("Temporary")));
});
