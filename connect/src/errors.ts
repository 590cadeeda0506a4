import { isObject, isString } from "./messages";
import type { AlterError, AlterErrorCode } from "./types";

/**
 * An error the widget detects itself. Its message is its code in words ("popup_blocked" →
 * "Popup blocked"): a table of sentences would cost a tenth of the bundle's size budget.
 */
export const alterError = (code: AlterErrorCode): AlterError => ({
  code,
  message: code[0].toUpperCase() + code.slice(1).replace(/_/g, " "),
});

/** An error reported by the server (message or result endpoint), reduced to the AlterError shape. */
export const serverError = (e: any): AlterError =>
  e && isString(e.code)
    ? { code: e.code, message: isString(e.message) ? e.message : e.code, ...(isObject(e.details) && { details: e.details }) }
    : alterError("invalid_response");
