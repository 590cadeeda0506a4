"""F1 in Chromium: a Connect link handed to another person does not take them to the provider.

The attacker mints a session through the app (as any user of it can) and sends the link on. It
must not reach the provider's consent page on its own when opened in another browser without
the widget, from a foreign page (window.open or a link), from the app's own origin without the
widget's handshake, or directly. The widget's own flows (popup, phone redirect) are covered in
test_widget.py and must still run straight through.
"""

from __future__ import annotations

from urllib.parse import urlencode

from playwright.sync_api import Browser, Page, expect

WAIT_MS = 2_500  # longer than the page's 1 s wait for the opener's receipt


def link(vault, mode: str | None = "popup") -> str:
    """A forwarded Connect link: the URL the widget would open, or the bare connect_url."""
    minted = vault.mint(allowed_providers=["sandbox"])
    if mode is None:
        return minted["connect_url"]
    return f"{vault.url}/connect?" + urlencode({"token": minted["session_token"], "nonce": "n" * 22, "mode": mode})


def never_reaches_consent(page: Page) -> None:
    page.wait_for_timeout(WAIT_MS)
    urls = [p.url for p in page.context.pages]
    assert not any("/sandbox/oauth/authorize" in url for url in urls), urls


def foreign_origin(vault) -> str:
    """Another site than the demo app's and the vault's (localhost vs 127.0.0.1)."""
    return vault.url.replace("localhost", "127.0.0.1")


def test_a_link_opened_in_another_browser_without_the_opener_shows_the_interstitial(vault, browser: Browser):
    url = link(vault)
    victim = browser.new_context()
    try:
        page = victim.new_page()
        page.goto(url)
        expect(page.locator("#alter-unproven")).to_be_visible()
        expect(page.locator("#alter-unproven")).to_contain_text("Demo")
        expect(page.locator("#alter-unproven")).to_contain_text(vault.demo_url)
        never_reaches_consent(page)
        # The interstitial is a documented fallback: a person who started this themselves continues.
        page.click("#alter-unproven a")
        page.wait_for_selector("#allow")
    finally:
        victim.close()


def test_a_bare_connect_url_opened_directly_shows_the_interstitial(vault, page: Page):
    page.goto(link(vault, mode=None))
    expect(page.locator("#alter-unproven")).to_be_visible()
    never_reaches_consent(page)


def test_a_link_opened_from_a_foreign_page_with_window_open_is_refused(vault, page: Page):
    page.goto(foreign_origin(vault) + "/healthz")
    with page.expect_popup() as popup_info:
        page.evaluate("(url) => window.open(url, 'alter-connect', 'popup')", link(vault))
    popup = popup_info.value
    popup.wait_for_load_state()
    expect(popup.locator("h1")).to_have_text("This Connect link was opened from another site")
    never_reaches_consent(page)


def test_a_link_clicked_on_a_foreign_page_is_refused(vault, page: Page):
    page.goto(foreign_origin(vault) + "/healthz")
    page.evaluate("""(url) => {
      const a = Object.assign(document.createElement("a"), { href: url, id: "shared", textContent: "see my file" });
      document.body.append(a);
    }""", link(vault, mode="redirect"))
    page.click("#shared")
    expect(page.locator("h1")).to_have_text("This Connect link was opened from another site")
    never_reaches_consent(page)


def test_a_foreign_opener_that_hides_its_referrer_gets_no_handshake(vault, page: Page):
    # No Referer to refuse, and window.opener kept: the page's hello is posted with the demo app's
    # origin as targetOrigin, so the browser drops it at the foreign opener, and no echo comes.
    page.goto(foreign_origin(vault) + "/healthz")
    page.evaluate("""() => {
      const meta = Object.assign(document.createElement("meta"), { name: "referrer", content: "no-referrer" });
      document.head.append(meta);
    }""")
    with page.expect_popup() as popup_info:
        page.evaluate("(url) => window.open(url, 'alter-connect', 'popup')", link(vault))
    popup = popup_info.value
    expect(popup.locator("#alter-unproven")).to_be_visible()
    assert popup.evaluate("window.opener !== null"), "the opener was kept: only the handshake stopped it"
    never_reaches_consent(page)


def test_a_link_opened_on_the_apps_own_origin_without_the_widget_gets_no_handshake(vault, page: Page):
    # A link posted inside the app (chat, comments) opened as a popup: the opener has the right
    # origin, but no widget flow of that page opened this window, so nothing echoes the hello.
    page.goto(vault.demo_url)
    with page.expect_popup() as popup_info:
        page.evaluate("(url) => window.open(url, 'alter-connect', 'popup')", link(vault))
    popup = popup_info.value
    expect(popup.locator("#alter-unproven")).to_be_visible()
    never_reaches_consent(page)


def test_a_foreign_page_that_pre_opens_the_waiting_page_and_navigates_it_gets_nowhere(vault, page: Page):
    # The widget's own trick for a token still to come, played by another site with a forwarded
    # link: the navigation carries the foreign page as Referer, so the entry refuses it.
    page.goto(foreign_origin(vault) + "/healthz")
    with page.expect_popup() as popup_info:
        page.evaluate("(url) => { window.__w = window.open(url, 'alter-connect', 'popup'); }", f"{vault.url}/connect/wait")
    popup = popup_info.value
    popup.wait_for_load_state()
    expect(popup.locator("h1")).to_have_text("Connecting…")
    page.evaluate("(url) => window.__w.location.replace(url)", link(vault))
    expect(popup.locator("h1")).to_have_text("This Connect link was opened from another site")
    never_reaches_consent(page)
