"""The developer portal (/portal) in Chromium, as an operator uses it: sign in, create an app,
set up the sandbox provider, mint a key, connect an account through the demo app, see the
grant, revoke it, read the audit entry, export CSV; and the guards: CSRF from another origin,
a wrong password throttled, an expired session, XSS attempts rendered inert.

Screenshots of the main pages go to e2e/.artifacts/portal/ (gitignored)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import struct
import subprocess
import uuid
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from conftest import ARTIFACTS, alter_cli, http

SHOTS = ARTIFACTS / "portal"
# A sign-in runs scrypt (32 MiB, by design slow); on a loaded CI machine with a debug build
# that can take seconds.
expect.set_options(timeout=20_000)
XSS = "\"'><img src=x onerror=\"window.__xss=1\"><script>window.__xss=1</script>"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def png(width: int = 4, height: int = 4, text: bytes = b"") -> bytes:
    """A small red PNG; `text` goes into a tEXt chunk (metadata the portal must strip)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + b"\xcc\x22\x22" * width for _ in range(height))
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    if text:
        body += chunk(b"tEXt", b"Comment\x00" + text)
    return b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def sign_in(page: Page, vault, email: str | None = None, password: str | None = None) -> None:
    page.goto(f"{vault.url}/portal/login")
    page.fill("#email", email or vault.portal_email)
    page.fill("#password", password or vault.portal_password)
    page.click("#sign-in")


@pytest.fixture(scope="module")
def operator(browser: Browser, vault):
    """A browser context signed in as the demo operator, for the module (a sign-in runs scrypt)."""
    assert vault.portal_email and vault.portal_password, "alter demo printed no Portal: line"
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, vault)
    expect(page.locator("h1")).to_have_text("Apps", timeout=30_000)
    yield page
    context.close()


def create_app(page: Page, vault, name: str, website: str = "") -> str:
    page.goto(f"{vault.url}/portal")
    page.fill("#name", name)
    page.fill("#website_url", website)
    page.click("#create-app")
    match = re.search(r"/portal/apps/([0-9a-f-]{36})", page.url)
    assert match, page.url
    return match.group(1)


