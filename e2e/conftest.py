"""Fixtures for the browser tests: a running Alter Vault (`alter demo`) and Chromium.

Environment:
  ALTER_BIN                path of the `alter` binary (default: .build/debug/alter)
  ALTER_E2E_DATABASE_URL   run the vault on this database instead of a fresh SQLite file
  ALTER_E2E_CHROMIUM       Chromium to drive (default: /usr/bin/chromium, Debian's)
  ALTER_E2E_HEADED=1       show the browser (needs a display)

Shared servers: `vault` (one `alter demo` per session), `echo` (a service API that records its
calls, for the managed-secret and policy tests), `dot_server`.

On a failing test, a screenshot of every open page, the browser console and the vault's
output are saved under e2e/.artifacts/<test name>/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).resolve().parent / ".artifacts"
CHROMIUM = os.environ.get("ALTER_E2E_CHROMIUM", "/usr/bin/chromium")
START_TIMEOUT_S = 60.0
METRICS_TOKEN = "e2e-metrics-token-0123456789"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 10.0) -> tuple[int, str]:
    """One HTTP request; returns (status, body text) for every status, raises only on I/O."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def alter_env(data_dir: Path, public_url: str) -> dict[str, str]:
    """The environment an `alter` process of these tests runs with."""
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)  # a stray one would point the vault at a real database
    if os.environ.get("ALTER_E2E_DATABASE_URL"):
        env["DATABASE_URL"] = os.environ["ALTER_E2E_DATABASE_URL"]
    env["ALTER_DATA_DIR"] = str(data_dir)
    env["ALTER_PUBLIC_URL"] = public_url
    # A request waits this long for another caller's refresh of the same grant before it
    # answers token_refresh_in_progress (10 s by default): short, so a test can see it.
    env.setdefault("ALTER_REFRESH_WAIT_SECONDS", "2")
    # `alter demo` serves the sandbox providers; the CLI run beside it must know them too.
    env["ALTER_SANDBOX"] = "1"
    # GET /metrics exists only with a token (docs/operations.md); the metrics test scrapes it.
    env.setdefault("ALTER_METRICS_TOKEN", METRICS_TOKEN)
    # `alter demo` only (test-only, README): cheap scrypt for the operator passwords it sets,
    # so each portal sign-in of a debug build takes milliseconds, not seconds. The CLI and
    # `alter serve` run with it too and ignore it (test_portal.py checks both costs).
    env.setdefault("ALTER_DEMO_WEAK_PASSWORD_HASHING", "1")
    return env


class ServerProcess:
    """A server started for the tests: its output is collected line by line (for failure
    reports and for the lines it announces itself with), and `stop()` ends it and removes
    its data directory."""

    def __init__(self, data_prefix: str) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix=data_prefix))
        self._lines: list[str] = []
        self._lock = threading.Lock()

    def _start(self, command: list[str], name: str, cwd: Path, env: dict[str, str] | None = None) -> None:
        self.command = command
        self.process = subprocess.Popen(
            command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1)
        threading.Thread(target=self._read_output, name=name, daemon=True).start()

    def _read_output(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.rstrip("\n")
            with self._lock:
                self._lines.append(line)
            self._on_line(line)

    def _on_line(self, line: str) -> None:
        """Reads what a server announces (URLs, keys, configuration)."""

    def output(self) -> str:
        """Everything the process printed so far (stdout and stderr)."""
        with self._lock:
            return "\n".join(self._lines)

    def wait_until_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        raise NotImplementedError

    def serve(self) -> Iterator["ServerProcess"]:
        """For a session fixture: ready (or the test fails with the server's output), then stopped."""
        try:
            self.wait_until_ready()
        except RuntimeError as error:
            self.stop()
            pytest.fail(str(error), pytrace=False)
        yield self
        self.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.data_dir, ignore_errors=True)


