// A consumer Worker: an API that protects its routes with edge-oauth, reached through a service
// binding (AUTH), and describes itself as an OAuth 2.0 protected resource (RFC 9728) so that
// clients that know only its URL (MCP clients, for one) find their way to edge-oauth.
//
// Bearer tokens are checked with one RPC call, `env.AUTH.validate(token, ip, scope, resource)`:
// no HTTP request is built or parsed, and the answer is a plain object with /validate's fields
// plus `status`. `resource` is this API's resource identifier: edge-oauth refuses (401
// invalid_token) a token bound to other resources (RFC 8707 audience restriction; an
// edge-oauth without resource indicators ignores the fourth argument). API keys (seed 002: a
// `key` header or `?key=`) go through `fetch /validate`, which takes the caller's own headers.
//
// RFC 9728:
// - `GET /.well-known/oauth-protected-resource` serves this resource's metadata. The document's
//   URL is made from the resource identifier (§3.1): the well-known path goes between the
//   host and the identifier's path, so a RESOURCE of `https://api.example.com/api` is described
//   at `https://api.example.com/.well-known/oauth-protected-resource/api`.
// - Every 401 (and 403) from the API carries `WWW-Authenticate: Bearer resource_metadata="…"`
//   (§5.1), merged into edge-oauth's own Bearer challenge (one challenge, RFC 6750 §3).
//
// Variables (examples/consumer/wrangler.toml, or `--var` to `wrangler dev`):
// - RESOURCE: this API's resource identifier (an absolute URI, no fragment). Default: the
//   request's origin, e.g. `http://127.0.0.1:8787`.
// - AUTH_ISSUER: edge-oauth's issuer, listed in `authorization_servers`. Default: the request's
//   origin, because in development this Worker passes edge-oauth's endpoints through (below).

const WELL_KNOWN = "/.well-known/oauth-protected-resource";
const SCOPES = ["read", "write"];

// Development convenience: edge-oauth's endpoints pass through, so one `wrangler dev` port
// serves both the API and its authorization server (an MCP client then needs one origin only:
// metadata, sign-in and consent pages, tokens). In production, clients call edge-oauth's own
// route (AUTH_ISSUER) and this list can go.
const PASS_THROUGH = new Set([
  "/token", "/token/", "/revoke", "/revoke/", "/authorize", "/login", "/logout", "/register",
  "/.well-known/oauth-authorization-server",
]);

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (PASS_THROUGH.has(url.pathname)) return env.AUTH.fetch(request);

    const resource = env.RESOURCE || url.origin;
    const metadata = metadataUrl(resource);
    if (url.pathname === new URL(metadata).pathname) return describe(env, url, resource);

    if (url.pathname === "/api" || url.pathname.startsWith("/api/")) {
      // The scopes this route needs; edge-oauth answers 403 insufficient_scope without them.
      const scope = request.method === "GET" ? "read" : "write";
      const authorization = request.headers.get("authorization") ?? "";
      const bearer = /^bearer +(\S+) *$/i.exec(authorization);

      if (bearer) {
        const ip = request.headers.get("cf-connecting-ip");
        const who = await env.AUTH.validate(bearer[1], ip, scope, resource);
        // who: { status: 200, active: true, client_id, scope, exp, iat, expires_in, auth,
        //        aud?: [...] (when the token is bound to resources), ... }
        //   or { status: 401 | 403 | 400 | 429 | 503, active: false, error, error_description,
        //        www_authenticate, retry_after }
        if (who.status !== 200) return refusal(who, metadata);
        return hello(who);
      }
      // API keys, no credentials, or an Authorization the RPC does not take: the same check
      // over fetch, forwarding the caller's headers; ?key= is passed on as well.
      const check = new URL("https://auth/validate");
      check.searchParams.set("scope", scope);
      // The same audience check as the RPC: a bare token (seed 004) comes this way too.
      check.searchParams.set("resource", resource);
      if (url.searchParams.has("key")) check.searchParams.set("key", url.searchParams.get("key"));
      const verdict = await env.AUTH.fetch(check, { headers: request.headers });
      if (verdict.status !== 200) {
        // 401 / 403 / 400 / 429 / 503 come back with their WWW-Authenticate or Retry-After:
        // hand them to the caller, the challenge naming this resource's metadata.
        const headers = new Headers(verdict.headers);
        const challenge = withMetadata(verdict.status, headers.get("www-authenticate"), metadata);
        if (challenge) headers.set("www-authenticate", challenge);
        return new Response(verdict.body, { status: verdict.status, headers });
      }
      return hello(await verdict.json());
    }

    return Response.json({ error: "not_found" }, { status: 404 });
  },
};

/**
 * Where the metadata of `resource` lives (RFC 9728 §3.1): `/.well-known/oauth-protected-resource`
 * inserted between the host and the path (a bare origin's `/` is dropped), query kept.
 */
function metadataUrl(resource) {
  const u = new URL(resource);
  const path = u.pathname === "/" ? "" : u.pathname;
  return `${u.origin}${WELL_KNOWN}${path}${u.search}`;
}

// RFC 9728 §2 / §3.2: the protected resource metadata. Public and the same for everyone:
// cacheable, and readable by browser-based clients on other origins.
function describe(env, url, resource) {
  const body = {
    resource,
    authorization_servers: [env.AUTH_ISSUER || url.origin],
    scopes_supported: SCOPES,
    bearer_methods_supported: ["header"],
  };
  return Response.json(body, {
    headers: { "cache-control": "public, max-age=3600", "access-control-allow-origin": "*" },
  });
}

/**
 * edge-oauth's challenge with `resource_metadata` added (RFC 9728 §5.1), for a 401 or 403; one
 * Bearer challenge with all parameters (RFC 6750 §3). Null when nothing is to be said.
 */
function withMetadata(status, challenge, metadata) {
  if (status !== 401 && status !== 403) return challenge;
  if (challenge && /\bresource_metadata=/i.test(challenge)) return challenge;
  const param = `resource_metadata="${metadata.replace(/[\\"]/g, "\\$&")}"`;
  const c = (challenge ?? "").trim();
  if (/^bearer$/i.test(c)) return `Bearer ${param}`;
  if (/^bearer\s/i.test(c)) return `${c}, ${param}`;
  // No Bearer challenge from edge-oauth (not expected): ours comes first.
  return c ? `Bearer ${param}, ${c}` : `Bearer ${param}`;
}

function hello(who) {
  return Response.json({ message: `hello, ${who.client_id}`, scope: who.scope, auth: who.auth, expires_in: who.expires_in, sub: who.sub, aud: who.aud });
}

// An RPC refusal as the HTTP answer /validate would have given, naming this resource's metadata.
function refusal(who, metadata) {
  const headers = { "cache-control": "no-store" };
  const challenge = withMetadata(who.status, who.www_authenticate, metadata);
  if (challenge) headers["www-authenticate"] = challenge;
  if (who.retry_after !== undefined) headers["retry-after"] = String(who.retry_after);
  const body = { error: who.error };
  if (who.error_description) body.error_description = who.error_description;
  return Response.json(body, { status: who.status, headers });
}