def test_an_operator_sets_up_an_app_connects_an_account_and_revokes_it(operator: Page, vault, browser: Browser):
    page = operator
    shot(page, "apps")
    page.emulate_media(color_scheme="dark")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(20, 20, 23)"
    shot(page, "apps-dark")
    page.emulate_media(color_scheme="light")
    # Keyboard: the first Tab reaches the skip link, which leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    # An app of the operator's own, with the sandbox provider and a key.
    app_id = create_app(page, vault, f"Story {uuid.uuid4().hex[:6]}", vault.demo_url)
    expect(page.locator(".notice")).to_have_text("Saved.")
    page.click("nav >> text=Providers")
    page.fill("#q", "sandbox")
    page.click("button:has-text('Search')")
    expect(page.locator("tbody tr")).not_to_have_count(0)
    assert all("sandbox" in row.lower() for row in page.locator("tbody tr").all_inner_texts())
    page.click("tbody a:has-text('Sandbox')")
    redirect_uri = page.input_value("#redirect-uri")
    assert redirect_uri == f"{vault.url}/oauth/callback/sandbox"
    page.fill("#client_id", "portal-story-client")
    page.fill("#client_secret", "portal-story-secret")
    page.click("#save-provider")
    expect(page.locator(".notice")).to_have_text("The provider is set up.")
    assert page.input_value("#client_secret") == ""  # write-only: never rendered back
    assert "portal-story-secret" not in page.content()
    shot(page, "provider")

    page.click("nav >> text=Keys")
    page.click("#create-key")
    key = page.input_value("#key-value")
    assert key.startswith("alter_rk_")
    shot(page, "key-created")
    page.goto(f"{vault.url}/portal/apps/{app_id}/keys")
    assert key not in page.content() and key[:15] in page.content()
    status, body = http("POST", f"{vault.url}/v1/connect/sessions",
                        {"allowed_origin": vault.demo_url, "allowed_providers": ["sandbox"]},
                        headers={"Authorization": f"Bearer {key}"})
    assert status == 201, body
    page.reload()
    expect(page.locator("tbody tr").first).not_to_contain_text("never")  # last use recorded

    # Brand the demo app (its display name stays: other tests read it), connect through it.
    page.goto(f"{vault.url}/portal")
    page.click("tbody a:has-text('Demo app')")
    demo_app = re.search(r"/portal/apps/([0-9a-f-]{36})", page.url).group(1)
    page.fill("#accent_color", "#ffff00")  # 1.07:1 against white: refused
    page.click("#save-branding")
    expect(page.locator(".error")).to_contain_text("contrast")
    page.fill("#accent_color", "#1f4fbf")
    page.set_input_files("#logo", files=[{"name": "logo.png", "mimeType": "image/png", "buffer": png(text=b"<script>evil</script>")}])
    page.click("#save-branding")
    expect(page.locator(".notice")).to_have_text("Saved.")
    logo = page.get_attribute("#brand-logo", "src")
    assert logo.startswith("data:image/png;base64,")
    import base64
    assert b"tEXt" not in base64.b64decode(logo.split(",", 1)[1])  # metadata stripped
    shot(page, "app-overview")
    try:
        demo = page.context.new_page()
        demo.goto(vault.demo_url)
        with demo.expect_popup() as popup_info:
            demo.click("#connect")
        popup = popup_info.value
        popup.wait_for_selector("#allow")
        assert popup.get_attribute("img.logo", "src") == logo  # the consent page shows the brand
        accent = popup.evaluate("getComputedStyle(document.querySelector('#allow')).backgroundColor")
        assert accent == "rgb(31, 79, 191)"
        popup.click("#allow")
        expect(demo.locator("#grants")).not_to_be_empty(timeout=20_000)
        grant_id = json.loads(demo.inner_text("#grants"))[0]["grant_id"]
    finally:
        page.goto(f"{vault.url}/portal/apps/{demo_app}")
        page.fill("#accent_color", "")
        page.check("input[name=remove_logo]")
        page.click("#save-branding")

    # The grant, filtered by provider and status; its detail; revoke.
    page.goto(f"{vault.url}/portal/apps/{demo_app}/grants")
    page.select_option("#f-provider", "sandbox")
    page.select_option("#f-status", "active")
    page.click("button:has-text('Filter')")
    assert "provider=sandbox" in page.url and "status=active" in page.url
    page.click(f"a[href$='/grants/{grant_id}']")
    expect(page.locator("table").first).to_contain_text(grant_id)
    shot(page, "grant")
    page.fill("#reason", "portal story")
    page.click("#revoke-grant")
    expect(page.locator(".notice")).to_have_text("The grant is revoked.")
    assert http("GET", f"{vault.url}/v1/grants/{grant_id}", headers={"Authorization": f"Bearer {vault.app_key}"})[0] == 410  # gone: revoked

    # The audit entry, filtered, and the same rows as CSV.
    page.goto(f"{vault.url}/portal/apps/{demo_app}/audit?action=revoke&grant={grant_id}")
    row = page.locator("tbody tr").first
    expect(row).to_contain_text("revoke")
    expect(row).to_contain_text("portal story")
    shot(page, "audit")
    with page.expect_download() as download_info:
        page.click("#export-csv")
    csv = Path(download_info.value.path()).read_text()
    lines = csv.strip().splitlines()
    assert lines[0].startswith("id,at,action,grant_id")
    assert len(lines) == 2 and f",revoke,{grant_id}," in lines[1] and lines[1].endswith("portal story")


def test_a_form_posted_from_another_origin_is_refused(operator: Page, vault):
    page = operator
    name = f"csrf-{uuid.uuid4().hex[:6]}"
    # The demo app is another origin on the same site (localhost): the SameSite=Strict
    # cookie goes along, so only the origin check and the CSRF token stand in the way.
    attacker = page.context.new_page()
    attacker.goto(vault.demo_url)
    with attacker.expect_navigation():
        attacker.evaluate("""([action, name]) => {
            const f = document.createElement('form'); f.method = 'post'; f.action = action;
            for (const [k, v] of [['name', name], ['csrf', 'guessed']]) {
                const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
            document.body.appendChild(f); f.submit(); }""", [f"{vault.url}/portal/apps", name])
    expect(attacker.locator("h1")).to_have_text("This form was refused")
    # Even a form that carries the real token is refused when it comes from elsewhere.
    page.goto(f"{vault.url}/portal")
    token = page.input_value("form[action='/portal/apps'] input[name=csrf]")
    attacker.goto(vault.demo_url)
    with attacker.expect_navigation():
        attacker.evaluate("""([action, name, token]) => {
            const f = document.createElement('form'); f.method = 'post'; f.action = action;
            for (const [k, v] of [['name', name], ['csrf', token]]) {
                const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }
            document.body.appendChild(f); f.submit(); }""", [f"{vault.url}/portal/apps", name, token])
    expect(attacker.locator("h1")).to_have_text("This form was refused")
    page.reload()
    assert name not in page.content()  # nothing was created


