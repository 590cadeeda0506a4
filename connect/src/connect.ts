import { alterError, serverError } from "./errors";
import { isGrantList, isRelayedEvent, metadataOf } from "./messages";
import { openPopup } from "./popup";
import { prefersRedirect, savePending, takePending } from "./redirect";
import type {
  AlterConnectStatic,
  AlterErrorCode,
  ConnectEventName,
  HandleRedirectOptions,
  OpenOptions,
} from "./types";

declare const __VERSION__: string;

const CLOSED_POLL_MS = 500;
const RESULT_POLL_MS = 1000;
// Protocol §4: keep asking while OAuth is in progress, for at most 10 minutes.
const MAX_RESULT_POLLS = 600;

type Ending = "onSuccess" | "onError" | "onExit";

/** `origin` of an http(s) URL (with `/sdk/` in its path when `sdkOnly`), else undefined. */
const originOf = (url: unknown, sdkOnly?: boolean): string | undefined => {
  try {
    const u = new URL(url as string);
    if (/^https?:$/.test(u.protocol) && (!sdkOnly || u.pathname.includes("/sdk/"))) return u.origin;
  } catch {}
};

/** Random 16 bytes, base64url without padding (22 characters). */
const newNonce = (): string =>
  btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))))
    .replace(/=/g, "")
    .replace(/\+/g, "-")
    .replace(/\//g, "_");

const isCallback = (f: unknown) => f == null || typeof f == "function";

const validOptions = (o: any, needsToken?: boolean) =>
  !!o &&
  typeof o.onSuccess == "function" &&
  (!needsToken || (typeof o.token == "string" && !!o.token)) &&
  [o.onError, o.onExit, o.onEvent].every(isCallback);

/**
 * Builds the default export. `scriptURL` says where the bundle was loaded from (the UMD's
 * `document.currentScript`, the ESM's `import.meta.url`): a copy served from `/sdk/` on an
 * Alter Vault server talks to that server unless `baseURL` says otherwise.
 */
export const makeAlterConnect = (scriptURL: () => string | undefined): AlterConnectStatic => ({
  create(config = {}) {
    const w = window;
    const origin = config.baseURL != null ? originOf(config.baseURL) : originOf(scriptURL(), true);
    if (!origin) throw Error("AlterConnect: baseURL missing or invalid");

    const log = (...args: unknown[]) => {
      if (config.debug) console.log("[AlterConnect]", ...args);
    };
    let destroyed = false;
    // Ends the running flow without a callback; `keepPopup` lets a new open() reuse the window.
    let stop: ((keepPopup?: boolean) => void) | undefined;

    /** Reports an error found before the flow starts: to onError, or thrown when there is none. */
    const reject = (o: any, code: AlterErrorCode) => {
      const error = alterError(code);
      log(code);
      if (!o || typeof o.onError != "function") throw Object.assign(Error(error.message), error);
      o.onError(error);
    };

    /** Follows one flow to exactly one of onSuccess, onError, onExit. */
    const follow = (o: Partial<OpenOptions>, token: string, popup?: Window, nonce?: string) => {
      let live = true;
      let closedPoll: any;
      let resultPoll: any;
      let polls = 0;

      const emit = (name: ConnectEventName, metadata?: unknown) => {
        log(name);
        if (o.onEvent) o.onEvent(name, metadataOf(metadata));
      };
      // The one cleanup, run on every way a flow ends (auth0-spa-js runPopup's pattern).
      const cleanup = (keepPopup?: boolean) => {
        live = false;
        stop = undefined;
        w.removeEventListener("message", onMessage);
        w.clearInterval(closedPoll);
        w.clearTimeout(resultPoll);
        if (popup && !keepPopup) popup.close();
      };
      const end = (ending: Ending, arg?: unknown) => {
        if (!live) return;
        cleanup();
        log(ending);
        if (ending == "onExit") emit("EXIT");
        const callback = o[ending] as ((arg?: unknown) => void) | undefined;
        if (callback) callback(arg);
      };
      /** A result, from the hosted page's message or from the result endpoint. */
      const settle = (r: any) =>
        r.error
          ? end("onError", serverError(r.error))
          : isGrantList(r.grants)
            ? end("onSuccess", r.grants)
            : end("onError", alterError("invalid_response"));
      // Protocol §4: asked when the popup reads closed without a result, and on the return page.
      const askServer = () =>
        w
          .fetch(origin + "/v1/connect/sessions/result", { headers: { Authorization: "Bearer " + token } })
          .then((response) => response.json())
          .then(
            (r) => {
              if (!live) return;
              if (!r || r.status != "pending") settle(r || {});
              // A provider page sent COOP: `closed` reads true while the popup is still open.
              else if (r.oauth_in_progress && polls++ < MAX_RESULT_POLLS)
                resultPoll = w.setTimeout(askServer, RESULT_POLL_MS);
              else end("onExit");
            },
            () => end("onExit"),
          );
      const onMessage = (e: MessageEvent) => {
        const d = e.data;
        if (e.origin !== origin || e.source !== popup || !d || d.nonce !== nonce) return;
        if (d.type == "alter:event" && isRelayedEvent(d.name)) emit(d.name, d.metadata);
        if (d.type == "alter:result") settle(d);
      };

      stop = cleanup;
      if (!popup) return askServer();
      w.addEventListener("message", onMessage);
      closedPoll = w.setInterval(() => {
        if (!popup.closed) return;
        w.clearInterval(closedPoll);
        log("closed");
        askServer();
      }, CLOSED_POLL_MS);
      emit("OPEN");
    };

    const close = () => {
      if (stop) stop();
    };

    return {
      open(o) {
        if (destroyed) return reject(o, "sdk_destroyed");
        if (!validOptions(o, true)) return reject(o, "invalid_options");
        const nonce = newNonce();
        const redirect = prefersRedirect(w);
        const mode = redirect ? "redirect" : "popup";
        let url: URL;
        try {
          url = new URL("/connect?" + new URLSearchParams({ token: o.token, nonce, mode }), origin);
          if (url.origin != origin) throw 0;
        } catch {
          return reject(o, "invalid_oauth_url");
        }
        if (stop) stop(!redirect);
        log("open", mode);
        if (redirect) {
          try {
            savePending(w, o.token, nonce);
          } catch {
            return reject(o, "redirect_error");
          }
          w.location.href = url.href;
          return;
        }
        // No await, promise or microtask before this call: it must stay in the click's task.
        const popup = openPopup(w, url.href);
        if (!popup) return reject(o, "popup_blocked");
        follow(o, o.token, popup, nonce);
      },
      close,
      destroy() {
        close();
        destroyed = true;
      },
      isOpen: () => !!stop,
      getVersion: () => __VERSION__,
      handleRedirect(o: HandleRedirectOptions) {
        if (destroyed) reject(o, "sdk_destroyed");
        else if (!validOptions(o)) reject(o, "invalid_options");
        else {
          const token = takePending(w);
          if (token) {
            close();
            follow(o, token);
            return true;
          }
        }
        return false;
      },
    };
  },
});
