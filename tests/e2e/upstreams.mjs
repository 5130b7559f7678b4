// Upstream identity providers on loopback, for the sign-in-with-a-provider tests (e2e and
// browser): a real OpenID Provider (panva's `oidc-provider`, OpenID-certified, with its own
// development login and consent pages) and a small GitHub-shaped OAuth 2 server.
import { createServer } from "node:http";
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";
import Provider from "oidc-provider";
import { freePort } from "./harness.mjs";

const listen = (handler, port) =>
  new Promise((resolve) => {
    const srv = createServer((req, res) => handler(req, res));
    srv.listen(port, "127.0.0.1", () => resolve(srv));
  });

/**
 * A local OpenID Provider at `issuer` (http://127.0.0.1:{port}). Its one client is `edge` /
 * `edge-secret`; `register(redirectUri)` sets the redirect URI it accepts (known only once the
 * worker has made the provider). Accounts: any login; the claims are `preferred_username` = the
 * login and `name` = "Person {login}". ID tokens are RS256.
 */
export async function startOidcProvider() {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: "e2e-rsa", use: "sig", alg: "RS256" };
  const make = (redirectUris) => {
    const op = new Provider(issuer, {
      clients: [{ client_id: "edge", client_secret: "edge-secret", redirect_uris: redirectUris, grant_types: ["authorization_code"], response_types: ["code"] }],
      jwks: { keys: [jwk] },
      claims: { openid: ["sub"], profile: ["name", "preferred_username"] },
      findAccount: async (ctx, id) => ({
        accountId: id,
        claims: async () => ({ sub: id, preferred_username: id, name: `Person ${id}` }),
      }),
      features: { devInteractions: { enabled: true } },
      cookies: { keys: ["e2e-cookie-key"] },
    });
    op.on("server_error", (ctx, err) => console.error("oidc-provider:", err));
    return op;
  };
  let handler = make(["http://127.0.0.1/placeholder"]).callback();
  const srv = await listen((req, res) => handler(req, res), port);
  return {
    issuer,
    register(redirectUri) {
      handler = make([redirectUri]).callback();
    },
    close: () => new Promise((r) => srv.close(r)),
  };
}

/**
 * A GitHub-shaped OAuth 2 server: `/login/oauth/authorize` approves at once (as the account
 * `nextUser`), `/login/oauth/access_token` (Basic or form credentials, PKCE S256 checked, JSON
 * only with `Accept: application/json`, errors as 200 `{"error"}` like GitHub), `/user` (needs a
 * User-Agent). Every request is remembered in `requests`.
 */
export async function startGithubFake({ clientId = "gh-client", clientSecret = "gh-secret" } = {}) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const codes = new Map();
  const tokens = new Map();
  const requests = [];
  const state = { nextUser: { id: 4242, login: "octo cat", name: "The Octocat" } };
  const json = (res, status, body) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  const srv = await listen(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    const u = new URL(req.url, url);
    requests.push({ method: req.method, path: u.pathname, headers: req.headers, body });
    if (!req.headers["user-agent"]) return json(res, 403, { message: "Request forbidden by administrative rules. Please make sure your request has a User-Agent header" });
    if (u.pathname === "/login/oauth/authorize") {
      const q = u.searchParams;
      if (q.get("client_id") !== clientId) return json(res, 404, { error: "unknown client" });
      const code = randomBytes(10).toString("hex");
      codes.set(code, { challenge: q.get("code_challenge"), redirect: q.get("redirect_uri"), user: state.nextUser });
      const to = new URL(q.get("redirect_uri"));
      to.searchParams.set("code", code);
      to.searchParams.set("state", q.get("state"));
      res.writeHead(302, { location: to.toString() });
      return res.end();
    }
    if (u.pathname === "/login/oauth/access_token" && req.method === "POST") {
      const form = new URLSearchParams(body);
      let [id, secret] = [form.get("client_id"), form.get("client_secret")];
      const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? "");
      if (basic) [id, secret] = Buffer.from(basic[1], "base64").toString().split(":").map(decodeURIComponent);
      const c = codes.get(form.get("code"));
      codes.delete(form.get("code"));
      const verifier = form.get("code_verifier") ?? "";
      const s256 = createHash("sha256").update(verifier).digest("base64url");
      let answer;
      if (id !== clientId || secret !== clientSecret) answer = { error: "incorrect_client_credentials" };
      else if (!c || c.redirect !== form.get("redirect_uri") || c.challenge !== s256) answer = { error: "bad_verification_code" };
      else {
        const token = `gho_${randomBytes(12).toString("hex")}`;
        tokens.set(token, c.user);
        answer = { access_token: token, token_type: "bearer", scope: "read:user" };
      }
      if ((req.headers.accept ?? "").includes("application/json")) return json(res, 200, answer);
      res.writeHead(200, { "content-type": "application/x-www-form-urlencoded" });
      return res.end(new URLSearchParams(answer).toString());
    }
    if (u.pathname === "/user") {
      const user = tokens.get((req.headers.authorization ?? "").replace(/^Bearer /, ""));
      return user ? json(res, 200, user) : json(res, 401, { message: "Bad credentials" });
    }
    json(res, 404, { message: "Not Found" });
  }, port);
  return {
    url,
    clientId,
    clientSecret,
    state,
    requests,
    /** The `/admin/providers` body for this server. */
    providerBody: (extra = {}) => ({
      name: "GitHub", kind: "oauth2", client_id: clientId, client_secret: clientSecret, scopes: "read:user",
      authorization_endpoint: `${url}/login/oauth/authorize`, token_endpoint: `${url}/login/oauth/access_token`,
      userinfo_endpoint: `${url}/user`, claims: { subject: "id", username: "login", name: "name" }, ...extra,
    }),
    close: () => new Promise((r) => srv.close(r)),
  };
}
