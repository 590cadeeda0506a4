"""The Connect widget in Chromium: a person on the demo app connects an account.

The demo page (another origin than the vault) loads the widget from `{vault}/sdk/` and shows
`#grants`, `#error`, `#events` and `#exit`. Tests that need their own callbacks call the
widget with `page.evaluate`, which Chromium counts as a user gesture, like a click.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Browser, Error as PlaywrightError, Page, expect

GRANT_FIELDS = {"grant_id", "provider", "provider_name", "account_identifier", "timestamp",
                "operation", "scopes", "status"}

# Opens the Connect UI with this page's own instance; every callback lands in window.__calls.
OPEN = """(token) => {
  const calls = (window.__calls = []);
  const record = (kind) => (...args) => calls.push([kind, ...args]);
  window.__sdk = window.__sdk || AlterConnect.create();
  window.__sdk.open({ token, onSuccess: record("success"), onError: record("error"),
                      onExit: record("exit"), onEvent: record("event") });
}"""
ENDED = "() => (window.__calls || []).some((call) => call[0] !== 'event')"
# Remembers what the widget passes to window.open (to learn the nonce).
WATCH_WINDOW_OPEN = """() => {
  const open = window.open;
  window.open = function (...args) { window.__opened = args; return open.apply(this, args); };
}"""


def start(page: Page, token: str) -> Page:
    """Opens the widget's popup from `page` and returns it once it has loaded."""
    with page.expect_popup() as popup_info:
        page.evaluate(OPEN, token)
    popup = popup_info.value
    try:
        popup.wait_for_load_state()
    except PlaywrightError:
        assert popup.is_closed(), "only a page that already closed itself may fail to load"
    return popup


def outcome(page: Page, timeout: float = 20_000) -> list[list[Any]]:
    """Waits for the terminal callback; returns every callback in order."""
    page.wait_for_function(ENDED, timeout=timeout)
    return page.evaluate("window.__calls")


def names(calls: list[list[Any]]) -> list[str]:
    return [call[1] if call[0] == "event" else call[0] for call in calls]


def terminal(calls: list[list[Any]]) -> list[list[Any]]:
    return [call for call in calls if call[0] != "event"]


def consent(popup: Page, allow: bool = True) -> None:
    """On the sandbox provider's consent page: pick an account if asked, then Allow or Deny."""
    popup.wait_for_selector("#allow")
    accounts = popup.locator("input[name=account]")
    if accounts.count() and not popup.locator("input[name=account]:checked").count():
        accounts.first.check()
    popup.click("#allow" if allow else "#deny")


def assert_grant(grant: dict[str, Any], provider: str) -> None:
    assert GRANT_FIELDS <= grant.keys(), grant
    assert grant["provider"] == provider
    assert grant["operation"] in ("creation", "reauth")
    assert grant["status"] in ("active", "pending", "error")
    assert isinstance(grant["scopes"], list)


def new_device_page(browser: Browser, width: int, height: int) -> Page:
    """A page in a touch device's context (phone or tablet)."""
    context = browser.new_context(viewport={"width": width, "height": height},
                                  is_mobile=True, has_touch=True)
    return context.new_page()


# -- the popup flow ---------------------------------------------------------------------

TIMING = """() => {
  const t = (window.__timing = {});
  document.addEventListener("click", () => { t.click = t.click || performance.now(); }, true);
  const open = window.open;
  window.open = function (...args) { t.open = performance.now(); return open.apply(this, args); };
  document.addEventListener("DOMContentLoaded", () => {
    new MutationObserver(() => { t.success = t.success || performance.now(); })
      .observe(document.getElementById("grants"), { childList: true, characterData: true, subtree: true });
  });
}"""


