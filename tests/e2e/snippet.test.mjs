// The JavaScript half of the edge's executor (src/edge/task.rs, inline in the wasm's glue as
// build/snippets/*/inline0.js): how a promise's result is handed to the wasm, and where an
// error thrown while handing it in goes. Plain node: no runtime needed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./harness.mjs";

const dir = join(ROOT, "build", "snippets");
const [pkg] = readdirSync(dir);
const snippet = await import(pathToFileURL(join(dir, pkg, "inline0.js")).href);
const tick = () => new Promise((r) => setImmediate(r));

test("settle hands a promise's value or error to done, with its id", async () => {
  const seen = [];
  const done = (id, ok, value) => seen.push([id, ok, value]);
  snippet.settle(Promise.resolve("v"), 7, done);
  snippet.settle(Promise.reject(new Error("e")), 8, done);
  await tick();
  assert.deepEqual(seen.map(([id, ok, v]) => [id, ok, ok ? v : v.message]), [[7, true, "v"], [8, false, "e"]]);
});

test("an error thrown while a result is handed in (a trap in the wasm) reaches the onError handler", async () => {
  const caught = [];
  const unhandled = [];
  const onUnhandled = (reason) => unhandled.push(reason);
  process.on("unhandledRejection", onUnhandled);
  try {
    snippet.on_error((error) => caught.push(error));
    const trap = new Error("unreachable executed");
    snippet.settle(Promise.resolve(1), 1, () => { throw trap; });
    snippet.settle(Promise.reject(new Error("x")), 2, () => { throw trap; });
    await tick();
    await tick();
    assert.deepEqual(caught, [trap, trap]);
    assert.deepEqual(unhandled, [], "nothing is left as an unhandled rejection");
  } finally {
    process.off("unhandledRejection", onUnhandled);
  }
});

test("call_object calls request on the named object and settles its reply", async () => {
  const calls = [];
  const ns = { getByName: (name) => ({ request: (body) => (calls.push([name, body]), Promise.resolve(`reply to ${body}`)) }) };
  const seen = [];
  snippet.call_object(ns, "client/3", "{}", 4, (id, ok, value) => seen.push([id, ok, value]));
  await tick();
  assert.deepEqual(calls, [["client/3", "{}"]]);
  assert.deepEqual(seen, [[4, true, "reply to {}"]]);
});
