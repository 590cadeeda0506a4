#!/usr/bin/env python3
"""The vault's hot path against a bare Vapor relay, nginx and a direct call, in one run.

    python3 benchmarks/proxy_overhead.py [--bin PATH] [--relay PATH] [--duration 5] [--repeat 3] [--connections 1,16] [--postgres]

Build both first, in release, outside the repo's .build (both scratch paths are gitignored):

    swift build -c release --product alter --scratch-path .build-release
    swift build -c release --package-path benchmarks/relay --scratch-path .build-relay

Starts a static upstream (Debian's nginx returning a fixed JSON body), nginx proxy_pass to it,
the bare relay (benchmarks/relay: decode {method, url}, AsyncHTTPClient, answer) and `alter
demo`, whose sandbox provider may call the upstream (ALTER_SANDBOX_API_HOSTS). Connects two
sandbox grants through the real OAuth flow over HTTP and turns the second into a grant of a
custom provider of the demo app (same API host), then measures with wrk, round-robin, each
target `--repeat` times:
  direct          GET upstream
  nginx           GET nginx -> upstream
  relay           POST relay /relay {method, url} -> upstream
  vault           POST /v1/request {grant_id, url} -> upstream (the token is decrypted per call)
  vault custom    the same with the custom-provider grant
  vault by name   the sandbox grant calling http://localhost:PORT: the address check of a named
                  host (resolved once per 30 s, every address checked, the connection pinned to
                  the checked address), which the numeric 127.0.0.1 of the rows above skips
  /healthz        the vault's, against the relay's GET /plaintext
and prints medians with their spread, the server process's CPU per request (relay and vault rows: the
figure least moved by the rest of the machine), and the issue-14 ratios (added p50 = p50 - direct's p50)
per repeat. Last, one keep-alive Python client per endpoint compares `/sdk/token` (signed, as
the official SDK sends it) with `/v1/request`'s vault-side work. Not part of the test command:
it takes a few minutes and wants a quiet machine; the ratios are taken within one run because
absolute figures on a shared machine are not comparable between runs.

With --postgres the vault runs on a throwaway PostgreSQL cluster (scripts/postgres-start) made
durable again for the run (fsync, synchronous_commit and full_page_writes on, as in production),
instead of the demo's SQLite.
"""
import argparse, base64, html, statistics, http.cookiejar, json, os, re, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.error, urllib.parse, urllib.request, uuid

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


