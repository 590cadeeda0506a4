"""Policies and approvals with the official Python SDK (`alter-sdk==0.29.0`, unmodified) against
a running `alter demo`: rules made through `/v1/policies` on a managed-secret grant whose service
is a local echo that records every call it gets. Each rule kind lets a call through and refuses
one (PolicyViolationError with the rule's code, RateLimitError with Retry-After), a refused call
never reaches the service and is audited with the rule that fired, a rule that no longer reads
refuses (fail closed), and a held call is approved in Chromium, denied, left to expire, and
approved twice at once while running once.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import secrets
import sqlite3
import subprocess
import time
import urllib.parse
from typing import Any

import pytest
from alter_sdk import GrantExpiredError, PolicyViolationError, RateLimitError, SystemPrincipal
from alter_sdk.exceptions import ApprovalDeniedError, ApprovalExpiredError, RestrictedGrantRequiresProxyError
from playwright.sync_api import Page

from conftest import Echo, Vault, alter_cli, http
from sdk_support import IdentityApp, PostgresPair, run_sdk, start_sdk
from test_managed_secrets import create_secret, system_grant, value_of


@pytest.fixture(scope="module")
def app(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "Policies app")


def v1(vault: Vault, app: IdentityApp, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    status, text = http(method, vault.url + path, body, headers={"Authorization": f"Bearer {app.key}"})
    return status, json.loads(text) if text else None


def rule(vault: Vault, app: IdentityApp, grant_id: str, kind: str, **settings: Any) -> str:
    status, created = v1(vault, app, "POST", "/v1/policies", {"scope": "grant", "target": grant_id, "kind": kind, "settings": settings})
    assert status == 201, created
    return created["id"]


def fresh_grant(vault: Vault, app: IdentityApp, echo: Echo) -> str:
    secret_id, _ = create_secret(vault, app, echo, "bearer", value_of())
    return system_grant(vault, app, secret_id)


def call(vault: Vault, app: IdentityApp, url: str, grant_id: str, *, proxy: bool = False, method: str = "GET", **options: Any) -> Any:
    async def body(sdk: Any) -> Any:
        if proxy:
            return await sdk.proxy_request(method, url, grant_id=grant_id, **options)
        return await sdk.request(method, url, grant_id=grant_id, **options)
    return run_sdk(vault.url, app.key, body)


def refusal(vault: Vault, app: IdentityApp, url: str, grant_id: str, **options: Any) -> Exception:
    with pytest.raises(Exception) as caught:
        call(vault, app, url, grant_id, **options)
    return caught.value


def denials(vault: Vault, app: IdentityApp, grant_id: str) -> list[dict[str, Any]]:
    time.sleep(0.1)  # the audit log writes in 20 ms batches
    status, body = v1(vault, app, "GET", f"/v1/audit?grant_id={grant_id}&limit=100")
    assert status == 200, body
    return [entry for entry in body["events"] if entry["action"] == "policy_denied"]


def test_rules_restrict_before_the_secret_is_used_and_each_refusal_names_its_rule(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    things = echo.origin + "/v1/things/1"

    # A time window around now lets the call through; one that excludes today refuses it.
    grant = fresh_grant(vault, app, echo)
    rule(vault, app, grant, "time_window", time_zone="Europe/Paris", start="00:00", end="24:00")
    assert call(vault, app, things, grant).status_code == 200
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%a").lower()[:3]
    others = [d for d in ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] if d != today]
    # Both sides of midnight in UTC are "today" within ±1 min; the window names other days only.
    window = rule(vault, app, grant, "time_window", time_zone="UTC", weekdays=others)
    before = len(echo.calls)
    for proxy in (False, True):
        error = refusal(vault, app, things, grant, proxy=proxy)
        assert isinstance(error, PolicyViolationError) and error.policy_error == "outside_time_window", error
        assert error.details["rule_id"] == window
    assert len(echo.calls) == before
    audited = denials(vault, app, grant)
    assert len(audited) == 2 and {e["status"] for e in audited} == {403}

    # The caller's address (this test's: 127.0.0.1) on and off the allow-list.
    grant = fresh_grant(vault, app, echo)
    allow = rule(vault, app, grant, "ip_allowlist", cidrs=["127.0.0.0/8", "::1"])
    assert call(vault, app, things, grant, proxy=True).status_code == 200
    assert v1(vault, app, "DELETE", f"/v1/policies/{allow}")[0] == 204
    rule(vault, app, grant, "ip_allowlist", cidrs=["203.0.113.0/24"])
    error = refusal(vault, app, things, grant)
    assert isinstance(error, PolicyViolationError) and error.policy_error == "ip_not_allowed"

    # Allowed methods and endpoints (the grant's requested_grant restrictions).
    grant = fresh_grant(vault, app, echo)
    rule(vault, app, grant, "allowed_requests", methods=["GET"], endpoints=[echo.origin + "/v1/things/*"])
    assert call(vault, app, things, grant).status_code == 200
    assert call(vault, app, things, grant, proxy=True, query_params={"page": "2"}).status_code == 200
    for url, method in ((echo.origin + "/v1/other", "GET"), (things, "POST")):
        error = refusal(vault, app, url, grant, proxy=True, method=method)
        assert isinstance(error, PolicyViolationError) and error.policy_error == "request_not_allowed", (url, method, error)

    # A grant's lifetime, enforced on use.
    grant = fresh_grant(vault, app, echo)
    rule(vault, app, grant, "grant_lifetime", max_ttl_seconds=2)
    assert call(vault, app, things, grant).status_code == 200
    time.sleep(2.1)
    assert isinstance(refusal(vault, app, things, grant), GrantExpiredError)

    # A rate limit per grant per minute: the fourth call waits, told how long.
    grant = fresh_grant(vault, app, echo)
    limit = rule(vault, app, grant, "rate_limit", limit=3, per="grant")
    for _ in range(3):
        assert call(vault, app, things, grant).status_code == 200
    error = refusal(vault, app, things, grant, proxy=True)
    assert isinstance(error, RateLimitError) and 0 < error.retry_after <= 60, error
    assert error.details["limit"] == 3 and error.details["rule_id"] == limit
    assert denials(vault, app, grant)[-1]["status"] == 429


def test_a_rule_that_no_longer_reads_refuses_every_call(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    grant = fresh_grant(vault, app, echo)
    rule(vault, app, grant, "ip_allowlist", cidrs=["127.0.0.1"])
    # Written behind the vault's back (a bad migration, a hand edit): the check must not skip it.
    with sqlite3.connect(vault.data_dir / "alter.sqlite") as db:
        db.execute("UPDATE policy_rules SET settings = ? WHERE target = ? AND kind = 'ip_allowlist'", ('{"cidrs": "everyone"}', grant))
        assert db.total_changes == 1
    # A rule written through the API makes this instance read the app's rules again.
    other = fresh_grant(vault, app, echo)
    rule(vault, app, other, "rate_limit", limit=100)
    before = len(echo.calls)
    for proxy in (False, True):
        error = refusal(vault, app, echo.origin + "/v1/things", grant, proxy=proxy)
        assert isinstance(error, PolicyViolationError) and error.policy_error == "policy_error", error
    assert len(echo.calls) == before


def test_bad_rules_are_refused_and_nothing_is_stored(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    grant = fresh_grant(vault, app, echo)
    before = v1(vault, app, "GET", "/v1/policies")[1]["rules"]
    for body in (
        {"scope": "grant", "target": grant, "kind": "time_window", "settings": {"time_zone": "Mars/Olympus"}},
        {"scope": "grant", "target": grant, "kind": "time_window", "settings": {"start": "18:00", "end": "09:00"}},
        {"scope": "grant", "target": grant, "kind": "ip_allowlist", "settings": {"cidrs": ["10.0.0.0/33"]}},
        {"scope": "grant", "target": grant, "kind": "rate_limit", "settings": {"limit": True}},
        {"scope": "grant", "target": grant, "kind": "rate_limit", "settings": {"limit": 5, "burst": 2}},
        {"scope": "grant", "target": grant, "kind": "teleport", "settings": {}},
        {"scope": "app", "target": grant, "kind": "rate_limit", "settings": {"limit": 5}},
        {"scope": "galaxy", "kind": "rate_limit", "settings": {"limit": 5}},
    ):
        status, answer = v1(vault, app, "POST", "/v1/policies", body)
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), (body, answer)
    status, answer = v1(vault, app, "POST", "/v1/policies", {"scope": "grant", "target": "00000000-0000-0000-0000-000000000000", "kind": "rate_limit", "settings": {"limit": 5}})
    assert (status, answer["error"]["code"]) == (404, "grant_not_found")
    assert v1(vault, app, "GET", "/v1/policies")[1]["rules"] == before


# -- approvals ---------------------------------------------------------------------------------------

def held(vault: Vault, app: IdentityApp, echo: Echo, expires: int = 600) -> tuple[str, Any]:
    """A grant whose calls need approval, and one call held: (grant id, PendingApproval)."""
    grant = fresh_grant(vault, app, echo)
    rule(vault, app, grant, "requires_approval", expires_in_seconds=expires)
    error = refusal(vault, app, echo.origin + "/v1/things", grant)
    assert isinstance(error, RestrictedGrantRequiresProxyError), error
    pending = call(vault, app, echo.origin + "/v1/things/7?x=1", grant, proxy=True, method="POST", json={"n": 7}, reason="ship order 7")
    assert pending.status == "pending" and pending.expires_in == expires and pending.approval_url.endswith(str(pending.approval_id))
    return grant, pending


def approver_link(vault: Vault, app: IdentityApp, approval_id: Any) -> str:
    status, made = v1(vault, app, "POST", f"/v1/approvals/{approval_id}/approver-link")
    assert status == 201, made
    return made["approver_url"]


def await_approval(vault: Vault, app: IdentityApp, approval_id: Any) -> concurrent.futures.Future[Any]:
    return start_sdk(vault.url, app.key, lambda sdk: sdk.await_approval(str(approval_id), timeout=60, poll_interval=0.5))


def test_a_held_call_is_approved_in_chromium_and_await_approval_returns_its_result(vault: Vault, app: IdentityApp, echo: Echo, page: Page) -> None:
    _, pending = held(vault, app, echo)
    before = len(echo.calls)
    waiting = await_approval(vault, app, pending.approval_id)

    # The status page the SDK got shows what is asked but cannot decide it.
    page.goto(pending.approval_url)
    assert page.locator("#approval-status").inner_text() == "pending"
    assert page.locator("#approve").count() == 0

    page.goto(approver_link(vault, app, pending.approval_id))
    assert page.locator("#approval-method").inner_text() == "POST"
    assert page.locator("#approval-host").inner_text() == "127.0.0.1"
    assert page.locator("#approval-path").inner_text() == "/v1/things/7"
    assert page.locator("#approval-reason").inner_text() == "ship order 7"
    assert len(echo.calls) == before  # nothing sent before the decision
    page.locator("#approve").click()
    page.wait_for_selector("#alter-notice")

    result = waiting.result(timeout=60)
    assert result.status_code == 200 and str(result.approval_id) == str(pending.approval_id)
    assert result.body_json()["path"] == "/v1/things/7"
    assert len(echo.calls) == before + 1 and echo.calls[-1]["query"] == {"x": "1"}
    status = run_sdk(vault.url, app.key, lambda sdk: sdk.get_approval_status(str(pending.approval_id)))
    assert status.status == "executed" and status.has_result
    # The used link decides nothing more.
    page.go_back()
    if page.locator("#approve").count():
        page.locator("#approve").click()
    assert len(echo.calls) == before + 1


def test_a_denied_call_raises_approval_denied_and_is_never_sent(vault: Vault, app: IdentityApp, echo: Echo, page: Page) -> None:
    _, pending = held(vault, app, echo)
    before = len(echo.calls)
    waiting = await_approval(vault, app, pending.approval_id)
    page.goto(approver_link(vault, app, pending.approval_id))
    page.fill("input[name=note]", "not today")
    page.locator("#deny").click()
    page.wait_for_selector("#alter-notice")
    with pytest.raises(ApprovalDeniedError) as denied:
        waiting.result(timeout=60)
    assert "not today" in str(denied.value)
    assert len(echo.calls) == before


def test_an_undecided_call_expires(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    _, pending = held(vault, app, echo, expires=2)
    link = approver_link(vault, app, pending.approval_id)
    with pytest.raises(ApprovalExpiredError):
        run_sdk(vault.url, app.key, lambda sdk: sdk.await_approval(str(pending.approval_id), timeout=30, poll_interval=0.5))
    # Too late to approve: the link decides nothing.
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)
    form = urllib.parse.urlencode({"t": query["t"][0], "decision": "approve"}).encode()
    assert post_form(f"{vault.url}/approvals/{pending.approval_id}/decision", form) == 409


def post_form(url: str, form: bytes) -> int:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(url, data=form, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def approve_twice_at_once(urls: list[str], approval_id: Any, link: str) -> list[int]:
    """The same approver link posted to each of `urls` at the same moment."""
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]
    form = urllib.parse.urlencode({"t": token, "decision": "approve"}).encode()
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(urls)) as pool:
        return sorted(pool.map(lambda base: post_form(f"{base}/approvals/{approval_id}/decision", form), urls))


def test_a_double_approval_runs_the_call_once(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    _, pending = held(vault, app, echo)
    before = len(echo.calls)
    link = approver_link(vault, app, pending.approval_id)
    assert approve_twice_at_once([vault.url] * 4, pending.approval_id, link) == [200, 409, 409, 409]
    result = run_sdk(vault.url, app.key, lambda sdk: sdk.await_approval(str(pending.approval_id), timeout=30, poll_interval=0.5))
    assert result.status_code == 200
    assert len(echo.calls) == before + 1


# -- two instances on one PostgreSQL ---------------------------------------------------------------


def pair_grant(pair: PostgresPair, echo: Echo, *rules: tuple[str, dict[str, Any]]) -> str:
    """A system grant of a new managed secret on the pair's app, with these grant rules
    (made through the first instance, before either instance has read the app's rules)."""
    first = pair.instances[0]
    made = subprocess.run([first.command[0], "secrets", "create", "--app", pair.app_id, "--name", f"pg {secrets.token_hex(3)}",
                           "--template", "bearer", "--allowed-hosts", echo.origin, "--allow-private-network"],
                          env=first.env, cwd=first.data_dir, capture_output=True, text=True, timeout=120, input=value_of())
    assert made.returncode == 0, made.stderr
    secret_id = dict(line.split(": ", 1) for line in made.stdout.splitlines() if ": " in line)["id"]
    created = run_sdk(first.url, pair.key, lambda sdk: sdk.create_managed_secret_grant(secret_id, principal=SystemPrincipal(label="pg")))
    for kind, settings in rules:
        status, text = http("POST", first.url + "/v1/policies", {"scope": "grant", "target": created.grant_id, "kind": kind, "settings": settings},
                            headers={"Authorization": f"Bearer {pair.key}"})
        assert status == 201, text
    return created.grant_id


def test_a_rate_limit_holds_across_two_instances(postgres_pair: PostgresPair, echo: Echo) -> None:
    grant = pair_grant(postgres_pair, echo, ("rate_limit", {"limit": 4, "per": "grant"}))
    urls = [instance.url for instance in postgres_pair.instances] * 4

    def one(url: str) -> str:
        try:
            run_sdk(url, postgres_pair.key, lambda sdk: sdk.request("GET", echo.origin + "/v1/pg", grant_id=grant))
            return "ok"
        except RateLimitError:
            return "limited"

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(one, urls))
    # Eight calls in one minute, alternating instances: four pass in all, not four on each.
    # (A minute boundary inside the burst would reset the count: the burst takes < 5 s.)
    assert sorted(outcomes) == ["limited"] * 4 + ["ok"] * 4, outcomes


