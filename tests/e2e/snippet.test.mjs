// The JavaScript half of the edge's panic hook (src/edge/futures.rs, inline in the wasm's glue
// as build/snippets/*/inline0.js): where a panic's message goes. Plain node: no runtime needed.
// What the entry module then does (reset the instance) is tests/e2e/trap.test.mjs's.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ROOT } from "./harness.mjs";

const dir = join(ROOT, "build", "snippets");
const [pkg] = readdirSync(dir);
const snippet = await import(pathToFileURL(join(dir, pkg, "inline0.js")).href);

test("a panic's message reaches the handler the entry module registered", () => {
  const seen = [];
  snippet.on_panic((message) => seen.push(message));
  snippet.panicked("panicked at src/x.rs:1:1: boom");
  assert.deepEqual(seen, ["panicked at src/x.rs:1:1: boom"]);
});

test("a handler that throws does not throw into the wasm's panic hook", () => {
  snippet.on_panic(() => {
    throw new Error("handler failed");
  });
  assert.doesNotThrow(() => snippet.panicked("boom"));
});
