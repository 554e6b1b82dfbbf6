#!/usr/bin/env python3
"""Proxy overhead: a small JSON upstream called directly and through an understudy proxy route,
in the same run (Python 3 standard library and wrk).

The upstream answers a 22-byte JSON body: by default `examples/ceiling.rs` (bare actix-web,
one worker, the fastest upstream there is: the proxy's own cost shows most); with
`--upstream python`, Python's standard `http.server` (threaded, HTTP/1.1 keep-alive), a
typical small test service; with `--upstream python10`, the same speaking HTTP/1.0 (a new
connection per request).
understudy serves one route, `{"proxy": {"to": UPSTREAM}}`, on every path. For each round,
wrk runs against the upstream directly, then through understudy (alternating which goes first),
and the report gives each rate and the proxied/direct ratio, and the answers' bytes are
checked to be the same both ways.

Usage (from the repository root):

  python3 benches/proxy.py                 # builds release binaries; 3 rounds of 5 s
  python3 benches/proxy.py --no-build --rounds 1 --duration 3
  python3 benches/proxy.py --upstream python --conns 8
  python3 benches/proxy.py --pin upstream-with-wrk   # understudy on CPU 0, the rest on CPU 1

`--pin` places the processes as `../shared/bench/` does (the server under test on CPU 0, the
load generator on CPU 1), with the upstream either beside understudy (`upstream-with-server`:
the two servers share CPU 0, so the proxy's whole cost shows) or beside wrk
(`upstream-with-wrk`: the upstream is part of the environment, understudy has CPU 0 to itself).

Everything runs on 127.0.0.1; servers started here are stopped by PID. Rates are measured,
never asserted; exit status 1 only when an answer differs or wrk reports errors.
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


def wait_ready(port: int, path: str = "/") -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=1):
                return
        except OSError:
            time.sleep(0.02)
    raise SystemExit("server on port %d did not answer within 30 s" % port)


def wrk(url: str, duration: int, conns: int, pin: list) -> tuple:
    out = subprocess.run(
        pin + ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--latency", url],
        capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = re.search(r"Socket errors: (.*)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return (rate, float(p50.group(1)) * scale[p50.group(2)] if p50 else float("nan"),
            bool(errors) or bool(non2xx))


PYTHON_UPSTREAM = r"""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    protocol_version = sys.argv[2]
    disable_nagle_algorithm = True

    def do_GET(self):
        body = b'{"id":42,"name":"Ada"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""


def upstream_command(kind: str, ceiling: str, port: int) -> list:
    if kind == "ceiling":
        return [ceiling, "127.0.0.1:%d" % port, "1"]
    version = "HTTP/1.0" if kind == "python10" else "HTTP/1.1"
    return [sys.executable, "-c", PYTHON_UPSTREAM, str(port), version]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--no-build", action="store_true")
    p.add_argument("--upstream", choices=["ceiling", "python", "python10"], default="ceiling")
    p.add_argument("--pin", choices=["upstream-with-server", "upstream-with-wrk"],
                   help="pin understudy to CPU 0, wrk to CPU 1 and the upstream to one of them")
    args = p.parse_args()
    cpu0 = ["taskset", "-c", "0"] if args.pin else []
    cpu1 = ["taskset", "-c", "1"] if args.pin else []
    up_pin = cpu0 if args.pin == "upstream-with-server" else cpu1
    if not shutil.which("wrk"):
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "understudy",
                        "--example", "ceiling"], cwd=ROOT, check=True)
    understudy = os.environ.get("UNDERSTUDY_BIN") or os.path.join(ROOT, "target", "release", "understudy")
    ceiling = os.path.join(ROOT, "target", "release", "examples", "ceiling")

    up_port, us_port = free_port(), free_port()
    procs = []
    failed = False
    with tempfile.TemporaryDirectory(prefix="understudy-proxy-") as d:
        with open(os.path.join(d, "proxy.json"), "w") as f:
            json.dump({"name": "proxy", "routes": [{
                "request": {"path": "/.*"},
                "response": {"proxy": {"to": "http://127.0.0.1:%d" % up_port}}}]}, f)
        try:
            procs.append(subprocess.Popen(up_pin + upstream_command(args.upstream, ceiling, up_port),
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            procs.append(subprocess.Popen(
                cpu0 + [understudy, "serve", "--scenarios", d, "--bind", "127.0.0.1:%d" % us_port,
                 "--watch", "off", "--log-format", "json"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            wait_ready(up_port)
            wait_ready(us_port, "/__admin/health")
            direct_url = "http://127.0.0.1:%d/api/users/42" % up_port
            proxied_url = "http://127.0.0.1:%d/api/users/42" % us_port
            print("upstream: %s, wrk -t1 -c%d, %d s per run%s" % (
                args.upstream, args.conns, args.duration,
                ", pinned: " + args.pin if args.pin else ""))
            a = urllib.request.urlopen(direct_url).read()
            b = urllib.request.urlopen(proxied_url).read()
            if a != b:
                print("answers differ: direct %r, proxied %r" % (a, b))
                failed = True
            rows = []
            for r in range(args.rounds):
                order = [("direct", direct_url), ("proxied", proxied_url)]
                if r % 2:
                    order.reverse()
                got = {}
                for name, url in order:
                    wrk(url, 1, args.conns, cpu1)  # warm-up
                    got[name] = wrk(url, args.duration, args.conns, cpu1)
                    failed |= got[name][2]
                rows.append(got)
                print("round %d: direct %.0f req/s (p50 %.3f ms), proxied %.0f req/s (p50 %.3f ms), ratio %.2f"
                      % (r + 1, got["direct"][0], got["direct"][1], got["proxied"][0],
                         got["proxied"][1], got["proxied"][0] / got["direct"][0]), flush=True)
        finally:
            for proc in procs:
                proc.kill()
                proc.wait()
    ratios = [row["proxied"][0] / row["direct"][0] for row in rows]
    print()
    print("| | direct req/s | proxied req/s | proxied / direct |")
    print("|---|---:|---:|---:|")
    for i, row in enumerate(rows):
        print("| round %d | %.0f | %.0f | %.2f |" % (i + 1, row["direct"][0], row["proxied"][0], ratios[i]))
    print("| median | | | %.2f |" % statistics.median(ratios))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