def test_a_setup_link_then_a_wrong_password_is_throttled(browser: Browser, vault):
    email = f"ops-{uuid.uuid4().hex[:6]}@example.com"
    link = alter_cli(vault, "operators", "create", "--email", email).strip().splitlines()[0]
    assert link.startswith(f"{vault.url}/portal/setup?token=ops_setup_")
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    page.fill("#password", "correct horse battery")
    page.fill("#confirm", "correct horse battery")
    page.click("#set-password")
    expect(page.locator("h1")).to_have_text("Apps")
    page.goto(link)  # used once
    expect(page.locator("h1")).to_have_text("Setup link not valid")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    for _ in range(5):
        sign_in(page, vault, email, "not the password")
        expect(page.locator(".error")).to_have_text("Wrong email or password.")
    # The sixth try is refused before the password is looked at, even the right one.
    response_status = []
    page.on("response", lambda r: response_status.append(r.status) if r.url.endswith("/portal/login") and r.request.method == "POST" else None)
    sign_in(page, vault, email, "correct horse battery")
    expect(page.locator(".error")).to_contain_text("Too many failed sign-ins")
    assert response_status == [429]
    shot(page, "throttled")
    context.close()


def stored_password_hashes(vault, *emails: str) -> dict[str, str]:
    """email -> password_hash, read from the vault's database."""
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        listed = ",".join("'" + email.replace("'", "''") + "'" for email in emails)
        out = subprocess.run(["psql", os.environ["ALTER_E2E_DATABASE_URL"], "-AtF", "\t", "-c",
                              f"SELECT email, password_hash FROM operators WHERE email IN ({listed})"],
                             check=True, capture_output=True, text=True).stdout
        return dict(line.split("\t", 1) for line in out.splitlines() if line)
    with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
        marks = ",".join("?" * len(emails))
        return dict(db.execute(f"SELECT email, password_hash FROM operators WHERE email IN ({marks})", emails))


def test_only_alter_demo_takes_the_test_only_weak_hashing_and_the_cli_keeps_the_standard_cost(vault):
    # conftest.alter_env sets ALTER_DEMO_WEAK_PASSWORD_HASHING=1 for the demo and the CLI alike.
    email = f"strong-{uuid.uuid4().hex[:6]}@example.com"
    alter_cli(vault, "operators", "create", "--email", email, "--password-stdin", input="correct horse battery staple")
    hashes = stored_password_hashes(vault, vault.portal_email, email)
    assert hashes[vault.portal_email].startswith("scrypt$10$8$1$")  # OperatorPassword.Cost.weakForTests
    assert hashes[email].startswith("scrypt$15$8$3$")  # OperatorPassword.Cost.standard


def expire_newest_session(vault) -> None:
    """Moves the newest portal session's end to its start, as if its lifetime had passed."""
    statement = ("UPDATE operator_sessions SET expires_at = created_at WHERE id = "
                 "(SELECT id FROM operator_sessions ORDER BY created_at DESC LIMIT 1)")
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        subprocess.run(["psql", os.environ["ALTER_E2E_DATABASE_URL"], "-c", statement], check=True, capture_output=True)
    else:
        with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
            db.execute(statement)