def test_a_person_connects_in_a_desktop_popup_and_the_page_gets_grants(vault, page: Page):
    page.add_init_script(f"({TIMING})()")
    page.goto(vault.demo_url)

    with page.expect_popup() as popup_info:
        page.click("#connect")
    popup = popup_info.value
    consent(popup)

    expect(page.locator("#grants")).not_to_be_empty(timeout=20_000)
    grants = json.loads(page.inner_text("#grants"))
    assert len(grants) == 1
    assert_grant(grants[0], "sandbox")
    assert page.inner_text("#events") == "OPEN,PROVIDER_SELECTED,OAUTH_STARTED,OAUTH_COMPLETE"
    assert page.inner_text("#error") == ""
    if not popup.is_closed():
        popup.wait_for_event("close", timeout=5_000)  # the result page, or the widget, closes it

    timing = page.evaluate("window.__timing")
    print(f"\nclick → window.open: {timing['open'] - timing['click']:.1f} ms "
          f"(the demo fetches a session token first); "
          f"click → onSuccess: {timing['success'] - timing['click']:.0f} ms "
          f"(includes the automated consent click)")


def test_the_popup_is_a_centred_500_by_700_window_named_alter_connect(vault, page: Page):
    page.goto(vault.demo_url)
    page.evaluate(WATCH_WINDOW_OPEN)
    start(page, vault.mint(allowed_providers=["sandbox"])["session_token"])

    url, name, features = page.evaluate("window.__opened")
    screen = page.evaluate("[screenX, screenY, outerWidth, outerHeight]")
    assert url.startswith(f"{vault.url}/connect?") and "mode=popup" in url
    assert name == "alter-connect"
    left = round(screen[0] + (screen[2] - 500) / 2)
    top = round(screen[1] + (screen[3] - 700) / 2)
    assert features == f"popup,width=500,height=700,left={left},top={top}"


def test_denying_at_the_provider_reports_oauth_denied(vault, page: Page):
    page.goto(vault.demo_url)
    popup = start(page, vault.mint(allowed_providers=["sandbox"])["session_token"])
    consent(popup, allow=False)

    calls = outcome(page)
    [(kind, error)] = terminal(calls)
    assert kind == "error"
    assert error["code"] == "oauth_denied"
    assert isinstance(error["message"], str)
    assert page.evaluate("window.__sdk.isOpen()") is False


def test_closing_the_popup_before_choosing_a_provider_reports_exit(vault, page: Page):
    # At the picker no OAuth attempt has started, so the result endpoint says "pending" and
    # nothing in progress. (Closed during the provider's page, the widget cannot tell a closed
    # popup from a COOP-severed one and keeps asking for up to 10 minutes.)
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox", "sandbox-mail"])["session_token"]
    popup = start(page, token)
    popup.wait_for_selector('[data-provider="sandbox"]')
    popup.close()

    calls = outcome(page, timeout=10_000)
    assert names(calls) == ["OPEN", "EXIT", "exit"]


def test_the_demo_page_shows_exit_when_the_person_closes_the_picker(vault, page: Page):
    page.goto(vault.demo_url)
    page.check("#both")
    with page.expect_popup() as popup_info:
        page.click("#connect")
    popup = popup_info.value
    popup.wait_for_selector('[data-provider="sandbox"]')
    popup.close()

    expect(page.locator("#exit")).to_be_visible(timeout=10_000)
    assert page.inner_text("#events").endswith("EXIT")


def test_a_reused_session_token_reports_session_expired(vault, page: Page):
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox"])["session_token"]
    first = start(page, token)
    first.wait_for_selector("#allow")  # the Connect UI has consumed the token
    with first.expect_event("close"):
        page.evaluate("window.__sdk.close()")

    start(page, token)
    calls = outcome(page)
    [(kind, error)] = terminal(calls)
    assert (kind, error["code"]) == ("error", "session_expired")


@pytest.mark.parametrize("token", ["garbage", "cs_" + "A" * 43])
def test_a_garbage_session_token_reports_invalid_token(vault, page: Page, token: str):
    # The vault cannot know where to post for an unknown token; the widget learns the error
    # from the result endpoint once the person closes the error page.
    page.goto(vault.demo_url)
    popup = start(page, token)
    try:
        page.wait_for_function(ENDED, timeout=2_000)
    except PlaywrightError:
        popup.close()
    calls = outcome(page, timeout=10_000)
    [(kind, error)] = terminal(calls)
    assert (kind, error["code"]) == ("error", "invalid_token")


