import assert from "node:assert/strict";
import { test } from "node:test";
import AlterConnect from "../dist/alter-connect.mjs";
import { APP, BASE, fakeWindow, grant, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "d".repeat(43);
const KEY = "alter-connect:pending";

function setup(windowOptions) {
  const w = fakeWindow(windowOptions);
  globalThis.window = w;
  return { w, sdk: AlterConnect.create({ baseURL: BASE }), r: recorder() };
}

const devices = [
  ["a phone (390×844)", { width: 390, height: 844, coarse: true, screen: { width: 390, height: 844 } }, "redirect"],
  ["a phone showing a page without a viewport meta tag (980×2121 on a 390 px screen)", { width: 980, height: 2121, coarse: true, screen: { width: 390, height: 844 } }, "redirect"],
  ["a tablet in portrait without a viewport meta tag (980×1411 on an 820 px screen)", { width: 980, height: 1411, coarse: true, screen: { width: 820, height: 1180 } }, "redirect"],
  ["an iPad in landscape (iOS reports the portrait screen width)", { width: 1180, height: 820, coarse: true, screen: { width: 820, height: 1180 } }, "popup"],
  ["a narrow desktop window (480×900, mouse)", { width: 480, height: 900 }, "redirect"],
  ["a tablet in portrait (820×1180, touch)", { width: 820, height: 1180, coarse: true }, "redirect"],
  ["a tablet in landscape (1180×820, touch)", { width: 1180, height: 820, coarse: true }, "popup"],
  ["a small tablet in landscape (1024×768, touch)", { width: 1024, height: 768, coarse: true }, "popup"],
  ["a portrait desktop window (800×1000, mouse)", { width: 800, height: 1000 }, "popup"],
  ["a desktop (1280×800)", { width: 1280, height: 800 }, "popup"],
];
for (const [device, size, mode] of devices) {
  test(`${device} gets the ${mode} flow`, () => {
    const { w, sdk, r } = setup(size);
    sdk.open({ token: TOKEN, ...r });
    assert.equal(w.opened.length, mode === "popup" ? 1 : 0);
    const url = mode === "popup" ? w.opened[0].url : w.location.href;
    assert.equal(new URL(url).searchParams.get("mode"), mode);
  });
}

test("the redirect flow stores the session token first, then navigates to the Connect URL", () => {
  const { w, sdk, r } = setup({ width: 390, height: 844, coarse: true });
  let storedBeforeNavigation;
  w.location = { href: APP, assign: (url) => (storedBeforeNavigation = { url, stored: w.store.get(KEY) }) };
  sdk.open({ token: TOKEN, ...r });
  const { url, stored } = storedBeforeNavigation;
  const u = new URL(url);
  assert.equal(u.origin + u.pathname, `${BASE}/connect`);
  assert.equal(u.searchParams.get("token"), TOKEN);
  assert.equal(stored, TOKEN);
  assert.equal(u.searchParams.get("mode"), "redirect");
  assert.deepEqual(r.calls, [], "no OPEN event, no callback: the page is leaving");
  assert.equal(w.listeners.size + w.timers.size, 0);
  assert.equal(sdk.isOpen(), false);
  sdk.close(); // no-op on the redirect flow
});

test("storage that throws (private mode) reports redirect_error and does not navigate", () => {
  const { w, sdk, r } = setup({ width: 390, height: 844, coarse: true });
  w.sessionStorage.setItem = () => {
    throw new DOMException("QuotaExceededError");
  };
  sdk.open({ token: TOKEN, ...r });
  assert.deepEqual(r.calls, [["error", { code: "redirect_error", message: "Redirect error" }]]);
  assert.equal(w.location.href, `${APP}/settings`);
});

test("storage that cannot even be read reports redirect_error", () => {
  const { w, sdk } = setup({ width: 390, height: 844, coarse: true });
  Object.defineProperty(w, "sessionStorage", {
    get() {
      throw new DOMException("SecurityError");
    },
  });
  assert.throws(() => sdk.open({ token: TOKEN, onSuccess() {} }), { code: "redirect_error" });
  assert.equal(w.location.href, `${APP}/settings`);
});

test("handleRedirect() on the return page delivers the grants asynchronously and clears storage", async () => {
  const { w, sdk, r } = setup({ width: 390, height: 844, coarse: true });
  w.store.set(KEY, TOKEN);
  const grants = [grant()];
  w.responses.push({ status: "completed", oauth_in_progress: false, grants });
  assert.equal(sdk.handleRedirect(r), true);
  assert.equal(w.store.has(KEY), false, "the pending state is removed at once");
  assert.deepEqual(r.calls, [], "delivered asynchronously");
  assert.equal(w.fetches[0].url, `${BASE}/v1/connect/sessions/result`);
  assert.deepEqual(w.fetches[0].init.headers, { Authorization: `Bearer ${TOKEN}` });
  await w.tick(0);
  assert.deepEqual(r.calls, [["success", grants]]);
  assert.equal(w.listeners.size + w.timers.size, 0);
  assert.equal(sdk.handleRedirect(r), false, "nothing pending the second time");
});

test("handleRedirect() reports a failed flow to onError", async () => {
  const { w, sdk, r } = setup();
  w.store.set(KEY, TOKEN);
  w.responses.push({ status: "failed", error: { code: "oauth_denied", message: "Denied" } });
  assert.equal(sdk.handleRedirect(r), true);
  await w.tick(0);
  assert.deepEqual(r.calls, [["error", { code: "oauth_denied", message: "Denied" }]]);
});

test("handleRedirect() without a pending flow returns false and asks nothing", () => {
  const { w, sdk, r } = setup();
  assert.equal(sdk.handleRedirect(r), false);
  w.store.set(KEY, "");
  assert.equal(sdk.handleRedirect(r), false);
  assert.equal(w.fetches.length, 0);
  assert.deepEqual(r.calls, []);
});

test("handleRedirect() validates its options and refuses after destroy()", () => {
  const { w, sdk, r } = setup();
  w.store.set(KEY, TOKEN);
  assert.throws(() => sdk.handleRedirect({}), { code: "invalid_options" });
  assert.equal(w.store.has(KEY), true, "left for a correct call");
  sdk.destroy();
  assert.equal(sdk.handleRedirect(r), false);
  assert.deepEqual(r.calls, [["error", { code: "sdk_destroyed", message: "Sdk destroyed" }]]);
});

test("destroy() before the result arrives: no callback", async () => {
  const { w, sdk, r } = setup();
  w.store.set(KEY, TOKEN);
  w.responses.push({ status: "completed", grants: [grant()] });
  assert.equal(sdk.handleRedirect(r), true);
  sdk.destroy();
  await w.tick(0);
  assert.deepEqual(r.calls, []);
});