def test_an_expired_session_is_sent_to_sign_in_and_back(browser: Browser, vault):
    context = browser.new_context()
    page = context.new_page()
    sign_in(page, vault)
    page.click("tbody a:has-text('Demo app')")
    audit = page.url + "/audit"
    expire_newest_session(vault)
    page.goto(audit)
    assert "/portal/login" in page.url
    expect(page.locator(".notice")).to_have_text("Your session ended. Sign in again.")
    page.fill("#email", vault.portal_email)
    page.fill("#password", vault.portal_password)
    page.click("#sign-in")
    assert page.url == audit  # back where the operator was
    # Signing out ends the session on the server: the old cookie opens nothing.
    cookie = next(c for c in page.context.cookies() if c["name"] == "alter_portal")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["path"] == "/portal"
    page.click("text=Sign out")
    expect(page.locator(".notice")).to_have_text("You are signed out.")
    status, _ = http("GET", f"{vault.url}/portal", headers={"Cookie": f"alter_portal={cookie['value']}"})
    assert status == 200  # urllib follows the redirect to the sign-in page
    page.context.add_cookies([cookie])
    page.goto(f"{vault.url}/portal")
    assert "/portal/login" in page.url
    context.close()


def test_xss_attempts_in_every_text_field_are_rendered_inert(operator: Page, vault):
    page = operator
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    app_id = create_app(page, vault, "X" + XSS[:90])
    base = f"{vault.url}/portal/apps/{app_id}"
    page.fill("#display_name", XSS[:60])
    page.click("#save-branding")
    page.goto(base + "/identity")
    page.fill("#issuer", XSS)
    page.fill("#audience", XSS)
    page.fill("#jwks_url", "https://issuer.example.com/jwks")
    page.click("#save-identity")
    page.fill("#token", XSS)
    page.click("#test-token")
    expect(page.locator("#test-result")).to_be_visible()
    page.goto(base + "/providers/sandbox")
    page.fill("#client_id", XSS)
    page.fill("#client_secret", XSS)
    page.fill("#scopes", XSS)
    page.click("#save-provider")
    page.goto(base + "/webhooks")
    page.fill("#url", "https://hooks.example.com/" + XSS)
    page.click("#save-webhook")
    page.goto(base + "/agents")
    page.fill("#agent-name", XSS)  # refused by the name rules, echoed in the error
    page.click("#create-agent")
    page.fill("#agent-name", "xss-agent-" + uuid.uuid4().hex[:4])
    page.fill("#agent-display", XSS)
    page.click("#create-agent")
    page.goto(base + "/providers")
    page.fill("#custom_id", XSS)
    page.fill("#custom_name", XSS)
    page.fill("#discovery_url", "https://127.0.0.1:1/" + XSS)
    page.fill("#api_hosts", XSS)
    page.click("#add-custom")
    page.goto(base + "/secrets")
    page.select_option("#secret-template", "bearer")
    page.fill("#secret-name", XSS[:60])
    page.fill("#secret-value", "sk_portal_secret_value_1234")
    page.fill("#secret-hosts", "https://api.example.com")
    page.click("#create-secret")
    expect(page.locator(".notice")).to_have_text("Saved.")
    assert "sk_portal_secret_value_1234" not in page.content()  # write-only
    pages = ["", "/identity", "/providers/sandbox", "/webhooks", "/agents", "/keys", "/secrets",
             "/grants?user=" + XSS + "&agent=" + XSS, "/audit?caller=" + XSS, "/providers?q=" + XSS]
    for path in pages:
        page.goto(base + path) if path else page.goto(base)
        assert page.evaluate("window.__xss") is None, path
        assert page.locator("img[src=x]").count() == 0, path
        assert page.locator("script:not([nonce])").count() == 0, path
    page.goto(f"{vault.url}/portal")
    assert page.evaluate("window.__xss") is None
    expect(page.locator("tbody")).to_contain_text("X\"'><img src=x")  # shown as text
    # The hosted Connect page shows the display name as text too.
    key = None
    page.goto(base + "/keys")
    page.click("#create-key")
    key = page.input_value("#key-value")
    page.goto(base + "/providers/sandbox")
    page.fill("#client_id", "xss-client")
    page.fill("#scopes", "")
    page.click("#save-provider")
    status, body = http("POST", f"{vault.url}/v1/connect/sessions", {"allowed_origin": vault.demo_url},
                        headers={"Authorization": f"Bearer {key}"})
    assert status == 201, body
    page.goto(json.loads(body)["connect_url"])
    expect(page.locator("body")).to_contain_text(XSS[:60].strip())
    assert page.evaluate("window.__xss") is None and page.locator("img[src=x]").count() == 0
    assert dialogs == []
