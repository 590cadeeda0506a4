import type { ConnectEventName, Grant } from "./types";

export const isObject = (x: unknown): x is Record<string, any> => !!x && typeof x == "object" && !Array.isArray(x);
export const isString = (x: unknown): x is string => typeof x == "string";
export const isFunction = (x: unknown): x is Function => typeof x == "function";

/**
 * The grants come from the vault itself (origin, window and nonce checked), whose payload type
 * is fixed server-side; the widget checks what an app cannot do without: an object with a string
 * `grant_id`. (The fuller field-by-field check did not fit the size budget next to the promise token.)
 */
const isGrant = (g: any): g is Grant => isObject(g) && isString(g.grant_id);

/** A non-empty array of well-formed grants. */
export const isGrantList = (x: unknown): x is Grant[] => Array.isArray(x) && x.every(isGrant) && !!x[0];

/** Events the hosted page relays; OPEN and EXIT come from the widget itself. */
export const isRelayedEvent = (name: unknown): name is ConnectEventName =>
  isString(name) && /^(PROVIDER_SELECTED|OAUTH_(STARTED|COMPLETE|ERROR))$/.test(name);

/** Event metadata is always an object. */
export const metadataOf = (x: unknown): Record<string, any> => (isObject(x) ? x : {});
