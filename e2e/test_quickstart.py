"""The Swift quickstart (Examples/Quickstart) in Chromium: a person connects an account, calls
the API, reconnects after the provider revoked the credential, and another user cannot take
over a leaked grant id.

The quickstart runs as its own process on its own origin, with the `vault` fixture's URL and
app key, exactly as `ALTER_URL=… ALTER_API_KEY=… swift run Quickstart` would.

Environment:
  QUICKSTART_BIN   path of the Quickstart binary (default: .build/debug/Quickstart)
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from conftest import REPO, Vault, free_port, http, sleep_until_expired

START_TIMEOUT_S = 30.0


@pytest.fixture
def quickstart(vault: Vault) -> Iterator[str]:
    """A running quickstart app (fresh memory: no connected accounts); yields its URL."""
    binary = Path(os.environ.get("QUICKSTART_BIN", REPO / ".build" / "debug" / "Quickstart"))
    if not binary.is_file():
        pytest.fail(f"{binary} not found: build it first (`swift build`)", pytrace=False)
    port = free_port()
    env = dict(os.environ, ALTER_URL=vault.url, ALTER_API_KEY=vault.app_key or "", PORT=str(port))
    process = subprocess.Popen([str(binary)], env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://localhost:{port}"
    try:
        _wait_until_serving(process, url)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _wait_until_serving(process: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            pytest.fail(f"Quickstart exited with {process.returncode}:\n{output}", pytrace=False)
        try:
            if http("GET", url + "/", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"Quickstart did not answer on {url} within {START_TIMEOUT_S:.0f} s", pytrace=False)


def connect(page: Page, button: str) -> None:
    """Clicks `button`, then Allow on the sandbox consent page in the popup (first account)."""
    with page.expect_popup() as popup_info:
        page.click(button)
    popup = popup_info.value
    popup.wait_for_selector("#allow")
    popup.click("#allow")


def test_a_person_connects_an_account_and_calls_the_api(sandbox: Vault, quickstart: str,
                                                        blocking_page: Page):
    # The popup blocker is on, as in a person's browser: the page's .then() chain keeps
    # open() inside the click's user activation.
    page = blocking_page
    page.goto(quickstart)
    expect(page.locator("#empty")).to_be_visible()

    connect(page, "#connect")

    account = page.locator("#accounts li")
    expect(account).to_have_count(1)
    expect(account).to_contain_text("alice@sandbox.test (Sandbox)")
    expect(page.locator("#status")).to_contain_text("alice@sandbox.test")

    account.locator("button.call").click()

    expect(page.locator("#result")).to_contain_text('"status": 200')
    expect(page.locator("#result")).to_contain_text("Team stand-up")


def test_a_revoked_credential_offers_reconnect_which_keeps_the_grant(sandbox: Vault, quickstart: str,
                                                                      page: Page):
    sandbox.sandbox_control(access_token_ttl=1)
    page.goto(quickstart)
    connect(page, "#connect")
    account = page.locator("#accounts li")
    expect(account).to_have_count(1)
    connected_by = time.monotonic()
    grant_id = account.get_attribute("data-grant-id")

    # The person revokes the app at the provider; once the access token expires the vault
    # must refresh, and the provider refuses.
    sandbox.sandbox_control(revoke_refresh=True)
    sleep_until_expired(connected_by)
    account.locator("button.call").click()

    expect(page.locator("#result")).to_contain_text("credential_revoked")
    reconnect = account.locator("button.reconnect")
    expect(reconnect).to_be_visible()

    sandbox.reset_sandbox()  # the person allows the app again at the provider
    connect(page, "#accounts li button.reconnect")

    expect(page.locator("#status")).to_contain_text("reauth: alice@sandbox.test")
    expect(account).to_have_count(1)
    expect(account).to_have_attribute("data-grant-id", grant_id or "")
    account.locator("button.call").click()
    expect(page.locator("#result")).to_contain_text("Team stand-up")


def test_another_users_grant_id_posted_by_a_browser_is_not_attached(sandbox: Vault, quickstart: str,
                                                                     page: Page):
    # Alice connects; her grant id leaks (a screenshot, a log).
    page.goto(quickstart)
    connect(page, "#connect")
    account = page.locator("#accounts li")
    expect(account).to_have_count(1)
    alice_grant = account.get_attribute("data-grant-id")

    # Mallory, another user of the app, posts it as the old quickstart accepted it.
    mallory = {"Cookie": "quickstart_user=mallory"}
    status, body = http("POST", quickstart + "/api/accounts", {"grantIds": [alice_grant]}, headers=mallory)
    assert status == 200, body
    assert json.loads(body) == []
    status, body = http("POST", quickstart + "/api/call", {"grantId": alice_grant}, headers=mallory)
    assert status == 404, body
