import assert from "node:assert/strict";
import { test } from "node:test";
import AlterConnect from "../dist/alter-connect.mjs";
import { APP, BASE, fakeWindow, grant, nonceOf, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "a".repeat(43);

/** A fresh fake window, an instance bound to it, and a recorder passed as the callbacks. */
function setup(windowOptions, config = { baseURL: BASE }) {
  const w = fakeWindow(windowOptions);
  globalThis.window = w;
  const sdk = AlterConnect.create(config);
  const r = recorder();
  return { w, sdk, r, open: (extra = {}) => sdk.open({ token: TOKEN, ...r, ...extra }) };
}

/** Nothing left behind: no message listener, no interval, no timer. */
function assertCleanedUp(w, sdk) {
  assert.equal(w.listeners.size, 0, "message listener removed");
  assert.equal(w.timers.size, 0, "interval and timers cleared");
  assert.equal(sdk.isOpen(), false);
}

const result = (w, body) => w.post({ type: "alter:result", nonce: nonceOf(w.opened[0].url), ...body });

test("open() calls window.open before it returns, with the protocol's URL, name and centred size", () => {
  const { w, sdk, open } = setup();
  open();
  assert.equal(w.opened.length, 1, "window.open ran inside open(), not after an await");
  const { url, name, features } = w.opened[0];
  const u = new URL(url);
  assert.equal(u.origin + u.pathname, `${BASE}/connect`);
  assert.equal(u.searchParams.get("token"), TOKEN);
  assert.equal(u.searchParams.get("mode"), "popup");
  // Protocol §2: 22–64 characters of [A-Za-z0-9_-]; the widget sends five random 32-bit words in decimal.
  assert.match(u.searchParams.get("nonce"), /^[0-9]{22,50}$/);
  assert.equal(name, "alter-connect");
  // Centred on the window: 100 + (1400 - 500) / 2, 50 + (900 - 700) / 2.
  assert.equal(features, "popup,width=500,height=700,left=550,top=150");
  assert.equal(sdk.isOpen(), true);
});

test("each open() gets a fresh nonce", () => {
  const { w, sdk, open } = setup();
  open();
  sdk.close();
  open();
  assert.notEqual(nonceOf(w.opened[0].url), nonceOf(w.opened[1].url));
});

test("a result message delivers Grant[] after the events, in order, and cleans up", async () => {
  const { w, sdk, r, open } = setup();
  open();
  const nonce = nonceOf(w.opened[0].url);
  for (const name of ["PROVIDER_SELECTED", "OAUTH_STARTED", "OAUTH_COMPLETE"])
    w.post({ type: "alter:event", nonce, name, metadata: { provider: "sandbox" } });
  const grants = [grant(), grant({ provider: "sandbox-mail", operation: "reauth", metadata: { account_email: "a@b.c" } })];
  w.post({ type: "alter:result", nonce, grants });
  assert.deepEqual(r.names(), ["OPEN", "PROVIDER_SELECTED", "OAUTH_STARTED", "OAUTH_COMPLETE", "success"]);
  assert.deepEqual(r.calls[1][2], { provider: "sandbox" });
  assert.deepEqual(r.calls[0][2], {}, "OPEN metadata is an object");
  assert.deepEqual(r.calls.at(-1)[1], grants);
  assert.equal(w.opened[0].popup.closed, true, "the widget closes the popup");
  assertCleanedUp(w, sdk);
  // Nothing fires twice: the popup reads closed now, and a late duplicate message arrives.
  result(w, { grants });
  await w.tick(5000);
  assert.equal(r.terminal().length, 1);
  assert.equal(w.fetches.length, 0);
});

test("messages from another origin, another window, with another nonce or of unknown shape are ignored", async () => {
  const { w, r, open } = setup();
  open();
  const nonce = nonceOf(w.opened[0].url);
  const body = { type: "alter:result", nonce, grants: [grant()] };
  w.post(body, { origin: APP });
  w.post(body, { origin: "http://vault.test:8080" });
  w.post(body, { source: { closed: false } });
  w.post(body, { source: null });
  w.post({ ...body, nonce: "x".repeat(22) });
  w.post({ ...body, nonce: undefined });
  w.post(null);
  w.post("alter:result");
  w.post({ type: "alter:event", nonce, name: "OPEN" });
  w.post({ type: "alter:event", nonce, name: ["OAUTH_STARTED"] });
  w.post({ type: "something-else", nonce });
  assert.deepEqual(r.names(), ["OPEN"]);
  assert.equal(w.listeners.size, 1);
  w.post(body);
  assert.deepEqual(r.names(), ["OPEN", "success"]);
});

const badGrantLists = {
  "an empty array": [],
  "not an array": grant(),
  "a missing grant_id": [grant({ grant_id: undefined })],
  "a numeric grant_id": [grant({ grant_id: 7 })],
  "a grant that is an array": [[grant()]],
  "one good and one bad grant": [grant(), grant({ grant_id: null })],
};
for (const [what, grants] of Object.entries(badGrantLists)) {
  test(`a result with ${what} reports invalid_response`, () => {
    const { w, sdk, r, open } = setup();
    open();
    result(w, { grants });
    assert.deepEqual(r.terminal(), [["error", { code: "invalid_response", message: "Invalid response" }]]);
    assertCleanedUp(w, sdk);
  });
}

test("a result without grants or error reports invalid_response", () => {
  const { w, r, open } = setup();
  open();
  result(w, {});
  assert.equal(r.terminal()[0][1].code, "invalid_response");
});

for (const code of ["oauth_denied", "oauth_provider_error", "session_expired", "invalid_token"]) {
  test(`an error result (${code}) reaches onError with the server's code, message and details`, () => {
    const { w, sdk, r, open } = setup();
    open();
    const error = { code, message: "Server says no", details: { error: "access_denied" } };
    result(w, { error });
    assert.deepEqual(r.terminal(), [["error", error]]);
    assertCleanedUp(w, sdk);
  });
}

test("an error result is reduced to the AlterError shape", () => {
  const { w, r, open } = setup();
  open();
  result(w, { error: { code: "oauth_denied", details: "nope", trace: 1 } });
  assert.deepEqual(r.terminal()[0][1], { code: "oauth_denied", message: "oauth_denied" });
});

test("an error result without a code reports invalid_response", () => {
  const { w, r, open } = setup();
  open();
  result(w, { error: { message: "?" } });
  assert.equal(r.terminal()[0][1].code, "invalid_response");
});

test("F1: the hosted page's alter:hello is echoed to the popup at the Connect origin, and nothing else is", () => {
  const { w, r, open } = setup();
  open();
  const popup = w.opened[0].popup;
  const hello = { type: "alter:hello", nonce: nonceOf(w.opened[0].url) };
  // From the app's own origin, another window, or with another nonce: no echo.
  w.post(hello, { origin: APP });
  w.post(hello, { source: { closed: false } });
  w.post({ ...hello, nonce: "x".repeat(22) });
  assert.deepEqual(popup.messages, []);
  w.post(hello);
  assert.deepEqual(popup.messages, [{ data: hello, targetOrigin: BASE }], "posted to the Connect origin, never '*'");
  assert.deepEqual(r.names(), ["OPEN"], "a handshake is not an event");
});

test("every accepted message is echoed as its receipt, so the page may navigate at once", () => {
  const { w, open } = setup();
  open();
  const popup = w.opened[0].popup;
  const event = { type: "alter:event", nonce: nonceOf(w.opened[0].url), name: "OAUTH_STARTED", metadata: { provider: "sandbox" } };
  w.post(event);
  assert.deepEqual(popup.messages.map((m) => m.data), [event]);
});

test("F20: a provider's deny in a multi-provider session is an OAUTH_ERROR event; the grants made still reach onSuccess", () => {
  const { w, r, open } = setup();
  open();
  const nonce = nonceOf(w.opened[0].url);
  const denied = { provider: "sandbox-mail", error_code: "oauth_denied" };
  w.post({ type: "alter:event", nonce, name: "OAUTH_COMPLETE", metadata: { provider: "sandbox" } });
  w.post({ type: "alter:event", nonce, name: "OAUTH_ERROR", metadata: denied });
  assert.deepEqual(r.terminal(), [], "not a terminal onError");
  assert.equal(w.listeners.size, 1, "still following the flow");
  w.post({ type: "alter:result", nonce, grants: [grant()] });
  assert.deepEqual(r.names(), ["OPEN", "OAUTH_COMPLETE", "OAUTH_ERROR", "success"]);
  assert.deepEqual(r.calls[2][2], denied);
  assert.deepEqual(r.terminal(), [["success", [grant()]]]);
});
