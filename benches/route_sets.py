#!/usr/bin/env python3
"""Big route sets: start-up time, memory and reload latency of understudy (Python 3 standard
library only).

For each route set below, against the release binary with `--watch off`:
  ready   time from spawn until the first answer to GET /__admin/health
  RSS     resident memory one second after ready (VmRSS)
  check   every route answers its own body (all of them, over keep-alive connections), and
          an unmatched request still gets near misses naming the closest routes

Route sets (as issue 21 states them):
  2,000 regex routes          /api/rN/items/[0-9]+ in one file
  10,000 literal routes       /api/lit/N in one file
  20,000 regex routes         two files of 10,000
  20,000 routes               10,000 literal + 10,000 regex, two files (the goal case)

Then, with `--watch native` on the 20,000-route set: the 10,000-route file is rewritten with one
answer changed (a rename-save), timed from just before the rename until GET of that route
answers the new body, several times.

Usage (from the repository root):

  cargo build --release
  python3 benches/route_sets.py            # about a minute
  python3 benches/route_sets.py --quick    # one start per set, fewer reloads (CI's smoke)

The binary is target/release/understudy or $UNDERSTUDY_BIN. Everything runs on 127.0.0.1 in a
temporary directory; servers started here are stopped by PID. Output is a markdown table.
Timings are measured, never asserted; exit status 1 only when a route does not answer as
written or an edit is never served.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def binary() -> str:
    return os.environ.get("UNDERSTUDY_BIN") or os.path.join(ROOT, "target", "release", "understudy")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def literal_routes(n: int, start: int = 0) -> list:
    return [
        {"request": {"method": "GET", "path": "/api/lit/%d" % i},
         "response": {"status": 200, "body": "lit %d" % i}}
        for i in range(start, start + n)
    ]


def regex_routes(n: int, start: int = 0) -> list:
    return [
        {"request": {"method": "GET", "path": "/api/r%d/items/[0-9]+" % i},
         "response": {"status": 200, "body": "rx %d" % i}}
        for i in range(start, start + n)
    ]


def write(path: str, name: str, routes: list) -> None:
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"name": name, "routes": routes}, f)
    os.rename(tmp, path)


def route_sets(base: str) -> list:
    """(label, directory, [(path, body)] every route's request and answer)."""
    sets = []

    def make(label, files):
        d = os.path.join(base, label.replace(" ", "-").replace(",", ""))
        os.makedirs(d)
        expect = []
        for name, routes, kind in files:
            write(os.path.join(d, name + ".json"), name, routes)
            for r in routes:
                p = r["request"]["path"]
                expect.append((p.replace("[0-9]+", "7") if kind == "rx" else p, r["response"]["body"]))
        sets.append((label, d, expect))

    make("2,000 regex", [("rx", regex_routes(2000), "rx")])
    make("10,000 literal", [("lit", literal_routes(10000), "lit")])
    make("20,000 regex", [("rx-a", regex_routes(10000), "rx"), ("rx-b", regex_routes(10000, 10000), "rx")])
    make("20,000 mixed", [("lit", literal_routes(10000), "lit"), ("rx", regex_routes(10000), "rx")])
    return sets


class Server:
    def __init__(self, directory: str, watch: str = "off"):
        self.port = free_port()
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [binary(), "serve", "--scenarios", directory, "--bind", "127.0.0.1:%d" % self.port,
             "--watch", watch],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ready = self.wait_ready()

    def wait_ready(self) -> float:
        deadline = self.started + 60
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                    if s.recv(64).startswith(b"HTTP/1.1 200"):
                        return time.monotonic() - self.started
            except OSError:
                time.sleep(0.001)
        self.stop()
        raise SystemExit("understudy did not become ready within 60 s")

    def rss_mb(self) -> float:
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def get(self, conn: http.client.HTTPConnection, path: str) -> tuple:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def check_routes(server: Server, expect: list) -> list:
    problems = []
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    for path, body in expect:
        status, got = server.get(conn, path)
        if status != 200 or got.decode() != body:
            problems.append("%s answered %d %r, expected %r" % (path, status, got[:60], body))
            if len(problems) > 5:
                break
    status, got = server.get(conn, "/api/lit/x9/items/7")
    report = json.loads(got or b"{}")
    if status != 404 or not report.get("nearMisses"):
        problems.append("an unmatched request got %d without near misses" % status)
    conn.close()
    return problems


def reload_latency(base: str, rounds: int) -> tuple:
    d = os.path.join(base, "reload")
    os.makedirs(d)
    lit = literal_routes(10000)
    write(os.path.join(d, "lit.json"), "lit", lit)
    write(os.path.join(d, "rx.json"), "rx", regex_routes(10000))
    server = Server(d, watch="native")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    times, failures = [], 0
    try:
        for n in range(rounds):
            target = 5000 + n
            lit[target]["response"]["body"] = "edited %d" % n
            want = ("edited %d" % n).encode()
            path = os.path.join(d, "lit.json")
            with open(path + ".tmp", "w") as f:
                json.dump({"name": "lit", "routes": lit}, f)
            # Timed from the rename (the save), not from writing the text.
            t0 = time.monotonic()
            os.rename(path + ".tmp", path)
            deadline = t0 + 5
            while True:
                status, got = server.get(conn, "/api/lit/%d" % target)
                if got == want:
                    times.append((time.monotonic() - t0) * 1000)
                    break
                if time.monotonic() > deadline:
                    failures += 1
                    break
            time.sleep(0.2)
    finally:
        conn.close()
        server.stop()
    return times, failures


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="one start per set, 3 reloads")
    args = p.parse_args()
    if not os.path.exists(binary()):
        print("no binary at %s: cargo build --release first" % binary(), file=sys.stderr)
        return 2
    starts = 1 if args.quick else 3
    failed = False
    with tempfile.TemporaryDirectory(prefix="understudy-routes-") as base:
        print("| route set | ready ms (median of %d) | RSS MB | every route answers |" % starts)
        print("|---|---:|---:|---|")
        for label, d, expect in route_sets(base):
            readies, rss, problems = [], [], []
            for i in range(starts):
                server = Server(d)
                try:
                    readies.append(server.ready * 1000)
                    time.sleep(1)
                    rss.append(server.rss_mb())
                    if i == 0:
                        problems = check_routes(server, expect)
                finally:
                    server.stop()
            failed |= bool(problems)
            print("| %s | %.0f | %.1f | %s |" % (
                label, statistics.median(readies), statistics.median(rss),
                "yes (%d routes)" % len(expect) if not problems else "NO: " + "; ".join(problems)))
        times, failures = reload_latency(base, 3 if args.quick else 10)
        failed |= failures > 0
        print()
        if times:
            print("Edit of the 10,000-route file in the 20,000-route set, rename-save to served "
                  "(--watch native, %d edits): median %.0f ms, min %.0f, max %.0f%s" % (
                      len(times), statistics.median(times), min(times), max(times),
                      "; %d never served" % failures if failures else ""))
        else:
            print("Edit of the 10,000-route file: never served (%d edits)" % failures)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
