// The comparison: @cloudflare/workers-oauth-provider 1.2.3 (npm), as a tiny Worker that issues
// itself one token and validates it on an API route. Started by bench/run.sh under
// `wrangler dev`, in the same workerd as edge-oauth; never deployed.
//
//   POST /bench/issue  creates a confidential client, completes an authorization for a
//                      synthetic user and redeems the code at the provider's own token
//                      endpoint: the token response (JSON, with access_token).
//   GET  /api/...      the provider validates the Bearer token (one KV read, the audience
//                      check, an AES key unwrap and decryption of the grant's props) and then
//                      calls apiHandler, which answers a small JSON. This is what wrk measures.
//
// The provider compares the token's audience (resourceMetadata.resource) with the request URL,
// scheme, host and port exactly, so the origin the load tool uses comes in as the variable
// ORIGIN (`--var ORIGIN:http://127.0.0.1:PORT`) and the provider is built on the first request
// (module scope has no env). onError is silent: the default logs every refused request.
import { OAuthProvider } from "@cloudflare/workers-oauth-provider";

const REDIRECT_URI = "https://bench-client.example/callback"; // never visited

let provider = null;
function providerFor(env) {
  if (provider) return provider;
  if (!env.ORIGIN) throw new Error("wop bench worker: the ORIGIN variable is not set");
  provider = new OAuthProvider({
    apiRoute: "/api/",
    apiHandler: {
      async fetch(request, env, ctx) {
        // ctx.props: what completeAuthorization() stored (decrypted); ctx.auth: the token facts.
        return Response.json({ active: true, user: ctx.props.userId, scope: ctx.auth.scope });
      },
    },
    defaultHandler: {
      async fetch(request, env, ctx) {
        const url = new URL(request.url);
        if (url.pathname === "/bench/issue" && request.method === "POST") return issueToken(request, env, ctx);
        return new Response("not found", { status: 404 });
      },
    },
    authorizeEndpoint: "/authorize",
    tokenEndpoint: "/oauth/token",
    scopesSupported: ["read"],
    resourceMetadata: { resource: `${env.ORIGIN}/api/` },
    accessTokenTTL: 86400,
    onError: () => {},
  });
  return provider;
}

export default {
  fetch(request, env, ctx) {
    return providerFor(env).fetch(request, env, ctx);
  },
};

// The provider has no client_credentials grant: create a confidential client, complete an
// authorization for a synthetic user, and redeem the code at the provider's token endpoint.
async function issueToken(request, env, ctx) {
  const oauth = env.OAUTH_PROVIDER; // the helpers, injected for defaultHandler and apiHandler
  const client = await oauth.createClient({
    redirectUris: [REDIRECT_URI],
    clientName: "bench",
    tokenEndpointAuthMethod: "client_secret_post", // confidential: PKCE optional
  });
  const { redirectTo } = await oauth.completeAuthorization({
    request: { responseType: "code", clientId: client.clientId, redirectUri: REDIRECT_URI, scope: ["read"], state: "" },
    userId: "bench-user",
    metadata: {},
    scope: ["read"],
    props: { userId: "bench-user" },
  });
  const code = new URL(redirectTo).searchParams.get("code");
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: REDIRECT_URI,
    client_id: client.clientId,
    client_secret: client.clientSecret,
  });
  return providerFor(env).fetch(
    new Request(new URL("/oauth/token", request.url), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    }),
    env,
    ctx,
  ); // JSON: { access_token, token_type, expires_in, refresh_token, scope, resource }
}
