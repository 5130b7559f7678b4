// A consumer Worker: an API that protects its routes with edge-oauth, called through a
// service binding (AUTH). It forwards its own incoming request's headers to /validate, so
// edge-oauth sees the caller's Authorization (or `key`) and CF-Connecting-IP.

export default {
  async fetch(request, env) {
    const url = new URL(request.url);

    // Development convenience: pass token requests through, so one `wrangler dev` port
    // serves both the API and its token endpoint. In production, clients call edge-oauth's
    // own route for tokens and this branch can go.
    if (url.pathname === "/token") {
      return env.AUTH.fetch(request);
    }

    if (url.pathname.startsWith("/api/")) {
      // The scopes this route needs; edge-oauth answers 403 insufficient_scope without them.
      const scope = request.method === "GET" ? "read" : "write";
      const check = new URL("https://auth/validate");
      check.searchParams.set("scope", scope);
      // API keys may also arrive as ?key=... (seed 002); pass that on too.
      if (url.searchParams.has("key")) check.searchParams.set("key", url.searchParams.get("key"));

      const verdict = await env.AUTH.fetch(check, { headers: request.headers });
      if (verdict.status !== 200) {
        // 401 / 403 / 400 / 429 / 503 come back with their WWW-Authenticate or Retry-After:
        // hand them to the caller as they are.
        return new Response(verdict.body, { status: verdict.status, headers: verdict.headers });
      }
      const who = await verdict.json(); // { active, client_id, scope, exp, iat, expires_in, auth }
      return Response.json({ message: `hello, ${who.client_id}`, scope: who.scope, auth: who.auth, expires_in: who.expires_in });
    }

    return Response.json({ error: "not_found" }, { status: 404 });
  },
};
