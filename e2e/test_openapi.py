"""Real answers of /v1 validate against the OpenAPI description the vault serves
(/v1/openapi.json): a whole connect + proxy + refresh + revoke story through the widget in
Chromium and the sandbox provider, and the refusals along the way. Then /metrics, scraped
after that story, shows it. (OpenAPIDescriptionTests checks every route is described;
test_schemathesis.py fuzzes the description.)"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any, Iterator

import pytest
import requests
import schemathesis
from playwright.sync_api import Page

from conftest import METRICS_TOKEN, Vault, sleep_until_expired
from openapi_agents import exercise_agents
from openapi_policies import exercise_policies
from openapi_secrets import exercise_secrets
from test_official_sdk import widget_connect


class Described:
    """Calls the vault and validates every answer against the served description."""

    def __init__(self, vault: Vault) -> None:
        self.vault = vault
        self.schema = schemathesis.openapi.from_url(f"{vault.url}/v1/openapi.json")
        self.http = requests.Session()
        self.validated: set[str] = set()
        self.bodies: list[str] = []  # every answer's body, for checks that a value never comes back

    def call(self, method: str, path: str, template: str | None = None, *, key: str | None = "app", **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if key == "app":
            headers["Authorization"] = f"Bearer {self.vault.app_key}"
        elif key is not None:
            headers["Authorization"] = f"Bearer {key}"
        response = self.http.request(method, f"{self.vault.url}{path}", headers=headers, timeout=30, **kwargs)
        operation = self.schema[template or path][method.upper()]
        # Raises with every failed check (status, headers, content type, body schema).
        operation.validate_response(response)
        request_id = response.headers.get("X-Request-ID", "")
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,128}", request_id), (method, path, response.headers)
        if response.status_code >= 400 and response.headers.get("Alter-Source") == "vault":
            assert response.json()["error"]["request_id"] == request_id
        self.validated.add(f"{method.upper()} {template or path} {response.status_code}")
        self.bodies.append(response.text)
        return response


@pytest.fixture
def described(sandbox: Vault) -> Iterator[Described]:
    yield Described(sandbox)


def test_a_connect_proxy_refresh_revoke_story_answers_as_described(described: Described, sandbox: Vault, page: Page) -> None:
    v = described
    assert v.call("GET", "/v1/openapi.json", key=None).json()["openapi"] == "3.1.0"
    assert v.call("GET", "/v1/providers").status_code == 200
    assert v.call("POST", "/v1/connect/sessions", json={"allowed_origin": "https://app.example/path"}).json()["error"]["code"] == "invalid_origin"
    assert v.call("POST", "/v1/connect/sessions", key=None, json={}).status_code == 401
    assert v.call("POST", "/v1/connect/sessions", data="<x/>", headers={"Content-Type": "application/xml"}).status_code == 415
    assert v.call("OPTIONS", "/v1/connect/sessions/result", key=None, headers={"Origin": sandbox.demo_url}).status_code == 204

    sandbox.sandbox_control(access_token_ttl=1)
    minted = v.call("POST", "/v1/connect/sessions", json={"allowed_providers": ["sandbox"], "allowed_origin": sandbox.demo_url})
    assert minted.status_code == 201
    token = minted.json()["session_token"]
    assert v.call("GET", "/v1/connect/sessions/result", key=token).json()["status"] == "pending"
    assert v.call("GET", "/v1/connect/sessions/result", key="cs_unknown").status_code == 401

    grant_id = widget_connect(page, sandbox, token)["grant_id"]
    connected_by = time.monotonic()
    result = v.call("POST", "/v1/connect/sessions/result", json={"session_token": token}).json()
    assert result["status"] == "completed" and result["grants"][0]["grant_id"] == grant_id
    assert v.call("GET", "/v1/connect/sessions/result", key=token).json()["status"] == "completed"

    assert [g["grant_id"] for g in v.call("GET", "/v1/grants", params={"provider": "sandbox"}).json()["grants"]].count(grant_id) == 1
    assert v.call("GET", f"/v1/grants/{grant_id}", "/v1/grants/{grant_id}").json()["grant_id"] == grant_id
    assert v.call("GET", f"/v1/grants/{uuid.uuid4()}", "/v1/grants/{grant_id}").status_code == 404

    sleep_until_expired(connected_by)  # the access token expired: the proxy refreshes first
    events = f"{sandbox.url}/sandbox/api/calendar/events"
    proxied = v.call("POST", "/v1/request", json={"method": "GET", "url": events, "grant_id": grant_id})
    assert proxied.status_code == 200 and proxied.headers["Alter-Source"] == "upstream"
    assert v.call("POST", "/v1/request", json={"method": "GET", "url": "https://evil.example/", "grant_id": grant_id}).json()["error"]["code"] == "host_not_allowed"
    assert v.call("POST", "/v1/request", json={"method": "BREW", "url": events, "grant_id": grant_id}).status_code == 400
    assert v.call("POST", "/v1/request", json={"method": "GET", "url": events, "grant_id": grant_id, "agent": "nobody"}).json()["error"]["code"] == "agent_not_found"
    issued = v.call("POST", f"/v1/grants/{grant_id}/token", "/v1/grants/{grant_id}/token").json()
    assert issued["token_type"] == "Bearer"

    assert v.call("GET", "/v1/audit", params={"grant_id": grant_id}).json()["events"]
    assert v.call("GET", "/v1/audit", params={"grant_id": "nope"}).status_code == 400
    assert v.call("GET", "/v1/audit", params={"limit": "0"}).status_code == 400

    exercise_agents(v, grant_id)
    exercise_secrets(v)
    exercise_policies(v, grant_id, events)

    # exercise_policies' proxied calls may have refreshed the token again: count from the last of them.
    sleep_until_expired(time.monotonic())
    sandbox.sandbox_control(revoke_refresh=True)
    assert v.call("POST", "/v1/request", json={"method": "GET", "url": events, "grant_id": grant_id}).json()["error"]["code"] == "credential_revoked"

    revoked = v.call("DELETE", f"/v1/grants/{grant_id}", "/v1/grants/{grant_id}")
    assert revoked.json()["grant_id"] == grant_id
    assert v.call("GET", f"/v1/grants/{grant_id}", "/v1/grants/{grant_id}").status_code == 410
    assert v.call("POST", f"/v1/grants/{grant_id}/token", "/v1/grants/{grant_id}/token").status_code == 410
    # Every described operation was exercised at least once.
    operations = {f"{m.upper()} {p}" for p, item in v.schema.raw_schema["paths"].items() for m in item}
    assert operations <= {entry.rsplit(" ", 1)[0] for entry in v.validated}, operations - {e.rsplit(" ", 1)[0] for e in v.validated}


def scrape(vault: Vault, token: str | None = METRICS_TOKEN) -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.get(f"{vault.url}/metrics", headers=headers, timeout=10)
    return response.status_code, response.text


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample, or 0 when the family has no such series yet."""
    total = 0.0
    for line in text.splitlines():
        match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
        if not match:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_metrics_after_a_connect_and_proxy_flow_count_it_without_ids(sandbox: Vault, page: Page) -> None:
    assert scrape(sandbox, None)[0] == 401
    assert scrape(sandbox, "wrong-token-0123456789")[0] == 401
    _, before = scrape(sandbox)
    sandbox.sandbox_control(access_token_ttl=1)
    token = sandbox.mint(allowed_providers=["sandbox"])["session_token"]
    grant_id = widget_connect(page, sandbox, token)["grant_id"]
    sleep_until_expired(time.monotonic())
    headers = {"Authorization": f"Bearer {sandbox.app_key}"}
    proxied = requests.post(f"{sandbox.url}/v1/request", headers=headers, timeout=30,
                            json={"method": "GET", "url": f"{sandbox.url}/sandbox/api/calendar/events", "grant_id": grant_id})
    assert proxied.status_code == 200
    requests.get(f"{sandbox.url}/v1/audit", headers=headers, timeout=10)  # flushes the audit batch

    status, after = scrape(sandbox)
    assert status == 200

    def grew(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert grew("alter_connect_sessions_minted_total") == 1
    assert grew("alter_connect_sessions_finished_total", outcome="completed") == 1
    assert grew("alter_proxy_upstream_duration_seconds_count", provider="sandbox") == 1
    assert grew("alter_refreshes_total", result="ok") == 1
    assert grew("http_requests_total", method="POST", path="/v1/request", status="200") == 1
    assert grew("http_request_duration_seconds_count", method="POST", path="/v1/connect/sessions", status="201") == 1
    assert grew("alter_audit_flush_lag_seconds_count") >= 1
    assert "alter_webhook_queue_depth " in after
    # No id, key or token in any label: paths are route patterns.
    for secret in (grant_id, token, sandbox.app_key or "", grant_id.upper()):
        assert secret not in after
    assert "/v1/grants/:grant" in after or "/v1/grants/" not in after
