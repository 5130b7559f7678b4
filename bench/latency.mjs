// Latency of single, sequential requests (no concurrency) against edge-oauth under
// `wrangler dev`: `node bench/latency.mjs [N]` (default 500 each). Uses the e2e harness.
import { startWorker, clientFor } from "../tests/e2e/harness.mjs";

const n = Number(process.argv[2] ?? 500);
const w = await startWorker();
try {
  const api = clientFor(w.url, { ip: "203.0.113.1" });
  const c = await api.createClient({ name: "latency", scopes: ["read"] });
  const token = await api.accessToken(c);
  const measure = async (label, f) => {
    for (let i = 0; i < 50; i++) await f(); // warm-up
    const ms = [];
    for (let i = 0; i < n; i++) {
      const t = process.hrtime.bigint();
      const r = await f();
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      if (r.status !== 200) throw new Error(`${label}: ${r.status} ${r.text}`);
    }
    ms.sort((a, b) => a - b);
    const q = (p) => ms[Math.floor((ms.length - 1) * p)].toFixed(2);
    console.log(`| ${label} | ${n} | ${q(0.5)} | ${q(0.9)} | ${q(0.99)} |`);
  };
  console.log(`| request (sequential, wrangler dev, ${new Date().toISOString().slice(0, 10)}) | n | p50 ms | p90 ms | p99 ms |`);
  console.log("|---|---:|---:|---:|---:|");
  await measure("GET /validate (Bearer)", () => api.validate(token));
  await measure("POST /token (Basic)", () => api.token(c.client_id, c.client_secret));
  await measure("GET /.well-known/oauth-authorization-server (no storage)", () =>
    api.call("GET", "/.well-known/oauth-authorization-server"));
} finally {
  await w.destroy();
}
