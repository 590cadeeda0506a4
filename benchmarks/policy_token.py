#!/usr/bin/env python3
"""The cost of policy evaluation on `POST /sdk/token`: req/s and latency with 0, 5 and 50 rules
on the app, in one run, same server, same grant, same load.

    python3 benchmarks/policy_token.py [--bin PATH] [--duration 10] [--connections 1,8]

Starts `alter demo` (SQLite), connects a sandbox grant through the real OAuth flow over HTTP,
and drives signed `/sdk/token` calls (benchmarks/sdk_token.py's client) while rules are added
through `/v1/policies`. Every rule covers the call and lets it through, so each is evaluated:
the 5 are one of each kind that allows (time window all day, IP allow-list 127.0.0.0/8,
allowed requests, grant lifetime, a rate limit of 100000/min: one database UPSERT); the 50
are ten of each. A last row has 50 rules with no rate limit, to separate the rules' own cost
from the count's database write. Not part of the test command.
"""
import argparse, json, os, signal, subprocess, sys, tempfile, urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_overhead import ROOT, connect_grant, free_port, start_demo  # noqa: E402
from sdk_token import run, signed_request  # noqa: E402


def rules(vault, sandbox_url):
    return [
        ("time_window", {"time_zone": "Europe/Paris", "start": "00:00", "end": "24:00"}),
        ("ip_allowlist", {"cidrs": ["127.0.0.0/8", "::1"]}),
        ("allowed_requests", {"methods": ["GET"], "endpoints": [sandbox_url + "/sandbox/api/*"]}),
        ("grant_lifetime", {"max_ttl_seconds": 86400}),
        ("rate_limit", {"limit": 100000, "per": "grant"}),
    ]


def post(url, key, body=None, method="POST"):
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(), method=method,
                                     headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read()
        return json.loads(text) if text else None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=None)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--max-requests", type=int, default=20000)
    args = parser.parse_args()
    binary = args.bin or next((p for p in [f"{ROOT}/.build-release/release/alter", f"{ROOT}/.build/debug/alter"] if os.path.exists(p)), None)
    work = tempfile.mkdtemp(prefix="alter-bench-policy-")
    port, demo_port = free_port(), free_port()
    env = dict(os.environ, ALTER_DATA_DIR=f"{work}/data", LOG_LEVEL="error")
    env.pop("DATABASE_URL", None)
    process = None
    try:
        process, key = start_demo(binary, port, demo_port, env)
        vault = f"http://localhost:{port}"
        grant = connect_grant(vault, key, f"http://localhost:{demo_port}")
        kinds = rules(vault, "http://localhost:" + str(port))

        def add(kind, settings):
            return post(vault + "/v1/policies", key, {"scope": "grant", "target": grant, "kind": kind, "settings": settings})["id"]

        def clear():
            for rule in post(vault + "/v1/policies", key, method="GET")["rules"]:
                post(vault + "/v1/policies/" + rule["id"], key, method="DELETE")

        def setups():
            yield "0 rules", None
            for kind, settings in kinds:
                add(kind, settings)
            yield "5 rules", None
            for _ in range(9):
                for kind, settings in kinds:
                    add(kind, settings)
            yield "50 rules", None
            clear()
            for _ in range(10):
                for kind, settings in kinds[:4]:
                    add(kind, settings)
            add("time_window", {"start": "00:00", "end": "24:00"})
            for _ in range(9):
                add("ip_allowlist", {"cidrs": ["127.0.0.0/8"]})
            yield "50 rules, no rate limit", None

        print(f"binary {binary}, sqlite, {args.duration}s per run, one keep-alive connection per client process")
        make = lambda: [signed_request(vault, key, grant) for _ in range(args.max_requests)]
        connections = [int(c) for c in args.connections.split(",")]
        results = {}
        for name, _ in setups():
            count = len(post(vault + "/v1/policies", key, method="GET")["rules"])
            for n in connections:
                run(port, make, n, 2)  # warm-up (and the rule cache filled)
                results[(name, n)] = (count, run(port, make, n, args.duration))
        for n in connections:
            base = results[("0 rules", n)][1]["rps"]
            print(f"\n/sdk/token, {n} connection(s)     rules   p50 ms   p99 ms      req/s   vs 0 rules")
            for (name, m), (count, r) in results.items():
                if m == n:
                    print(f"  {name:<28} {count:5d} {r['p50']:8.3f} {r['p99']:8.3f} {r['rps']:10.0f}   {r['rps'] / base:6.2f}")
    finally:
        if process:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
