"""The agents part of test_openapi.py's described story: every `/v1/agents…` operation called
once or more against the running vault, each answer validated against the description."""

from __future__ import annotations

from typing import Any


def exercise_agents(v: Any, grant_id: str) -> None:
    """`v` is test_openapi's `Described`; `grant_id` a live grant of its app."""
    created = v.call("POST", "/v1/agents", json={"name": "described-bot", "scopes": {"sandbox": ["calendar.read"]}, "metadata": {"n": 1}})
    assert created.status_code == 201 and created.json()["api_key"].startswith("alter_ak_")
    agent_id, key_id = created.json()["id"], created.json()["key_id"]
    assert v.call("POST", "/v1/agents", json={"name": "described-bot"}).json()["error"]["code"] == "agent_name_exists"
    assert v.call("POST", "/v1/agents", json={"name": "Not Valid"}).json()["error"]["code"] == "invalid_request"
    assert v.call("GET", "/v1/agents", params={"name": "described-bot"}).json()["items"][0]["id"] == agent_id
    assert v.call("GET", "/v1/agents", params={"limit": "ten"}).status_code == 400
    one = "/v1/agents/{agent_id}"
    assert v.call("GET", f"/v1/agents/{agent_id}", one).json()["name"] == "described-bot"
    assert v.call("GET", "/v1/agents/nobody", one).status_code == 404
    patched = v.call("PATCH", f"/v1/agents/{agent_id}?expected_version=1", one, json={"display_name": "Described"})
    assert patched.json()["version"] == 2
    assert v.call("PATCH", f"/v1/agents/{agent_id}?expected_version=1", one, json={"scopes": {}}).status_code == 409

    keys = "/v1/agents/{agent_id}/keys"
    assert len(v.call("GET", f"/v1/agents/{agent_id}/keys", keys).json()["items"]) == 1
    assert v.call("POST", f"/v1/agents/{agent_id}/keys", keys).status_code == 201
    for action, status in (("deprecate", "deprecated"), ("undeprecate", "active")):
        path = "/v1/agents/{agent_id}/keys/{key_id}/" + action
        assert v.call("POST", f"/v1/agents/{agent_id}/keys/{key_id}/{action}", path).json()["status"] == status
    key = "/v1/agents/{agent_id}/keys/{key_id}"
    assert v.call("DELETE", f"/v1/agents/{agent_id}/keys/{key_id}", key).json()["status"] == "revoked"
    assert v.call("DELETE", f"/v1/agents/{agent_id}/keys/{key_id}?force=maybe", key).status_code == 400

    delegation = "/v1/grants/{grant_id}/delegations/{agent_id}"
    assert v.call("DELETE", f"/v1/grants/{grant_id}/delegations/{agent_id}", delegation).status_code == 204
    assert v.call("DELETE", f"/v1/grants/{grant_id}/delegations/nobody", delegation).status_code == 404
    assert v.call("DELETE", f"/v1/agents/{agent_id}", one).json()["status"] == "revoked"
