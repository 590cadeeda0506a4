"""A Connect session's `grant_policy` and `requested_grant.restrictions` restrict the grants it
makes, with the official Python SDK (`alter-sdk==0.29.0`, unmodified) against a running
`alter demo`: the SDK mints the session, the person connects in Chromium, and the grant's calls
inside the restrictions reach the sandbox API while calls outside them are refused with the
SDK's errors (PolicyViolationError, GrantExpiredError once the lifetime is over). Bad values are
refused when the session is made, and no session is stored.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from typing import Any

import pytest
from alter_sdk import GrantExpiredError, PolicyViolationError
from alter_sdk.exceptions import BackendError
from playwright.sync_api import Page

from conftest import Vault, http
from sdk_support import IdentityApp, run_sdk
from test_official_sdk import events_url, mint_with_sdk, widget_connect


@pytest.fixture(scope="module")
def app(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "Grant terms app")


def sql(vault: Vault, statement: str, *params: Any) -> None:
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        literal = statement.replace("?", "'{}'").format(*params)
        subprocess.run(["psql", os.environ["ALTER_E2E_DATABASE_URL"], "-c", literal], check=True, capture_output=True)
    else:
        with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
            db.execute(statement, params)


def count_sessions(vault: Vault) -> int:
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        out = subprocess.run(["psql", os.environ["ALTER_E2E_DATABASE_URL"], "-tAc", "SELECT count(*) FROM connect_sessions"],
                             check=True, capture_output=True, text=True)
        return int(out.stdout.strip())
    with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
        return db.execute("SELECT count(*) FROM connect_sessions").fetchone()[0]


def move_connection_back(vault: Vault, grant_id: str, seconds: int) -> None:
    """As if `seconds` had passed since the person connected the grant."""
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        sql(vault, f"UPDATE grants SET connected_at = connected_at - interval '{seconds} seconds' WHERE id = ?", grant_id)
    else:
        with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
            # Fluent's SQLite dates are seconds since 1970; ids are Swift's upper-case text.
            cursor = db.execute("UPDATE grants SET connected_at = connected_at - ? WHERE upper(id) = ?", (seconds, grant_id.upper()))
            assert cursor.rowcount == 1


def refusal(vault: Vault, key: str, method: str, url: str, grant_id: str, proxy: bool) -> Exception:
    async def body(sdk: Any) -> Any:
        call = sdk.proxy_request if proxy else sdk.request
        return await call(method, url, grant_id=grant_id)
    with pytest.raises(Exception) as caught:
        run_sdk(vault.url, key, body)
    return caught.value


def test_a_sessions_lifetime_and_restrictions_bind_the_grant_it_makes(sandbox: Vault, app: IdentityApp, page: Page) -> None:
    vault = sandbox
    events = events_url(vault)
    session = mint_with_sdk(
        vault, app.key, allowed_providers=["sandbox"], allowed_origin=vault.demo_url,
        grant_policy={"max_ttl_seconds": 7200, "default_ttl_seconds": 3600},
        requested_grant={"label": "calendar reader", "restrictions": {
            "allowed_methods": ["GET"], "allowed_endpoints": [vault.url + "/sandbox/api/calendar/*"]}})
    grant_id = widget_connect(page, vault, session.session_token)["grant_id"]

    async def inside(sdk: Any) -> Any:
        return (await sdk.request("GET", events, grant_id=grant_id),
                await sdk.proxy_request("GET", events, grant_id=grant_id, query_params={"page": "1"}))
    direct, proxied = run_sdk(vault.url, app.key, inside)
    assert direct.status_code == 200 and proxied.status_code == 200

    # Outside the restrictions: another method, another endpoint; neither surface lets it through.
    for method, url in (("POST", events), ("GET", vault.url + "/sandbox/api/contacts")):
        for proxy in (False, True):
            error = refusal(vault, app.key, method, url, grant_id, proxy)
            assert isinstance(error, PolicyViolationError) and error.policy_error == "request_not_allowed", (method, url, proxy, error)
            assert error.details["rule_source"] == "grant_terms" and error.details["rule_kind"] == "allowed_requests"

    # The lifetime (default_ttl_seconds) counts from the connection: an hour later the grant is over.
    move_connection_back(vault, grant_id, 3601)
    for proxy in (False, True):
        error = refusal(vault, app.key, "GET", events, grant_id, proxy)
        assert isinstance(error, GrantExpiredError), error
        assert error.details["rule_kind"] == "grant_lifetime"

    status, body = http("GET", f"{vault.url}/v1/audit?grant_id={grant_id}&limit=100", headers={"Authorization": f"Bearer {app.key}"})
    denied = [entry for entry in json.loads(body)["events"] if entry["action"] == "policy_denied"]
    assert status == 200 and len(denied) == 6 and {entry["status"] for entry in denied} == {403}


@pytest.mark.parametrize("fields, code", [
    ({"grant_policy": {"max_ttl_seconds": 60, "default_ttl_seconds": 120}}, "invalid_grant_policy"),
    ({"grant_policy": {"expires_at": "2030-01-01T00:00:00Z"}}, "invalid_grant_policy"),
    ({"grant_policy": {"max_ttl_seconds": 10 * 366 * 86400}}, "invalid_grant_policy"),
    ({"requested_grant": {"label": "x", "restrictions": {"allowed_methods": ["FETCH"]}}}, "invalid_requested_grant"),
    ({"requested_grant": {"label": "x", "restrictions": {"allowed_endpoints": ["ftp://files.example/*"]}}}, "invalid_requested_grant"),
    ({"requested_grant": {"label": "x", "restrictions": {"allowed_endpoints": []}}}, "invalid_requested_grant"),
])
def test_bad_grant_terms_are_refused_when_the_session_is_made_and_nothing_is_stored(
        vault: Vault, app: IdentityApp, fields: dict[str, Any], code: str) -> None:
    before = count_sessions(vault)
    with pytest.raises(BackendError) as caught:
        mint_with_sdk(vault, app.key, allowed_providers=["sandbox"], allowed_origin=vault.demo_url, **fields)
    assert caught.value.status_code == 422 and caught.value.details["error"] == code, caught.value.details
    # /v1/connect/sessions reads the same fields with the same rules.
    status, body = http("POST", f"{vault.url}/v1/connect/sessions", {"allowed_providers": ["sandbox"], **fields},
                        headers={"Authorization": f"Bearer {app.key}"})
    assert (status, json.loads(body)["error"]["code"]) == (422, code), body
    assert count_sessions(vault) == before
