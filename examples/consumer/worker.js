// A consumer Worker: an API that protects its routes with edge-oauth, reached through a service
// binding (AUTH).
//
// Bearer tokens are checked with one RPC call, `env.AUTH.validate(token, ip, scope)`: no HTTP
// request is built or parsed, and the answer is a plain object with /validate's fields plus
// `status`. API keys (seed 002: a `key` header or `?key=`) go through `fetch /validate`, which
// takes the caller's own headers as they are.

export default {
  async fetch(request, env) {
    const url = new URL(request.url);

    // Development convenience: pass token and revocation requests through, so one
    // `wrangler dev` port serves both the API and its token endpoints. In production, clients
    // call edge-oauth's own route for those and this branch can go.
    if (url.pathname === "/token" || url.pathname === "/revoke") {
      return env.AUTH.fetch(request);
    }

    if (url.pathname.startsWith("/api/")) {
      // The scopes this route needs; edge-oauth answers 403 insufficient_scope without them.
      const scope = request.method === "GET" ? "read" : "write";
      const authorization = request.headers.get("authorization") ?? "";
      const bearer = /^bearer +(\S+) *$/i.exec(authorization);

      if (bearer) {
        const ip = request.headers.get("cf-connecting-ip");
        const who = await env.AUTH.validate(bearer[1], ip, scope);
        // who: { status: 200, active: true, client_id, scope, exp, iat, expires_in, auth, ... }
        //   or { status: 401 | 403 | 400 | 429 | 503, active: false, error, error_description,
        //        www_authenticate, retry_after }
        if (who.status !== 200) return refusal(who);
        return hello(who);
      }
      // API keys, no credentials, or an Authorization the RPC does not take: the same check
      // over fetch, forwarding the caller's headers; ?key= is passed on as well.
      const check = new URL("https://auth/validate");
      check.searchParams.set("scope", scope);
      if (url.searchParams.has("key")) check.searchParams.set("key", url.searchParams.get("key"));
      const verdict = await env.AUTH.fetch(check, { headers: request.headers });
      if (verdict.status !== 200) {
        // 401 / 403 / 400 / 429 / 503 come back with their WWW-Authenticate or Retry-After:
        // hand them to the caller as they are.
        return new Response(verdict.body, { status: verdict.status, headers: verdict.headers });
      }
      return hello(await verdict.json());
    }

    return Response.json({ error: "not_found" }, { status: 404 });
  },
};

function hello(who) {
  return Response.json({ message: `hello, ${who.client_id}`, scope: who.scope, auth: who.auth, expires_in: who.expires_in });
}

// An RPC refusal as the HTTP answer /validate would have given.
function refusal(who) {
  const headers = { "cache-control": "no-store" };
  if (who.www_authenticate) headers["www-authenticate"] = who.www_authenticate;
  if (who.retry_after !== undefined) headers["retry-after"] = String(who.retry_after);
  const body = { error: who.error };
  if (who.error_description) body.error_description = who.error_description;
  return Response.json(body, { status: who.status, headers });
}
