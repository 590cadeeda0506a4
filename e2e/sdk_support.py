"""Helpers for driving the vault with the official Alter SDK (`alter-sdk` from PyPI).

The SDK is async and reads its backend from `ALTER_BASE_URL` when a client is built. Each
call here builds a fresh `App` in its own thread and event loop (`run_sdk`), so tests can
mix it freely with Playwright's sync API. Requests signed by hand (`signed_request`) follow
the reference's recipe, not the SDK's code, to send what the SDK never would.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from typing import Any, Awaitable, Callable
from urllib.parse import unquote

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from conftest import REPO, ServerProcess, Vault, alter_cli, alter_env, free_port, http

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="alter-sdk")


def base_url(url: str) -> str:
    """The SDK takes plain http only on literal loopback: bind and name 127.0.0.1."""
    return url.replace("://localhost:", "://127.0.0.1:")


def start_sdk(vault_url: str, key: str, body: Callable[[Any], Awaitable[Any]], **app_options: Any
              ) -> concurrent.futures.Future[Any]:
    """Starts `await body(app)` with `App(api_key=key, **app_options)` against `vault_url`,
    without waiting: for a call a browser completes meanwhile."""
    from alter_sdk import App

    async def main() -> Any:
        os.environ["ALTER_BASE_URL"] = base_url(vault_url)
        async with App(api_key=key, **app_options) as app:
            return await body(app)

    return _POOL.submit(asyncio.run, main())


def run_sdk(vault_url: str, key: str, body: Callable[[Any], Awaitable[Any]], **app_options: Any) -> Any:
    """Runs `await body(app)` and returns its result (or raises what it raised)."""
    return start_sdk(vault_url, key, body, **app_options).result(timeout=120)


# -- hand-made signed requests (reference §3) ------------------------------------------------

def signature_headers(key: str, method: str, path: str, body: bytes, *, timestamp: int | None = None,
                      nonce: str | None = None) -> dict[str, str]:
    """The headers the SDK would send for `method path body` (legacy form, no identity)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(16)
    content = hashlib.sha256(body).hexdigest()
    signing_key = hmac.new(key.encode(), b"alter-signing-v1", hashlib.sha256).digest()
    canonical = "\n".join([method.upper(), unquote(path), stamp, nonce, content, ""])
    return {
        "x-api-key": key,
        "X-Alter-Timestamp": stamp,
        "X-Alter-Nonce": nonce,
        "X-Alter-Content-SHA256": content,
        "X-Alter-Signature": hmac.new(signing_key, canonical.encode(), hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }


def send(url: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """Sends exactly these bytes and headers; returns (status, JSON body or {})."""
    request = urllib.request.Request(base_url(url) + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read()
    try:
        return status, json.loads(text) if text else {}
    except ValueError:
        return status, {"raw": text.decode("utf-8", "replace")}


def compact(value: Any) -> bytes:
    """JSON as the SDK writes it: compact, keys in insertion order."""
    return json.dumps(value, separators=(",", ":")).encode()


# -- an app with JWT identity (end users named by their IdP's tokens) ----------------------------

class IdentityApp:
    """An app of the vault, made with the CLI, whose end users are named by ES256 JWTs from an
    issuer this test holds the key of; the sandbox provider is configured for it."""

    issuer = "https://idp.e2e.test"
    audience = "alter-vault-e2e"

    def __init__(self, vault: Vault, name: str) -> None:
        self.vault = vault
        self._key = ec.generate_private_key(ec.SECP256R1())
        pem = vault.data_dir / f"{name}-issuer.pem"
        pem.write_bytes(self._key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        created = alter_cli(vault, "apps", "create", "--name", name, "--website-url", vault.demo_url)
        self.app_id = next(line[4:] for line in created.splitlines() if line.startswith("id: "))
        alter_cli(vault, "apps", "identity", "--app", self.app_id, "--issuer", self.issuer,
                  "--audience", self.audience, "--public-key-file", str(pem), "--algorithms", "ES256")
        alter_cli(vault, "providers", "configure", "--app", self.app_id, "--provider", "sandbox",
                  "--client-id", f"{name}-client", input=secrets.token_urlsafe(24))
        self.key = self.new_key()

    def new_key(self) -> str:
        keys = alter_cli(self.vault, "keys", "create", "--app", self.app_id)
        return next(line.strip() for line in keys.splitlines() if line.strip().startswith("alter_rk_"))

    def user_token(self, sub: str, *, lifetime: int = 600, key: ec.EllipticCurvePrivateKey | None = None) -> str:
        def b64(data: bytes) -> str:
            return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

        header = b64(compact({"alg": "ES256", "typ": "JWT"}))
        now = int(time.time())
        claims = b64(compact({"iss": self.issuer, "aud": self.audience, "sub": sub, "iat": now, "exp": now + lifetime}))
        der = (key or self._key).sign(f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{header}.{claims}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def forged_token(self, sub: str) -> str:
        """A well-formed token signed by a key the vault does not know."""
        return self.user_token(sub, key=ec.generate_private_key(ec.SECP256R1()))


# -- two server instances sharing one PostgreSQL ------------------------------------------------------

class ServeInstance(ServerProcess):
    """A running `alter serve` on `database_url` (sandbox on), at `url`."""

    def __init__(self, binary: str, database_url: str, encryption_keys: str) -> None:
        super().__init__("alter-pg-")
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        env = alter_env(self.data_dir, self.url)
        env.update(DATABASE_URL=database_url, ALTER_ENCRYPTION_KEYS=encryption_keys, ALTER_PORT=str(self.port),
                   ALTER_HOST="127.0.0.1", ALTER_SANDBOX="1")
        self.env = env
        self._start([binary, "serve"], name=f"alter-serve-{self.port}", cwd=self.data_dir, env=env)

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(f"alter serve exited with {self.process.returncode}:\n{self.output()}")
            try:
                if http("GET", f"{self.url}/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"alter serve was not ready within {timeout:.0f} s:\n{self.output()}")

    def cli(self, *args: str, input: str | None = None) -> str:
        result = subprocess.run([self.command[0], *args], env=self.env, cwd=self.data_dir, capture_output=True, text=True, timeout=120,
                                input=input)
        if result.returncode != 0:
            raise AssertionError(f"alter {' '.join(args)} exited {result.returncode}:\n{result.stdout}{result.stderr}")
        return result.stdout


class PostgresPair:
    """Two vault instances on one fresh PostgreSQL database, and an app key they both accept.

    The database lives in the server ALTER_TEST_POSTGRES_URL names (scripts/test sets it), or
    in a throwaway cluster started here with scripts/postgres-start."""

    def __init__(self, binary: str) -> None:
        self._cluster_dir: str | None = None
        server = os.environ.get("ALTER_TEST_POSTGRES_URL")
        if not server:
            started = subprocess.run([str(REPO / "scripts" / "postgres-start")], capture_output=True, text=True, timeout=120)
            if started.returncode != 0:
                raise RuntimeError(f"scripts/postgres-start failed:\n{started.stderr}")
            exports = dict(re.findall(r"export (\w+)=(\S+)", started.stdout))
            server, self._cluster_dir = exports["ALTER_TEST_POSTGRES_URL"], exports["ALTER_TEST_POSTGRES_DIR"]
        name = "alter_e2e_" + secrets.token_hex(6)
        self._server = server
        self._name = name
        subprocess.run(["psql", server, "-qc", f"CREATE DATABASE {name}"], check=True, capture_output=True, timeout=30)
        self.database_url = server.rsplit("/", 1)[0] + "/" + name
        keys = "e2e:" + base64.b64encode(secrets.token_bytes(32)).decode()
        self.instances: list[ServeInstance] = []
        # One after the other: the first one migrates the database.
        for _ in range(2):
            instance = ServeInstance(binary, self.database_url, keys)
            self.instances.append(instance)
            instance.wait_until_ready()
        first = self.instances[0]
        created = first.cli("apps", "create", "--name", "Two instances", "--website-url", "http://localhost:4001")
        app_id = next(line[4:] for line in created.splitlines() if line.startswith("id: "))
        first.cli("providers", "configure", "--app", app_id, "--provider", "sandbox", "--client-id", "pg-client",
                  input=secrets.token_urlsafe(24))
        keys_out = first.cli("keys", "create", "--app", app_id)
        self.key = next(line.strip() for line in keys_out.splitlines() if line.strip().startswith("alter_rk_"))

    def count(self, sql: str) -> int:
        result = subprocess.run(["psql", self.database_url, "-Atc", sql], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise AssertionError(f"psql failed: {result.stderr}")
        return int(result.stdout.strip())

    def stop(self) -> None:
        for instance in self.instances:
            instance.stop()
        subprocess.run(["psql", self._server, "-qc", f"DROP DATABASE IF EXISTS {self._name} WITH (FORCE)"],
                       capture_output=True, timeout=30)
        if self._cluster_dir:
            subprocess.run([str(REPO / "scripts" / "postgres-stop"), self._cluster_dir], capture_output=True, timeout=60)
