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

/** A token is a non-empty string, a function or a thenable (see TokenSource); callbacks are functions. */
const validOptions = (o: any, needsToken?: boolean, t = o && o.token) =>
  o &&
  isFunction(o.onSuccess) &&
  (!needsToken || (t && (isString(t) || isFunction(t.then || t)))) &&
  [o.onError, o.onExit, o.onEvent].every((f) => f == null || isFunction(f));

/**
 * Hands `then` the session token: at once for a string, else when the promise settles. A
 * failure, or anything but a non-empty string, is handed on as a falsy value.
 */
const withToken = (source: string | PromiseLike<unknown>, then: (token?: string | false) => unknown) =>
  isString(source) ? then(source) : new Promise((r) => r(source)).then((t) => then(isString(t) && t), () => then());

/**
 * Builds the default export. `scriptURL` says where the bundle was loaded from (the UMD's
 * `document.currentScript`, the ESM's `import.meta.url`): a copy served from `/sdk/` on an
 * Alter Vault server talks to that server unless `baseURL` says otherwise.
 */
export const makeAlterConnect = (scriptURL: () => unknown): AlterConnectStatic => ({
  create(config = {}) {
    const w = window;
    const origin = originOf(config.baseURL ?? scriptURL(), config.baseURL == null);
    if (!origin) throw Error("AlterConnect: invalid baseURL");

    const log = (...args: unknown[]) => config.debug && console.log("[AlterConnect]", ...args);
    let destroyed: boolean | undefined;
    // Ends the running flow without a callback; `keepPopup` lets a new open() reuse the window.
    let stop: ((keepPopup?: boolean) => void) | undefined;

    /** Reports an error the flow cannot start with: to onError, or thrown when there is none. */
    const reject = (o: any, code: AlterErrorCode) => {
      const error = alterError(code);
      log(code);
      if (!o || !isFunction(o.onError)) throw Object.assign(Error(error.message), error);
      o.onError(error);
    };

    /** Whether open() or handleRedirect() must not run (reported as sdk_destroyed or invalid_options). */
    const refused = (o: any, needsToken?: boolean) =>
      (destroyed || !validOptions(o, needsToken)) && (reject(o, destroyed ? "sdk_destroyed" : "invalid_options"), true);

    /**
     * Follows one flow to exactly one of onSuccess, onError, onExit. A popup opened on the
     * waiting page (a token still to come) is sent to `urlOf(token)` once the token is known.
     */
    const follow = (o: Partial<OpenOptions>, source: string | PromiseLike<unknown>, popup?: Window, nonce?: string, urlOf?: (token: string) => string) => {
      // One timer at a time: the closed poll, then the result poll (browsers share their ids).
      let timer: any;
      let polls = 0;
      let token: string | false | undefined;

      const emit = (name: ConnectEventName, metadata?: unknown) => {
        log(name);
        o.onEvent && o.onEvent(name, metadataOf(metadata));
      };
      // The one cleanup, run on every way a flow ends (auth0-spa-js runPopup's pattern).
      const cleanup = (keepPopup?: boolean) => {
        stop = undefined;
        w.removeEventListener("message", onMessage);
        w.clearTimeout(timer);
        popup && !keepPopup && popup.close();
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
      // Closed before its token arrived, the popup never reached the Connect UI: the user left.
      const askServer = (): unknown =>
        token
          ? w
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
              )
          : end("onExit");
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
      if (popup) {
        w.addEventListener("message", onMessage);
        timer = w.setInterval(() => popup.closed && (w.clearTimeout(timer), askServer()), 500);
        emit("OPEN");
      }
      withToken(source, (t) =>
        !t
          ? end("onError", alterError("invalid_token"))
          : stop == cleanup && ((token = t), popup ? isString(source) || popup.location.replace(urlOf!(t)) : askServer()),
      );
    };

    const close = () => stop && stop();

    return {
      open(o) {
        if (refused(o, true)) return;
        // A function token is called first, so the app's fetch is on its way while the browser
        // builds the popup window (window.open holds the page for that long: ~100 ms in Chromium).
        const token = o.token;
        const source = isFunction(token) ? new Promise<string>((r) => r(token())) : token;
        const nonce = newNonce();
        const redirect = prefersRedirect(w);
        const mode = redirect ? "redirect" : "popup";
        // `origin` is a URL's origin (create() checked it): this is the Connect URL's href.
        const urlOf = (token: string) => origin + "/connect?" + new URLSearchParams({ token, nonce, mode });
        stop && stop(!redirect);
        log(mode);
        if (redirect) {
          return withToken(source, (token) => {
            if (!token) return reject(o, "invalid_token");
            try {
              savePending(w, token);
            } catch {
              return reject(o, "redirect_error");
            }
            w.location.assign(urlOf(token));
          });
        }
        // No await, promise or microtask before this call: it must stay in the click's task. A
        // token still to come opens the vault's waiting page now; follow() moves the popup on.
        const popup = openPopup(w, isString(source) ? urlOf(source) : origin + "/connect/wait");
        if (!popup) return reject(o, "popup_blocked");
        follow(o, source, popup, nonce, urlOf);
      },
      close,
      destroy() {
        close();
        destroyed = true;
      },
      isOpen: () => !!stop,
      getVersion: () => __VERSION__,
      handleRedirect(o: HandleRedirectOptions) {
        let token: string | null | undefined;
        if (refused(o) || !(token = takePending(w))) return false;
        close();
        follow(o, token);
        return true;
      },
    };
  },
});
