"""One small driver interface over the three browser engines the widget is tested in.

Chromium runs through Playwright (Debian's /usr/bin/chromium, its popup blocker on), Firefox ESR
through Marionette (PyPI `marionette-driver`, headless, popup blocker on), WebKitGTK through
Selenium and Debian's WebKitWebDriver driving MiniBrowser (needs an X display: scripts/test runs
the browser tests under `xvfb-run`). Every click is a real click of the engine's automation (a user
gesture); `js()` runs a function body (`arguments[0]`… are its arguments) in the page, which is no
gesture in Firefox and WebKit. Windows are the main page and the widget's popup.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

CHROMIUM = os.environ.get("ALTER_E2E_CHROMIUM", "/usr/bin/chromium")
FIREFOX = os.environ.get("ALTER_E2E_FIREFOX", "/usr/bin/firefox-esr")
WEBKIT_DRIVER = os.environ.get("ALTER_E2E_WEBKIT_DRIVER", "/usr/bin/WebKitWebDriver")
MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser"
ENGINES = ("chromium", "firefox", "webkit")
DESKTOP = (1280, 900)


class Engine:
    """The calls the cross-engine tests make. Subclasses drive one engine each."""

    name: str
    version: str

    def goto(self, url: str) -> None: raise NotImplementedError
    def click(self, css: str) -> None: raise NotImplementedError
    def js(self, body: str, *args: Any) -> Any: raise NotImplementedError
    def url(self) -> str: raise NotImplementedError
    def windows(self) -> list[Any]: raise NotImplementedError
    def switch(self, handle: Any) -> None: raise NotImplementedError
    def close_window(self) -> None: raise NotImplementedError
    def screenshot(self, path: Path) -> None: raise NotImplementedError
    def resize(self, width: int, height: int) -> None: raise NotImplementedError
    def quit(self) -> None: raise NotImplementedError

    def load_then(self, url: str, body: str) -> None:
        """Loads `url`, then runs `body` in it with no user gesture (no click, no activation)."""
        self.goto(url)
        # As a <script> of the page: its own globals are in scope in every engine.
        self.js("setTimeout(() => document.body.append(Object.assign(document.createElement('script'), { textContent: arguments[0] })), 0)", body)

    def pause(self, seconds: float) -> None:
        time.sleep(seconds)

    # -- built on the calls above ---------------------------------------------------------

    def wait(self, condition: Callable[[], Any], timeout: float = 20.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as error:  # a page mid-navigation answers nothing for a moment
                last_error = error
            self.pause(0.05)
        raise AssertionError(f"{self.name}: timed out after {timeout:.0f} s waiting for {what}"
                             + (f" (last error: {last_error})" if last_error else ""))

    def wait_js(self, body: str, *args: Any, timeout: float = 20.0) -> Any:
        return self.wait(lambda: self.js(body, *args), timeout, what=body)

    def wait_for(self, css: str, timeout: float = 20.0) -> None:
        self.wait_js("return !!document.querySelector(arguments[0])", css, timeout=timeout)

    def popup(self, main: Any, timeout: float = 10.0) -> Any:
        """Waits for a second window and switches to it."""
        handle = self.wait(lambda: next((h for h in self.windows() if h != main), None), timeout, "a popup")
        self.switch(handle)
        return handle

    def main(self) -> Any:
        """Closes every window but the first and switches to it. A popup may be closing itself
        (the finish page does) while this runs: then its handle is gone, and this tries again."""
        for attempt in range(5):
            handles = self.windows()
            try:
                for extra in handles[1:]:
                    self.switch(extra)
                    self.close_window()
                self.switch(handles[0])
                return handles[0]
            except Exception:
                if attempt == 4:
                    raise
                self.pause(0.3)


class PlaywrightChromium(Engine):
    name = "chromium"

    def __init__(self, playwright: Any) -> None:
        # Playwright turns the popup blocker off by default; a person's Chromium has it on.
        self._browser = playwright.chromium.launch(executable_path=CHROMIUM, ignore_default_args=["--disable-popup-blocking"])
        self.version = "Chromium " + self._browser.version
        self._new_context(*DESKTOP)

    def _new_context(self, width: int, height: int) -> None:
        self._context = self._browser.new_context(viewport={"width": width, "height": height})
        self._page = self._context.new_page()

    def pause(self, seconds: float) -> None:
        # Sync Playwright hands over events (new popups, closes) only inside its own calls.
        pages = self.windows()
        (pages[0].wait_for_timeout(seconds * 1000) if pages else time.sleep(seconds))

    def goto(self, url: str) -> None: self._page.goto(url)
    def click(self, css: str) -> None: self._page.click(css)
    # page.evaluate counts as a user gesture in Chromium (the other engines' js() does not): the
    # tests call the widget only from clicks, and load_then() for what must run without a gesture.
    def js(self, body: str, *args: Any) -> Any:
        return self._page.evaluate("(a) => (function () {" + body + "\n}).apply(null, a)", list(args))
    def load_then(self, url: str, body: str) -> None:
        self._context.add_init_script("addEventListener('load', () => { " + body + " });")
        self._page.goto(url)
    def url(self) -> str: return self._page.url
    def windows(self) -> list[Any]: return [p for p in self._context.pages if not p.is_closed()]
    def switch(self, handle: Any) -> None: self._page = handle
    def close_window(self) -> None: self._page.close()
    def screenshot(self, path: Path) -> None: self._page.screenshot(path=str(path))
    def resize(self, width: int, height: int) -> None:
        self._context.close()
        self._new_context(width, height)
    def main(self) -> Any:
        # A fresh context per test: no cookies or storage carried over.
        self._context.close()
        self._new_context(*DESKTOP)
        return self._page
    def quit(self) -> None:
        self._browser.close()


class MarionetteFirefox(Engine):
    name = "firefox"

    def __init__(self, profile_dir: Path) -> None:
        from marionette_driver.marionette import Marionette
        # marionette-driver turns the popup blocker off (dom.disable_open_during_load); a
        # person's Firefox has it on.
        self._m = Marionette(bin=FIREFOX, headless=True, prefs={"dom.disable_open_during_load": True},
                             gecko_log=str(profile_dir / "gecko.log"), startup_timeout=90)
        self._m.start_session()
        caps = self._m.session_capabilities
        self.version = f"Firefox {caps.get('browserVersion')}"
        self.resize(*DESKTOP)

    def goto(self, url: str) -> None: self._m.navigate(url)
    def click(self, css: str) -> None:
        from marionette_driver.by import By
        self._m.find_element(By.CSS_SELECTOR, css).click()
    def js(self, body: str, *args: Any) -> Any:
        # sandbox=None: the page's own globals (AlterConnect, window.__calls) are visible.
        return self._m.execute_script(body, script_args=list(args), sandbox=None, new_sandbox=False)
    def url(self) -> str: return self._m.get_url()
    def windows(self) -> list[Any]: return list(self._m.window_handles)
    def switch(self, handle: Any) -> None: self._m.switch_to_window(handle)
    def close_window(self) -> None: self._m.close()
    def screenshot(self, path: Path) -> None: path.write_bytes(self._m.screenshot(format="binary"))
    def resize(self, width: int, height: int) -> None:
        # A Firefox window is at least 500 px wide; a narrower viewport is a zoomed one (a phone
        # whose CSS pixels are several device pixels), so screen.width shrinks with it.
        self._m.set_pref("layout.css.devPixelsPerPx", "-1.0" if width >= 500 else str(round(1366 / width, 2)))
        self._m.set_window_rect(width=max(width, 500), height=height)
    def main(self) -> Any:
        handle = super().main()
        self._m.delete_all_cookies()
        self.resize(*DESKTOP)
        return handle
    def quit(self) -> None:
        self._m.delete_session()
        self._m.cleanup()


class SeleniumWebKit(Engine):
    name = "webkit"

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.webkitgtk.options import Options
        from selenium.webdriver.webkitgtk.service import Service
        if not os.environ.get("DISPLAY"):
            raise RuntimeError("WebKitGTK needs an X display: run the tests under xvfb-run (scripts/test does)")
        options = Options()
        options.binary_location = MINIBROWSER
        options.add_argument("--automation")
        self._d = webdriver.WebKitGTK(options=options, service=Service(executable_path=WEBKIT_DRIVER))
        self._d.set_page_load_timeout(30)
        self.version = f"WebKitGTK {self._d.capabilities.get('browserVersion')} (MiniBrowser)"
        self.resize(*DESKTOP)

    def goto(self, url: str) -> None: self._d.get(url)
    def click(self, css: str) -> None:
        from selenium.webdriver.common.by import By
        self._d.find_element(By.CSS_SELECTOR, css).click()
    def js(self, body: str, *args: Any) -> Any: return self._d.execute_script(body, *args)
    def url(self) -> str: return self._d.current_url
    def windows(self) -> list[Any]: return list(self._d.window_handles)
    def switch(self, handle: Any) -> None: self._d.switch_to.window(handle)
    def close_window(self) -> None: self._d.close()
    def screenshot(self, path: Path) -> None: self._d.save_screenshot(str(path))
    def resize(self, width: int, height: int) -> None: self._d.set_window_size(width, height)
    def main(self) -> Any:
        handle = super().main()
        self._d.delete_all_cookies()
        self.resize(*DESKTOP)
        return handle
    def quit(self) -> None: self._d.quit()


def launch(name: str, scratch: Path, playwright: Any = None) -> Engine:
    """Starts one engine; fails with what is missing (never skips)."""
    missing = {"chromium": CHROMIUM, "firefox": FIREFOX, "webkit": WEBKIT_DRIVER}[name]
    if not Path(missing).exists():
        package = {"chromium": "chromium", "firefox": "firefox-esr", "webkit": "webkit2gtk-driver"}[name]
        raise RuntimeError(f"{missing} not found: apt-get install {package}")
    if name == "chromium":
        return PlaywrightChromium(playwright)
    if name == "firefox":
        return MarionetteFirefox(scratch)
    return SeleniumWebKit()
