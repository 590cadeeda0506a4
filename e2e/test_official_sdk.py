"""The official Python Alter SDK (`alter-sdk==0.29.0` from PyPI, unmodified) against a running
vault: the seeds' backend snippets (with `App`, since 0.29.0 has no `AlterVault`), the whole loop
through the widget in Chromium, identity by JWT, headless connect, refresh, revocation, every
error class the protocol names, and signed requests sent by hand that must be refused.

The SDK takes its backend from ALTER_BASE_URL and allows plain http only on literal loopback,
so the vault is reached as http://127.0.0.1:<port>.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import re
import threading
import time
import uuid
from typing import Any

import pytest
from alter_sdk import (
    AmbiguousGrantError,
    App,
    CredentialRevokedError,
    GrantNotFoundError,
    GrantRevokedError,
    InvalidKeyError,
    KeyRevokedError,
    ReAuthRequiredError,
    TokenRefreshInProgressError,
)
from playwright.sync_api import Page

from conftest import Vault, alter_cli, http, sleep_until_expired
from sdk_support import IdentityApp, compact, run_sdk, send, signature_headers, start_sdk
from test_widget import outcome, start, terminal

KEY_CACHE_SECONDS = 5  # AppKeyCache.lifetime: a revoked key works on an instance this long


@pytest.fixture(scope="module")
def identity(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "SDK identity app")


def events_url(vault: Vault) -> str:
    """The sandbox provider's API, which answers only with a token it issued."""
    return f"{vault.url}/sandbox/api/calendar/events"


def widget_connect(page: Page, vault: Vault, token: str, account: str = "alice@sandbox.test") -> dict[str, Any]:
    """The person on the app's page: the widget opens the Connect UI with the session token,
    they pick `account` at the sandbox provider and allow; returns the widget's one grant."""
    page.goto(vault.demo_url)
    popup = start(page, token)
    popup.wait_for_selector("#allow")
    popup.check(f'input[name=account][value="{account}"]')
    popup.click("#allow")
    calls = terminal(outcome(page))
    assert calls[0][0] == "success", calls
    grants = calls[0][1]
    assert len(grants) == 1 and grants[0]["account_identifier"] == account, grants
    return grants[0]


def mint_with_sdk(vault: Vault, key: str, **fields: Any) -> Any:
    return run_sdk(vault.url, key, lambda app: app.create_connect_session(**fields))


def connect_with_sdk(page: Page, vault: Vault, key: str, account: str = "alice@sandbox.test", **fields: Any) -> str:
    """SDK mints the session → widget in Chromium → sandbox consent; returns the grant id."""
    fields.setdefault("allowed_providers", ["sandbox"])
    fields.setdefault("allowed_origin", vault.demo_url)
    session = mint_with_sdk(vault, key, **fields)
    return widget_connect(page, vault, session.session_token, account)["grant_id"]


def audit(vault: Vault, key: str, grant_id: str) -> list[dict[str, Any]]:
    status, body = http("GET", f"{vault.url}/v1/audit?grant_id={grant_id}", headers={"Authorization": f"Bearer {key}"})
    assert status == 200, body
    return json.loads(body)["events"]


def grant_ids(vault: Vault, key: str, **filters: Any) -> list[str]:
    listed = run_sdk(vault.url, key, lambda app: app.list_grants(**filters))
    return [grant.grant_id for grant in listed.grants]


# -- the seeds' snippets and the whole loop -------------------------------------------------------

