// The floor: exactly one Durable Object round trip with one storage write, and nothing else.
// It does not read the request (method, headers or body); bench/run.sh sends it the very same
// request bytes as the edge-oauth operation it is compared with.
import { DurableObject } from "cloudflare:workers";

export class Floor extends DurableObject {
  async fetch() {
    await this.ctx.storage.put("k", Date.now());
    return new Response("ok");
  }
}

export default {
  async fetch(_request, env) {
    // One fixed object, as for /validate, where every request names the same token and so the
    // same shard. (/token spreads its writes over the client's 8 shards; under `wrangler dev`
    // every object lives in the one workerd process anyway.)
    return env.FLOOR.get(env.FLOOR.idFromName("floor")).fetch("http://floor/");
  },
};