def test_open_outside_a_user_gesture_is_blocked_and_reported(vault, blocking_page: Page):
    token = vault.mint(allowed_providers=["sandbox"])["session_token"]
    # Runs on the load event: no click, no evaluate, so no user activation.
    blocking_page.add_init_script(
        "addEventListener('load', () => (" + OPEN + ")(" + json.dumps(token) + "));")
    blocking_page.goto(vault.demo_url)

    calls = outcome(blocking_page, timeout=10_000)
    assert calls == [["error", {"code": "popup_blocked", "message": "Popup blocked"}]]
    assert len(blocking_page.context.pages) == 1

    # The same blocker lets the demo's click → fetch().then() → open() chain through.
    with blocking_page.expect_popup() as popup_info:
        blocking_page.click("#connect")
    assert popup_info.value.url.startswith(vault.url)


def test_messages_from_the_wrong_origin_or_with_the_wrong_nonce_are_ignored(vault, page: Page):
    page.goto(vault.demo_url)
    page.evaluate(WATCH_WINDOW_OPEN)
    popup = start(page, vault.mint(allowed_providers=["sandbox"])["session_token"])
    popup.wait_for_selector("#allow")
    nonce = page.evaluate("new URL(window.__opened[0]).searchParams.get('nonce')")
    fake_grant = {"grant_id": "forged", "provider": "sandbox", "provider_name": "Sandbox",
                  "account_identifier": "mallory@example.com", "timestamp": "2025-01-01T00:00:00Z",
                  "operation": "creation", "scopes": [], "status": "active"}
    forged = {"type": "alter:result", "nonce": nonce, "grants": [fake_grant]}

    # The right nonce from the wrong origin and window (the app page itself).
    page.evaluate("(message) => window.postMessage(message, window.location.origin)", forged)
    # The right origin and window (the vault's page in the popup), the wrong nonce.
    popup.evaluate("([message, origin]) => window.opener.postMessage(message, origin)",
                   [{**forged, "nonce": "A" * 22}, vault.demo_url])
    popup.evaluate("([message, origin]) => window.opener.postMessage(message, origin)",
                   [{**forged, "nonce": None}, vault.demo_url])
    page.wait_for_timeout(500)
    assert terminal(page.evaluate("window.__calls")) == []

    consent(popup)
    calls = outcome(page)
    [(kind, grants)] = terminal(calls)
    assert kind == "success"
    assert grants[0]["grant_id"] != "forged"
    assert_grant(grants[0], "sandbox")


def test_open_after_destroy_reports_sdk_destroyed(vault, page: Page):
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox"])["session_token"]
    error = page.evaluate("""(token) => {
      const sdk = AlterConnect.create();
      sdk.destroy();
      let reported;
      sdk.open({ token, onSuccess() {}, onError: (e) => (reported = e) });
      return reported;
    }""", token)
    assert error == {"code": "sdk_destroyed", "message": "Sdk destroyed"}
    assert len(page.context.pages) == 1


def test_one_session_connects_two_providers(vault, page: Page):
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox", "sandbox-mail"])["session_token"]
    popup = start(page, token)

    popup.click('[data-provider="sandbox"]')
    consent(popup)
    popup.click('[data-provider="sandbox-mail"]')
    consent(popup)  # the last provider finishes the session: no Done needed

    calls = outcome(page)
    [(kind, grants)] = terminal(calls)
    assert kind == "success"
    assert sorted(g["provider"] for g in grants) == ["sandbox", "sandbox-mail"]
    for grant in grants:
        assert_grant(grant, grant["provider"])
    assert names(calls)[0] == "OPEN"
    assert names(calls).count("OAUTH_COMPLETE") == 2