def test_a_double_approval_on_two_instances_runs_the_call_once(postgres_pair: PostgresPair, echo: Echo) -> None:
    first, second = postgres_pair.instances
    grant = pair_grant(postgres_pair, echo, ("requires_approval", {}))
    # Asked on the instance the rule was written through (another sees a new rule within 5 s).
    pending = run_sdk(first.url, postgres_pair.key,
                      lambda sdk: sdk.proxy_request("GET", echo.origin + "/v1/pg-held", grant_id=grant, reason="two instances"))
    assert pending.status == "pending", pending
    status, text = http("POST", f"{second.url}/v1/approvals/{pending.approval_id}/approver-link", headers={"Authorization": f"Bearer {postgres_pair.key}"})
    assert status == 201, text
    before = sum(1 for c in echo.calls if c["path"] == "/v1/pg-held")
    answers = approve_twice_at_once([first.url, second.url, first.url, second.url], pending.approval_id, json.loads(text)["approver_url"])
    assert answers == [200, 409, 409, 409]
    result = run_sdk(second.url, postgres_pair.key, lambda sdk: sdk.await_approval(str(pending.approval_id), timeout=30, poll_interval=0.5))
    assert result.status_code == 200
    assert sum(1 for c in echo.calls if c["path"] == "/v1/pg-held") == before + 1