def test_the_seed_backend_mints_the_widget_connects_and_the_sdk_calls_the_api(
        sandbox: Vault, identity: IdentityApp, page: Page) -> None:
    vault = sandbox
    jwt = identity.user_token("user-seed")
    # The session's agent is an identity of the app: created first (by name, as the seeds write it).
    bot = run_sdk(vault.url, identity.key, lambda app: app.agents.create(name="calendar-bot", scopes={"sandbox": ["calendar.read"]}))

    # The seeds' backend snippet, verbatim but for App (0.29.0 has no AlterVault).
    async def mint(app: App) -> Any:
        session = await app.create_connect_session(
            allowed_providers=["sandbox"],
            allowed_origin=vault.demo_url,
            user_token=jwt,  # binds the resulting grant to this user
            agent="calendar-bot",  # optional — also writes a delegation row
            return_url=vault.demo_url + "/connected",  # required for mobile
        )
        return {"sessionToken": session.session_token, "session": session}

    minted = run_sdk(vault.url, identity.key, mint)
    session = minted["session"]
    assert session.connect_url.startswith(f"{vault.url}/connect?token=")
    assert isinstance(session.expires_in, int) and 0 < session.expires_in <= 600

    grant = widget_connect(page, vault, minted["sessionToken"])
    grant_id = grant["grant_id"]
    assert str(uuid.UUID(grant_id)) == grant_id

    async def after_consent(app: App) -> dict[str, Any]:
        polled = await app.poll_connect_session(minted["sessionToken"], timeout=10, poll_interval=0.5)
        listed = await app.list_grants(end_user_token=jwt)
        response = await app.request("GET", events_url(vault), grant_id=grant_id, user_token=jwt)
        proxied = await app.proxy_request("GET", events_url(vault), grant_id=grant_id, user_token=jwt)
        return {"polled": polled, "listed": listed, "response": response, "proxied": proxied}

    seen = run_sdk(vault.url, identity.key, after_consent)
    assert [(r.grant_id, r.provider_id, r.account_identifier) for r in seen["polled"]] == [
        (grant_id, "sandbox", "alice@sandbox.test")]
    listed = {g.grant_id: g for g in seen["listed"].grants}
    assert listed[grant_id].principal_type == "user"
    assert listed[grant_id].delegated_agent_ids == [str(bot.id)]

    # app.request: the SDK called the sandbox API itself with the token the vault injected.
    response = seen["response"]
    assert response.status_code == 200
    assert "Team stand-up" in response.text
    token = response.request.headers["authorization"].removeprefix("Bearer ")
    assert token

    # proxy_request: the same data, and the token never left the vault.
    proxied = seen["proxied"]
    assert proxied.status_code == 200
    assert json.loads(base64.b64decode(proxied.body_b64)) == response.json()
    assert token not in proxied.model_dump_json()

    # The vault's audit log holds the SDK's own report, the token hand-out and the proxy call.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        actions = {event["action"] for event in audit(vault, identity.key, grant_id)}
        if {"api_call", "token", "proxy"} <= actions:
            break
        time.sleep(0.2)
    events = audit(vault, identity.key, grant_id)
    assert {"api_call", "token", "proxy"} <= {event["action"] for event in events}, events
    reported = next(event for event in events if event["action"] == "api_call")
    assert (reported["method"], reported["host"], reported["status"]) == ("GET", "localhost", 200)
    assert token not in json.dumps(events)


def test_jwt_identity_resolves_by_provider_with_ambiguous_and_other_user_cases(
        sandbox: Vault, identity: IdentityApp, page: Page) -> None:
    vault = sandbox
    jwt = identity.user_token("user-two-accounts")
    alice = connect_with_sdk(page, vault, identity.key, user_token=jwt)
    bob = connect_with_sdk(page, vault, identity.key, "bob@sandbox.test", user_token=jwt)

    async def as_user(app: App) -> dict[str, Any]:
        result: dict[str, Any] = {}
        try:
            await app.request("GET", events_url(vault), provider="sandbox")
        except AmbiguousGrantError as error:
            result["ambiguous"] = error
        result["bob"] = await app.request("GET", f"{vault.url}/sandbox/api/me", provider="sandbox", account="bob@sandbox.test")
        result["listed"] = await app.list_grants()
        return result

    seen = run_sdk(vault.url, identity.key, as_user, user_token_getter=lambda: jwt)
    ambiguous = seen["ambiguous"]
    assert sorted(c.grant_id for c in ambiguous.candidates) == sorted([alice, bob])
    assert sorted(ambiguous.account_identifiers) == ["alice@sandbox.test", "bob@sandbox.test"]
    assert seen["bob"].json()["email"] == "bob@sandbox.test"
    assert {alice, bob} <= {g.grant_id for g in seen["listed"].grants}

    # Another user of the same app sees none of it.
    other = identity.user_token("someone-else")

    async def as_other(app: App) -> list[type]:
        raised = []
        for call in (lambda: app.request("GET", events_url(vault), grant_id=alice),
                     lambda: app.request("GET", events_url(vault), provider="sandbox"),
                     lambda: app.proxy_request("GET", events_url(vault), grant_id=bob)):
            try:
                await call()
            except GrantNotFoundError as error:
                raised.append(type(error))
        listed = await app.list_grants()
        assert listed.grants == [] and listed.total == 0
        return raised

    assert run_sdk(vault.url, identity.key, as_other, user_token_getter=lambda: other) == [GrantNotFoundError] * 3


