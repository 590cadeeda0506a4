"""How long the machine's part of a connect takes in the demo, in Chromium (printed with -s).

The machine's part is click → sandbox consent page shown, plus consent click → onSuccess: the
person's own time on the consent page is left out. Every page of the popup reports, through an
exposed function, when its document started and when it was ready, so the output says where the
time goes (demo backend minting, each hop, each page). Timings are printed, never asserted: a
loaded machine must not fail the build (and on a loaded machine, read the best run).

    .venv/bin/pytest e2e/test_connect_timing.py -s

Against another build (a release binary, for the figures the issue asks for), name it the way
every e2e test takes its server binary (conftest.py):

    ALTER_BIN=.build-release/release/alter ALTER_E2E_TIMING_RUNS=15 .venv/bin/pytest e2e/test_connect_timing.py -s

The load average is printed with the figures: read them only beside it.

A reference runs in the same test: static pages from a bare Python server that make the browser
do the same steps (popup opened in the click, a fetch for the token, the flow page's handshake
with the opener, a replace to the consent page, the form POST and its 303, the result posted back
and the popup closed) with no vault behind them. Its figure is this machine's browser floor for
the flow; the vault's own share is the difference.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from playwright.sync_api import Browser, expect

from conftest import free_port

# More runs for a steadier median: ALTER_E2E_TIMING_RUNS=15.
RUNS = int(os.environ.get("ALTER_E2E_TIMING_RUNS", "5"))

# In every document of the context (the demo page and each page of the popup): absolute times
# (performance.timeOrigin + now) of the navigation's start, its response, DOMContentLoaded, and
# clicks, plus when #grants changes (onSuccess writes it).
MARKS = """() => {
  const at = (t) => performance.timeOrigin + t;
  const path = location.pathname;
  document.addEventListener("click", () => window.__mark("click " + path, at(performance.now())), true);
  const open = window.open;
  window.open = function (...args) { window.__mark("window.open", at(performance.now())); return open.apply(this, args); };
  const fetch = window.fetch;
  window.fetch = function (...args) {
    const started = at(performance.now());
    return fetch.apply(this, args).then((r) => { window.__mark("fetch " + String(args[0]).split("?")[0], { start: started, end: at(performance.now()) }); return r; });
  };
  document.addEventListener("DOMContentLoaded", () => {
    const n = performance.getEntriesByType("navigation")[0];
    window.__mark("page " + path, {
      start: at(n.startTime), request: at(n.requestStart), response: at(n.responseEnd),
      redirect: n.redirectEnd - n.redirectStart, wait: n.responseStart - n.requestStart,
      dcl: n.domContentLoadedEventStart - n.responseEnd,
      ready: at(performance.now()), redirects: n.redirectCount });
    const grants = document.getElementById("grants");
    if (grants) new MutationObserver(() => window.__mark("success", at(performance.now())))
      .observe(grants, { childList: true, characterData: true, subtree: true });
  });
}"""


# The reference's pages, under the demo's and the sandbox's paths so that the same marks apply.
# As the widget does, the app page starts the token's fetch, opens the popup at the "vault"'s
# waiting page in the click, and sends it on once the token came; the flow page says hello and
# goes on at the echo, as the hosted pages do.
REFERENCE_APP = """<!doctype html><meta charset="utf-8"><title>ref app</title>
<button id="connect">Connect</button><pre id="grants"></pre><script>
const vault = "http://localhost:%(vault)d";
let w;
addEventListener("message", (e) => {
  if (e.origin !== vault || e.source !== w) return;
  w.postMessage(e.data, vault);
  if (e.data.type === "result") { w.close(); document.getElementById("grants").textContent = JSON.stringify(e.data.grants); }
});
document.getElementById("connect").addEventListener("click", () => {
  const token = fetch("/api/connect-session").then((r) => r.json());
  w = open(vault + "/connect/wait", "alter_connect", "popup,width=500,height=700");
  token.then((j) => { w.location.href = vault + "/connect?token=" + j.sessionToken; });
});
</script>"""
REFERENCE_POPUP = """<!doctype html><meta charset="utf-8"><title>ref</title><p>%(text)s</p>%(body)s<script>
const app = "http://localhost:%(app)d";
addEventListener("message", (e) => { if (e.origin === app && e.data.type === "%(wait)s") %(then)s; });
opener.postMessage(%(post)s, app);
</script>"""


class _Reference(BaseHTTPRequestHandler):
    app_port = vault_port = 0

    def _send(self, status: int, body: str = "", headers: dict[str, str] | None = None) -> None:
        data = body.encode()
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8", "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:  # the popup moved on before the waiting page arrived
            pass

    def do_GET(self) -> None:
        port, path = self.server.server_address[1], self.path.split("?")[0]
        popup = lambda text, body, wait, then, post: REFERENCE_POPUP % {  # noqa: E731
            "app": self.app_port, "text": text, "body": body, "wait": wait, "then": then, "post": post}
        if port == self.app_port and path == "/":
            self._send(200, REFERENCE_APP % {"vault": self.vault_port})
        elif port == self.app_port and path == "/api/connect-session":
            self._send(200, '{"sessionToken":"t"}', {"Content-Type": "application/json"})
        elif path == "/connect/wait":
            self._send(200, popup("Loading…", "", "none", "0", '{type: "waiting"}'))
        elif path == "/connect":
            self._send(200, popup("Connecting…", "", "hello", 'location.replace("/sandbox/oauth/authorize")', '{type: "hello"}'))
        elif path == "/sandbox/oauth/authorize":
            self._send(200, popup("Allow?", '<form method="post" action="/sandbox/oauth/decision"><button id="allow">Allow</button></form>',
                                  "none", "0", '{type: "consent"}'))
        elif path == "/oauth/callback":
            self._send(200, popup("Done", "", "none", "0", '{type: "result", grants: [{grant_id: "g"}]}'))
        else:
            self._send(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(303, "", {"Location": "/oauth/callback?code=c&state=s"})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture()
def reference_url() -> Iterator[str]:
    app_port, vault_port = free_port(), free_port()
    handler = type("Handler", (_Reference,), {"app_port": app_port, "vault_port": vault_port})
    servers = [ThreadingHTTPServer(("127.0.0.1", port), handler) for port in (app_port, vault_port)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{app_port}/"
    for server in servers:
        server.shutdown()
        server.server_close()


def one_connect(browser: Browser, demo_url: str) -> dict[str, Any]:
    context = browser.new_context()
    marks: list[tuple[str, Any]] = []
    context.expose_function("__mark", lambda name, value: marks.append((name, value)))
    context.add_init_script(f"({MARKS})()")
    try:
        page = context.new_page()
        page.goto(demo_url)
        page.wait_for_load_state("domcontentloaded")
        marks.clear()
        with page.expect_popup() as popup_info:
            page.click("#connect")
        popup = popup_info.value
        popup.wait_for_selector("#allow")
        accounts = popup.locator("input[name=account]")
        if accounts.count() and not popup.locator("input[name=account]:checked").count():
            accounts.first.check()
        popup.click("#allow")
        expect(page.locator("#grants")).not_to_be_empty(timeout=20_000)
        page.wait_for_timeout(100)  # let the last marks arrive
        return {"marks": marks}
    finally:
        context.close()


def first(marks: list[tuple[str, Any]], name: str, after: float = 0) -> Any:
    for key, value in marks:
        if key == name and (not isinstance(value, (int, float)) or value >= after):
            return value
    raise AssertionError(f"no mark {name!r} in {json.dumps(marks)}")


def measure(browser: Browser, url: str) -> tuple[float, float, str]:
    """One connect: (click → consent page shown, consent click → onSuccess, where the time went)."""
    marks = one_connect(browser, url)["marks"]
    click = first(marks, "click /")
    consent_page = first(marks, "page /sandbox/oauth/authorize")
    consent_click = first(marks, "click /sandbox/oauth/authorize")
    success = first(marks, "success")
    assert consent_page["ready"] > click and success > consent_click
    opened = first(marks, "window.open")
    fetched = first(marks, "fetch /api/connect-session")
    pages = [(k[5:], v) for k, v in marks if k.startswith("page ")]
    breakdown = f"backend mints (fetch) +{fetched['start'] - click:.0f}…+{fetched['end'] - click:.0f} | " f"window.open +{opened - click:.0f} | " + " | ".join(
        f"{path} start +{v['start'] - click:.0f} resp +{v['response'] - click:.0f} ready +{v['ready'] - click:.0f}"
        f" (redirect hop {v['redirect']:.0f} ms, server wait {v['wait']:.0f} ms, response → DOMContentLoaded {v['dcl']:.0f} ms)"
        for path, v in pages)
    return consent_page["ready"] - click, success - consent_click, breakdown


def report(title: str, runs: list[tuple[float, float, str]]) -> float:
    before, after = [r[0] for r in runs], [r[1] for r in runs]
    totals = [a + b for a, b in zip(before, after)]
    print(f"  {title}:")
    print(f"    click → consent page shown: median {statistics.median(before):.0f} ms, best {min(before):.0f} ms  {[round(x) for x in before]}")
    print(f"    consent click → onSuccess:  median {statistics.median(after):.0f} ms, best {min(after):.0f} ms  {[round(x) for x in after]}")
    print(f"    together:                   median {statistics.median(totals):.0f} ms, best {min(totals):.0f} ms  {[round(x) for x in totals]}")
    print("    pages of the last run, ms after the click:")
    for part in runs[-1][2].split(" | "):
        print("      " + part)
    return statistics.median(totals)


def test_the_machines_part_of_a_connect_in_the_demo(vault, browser: Browser, reference_url: str):
    # Warm-ups: first-use costs of the servers and the browser. The runs alternate, so load
    # that comes and goes weighs on both alike.
    measure(browser, vault.demo_url)
    measure(browser, reference_url)
    demo, reference = [], []
    for _ in range(RUNS):
        demo.append(measure(browser, vault.demo_url))
        reference.append(measure(browser, reference_url))
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    binary = os.environ.get("ALTER_BIN", ".build/debug/alter")
    print(f"\nmachine's part of a connect (Chromium, {RUNS} runs of each after a warm-up; {binary}; load {load}):")
    ours = report("the demo (vault, sandbox, widget, hosted pages)", demo)
    floor = report("reference: the same browser steps on static pages, no vault", reference)
    print(f"  the vault's share (median difference): {ours - floor:.0f} ms")
