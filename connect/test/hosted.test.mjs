// The hosted pages' script (Resources/hosted.js, built from src/hosted.ts), run in a fake page:
// what it posts to window.opener, when it navigates, and the F1 rule that nothing proceeds past
// the first load before the opener's receipt.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";
import { APP, BASE } from "./fake-window.mjs";

const SCRIPT = readFileSync(new URL("../../Sources/AlterServer/Resources/hosted.js", import.meta.url), "utf8");
const NONCE = "n".repeat(22);
const START = `${BASE}/connect/s/1/start?provider=sandbox&proof=p`;

/** A window whose opener (the app's page) records posts and can echo them like the widget. */
function fakePage(data, { opener = true, links = [], unproven = false } = {}) {
  const listeners = [];
  const timers = [];
  const page = {
    posts: [],
    replaced: [],
    addresses: [],
    closed: false,
    unproven: unproven ? { hidden: true } : null,
    connecting: unproven ? { hidden: false } : null,
    links: links.map((provider) => {
      const link = { dataset: { provider }, href: `${BASE}/connect/s/1/start?provider=${provider}&proof=p`, handlers: [] };
      link.addEventListener = (type, f) => type === "click" && link.handlers.push(f);
      link.click = () => link.handlers.forEach((f) => f({ preventDefault() {} }));
      return link;
    }),
  };
  const openerWindow = opener
    ? { postMessage: (data, targetOrigin) => page.posts.push({ data: structuredClone(data), targetOrigin }) }
    : null;
  const w = {
    opener: openerWindow,
    document: {
      getElementById: (id) =>
        id === "alter-data"
          ? { textContent: JSON.stringify(data) }
          : id === "alter-unproven"
            ? page.unproven
            : id === "alter-connecting"
              ? page.connecting
              : null,
      querySelectorAll: (selector) => (selector === "a[data-provider]" ? page.links : []),
    },
    location: { replace: (url) => page.replaced.push(url) },
    history: { replaceState: (_state, _title, url) => page.addresses.push(url) },
    close: () => (page.closed = true),
    addEventListener: (type, f) => type === "message" && listeners.push(f),
    setTimeout: (f, ms) => timers.push({ f, ms }),
  };
  /** Delivers a message to the page as if `source` at `origin` had posted it. */
  page.receive = (data, { origin = APP, source = openerWindow } = {}) => listeners.forEach((f) => f({ data, origin, source }));
  /** The widget's receipt: echoes every post so far. */
  page.echoAll = () => page.posts.splice(0).forEach((p) => page.receive(p.data));
  /** Runs the timers the page set, in order. */
  page.runTimers = () => timers.splice(0).sort((a, b) => a.ms - b.ms).forEach((t) => t.f());
  page.timers = timers;
  vm.runInNewContext(SCRIPT, { window: w });
  return page;
}

const firstLoad = (extra = {}) => ({
  nonce: NONCE,
  origin: APP,
  events: [{ name: "PROVIDER_SELECTED", metadata: { provider: "sandbox" } }, { name: "OAUTH_STARTED", metadata: { provider: "sandbox" } }],
  next: START,
  prove: true,
  ...extra,
});

test("F1: the first load posts its events and alter:hello to the opener at the session's exact origin, never '*'", () => {
  const page = fakePage(firstLoad());
  assert.deepEqual(
    page.posts.map((p) => [p.data.type, p.data.name, p.targetOrigin, p.data.nonce]),
    [
      ["alter:event", "PROVIDER_SELECTED", APP, NONCE],
      ["alter:event", "OAUTH_STARTED", APP, NONCE],
      ["alter:hello", undefined, APP, NONCE],
    ],
  );
  assert.deepEqual(page.replaced, [], "nothing proceeds before the receipt");
});

test("F1: the opener's echo of alter:hello lets the first load continue at once (no fixed delay)", () => {
  const page = fakePage(firstLoad(), { unproven: true });
  page.echoAll();
  assert.deepEqual(page.replaced, [START]);
  assert.equal(page.unproven.hidden, true);
});

