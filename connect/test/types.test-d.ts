// Type tests for the shipped dist/index.d.ts, checked by `tsc -p test` in build.sh.
// Every `@ts-expect-error` line must stay an error: if one compiles, the API got looser.
import AlterConnect, {
  type AlterConnectConfig,
  type AlterConnectInstance,
  type AlterError,
  type AlterErrorCode,
  type Connection,
  type Grant,
  type OpenOptions,
  type Provider,
  type TokenSource,
} from "../dist/index";

const config: AlterConnectConfig = { debug: true, baseURL: "http://localhost:4000" };
const sdk: AlterConnectInstance = AlterConnect.create(config);
AlterConnect.create();
AlterConnect.create({});

// The seeds' call, verbatim in shape: a .then() chain, callbacks typed by inference.
fetch("/api/connect-session")
  .then((r) => r.json())
  .then(({ sessionToken }: { sessionToken: string }) => {
    sdk.open({
      token: sessionToken,
      onSuccess: (connections) => {
        const first: Connection = connections[0];
        const provider: string = first.provider;
        const scopes: string[] = first.scopes;
        const email: string | undefined = first.metadata?.account_email;
        if (first.operation === "reauth" && first.status === "active") console.log(provider, scopes, email);
      },
      onError: (error) => {
        const code: AlterErrorCode = error.code;
        const message: string = error.message;
        const details: Record<string, any> | undefined = error.details;
        console.log(code, message, details);
      },
      onExit: () => {},
      onEvent: (name, metadata) => console.log(name.toLowerCase(), metadata.provider),
    });
  });

// Callbacks written with the seeds' wider parameter types still fit.
const seedStyle: OpenOptions = {
  token: "cs_x",
  onSuccess: (grants: Grant[]) => grants,
  onEvent: (eventName: string, metadata: any) => [eventName, metadata],
  onError: (error: { code: string; message: string }) => error,
};
sdk.open(seedStyle);

// The recommended call: a token still to come, so the popup opens in the click's own task.
sdk.open({
  token: fetch("/api/connect-session").then((r) => r.json()).then((s: { sessionToken: string }) => s.sessionToken),
  onSuccess: (grants) => grants[0].grant_id,
});
sdk.open({ token: () => Promise.resolve("cs_x"), onSuccess() {} });
sdk.open({ token: () => "cs_x", onSuccess() {} });
const source: TokenSource = Promise.resolve("cs_x");
console.log(source);

const isOpen: boolean = sdk.isOpen();
const version: string = sdk.getVersion();
const pending: boolean = sdk.handleRedirect({ onSuccess: (grants) => grants.map((g) => g.grant_id) });
sdk.handleRedirect({ onSuccess() {}, onError(e) { e.code; }, onExit() {} });
sdk.close();
sdk.destroy();
console.log(isOpen, version, pending);

const provider: Provider = { id: "google", name: "Google", description: "", category: "email", logo_url: "" };
const error: AlterError = { code: "popup_blocked", message: "Popup blocked" };
const errorWithDetails: AlterError = { code: "oauth_provider_error", message: "m", details: { error: "server_error" } };
// F20: a provider's error in a multi-provider session is an event, not the end of the flow.
const providerError: Parameters<NonNullable<OpenOptions["onEvent"]>>[0] = "OAUTH_ERROR";
console.log(provider, error, errorWithDetails, providerError);

// ---- must stay errors ----

// @ts-expect-error token is required
sdk.open({ onSuccess() {} });
// @ts-expect-error onSuccess is required
sdk.open({ token: "cs_x" });
// @ts-expect-error open() needs options
sdk.open();
// @ts-expect-error the token is a string, a promise of one or a function returning either
sdk.open({ token: 42, onSuccess() {} });
// @ts-expect-error a promise of something else than a string
sdk.open({ token: Promise.resolve(42), onSuccess() {} });
// @ts-expect-error a function returning something else than a string
sdk.open({ token: () => ({ sessionToken: "cs_x" }), onSuccess() {} });
// @ts-expect-error unknown options are typos
sdk.open({ token: "cs_x", onSuccess() {}, onClose() {} });
// @ts-expect-error onSuccess receives Grant[], not one Grant
sdk.open({ token: "cs_x", onSuccess: (g: Grant) => g });
// @ts-expect-error baseURL is a string
AlterConnect.create({ baseURL: new URL("http://localhost:4000") });
// @ts-expect-error unknown config fields are typos
AlterConnect.create({ debugg: true });
// @ts-expect-error handleRedirect needs onSuccess
sdk.handleRedirect({});
// @ts-expect-error open() returns nothing to chain on
sdk.open(seedStyle).then(() => {});

const operationTypo: Grant = {
  grant_id: "g",
  provider: "google",
  provider_name: "Google",
  account_identifier: "a@b.c",
  timestamp: "2025-01-01T00:00:00Z",
  // @ts-expect-error operation is "creation" | "reauth"
  operation: "create",
  scopes: [],
  status: "active",
};
// @ts-expect-error status is "active" | "pending" | "error"
const statusTypo: Grant["status"] = "revoked";
// @ts-expect-error scopes is string[]
const scopesTypo: Grant["scopes"] = "email profile";
// @ts-expect-error error codes are a closed union
const codeTypo: AlterErrorCode = "popup_block";
// @ts-expect-error AlterError has code and message
const errorWithoutMessage: AlterError = { code: "popup_blocked" };
// @ts-expect-error the default export has no open(): create an instance first
AlterConnect.open({ token: "cs_x", onSuccess() {} });
// @ts-expect-error event names are a closed union
const eventTypo: Parameters<NonNullable<OpenOptions["onEvent"]>>[0] = "CLOSED";
console.log(operationTypo, statusTypo, scopesTypo, codeTypo, errorWithoutMessage, eventTypo);