def connect_grant(vault, key, demo, account="alice@sandbox.test"):
    b = Browser()
    body = json.dumps({"allowed_providers": ["sandbox"], "allowed_origin": demo}).encode()
    status, _, text = b.request(vault + "/v1/connect/sessions", body, {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    assert status == 201, text
    token = json.loads(text)["session_token"]
    status, headers, page = b.request(f"{vault}/connect?token={token}&nonce=benchmark-nonce-000000&mode=popup")
    if status == 303:  # before the entry rendered the flow page itself
        _, _, page = b.request(vault + headers["Location"])
    data = json.loads(re.search(r'id="alter-data">(.*?)</script>', page).group(1))
    if data["next"].startswith("http"):  # a one-provider page links straight to the provider
        _, _, consent = b.request(data["next"])
    else:  # through /start and its 303 (the picker, or before the page made the attempt)
        _, headers, _ = b.request(vault + data["next"])
        _, _, consent = b.request(headers["Location"])
    fields = [(m.group(1), html.unescape(m.group(2))) for m in re.finditer(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', consent)]
    button = re.search(r'<button[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*id="allow"|<button[^>]*id="allow"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', consent)
    name, value = (button.group(1), button.group(2)) if button.group(1) else (button.group(3), button.group(4))
    fields += [(name, value), ("account", account)]
    _, headers, _ = b.request(vault + "/sandbox/oauth/decision", urllib.parse.urlencode(fields).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    status, headers, finish = b.request(headers["Location"])
    if status == 303:  # before the callback rendered the finish page itself
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


def cpu_seconds(pid):
    """utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def context_switches(pid):
    """Voluntary and involuntary context switches of every thread of a process."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/status") as f:
                total += sum(int(line.split()[1]) for line in f if "ctxt_switches:" in line)
        except FileNotFoundError:
            pass  # a thread that ended meanwhile
    return total


def cluster_pids(folder):
    """The postmaster of a scripts/postgres-start cluster and its children (the backends)."""
    with open(f"{folder}/data/postmaster.pid") as f:
        postmaster = f.readline().strip()
    children = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == postmaster:
                    children.append(int(pid))
        except (FileNotFoundError, ProcessLookupError):
            pass
    return [int(postmaster)] + children


def cpu_of(pids):
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except (FileNotFoundError, ProcessLookupError):
            pass  # a backend that ended meanwhile
    return total


def wrk(url, connections, duration, script=None, server=None, database=None):
    """wrk's p50, p99 and req/s; with `server` (a pid), also that process's CPU per request in
    ms, the figure least disturbed by the rest of the machine; with `database` (a PostgreSQL
    cluster's folder), the cluster's CPU per request too."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency"] + (["-s", script] if script else []) + [url]
    before = (cpu_seconds(server), context_switches(server)) if server else None
    backends = cluster_pids(database) if server and database else []
    database_before = cpu_of(backends)
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    cpu = switches = database_cpu = None
    if server:
        requests = max(int(re.search(r"^\s*(\d+) requests in", out, re.M).group(1)), 1)
        cpu = (cpu_seconds(server) - before[0]) * 1000 / requests
        switches = (context_switches(server) - before[1]) / requests
        if backends:
            database_cpu = (cpu_of(backends) - database_before) * 1000 / requests

    def ms(label):
        m = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise SystemExit(f"{url}: {non2xx.group(1)} failed responses\n{out}")
    return {"p50": ms("50"), "p99": ms("99"), "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "cpu": cpu,
            "switches": switches, "database_cpu": database_cpu}



def start(command, ready_url, env=None):
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    wait_http(ready_url)
    return process


def lua_post(path, body, key=None):
    """A wrk script that POSTs `body` as JSON (with the app key when given)."""
    with open(path, "w") as f:
        f.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\nwrk.headers["Content-Type"] = "application/json"\n')
        if key:
            f.write(f'wrk.headers["Authorization"] = "Bearer {key}"\n')
    return path


def start_postgres():
    """A throwaway cluster from scripts/postgres-start, switched back to durable commits, which
    the test cluster turns off. Returns (url, folder)."""
    out = subprocess.run(["bash", f"{ROOT}/scripts/postgres-start"], capture_output=True, text=True, check=True).stdout
    found = dict(re.findall(r"^export (\w+)=(.*)$", out, re.M))
    url, folder = found["ALTER_TEST_POSTGRES_URL"], found["ALTER_TEST_POSTGRES_DIR"]
    durable = ["ALTER SYSTEM SET fsync = on", "ALTER SYSTEM SET synchronous_commit = on",
               "ALTER SYSTEM SET full_page_writes = on", "SELECT pg_reload_conf()"]
    for statement in durable:
        subprocess.run(["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", statement], check=True, capture_output=True)
    shown = subprocess.run(["psql", url, "-qAt", "-c", "SHOW fsync", "-c", "SHOW synchronous_commit"],
                           capture_output=True, text=True, check=True).stdout.split()
    assert shown == ["on", "on"], f"the cluster is not durable: {shown}"
    return url, folder


def relabel(env, grant):
    """Makes `grant` a grant of the custom provider `bench-custom`, in whichever database the vault uses."""
    if "DATABASE_URL" in env:
        out = subprocess.run(["psql", env["DATABASE_URL"], "-qAt", "-v", "ON_ERROR_STOP=1", "-c",
                              f"UPDATE grants SET provider = 'bench-custom' WHERE id = '{uuid.UUID(grant)}'::uuid RETURNING id"],
                             capture_output=True, text=True, check=True).stdout.split()
        return len(out)
    import sqlite3
    with sqlite3.connect(f"{env['ALTER_DATA_DIR']}/alter.sqlite", timeout=10) as db:
        return db.execute("UPDATE grants SET provider = 'bench-custom' WHERE id = ? OR id = ?", (grant, grant.upper())).rowcount


def custom_grant(binary, env, vault, key, demo, upstream_origin):
    """A second sandbox grant, relabelled as a grant of `bench-custom`, a custom provider of the
    demo app with the same endpoints and API host. Its sealed tokens are bound to the grant's
    row and field, not the provider, so the vault uses it as it would a real custom grant."""
    subprocess.run([binary, "providers", "add-custom", "--app", "Demo app", "--id", "bench-custom", "--name", "Bench custom",
                    "--authorization-url", f"{vault}/sandbox/oauth/authorize", "--token-url", f"{vault}/sandbox/oauth/token",
                    "--userinfo-url", f"{vault}/sandbox/api/me", "--account-field", "email", "--api-host", upstream_origin,
                    "--allow-private-network"], env=env, check=True, capture_output=True)
    grant = connect_grant(vault, key, demo, account="bob@sandbox.test")
    changed = relabel(env, grant)
    assert changed == 1, f"grant {grant} not found in the database"
    return grant


def spread(values, digits=3):
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def sdk_comparison(key, grant, vault_port, upstream, vault_body, duration):
    """/sdk/token against /v1/request's vault-side work, one Python keep-alive client each."""
    from sdk_token import run, signed_request  # noqa: E402  (this folder is on sys.path)
    v1 = json.dumps(vault_body).encode()
    v1_head = (f"POST /v1/request HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(v1)}\r\n\r\n").encode() + v1
    direct = b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    health = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    vault = f"http://127.0.0.1:{vault_port}"
    cases = [("direct", upstream, lambda: [direct] * 100000), ("/healthz", vault_port, lambda: [health] * 100000),
             ("/v1/request", vault_port, lambda: [v1_head] * 100000),
             ("/sdk/token", vault_port, lambda: [signed_request(vault, key, grant) for _ in range(20000)])]
    results = {}
    for name, port, make in cases:
        run(port, make, 1, 1)
        results[name] = run(port, make, 1, duration)
    v1_work = results["/v1/request"]["p50"] - results["direct"]["p50"]
    sdk_work = results["/sdk/token"]["p50"] - results["/healthz"]["p50"]
    return results, v1_work, sdk_work


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=None)
    parser.add_argument("--relay", default=f"{ROOT}/.build-relay/release/relay")
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", default="1,16")
    parser.add_argument("--synchronous", default="FULL", choices=["FULL", "NORMAL"])
    parser.add_argument("--postgres", action="store_true", help="run the vault on a throwaway, durable PostgreSQL cluster instead of SQLite")
    parser.add_argument("--no-sdk", action="store_true", help="skip the /sdk/token comparison")
    parser.add_argument("--perf", metavar="FILE", help="perf-record the vault (call graphs, 2 kHz) during the first "
                        "round's 'vault' row at the most connections, into FILE (perf report -i FILE), and the relay during "
                        "its row into FILE.relay; those rows' figures in round 1 then include the sampling's cost")
    parser.add_argument("--perf-dwarf", action="store_true", help="with --perf: unwind with DWARF (500 Hz) instead of frame "
                        "pointers, which glibc's malloc and free lack, so their callers show; far larger files")
    args = parser.parse_args()
    binary = args.bin or next((p for p in [f"{ROOT}/.build-release/release/alter", f"{ROOT}/.build/release/alter"] if os.path.exists(p)), None)
    if not binary:
        raise SystemExit("build first: swift build -c release --product alter --scratch-path .build-release")
    if not os.path.exists(args.relay):
        raise SystemExit("build the relay first: swift build -c release --package-path benchmarks/relay --scratch-path .build-relay")
    for tool in ["wrk", "nginx"]:
        if not shutil.which(tool) and not os.path.exists(f"/usr/sbin/{tool}"):
            raise SystemExit(f"{tool} is missing: apt-get install wrk nginx-light")

    work = tempfile.mkdtemp(prefix="alter-bench-")
    upstream, proxy, relay_port, vault_port, demo_port = free_port(), free_port(), free_port(), free_port(), free_port()
    with open(f"{work}/nginx.conf", "w") as f:
        f.write(f"""worker_processes 1; pid {work}/nginx.pid; error_log {work}/nginx.err;
events {{ worker_connections 1024; }}
http {{ access_log off; keepalive_requests 10000000;
  upstream up {{ server 127.0.0.1:{upstream}; keepalive 32; }}
  server {{ listen 127.0.0.1:{upstream}; location / {{ default_type application/json; return 200 '{BODY}'; }} }}
  server {{ listen 127.0.0.1:{proxy}; location / {{ proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; }} }}
}}""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    processes = [subprocess.Popen([nginx, "-p", work, "-c", f"{work}/nginx.conf", "-g", "daemon off;"])]
    env = dict(os.environ, ALTER_DATA_DIR=f"{work}/data", ALTER_SANDBOX_API_HOSTS=f"http://127.0.0.1:{upstream},http://localhost:{upstream}",
               ALTER_SQLITE_SYNCHRONOUS=args.synchronous, LOG_LEVEL="error")
    env.pop("DATABASE_URL", None)
    postgres = None
    try:
        if args.postgres:
            url, postgres = start_postgres()
            env.update(DATABASE_URL=url, ALTER_ENCRYPTION_KEYS="k1:" + base64.b64encode(os.urandom(32)).decode())
        wait_http(f"http://127.0.0.1:{proxy}/")
        processes.append(start([args.relay, "--port", str(relay_port)], f"http://127.0.0.1:{relay_port}/plaintext"))
        vault_process, key = start_demo(binary, vault_port, demo_port, env)
        processes.append(vault_process)
        vault, demo = f"http://localhost:{vault_port}", f"http://localhost:{demo_port}"
        env["ALTER_PUBLIC_URL"] = vault
        grant = connect_grant(vault, key, demo)
        custom = custom_grant(binary, env, vault, key, demo, f"http://127.0.0.1:{upstream}")
        target = f"http://127.0.0.1:{upstream}/api/events"
        vault_body = {"method": "GET", "url": target, "grant_id": grant}
        targets = [
            ("direct", target, None),
            ("nginx", f"http://127.0.0.1:{proxy}/api/events", None),
            ("relay", f"http://127.0.0.1:{relay_port}/relay", lua_post(f"{work}/relay.lua", json.dumps({"method": "GET", "url": target}))),
            ("vault", f"http://127.0.0.1:{vault_port}/v1/request", lua_post(f"{work}/vault.lua", json.dumps(vault_body), key)),
            ("vault custom", f"http://127.0.0.1:{vault_port}/v1/request",
             lua_post(f"{work}/custom.lua", json.dumps(dict(vault_body, grant_id=custom)), key)),
            ("vault by name", f"http://127.0.0.1:{vault_port}/v1/request",
             lua_post(f"{work}/named.lua", json.dumps(dict(vault_body, url=f"http://localhost:{upstream}/api/events")), key)),
            ("relay /plaintext", f"http://127.0.0.1:{relay_port}/plaintext", None),
            ("vault /healthz", f"http://127.0.0.1:{vault_port}/healthz", None),
        ]
        for body, who in [(vault_body, "sandbox"), (dict(vault_body, grant_id=custom), "custom"),
                          (dict(vault_body, url=f"http://localhost:{upstream}/api/events"), "by name")]:
            check = subprocess.run(["curl", "-s", "-X", "POST", f"http://127.0.0.1:{vault_port}/v1/request", "-H", f"Authorization: Bearer {key}",
                                    "-H", "Content-Type: application/json", "-d", json.dumps(body)], capture_output=True, text=True).stdout
            assert json.loads(check) == json.loads(BODY), f"{who}: {check}"

        connections = [int(c) for c in args.connections.split(",")]
        results = {c: {name: [] for name, _, _ in targets} for c in connections}
        database = "PostgreSQL (durable)" if args.postgres else f"SQLite synchronous={args.synchronous}"
        print(f"binary {binary}, relay {args.relay}, {database}, "
              f"{args.duration}s per target, {args.repeat} rounds, wrk -t1, load average {os.getloadavg()[0]:.1f}")
        # The process whose CPU each row costs (the relay's and the vault's rows).
        servers = {name: processes[1].pid for name in ["relay", "relay /plaintext"]}
        vault_rows = ["vault", "vault custom", "vault by name", "vault /healthz"]
        servers.update({name: vault_process.pid for name in vault_rows})
        for round in range(args.repeat):
            for c in connections:
                for name, url, script in targets:
                    wrk(url, c, 1, script)  # warm-up: connections, caches
                    profile = args.perf and round == 0 and c == connections[-1] and name in ["vault", "relay"]
                    unwind = ["-F", "500", "--call-graph", "dwarf,16384"] if args.perf_dwarf else ["-F", "2000", "-g"]
                    recorder = subprocess.Popen(["perf", "record", "-q", *unwind, "-p", str(servers[name]),
                                                 "-o", args.perf + (".relay" if name == "relay" else "")],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) if profile else None
                    database = postgres if name in vault_rows else None
                    results[c][name].append(wrk(url, c, args.duration, script, servers.get(name), database))
                    if recorder:
                        recorder.send_signal(signal.SIGINT)
                        recorder.wait()
        for c in connections:
            print(f"\n{c} connection(s): median (min-max) of {args.repeat} rounds")
            database_column = f" {'PostgreSQL CPU ms/req':>23}" if postgres else ""
            print(f"  {'':<18} {'p50 ms':>21} {'p99 ms':>21} {'req/s':>23} {'server CPU ms/req':>23} {'switches/req':>17}{database_column}")
            for name, rs in results[c].items():
                cpu = spread([r['cpu'] for r in rs]) if rs[0]['cpu'] is not None else ""
                switches = spread([r['switches'] for r in rs], 1) if rs[0]['switches'] is not None else ""
                database_cpu = f" {spread([r['database_cpu'] for r in rs]):>23}" if rs[0]['database_cpu'] is not None else ""
                print(f"  {name:<18} {spread([r['p50'] for r in rs]):>21} {spread([r['p99'] for r in rs]):>21} {spread([r['rps'] for r in rs], 0):>23} {cpu:>23} {switches:>17}{database_cpu}")

        print("\nissue 14 goals, per round (median (min-max)):")
        def added(c, name, i):
            return results[c][name][i]["p50"] - results[c]["direct"][i]["p50"]
        rounds = range(args.repeat)
        lo, hi = connections[0], connections[-1]
        for name in ["vault", "vault custom", "vault by name"]:
            ratio = [added(lo, name, i) / added(lo, "relay", i) for i in rounds]
            print(f"  {name}: added p50 at c={lo} {spread([added(lo, name, i) for i in rounds])} ms, relay "
                  f"{spread([added(lo, 'relay', i) for i in rounds])} ms, ratio {spread(ratio, 2)}x (goal <= 1.5x)")
            ratio = [results[hi][name][i]["rps"] / results[hi]["relay"][i]["rps"] for i in rounds]
            print(f"  {name}: req/s at c={hi} / relay's {spread(ratio, 2)}x (goal >= 0.7x)")
            ratio = [results[hi][name][i]["rps"] / results[hi]["nginx"][i]["rps"] for i in rounds]
            print(f"  {name}: req/s at c={hi} / nginx's {spread(ratio, 2)}x")
            ratio = [results[hi][name][i]["cpu"] / results[hi]["relay"][i]["cpu"] for i in rounds]
            print(f"  {name}: server CPU per request at c={hi} / relay's {spread(ratio, 2)}x")
            if postgres:
                ratio = [(results[hi][name][i]["cpu"] + results[hi][name][i]["database_cpu"]) / results[hi]["relay"][i]["cpu"] for i in rounds]
                print(f"  {name}: server + PostgreSQL CPU per request at c={hi} / relay's {spread(ratio, 2)}x")
        ratio = [results[lo]["vault /healthz"][i]["p50"] / results[lo]["relay /plaintext"][i]["p50"] for i in rounds]
        print(f"  /healthz p50 at c={lo} / relay /plaintext's {spread(ratio, 2)}x (goal <= 1.5x)")

        if not args.no_sdk:
            sdk_results, v1_work, sdk_work = sdk_comparison(key, grant, vault_port, upstream, vault_body, args.duration)
            print("\n/sdk/token against /v1/request, one Python keep-alive client, c=1:")
            for name, r in sdk_results.items():
                print(f"  {name:<14} p50 {r['p50']:.3f} ms  p99 {r['p99']:.3f} ms  {r['rps']:.0f} req/s")
            print(f"  vault-side work: /v1/request - direct {v1_work:.3f} ms, /sdk/token - /healthz {sdk_work:.3f} ms "
                  f"(goal: /sdk/token's <= /v1/request's)")
    finally:
        for p in processes:
            p.send_signal(signal.SIGTERM)
        for p in processes:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        if postgres:
            subprocess.run(["bash", f"{ROOT}/scripts/postgres-stop", postgres], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
