const PENDING = "alter-connect:pending";

/**
 * Phones (≤ 480 px wide) and touch tablets held in portrait get the full-page redirect flow.
 * Width is the smaller of the viewport and the screen: a mobile page without
 * `<meta name="viewport">` has a 980 px layout viewport on a 390 px phone.
 */
export const prefersRedirect = (w: Window, width = Math.min(w.innerWidth, w.screen.width)): boolean =>
  width <= 480 || (width <= 1024 && w.innerHeight > w.innerWidth && w.matchMedia("(pointer:coarse)").matches);

/** Saves the session token handleRedirect() needs on the return page. Throws when storage is unavailable. */
export const savePending = (w: Window, token: string): void => w.sessionStorage.setItem(PENDING, token);

/** Reads and removes the pending redirect flow; returns its session token, if any. */
export const takePending = (w: Window): string | null | undefined => {
  try {
    const storage = w.sessionStorage;
    const token = storage.getItem(PENDING);
    storage.removeItem(PENDING);
    return token;
  } catch {}
};