def test_headless_connect_is_completed_by_a_browser(sandbox: Vault, page: Page) -> None:
    vault = sandbox
    printed = threading.Event()

    class Console(io.StringIO):
        def write(self, text: str) -> int:
            written = super().write(text)
            if "Open this URL to authorize: " in self.getvalue():
                printed.set()
            return written

    console = Console()

    async def connect(app: App) -> Any:
        with contextlib.redirect_stdout(console):
            return await app.connect(providers=["sandbox"], open_browser=False, timeout=60, poll_interval=0.5)

    pending = start_sdk(vault.url, vault.app_key or "", connect)
    assert printed.wait(20), console.getvalue()
    url = re.search(r"Open this URL to authorize: (\S+)", console.getvalue()).group(1)

    page.goto(url)  # the person opens the printed URL; no widget, no opener
    # Nothing shows this load came from the app (security review F1): the person who started the
    # headless connect confirms on the interstitial, then consents at the provider.
    page.click("#alter-unproven a")
    page.wait_for_selector("#allow")
    page.click("#allow")

    results = pending.result(timeout=60)
    assert [(r.provider_id, r.account_identifier) for r in results] == [("sandbox", "alice@sandbox.test")]
    assert results[0].grant_id in grant_ids(vault, vault.app_key or "")


# -- refresh, revocation and the error classes -----------------------------------------------------

def test_sdk_token_refreshes_first_and_a_refused_refresh_is_credential_revoked(sandbox: Vault, page: Page) -> None:
    vault = sandbox
    sandbox.sandbox_control(access_token_ttl=1)
    grant_id = connect_with_sdk(page, vault, vault.app_key or "")
    sleep_until_expired(time.monotonic())  # the access token expired: /sdk/token must refresh before answering

    response = run_sdk(vault.url, vault.app_key or "", lambda app: app.request("GET", events_url(vault), grant_id=grant_id))
    refreshed_by = time.monotonic()
    assert response.status_code == 200
    assert sandbox.sandbox_control()["refresh_count"] == 1

    sandbox.sandbox_control(revoke_refresh=True)  # the person revoked the app at the provider
    sleep_until_expired(refreshed_by)
    with pytest.raises(CredentialRevokedError):
        run_sdk(vault.url, vault.app_key or "", lambda app: app.request("GET", events_url(vault), grant_id=grant_id))


def test_a_refresh_held_by_another_caller_is_token_refresh_in_progress(sandbox: Vault, page: Page) -> None:
    vault = sandbox
    sandbox.sandbox_control(access_token_ttl=1)
    grant_id = connect_with_sdk(page, vault, vault.app_key or "")
    sleep_until_expired(time.monotonic())
    # The provider takes 4 s to refresh; the vault waits 2 s (ALTER_REFRESH_WAIT_SECONDS).
    sandbox.sandbox_control(slow_ms=4000)

    async def two_at_once(app: App) -> list[Any]:
        first = asyncio.create_task(app.request("GET", events_url(vault), grant_id=grant_id))
        await asyncio.sleep(0.3)
        second = asyncio.create_task(app.request("GET", events_url(vault), grant_id=grant_id))
        return await asyncio.gather(first, second, return_exceptions=True)

    first, second = run_sdk(vault.url, vault.app_key or "", two_at_once)
    assert first.status_code == 200
    assert isinstance(second, TokenRefreshInProgressError), second
    assert sandbox.sandbox_control()["refresh_count"] == 1


