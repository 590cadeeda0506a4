// open() with a token still to come (a promise, or a function returning one): the popup opens
// inside open() on the vault's waiting page, and moves on to the Connect UI when the token arrives.
import assert from "node:assert/strict";
import { test } from "node:test";
import AlterConnect from "../dist/alter-connect.mjs";
import { APP, BASE, deferred, fakeWindow, grant, nonceOf, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "t".repeat(43);
const PHONE = { width: 390, height: 844, coarse: true, screen: { width: 390, height: 844 } };

function setup(windowOptions) {
  const w = fakeWindow(windowOptions);
  globalThis.window = w;
  return { w, sdk: AlterConnect.create({ baseURL: BASE }), r: recorder() };
}

const cleanedUp = (w, sdk) => w.listeners.size + w.timers.size === 0 && !sdk.isOpen();

test("a promise token: the popup opens inside open() on the waiting page, then goes to the Connect URL", async () => {
  const { w, sdk, r } = setup();
  const token = deferred();
  sdk.open({ token: token.promise, ...r });
  assert.equal(w.opened.length, 1, "window.open ran inside open(), before the token");
  const { url, name, popup } = w.opened[0];
  assert.equal(url, `${BASE}/connect/wait`);
  assert.equal(name, "alter-connect");
  assert.equal(sdk.isOpen(), true);
  assert.deepEqual(r.names(), ["OPEN"]);

  token.resolve(TOKEN);
  await w.tick(0);
  assert.equal(popup.navigations.length, 1);
  const u = new URL(popup.navigations[0]);
  assert.equal(u.origin + u.pathname, `${BASE}/connect`);
  assert.equal(u.searchParams.get("token"), TOKEN);
  assert.equal(u.searchParams.get("mode"), "popup");
  const nonce = nonceOf(popup.navigations[0]);
  assert.match(nonce, /^[0-9]{22,50}$/);

  // F1's handshake works as in the direct flow: the hello is echoed to the same window.
  w.post({ type: "alter:hello", nonce });
  assert.deepEqual(popup.messages.map((m) => [m.data.type, m.targetOrigin]), [["alter:hello", BASE]]);
  w.post({ type: "alter:result", nonce, grants: [grant()] });
  assert.deepEqual(r.terminal(), [["success", [grant()]]]);
  assert.equal(popup.closed, true);
  assert.ok(cleanedUp(w, sdk));
});

test("a function token is called once inside open(), before window.open, so the app's fetch overlaps the window's creation", async () => {
  const { w, sdk, r } = setup();
  const calls = [];
  sdk.open({ token: () => (calls.push(w.opened.length), Promise.resolve(TOKEN)), ...r });
  assert.deepEqual(calls, [0], "called synchronously, once, before the popup");
  assert.equal(w.opened.length, 1);
  await w.tick(0);
  assert.equal(new URL(w.opened[0].popup.navigations[0]).searchParams.get("token"), TOKEN);
});

test("a function returning a string works like a promise of it", async () => {
  const { w, sdk, r } = setup();
  sdk.open({ token: () => TOKEN, ...r });
  assert.equal(w.opened[0].url, `${BASE}/connect/wait`);
  await w.tick(0);
  assert.equal(new URL(w.opened[0].popup.navigations[0]).searchParams.get("token"), TOKEN);
});

test("popup blocked with a function token: popup_blocked at once; the token that arrives later goes nowhere", async () => {
  const { w, sdk, r } = setup();
  w.openBehaviour = null;
  sdk.open({ token: () => Promise.resolve(TOKEN), ...r });
  assert.deepEqual(r.calls, [["error", { code: "popup_blocked", message: "Popup blocked" }]]);
  await w.tick(1000);
  assert.deepEqual(r.calls.length, 1);
  assert.equal(w.fetches.length, 0);
  assert.ok(cleanedUp(w, sdk));
});

const failures = {
  "a rejected promise": () => Promise.reject(new Error("backend down")),
  "a function that throws": () => () => {
    throw new Error("no");
  },
  "a promise of an empty string": () => Promise.resolve(""),
  "a promise of an object": () => Promise.resolve({ sessionToken: TOKEN }),
};
for (const [what, make] of Object.entries(failures)) {
  test(`${what}: the popup closes and onError gets invalid_token`, async () => {
    const { w, sdk, r } = setup();
    sdk.open({ token: make(), ...r });
    await w.tick(0);
    assert.deepEqual(r.terminal(), [["error", { code: "invalid_token", message: "Invalid token" }]]);
    assert.equal(w.opened[0].popup.closed, true);
    assert.deepEqual(w.opened[0].popup.navigations, []);
    assert.ok(cleanedUp(w, sdk));
  });
}

test("the popup closed before the token arrived: onExit, no result asked, and the late token goes nowhere", async () => {
  const { w, sdk, r } = setup();
  const token = deferred();
  sdk.open({ token: token.promise, ...r });
  w.opened[0].popup.closed = true;
  await w.tick(500);
  assert.deepEqual(r.names(), ["OPEN", "EXIT", "exit"]);
  assert.equal(w.fetches.length, 0);
  token.resolve(TOKEN);
  await w.tick(0);
  assert.deepEqual(w.opened[0].popup.navigations, []);
  assert.ok(cleanedUp(w, sdk));
});

test("the popup closed after the token arrived asks the result endpoint with that token", async () => {
  const { w, sdk, r } = setup();
  sdk.open({ token: Promise.resolve(TOKEN), ...r });
  await w.tick(0);
  w.responses.push({ status: "pending", oauth_in_progress: false });
  w.opened[0].popup.closed = true;
  await w.tick(500);
  assert.equal(w.fetches[0].init.headers.Authorization, "Bearer " + TOKEN);
  assert.deepEqual(r.names(), ["OPEN", "EXIT", "exit"]);
  assert.ok(cleanedUp(w, sdk));
});

test("close() while waiting closes the popup; the late token navigates nothing and fires nothing", async () => {
  const { w, sdk, r } = setup();
  const token = deferred();
  sdk.open({ token: token.promise, ...r });
  sdk.close();
  token.resolve(TOKEN);
  await w.tick(1000);
  assert.equal(w.opened[0].popup.closed, true);
  assert.deepEqual(w.opened[0].popup.navigations, []);
  assert.deepEqual(r.names(), ["OPEN"]);
  assert.ok(cleanedUp(w, sdk));
});

test("a newer open() while the first still waits: the first's token is ignored", async () => {
  const { w, sdk } = setup();
  const first = deferred();
  const one = recorder();
  const two = recorder();
  sdk.open({ token: first.promise, ...one });
  sdk.open({ token: TOKEN, ...two });
  first.resolve("cs_" + "x".repeat(43));
  await w.tick(0);
  assert.deepEqual(w.opened[0].popup.navigations, []);
  assert.equal(w.opened[0].popup.closeCalls, 0, "reused by name, not closed");
  assert.deepEqual(one.names(), ["OPEN"]);
  w.post({ type: "alter:result", nonce: nonceOf(w.opened[1].url), grants: [grant()] }, { source: w.opened[1].popup });
  assert.deepEqual(two.terminal(), [["success", [grant()]]]);
});

test("the redirect flow waits for the token, then stores it and navigates", async () => {
  const { w, sdk, r } = setup(PHONE);
  const token = deferred();
  sdk.open({ token: () => token.promise, ...r });
  assert.equal(w.opened.length, 0, "no popup on a phone");
  assert.equal(w.location.href, `${APP}/settings`);
  token.resolve(TOKEN);
  await w.tick(0);
  const u = new URL(w.location.href);
  assert.equal(u.origin + u.pathname, `${BASE}/connect`);
  assert.equal(u.searchParams.get("mode"), "redirect");
  assert.equal(w.store.get("alter-connect:pending"), TOKEN);
});

test("the redirect flow with a failing token reports invalid_token and stays on the page", async () => {
  const { w, sdk, r } = setup(PHONE);
  sdk.open({ token: Promise.reject(new Error("down")), ...r });
  await w.tick(0);
  assert.deepEqual(r.calls, [["error", { code: "invalid_token", message: "Invalid token" }]]);
  assert.equal(w.location.href, `${APP}/settings`);
  assert.equal(w.store.size, 0);
});

test("popup_blocked leaves the token unused: open() again from the next click, with the same promise, succeeds", async () => {
  const { w, sdk, r } = setup();
  const token = Promise.resolve(TOKEN);
  w.openBehaviour = null;
  sdk.open({ token, ...r });
  assert.equal(r.terminal()[0][1].code, "popup_blocked");
  w.openBehaviour = "popup";
  sdk.open({ token, ...r });
  await w.tick(0);
  const nonce = nonceOf(w.opened[1].popup.navigations[0]);
  w.post({ type: "alter:result", nonce, grants: [grant()] });
  assert.deepEqual(r.terminal().map((c) => c[0]), ["error", "success"]);
});
