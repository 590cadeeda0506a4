"""The test rig itself works: the vault starts, mints a session, and Chromium renders."""

import urllib.request

from playwright.sync_api import Page


def test_the_vault_starts_and_reports_healthy(vault):
    with urllib.request.urlopen(f"{vault.url}/healthz", timeout=5) as response:
        assert response.status == 200


def test_a_backend_mints_a_connect_session(vault):
    session = vault.mint()

    assert session["session_token"].startswith("cs_")
    assert session["connect_url"]


def test_chromium_starts_and_renders_a_page(page: Page):
    page.set_content("<h1>Alter Vault</h1>")

    assert page.inner_text("h1") == "Alter Vault"
