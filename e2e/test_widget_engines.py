"""The widget and the hosted Connect pages in three engines: Chromium, Firefox ESR and WebKitGTK.

Each test runs once per engine (e2e/engines.py: Playwright, Marionette, Selenium + WebKitWebDriver),
every popup blocker on, as a person's browser has it. The widget is only ever called from a real
click (a user gesture), except where a test wants no gesture. Screenshots of the hosted pages and
the sandbox consent page land in e2e/.artifacts/engines/<engine>/ (not committed).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator

import pytest

from engines import ENGINES, Engine, launch

ARTIFACTS = Path(__file__).resolve().parent / ".artifacts" / "engines"

# Measured (issue 19): WebKit blocks window.open after fetch().then(); Chromium and Firefox allow
# it within their user-activation windows. The seeds' pattern therefore needs the recovery there.
SEEDS_PATTERN_BLOCKED = {"webkit"}

# A test button (#t-open) whose click calls this page's own widget instance; every callback lands
# in window.__calls, and window.open's arguments in window.__opened. arguments[0] is the click's
# call: "string" (window.__token), "seeds" (the seeds' fetch().then() chain) or "retry" (open()
# again with the options of the last call, as the README's recovery says).
INSTALL = """
  const calls = (window.__calls = []);
  const record = (kind) => (...args) => calls.push([kind, ...args]);
  const sdk = (window.__sdk = AlterConnect.create());
  const open = window.open;
  window.open = function (...args) { (window.__opened = window.__opened || []).push(args); return open.apply(this, args); };
  const go = (options) => { window.__options = options; sdk.open(options); };
  const callbacks = { onSuccess: record("success"), onError: record("error"), onExit: record("exit"), onEvent: record("event") };
  const button = Object.assign(document.createElement("button"), { id: "t-open", textContent: "Open (test)" });
  document.body.prepend(button);
  const how = arguments[0];
  button.addEventListener("click", () => {
    if (how === "string") go({ token: window.__token, ...callbacks });
    if (how === "seeds") fetch("/api/connect-session").then((r) => r.json())
      .then(({ sessionToken }) => go({ token: sessionToken, ...callbacks }));
  });
  const retry = Object.assign(document.createElement("button"), { id: "t-retry", textContent: "Retry (test)" });
  document.body.prepend(retry);
  retry.addEventListener("click", () => sdk.open(window.__options));
