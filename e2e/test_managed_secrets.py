"""Managed secrets with the official Python SDK (`alter-sdk==0.29.0`, unmodified) against a
running `alter demo`: secrets made with `alter secrets create` (the value piped on standard
input), granted with `create_managed_secret_grant`, and called through `request()` (the SDK
injects what `/sdk/token` says) and `proxy_request()` (the vault injects it) against a local
echo service that records the headers and query it received. A host outside the secret's
allowed hosts is refused with no call made; rotation keeps the grant_id; list_grants shows
`grant_kind: "managed_secret"`; and no secret value is ever in the data directory or the logs.
"""

from __future__ import annotations

import base64
import json
import secrets
from pathlib import Path
from typing import Any, Iterator

import pytest
from alter_sdk import AgentPrincipal, BlockedDestinationError, GrantNotFoundError, GrantRevokedError, SystemPrincipal, UserPrincipal
from alter_sdk.exceptions import AlterValueError, BackendError

from conftest import Echo, Vault, alter_cli, http
from sdk_support import IdentityApp, run_sdk

# Every value stored in this module, to look for afterwards where none may be.
STORED: list[str] = []


@pytest.fixture(scope="module")
def other_echo() -> Iterator[Echo]:
    """A second service no secret may reach."""
    server = Echo()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def identity(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "Managed secrets app")


def value_of(length: int = 24) -> str:
    value = "sv-" + secrets.token_urlsafe(length)
    STORED.append(value)
    return value


def create_secret(vault: Vault, app: IdentityApp, echo: Echo, template: str, value: str, *options: str) -> tuple[str, str]:
    """`alter secrets create` on the echo service; returns (id, slug)."""
    name = f"{template} {secrets.token_hex(3)}"
    out = alter_cli(vault, "secrets", "create", "--app", app.app_id, "--name", name, "--template", template,
                    "--allowed-hosts", echo.origin, "--allow-private-network", *options, input=value)
    lines = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    return lines["id"], lines["slug"]


def system_grant(vault: Vault, app: IdentityApp, secret_id: str, **policy: Any) -> str:
    async def grant(sdk: Any) -> Any:
        return await sdk.create_managed_secret_grant(secret_id, principal=SystemPrincipal(label="e2e"), grant_policy=policy or None)
    created = run_sdk(vault.url, app.key, grant)
    assert created.principal_type == "system" and created.credential_id == secret_id, created
    return created.grant_id


def both_ways(vault: Vault, app: IdentityApp, url: str, grant_id: str, **call: Any) -> tuple[Any, Any]:
    """The same call through `request()` and through `proxy_request()`."""
    async def body(sdk: Any) -> tuple[Any, Any]:
        direct = await sdk.request("GET", url, grant_id=grant_id, **call)
        proxied = await sdk.proxy_request("GET", url, grant_id=grant_id, **call)
        return direct, proxied
    return run_sdk(vault.url, app.key, body)


KINDS = [
    # template, value piped to the CLI, extra CLI options, expected header (name, value) or query (name, value)
    ("bearer", lambda v: v, [], ("header", "authorization", lambda v: f"Bearer {v}")),
    ("api_key_header", lambda v: v, ["--header", "X-Service-Key"], ("header", "x-service-key", lambda v: v)),
    ("api_key_query", lambda v: v, ["--query-parameter", "api_key"], ("query", "api_key", lambda v: v)),
    ("basic", lambda v: v, ["--username", "AC42"], ("header", "authorization", lambda v: "Basic " + base64.b64encode(f"AC42:{v}".encode()).decode())),
    ("custom", lambda v: v, ["--header", "Authorization", "--format", "Token token={token}"], ("header", "authorization", lambda v: f"Token token={v}")),
    ("stripe", lambda v: v, [], ("header", "authorization", lambda v: f"Bearer {v}")),
    ("anthropic", lambda v: v, [], ("header", "x-api-key", lambda v: v)),
]


