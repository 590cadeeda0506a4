import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import vm from "node:vm";
import AlterConnect from "../dist/alter-connect.mjs";
import { BASE, fakeWindow, grant, nonceOf, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "e".repeat(43);
const UMD = readFileSync(new URL("../dist/alter-connect.umd.js", import.meta.url), "utf8");

const connectURL = (config) => {
  const w = fakeWindow();
  globalThis.window = w;
  AlterConnect.create(config).open({ token: TOKEN, onSuccess() {} });
  return new URL(w.opened[0].url);
};

test("baseURL is reduced to its origin", () => {
  assert.equal(connectURL({ baseURL: "https://vault.example.com/some/path/?q=1#x" }).origin, "https://vault.example.com");
  assert.equal(connectURL({ baseURL: "http://localhost:4000" }).href.split("?")[0], "http://localhost:4000/connect");
});

for (const baseURL of ["localhost:4000", "vault.example.com", "", "javascript:alert(1)", "ftp://vault.example.com", 42]) {
  test(`baseURL ${JSON.stringify(baseURL)} is refused by create()`, () => {
    globalThis.window = fakeWindow();
    assert.throws(() => AlterConnect.create({ baseURL }), /AlterConnect: invalid baseURL/);
  });
}

test("the ESM build without baseURL, not served from /sdk/, throws a clear error", () => {
  globalThis.window = fakeWindow();
  assert.throws(() => AlterConnect.create(), /baseURL/);
  assert.throws(() => AlterConnect.create({ debug: true }), /baseURL/);
});

test("importing the ESM build touches no window", () => {
  const out = execFileSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `Object.defineProperty(globalThis, "window", { get() { throw new Error("touched window") } });
       const m = await import(${JSON.stringify(new URL("../dist/alter-connect.mjs", import.meta.url).href)});
       console.log(Object.keys(m).join(","), typeof m.default.create);`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(out.trim(), "default function");
});

/** Runs the UMD file as a <script> would: `document.currentScript` is set only during evaluation. */
function loadUMDScript(src) {
  const w = fakeWindow();
  const context = vm.createContext({ document: { currentScript: src ? { src } : null }, window: w, URL, URLSearchParams, btoa, crypto, console });
  vm.runInContext(UMD, context);
  context.document.currentScript = null;
  return { w, context };
}

test("the UMD script exposes the global AlterConnect with create()", () => {
  const { context } = loadUMDScript("https://vault.example.com/sdk/alter-connect.umd.js");
  assert.equal(typeof context.AlterConnect.create, "function");
  assert.deepEqual(Object.keys(context.AlterConnect), ["create"]);
});

test("the UMD script served from a server's /sdk/ talks to that server by default", () => {
  const { w, context } = loadUMDScript("http://localhost:4000/sdk/alter-connect.umd.js?v=1");
  context.AlterConnect.create().open({ token: TOKEN, onSuccess() {} });
  assert.equal(w.opened[0].url.split("?")[0], "http://localhost:4000/connect");
  // An explicit baseURL still wins.
  context.AlterConnect.create({ baseURL: BASE }).open({ token: TOKEN, onSuccess() {} });
  assert.equal(w.opened[1].url.split("?")[0], `${BASE}/connect`);
});

for (const src of ["https://cdn.example.com/npm/@alter-ai/connect/dist/alter-connect.umd.js", undefined]) {
  test(`the UMD script loaded from ${src ?? "an inline or module context"} needs baseURL`, () => {
    const { context } = loadUMDScript(src);
    assert.throws(() => context.AlterConnect.create(), /baseURL/);
  });
}

test("require() of the UMD file returns the same object shape through module.exports", () => {
  const require = createRequire(import.meta.url);
  const cjs = require("../dist/alter-connect.umd.js");
  assert.equal(typeof cjs.create, "function");
  assert.equal(globalThis.AlterConnect, undefined, "no global under CommonJS");
});

test("debug is off by default: a whole flow logs nothing", (t) => {
  const log = t.mock.method(console, "log", () => {});
  const w = fakeWindow();
  globalThis.window = w;
  const sdk = AlterConnect.create({ baseURL: BASE });
  sdk.open({ token: TOKEN, ...recorder() });
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[0].url), grants: [grant()] });
  sdk.open({ token: "", ...recorder() });
  assert.equal(log.mock.callCount(), 0);
});

test("debug: true logs the lifecycle with the [AlterConnect] prefix and never the token", (t) => {
  const log = t.mock.method(console, "log", () => {});
  const w = fakeWindow();
  globalThis.window = w;
  const sdk = AlterConnect.create({ baseURL: BASE, debug: true });
  sdk.open({ token: TOKEN, ...recorder() });
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[0].url), grants: [grant()] });
  const lines = log.mock.calls.map((c) => c.arguments);
  assert.ok(lines.length >= 3);
  for (const line of lines) assert.equal(line[0], "[AlterConnect]");
  assert.deepEqual(lines.map((l) => l.slice(1).join(" ")), ["popup", "OPEN", "onSuccess"]);
  assert.ok(!JSON.stringify(lines).includes(TOKEN));
});