def test_alter_policies_manages_rules_and_a_running_server_applies_them_within_five_seconds(vault: Vault, app: IdentityApp, echo: Echo) -> None:
    grant = fresh_grant(vault, app, echo)
    url = echo.origin + "/v1/things"
    assert call(vault, app, url, grant).status_code == 200  # the server now holds the app's rules (none on this grant)
    made = alter_cli(vault, "policies", "create", "--app", app.app_id, "--scope", "grant", "--target", grant,
                     "--kind", "ip_allowlist", "--settings", '{"cidrs": ["203.0.113.0/24"]}')
    rule_id = made.splitlines()[0].removeprefix("id: ")
    assert rule_id in alter_cli(vault, "policies", "list", "--app", app.app_id)
    deadline = time.monotonic() + 8
    while True:
        try:
            call(vault, app, url, grant)
        except PolicyViolationError as error:
            assert error.policy_error == "ip_not_allowed"
            break
        assert time.monotonic() < deadline, "a rule written by the CLI was not applied within the cache lifetime"
        time.sleep(0.5)
    for bad in (["--kind", "teleport"], ["--kind", "rate_limit", "--settings", "{\"limit\": -1}"], ["--kind", "rate_limit", "--settings", "not json"]):
        with pytest.raises(AssertionError, match="error: "):
            alter_cli(vault, "policies", "create", "--app", app.app_id, *bad)
    assert alter_cli(vault, "policies", "delete", "--app", app.app_id, rule_id).strip() == f"deleted {rule_id}"
    with pytest.raises(AssertionError, match="No policy rule"):
        alter_cli(vault, "policies", "delete", "--app", app.app_id, rule_id)
