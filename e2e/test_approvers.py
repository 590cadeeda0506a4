"""Who approves a held call, and what happens when its run is cut: with the official Python SDK
(`alter-sdk==0.29.0`, unmodified) against running vaults.

- The app hears of a held call through a signed `approval.requested` webhook (a real receiver in
  this test checks the signature), a portal operator approves it on the portal's approvals page
  in Chromium, the call runs once and `await_approval` returns its result.
- An approved call whose vault is killed (SIGKILL) while the provider holds its answer ends as
  `failed` (`approval_interrupted`) once its execution deadline passes, read by a restarted
  vault, and is never sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator

import pytest
from alter_sdk.exceptions import ApprovalExecutionFailedError
from playwright.sync_api import Page

from conftest import Echo, ServerProcess, Vault, alter_cli, alter_env, free_port, http
from sdk_support import IdentityApp, run_sdk
from test_policies import approver_link, await_approval, call, fresh_grant, held, rule
from test_portal import sign_in


class Receiver:
    """A webhook endpoint on 127.0.0.1 that keeps every delivery (headers and exact body)."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.deliveries.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def event(self, type_: str, approval_id: str, timeout: float = 15) -> tuple[dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for headers, body in list(self.deliveries):
                parsed = json.loads(body)
                if parsed["type"] == type_ and parsed["data"]["approval"]["approval_id"] == approval_id:
                    return headers, body
            time.sleep(0.1)
        raise AssertionError(f"no {type_} for {approval_id}: {self.deliveries!r}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def app(vault: Vault) -> IdentityApp:
    return IdentityApp(vault, "Approvers app")


def verify(headers: dict[str, str], body: bytes, secret: str) -> None:
    """`Alter-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>` (docs/api.md)."""
    parts = dict(item.split("=", 1) for item in headers["alter-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), headers
    assert abs(time.time() - int(parts["t"])) < 300


def test_the_app_is_told_by_a_signed_webhook_and_an_operator_approves_in_the_portal(
        vault: Vault, app: IdentityApp, echo: Echo, receiver: Receiver, page: Page) -> None:
    secret = next(line.strip() for line in alter_cli(vault, "apps", "webhook", "--app", app.app_id, "--url", receiver.url).splitlines()
                  if line.strip().startswith("whsec_"))
    _, pending = held(vault, app, echo)
    approval_id = str(pending.approval_id)

    headers, body = receiver.event("approval.requested", approval_id)
    verify(headers, body, secret)
    assert headers["alter-event-type"] == "approval.requested"
    data = json.loads(body)["data"]["approval"]
    assert (data["method"], data["host"], data["path"], data["reason"], data["status"]) == (
        "POST", "127.0.0.1", "/v1/things/7", "ship order 7", "pending")
    assert data["portal_url"] == f"{vault.url}/portal/apps/{app.app_id.lower()}/approvals" and "?" not in json.dumps(data["path"])
    # A forged body does not pass the same check.
    with pytest.raises(AssertionError):
        verify(headers, body.replace(b"ship order 7", b"ship order 8"), secret)

    before = len(echo.calls)
    waiting = await_approval(vault, app, pending.approval_id)
    sign_in(page, vault)
    page.goto(data["portal_url"])
    row = page.locator(f"#approval-{approval_id}")
    assert "ship order 7" in row.inner_text() and "POST 127.0.0.1/v1/things/7" in row.inner_text()
    assert len(echo.calls) == before  # nothing is sent before the decision
    row.locator("input[name=note]").fill("looks right")
    row.locator("button[value=approve]").click()
    page.wait_for_selector(".notice")
    assert "Approved" in page.locator(".notice").inner_text()
    assert page.locator(f"#approval-{approval_id}").count() == 0

    result = waiting.result(timeout=60)
    assert result.status_code == 200 and str(result.approval_id) == approval_id
    assert len(echo.calls) == before + 1
    # The link the app could have handed out no longer decides anything: one decision code.
    status, _ = http("POST", f"{vault.url}/v1/approvals/{approval_id}/approver-link", headers={"Authorization": f"Bearer {app.key}"})
    assert status == 409
    events = json.loads(http("GET", f"{vault.url}/v1/audit?grant_id={pending_grant(vault, app, approval_id)}&limit=100",
                             headers={"Authorization": f"Bearer {app.key}"})[1])["events"]
    approved = [e for e in events if e["action"] == "approval_approved"]
    assert len(approved) == 1 and approved[0].get("context", {}).get("decided_by") == f"operator:{vault.portal_email}", approved


def test_a_rules_approvers_decide_who_may_approve(vault: Vault, app: IdentityApp, echo: Echo, page: Page) -> None:
    """`requires_approval.approvers`: a link-only rule refuses the portal operator (nothing
    decided, nothing sent) and its link approves; an operators-only rule gives no link."""
    def held_by(approvers: list[str]) -> Any:
        grant = fresh_grant(vault, app, echo)
        rule(vault, app, grant, "requires_approval", approvers=approvers)
        pending = call(vault, app, echo.origin + "/v1/things/9", grant, proxy=True, method="POST", json={"n": 9}, reason="ship order 9")
        assert pending.status == "pending"
        return pending

    link_only = held_by(["link"])
    before = len(echo.calls)
    sign_in(page, vault)
    page.goto(f"{vault.url}/portal/apps/{app.app_id.lower()}/approvals")
    row = page.locator(f"#approval-{link_only.approval_id}")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        row.locator("button[value=approve]").click()
    assert answer.value.status == 403
    assert "does not let a portal operator decide it" in page.inner_text(".error")
    status = run_sdk(vault.url, app.key, lambda sdk: sdk.get_approval_status(str(link_only.approval_id)))
    assert status.status == "pending" and len(echo.calls) == before
    page.goto(approver_link(vault, app, link_only.approval_id))
    page.locator("#approve").click()
    page.wait_for_selector("#alter-notice")
    assert await_approval(vault, app, link_only.approval_id).result(timeout=60).status_code == 200
    assert len(echo.calls) == before + 1

    operators_only = held_by(["operators"])
    status, body = http("POST", f"{vault.url}/v1/approvals/{operators_only.approval_id}/approver-link",
                        headers={"Authorization": f"Bearer {app.key}"})
    assert status == 403 and json.loads(body)["error"]["code"] == "approver_not_allowed", body
    # A rule naming nobody, or someone unknown, is refused when it is made.
    for approvers in [[], ["boss"]]:
        status, body = http("POST", f"{vault.url}/v1/policies", {"scope": "app", "kind": "requires_approval", "settings": {"approvers": approvers}},
                            headers={"Authorization": f"Bearer {app.key}"})
        assert status == 400 and "approvers" in body, body


def pending_grant(vault: Vault, app: IdentityApp, approval_id: str) -> str:
    status, body = http("GET", f"{vault.url}/v1/approvals/{approval_id}", headers={"Authorization": f"Bearer {app.key}"})
    assert status == 200, body
    return json.loads(body)["grant_id"]


# -- a run cut by SIGKILL ------------------------------------------------------------------------

class HeldUpstream:
    """A service that answers only when the test lets it: the approved call waits here."""

    def __init__(self) -> None:
        self.calls = 0
        self.arrived = threading.Event()
        self.release = threading.Event()
        upstream = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                upstream.calls += 1
                upstream.arrived.set()
                upstream.release.wait(30)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the vault that asked is gone

            do_GET = do_POST = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


class SQLiteServe(ServerProcess):
    """`alter serve` on a SQLite file in `data_dir`, which a restart on the same directory reuses."""

    EXECUTION_SECONDS = 2

    def __init__(self, binary: str, data_dir: Path | None = None) -> None:
        super().__init__("alter-kill-")
        if data_dir is not None:
            os.rmdir(self.data_dir)
            self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.env = alter_env(self.data_dir, self.url)
        self.env.update(ALTER_PORT=str(self.port), ALTER_HOST="127.0.0.1", ALTER_APPROVAL_EXECUTION_SECONDS=str(self.EXECUTION_SECONDS))
        self.env.pop("DATABASE_URL", None)
        self._start([binary, "serve"], name=f"alter-serve-{self.port}", cwd=self.data_dir, env=self.env)

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alter serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if http("GET", f"{self.url}/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"alter serve was not ready within {timeout:.0f} s:\n{self.output()}")

    def cli(self, *args: str, input: str | None = None) -> str:
        import subprocess
        done = subprocess.run([self.command[0], *args], env=self.env, cwd=self.data_dir, capture_output=True, text=True, timeout=120, input=input)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.mark.skipif(bool(os.environ.get("ALTER_E2E_DATABASE_URL")), reason="runs its own SQLite vault")
def test_an_approved_call_cut_by_sigkill_ends_as_failed_and_is_never_sent_again(vault: Vault) -> None:
    upstream = HeldUpstream()
    first = SQLiteServe(vault.command[0])
    second: SQLiteServe | None = None
    try:
        first.wait_until_ready()
        app_id = next(line[4:] for line in first.cli("apps", "create", "--name", "Kill app").splitlines() if line.startswith("id: "))
        key = next(line.strip() for line in first.cli("keys", "create", "--app", app_id).splitlines() if line.strip().startswith("alter_rk_"))
        out = first.cli("secrets", "create", "--app", app_id, "--name", "held", "--template", "bearer", "--allowed-hosts", upstream.origin,
                        "--allow-private-network", input="sv-held-secret")
        secret_id = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)["id"]
        auth = {"Authorization": f"Bearer {key}"}
        status, body = http("POST", f"{first.url}/v1/secrets/{secret_id}/grants", {"principal": {"type": "system"}}, headers=auth)
        assert status == 201, body
        grant_id = json.loads(body)["grant_id"]
        status, body = http("POST", f"{first.url}/v1/policies", {"scope": "grant", "target": grant_id, "kind": "requires_approval", "settings": {}}, headers=auth)
        assert status == 201, body
        pending = run_sdk(first.url, key, lambda sdk: sdk.proxy_request("POST", upstream.origin + "/refund", grant_id=grant_id, json={"n": 1}, reason="refund 1"))
        approval_id = str(pending.approval_id)
        link = json.loads(http("POST", f"{first.url}/v1/approvals/{approval_id}/approver-link", headers=auth)[1])["approver_url"]
        token = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["t"][0]

        # The approver's click runs the call; the provider holds its answer; the vault dies.
        form = urllib.parse.urlencode({"t": token, "decision": "approve"})
        threading.Thread(target=lambda: _post_quietly(f"{first.url}/approvals/{approval_id}/decision", form), daemon=True).start()
        assert upstream.arrived.wait(20), "the approved call never reached the provider"
        first.kill()
        upstream.release.set()

        second = SQLiteServe(vault.command[0], data_dir=first.data_dir)
        second.wait_until_ready()
        status, body = http("GET", f"{second.url}/v1/approvals/{approval_id}", headers=auth)
        assert status == 200 and json.loads(body)["status"] in ("executing", "failed"), body
        time.sleep(max(0.0, SQLiteServe.EXECUTION_SECONDS - 0.5))
        deadline = time.monotonic() + 10
        while True:
            read = json.loads(http("GET", f"{second.url}/v1/approvals/{approval_id}", headers=auth)[1])
            if read["status"] != "executing" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert read["status"] == "failed" and read["execution_error"].startswith("approval_interrupted"), read
        with pytest.raises(ApprovalExecutionFailedError):
            run_sdk(second.url, key, lambda sdk: sdk.await_approval(approval_id, timeout=10, poll_interval=0.5))
        assert upstream.calls == 1  # never sent again
    finally:
        upstream.stop()
        if first.process.poll() is None:
            first.kill()
        if second is not None:
            second.stop()  # removes the shared data directory
        else:
            first.stop()


def _post_quietly(url: str, form: str) -> None:
    import urllib.request
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=form.encode(), method="POST",
                                                      headers={"Content-Type": "application/x-www-form-urlencoded"}), timeout=30)
    except OSError:
        pass  # the vault was killed under it
