// The keep-alive race on the first hop in front of the Worker, measured.
//
//   node bench/keepalive-race.mjs        (about 1 minute; uses build/ as it is)
//
// workerd's HTTP server (here wrangler's proxy workerd, which takes the port) closes a keep-alive
// connection that has waited 5 s for its next request (kj's HttpServerSettings.pipelineTimeout).
// A client that reuses such a socket while the close is on its way gets "socket hang up" or
// ECONNRESET for a request that never reached the Worker. This sends bursts of N concurrent GETs
// of the metadata document on one keep-alive agent, waits d seconds (just under 5 s), and sends
// the next burst on the same sockets: once with Node's default agent (free sockets kept until the
// server closes them), once with free sockets closed after IDLE ms (bench/soak's setting). It
// prints how many requests failed each way.
import http from "node:http";
import { startWorker } from "../tests/e2e/harness.mjs";

const N = Number(process.env.N ?? 48); // requests per burst, and sockets
const IDLE = Number(process.env.IDLE ?? 2000); // bench/soak's IDLE_SOCKET_MS
const GAPS = (process.env.GAPS ?? "4.985,4.99,4.995").split(",").map(Number); // s between bursts
const PAIRS = Number(process.env.PAIRS ?? 5); // burst pairs per gap

const worker = await startWorker();
const port = Number(new URL(worker.url).port);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function get(agent) {
  return new Promise((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, path: "/.well-known/oauth-authorization-server", agent }, (res) => {
      res.resume();
      res.on("end", () => resolve(String(res.statusCode)));
    });
    req.on("error", (e) => resolve(`${e.message}${req.reusedSocket ? " (reused socket)" : ""}`));
    req.end();
  });
}
try {
  for (const [name, options] of [["default agent", {}], [`idle sockets closed after ${IDLE} ms`, { timeout: IDLE }]]) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: N, ...options });
    const tally = {};
    let sent = 0;
    for (const gap of GAPS) {
      for (let i = 0; i < PAIRS; i++) {
        const first = await Promise.all(Array.from({ length: N }, () => get(agent)));
        await sleep(gap * 1000);
        const second = await Promise.all(Array.from({ length: N }, () => get(agent)));
        for (const r of [...first, ...second]) tally[r] = (tally[r] ?? 0) + 1;
        sent += 2 * N;
      }
    }
    agent.destroy();
    const failed = sent - (tally["200"] ?? 0);
    console.log(`${name}: ${failed} of ${sent} failed ${JSON.stringify(tally)}`);
  }
  console.log(`(bursts of ${N}, ${PAIRS} pairs at each gap of ${GAPS.join(", ")} s)`);
} finally {
  await worker.stop();
}
