// A hand-made browser window for node --test: window.open returns fake popups, timers run only
// when a test advances the clock, fetch answers from a queue, sessionStorage is a Map.

export const BASE = "http://vault.test";
export const APP = "http://app.test";

export const grant = (fields = {}) => ({
  grant_id: "7b0e3f7e-4b7c-4a57-9a44-2a4f2f0d8a11",
  provider: "sandbox",
  provider_name: "Sandbox",
  account_identifier: "alice@example.com",
  timestamp: "2025-01-15T10:30:00Z",
  operation: "creation",
  scopes: ["profile", "email"],
  status: "active",
  ...fields,
});

const flush = () => new Promise((resolve) => setImmediate(resolve));

export function fakeWindow({ width = 1280, height = 800, coarse = false, screen = { width: 1920, height: 1080 } } = {}) {
  const listeners = new Set();
  const timers = new Map();
  const store = new Map();
  let now = 0;
  let nextId = 1;

  const w = {
    innerWidth: width,
    innerHeight: height,
    screenX: 100,
    screenY: 50,
    outerWidth: 1400,
    outerHeight: 900,
    screen,
    location: {
      href: `${APP}/settings`,
      assign(url) {
        this.href = url;
      },
    },
    /** Every window.open call: {url, name, features, popup}. */
    opened: [],
    /** Every fetch call: {url, init}. */
    fetches: [],
    /** Answers for fetch, in order: a body object, a Promise of one (see deferred()), or an Error to reject with. */
    responses: [],
    /** What window.open returns: "popup" (default), null, or "closed". */
    openBehaviour: "popup",
    listeners,
    timers,

    matchMedia: (query) => ({ matches: query === "(pointer:coarse)" && coarse }),
    open(url, name, features) {
      const popup = w.openBehaviour === null ? null : { closed: w.openBehaviour === "closed", closeCalls: 0, messages: [] };
      if (popup) popup.close = () => ((popup.closed = true), popup.closeCalls++);
      /** Where the widget navigated the popup later (location.replace): a token that arrived after open(). */
      if (popup) popup.navigations = [];
      if (popup) popup.location = { replace: (to) => popup.navigations.push(to) };
      /** What the widget posted to the popup: {data, targetOrigin}. */
      if (popup) popup.postMessage = (data, targetOrigin) => popup.messages.push({ data, targetOrigin });
      w.opened.push({ url, name, features, popup });
      return popup;
    },
    addEventListener(type, f) {
      if (type === "message") listeners.add(f);
    },
    removeEventListener(type, f) {
      if (type === "message") listeners.delete(f);
    },
    setInterval: (f, ms) => (timers.set(nextId, { f, at: now + ms, every: ms }), nextId++),
    setTimeout: (f, ms) => (timers.set(nextId, { f, at: now + ms }), nextId++),
    clearInterval: (id) => timers.delete(id),
    clearTimeout: (id) => timers.delete(id),
    fetch(url, init) {
      w.fetches.push({ url, init });
      const next = w.responses.shift();
      if (next === undefined) return Promise.reject(new TypeError("no fake response queued"));
      if (next instanceof Error) return Promise.reject(next);
      if (next instanceof Promise) return next.then((body) => ({ ok: true, json: () => Promise.resolve(body) }));
      return Promise.resolve({ ok: true, json: () => Promise.resolve(next) });
    },
    sessionStorage: {
      getItem: (k) => (store.has(k) ? store.get(k) : null),
      setItem: (k, v) => store.set(k, String(v)),
      removeItem: (k) => store.delete(k),
    },
    store,

    /** Delivers a MessageEvent-like object to the listeners. */
    post(data, { origin = BASE, source = w.opened.at(-1)?.popup } = {}) {
      for (const f of [...listeners]) f({ data, origin, source });
    },
    /** Advances the fake clock by ms, running due timers in order and settling promises after each. */
    async tick(ms) {
      const until = now + ms;
      for (;;) {
        await flush();
        let dueId;
        let due;
        for (const [id, t] of timers) if (t.at <= until && (!due || t.at < due.at)) (dueId = id), (due = t);
        if (!due) break;
        now = due.at;
        if (due.every) due.at += due.every;
        else timers.delete(dueId);
        due.f();
      }
      now = until;
      await flush();
      await flush();
    },
    get now() {
      return now;
    },
  };
  return w;
}

/** Records every callback an open() can fire, in order. */
export function recorder() {
  const calls = [];
  return {
    calls,
    onSuccess: (grants) => calls.push(["success", grants]),
    onError: (error) => calls.push(["error", error]),
    onExit: () => calls.push(["exit"]),
    onEvent: (name, metadata) => calls.push(["event", name, metadata]),
    names: () => calls.map((c) => (c[0] === "event" ? c[1] : c[0])),
    terminal: () => calls.filter((c) => c[0] !== "event"),
  };
}

/** The nonce of the last window.open or redirect URL. */
export const nonceOf = (url) => new URL(url).searchParams.get("nonce");

/** A promise and its resolve function, for answers that arrive when the test says. */
export function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}
