import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import AlterConnect from "../dist/alter-connect.mjs";
import { BASE, fakeWindow, grant, nonceOf, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "c".repeat(43);

function setup(config = { baseURL: BASE }) {
  const w = fakeWindow();
  globalThis.window = w;
  return { w, sdk: AlterConnect.create(config), r: recorder() };
}

const badOptions = {
  "no options": undefined,
  "no token": { onSuccess() {} },
  "an empty token": { token: "", onSuccess() {} },
  "a numeric token": { token: 42, onSuccess() {} },
  "an object token that is not a promise": { token: { sessionToken: "cs_x" }, onSuccess() {} },
  "no onSuccess": { token: TOKEN },
  "a string onSuccess": { token: TOKEN, onSuccess: "done" },
  "a non-function onExit": { token: TOKEN, onSuccess() {}, onExit: 1 },
  "a non-function onEvent": { token: TOKEN, onSuccess() {}, onEvent: {} },
};
for (const [what, options] of Object.entries(badOptions)) {
  test(`open() with ${what} throws invalid_options when there is no onError, and opens nothing`, () => {
    const { w, sdk } = setup();
    assert.throws(() => sdk.open(options), { code: "invalid_options", message: "Invalid options" });
    assert.equal(w.opened.length, 0);
    assert.equal(w.listeners.size + w.timers.size, 0);
  });
}

test("open() with a bad token reports invalid_options to onError when there is one", () => {
  const { w, sdk, r } = setup();
  sdk.open({ ...r, token: "" });
  assert.deepEqual(r.calls, [["error", { code: "invalid_options", message: "Invalid options" }]]);
  assert.equal(w.opened.length, 0);
});

test("open() after destroy() reports sdk_destroyed", () => {
  const { w, sdk, r } = setup();
  sdk.destroy();
  sdk.open({ token: TOKEN, ...r });
  assert.deepEqual(r.terminal(), [["error", { code: "sdk_destroyed", message: "Sdk destroyed" }]]);
  assert.equal(w.opened.length, 0);
  assert.throws(() => sdk.open({ token: TOKEN, onSuccess() {} }), { code: "sdk_destroyed" });
});

for (const [what, behaviour] of [["returns null", null], ["returns a closed window", "closed"]]) {
  test(`window.open ${what}: popup_blocked, nothing left running`, () => {
    const { w, sdk, r } = setup();
    w.openBehaviour = behaviour;
    sdk.open({ token: TOKEN, ...r });
    assert.deepEqual(r.calls, [["error", { code: "popup_blocked", message: "Popup blocked" }]]);
    assert.equal(w.listeners.size + w.timers.size, 0);
    assert.equal(sdk.isOpen(), false);
  });
}

test("popup_blocked is thrown synchronously when there is no onError", () => {
  const { w, sdk } = setup();
  w.openBehaviour = null;
  assert.throws(() => sdk.open({ token: TOKEN, onSuccess() {} }), (e) => e instanceof Error && e.code === "popup_blocked");
});

test("close() closes the popup, fires no callback and removes everything", async () => {
  const { w, sdk, r } = setup();
  sdk.open({ token: TOKEN, ...r });
  sdk.close();
  assert.equal(w.opened[0].popup.closed, true);
  assert.equal(sdk.isOpen(), false);
  assert.equal(w.listeners.size + w.timers.size, 0);
  await w.tick(10_000);
  assert.deepEqual(r.names(), ["OPEN"]);
  assert.equal(w.fetches.length, 0);
  sdk.close(); // a second close() is a no-op
});

test("destroy() while open tears down like close() and ignores late messages", () => {
  const { w, sdk, r } = setup();
  sdk.open({ token: TOKEN, ...r });
  const nonce = nonceOf(w.opened[0].url);
  sdk.destroy();
  w.post({ type: "alter:result", nonce, grants: [grant()] });
  assert.deepEqual(r.names(), ["OPEN"]);
  assert.equal(w.opened[0].popup.closed, true);
  assert.equal(w.listeners.size + w.timers.size, 0);
});

test("a second open() ends the first silently, reuses its window by name, and only the new nonce counts", () => {
  const { w, sdk } = setup();
  const first = recorder();
  const second = recorder();
  sdk.open({ token: TOKEN, ...first });
  const oldNonce = nonceOf(w.opened[0].url);
  sdk.open({ token: TOKEN + "2", ...second });
  assert.equal(w.opened.length, 2);
  assert.equal(w.opened[0].popup.closeCalls, 0, "not closed: window.open with the same name navigates it");
  assert.equal(w.opened[1].name, "alter-connect");
  assert.equal(w.listeners.size, 1);
  assert.equal(w.timers.size, 1);
  w.post({ type: "alter:result", nonce: oldNonce, grants: [grant()] });
  assert.deepEqual(second.terminal(), []);
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[1].url), grants: [grant()] });
  assert.deepEqual(first.names(), ["OPEN"]);
  assert.deepEqual(second.names(), ["OPEN", "success"]);
});

test("a second open() with bad options leaves the first flow running", () => {
  const { w, sdk } = setup();
  const first = recorder();
  sdk.open({ token: TOKEN, ...first });
  assert.throws(() => sdk.open({ token: "" }));
  assert.equal(sdk.isOpen(), true);
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[0].url), grants: [grant()] });
  assert.deepEqual(first.names(), ["OPEN", "success"]);
});

test("getVersion() is package.json's version", () => {
  const { sdk } = setup();
  const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
  assert.equal(sdk.getVersion(), version);
  assert.equal(version, "0.1.0");
});

test("the instance's methods work detached from it (closures, no `this`)", () => {
  const { w, sdk, r } = setup();
  const { open, close, isOpen, destroy } = sdk;
  open({ token: TOKEN, ...r });
  assert.equal(isOpen(), true);
  close();
  destroy();
  assert.equal(isOpen(), false);
  assert.equal(w.opened.length, 1);
});

test("callbacks run after cleanup, so a callback may open() again", () => {
  const { w, sdk } = setup();
  let reopened = false;
  sdk.open({
    token: TOKEN,
    onSuccess: () => {
      sdk.open({ token: TOKEN, onSuccess() {} });
      reopened = true;
    },
  });
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[0].url), grants: [grant()] });
  assert.ok(reopened);
  assert.equal(sdk.isOpen(), true);
  assert.equal(w.listeners.size, 1);
});