def test_a_deny_at_one_provider_keeps_the_grants_already_made(vault, page: Page):
    # F20: in a multi-provider session one provider's deny is an event, not the end: the person
    # is back at the picker, can finish with what was connected, and the page gets those grants.
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox", "sandbox-mail"])["session_token"]
    popup = start(page, token)

    popup.click('[data-provider="sandbox"]')
    consent(popup)
    popup.click('[data-provider="sandbox-mail"]')
    consent(popup, allow=False)
    popup.wait_for_selector("#notice")
    assert terminal(page.evaluate("window.__calls")) == [], "a deny at one provider is not the end"
    popup.click("#done")

    calls = outcome(page)
    [(kind, grants)] = terminal(calls)
    assert kind == "success"
    assert [g["provider"] for g in grants] == ["sandbox"]
    [declined] = [call[2] for call in calls if call[0] == "event" and call[1] == "OAUTH_ERROR"]
    assert declined == {"provider": "sandbox-mail", "error_code": "oauth_denied"}


def test_a_provider_page_with_coop_still_ends_in_success(vault, page: Page):
    # Cross-Origin-Opener-Policy on the provider's page cuts window.opener and makes the
    # popup read `closed`; the widget finds the result through the result endpoint.
    vault.sandbox_control(coop=True)
    try:
        page.goto(vault.demo_url)
        popup = start(page, vault.mint(allowed_providers=["sandbox"])["session_token"])
        consent(popup)
        calls = outcome(page, timeout=30_000)
    finally:
        vault.reset_sandbox()
    [(kind, grants)] = terminal(calls)
    assert kind == "success"
    assert_grant(grants[0], "sandbox")


# -- phones and tablets -----------------------------------------------------------------

def test_a_phone_connects_through_the_full_page_redirect(vault, browser: Browser):
    page = new_device_page(browser, 390, 844)
    try:
        page.goto(vault.demo_url)
        started = time.monotonic()
        page.click("#connect")
        page.wait_for_url(f"{vault.url}/**")
        assert len(page.context.pages) == 1, "no popup on a phone"
        consent(page)

        page.wait_for_url(f"{vault.demo_url}/?alter_connect=complete*", timeout=20_000)
        # The demo page calls handleRedirect() on load.
        expect(page.locator("#grants")).not_to_be_empty(timeout=10_000)
        grants = json.loads(page.inner_text("#grants"))
        assert_grant(grants[0], "sandbox")
        assert page.evaluate("sessionStorage.getItem('alter-connect:pending')") is None
        assert page.evaluate("AlterConnect.create().handleRedirect({ onSuccess() {} })") is False
        print(f"\nphone: click → grants on the return page: {time.monotonic() - started:.2f} s "
              f"(includes the automated consent click)")
    finally:
        page.context.close()


def _first_flow(page: Page, vault) -> tuple[str, bool]:
    """Starts the widget on a touch device; returns the URL's mode and whether a popup opened."""
    page.goto(vault.demo_url)
    token = vault.mint(allowed_providers=["sandbox"])["session_token"]
    popups: list[Page] = []
    page.on("popup", lambda popup: popups.append(popup))
    # A context-wide watch: the popup's first request belongs to the popup's page.
    with page.context.expect_event("request", lambda r: "/connect?" in r.url) as request_info:
        try:
            page.evaluate(OPEN, token)
        except PlaywrightError as error:  # the redirect may tear the page down mid-evaluate
            assert "context was destroyed" in str(error) or "navigat" in str(error), error
    url = request_info.value.url
    assert url.startswith(f"{vault.url}/connect?")
    deadline = time.monotonic() + 5
    while not popups and not page.url.startswith(vault.url) and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    return ("redirect" if "mode=redirect" in url else "popup"), bool(popups)


@pytest.mark.parametrize("width,height,flow", [
    (820, 1180, "redirect"),  # tablet, portrait
    (1180, 820, "popup"),     # tablet, landscape
])
def test_a_tablet_gets_the_redirect_in_portrait_and_the_popup_in_landscape(
        vault, browser: Browser, width: int, height: int, flow: str):
    page = new_device_page(browser, width, height)
    try:
        assert page.evaluate("matchMedia('(pointer: coarse)').matches") is True
        mode, in_popup = _first_flow(page, vault)
        assert (mode, in_popup) == (flow, flow == "popup")
        if flow == "redirect":
            page.wait_for_url(f"{vault.url}/**")
            assert len(page.context.pages) == 1
    finally:
        page.context.close()
