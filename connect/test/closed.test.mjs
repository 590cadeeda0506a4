import assert from "node:assert/strict";
import { test } from "node:test";
import AlterConnect from "../dist/alter-connect.mjs";
import { BASE, deferred, fakeWindow, grant, nonceOf, recorder } from "./fake-window.mjs";

const TOKEN = "cs_" + "b".repeat(43);
const RESULT_URL = `${BASE}/v1/connect/sessions/result`;

function setup() {
  const w = fakeWindow();
  globalThis.window = w;
  const sdk = AlterConnect.create({ baseURL: BASE });
  const r = recorder();
  sdk.open({ token: TOKEN, ...r });
  const popup = w.opened[0].popup;
  return { w, sdk, r, popup };
}

function assertCleanedUp(w, sdk) {
  assert.equal(w.listeners.size, 0, "message listener removed");
  assert.equal(w.timers.size, 0, "interval and timers cleared");
  assert.equal(sdk.isOpen(), false);
}

test("the user closes the popup: the result endpoint says pending, so onExit and EXIT fire", async () => {
  const { w, sdk, r, popup } = setup();
  await w.tick(1600);
  assert.equal(w.fetches.length, 0, "no request while the popup is open");
  w.responses.push({ status: "pending", oauth_in_progress: false });
  popup.closed = true;
  await w.tick(500);
  assert.equal(w.fetches.length, 1);
  assert.equal(w.fetches[0].url, RESULT_URL);
  assert.deepEqual(w.fetches[0].init.headers, { Authorization: `Bearer ${TOKEN}` });
  assert.deepEqual(r.names(), ["OPEN", "EXIT", "exit"]);
  assertCleanedUp(w, sdk);
});

test("the popup closed after finishing but its message was lost: the endpoint's grants reach onSuccess", async () => {
  const { w, sdk, r, popup } = setup();
  const grants = [grant()];
  w.responses.push({ status: "completed", oauth_in_progress: false, grants });
  popup.closed = true;
  await w.tick(500);
  assert.deepEqual(r.terminal(), [["success", grants]]);
  assertCleanedUp(w, sdk);
});

test("the endpoint's completed grants are validated too", async () => {
  const { w, r, popup } = setup();
  w.responses.push({ status: "completed", grants: [grant({ grant_id: null })] });
  popup.closed = true;
  await w.tick(500);
  assert.equal(r.terminal()[0][1].code, "invalid_response");
});

for (const [status, code] of [["expired", "session_expired"], ["failed", "oauth_denied"]]) {
  test(`the endpoint reports ${status}: onError gets ${code}`, async () => {
    const { w, sdk, r, popup } = setup();
    const error = { code, message: "m" };
    w.responses.push({ status, oauth_in_progress: false, error });
    popup.closed = true;
    await w.tick(500);
    assert.deepEqual(r.terminal(), [["error", error]]);
    assertCleanedUp(w, sdk);
  });
}

test("a 401 invalid_token body from the endpoint reaches onError", async () => {
  const { w, r, popup } = setup();
  w.responses.push({ error: { code: "invalid_token", message: "Unknown session token" } });
  popup.closed = true;
  await w.tick(500);
  assert.deepEqual(r.terminal(), [["error", { code: "invalid_token", message: "Unknown session token" }]]);
});

for (const body of [null, [], "ok", {}]) {
  test(`a result endpoint answering ${JSON.stringify(body)} reports invalid_response`, async () => {
    const { w, sdk, r, popup } = setup();
    w.responses.push(body);
    popup.closed = true;
    await w.tick(500);
    assert.deepEqual(r.terminal(), [["error", { code: "invalid_response", message: "Invalid response" }]]);
    assertCleanedUp(w, sdk);
  });
}

test("a network failure of the result request counts as the user leaving", async () => {
  const { w, sdk, r, popup } = setup();
  w.responses.push(new TypeError("Failed to fetch"));
  popup.closed = true;
  await w.tick(500);
  assert.deepEqual(r.names(), ["OPEN", "EXIT", "exit"]);
  assertCleanedUp(w, sdk);
});

test("COOP makes `closed` read true mid-OAuth: the widget polls every second until the grants come", async () => {
  const { w, sdk, r, popup } = setup();
  w.responses.push(
    { status: "pending", oauth_in_progress: true },
    { status: "pending", oauth_in_progress: true },
    { status: "pending", oauth_in_progress: true },
  );
  popup.closed = true;
  await w.tick(500);
  assert.equal(w.fetches.length, 1);
  await w.tick(999);
  assert.equal(w.fetches.length, 1, "not before a second has passed");
  await w.tick(1);
  assert.equal(w.fetches.length, 2);
  await w.tick(1000);
  assert.equal(w.fetches.length, 3);
  assert.deepEqual(r.terminal(), []);
  assert.equal(sdk.isOpen(), true, "still following the flow");
  const grants = [grant()];
  w.responses.push({ status: "completed", oauth_in_progress: false, grants });
  await w.tick(1000);
  assert.equal(w.fetches.length, 4);
  assert.deepEqual(r.terminal(), [["success", grants]]);
  assertCleanedUp(w, sdk);
});

test("polling while OAuth is in progress stops after 10 minutes with onExit", async () => {
  const { w, sdk, r, popup } = setup();
  for (let i = 0; i < 700; i++) w.responses.push({ status: "pending", oauth_in_progress: true });
  popup.closed = true;
  await w.tick(500);
  await w.tick(10 * 60 * 1000 + 5000);
  assert.equal(w.fetches.length, 601, "the first request plus 600 one-second polls");
  assert.deepEqual(r.terminal(), [["exit"]]);
  assertCleanedUp(w, sdk);
});

test("a result message arriving while the closed-check request is in flight fires only once", async () => {
  const { w, sdk, r, popup } = setup();
  const nonce = nonceOf(w.opened[0].url);
  const answer = deferred();
  w.responses.push(answer.promise);
  popup.closed = true;
  await w.tick(500);
  assert.equal(w.fetches.length, 1, "request in flight");
  w.post({ type: "alter:result", nonce, grants: [grant()] });
  answer.resolve({ status: "pending", oauth_in_progress: false });
  await w.tick(5000);
  assert.deepEqual(r.names(), ["OPEN", "success"]);
  assertCleanedUp(w, sdk);
});

test("close() while the result request is in flight: no callback, no later polling", async () => {
  const { w, sdk, r, popup } = setup();
  const answer = deferred();
  w.responses.push(answer.promise);
  popup.closed = true;
  await w.tick(500);
  sdk.close();
  answer.resolve({ status: "pending", oauth_in_progress: true });
  await w.tick(5000);
  assert.deepEqual(r.calls.map((c) => c[1]), ["OPEN"]);
  assert.equal(w.fetches.length, 1);
  assertCleanedUp(w, sdk);
});

for (const end of ["close", "destroy"]) {
  test(`${end}() while waiting a second between result polls clears that timer`, async () => {
    const { w, sdk, r, popup } = setup();
    w.responses.push({ status: "pending", oauth_in_progress: true }, { status: "completed", grants: [grant()] });
    popup.closed = true;
    await w.tick(500);
    assert.equal(w.timers.size, 1, "the next poll is scheduled");
    sdk[end]();
    assertCleanedUp(w, sdk);
    await w.tick(5000);
    assert.equal(w.fetches.length, 1);
    assert.deepEqual(r.terminal(), []);
  });
}
