// The script of the hosted Connect UI pages (the server inlines Resources/hosted.js under each
// page's CSP nonce). It is the page's half of docs/connect-protocol.md §3: it posts only to
// `window.opener`, only with targetOrigin = the session's exact origin, always with the nonce,
// and it proceeds past the first load only after the opener's receipt proved who opened it (F1).

/** The page's data, rendered by the server as JSON in `<script type="application/json" id="alter-data">`. */
export interface HostedData {
  /** The widget's nonce (absent when the page was not opened by the widget). */
  nonce?: string;
  /** The session's origin: the only targetOrigin messages are posted to. */
  origin?: string;
  /** Events to post on load, in order. */
  events: { name: string; metadata: Record<string, string> }[];
  /** The session's end, posted as `alter:result`. */
  result?: { grants?: unknown[]; error?: unknown };
  /** Where to go next (the provider's start, or the app's return_url). */
  next?: string;
  /** Close the window after posting (popup mode). */
  close?: boolean;
  /** Links with `data-provider` post PROVIDER_SELECTED and OAUTH_STARTED when clicked. */
  pickerLinks?: boolean;
  /**
   * F1: this browser has not yet shown that the app's page opened it. `next` waits for the
   * opener's receipt of `alter:hello`; without one, the page reveals `#alter-unproven` (an
   * interstitial naming the app, whose link the person must click) in place of `#alter-connecting`.
   */
  prove?: boolean;
  /** The clean URL for the address bar: the entry renders the flow page at `/connect?token=…`. */
  address?: string;
}

type Message = { type: string; nonce?: string; [key: string]: unknown };

/** The opener's receipt must come at once; a page without one shows the interstitial after this. */
export const PROOF_WAIT_MS = 1000;
/** Without a receipt (no widget listening), messages get this long before the page navigates. */
export const SEND_WAIT_MS = 50;

export const runHostedPage = (w: Window): void => {
  const d: HostedData = JSON.parse(w.document.getElementById("alter-data")!.textContent!);
  // The consumed token leaves the address bar and history; a reload loads the flow page.
  if (d.address) w.history.replaceState(null, "", d.address);
  const opener = w.opener as Window | null;
  const canPost = !!(d.nonce && d.origin && opener);
  const waiting: (() => void)[] = [];

  const post = (m: Message) => {
    if (!canPost) return;
    m.nonce = d.nonce;
    try {
      opener!.postMessage(m, d.origin!);
    } catch {}
  };
  // The widget echoes each message it accepted (exact origin, this window, this nonce). Messages
  // arrive in order, so the echo of a hello posted last is the receipt of everything before it.
  w.addEventListener("message", (e: MessageEvent) => {
    const m = e.data;
    if (e.source === opener && e.origin === d.origin && m && m.nonce === d.nonce && m.type == "alter:hello") {
      waiting.splice(0).forEach((f) => f());
    }
  });
  /** Runs `then` once the opener has received what was posted, or after `fallbackMs` (if given). */
  const whenReceived = (then: () => void, fallbackMs?: number) => {
    let done = false;
    const once = () => {
      if (!done) (done = true), then();
    };
    if (!canPost) return fallbackMs != null ? once() : undefined;
    waiting.push(once);
    post({ type: "alter:hello" });
    if (fallbackMs != null) w.setTimeout(once, fallbackMs);
  };
  // location.replace: the back button must not return to a consumed step.
  const go = (url: string) => w.location.replace(url);
  const event = (name: string, metadata: Record<string, string>) => post({ type: "alter:event", name, metadata });

  d.events.forEach((e) => event(e.name, e.metadata));
  if (d.pickerLinks || d.prove) {
    w.document.querySelectorAll<HTMLAnchorElement>("a[data-provider]").forEach((a) =>
      a.addEventListener("click", (e) => {
        e.preventDefault();
        const provider = { provider: a.dataset.provider! };
        event("PROVIDER_SELECTED", provider);
        event("OAUTH_STARTED", provider);
        whenReceived(() => go(a.href), SEND_WAIT_MS);
      }),
    );
  }
  if (d.result) post({ ...d.result, type: "alter:result" });

  const next = d.next;
  if (d.prove) {
    // F1: no automatic step without the opener's receipt. The interstitial waits behind it.
    const unproven = w.document.getElementById("alter-unproven");
    const connecting = w.document.getElementById("alter-connecting");
    const reveal = () => {
      if (unproven) unproven.hidden = false;
      if (connecting) connecting.hidden = true;
    };
    whenReceived(() => {
      if (unproven) unproven.hidden = true;
      if (next) go(next);
    });
    if (canPost) w.setTimeout(reveal, PROOF_WAIT_MS);
    else reveal();
  } else if (next) {
    whenReceived(() => go(next), SEND_WAIT_MS);
  } else if (d.close && opener) {
    whenReceived(() => w.close(), SEND_WAIT_MS);
  }
};