def test_revoke_then_use_is_grant_revoked(sandbox: Vault, page: Page) -> None:
    vault = sandbox
    key = vault.app_key or ""
    grant_id = connect_with_sdk(page, vault, key)

    revoked = run_sdk(vault.url, key, lambda app: app.revoke_grant(grant_id, reason="user clicked disconnect"))
    assert revoked.success is True and revoked.grant_id == grant_id

    with pytest.raises(GrantRevokedError):
        run_sdk(vault.url, key, lambda app: app.request("GET", events_url(vault), grant_id=grant_id))
    assert grant_id not in grant_ids(vault, key)
    entry = next(event for event in audit(vault, key, grant_id) if event["action"] == "revoke")
    assert entry["reason"] == "user clicked disconnect"


def test_unknown_grants_bad_user_tokens_and_unknown_keys_raise_the_documented_classes(
        vault: Vault, identity: IdentityApp) -> None:
    with pytest.raises(GrantNotFoundError):
        run_sdk(vault.url, identity.key, lambda app: app.request("GET", events_url(vault), grant_id=str(uuid.uuid4())))
    forged = identity.forged_token("user-seed")
    for call in (lambda app: app.request("GET", events_url(vault), provider="sandbox"),
                 lambda app: app.create_connect_session(allowed_providers=["sandbox"]),
                 lambda app: app.list_grants()):
        with pytest.raises(ReAuthRequiredError) as raised:
            run_sdk(vault.url, identity.key, call, user_token_getter=lambda: forged)
        assert type(raised.value) is ReAuthRequiredError
        assert raised.value.details.get("error") == "jwt_validation_error"
    # A well-formed key the vault never minted: the SDK signs it correctly, the vault refuses it.
    unknown = "alter_rk_" + "a" * 22 + "_"
    unknown += _checksum("rk", "a" * 22)
    with pytest.raises(InvalidKeyError):
        run_sdk(vault.url, unknown, lambda app: app.list_grants())


def _checksum(kind: str, random: str) -> str:
    import zlib
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    crc = zlib.crc32(f"{kind}:{random}".encode())
    return "".join(alphabet[(crc >> (5 * i)) & 31] for i in range(6))


# -- signed requests sent by hand --------------------------------------------------------------------

def test_refused_signatures_get_401_and_change_nothing(sandbox: Vault, page: Page) -> None:
    vault = sandbox
    key = vault.app_key or ""
    grant_id = connect_with_sdk(page, vault, key)
    path = f"/sdk/oauth/grants/{grant_id}/revoke"
    body = compact({"reason": "forged"})

    def tampered_signature() -> dict[str, str]:
        headers = signature_headers(key, "POST", path, body)
        headers["X-Alter-Signature"] = ("0" if headers["X-Alter-Signature"][0] != "0" else "1") + headers["X-Alter-Signature"][1:]
        return headers

    def other_body_hash() -> dict[str, str]:
        # Signed over another body; the body sent does not match X-Alter-Content-SHA256.
        return signature_headers(key, "POST", path, compact({"reason": "something else"}))

    cases = {
        "invalid_signature": (body, tampered_signature()),
        "timestamp_out_of_range": (body, signature_headers(key, "POST", path, body, timestamp=int(time.time()) - 301)),
        "content_hash_mismatch": (body, other_body_hash()),
        "missing_signature": (body, {"x-api-key": key, "Content-Type": "application/json"}),
        "invalid_key": (body, signature_headers("alter_rk_" + "b" * 22 + "_" + _checksum("rk", "b" * 22), "POST", path, body)),
    }
    for code, (sent, headers) in cases.items():
        status, answer = send(vault.url, "POST", path, sent, headers)
        assert (status, answer.get("error")) == (401, code), (code, status, answer)
        assert answer.get("message")
    assert grant_id in grant_ids(vault, key)

    # A request that verified once cannot be replayed: the nonce is spent.
    listing = compact({"limit": 10, "offset": 0})
    headers = signature_headers(key, "POST", "/sdk/grants/list", listing)
    assert send(vault.url, "POST", "/sdk/grants/list", listing, headers)[0] == 200
    status, answer = send(vault.url, "POST", "/sdk/grants/list", listing, headers)
    assert (status, answer.get("error")) == (401, "nonce_reused")
    replayed_revoke = signature_headers(key, "POST", path, body)
    assert send(vault.url, "POST", path, body, replayed_revoke)[0] == 200  # the original goes through
    status, answer = send(vault.url, "POST", path, body, replayed_revoke)
    assert (status, answer.get("error")) == (401, "nonce_reused")


