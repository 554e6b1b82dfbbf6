#!/usr/bin/env python3
"""Cost of shared state (`--state-store redis://…`): stateful and stateless requests against
one understudy with its state in memory and one with its state in Redis, in the same run
(Python 3 standard library, wrk and redis-server).

understudy serves two routes: `GET /step`, a `responses` script that cycles (every request
claims a sequence position: stateful), and `GET /ping`, one answer (stateless: with the store it
only writes its journal entry to Redis). For each round and each mode (memory, redis), wrk runs
against each route twice: one connection (`-c1`: the latency a sequential client sees) and 32
connections (`-c32`: the throughput). The report gives requests per second; with one
connection a request's time is 1/rate (a closed loop), and the cost per stateful request is
the difference of those times with and without the store.

Usage (from the repository root):

  python3 benches/replicas.py                          # builds the release binary; 3 rounds of 4 s
  python3 benches/replicas.py --no-build --rounds 1 --duration 2
  python3 benches/replicas.py --binary path/to/understudy

Everything runs on 127.0.0.1; the redis-server (no persistence) and the servers started here
are stopped by PID. Rates are measured, never asserted; exit status 1 only when an answer is
wrong or wrk reports errors.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("nothing listens on port %d after 30 s" % port)


def get(port: int, path: str) -> tuple:
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def wrk(url: str, duration: int, conns: int) -> tuple:
    out = subprocess.run(
        ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors", out)
    if errors:
        print(out, file=sys.stderr)
        raise SystemExit("wrk reported errors against %s" % url)
    return rate


SCENARIO = {
    "name": "bench",
    "routes": [
        {"id": "step", "request": {"method": "GET", "path": "/step"},
         "responses": [{"status": 200, "body": "a"}, {"status": 200, "body": "b"}],
         "afterLast": "cycle"},
        {"id": "ping", "request": {"method": "GET", "path": "/ping"},
         "response": {"status": 200, "body": "pong"}},
    ],
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target/release/understudy"))
    ap.add_argument("--redis-server", default=os.environ.get("REDIS_SERVER", "redis-server"))
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed (apt-get install wrk)")
    if not shutil.which(args.redis_server):
        raise SystemExit("redis-server is needed (.ci/redis-tools.sh)")
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "understudy"],
                       cwd=ROOT, check=True)

    procs = []
    tmp = tempfile.mkdtemp(prefix="understudy-replicas-bench-")
    try:
        with open(os.path.join(tmp, "bench.json"), "w") as f:
            json.dump(SCENARIO, f)
        redis_port = free_port()
        procs.append(subprocess.Popen(
            [args.redis_server, "--port", str(redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_port(redis_port)

        ports = {}
        for mode in ("memory", "redis"):
            port = free_port()
            cmd = [args.binary, "serve", "--bind", "127.0.0.1:%d" % port, "--watch", "off",
                   "--scenarios", tmp, "--log-format", "json"]
            if mode == "redis":
                cmd += ["--state-store", "redis://127.0.0.1:%d" % redis_port]
            env = dict(os.environ, RUST_LOG="warn")
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL))
            wait_port(port)
            ports[mode] = port
            # Stateful answers alternate; the stateless one is fixed.
            seen = {get(port, "/step")[1] for _ in range(4)}
            if seen != {"a", "b"} or get(port, "/ping") != (200, "pong"):
                raise SystemExit("%s: wrong answers %r" % (mode, seen))

        results = {}
        for rnd in range(args.rounds):
            order = ("memory", "redis") if rnd % 2 == 0 else ("redis", "memory")
            for mode in order:
                for path in ("/step", "/ping"):
                    for conns in (1, 32):
                        url = "http://127.0.0.1:%d%s" % (ports[mode], path)
                        results.setdefault((mode, path, conns), []).append(
                            wrk(url, args.duration, conns))

        print("| mode | route | connections | req/s (median) | µs per request (1 connection) |")
        print("|---|---|---:|---:|---:|")
        med = {}
        for (mode, path, conns), runs in sorted(results.items()):
            rate = statistics.median(runs)
            med[(mode, path, conns)] = rate
            kind = "stateful" if path == "/step" else "stateless"
            per = "%.1f" % (1e6 / rate) if conns == 1 else ""
            print("| %s | `%s` (%s) | %d | %s | %s |" % (
                mode, path, kind, conns, format(round(rate), ","), per))
        us = lambda mode, path: 1e6 / med[(mode, path, 1)]
        cost = us("redis", "/step") - us("memory", "/step")
        stateless = us("redis", "/ping") - us("memory", "/ping")
        print()
        print("cost per stateful request with Redis (one connection): %+.0f µs" % cost)
        print("cost per stateless request with Redis (journal write):  %+.0f µs" % stateless)
        return 0
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
