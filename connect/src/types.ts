// The public types of @alter-ai/connect. dist/index.d.ts is generated from this file alone,
// so it is the package's type API: review changes here like code (test/types.test-d.ts pins it).

/** Configuration for {@link AlterConnectStatic.create}. */
export interface AlterConnectConfig {
  /** Log lifecycle events with `console.log("[AlterConnect]", …)`. Default `false`. */
  debug?: boolean;
  /**
   * The Alter Vault server, e.g. `"https://vault.example.com"` (reduced to its origin).
   * Optional when the UMD script is loaded from that server's `/sdk/` path; otherwise required.
   */
  baseURL?: string;
}

/** One grant per provider the user authorized in the session. */
export interface Grant {
  grant_id: string;
  provider: string;
  provider_name: string;
  account_identifier: string;
  timestamp: string;
  operation: "creation" | "reauth";
  scopes: string[];
  status: "active" | "pending" | "error";
  metadata?: {
    account_display_name?: string;
    account_email?: string;
    [key: string]: any;
  };
}

/** Alias of {@link Grant}, the name used in parts of the docs. */
export type Connection = Grant;

/** Every error code the widget reports. */
export type AlterErrorCode =
  | "popup_blocked"
  | "invalid_token"
  | "session_expired"
  | "oauth_denied"
  | "oauth_provider_error"
  | "invalid_options"
  | "sdk_destroyed"
  | "invalid_response"
  | "redirect_error"
  | "invalid_oauth_url";

/** The object passed to `onError`. */
export interface AlterError {
  code: AlterErrorCode;
  message: string;
  details?: Record<string, any>;
}

/** Names passed to `onEvent`, in the order they can occur. */
export type ConnectEventName = "OPEN" | "PROVIDER_SELECTED" | "OAUTH_STARTED" | "OAUTH_COMPLETE" | "OAUTH_ERROR" | "EXIT";

/**
 * A session token minted by the backend (`POST /v1/connect/sessions`, single use), a promise of
 * one, or a function returning either (called once, inside `open()`). With a promise or a
 * function the popup opens at once, in the click's task, on the vault's "Connecting…" page and
 * moves on when the token arrives: no browser's popup blocker loses it to the wait.
 */
export type TokenSource = string | PromiseLike<string> | (() => string | PromiseLike<string>);

/** The argument to `open()`. */
export interface OpenOptions {
  /** The session token, or a promise of it: see {@link TokenSource}. A promise that fails, or gives no string, ends in `onError` `invalid_token`. */
  token: TokenSource;
  /** The flow finished: one grant per provider authorized. */
  onSuccess: (grants: Grant[]) => void;
  /** The user closed the popup without finishing. Not fired on the redirect flow. */
  onExit?: () => void;
  /** Any failure. Without it, errors detected inside `open()` are thrown instead. */
  onError?: (error: AlterError) => void;
  /** Lifecycle / analytics events. */
  onEvent?: (eventName: ConnectEventName, metadata: Record<string, any>) => void;
}

/** The argument to `handleRedirect()` on the page named by the session's `return_url`. */
export type HandleRedirectOptions = Pick<OpenOptions, "onSuccess" | "onError" | "onExit">;

/** An instance returned by `AlterConnect.create()`. */
export interface AlterConnectInstance {
  /** Open the Connect UI: a popup on desktop, a full-page redirect on phones and portrait tablets. Call it synchronously inside the click handler. */
  open(options: OpenOptions): void;
  /** Close the popup and stop following the flow. Fires no callback. */
  close(): void;
  /** `close()`, then refuse further use with `sdk_destroyed`. */
  destroy(): void;
  /** Whether a flow started by `open()` (or `handleRedirect()`) is still running. */
  isOpen(): boolean;
  /** The SDK version, e.g. `"0.1.0"`. */
  getVersion(): string;
  /** Finish a redirect flow on the return page. Returns whether a result was pending; callbacks fire asynchronously. */
  handleRedirect(options: HandleRedirectOptions): boolean;
}

/** The default export. */
export interface AlterConnectStatic {
  create(config?: AlterConnectConfig): AlterConnectInstance;
}

/** A provider as listed by the server. The widget itself never returns one. */
export interface Provider {
  id: string;
  name: string;
  description: string;
  category: string;
  logo_url: string;
}
