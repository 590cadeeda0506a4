import { alterError, serverError } from "./errors";
import { isFunction, isGrantList, isRelayedEvent, isString, metadataOf } from "./messages";
import { openPopup } from "./popup";
import { prefersRedirect, savePending, takePending } from "./redirect";
import type { AlterConnectStatic, AlterErrorCode, ConnectEventName, HandleRedirectOptions, OpenOptions } from "./types";

declare const __VERSION__: string;


type Ending = "onSuccess" | "onError" | "onExit";

/** `origin` of an http(s) URL (with `/sdk/` in its path when `sdkOnly`), else undefined. */
const originOf = (url: unknown, sdkOnly?: boolean): string | undefined => {
  try {
    const u = new URL(url as string);
    if (/^https?:$/.test(u.protocol) && (!sdkOnly || u.pathname.includes("/sdk/"))) return u.origin;
  } catch {}
};

/** 160 random bits as five 32-bit words in decimal: 22–50 digits, practically always over 40. */
const newNonce = (): string => crypto.getRandomValues(new Uint32Array(5)).join("");

const validOptions = (o: any, needsToken?: boolean) =>
  o && isFunction(o.onSuccess) && (!needsToken || (isString(o.token) && o.token)) && [o.onError, o.onExit, o.onEvent].every((f) => f == null || isFunction(f));

/**
 * Builds the default export. `scriptURL` says where the bundle was loaded from (the UMD's
 * `document.currentScript`, the ESM's `import.meta.url`): a copy served from `/sdk/` on an
 * Alter Vault server talks to that server unless `baseURL` says otherwise.
 */
export const makeAlterConnect = (scriptURL: () => unknown): AlterConnectStatic => ({
  create(config = {}) {
    const w = window;
    const origin = config.baseURL != null ? originOf(config.baseURL) : originOf(scriptURL(), true);
    if (!origin) throw Error("AlterConnect: invalid baseURL");

    const log = (...args: unknown[]) => config.debug && console.log("[AlterConnect]", ...args);
    let destroyed: boolean | undefined;
    // Ends the running flow without a callback; `keepPopup` lets a new open() reuse the window.
    let stop: ((keepPopup?: boolean) => void) | undefined;

    /** Reports an error found before the flow starts: to onError, or thrown when there is none. */
    const reject = (o: any, code: AlterErrorCode) => {
      const error = alterError(code);
      log(code);
      if (!o || !isFunction(o.onError)) throw Object.assign(Error(error.message), error);
      o.onError(error);
    };

    /** Why open() or handleRedirect() must not run, if it must not. */
    const refusal = (o: any, needsToken?: boolean): AlterErrorCode | "" =>
      destroyed ? "sdk_destroyed" : validOptions(o, needsToken) ? "" : "invalid_options";

    /** Follows one flow to exactly one of onSuccess, onError, onExit. */
    const follow = (o: Partial<OpenOptions>, token: string, popup?: Window, nonce?: string) => {
      // One timer at a time: the closed poll, then the result poll (browsers share their ids).
      let timer: any;
      let polls = 0;

      const emit = (name: ConnectEventName, metadata?: unknown) => {
        log(name);
        o.onEvent && o.onEvent(name, metadataOf(metadata));
      };
      // The one cleanup, run on every way a flow ends (auth0-spa-js runPopup's pattern).
      const cleanup = (keepPopup?: boolean) => {
        stop = undefined;
        w.removeEventListener("message", onMessage);
        w.clearTimeout(timer);
        if (popup && !keepPopup) popup.close();
      };
      const end = (ending: Ending, arg?: unknown) => {
        const callback = o[ending] as ((arg?: unknown) => void) | undefined;
        if (stop == cleanup) {
          cleanup();
          log(ending);
          if (ending == "onExit") emit("EXIT");
          callback && callback(arg);
        }
      };
      /** A result, from the hosted page's message or from the result endpoint. */
      const settle = (r: any) =>
        // serverError(undefined) is invalid_response: a result needs an error or valid grants.
        r.error || !isGrantList(r.grants) ? end("onError", serverError(r.error)) : end("onSuccess", r.grants);
      // Protocol §4: asked when the popup reads closed without a result, and on the return page.
      const askServer = () =>
        w
          .fetch(origin + "/v1/connect/sessions/result", { headers: { Authorization: "Bearer " + token } })
          .then((response) => response.json())
          .then(
            (r) =>
              stop == cleanup &&
              // A provider page sent COOP: `closed` reads true while the popup is still open.
              ((r = r || {}).status != "pending"
                ? settle(r)
                : r.oauth_in_progress && polls++ < 600 // Protocol §4: while OAuth is in progress, for at most 10 minutes
                  ? (timer = w.setTimeout(askServer, 1000))
                  : end("onExit")),
            () => end("onExit"),
          );
      const onMessage = (e: MessageEvent) => {
        const d = e.data;
        if (e.origin !== origin || e.source !== popup || !d || d.nonce !== nonce) return;
        // Protocol §3: every message is echoed back as its receipt. The hosted page waits for the
        // echo of "alter:hello" before the flow proceeds (F1), and of events before it navigates.
        popup!.postMessage(d, origin);
        if (d.type == "alter:event" && isRelayedEvent(d.name)) emit(d.name, d.metadata);
        if (d.type == "alter:result") settle(d);
      };

      stop = cleanup;
      if (!popup) return askServer();
      w.addEventListener("message", onMessage);
      timer = w.setInterval(() => {
        if (!popup.closed) return;
        w.clearTimeout(timer);
        askServer();
      }, 500);
      emit("OPEN");
    };

    const close = () => stop && stop();

    return {
      open(o) {
        const refused = refusal(o, true);
        if (refused) return reject(o, refused);
        const nonce = newNonce();
        const redirect = prefersRedirect(w);
        const mode = redirect ? "redirect" : "popup";
        let url: string;
        try {
          url = new URL("/connect?" + new URLSearchParams({ token: o.token, nonce, mode }), origin).href;
        } catch {
          return reject(o, "invalid_oauth_url");
        }
        stop && stop(!redirect);
        log(mode);
        if (redirect) {
          try {
            savePending(w, o.token);
          } catch {
            return reject(o, "redirect_error");
          }
          return w.location.assign(url);
        }
        // No await, promise or microtask before this call: it must stay in the click's task.
        const popup = openPopup(w, url);
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
        const refused = refusal(o);
        if (refused) reject(o, refused);
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