"""
TERMINAL = "return (window.__calls || []).filter((c) => c[0] !== 'event')"


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    scratch = Path(tempfile.mkdtemp(prefix=f"alter-{request.param}-"))
    try:
        # Chromium shares the session's Playwright (conftest.py): one sync Playwright per process.
        playwright = request.getfixturevalue("playwright") if request.param == "chromium" else None
        launched = launch(request.param, scratch, playwright)
    except Exception as error:
        pytest.fail(f"{request.param} could not start: {error}", pytrace=False)
    (ARTIFACTS / launched.name).mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / launched.name / "version.txt").write_text(launched.version + "\n")
    yield launched
    launched.quit()
    shutil.rmtree(scratch, ignore_errors=True)


@pytest.fixture
def browser(engine: Engine, vault, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """The engine with one window, no cookies, desktop size; on failure, a screenshot per window."""
    engine.main()
    # Carried on the test's report, so the run's summary names it under pytest-xdist too (conftest.py).
    request.node.user_properties.append(("browser_engine", engine.version))
    yield engine
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        folder = ARTIFACTS / engine.name / "failed"
        folder.mkdir(parents=True, exist_ok=True)
        for index, handle in enumerate(engine.windows()):
            try:
                engine.switch(handle)
                engine.screenshot(folder / f"{request.node.name}-{index}.png")
            except Exception as error:
                print(f"screenshot of window {index} failed: {error}")


def shot(browser: Engine, name: str) -> None:
    browser.screenshot(ARTIFACTS / browser.name / f"{name}.png")


def consent(browser: Engine, allow: bool = True, screenshot: str | None = None) -> None:
    """On the sandbox consent page (current window): pick an account if asked, then Allow or Deny."""
    browser.wait_for("#allow")
    browser.js("""const a = document.querySelector("input[name=account]");
                  if (a && !document.querySelector("input[name=account]:checked")) a.checked = true;""")
    if screenshot:
        shot(browser, screenshot)
    browser.click("#allow" if allow else "#deny")


def demo_grants(browser: Engine, main: Any) -> list[dict[str, Any]]:
    browser.switch(main)
    text = browser.wait_js("return document.getElementById('grants').textContent")
    return json.loads(text)


def terminal(browser: Engine, count: int = 1, timeout: float = 20.0) -> list[list[Any]]:
    """Waits for `count` terminal callbacks (one per open()); returns them."""
    return browser.wait(lambda: (calls := browser.js(TERMINAL)) and len(calls) >= count and calls, timeout, f"{count} terminal callbacks")


def test_the_demo_connects_with_a_promise_token_through_the_waiting_page(browser: Engine, vault):
    browser.goto(vault.demo_url)
    main = browser.windows()[0]
    browser.js(INSTALL, "none")  # only the window.open watch is used here
    browser.click("#connect")
    browser.popup(main)
    # F1: the popup was navigated by the opener from the waiting page; its hello must still be
    # echoed at the demo's exact origin, or the flow page would stop at the interstitial.
    consent(browser, screenshot="sandbox-consent")
    grants = demo_grants(browser, main)
    assert [g["provider"] for g in grants] == ["sandbox"]
    assert isinstance(grants[0]["grant_id"], str)
    assert browser.js("return document.getElementById('events').textContent") == \
        "OPEN,PROVIDER_SELECTED,OAUTH_STARTED,OAUTH_COMPLETE"
    assert browser.js("return document.getElementById('error').textContent") == ""
    [(url, name, _features)] = browser.js("return window.__opened")
    assert (url, name) == (f"{vault.url}/connect/wait", "alter-connect")
    browser.wait(lambda: len(browser.windows()) == 1, 10, "the popup to close")


def test_the_seeds_fetch_then_pattern_opens_or_is_blocked_and_recovers_on_the_next_click(browser: Engine, vault):
    browser.goto(vault.demo_url)
    main = browser.windows()[0]
    browser.js(INSTALL, "seeds")
    browser.click("#t-open")
    if browser.name in SEEDS_PATTERN_BLOCKED:
        assert terminal(browser) == [["error", {"code": "popup_blocked", "message": "Popup blocked"}]]
        assert len(browser.windows()) == 1
        # The recovery: the same options (same, unused token) from the person's next click.
        browser.click("#t-retry")
    browser.popup(main)
    consent(browser)
    browser.switch(main)
    calls = terminal(browser, count=2 if browser.name in SEEDS_PATTERN_BLOCKED else 1)
    assert [c[0] for c in calls][-1] == "success", calls
    assert calls[-1][1][0]["provider"] == "sandbox"


def test_open_outside_a_click_reports_popup_blocked_and_the_demos_retry_button_connects(browser: Engine, vault):
    # The demo's own options, called on load: no gesture, so every engine blocks the popup.
    browser.load_then(vault.demo_url, "alterConnect.open(options)")
    main = browser.windows()[0]
    browser.wait_js("return document.getElementById('error').textContent === 'popup_blocked'")
    assert len(browser.windows()) == 1
    assert browser.js("return document.getElementById('blocked').hidden") is False
    browser.click("#retry")
    browser.popup(main)
    consent(browser)
    assert [g["provider"] for g in demo_grants(browser, main)] == ["sandbox"]


def test_closing_the_popup_at_the_picker_reports_exit(browser: Engine, vault):
    browser.goto(vault.demo_url)
    main = browser.windows()[0]
    browser.click("#both")
    browser.click("#connect")
    browser.popup(main)
    browser.wait_for('[data-provider="sandbox"]')
    shot(browser, "hosted-picker")
    browser.close_window()
    browser.switch(main)
    browser.wait_js("return !document.getElementById('exit').hidden", timeout=10)
    assert browser.js("return document.getElementById('events').textContent").endswith("EXIT")
    assert browser.js("return document.getElementById('grants').textContent") == ""


def test_messages_from_the_wrong_origin_or_with_the_wrong_nonce_are_ignored(browser: Engine, vault):
    browser.goto(vault.demo_url)
    main = browser.windows()[0]
    browser.js(INSTALL, "string")
    browser.js("window.__token = arguments[0]", vault.mint(allowed_providers=["sandbox"])["session_token"])
    browser.click("#t-open")
    nonce = browser.js("return new URL(window.__opened[0][0]).searchParams.get('nonce')")
    fake = {"grant_id": "forged", "provider": "sandbox", "provider_name": "Sandbox",
            "account_identifier": "mallory@example.com", "timestamp": "2025-01-01T00:00:00Z",
            "operation": "creation", "scopes": [], "status": "active"}
    forged = {"type": "alter:result", "nonce": nonce, "grants": [fake]}
    # The right nonce from the wrong origin and window (the app page itself).
    browser.js("window.postMessage(arguments[0], location.origin)", forged)
    browser.popup(main)
    browser.wait_for("#allow")
    # The right origin and window (the vault's page in the popup), the wrong nonce.
    browser.js("window.opener.postMessage(arguments[0], arguments[1])", {**forged, "nonce": "A" * 22}, vault.demo_url)
    browser.switch(main)
    browser.js("return new Promise((resolve) => setTimeout(resolve, 500))")
    assert browser.js(TERMINAL) == []
    popup = next(h for h in browser.windows() if h != main)
    browser.switch(popup)
    consent(browser)
    browser.switch(main)
    [(kind, grants)] = terminal(browser)
    assert kind == "success"
    assert grants[0]["grant_id"] != "forged"


def test_a_narrow_window_connects_through_the_redirect_and_handle_redirect(browser: Engine, vault):
    browser.resize(400, 800)
    browser.goto(vault.demo_url)
    assert browser.js("return Math.min(innerWidth, screen.width)") <= 480
    browser.click("#connect")  # the demo's promise token: the redirect waits for it
    browser.wait(lambda: browser.url().startswith(vault.url), 10, "the page to leave for the vault")
    assert len(browser.windows()) == 1, "no popup in the redirect flow"
    consent(browser)
    browser.wait(lambda: browser.url().startswith(f"{vault.demo_url}/?alter_connect=complete"), 20, "the return page")
    grants = json.loads(browser.wait_js("return document.getElementById('grants').textContent"))
    assert [g["provider"] for g in grants] == ["sandbox"]
    assert browser.js("return sessionStorage.getItem('alter-connect:pending')") is None


def test_the_hosted_pages_render_the_waiting_page_and_the_interstitial(browser: Engine, vault):
    browser.goto(f"{vault.url}/connect/wait")
    assert browser.js("return document.querySelector('h1').textContent") == "Connecting…"
    shot(browser, "hosted-waiting")
    # A bare connect_url opened directly: the first-load interstitial (its script ran: revealed).
    browser.goto(vault.mint(allowed_providers=["sandbox"])["connect_url"])
    browser.wait_js("const s = document.getElementById('alter-unproven'); return s && !s.hidden")
    assert "Demo" in browser.js("return document.getElementById('alter-unproven').textContent")
    shot(browser, "hosted-interstitial")
    browser.click("#alter-unproven a")
    consent(browser)
    # The session's return_url gets the browser back with the status marker only.
    browser.wait(lambda: browser.url().startswith(f"{vault.demo_url}/?alter_connect=complete"), 20, "the return page")