class Vault(ServerProcess):
    """A running `alter demo`: the vault at `url`, the demo app at `demo_url`."""

    def __init__(self, binary: Path) -> None:
        super().__init__("alter-e2e-")
        self.port = free_port()
        self.demo_port = free_port()
        while self.demo_port == self.port:
            self.demo_port = free_port()
        self.url = f"http://localhost:{self.port}"
        self.demo_url = f"http://localhost:{self.demo_port}"
        self.app_key: str | None = None
        # The operator `alter demo` creates for the portal (test_portal.py signs in with it).
        self.portal_email: str | None = None
        self.portal_password: str | None = None

        env = alter_env(self.data_dir, self.url)
        self._start([str(binary), "demo", "--hostname", "127.0.0.1", "--port", str(self.port), "--demo-port", str(self.demo_port)],
                    name="alter-demo-output", cwd=self.data_dir, env=env)

    def _on_line(self, line: str) -> None:
        if self.app_key is None:
            match = re.search(r"App key:\s*(\S+)", line)
            if match:
                self.app_key = match.group(1)
        match = re.search(r"Alter Vault:\s*(http\S+)", line)
        if match:
            self.url = match.group(1).rstrip("/")
        match = re.search(r"Portal: \S+ \(sign in as (\S+), password: (\S+)\)", line)
        if match:
            self.portal_email, self.portal_password = match.group(1), match.group(2)
        match = re.search(r"Demo app:\s*(http\S+)", line)
        if match:
            self.demo_url = match.group(1).rstrip("/")

    # -- lifecycle --------------------------------------------------------------------

    def wait_until_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        last_problem = "no answer yet"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.2)  # let the reader thread drain the last lines
                raise RuntimeError(
                    f"`{' '.join(self.command)}` exited with {self.process.returncode} "
                    f"before it was ready. Its output:\n{self.output()}")
            try:
                status, body = http("GET", f"{self.url}/healthz", timeout=2)
                if status == 200 and self.app_key:
                    return
                last_problem = (f"/healthz answered {status}" if status != 200
                                else "no `App key: ` line printed yet")
            except OSError as error:
                last_problem = f"/healthz: {error}"
            time.sleep(0.2)
        raise RuntimeError(
            f"`{' '.join(self.command)}` was not ready within {timeout:.0f} s "
            f"({last_problem}). Its output:\n{self.output()}")

    # -- API helpers ------------------------------------------------------------------

    def mint(self, **fields: Any) -> dict[str, Any]:
        """Mints a Connect session as the demo app's backend would; returns the 201 body."""
        fields.setdefault("allowed_origin", self.demo_url)
        fields.setdefault("return_url", self.demo_url + "/")
        status, body = http("POST", f"{self.url}/v1/connect/sessions", fields,
                            headers={"Authorization": f"Bearer {self.app_key}"})
        if status != 201:
            raise AssertionError(f"POST /v1/connect/sessions {fields!r} answered {status}: {body}")
        return json.loads(body)

    def sandbox_control(self, **switches: Any) -> Any:
        """Flips the sandbox provider's switches, e.g. coop=True, error="server_error"."""
        status, body = http("POST", f"{self.url}/sandbox/control", switches)
        if not 200 <= status < 300:
            raise AssertionError(f"POST /sandbox/control {switches!r} answered {status}: {body}")
        return json.loads(body) if body.strip() else None

    def reset_sandbox(self) -> Any:
        return self.sandbox_control(reset=True)


@pytest.fixture(scope="session")
def vault() -> Iterator[Vault]:
    binary = Path(os.environ.get("ALTER_BIN", REPO / ".build" / "debug" / "alter"))
    if not binary.is_file():
        pytest.fail(f"{binary} not found: build it first (`swift build`), "
                    f"or set ALTER_BIN to the alter binary", pytrace=False)
    yield from Vault(binary).serve()


def sleep_until_expired(stored_by: float, lifetime: float = 1.0) -> None:
    """Waits until an access token stored before `stored_by` (a time.monotonic() taken after the
    call that stored it returned) is `lifetime` seconds old: expired, so the vault's next use
    refreshes it. Tests shorten the sandbox's tokens with `sandbox_control(access_token_ttl=1)`;
    counting from the store rather than sleeping a fixed time skips what the test already waited."""
    time.sleep(max(0.0, stored_by + lifetime - time.monotonic()))


@pytest.fixture
def sandbox(vault: Vault) -> Iterator[Vault]:
    """The sandbox provider with default switches, reset again afterwards."""
    vault.reset_sandbox()
    yield vault
    vault.reset_sandbox()


# -- a service API the vault's managed secrets call (test_managed_secrets.py, test_policies.py) --

