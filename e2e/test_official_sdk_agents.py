"""Agents with the official Python Alter SDK (`alter-sdk==0.29.0`, unmodified) against a running
`alter demo`: `app.agents.*` creates and manages an agent, its own key drives `Agent(api_key=…)`,
which reaches only the grants delegated to it; keys are deprecated, rotated and revoked; a paused
or deleted agent gets the SDK's agent errors; the app acts as an agent through `get_agent`; and
delegations are removed from both sides.
"""

from __future__ import annotations

import uuid
import warnings
from typing import Any

import pytest
from alter_sdk import (
    Agent,
    AgentInactiveError,
    AgentNameExistsError,
    AgentNotFoundError,
    AgentRevokedError,
    BackendError,
    KeyRevokedError,
    LastActiveKeyError,
    NoDelegatedGrantError,
)
from playwright.sync_api import Page

from conftest import Vault, http
from sdk_support import IdentityApp, run_sdk
from test_official_sdk import connect_with_sdk, events_url


@pytest.fixture(scope="module")
def owner(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "SDK agents app")


def run_agent(vault: Vault, agent_key: str, body: Any) -> Any:
    """`await body(agent)` with `Agent(api_key=agent_key)`, on the same thread pool as `run_sdk`."""
    import asyncio
    import os

    from sdk_support import _POOL, base_url

    async def main() -> Any:
        os.environ["ALTER_BASE_URL"] = base_url(vault.url)
        async with Agent(api_key=agent_key) as agent:
            return await body(agent)

    return _POOL.submit(asyncio.run, main()).result(timeout=120)


def create_agent(vault: Vault, key: str, name: str) -> Any:
    return run_sdk(vault.url, key, lambda app: app.agents.create(name=name, scopes={"sandbox": ["calendar.read"]},
                                                                display_name=name.replace("-", " ").title()))


def test_an_agent_key_reaches_only_the_grants_delegated_to_its_agent(sandbox: Vault, owner: IdentityApp, page: Page) -> None:
    vault = sandbox
    created = create_agent(vault, owner.key, "calendar-bot")
    assert created.api_key and created.api_key.startswith("alter_ak_")
    assert created.status == "active" and created.type == "agent" and created.version == 1

    async def read_back(app: Any) -> dict[str, Any]:
        return {"got": await app.agents.get(str(created.id)), "named": await app.agents.get_by_name("calendar-bot"),
                "missing": await app.agents.get_by_name("nobody"), "listed": await app.agents.list()}

    seen = run_sdk(vault.url, owner.key, read_back)
    assert seen["got"].id == created.id and seen["named"].id == created.id and seen["missing"] is None
    assert [a.id for a in seen["listed"].agents] == [created.id]

    # The session names the agent by id (the SDK's delegated agent); the grant is delegated to it.
    delegated = connect_with_sdk(page, vault, owner.key, agent=str(created.id))
    other = connect_with_sdk(page, vault, owner.key, account="bob@sandbox.test")

    async def as_agent(agent: Agent) -> dict[str, Any]:
        me = await agent.me()
        ok = await agent.request("GET", events_url(vault), grant_id=delegated)
        proxied = await agent.proxy_request("GET", events_url(vault), grant_id=delegated)
        listed = await agent.list_grants()
        try:
            await agent.request("GET", events_url(vault), grant_id=other)
            undelegated: Any = None
        except NoDelegatedGrantError as error:
            undelegated = error
        try:
            await agent.request("GET", events_url(vault), grant_id=delegated, user_token=owner.user_token("user-a"))
            with_user: Any = None
        except BackendError as error:
            with_user = error
        return {"me": me, "ok": ok, "proxied": proxied, "listed": listed, "undelegated": undelegated, "with_user": with_user}

    result = run_agent(vault, created.api_key, as_agent)
    assert result["me"].id == created.id and result["me"].name == "calendar-bot"
    assert result["ok"].status_code == 200 and "Team stand-up" in result["ok"].text
    assert result["proxied"].status_code == 200
    assert [g.grant_id for g in result["listed"].grants] == [delegated]
    assert isinstance(result["undelegated"], NoDelegatedGrantError)
    assert result["undelegated"].agent_id == str(created.id) and result["undelegated"].provider_id == "sandbox"
    assert result["with_user"] is not None and result["with_user"].details.get("error") == "agent_user_token_refused"
    assert result["with_user"].details.get("status_code") == 400

    # An agent key cannot manage agents: that is the app's.
    with pytest.raises(BackendError):
        run_agent(vault, created.api_key, lambda agent: agent._client.agents.list())

    # The app acting as the agent (get_agent → X-Alter-Caller) is held to the same delegations here.
    async def impersonate(app: Any) -> dict[str, Any]:
        warnings.filterwarnings("ignore", message=r"App\.get_agent")  # the SDK's impersonation advisory
        acting = app.get_agent(str(created.id))
        ok = await acting.request("GET", events_url(vault), grant_id=delegated)
        try:
            await acting.request("GET", events_url(vault), grant_id=other)
            refused: Any = None
        except NoDelegatedGrantError as error:
            refused = error
        try:
            await app.get_agent(str(uuid.uuid4())).request("GET", events_url(vault), grant_id=delegated)
            unknown: Any = None
        except AgentNotFoundError as error:
            unknown = error
        return {"ok": ok, "refused": refused, "unknown": unknown}

    acted = run_sdk(vault.url, owner.key, impersonate)
    assert acted["ok"].status_code == 200
    assert isinstance(acted["refused"], NoDelegatedGrantError)
    assert isinstance(acted["unknown"], AgentNotFoundError) and acted["unknown"].details.get("error") == "caller_agent_unresolved"


