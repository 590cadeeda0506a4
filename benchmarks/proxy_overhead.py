#!/usr/bin/env python3
"""Proxy overhead of the vault against nginx proxy_pass, to the same upstream, in one run.

    python3 benchmarks/proxy_overhead.py [--bin PATH] [--duration 10] [--connections 1,16]

Starts a static upstream (nginx returning a fixed JSON body), nginx proxy_pass to it, and
`alter demo` whose sandbox provider may call that upstream (ALTER_SANDBOX_API_HOSTS). Connects
a sandbox grant through the real OAuth flow over HTTP, then measures with wrk:
  direct  GET upstream
  nginx   GET nginx -> upstream
  vault   POST /v1/request {grant_id, url: upstream} -> upstream
and prints p50, p99 and req/s with the vault/nginx ratios. Run it on a release build; it is
not part of the test command (it takes about a minute and wants a quiet machine).
"""
import argparse, html, http.cookiejar, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = json.dumps({"events": [{"id": i, "title": f"Event {i}", "start": "2026-01-01T10:00:00Z"} for i in range(5)]})


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.1)
    raise SystemExit(f"nothing answered at {url}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, no automatic redirects: walks the Connect flow like the widget's popup."""

    def __init__(self):
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), NoRedirect())

    def request(self, url, data=None, headers=None):
        req = urllib.request.Request(url, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read().decode()


def connect_grant(vault, key, demo):
    b = Browser()
    body = json.dumps({"allowed_providers": ["sandbox"], "allowed_origin": demo}).encode()
    status, _, text = b.request(vault + "/v1/connect/sessions", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    assert status == 201, text
    token = json.loads(text)["session_token"]
    status, headers, _ = b.request(f"{vault}/connect?token={token}&nonce=benchmark-nonce-000000&mode=popup")
    _, _, page = b.request(vault + headers["Location"])
    data = json.loads(re.search(r'id="alter-data">(.*?)</script>', page).group(1))
    _, headers, _ = b.request(vault + data["next"])
    _, _, consent = b.request(headers["Location"])
    fields = [(m.group(1), html.unescape(m.group(2))) for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent)]
    button = re.search(r'<button[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*id="allow"|<button[^>]*id="allow"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', consent)
    name, value = (button.group(1), button.group(2)) if button.group(1) else (button.group(3), button.group(4))
    fields += [(name, value), ("account", "alice@sandbox.test")]
    _, headers, _ = b.request(vault + "/sandbox/oauth/decision", urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    # The callback renders the finish page itself (dc3b03a); it used to 303 to it.
    _, headers, finish = b.request(headers["Location"])
    if headers.get("Location"):
        _, _, finish = b.request(vault + headers["Location"])
    data = json.loads(re.search(r'id="alter-data">(.*?)</script>', finish).group(1))
    if "grants" not in data.get("result", {}):
        raise SystemExit(f"the Connect flow did not end with a grant: {data}")
    return data["result"]["grants"][0]["grant_id"]


def start_demo(binary, port, demo_port, env):
    """Starts `alter demo` and returns (process, app key) once it printed its key and answers."""
    process = subprocess.Popen([binary, "demo", "--port", str(port), "--demo-port", str(demo_port)], env=env,
                               stdout=subprocess.PIPE, text=True)
    key = None
    while key is None:
        line = process.stdout.readline()
        if not line:
            process.kill()
            raise SystemExit("alter demo exited")
        if line.startswith("App key: "):
            key = line.split()[-1]
    wait_http(f"http://localhost:{port}/healthz")
    return process, key


def wrk(url, connections, duration, script=None):
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"] + (["-s", script] if script else []) + [url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    return {"p50": ms("50"), "p99": ms("99"), "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=None)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="1,16")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    args = parser.parse_args()
    binary = args.bin or next((p for p in [f"{ROOT}/.build-release/release/alter", f"{ROOT}/.build/release/alter"] if os.path.exists(p)), None)
    if not binary:
        raise SystemExit("build first: swift build -c release --product alter")
    for tool in ["wrk", "nginx"]:
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            raise SystemExit(f"{tool} is missing: apt-get install wrk nginx-light")

    work = tempfile.mkdtemp(prefix="alter-bench-")
    upstream, proxy, vault_port, demo_port = free_port(), free_port(), free_port(), free_port()
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off;
  upstream up {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{ listen 127.0.0.1:{upstream}; location / {{ default_type application/json; return 200 '{BODY}'; }} }}
  server {{ listen 127.0.0.1:{proxy}; location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
}}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    processes = [subprocess.Popen([nginx, "-p", work, "-c", f"{work}/nginx.conf", "-g", "daemon off;"])]
    env = dict(os.environ, ALTER_DATA_DIR=f"{work}/data", ALTER_SANDBOX_API_HOSTS=f"http://127.0.0.1:{upstream}",
               ALTER_SQLITE_SYNCHRONOUS=args.synchronous, LOG_LEVEL="error")
    env.pop("DATABASE_URL", None)
    try:
        vault_process, key = start_demo(binary, vault_port, demo_port, env)
        processes.append(vault_process)
        vault = f"http://localhost:{vault_port}"
        wait_http(f"http://127.0.0.1:{proxy}/")
        grant = connect_grant(vault, key, f"http://localhost:{demo_port}")
        target = f"http://127.0.0.1:{upstream}/api/events"
        with open(f"{work}/vault.lua", "w") as f:
            body = json.dumps({"method": "GET", "url": target, "grant_id": grant})
            f.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                    f'wrk.headers["Content-Type"] = "application/json"\nwrk.headers["Authorization"] = "Bearer {key}"\n')
        check = subprocess.run(["curl", "-s", "-X", "POST", f"http://127.0.0.1:{vault_port}/v1/request", "-H", f"Authorization: Bearer {key}",
                                "-H", "Content-Type: application/json", "-d", body], capture_output=True, text=True).stdout
        assert json.loads(check) == json.loads(BODY), check

        print(f"binary {binary}, SQLite synchronous={args.synchronous}, {args.duration}s per run, wrk -t1")
        for connections in [int(c) for c in args.connections.split(",")]:
            wrk(target, connections, 2)  # warm-up
            direct = wrk(target, connections, args.duration)
            via_nginx = wrk(f"http://127.0.0.1:{proxy}/api/events", connections, args.duration)
            wrk(f"http://127.0.0.1:{vault_port}/v1/request", connections, 2, f"{work}/vault.lua")
            via_vault = wrk(f"http://127.0.0.1:{vault_port}/v1/request", connections, args.duration, f"{work}/vault.lua")
            print(f"\n{connections} connection(s)      p50 ms   p99 ms      req/s")
            for name, r in [("direct", direct), ("nginx proxy_pass", via_nginx), ("vault /v1/request", via_vault)]:
                print(f"  {name:<20} {r['p50']:8.3f} {r['p99']:8.3f} {r['rps']:10.0f}")
            print(f"  vault / nginx        {via_vault['p50'] / via_nginx['p50']:8.2f}x {via_vault['p99'] / via_nginx['p99']:7.2f}x {via_vault['rps'] / via_nginx['rps']:9.2f}x")
            print(f"  added over direct    nginx {via_nginx['p50'] - direct['p50']:.3f} ms, vault {via_vault['p50'] - direct['p50']:.3f} ms (p50)")
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