class Echo:
    """A service API on 127.0.0.1 that answers 200 with what it got, and remembers each call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        echo = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                parts = urlsplit(self.path)
                call = {"path": parts.path, "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
                        "headers": {k.lower(): v for k, v in self.headers.items()}}
                echo.calls.append(call)
                body = json.dumps(call).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="session")
def echo() -> Iterator[Echo]:
    """One echo for the session: tests count the calls they add (`len(echo.calls)` before and after)."""
    server = Echo()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_pair(vault: Vault) -> Iterator[Any]:
    """Two `alter serve` instances on one fresh PostgreSQL database (sdk_support.PostgresPair),
    once per session: starting the pair costs seconds, and its users (test_official_sdk.py,
    test_policies.py) each make their own grants and count only what they add."""
    from sdk_support import PostgresPair  # sdk_support imports this module
    pair = PostgresPair(vault.command[0])
    try:
        yield pair
    finally:
        pair.stop()


# -- browsers ---------------------------------------------------------------------------

def _launch(playwright: Playwright, **options: Any) -> Browser:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: apt-get install chromium "
                    f"(or set ALTER_E2E_CHROMIUM)", pytrace=False)
    headless = os.environ.get("ALTER_E2E_HEADED") != "1"
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=headless, **options)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium as Playwright launches it: popups are never blocked."""
    launched = _launch(playwright)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def blocking_browser(playwright: Playwright) -> Iterator[Browser]:
    """Chromium with its popup blocker on, as a person's browser has it."""
    launched = _launch(playwright, ignore_default_args=["--disable-popup-blocking"])
    yield launched
    launched.close()