def test_keys_are_deprecated_rotated_and_revoked_and_paused_or_deleted_agents_are_refused(
        sandbox: Vault, owner: IdentityApp, page: Page) -> None:
    vault = sandbox
    created = create_agent(vault, owner.key, "mail-bot")
    grant_id = connect_with_sdk(page, vault, owner.key, agent="mail-bot")
    agent_id = str(created.id)

    def call(key: str) -> Any:
        return run_agent(vault, key, lambda agent: agent.request("GET", events_url(vault), grant_id=grant_id))

    run_sdk(vault.url, owner.key, lambda app: app.agents.deprecate_key(agent_id, str(created.key_id)))

    async def deprecated_call(agent: Agent) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            response = await agent.request("GET", events_url(vault), grant_id=grant_id)
            assert response.status_code == 200
            await agent.me()
        return [str(w.message) for w in caught]

    messages = run_agent(vault, created.api_key, deprecated_call)
    assert any("deprecat" in m.lower() for m in messages), messages

    with pytest.raises(LastActiveKeyError):
        run_sdk(vault.url, owner.key, lambda app: app.agents.revoke_key(agent_id, str(created.key_id)))
    assert call(created.api_key).status_code == 200

    minted = run_sdk(vault.url, owner.key, lambda app: app.agents.mint_key(agent_id))
    assert minted.api_key and minted.name == "mail-bot-2"
    revoked = run_sdk(vault.url, owner.key, lambda app: app.agents.revoke_key(agent_id, str(created.key_id)))
    assert revoked.status == "revoked"
    with pytest.raises(KeyRevokedError):
        call(created.api_key)
    keys = run_sdk(vault.url, owner.key, lambda app: app.agents.list_keys(agent_id))
    assert [k.status for k in keys.items] == ["revoked", "active"]
    assert call(minted.api_key).status_code == 200

    paused = run_sdk(vault.url, owner.key, lambda app: app.agents.suspend(agent_id))
    assert paused.status == "inactive"
    with pytest.raises(AgentInactiveError):
        call(minted.api_key)
    assert run_agent(vault, minted.api_key, lambda agent: agent.me()).status == "inactive"  # me() still answers
    run_sdk(vault.url, owner.key, lambda app: app.agents.resume(agent_id))
    assert call(minted.api_key).status_code == 200

    with pytest.raises(AgentNameExistsError):
        create_agent(vault, owner.key, "mail-bot")

    deleted = run_sdk(vault.url, owner.key, lambda app: app.agents.delete(agent_id))
    assert deleted.status == "revoked"
    with pytest.raises(AgentRevokedError):
        call(minted.api_key)


def test_delegations_are_removed_by_the_app_and_by_the_agent(sandbox: Vault, owner: IdentityApp, page: Page) -> None:
    vault = sandbox
    first = create_agent(vault, owner.key, "first-bot")
    second = create_agent(vault, owner.key, "second-bot")
    grant_a = connect_with_sdk(page, vault, owner.key, agent="first-bot")
    grant_b = connect_with_sdk(page, vault, owner.key, account="bob@sandbox.test", agent="second-bot")

    run_sdk(vault.url, owner.key, lambda app: app.revoke_delegation(grant_a, str(first.id)))
    with pytest.raises(NoDelegatedGrantError):
        run_agent(vault, first.api_key, lambda agent: agent.request("GET", events_url(vault), grant_id=grant_a))

    run_agent(vault, second.api_key, lambda agent: agent.revoke_delegation(grant_b))
    run_agent(vault, second.api_key, lambda agent: agent.revoke_delegation(grant_b))  # idempotent
    with pytest.raises(NoDelegatedGrantError):
        run_agent(vault, second.api_key, lambda agent: agent.request("GET", events_url(vault), grant_id=grant_b))

    # The grants themselves stay, and the audit log says who removed what.
    status, body = http("GET", f"{vault.url}/v1/grants/{grant_b}", headers={"Authorization": f"Bearer {owner.key}"})
    assert status == 200, body
    status, body = http("GET", f"{vault.url}/v1/audit?grant_id={grant_b}", headers={"Authorization": f"Bearer {owner.key}"})
    assert '"delegation_revoked"' in body and '"second-bot"' in body
