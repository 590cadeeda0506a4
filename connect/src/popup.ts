const WIDTH = 500;
const HEIGHT = 700;

/**
 * Opens the Connect UI in a popup centred on the current window. Must run in the task of the
 * user's click: Safari and Firefox allow a popup only when it traces directly to the gesture.
 * Returns null or false when the browser blocked it (null, or a window that is already closed).
 */
export const openPopup = (w: Window, url: string): Window | null | false => {
  const left = (w.screenX + (w.outerWidth - WIDTH) / 2) | 0;
  const top = (w.screenY + (w.outerHeight - HEIGHT) / 2) | 0;
  // The window name is part of the protocol: a second open() reuses (navigates) the same popup.
  const popup = w.open(url, "alter-connect", "popup,width=500,height=700,left=" + left + ",top=" + top);
  return popup && !popup.closed && popup;
};
