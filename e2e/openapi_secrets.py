"""The managed-secrets part of test_openapi.py's described story: every `/v1/secrets…`
operation called once or more against the running vault, each answer validated against the
description, and the secret's value absent from every answer."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

VALUE = "sk-described-0123456789"
ROTATED = "sk-described-rotated-9876543210"


class _Recorder(BaseHTTPRequestHandler):
    """An upstream API that records the Authorization header it got and answers 200."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        type(self).seen.append(self.headers.get("Authorization", ""))
        body = json.dumps({"ok": True}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def exercise_secrets(v: Any) -> None:
    """`v` is test_openapi's `Described`. The secret's allowed host is a local recorder, so
    `/v1/request` really carries the secret there."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _exercise(v, f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        server.server_close()


def _exercise(v: Any, upstream: str) -> None:
    templates = v.call("GET", "/v1/secret-templates").json()
    assert {"bearer", "api_key_header", "api_key_query", "basic"} <= {t["slug"] for t in templates["templates"]}

    created = v.call("POST", "/v1/secrets", json={
        "name": "Described key", "template": "bearer", "allowed_hosts": [upstream],
        "allow_private_network": True, "value": {"token": VALUE}})
    assert created.status_code == 201, created.text
    secret_id = created.json()["id"]
    assert v.call("POST", "/v1/secrets", json={"name": "No value", "template": "bearer"}).status_code == 400
    assert v.call("POST", "/v1/secrets", json={"name": "x", "template": "nope", "value": {"token": "t"}}).status_code == 400

    one = "/v1/secrets/{secret}"
    assert v.call("GET", "/v1/secrets").json()["secrets"][0]["id"] == secret_id
    assert v.call("GET", f"/v1/secrets/{secret_id}", one).json()["slug"] == "described-key"
    assert v.call("GET", "/v1/secrets/nobody", one).status_code == 404

    grants = "/v1/secrets/{secret}/grants"
    granted = v.call("POST", f"/v1/secrets/{secret_id}/grants", grants, json={"principal": {"type": "system", "label": "described"}})
    assert granted.status_code == 201, granted.text
    grant_id = granted.json()["grant_id"]
    assert v.call("POST", f"/v1/secrets/{secret_id}/grants", grants, json={"principal": {"type": "group"}}).status_code == 400
    assert [g["grant_id"] for g in v.call("GET", f"/v1/secrets/{secret_id}/grants", grants).json()["grants"]] == [grant_id]

    called = v.call("POST", "/v1/request", json={"method": "GET", "url": f"{upstream}/v1/things", "grant_id": grant_id})
    assert called.status_code == 200 and called.json() == {"ok": True}, called.text
    assert _Recorder.seen == [f"Bearer {VALUE}"]
    assert v.call("POST", "/v1/request", json={"method": "GET", "url": "https://evil.example/", "grant_id": grant_id}).json()["error"]["code"] == "host_not_allowed"
    assert len(_Recorder.seen) == 1  # refused before any call

    value = "/v1/secrets/{secret}/value"
    assert v.call("PUT", f"/v1/secrets/{secret_id}/value", value, json={"value": {"token": ROTATED}}).status_code == 200
    v.call("POST", "/v1/request", json={"method": "GET", "url": f"{upstream}/v1/things", "grant_id": grant_id})
    assert _Recorder.seen[-1] == f"Bearer {ROTATED}"  # the same grant_id carries the new value at once
    assert v.call("PUT", f"/v1/secrets/{secret_id}/value", value, json={"value": {}}).status_code == 400
    hosts = "/v1/secrets/{secret}/allowed-hosts"
    assert v.call("PUT", f"/v1/secrets/{secret_id}/allowed-hosts", hosts, json={"allowed_hosts": [upstream], "allow_private_network": True}).status_code == 200
    assert v.call("PUT", f"/v1/secrets/{secret_id}/allowed-hosts", hosts, json={"allowed_hosts": ["ftp://x"]}).status_code == 400

    revoke = "/v1/secrets/{secret}/grants/{grant_id}"
    assert v.call("DELETE", f"/v1/secrets/{secret_id}/grants/{grant_id}", revoke).status_code in (200, 204)
    assert v.call("DELETE", f"/v1/secrets/{secret_id}", one).status_code in (200, 204)
    assert v.call("GET", f"/v1/secrets/{secret_id}", one).status_code == 404
    assert not any(s in entry for entry in v.bodies for s in (VALUE, ROTATED))
