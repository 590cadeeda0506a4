import { isObject, isString } from "./messages";
import type { AlterError, AlterErrorCode } from "./types";

// Short on purpose: every byte here ships in the 2 KB bundle.
const MESSAGES: Partial<Record<AlterErrorCode, string>> = {
  popup_blocked: "Popup blocked",
  invalid_options: "Invalid options",
  sdk_destroyed: "SDK destroyed",
  invalid_response: "Invalid response",
  redirect_error: "Storage unavailable",
  invalid_oauth_url: "Invalid Connect URL",
};

/** An error the widget detects itself. */
export const alterError = (code: AlterErrorCode): AlterError => ({ code, message: MESSAGES[code]! });

/** An error reported by the server (message or result endpoint), reduced to the AlterError shape. */
export const serverError = (e: any): AlterError =>
  e && isString(e.code)
    ? { code: e.code, message: isString(e.message) ? e.message : e.code, ...(isObject(e.details) && { details: e.details }) }
    : alterError("invalid_response");