def test_a_revoked_key_is_refused_with_key_revoked(vault: Vault, identity: IdentityApp) -> None:
    created = alter_cli(vault, "keys", "create", "--app", identity.app_id)
    key = next(line.strip() for line in created.splitlines() if line.strip().startswith("alter_rk_"))
    key_id = re.search(r"Key id: (\S+)", created).group(1)
    assert run_sdk(vault.url, key, lambda app: app.list_grants()).total >= 0

    alter_cli(vault, "keys", "revoke", "--key", key_id)
    time.sleep(KEY_CACHE_SECONDS + 0.5)
    with pytest.raises(KeyRevokedError):
        run_sdk(vault.url, key, lambda app: app.create_connect_session(allowed_providers=["sandbox"]))
    body = compact({"allowed_providers": ["sandbox"], "allowed_origin": vault.demo_url})
    status, answer = send(vault.url, "POST", "/sdk/oauth/connect/session", body,
                          signature_headers(key, "POST", "/sdk/oauth/connect/session", body))
    assert (status, answer.get("error")) == (401, "key_revoked")
    # The key still works nowhere else either: /v1 refuses it too.
    assert http("GET", f"{vault.url}/v1/grants", headers={"Authorization": f"Bearer {key}"})[0] == 401


def test_a_nonce_replayed_to_a_second_instance_on_the_same_postgresql_is_refused(postgres_pair: Any) -> None:
    first, second = postgres_pair.instances
    key = postgres_pair.key
    body = compact({"allowed_providers": ["sandbox"], "allowed_origin": "http://localhost:4001"})
    path = "/sdk/oauth/connect/session"
    headers = signature_headers(key, "POST", path, body)

    # The pair is shared by the session (conftest.py): count the sessions this test adds.
    before = postgres_pair.count("SELECT count(*) FROM connect_sessions")
    status, minted = send(first.url, "POST", path, body, headers)
    assert status == 201, minted
    assert postgres_pair.count("SELECT count(*) FROM connect_sessions") == before + 1

    for instance in (second, first):
        status, answer = send(instance.url, "POST", path, body, headers)
        assert (status, answer.get("error")) == (401, "nonce_reused"), instance.url
    assert postgres_pair.count("SELECT count(*) FROM connect_sessions") == before + 1

    # A fresh signature is accepted by either instance (the SDK itself, against the second).
    session = run_sdk(second.url, key, lambda app: app.create_connect_session(
        allowed_providers=["sandbox"], allowed_origin="http://localhost:4001"))
    assert session.session_token
    assert postgres_pair.count("SELECT count(*) FROM connect_sessions") == before + 2


def test_widget_files_under_sdk_stay_unsigned(vault: Vault) -> None:
    for name in ("alter-connect.umd.js", "alter-connect.mjs"):
        status, body = http("GET", f"{vault.url}/sdk/{name}")
        assert status == 200 and "AlterConnect" in body, name
