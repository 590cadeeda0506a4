"""The policies part of test_openapi.py's described story: every `/v1/policies…` and
`/v1/approvals…` operation called against the running vault, and `/v1/request` and
`/v1/grants/{id}/token` answering a rule's refusal and a held call as described. The rules
are removed again, so the rest of the story uses the grant as before."""

from __future__ import annotations

import datetime
from typing import Any


def exercise_policies(v: Any, grant_id: str, url: str) -> None:
    """`v` is test_openapi's `Described`; `grant_id` a live sandbox grant; `url` its API."""
    one = "/v1/policies/{rule}"
    assert v.call("POST", "/v1/policies", json={"scope": "galaxy", "kind": "rate_limit"}).json()["error"]["code"] == "invalid_request"
    assert v.call("POST", "/v1/policies", json={"scope": "agent", "target": "nobody", "kind": "rate_limit", "settings": {"limit": 1}}).status_code == 404
    today = datetime.datetime.now(datetime.timezone.utc).strftime("%a").lower()[:3]
    other_days = [d for d in ["sun", "mon", "tue", "wed", "thu", "fri", "sat"] if d != today]
    window = v.call("POST", "/v1/policies", json={"scope": "grant", "target": grant_id, "kind": "time_window",
                                                   "settings": {"weekdays": other_days}, "description": "not today"})
    assert window.status_code == 201 and window.json()["settings"] == {"weekdays": other_days}
    refused = v.call("POST", "/v1/request", json={"method": "GET", "url": url, "grant_id": grant_id})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "outside_time_window"
    assert v.call("GET", f"/v1/policies/{window.json()['id']}", one).json()["kind"] == "time_window"
    assert v.call("DELETE", f"/v1/policies/{window.json()['id']}", one).status_code == 204
    assert v.call("GET", f"/v1/policies/{window.json()['id']}", one).status_code == 404
    assert v.call("DELETE", "/v1/policies/nothing", one).status_code == 404

    limit = v.call("POST", "/v1/policies", json={"scope": "grant", "target": grant_id, "kind": "rate_limit", "settings": {"limit": 1}}).json()["id"]
    token = "/v1/grants/{grant_id}/token"
    assert v.call("POST", f"/v1/grants/{grant_id}/token", token).status_code == 200
    limited = v.call("POST", f"/v1/grants/{grant_id}/token", token)
    assert limited.status_code == 429 and 0 < int(limited.headers["Retry-After"]) <= 60
    v.call("DELETE", f"/v1/policies/{limit}", one)

    approval_rule = v.call("POST", "/v1/policies", json={"scope": "grant", "target": grant_id, "kind": "requires_approval", "settings": {}}).json()["id"]
    assert [r["id"] for r in v.call("GET", "/v1/policies").json()["rules"]] == [approval_rule]
    assert v.call("POST", f"/v1/grants/{grant_id}/token", token).json()["error"]["code"] == "hitl_grant_requires_proxy"
    pending = v.call("POST", "/v1/request", json={"method": "GET", "url": url, "grant_id": grant_id})
    assert pending.status_code == 202
    approval_id = pending.json()["approval_id"]
    assert v.call("GET", "/v1/approvals", params={"status": "pending"}).json()["approvals"][0]["approval_id"] == approval_id
    assert v.call("GET", "/v1/approvals", params={"status": "maybe"}).status_code == 400
    assert v.call("GET", f"/v1/approvals/{approval_id}", "/v1/approvals/{approval}").json()["status"] == "pending"
    assert v.call("GET", "/v1/approvals/nothing", "/v1/approvals/{approval}").status_code == 404
    link = "/v1/approvals/{approval}/approver-link"
    assert "?t=apv_" in v.call("POST", f"/v1/approvals/{approval_id}/approver-link", link).json()["approver_url"]
    assert v.call("POST", "/v1/approvals/nothing/approver-link", link).status_code == 404
    v.call("DELETE", f"/v1/policies/{approval_rule}", one)
    assert v.call("GET", "/v1/policies").json()["rules"] == []
