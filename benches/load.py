#!/usr/bin/env python3
"""Load test: understudy against a bare actix-web ceiling, same machine, same run.

Builds the release binary and `examples/ceiling.rs`, then for each round and each server
starts it on loopback (pinned to CPU 0 when the machine has two or more), drives it with
`wrk -t1` (pinned to CPU 1), stops it by PID, and prints understudy's requests per second as a
share of the ceiling's, workload by workload. Everything is bounded: each wrk run lasts
`--duration` seconds, each server start waits at most 30 s.

Workloads (the same as ../shared/bench's, so numbers compare):
  A        one route, GET /api/users/42
  B-first  500 regex routes ^/api/rN/items/[0-9]+$, the request hits route 0
  B-last   same routes, the request hits route 499 (last in answer order)
  B-miss   same routes, no route matches: 404 with near misses

Also measured: start-up (process start to first answer), idle RSS one second after the first
answer, peak RSS (VmHWM) at the end; with --long N, RSS after 1 million and after N requests.

With --baseline BIN, a second understudy binary (say, one built from the commit before a
change) runs in the same rounds, so a change is compared with its base on the same machine
at the same time. Ratios are the median of the per-round ratios: each round's servers run
back to back, which cancels most of the drift of a shared machine.

    python3 benches/load.py                      # 3 rounds x 5 s per workload
    python3 benches/load.py --rounds 1 --duration 3 --json out.json
    python3 benches/load.py --long 10000000      # memory over ten million requests
    python3 benches/load.py --baseline ../base/target/release/understudy
    python3 benches/load.py --wiremock           # the workloads as WireMock mapping files too

Needs wrk (Debian/Ubuntu: apt-get install wrk) and cargo.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_ROUTES = 500
A_PATH = "/api/users/42"
A_BODY = '{"id":42,"name":"Ada"}'
WORKLOADS = {
    # name: (config, path, expected status)
    "A": ("one", A_PATH, 200),
    "B-first": ("many", "/api/r0/items/7", 200),
    "B-last": ("many", "/api/r%d/items/7" % (N_ROUTES - 1), 200),
    "B-miss": ("many", "/api/none/items/7", 404),
}


def write_scenarios(root):
    """The two scenario directories: one route, and 500 regex routes."""

    def route(n, path, body):
        return {
            "id": "r%d" % n,
            "request": {"method": "GET", "path": path},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": body,
            },
        }

    one = os.path.join(root, "one")
    many = os.path.join(root, "many")
    os.makedirs(one)
    os.makedirs(many)
    with open(os.path.join(one, "users.json"), "w") as f:
        json.dump({"name": "bench-A", "routes": [route(0, A_PATH, A_BODY)]}, f)
    routes = [
        route(n, "/api/r%d/items/[0-9]+" % n, '{"route":%d,"id":7}' % n)
        for n in range(N_ROUTES)
    ]
    with open(os.path.join(many, "routes.json"), "w") as f:
        json.dump({"name": "bench-B", "routes": routes}, f)

    # The same workloads as WireMock mapping files (--wiremock).
    def stub(path_key, path, body):
        return {
            "request": {"method": "GET", path_key: path},
            "response": {
                "status": 200,
                "headers": {"Content-Type": "application/json"},
                "body": body,
            },
        }

    one_wm = os.path.join(root, "one-wm", "mappings")
    many_wm = os.path.join(root, "many-wm", "mappings")
    os.makedirs(one_wm)
    os.makedirs(many_wm)
    with open(os.path.join(one_wm, "users.json"), "w") as f:
        json.dump(stub("urlPath", A_PATH, A_BODY), f)
    stubs = [
        stub("urlPathPattern", "/api/r%d/items/[0-9]+" % n, '{"route":%d,"id":7}' % n)
        for n in range(N_ROUTES)
    ]
    # WireMock tries the newest stub first: written in reverse, r0 is still tried first.
    with open(os.path.join(many_wm, "routes.json"), "w") as f:
        json.dump({"mappings": list(reversed(stubs))}, f)
    return {
        "one": one,
        "many": many,
        "one-wm": os.path.dirname(one_wm),
        "many-wm": os.path.dirname(many_wm),
    }


def pinned(cpu, argv):
    if PIN and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu)] + argv
    return argv


def status_of(url):
    try:
        with urllib.request.urlopen(url, timeout=1) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except OSError:
        return None


def start(argv, url, expected):
    """Starts a server; returns (process, ms from start to the first expected answer)."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        pinned(0, argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = t0 + 30
    while time.monotonic() < deadline:
        if status_of(url) == expected:
            return proc, (time.monotonic() - t0) * 1000
        if proc.poll() is not None:
            sys.exit("server exited with status %s: %s" % (proc.returncode, argv))
        time.sleep(0.002)
    stop(proc)
    sys.exit("server did not answer within 30 s: %s" % argv)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def status_kib(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def wrk(url, duration, conns):
    out = subprocess.run(
        pinned(1, ["wrk", "-t1", "-c%d" % conns, "-d%ds" % duration, "--latency", url]),
        capture_output=True,
        text=True,
        timeout=duration + 60,
    ).stdout

    def number(pattern, default=0.0):
        m = re.search(pattern, out)
        return float(m.group(1)) if m else default

    def ms(label):
        m = re.search(r"^\s+%s\s+([\d.]+)(us|ms|s)\b" % label, out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    errors = sum(
        int(n)
        for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out.split("Socket errors:")[-1])
    ) if "Socket errors:" in out else 0
    return {
        "rps": number(r"Requests/sec:\s+([\d.]+)"),
        "requests": int(number(r"(\d+) requests in")),
        "other_status": int(number(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": errors,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
    }


def servers(dirs, port, baseline=None):
    bin_ = os.path.join(ROOT, "target", "release", "understudy")
    ceiling = os.path.join(ROOT, "target", "release", "examples", "ceiling")
    addr = "127.0.0.1:%d" % port

    def understudy(binary):
        return lambda config: [binary, "serve", "--scenarios", dirs[config], "--bind", addr]

    out = {"ceiling": lambda config: [ceiling, addr, "1"], "understudy": understudy(bin_)}
    out["wiremock-format"] = lambda config: [
        bin_, "serve", "--scenarios", dirs[config + "-wm"], "--bind", addr]
    if baseline:
        out["baseline"] = understudy(os.path.abspath(baseline))
    return out


def run_round(dirs, port, order, args, results, memory):
    base = "http://127.0.0.1:%d" % port
    for name in order:
        argv_of = servers(dirs, port, args.baseline)[name]
        for config in ("one", "many"):
            loads = [w for w, (c, _, _) in WORKLOADS.items() if c == config]
            first_path = WORKLOADS[loads[0]][1]
            proc, startup = start(argv_of(config), base + first_path, 200)
            time.sleep(1)
            idle = status_kib(proc.pid, "VmRSS")
            for load in loads:
                _, path, expected = WORKLOADS[load]
                got = status_of(base + path)
                # The ceiling answers 200 to everything; understudy must answer as scripted.
                if name != "ceiling" and got != expected:
                    stop(proc)
                    sys.exit("%s %s answered %s, expected %s" % (name, path, got, expected))
                wrk(base + path, args.warmup, args.conns)
                r = wrk(base + path, args.duration, args.conns)
                results.setdefault((name, load), []).append(r)
                print(
                    "  %-10s %-8s %10.0f req/s  p50 %.3f ms  p99 %.3f ms  other-status %d  errors %d"
                    % (name, load, r["rps"], r["p50_ms"], r["p99_ms"], r["other_status"],
                       r["socket_errors"]),
                    flush=True,
                )
            peak = status_kib(proc.pid, "VmHWM")
            stop(proc)
            memory.setdefault((name, config), []).append(
                {"startup_ms": startup, "idle_rss_kib": idle, "peak_rss_kib": peak}
            )


def long_run(dirs, port, total, conns):
    """RSS of understudy (config A) after 1 million and after `total` requests."""
    base = "http://127.0.0.1:%d" % port
    argv = servers(dirs, port)["understudy"]("one")
    proc, _ = start(argv, base + A_PATH, 200)
    done, marks, errors = 0, [], 0
    targets = sorted({min(1_000_000, total), total})
    try:
        while len(marks) < len(targets):
            r = wrk(base + A_PATH, 5, conns)
            done += r["requests"]
            errors += r["socket_errors"] + r["other_status"]
            while len(marks) < len(targets) and done >= targets[len(marks)]:
                rss = status_kib(proc.pid, "VmRSS")
                marks.append((done, rss))
                print("  after %11d requests: RSS %6.1f MiB" % (done, rss / 1024), flush=True)
    finally:
        stop(proc)
    return {"marks": marks, "errors": errors}


def main():
    global PIN
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=int, default=5, help="seconds per measured wrk run")
    p.add_argument("--warmup", type=int, default=2, help="seconds of wrk before each measured run")
    p.add_argument("--conns", type=int, default=32)
    p.add_argument("--port", type=int, default=18190)
    p.add_argument("--no-build", action="store_true", help="use the binaries already built")
    p.add_argument("--no-pin", action="store_true", help="do not pin servers and wrk to CPUs")
    p.add_argument("--long", type=int, default=0, metavar="N",
                   help="also run N requests against understudy and report RSS after 1M and N")
    p.add_argument("--json", metavar="FILE", help="write the raw results here")
    p.add_argument("--baseline", metavar="BIN",
                   help="another understudy binary to measure in the same rounds")
    p.add_argument("--wiremock", action="store_true",
                   help="also serve the workloads as WireMock mapping files (same binary)")
    args = p.parse_args()
    PIN = not args.no_pin and (os.cpu_count() or 1) >= 2
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (Debian/Ubuntu: apt-get install wrk)")
    if not args.no_build:
        subprocess.run(
            ["cargo", "build", "--release", "--locked", "--bin", "understudy", "--example", "ceiling"],
            cwd=ROOT, check=True,
        )
    tmp = tempfile.mkdtemp(prefix="understudy-load-")
    try:
        dirs = write_scenarios(tmp)
        results, memory = {}, {}
        names = (["ceiling", "understudy"] + (["baseline"] if args.baseline else [])
                 + (["wiremock-format"] if args.wiremock else []))
        for n in range(args.rounds):
            # Rotate the order so no server always runs on a warmer machine.
            order = names[n % len(names):] + names[:n % len(names)]
            print("round %d of %d (%s)" % (n + 1, args.rounds, ", ".join(order)), flush=True)
            run_round(dirs, args.port, order, args, results, memory)
        long = long_run(dirs, args.port, args.long, args.conns) if args.long else None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    def med(rows, key):
        vals = [r[key] for r in rows if r[key] is not None]
        return statistics.median(vals) if vals else None

    def ratio(load, a, b):
        """Median over rounds of a's req/s over b's in the same round."""
        pairs = zip(results[(a, load)], results[(b, load)])
        return statistics.median(x["rps"] / y["rps"] for x, y in pairs if y["rps"])

    print()
    extra = " baseline req/s | vs baseline |" if args.baseline else ""
    print("| workload | ceiling req/s | understudy req/s | ratio | understudy p50 ms | p99 ms |"
          + extra)
    print("|---|---:|---:|---:|---:|---:|" + ("---:|---:|" if args.baseline else ""))
    table = {}
    for load in WORKLOADS:
        c = med(results[("ceiling", load)], "rps")
        u = med(results[("understudy", load)], "rps")
        row = {"ceiling_rps": c, "understudy_rps": u, "ratio": ratio(load, "understudy", "ceiling")}
        line = "| %s | %.0f | %.0f | %.2f | %.3f | %.3f |" % (
            load, c, u, row["ratio"],
            med(results[("understudy", load)], "p50_ms") or 0.0,
            med(results[("understudy", load)], "p99_ms") or 0.0)
        if args.baseline:
            row["baseline_rps"] = med(results[("baseline", load)], "rps")
            row["vs_baseline"] = ratio(load, "understudy", "baseline")
            line += " %.0f | %.2f |" % (row["baseline_rps"], row["vs_baseline"])
        table[load] = row
        print(line)
    if args.wiremock:
        print()
        print("| workload | native req/s | WireMock-format req/s | WireMock-format / native |")
        print("|---|---:|---:|---:|")
        for load in WORKLOADS:
            w = med(results[("wiremock-format", load)], "rps")
            table[load]["wiremock_format_rps"] = w
            table[load]["wiremock_vs_native"] = ratio(load, "wiremock-format", "understudy")
            print("| %s | %.0f | %.0f | %.2f |" % (
                load, table[load]["understudy_rps"], w, table[load]["wiremock_vs_native"]))
    print()
    print("| server | scenarios | start-up ms | idle RSS MiB | peak RSS MiB |")
    print("|---|---|---:|---:|---:|")
    for (name, config), rows in sorted(memory.items()):
        print("| %s | %s | %.0f | %.1f | %.1f |" % (
            name, "1 route" if config == "one" else "%d routes" % N_ROUTES,
            med(rows, "startup_ms"), med(rows, "idle_rss_kib") / 1024,
            max(r["peak_rss_kib"] for r in rows) / 1024))
    if long:
        (n1, r1), (n2, r2) = long["marks"][0], long["marks"][-1]
        print()
        print("RSS after %d requests: %.1f MiB; after %d: %.1f MiB (%+.1f%%); errors %d" % (
            n1, r1 / 1024, n2, r2 / 1024, (r2 - r1) * 100.0 / r1, long["errors"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({
                "args": vars(args),
                "table": table,
                "runs": {"%s/%s" % k: v for k, v in results.items()},
                "memory": {"%s/%s" % k: v for k, v in memory.items()},
                "long": long,
            }, f, indent=1)


PIN = True

if __name__ == "__main__":
    main()