@pytest.mark.parametrize("template,piped,options,expected", KINDS, ids=[kind[0] for kind in KINDS])
def test_each_template_kind_reaches_the_service_through_request_and_proxy_request(
        vault: Vault, identity: IdentityApp, echo: Echo, template: str, piped: Any, options: list[str], expected: Any) -> None:
    value = value_of()
    secret_id, _ = create_secret(vault, identity, echo, template, piped(value), *options)
    grant_id = system_grant(vault, identity, secret_id)
    before = len(echo.calls)

    direct, proxied = both_ways(vault, identity, echo.origin + "/v1/things", grant_id, query_params={"page": "2"})

    assert direct.status_code == 200 and proxied.status_code == 200
    assert json.loads(base64.b64decode(proxied.body_b64))["path"] == "/v1/things"
    where, name, render = expected
    sdk_call, vault_call = echo.calls[before:]
    for call in (sdk_call, vault_call):
        assert call["query"].get("page") == "2", call
        got = call["headers"].get(name) if where == "header" else call["query"].get(name)
        assert got == render(value), (template, call)
    # The vault's own call carries only the credential the template names.
    if where == "query":
        assert "authorization" not in vault_call["headers"] and "x-api-key" not in vault_call["headers"]


def test_datadog_sends_both_keys_and_list_grants_names_the_secret(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    api, application = value_of(), value_of()
    secret_id, slug = create_secret(vault, identity, echo, "datadog", json.dumps({"token": api, "application_key": application}))
    grant_id = system_grant(vault, identity, secret_id, max_ttl_seconds=3600)
    before = len(echo.calls)

    both_ways(vault, identity, echo.origin + "/api/v1/validate", grant_id)
    for call in echo.calls[before:]:
        assert call["headers"]["dd-api-key"] == api and call["headers"]["dd-application-key"] == application

    page = run_sdk(vault.url, identity.key, lambda sdk: sdk.list_grants(provider_id=slug))
    items = [item for item in page.grants if item.grant_id == grant_id]
    assert len(items) == 1 and items[0].grant_kind == "managed_secret", page
    assert items[0].managed_secret_id == secret_id and items[0].managed_secret_slug == slug and items[0].principal_type == "system"
    assert items[0].grant_expires_at is not None


def test_a_host_outside_the_allowed_hosts_is_refused_before_any_call(
        vault: Vault, identity: IdentityApp, echo: Echo, other_echo: Echo) -> None:
    secret_id, _ = create_secret(vault, identity, echo, "bearer", value_of())
    grant_id = system_grant(vault, identity, secret_id)
    before = len(echo.calls)

    async def calls(sdk: Any) -> list[str]:
        refused = []
        for call in (sdk.request, sdk.proxy_request):
            for url in (other_echo.origin + "/steal", "http://localhost:1/x"):
                with pytest.raises(BlockedDestinationError):
                    await call("GET", url, grant_id=grant_id)
                refused.append(url)
        return refused

    assert len(run_sdk(vault.url, identity.key, calls)) == 4
    assert other_echo.calls == [] and len(echo.calls) == before


def test_rotation_keeps_the_grant_id_and_the_old_value_stops_at_once(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    old, new = value_of(), value_of()
    secret_id, slug = create_secret(vault, identity, echo, "bearer", old)
    grant_id = system_grant(vault, identity, secret_id)
    both_ways(vault, identity, echo.origin + "/before", grant_id)

    out = alter_cli(vault, "secrets", "rotate", "--app", identity.app_id, "--secret", slug, input=new)
    assert "grants keep their ids" in out

    before = len(echo.calls)
    both_ways(vault, identity, echo.origin + "/after", grant_id)
    assert [call["headers"]["authorization"] for call in echo.calls[before:]] == [f"Bearer {new}"] * 2
    listed = alter_cli(vault, "secrets", "grants", "--app", identity.app_id, "--secret", slug)
    assert grant_id in listed


def test_a_users_grant_serves_that_user_only(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    secret_id, _ = create_secret(vault, identity, echo, "bearer", value_of())
    alice = identity.user_token("alice@e2e")

    async def flow(sdk: Any) -> None:
        created = await sdk.create_managed_secret_grant(secret_id, principal=UserPrincipal(user_token=alice, label="alice"))
        assert created.principal_type == "user" and created.label == "alice"
        response = await sdk.request("GET", echo.origin + "/mine", grant_id=created.grant_id, user_token=alice)
        assert response.status_code == 200
        with pytest.raises(GrantNotFoundError):
            await sdk.request("GET", echo.origin + "/theirs", grant_id=created.grant_id, user_token=identity.user_token("bob@e2e"))
        mine = await sdk.list_grants(end_user_token=alice)
        assert [item.grant_id for item in mine.grants if item.grant_kind == "managed_secret"] == [created.grant_id]

    run_sdk(vault.url, identity.key, flow)


def test_the_sdks_own_calls_are_audited_against_the_secret_grant(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    secret_id, _ = create_secret(vault, identity, echo, "bearer", value_of())
    grant_id = system_grant(vault, identity, secret_id)
    both_ways(vault, identity, echo.origin + "/audited", grant_id, reason="nightly sync")
    status, body = http("GET", f"{vault.url}/v1/audit?grant_id={grant_id}", headers={"Authorization": f"Bearer {identity.key}"})
    assert status == 200, body
    actions = sorted(event["action"] for event in json.loads(body)["events"])
    assert actions == ["api_call", "grant", "proxy", "token"], actions


def test_bad_grant_requests_get_typed_errors_and_store_nothing(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    secret_id, slug = create_secret(vault, identity, echo, "bearer", value_of())

    async def flow(sdk: Any) -> None:
        with pytest.raises(GrantNotFoundError):
            await sdk.create_managed_secret_grant("00000000-0000-4000-8000-000000000000", principal=SystemPrincipal())
        with pytest.raises(BackendError) as agent:
            await sdk.create_managed_secret_grant(secret_id, principal=AgentPrincipal())
        assert agent.value.status_code == 422 and agent.value.details["error"] == "agent_principal_not_allowed"
        with pytest.raises(BackendError) as policy:
            await sdk.create_managed_secret_grant(secret_id, principal=SystemPrincipal(), grant_policy={"max_ttl_seconds": 5, "default_ttl_seconds": 9})
        assert policy.value.status_code == 400 and "default_ttl_seconds" in str(policy.value)
        with pytest.raises(AlterValueError):
            await sdk.create_managed_secret_grant(secret_id, principal=SystemPrincipal(), grant_policy={"maxTtlSeconds": 5})

    run_sdk(vault.url, identity.key, flow)
    assert alter_cli(vault, "secrets", "grants", "--app", identity.app_id, "--secret", slug).strip() == ""


def test_no_secret_value_is_in_the_data_directory_or_the_logs(vault: Vault, identity: IdentityApp) -> None:
    """Last in this module: every value stored above, looked for in every file the vault
    wrote (database, WAL, key file, logs) and in everything it printed."""
    assert len(STORED) >= 10, "runs after the tests that store secrets"
    files = [path for path in Path(vault.data_dir).rglob("*") if path.is_file()]
    assert any(path.suffix in (".sqlite", ".db") or "sqlite" in path.name for path in files), files
    output = vault.output()
    for value in STORED:
        for path in files:
            data = path.read_bytes()
            assert value.encode() not in data, f"{value[:6]}… found in {path.name}"
            assert base64.b64encode(value.encode()) not in data
        assert value not in output


def test_revoke_grant_from_the_sdk_stops_a_secret_grant_at_once(vault: Vault, identity: IdentityApp, echo: Echo) -> None:
    secret_id, _ = create_secret(vault, identity, echo, "bearer", value_of())
    grant_id = system_grant(vault, identity, secret_id)
    both_ways(vault, identity, echo.origin + "/before-revoke", grant_id)
    before = len(echo.calls)

    async def flow(sdk: Any) -> None:
        revoked = await sdk.revoke_grant(grant_id, reason="offboarding")
        assert revoked.grant_id == grant_id
        for call in (sdk.request, sdk.proxy_request):
            with pytest.raises(GrantRevokedError):
                await call("GET", echo.origin + "/after-revoke", grant_id=grant_id)

    run_sdk(vault.url, identity.key, flow)
    assert len(echo.calls) == before  # nothing reached the service after the revocation
    status, body = http("GET", f"{vault.url}/v1/audit?grant_id={grant_id}", headers={"Authorization": f"Bearer {identity.key}"})
    assert status == 200 and "revoke" in [event["action"] for event in json.loads(body)["events"]], body
