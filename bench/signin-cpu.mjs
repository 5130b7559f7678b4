// CPU one sign-in costs in the runtime (workerd under `wrangler dev`): N sequential correct
// sign-ins (each one PBKDF2-HMAC-SHA256 run at PBKDF2_ITERATIONS, default 100,000) against N
// sequential loads of the same login page, by the CPU time of every workerd process on the
// machine (from /proc), so run it with no other `wrangler dev` running:
//   node bench/signin-cpu.mjs [N]        (default 40)
import { readFileSync, readdirSync } from "node:fs";
import { startWorker, clientFor, formClient, createUser, authorizePath, pkce, signIn } from "../tests/e2e/harness.mjs";

const n = Number(process.argv[2] ?? 40);
const hz = 100; // USER_HZ on Linux
const workerdCpu = () => {
  let ticks = 0;
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      if (!cmd.split("\0")[0].endsWith("workerd")) continue;
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {}
  }
  return (ticks / hz) * 1000;
};
const w = await startWorker();
try {
  const api = clientFor(w.url);
  const user = await createUser(api);
  const app = await api.createClient({ name: "cpu", client_type: "public", scopes: ["read"], grant_types: ["authorization_code"], redirect_uris: ["http://127.0.0.1/cb"] });
  const path = authorizePath({ response_type: "code", client_id: app.client_id, redirect_uri: "http://127.0.0.1/cb", code_challenge: pkce().challenge, code_challenge_method: "S256" });
  const measure = async (f) => {
    for (let i = 0; i < 5; i++) await f(); // warm-up
    const before = workerdCpu(), t = Date.now();
    for (let i = 0; i < n; i++) await f();
    return { cpu: (workerdCpu() - before) / n, wall: (Date.now() - t) / n };
  };
  const page = await measure(async () => { const r = await formClient(w.url).get(path); if (r.status !== 200) throw new Error(`login page: ${r.status}`); });
  const signin = await measure(async () => {
    const r = await signIn(formClient(w.url), w.url, path, user.username, user.password);
    if (r.status !== 303) throw new Error(`sign-in: ${r.status} ${r.text}`);
  });
  console.log(`login page:       ${page.cpu.toFixed(1)} ms workerd CPU, ${page.wall.toFixed(1)} ms wall per request (n=${n})`);
  console.log(`page + sign-in:   ${signin.cpu.toFixed(1)} ms workerd CPU, ${signin.wall.toFixed(1)} ms wall`);
  console.log(`one sign-in (the difference): ${(signin.cpu - page.cpu).toFixed(1)} ms workerd CPU`);
} finally {
  await w.destroy();
}
