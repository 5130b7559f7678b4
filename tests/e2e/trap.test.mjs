// A panic in the wasm, end to end in plain node (no runtime needed): the built core
// (build/index.js and its wasm) is loaded as the entry module loads it, with src/edge/entry.mjs's
// recovery, and made to panic while a request's future is polled in a microtask (the case no
// JavaScript of ours can catch). The next requests must be answered by a fresh instance.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./harness.mjs";

// The glue imports the wasm as a module (wrangler's bundler gives a WebAssembly.Module): a copy
// that makes the module itself, with its snippet imports pointing back into build/.
async function loadCore() {
  const build = join(ROOT, "build");
  let glue = readFileSync(join(build, "index.js"), "utf8");
  const wasm = join(build, "index_bg.wasm");
  assert.match(glue, /^import wasmModule from "\.\/index_bg\.wasm";$/m);
  glue = glue
    .replace(/^import wasmModule from "\.\/index_bg\.wasm";$/m,
      `import { readFileSync as __read } from "node:fs";\nconst wasmModule = new WebAssembly.Module(__read(${JSON.stringify(wasm)}));`)
    .replace(/^(import .* from )(["'])\.\/snippets\//gm, (_, head, q) => `${head}${q}${pathToFileURL(join(build, "snippets")).href}/`);
  const dir = mkdtempSync(join(tmpdir(), "edge-oauth-trap-"));
  try {
    const file = join(dir, "index.mjs");
    writeFileSync(file, glue);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// The entry module's recovery, as in src/edge/entry.mjs.
async function entryRecovery(core) {
  const src = readFileSync(join(ROOT, "src", "edge", "entry.mjs"), "utf8");
  const start = src.indexOf("let generation = 0;");
  const end = src.indexOf("async function readBody");
  assert.ok(start > 0 && end > start, "entry.mjs's recovery block is where this test expects it");
  const logged = [];
  const console = { error: (line) => logged.push(String(line)) };
  const state = new Function("core", "console", `${src.slice(start, end)}\nreturn { recover, generation: () => generation };`)(core, console);
  return { ...state, logged };
}

const ADMIN = "trap-test-admin";
function env(objectRequest = async () => { throw new Error("no Durable Objects in this test"); }) {
  const kv = new Map();
  const CLIENTS = {
    get: async (k) => kv.get(k) ?? null,
    put: async (k, v) => void kv.set(k, v),
    delete: async (k) => void kv.delete(k),
    list: async () => ({ keys: [...kv.keys()].map((name) => ({ name })), list_complete: true }),
  };
  const objects = { getByName: (name) => ({ request: (body) => objectRequest(name, body) }) };
  return { ADMIN_TOKEN: ADMIN, CLIENTS, TOKENS: objects, USERS: objects };
}

const createClient = (core, e) =>
  core.handle(e, `POST\nhttp://edge.test/admin/clients\nauthorization: Bearer ${ADMIN}\ncontent-type: application/json`,
    new TextEncoder().encode('{"name":"trap test","grant_types":["client_credentials"]}'));
const metadata = (core, e) => core.handle(e, "GET\nhttp://edge.test/.well-known/oauth-authorization-server", new Uint8Array(0));
const settled = (p, ms) => Promise.race([p.then(() => "settled", () => "settled"), new Promise((r) => setTimeout(() => r("pending"), ms))]);

test("a panic while a future is polled resets the instance; the next requests are answered", async () => {
  const core = await loadCore();
  const entry = await entryRecovery(core);
  const e = env();
  assert.equal((await metadata(core, e))[0], 200);
  assert.equal((await createClient(core, e))[0], 201);

  // Microtasks that throw: what the runtime would log as uncaught.
  const uncaught = [];
  const queue = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (f) => queue(() => {
    try {
      f();
    } catch (error) {
      uncaught.push(error);
    }
  });
  const getRandomValues = globalThis.crypto.getRandomValues;
  try {
    for (const round of [1, 2]) {
      // No CSPRNG: issuing a client secret panics (src/edge/mod.rs, `Csprng`).
      globalThis.crypto.getRandomValues = () => { throw new Error("no randomness"); };
      const before = entry.generation();
      const lost = createClient(core, e);
      assert.equal(await settled(lost, 50), "pending", "the request that panicked never finishes (the runtime ends it as hung)");
      globalThis.crypto.getRandomValues = getRandomValues;
      assert.ok(uncaught.some((u) => u instanceof WebAssembly.RuntimeError), `round ${round}: the trap was thrown in a microtask`);
      assert.ok(entry.logged.some((l) => l.includes("panicked") && l.includes("crypto.getRandomValues")), `round ${round}: the panic was logged`);
      assert.equal(entry.generation(), before + 1, `round ${round}: the instance was reset once`);
      uncaught.length = 0;
      entry.logged.length = 0;
      // The fresh instance answers, again and again (its allocator is its own).
      for (let i = 0; i < 20; i += 1) {
        assert.equal((await metadata(core, e))[0], 200, `round ${round}: request ${i} after the reset`);
        assert.equal((await createClient(core, e))[0], 201, `round ${round}: client ${i} after the reset`);
      }
      assert.deepEqual(uncaught, [], `round ${round}: nothing else went wrong`);
    }
  } finally {
    globalThis.queueMicrotask = queue;
    globalThis.crypto.getRandomValues = getRandomValues;
  }
});

test("a late result of the instance before a reset does not reach the new one", async () => {
  const core = await loadCore();
  const entry = await entryRecovery(core);
  // The token shard's replies are held until the test lets them go: a thenable (as an RPC
  // promise is) whose callbacks the test calls itself, to see what they throw.
  const held = [];
  const e = env(() => ({ then: (ok) => void held.push({ resolve: ok }) }));
  const [status, , bytes] = await createClient(core, e);
  assert.equal(status, 201);
  const { client_id, client_secret } = JSON.parse(new TextDecoder().decode(bytes));
  const basic = Buffer.from(`${encodeURIComponent(client_id)}:${encodeURIComponent(client_secret)}`).toString("base64");
  const issue = () => core.handle(e, `POST\nhttp://edge.test/token\nauthorization: Basic ${basic}\ncontent-type: application/x-www-form-urlencoded`,
    new TextEncoder().encode("grant_type=client_credentials"));
  const old = issue();
  while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
  const stale = held.shift();

  const uncaught = [];
  const queue = globalThis.queueMicrotask;
  globalThis.queueMicrotask = (f) => queue(() => {
    try {
      f();
    } catch (error) {
      uncaught.push(error);
    }
  });
  const getRandomValues = globalThis.crypto.getRandomValues;
  try {
    globalThis.crypto.getRandomValues = () => { throw new Error("no randomness"); };
    const before = entry.generation();
    const lost = createClient(core, e);
    assert.equal(await settled(lost, 50), "pending");
    globalThis.crypto.getRandomValues = getRandomValues;
    assert.equal(entry.generation(), before + 1, "the instance was reset");

    // A request in the new instance, waiting for its own reply when the old one arrives.
    const fresh = issue();
    while (held.length === 0) await new Promise((r) => setTimeout(r, 1));
    const current = held.shift();
    assert.throws(() => stale.resolve(JSON.stringify({ stale: true })), /previous WASM instance/,
      "the glue refuses the old instance's callback");
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await settled(old, 20), "pending", "the old request never finishes");
    assert.equal(await settled(fresh, 20), "pending", "the stale reply did not reach the new request");
    // Its own reply does (what a shard answers is not this test's concern: any answer will do).
    current.resolve("not the reply a shard gives");
    assert.equal(await settled(fresh, 200), "settled");
    assert.equal((await metadata(core, e))[0], 200);
  } finally {
    globalThis.queueMicrotask = queue;
    globalThis.crypto.getRandomValues = getRandomValues;
  }
});
