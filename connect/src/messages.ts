import type { ConnectEventName, Grant } from "./types";

export const isObject = (x: unknown): x is Record<string, any> => !!x && typeof x == "object" && !Array.isArray(x);
export const isString = (x: unknown): x is string => typeof x == "string";
export const isFunction = (x: unknown): x is Function => typeof x == "function";

const isGrant = (g: any): g is Grant =>
  isObject(g) &&
  ["grant_id", "provider", "provider_name", "account_identifier", "timestamp"].every((k) => isString(g[k])) &&
  ["creation", "reauth"].includes(g.operation) &&
  ["active", "pending", "error"].includes(g.status) &&
  Array.isArray(g.scopes) &&
  g.scopes.every(isString) &&
  // A server that encodes an absent metadata as null still yields the documented shape.
  isObject(g.metadata || (delete g.metadata, {}));

/** A non-empty array of well-formed grants. */
export const isGrantList = (x: unknown): x is Grant[] => Array.isArray(x) && x.every(isGrant) && !!x[0];

/** Events the hosted page relays; OPEN and EXIT come from the widget itself. */
export const isRelayedEvent = (name: unknown): name is ConnectEventName =>
  isString(name) && /^(PROVIDER_SELECTED|OAUTH_(STARTED|COMPLETE|ERROR))$/.test(name);

/** Event metadata is always an object. */
export const metadataOf = (x: unknown): Record<string, any> => (isObject(x) ? x : {});
