// The floors: the least a Worker can do per request in this runtime, one step at a time. Each
// route ignores the request (method, headers, body); bench/run.sh sends every floor the very
// same request bytes as the edge-oauth operation it is compared with.
//   /const    a constant response from the Worker itself (no Durable Object)
//   /fetch    one Durable Object round trip through stub.fetch()
//   /rpc      one Durable Object round trip through JS RPC (stub.ping())
//   /rpc-get  RPC plus one this.ctx.storage.get()
//   /rpc-put  RPC plus one this.ctx.storage.put(): the "RPC-plus-write floor"
//   /rpc-insert  RPC plus one put of a *new* key with a token-record-sized value, as an
//            issuance writes (the /rpc-put floor overwrites one key)
// edge-oauth's Durable Objects are called through JS RPC (src/edge/entry.mjs), so /rpc-put is
// what a token issuance or a refresh costs at the least: one call, one write.
import { DurableObject } from "cloudflare:workers";

export class Floor extends DurableObject {
  async fetch() {
    return new Response("ok");
  }
  ping() {
    return "ok";
  }
  async get() {
    await this.ctx.storage.get("k");
    return "ok";
  }
  async put() {
    await this.ctx.storage.put("k", Date.now());
    return "ok";
  }
  async insert() {
    await this.ctx.storage.put(`t:${crypto.randomUUID()}`, RECORD);
    return "ok";
  }
}

const ok = () => new Response("ok");
// About the size of an issued token's record in edge-oauth's storage.
const RECORD = JSON.stringify({ client_id: "x".repeat(22), scope: ["read", "write"], ip: "127.0.0.1", issued_ms: Date.now(), last_used_ms: Date.now(), ttl_s: 300, max_lifetime_s: 86400, expiry: "sliding", generation: 0 });

export default {
  async fetch(request, env) {
    const path = new URL(request.url).pathname;
    if (path === "/const") return ok();
    // One fixed object, as for /validate, where every request names the same token and so the
    // same shard. (/token spreads its writes over the client's shards; under `wrangler dev`
    // every object lives in the one workerd process anyway.)
    const stub = env.FLOOR.get(env.FLOOR.idFromName("floor"));
    switch (path) {
      case "/fetch":
        return stub.fetch("http://floor/");
      case "/rpc":
        await stub.ping();
        return ok();
      case "/rpc-get":
        await stub.get();
        return ok();
      case "/rpc-put":
        await stub.put();
        return ok();
      case "/rpc-insert":
        await stub.insert();
        return ok();
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