test("F1: an echo from another origin, another window or with another nonce is no proof", () => {
  const page = fakePage(firstLoad(), { unproven: true });
  const hello = { type: "alter:hello", nonce: NONCE };
  page.receive(hello, { origin: "https://attacker.example" });
  page.receive(hello, { source: {} });
  page.receive({ ...hello, nonce: "x".repeat(22) });
  page.receive({ type: "alter:event", nonce: NONCE });
  assert.deepEqual(page.replaced, []);
  page.runTimers();
  assert.deepEqual(page.replaced, [], "waiting longer proves nothing either");
  assert.equal(page.unproven.hidden, false, "the interstitial is shown");
  assert.equal(page.connecting.hidden, true, "in place of “Connecting…”");
});

test("F1: a first load without an opener (a forwarded link opened directly) shows the interstitial and posts nothing", () => {
  const page = fakePage(firstLoad(), { opener: false, unproven: true, links: ["sandbox"] });
  assert.equal(page.unproven.hidden, false);
  page.runTimers();
  assert.deepEqual(page.replaced, []);
  page.links[0].click(); // the person reads the interstitial and continues
  page.runTimers();
  assert.deepEqual(page.replaced, [page.links[0].href]);
});

test("a proven page with a next step posts its events and navigates on the receipt", () => {
  const page = fakePage(firstLoad({ prove: false }));
  assert.deepEqual(page.replaced, []);
  page.echoAll();
  assert.deepEqual(page.replaced, [START]);
  page.runTimers();
  assert.deepEqual(page.replaced, [START], "the fallback timer does not navigate twice");
});

test("without a receipt (the widget is gone), a proven page navigates after 50 ms", () => {
  const page = fakePage(firstLoad({ prove: false }));
  assert.deepEqual(page.timers.map((t) => t.ms), [50]);
  page.runTimers();
  assert.deepEqual(page.replaced, [START]);
});

test("picker links post PROVIDER_SELECTED and OAUTH_STARTED for the clicked provider, then navigate", () => {
  const page = fakePage({ nonce: NONCE, origin: APP, events: [], pickerLinks: true }, { links: ["sandbox", "sandbox-mail"] });
  page.links[1].click();
  assert.deepEqual(
    page.posts.map((p) => [p.data.type, p.data.name, p.data.metadata]),
    [
      ["alter:event", "PROVIDER_SELECTED", { provider: "sandbox-mail" }],
      ["alter:event", "OAUTH_STARTED", { provider: "sandbox-mail" }],
      ["alter:hello", undefined, undefined],
    ],
  );
  page.echoAll();
  assert.deepEqual(page.replaced, [page.links[1].href]);
});

test("the finish page posts alter:result with the nonce and closes itself in popup mode", () => {
  const grants = [{ grant_id: "g" }];
  const page = fakePage({ nonce: NONCE, origin: APP, events: [{ name: "OAUTH_COMPLETE", metadata: { provider: "sandbox" } }], result: { grants }, close: true });
  assert.deepEqual(
    page.posts.map((p) => [p.data.type, p.targetOrigin]),
    [["alter:event", APP], ["alter:result", APP], ["alter:hello", APP]],
  );
  assert.deepEqual(page.posts[1].data, { grants, type: "alter:result", nonce: NONCE });
  page.echoAll();
  assert.equal(page.closed, true);
});

test("without a nonce or an origin the page posts nothing at all", () => {
  for (const data of [{ origin: APP }, { nonce: NONCE }]) {
    const page = fakePage({ events: [{ name: "OAUTH_COMPLETE", metadata: {} }], result: { grants: [] }, ...data });
    assert.deepEqual(page.posts, []);
  }
});

test("the redirect flow's finish page goes to return_url", () => {
  const page = fakePage({ origin: APP, events: [], result: { grants: [] }, next: `${APP}/?alter_connect=complete` }, { opener: false });
  assert.deepEqual(page.replaced, [`${APP}/?alter_connect=complete`]);
});

test("the flow page rendered by the entry puts its clean URL in the address bar, and no other page touches it", () => {
  const entry = fakePage({ nonce: NONCE, origin: APP, events: [], next: START, prove: true, address: "/connect/s/1" });
  assert.deepEqual(entry.addresses, ["/connect/s/1"]);
  const later = fakePage({ nonce: NONCE, origin: APP, events: [], next: START });
  assert.deepEqual(later.addresses, []);
});
