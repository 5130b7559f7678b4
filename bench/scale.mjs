// Setup and filling for bench/scale (which measures with wrk).
//
//   node bench/scale.mjs clients --url EDGE --admin TOKEN --count N --out PREFIX [--ttl S] [--expiry sliding|fixed]
//       creates N client_credentials clients (ip_binding false is NOT set: wrk's requests all come
//       from 127.0.0.1, as the fill's do); PREFIX.clients.json gets them, PREFIX.basics one HTTP
//       Basic header value per line (for bench/token-random.lua).
//   node bench/scale.mjs fill --url EDGE --out PREFIX --tokens N [--concurrency 16]
//       issues N tokens spread evenly over PREFIX's clients (POST /token, keep-alive
//       connections), appending them to PREFIX.tokens (one per line, for
//       bench/validate-random.lua). Prints the rate and "FILLRESULT tokens= seconds= rps= errors=".
// Requests carry no CF-Connecting-IP: `wrangler dev` supplies 127.0.0.1, as for wrk.
import http from "node:http";
import { readFileSync, writeFileSync, appendFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { positionals, values: opt } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: "string" }, admin: { type: "string" }, out: { type: "string" },
    count: { type: "string", default: "1" }, tokens: { type: "string", default: "0" },
    ttl: { type: "string", default: "86400" }, expiry: { type: "string", default: "sliding" },
    concurrency: { type: "string", default: "16" },
  },
});
const mode = positionals[0];
const fail = (m) => { console.error(`scale.mjs ${mode}: ${m}`); process.exit(1); };
if (!opt.url || !opt.out) fail("--url and --out are required");
const target = new URL(opt.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(opt.concurrency) });
const call = (method, path, headers, body) => new Promise((resolve) => {
  const h = { ...headers };
  if (body !== undefined) h["content-length"] = Buffer.byteLength(body);
  const req = http.request({ agent, host: target.hostname, port: target.port, path, method, headers: h }, (res) => {
    const chunks = [];
    res.on("data", (c) => chunks.push(c));
    res.on("end", () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    res.on("error", (e) => resolve({ status: 0, text: String(e) }));
  });
  req.setTimeout(30_000, () => req.destroy(new Error("timeout")));
  req.on("error", (e) => resolve({ status: 0, text: String(e.message) }));
  req.end(body);
});
const basic = (id, s) => "Basic " + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(s)}`).toString("base64");

// n tasks, `concurrency` at a time.
async function pool(n, concurrency, task) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, async () => {
    while (next < n) await task(next++);
  }));
}

if (mode === "clients") {
  if (!opt.admin) fail("--admin is required");
  const n = Number(opt.count), clients = [];
  await pool(n, 8, async (i) => {
    const r = await call("POST", "/admin/clients", { authorization: `Bearer ${opt.admin}`, "content-type": "application/json" },
      JSON.stringify({ name: `scale-${i}`, token_ttl: Number(opt.ttl), max_lifetime: Math.max(86400, Number(opt.ttl)), expiry: opt.expiry }));
    if (r.status !== 201) fail(`POST /admin/clients: ${r.status} ${r.text}`);
    const c = JSON.parse(r.text);
    clients[i] = { client_id: c.client_id, basic: basic(c.client_id, c.client_secret) };
  });
  writeFileSync(`${opt.out}.clients.json`, JSON.stringify(clients));
  writeFileSync(`${opt.out}.basics`, clients.map((c) => c.basic).join("\n") + "\n");
  console.log(`clients: ${n} (token_ttl ${opt.ttl} s, ${opt.expiry})`);
} else if (mode === "fill") {
  const clients = JSON.parse(readFileSync(`${opt.out}.clients.json`, "utf8"));
  const n = Number(opt.tokens);
  let errors = 0, buf = [];
  const flush = () => { if (buf.length) { appendFileSync(`${opt.out}.tokens`, buf.join("\n") + "\n"); buf = []; } };
  const t0 = performance.now();
  let lastReport = t0;
  await pool(n, Number(opt.concurrency), async (i) => {
    const c = clients[i % clients.length];
    for (let attempt = 0; ; attempt++) {
      const r = await call("POST", "/token", { authorization: c.basic, "content-type": "application/x-www-form-urlencoded" }, "grant_type=client_credentials");
      if (r.status === 200) { buf.push(JSON.parse(r.text).access_token); break; }
      errors++;
      if (attempt >= 3) fail(`POST /token: ${r.status} ${r.text.slice(0, 200)}`);
    }
    if (buf.length >= 5000) flush();
    const t = performance.now();
    if (t - lastReport > 30_000) { lastReport = t; console.log(`  fill: ${i + 1}/${n} after ${((t - t0) / 1000).toFixed(0)} s`); }
  });
  flush();
  const s = (performance.now() - t0) / 1000;
  console.log(`FILLRESULT tokens=${n} seconds=${s.toFixed(1)} rps=${(n / s).toFixed(1)} errors=${errors}`);
} else fail("mode must be clients or fill");
agent.destroy();