class _Recorder:
    """Keeps the console of every page of a context, popups included."""

    def __init__(self, context: BrowserContext) -> None:
        self.lines: list[str] = []
        context.on("page", self._watch)

    def _watch(self, page: Page) -> None:
        page.on("console", lambda m: self.lines.append(f"[{page.url}] {m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.lines.append(f"[{page.url}] pageerror: {e}"))


def _page_fixture(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    context = browser.new_context()
    recorder = _Recorder(context)
    page = context.new_page()
    try:
        yield page
    finally:
        report = getattr(request.node, "rep_call", None)
        if report is not None and report.failed:
            _save_artifacts(request, context, recorder)
        context.close()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    """A fresh context and page per test, from `browser`."""
    yield from _page_fixture(request, browser)


@pytest.fixture
def blocking_page(request: pytest.FixtureRequest, blocking_browser: Browser) -> Iterator[Page]:
    """A fresh context and page per test, from `blocking_browser` (popup blocker on)."""
    yield from _page_fixture(request, blocking_browser)


def _save_artifacts(request: pytest.FixtureRequest, context: BrowserContext,
                    recorder: _Recorder) -> None:
    folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for index, open_page in enumerate(context.pages):
            try:
                open_page.screenshot(path=str(folder / f"page-{index}.png"), full_page=True)
            except Exception as error:  # a closed popup must not hide the test's own failure
                recorder.lines.append(f"(screenshot of page {index} failed: {error})")
        (folder / "console.log").write_text("\n".join(recorder.lines) + "\n")
        if "vault" in request.fixturenames:
            running: Vault = request.getfixturevalue("vault")
            (folder / "vault.log").write_text(running.output() + "\n")
        print(f"\nartifacts: {folder}")
    except Exception as error:
        print(f"\ncould not save artifacts to {folder}: {error}")


# test_widget_engines.py: which Chromium, Firefox and WebKitGTK the widget was tested in, read
# from the reports (under pytest-xdist they come from the workers; module state stays there).
_ENGINE_VERSIONS: dict[str, None] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for name, value in report.user_properties:
        if name == "browser_engine":
            _ENGINE_VERSIONS.setdefault(value)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for version in _ENGINE_VERSIONS:
        terminalreporter.write_line(f"browser engine tested: {version}")


# With ALTER_E2E_WORKERS=N, scripts/test runs the files on N pytest-xdist workers (`-n N --dist
# loadfile --no-loadscope-reorder`): each file on one worker, with its own `vault`, browsers and
# `echo` (session fixtures are per worker), handed out in collection order. The longest files
# go first, so that no worker picks one up near the end while the other sits idle.
LONGEST_FILES_FIRST = ["test_schemathesis.py", "test_conformance_dot.py", "test_portal.py", "test_widget_engines.py"]


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        name = item.path.name
        return LONGEST_FILES_FIRST.index(name) if name in LONGEST_FILES_FIRST else len(LONGEST_FILES_FIRST)
    items.sort(key=rank)  # stable: each file keeps its own order (test_schemathesis.py relies on it)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Lets fixtures see in teardown whether the test itself failed.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# -- conformance against django-oauth-toolkit (test_conformance_dot.py) -----------------------
#
# scripts/dot-server runs django-oauth-toolkit on loopback; the vault knows it only as a
# custom provider that `alter providers add-custom` added from its RFC 8414 metadata, for an
# app of its own (so the demo app's sessions, which other tests use, are unchanged).

# Short, so a test can watch the access token expire: the vault refreshes at 80 % of a token's
# lifetime (RefreshCoordinator.skewFraction), 4 s after it was stored; DOT's lifetimes are whole seconds.
DOT_ACCESS_TOKEN_SECONDS = 5


class DotServer(ServerProcess):
    """A running scripts/dot-server: `config` is its `DOT config:` line."""

    def __init__(self, redirect_uri: str) -> None:
        super().__init__("alter-dot-")
        self._ready = threading.Event()
        self.config: dict[str, Any] = {}
        self._start([str(REPO / "scripts" / "dot-server"), "--redirect-uri", redirect_uri,
                     "--data-dir", str(self.data_dir), "--access-token-seconds", str(DOT_ACCESS_TOKEN_SECONDS)],
                    name="dot-server-output", cwd=REPO)

    def _on_line(self, line: str) -> None:
        if line.startswith("DOT config: "):
            self.config = json.loads(line[len("DOT config: "):])
            self._ready.set()

    def wait_until_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(f"scripts/dot-server exited with {self.process.returncode}:\n{self.output()}")
            if self._ready.is_set():
                try:
                    if http("GET", self.config["discovery_url"], timeout=2)[0] == 200:
                        return
                except OSError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"scripts/dot-server was not ready within {timeout:.0f} s:\n{self.output()}")

    def manage(self, *args: str) -> str:
        """Runs e2e/dot/manage.py against this server's database; returns its output."""
        python = os.environ.get("DOT_PYTHON", str(REPO / ".venv" / "bin" / "python"))
        env = dict(os.environ, DOT_DATA_DIR=str(self.data_dir), DOT_PUBLIC_URL=self.config["url"],
                   DOT_ACCESS_TOKEN_SECONDS=str(DOT_ACCESS_TOKEN_SECONDS))
        result = subprocess.run([python, "manage.py", *args], cwd=REPO / "e2e" / "dot", env=env,
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout.strip()



@pytest.fixture(scope="session")
def dot_server(vault: Vault) -> Iterator[DotServer]:
    yield from DotServer(redirect_uri=f"{vault.url}/oauth/callback/dot").serve()


def alter_cli(vault: Vault, *args: str, input: str | None = None) -> str:
    """Runs the `alter` command on the running vault's storage, as its operator would
    (`input`: what the operator pipes to it, e.g. a secret's value)."""
    result = subprocess.run([vault.command[0], *args], env=alter_env(vault.data_dir, vault.url), cwd=vault.data_dir,
                            capture_output=True, text=True, timeout=120, input=input)
    if result.returncode != 0:
        raise AssertionError(f"alter {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


class DotApp:
    """An app of the vault whose only provider is the DOT server, added with the CLI."""

    def __init__(self, vault: Vault, dot: DotServer) -> None:
        self.vault = vault
        self.dot = dot
        self.provider = "dot"
        created = alter_cli(vault, "apps", "create", "--name", "DOT conformance", "--website-url", vault.demo_url)
        self.app_id = next(line[4:] for line in created.splitlines() if line.startswith("id: "))
        keys = alter_cli(vault, "keys", "create", "--app", self.app_id)
        self.key = next(line.strip() for line in keys.splitlines() if line.strip().startswith("alter_rk_"))
        self.added = alter_cli(
            vault, "providers", "add-custom", "--app", self.app_id, "--id", self.provider,
            "--name", "Django OAuth Toolkit", "--discovery-url", dot.config["discovery_url"],
            "--userinfo-url", dot.config["api_url"], "--account-field", "username", "--email-field", "email",
            "--api-host", dot.config["url"], "--scopes", "read", "--allow-private-network")
        alter_cli(vault, "providers", "configure", "--app", self.app_id, "--provider", self.provider,
                  "--client-id", dot.config["client_id"], input=dot.config["client_secret"])

    def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Calls the vault's API with this app's key; returns (status, decoded JSON or text)."""
        status, text = http(method, f"{self.vault.url}{path}", body,
                            headers={"Authorization": f"Bearer {self.key}"}, timeout=30)
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def mint(self) -> str:
        status, body = self.api("POST", "/v1/connect/sessions", {
            "allowed_providers": [self.provider], "allowed_origin": self.vault.demo_url})
        assert status == 201, body
        return body["session_token"]


@pytest.fixture(scope="session")
def dot_app(vault: Vault, dot_server: DotServer) -> DotApp:
    return DotApp(vault, dot_server)
