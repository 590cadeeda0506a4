#!/usr/bin/env python3
"""The official SDK's token call against ours, in one run: `POST /sdk/token` (HMAC-signed,
nonce claimed, SDK envelope) and `POST /v1/grants/{id}/token` (Bearer), same grant, same
server, same load.

    python3 benchmarks/sdk_token.py [--bin PATH] [--duration 10] [--connections 1,8] [--database sqlite|postgres]

Starts `alter demo` (SQLite, or a throwaway PostgreSQL from scripts/postgres-start), connects a
sandbox grant through the real OAuth flow over HTTP (benchmarks/proxy_overhead.py's walk), then
drives each endpoint from N processes, one keep-alive connection each. Every /sdk request is
signed before the clock starts, each with its own nonce (as the SDK does: no request can be
replayed), so the client's cost is the same for both endpoints: send bytes, read the answer.
Prints p50, p99 and req/s, and the difference /sdk − /v1, which bounds what the signature,
the nonce claim and the SDK's envelope cost together. Not part of the test command.
"""
import argparse, hashlib, hmac, json, multiprocessing, os, re, secrets, signal, socket, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proxy_overhead import ROOT, connect_grant, free_port, start_demo  # noqa: E402


def signed_request(host, key, grant_id):
    body = json.dumps({"grant_id": grant_id, "reason": None, "request": {"method": "GET", "url": host + "/sandbox/api/me"}},
                      separators=(",", ":")).encode()
    stamp, nonce, digest = str(int(time.time())), secrets.token_hex(16), hashlib.sha256(body).hexdigest()
    signing_key = hmac.new(key.encode(), b"alter-signing-v1", hashlib.sha256).digest()
    canonical = "\n".join(["POST", "/sdk/token", stamp, nonce, digest, ""]).encode()
    signature = hmac.new(signing_key, canonical, hashlib.sha256).hexdigest()
    head = (f"POST /sdk/token HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: {key}\r\nX-Alter-Timestamp: {stamp}\r\n"
            f"X-Alter-Nonce: {nonce}\r\nX-Alter-Content-SHA256: {digest}\r\nX-Alter-Signature: {signature}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


def v1_request(key, grant_id):
    return (f"POST /v1/grants/{grant_id}/token HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Length: 0\r\n\r\n").encode()


def read_response(sock, buffer):
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected answer: {head[:200]!r} {rest[:300]!r}")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    if length is None:  # chunked (a streamed answer): read up to the last, empty chunk
        while b"\r\n0\r\n\r\n" not in rest and not rest.startswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            rest += chunk
        end = 5 if rest.startswith(b"0\r\n\r\n") else rest.index(b"\r\n0\r\n\r\n") + 7
        return rest[end:]
    length = int(length.group(1))
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest[length:]


def worker(port, requests, duration, queue):
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    latencies, buffer, index = [], b"", 0
    deadline = time.perf_counter() + duration
    while time.perf_counter() < deadline and index < len(requests):
        started = time.perf_counter_ns()
        sock.sendall(requests[index])
        buffer = read_response(sock, buffer)
        latencies.append(time.perf_counter_ns() - started)
        index += 1
    sock.close()
    queue.put(latencies)


def run(port, make_requests, connections, duration):
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=worker, args=(port, make_requests(), duration, queue)) for _ in range(connections)]
    started = time.perf_counter()
    for w in workers:
        w.start()
    latencies = sorted(x for _ in workers for x in queue.get())
    elapsed = time.perf_counter() - started
    for w in workers:
        w.join()
    return {"p50": latencies[len(latencies) // 2] / 1e6, "p99": latencies[int(len(latencies) * 0.99)] / 1e6,
            "rps": len(latencies) / elapsed, "n": len(latencies)}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=None)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", default="1,8")
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgres"])
    parser.add_argument("--max-requests", type=int, default=20000, help="signed requests prepared per connection")
    args = parser.parse_args()
    binary = args.bin or next((p for p in [f"{ROOT}/.build-release/release/alter", f"{ROOT}/.build/release/alter",
                                           f"{ROOT}/.build/debug/alter"] if os.path.exists(p)), None)
    if not binary:
        raise SystemExit("build first: swift build -c release --product alter --scratch-path .build-release")

    work = tempfile.mkdtemp(prefix="alter-bench-sdk-")
    port, demo_port = free_port(), free_port()
    env = dict(os.environ, ALTER_DATA_DIR=f"{work}/data", LOG_LEVEL="error")
    env.pop("DATABASE_URL", None)
    cluster = None
    if args.database == "postgres":
        out = subprocess.run([f"{ROOT}/scripts/postgres-start"], capture_output=True, text=True, check=True).stdout
        exports = dict(re.findall(r"export (\w+)=(\S+)", out))
        cluster, env["DATABASE_URL"] = exports["ALTER_TEST_POSTGRES_DIR"], exports["ALTER_TEST_POSTGRES_URL"]
    vault_process = None
    try:
        vault_process, key = start_demo(binary, port, demo_port, env)
        vault = f"http://localhost:{port}"
        grant = connect_grant(vault, key, f"http://localhost:{demo_port}")
        print(f"binary {binary}, {args.database}, {args.duration}s per run, one keep-alive connection per client process")
        for connections in [int(c) for c in args.connections.split(",")]:
            results = {}
            for name, make in [("/v1/grants/{id}/token", lambda: [v1_request(key, grant)] * args.max_requests),
                               ("/sdk/token (signed)", lambda: [signed_request(vault, key, grant) for _ in range(args.max_requests)])]:
                run(port, make, connections, 2)  # warm-up
                results[name] = run(port, make, connections, args.duration)
            print(f"\n{connections} connection(s)          p50 ms   p99 ms      req/s   requests")
            for name, r in results.items():
                print(f"  {name:<24} {r['p50']:8.3f} {r['p99']:8.3f} {r['rps']:10.0f} {r['n']:10d}")
            v1, sdk = results["/v1/grants/{id}/token"], results["/sdk/token (signed)"]
            print(f"  /sdk − /v1               {sdk['p50'] - v1['p50']:8.3f} ms p50, req/s ratio {sdk['rps'] / v1['rps']:.2f}")
    finally:
        if vault_process:
            vault_process.send_signal(signal.SIGTERM)
            try:
                vault_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                vault_process.kill()
        if cluster:
            subprocess.run([f"{ROOT}/scripts/postgres-stop", cluster], capture_output=True)
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
