"""Conformance against a real third-party OAuth 2.0 server: django-oauth-toolkit (PyPI).

scripts/dot-server runs it on loopback (confidential client, authorization code, PKCE
required, refresh tokens rotated, short-lived access tokens). The vault knows it only as a
custom provider that `alter providers add-custom` built from its RFC 8414 metadata. A person
on the demo page connects through the widget: signs in at the provider, approves, and the
page gets a grant; the app then calls the provider's API through the vault, which refreshes
the token when it expires and reports `credential_revoked` once the provider revoked it.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from playwright.sync_api import Page

from conftest import DOT_ACCESS_TOKEN_SECONDS, DotApp
from test_widget import outcome, start, terminal

# The first test here may also start the vault and scripts/dot-server (Django): on its own
# worker (scripts/test's pytest-xdist) that setup took past pytest.ini's 120 s at load 10.
pytestmark = pytest.mark.timeout(300)


def sign_in_and_decide(popup: Page, user: str, allow: bool) -> None:
    """At the provider: the login page (a new browser has no session there), then consent."""
    popup.wait_for_selector("#id_username", timeout=20_000)
    popup.fill("#id_username", user)
    popup.fill("#id_password", f"{user}-password")
    popup.click("input[type=submit]")
    popup.wait_for_selector("#authorizationForm", timeout=20_000)
    assert "Read your profile" in popup.inner_text("#authorizationForm")
    popup.click("input[name=allow]" if allow else "input[type=submit]:not([name])")


def connect(dot_app: DotApp, page: Page, user: str, allow: bool = True) -> list[list[Any]]:
    page.goto(dot_app.vault.demo_url)
    popup = start(page, dot_app.mint())  # one provider: the Connect UI goes straight to it
    sign_in_and_decide(popup, user, allow)
    return terminal(outcome(page, timeout=30_000))


def proxy_me(dot_app: DotApp, grant_id: str) -> tuple[int, Any]:
    status, body = dot_app.api("POST", "/v1/request", {"method": "GET", "url": dot_app.dot.config["api_url"], "grant_id": grant_id})
    if status == 404 and isinstance(body, dict) and body.get("error", {}).get("code") == "not_found":
        pytest.skip("POST /v1/request (docs/api.md) is not in this build yet")
    return status, body


def test_the_cli_added_the_server_from_its_rfc8414_metadata(dot_app: DotApp):
    config = dot_app.dot.config
    assert f"authorization: {config['url']}/o/authorize/" in dot_app.added
    assert "PKCE S256" in dot_app.added
    status, body = dot_app.api("GET", "/v1/providers")
    assert status == 200, body
    [dot] = [p for p in body["providers"] if p["id"] == "dot"]
    assert dot == {"id": "dot", "name": "Django OAuth Toolkit", "description": "Custom OAuth 2.0 provider",
                   "category": "custom", "logo_url": None, "configured": True, "custom": True}


def test_denying_consent_at_the_provider_reports_oauth_denied(dot_app: DotApp, page: Page):
    [(kind, error)] = connect(dot_app, page, "bob", allow=False)
    assert kind == "error"
    assert error["code"] == "oauth_denied"


def test_connect_proxy_refresh_and_revocation(dot_app: DotApp, page: Page):
    # Connect: sign in at the provider, approve, and the page gets the grant.
    [(kind, grants)] = connect(dot_app, page, "alice")
    assert kind == "success", grants
    [grant] = grants
    assert grant["provider"] == "dot"
    assert grant["provider_name"] == "Django OAuth Toolkit"
    assert grant["account_identifier"] == "alice"
    assert grant["scopes"] == ["read"]
    assert grant["metadata"] == {"account_email": "alice@dot.test"}
    grant_id = grant["grant_id"]

    # Proxy a call to the provider's protected endpoint.
    status, body = proxy_me(dot_app, grant_id)
    stored_by = time.monotonic()  # the token in use now was stored before this
    assert status == 200, body
    assert body == {"username": "alice", "email": "alice@dot.test"}
    issued = len(json.loads(dot_app.dot.manage("dot_tokens", "alice"))["refresh_tokens"])

    # Let the access token expire; the next call refreshes through the vault, and the
    # provider rotates the refresh token.
    time.sleep(max(0.0, stored_by + DOT_ACCESS_TOKEN_SECONDS + 1 - time.monotonic()))
    status, body = proxy_me(dot_app, grant_id)
    assert status == 200, body
    assert body["username"] == "alice"
    tokens = dot_app.dot.manage("dot_tokens", "alice")
    refresh_tokens = json.loads(tokens)["refresh_tokens"]
    assert len(refresh_tokens) > issued >= 1, tokens  # this call refreshed
    assert [t["revoked"] for t in refresh_tokens][-1] is False
    assert all(t["revoked"] for t in refresh_tokens[:-1]), tokens
    status, audit = dot_app.api("GET", f"/v1/audit?grant_id={grant_id}")
    assert status == 200, audit
    assert "refresh" in [event["action"] for event in audit["events"]]

    # Revoke at the provider: the vault's next refresh is refused, and it says so.
    assert int(dot_app.dot.manage("dot_revoke", "alice")) >= 1
    deadline = time.monotonic() + DOT_ACCESS_TOKEN_SECONDS + 10
    while True:
        status, body = proxy_me(dot_app, grant_id)
        if status != 401 or time.monotonic() > deadline:
            break
        time.sleep(0.25)  # a vault that refreshes only near expiry gets there within the token's lifetime
    assert status == 409, body
    assert body["error"]["code"] == "credential_revoked"
    assert body["error"]["details"]["grant_id"] == grant_id
    status, info = dot_app.api("GET", f"/v1/grants/{grant_id}")
    assert status == 200, info
    assert info["status"] == "error"
