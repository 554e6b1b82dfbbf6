#!/usr/bin/env python3
"""HTTP/2 load test: understudy against a bare actix-web HTTP/2 ceiling, same machine, same run.

Builds the release binary and `examples/ceiling.rs`; for each round and each server starts it
on loopback (pinned to CPU 0 when the machine has two or more), drives it with `h2load`
(Debian `nghttp2-client`; HTTP/2 with prior knowledge, one thread pinned to CPU 1), stops it
by PID, and prints understudy's requests per second as a share of the ceiling's. The ceiling
is `examples/ceiling.rs h2c`: actix-web's own HTTP/2 dispatcher answering every request with
the same 22-byte JSON body. understudy answers workload A of benches/load.py (one route,
GET /api/users/42, the same body). Ratios are the median of the per-round ratios.

    python3 benches/h2.py                        # 3 rounds x 5 s
    python3 benches/h2.py --rounds 1 --duration 3 --json out.json

Needs h2load (`.ci/h2-tools.sh` installs it; $H2LOAD overrides the command) and cargo.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load  # noqa: E402  (the shared server start/stop and scenario helpers)

ROOT = load.ROOT


def h2load(url, duration, clients, streams):
    """One h2load run; returns requests per second and failures."""
    exe = os.environ.get("H2LOAD") or shutil.which("h2load")
    if not exe:
        sys.exit("h2load not found: run .ci/h2-tools.sh or apt-get install nghttp2-client")
    argv = load.pinned(1, [exe, "-t", "1", "-c", str(clients), "-m", str(streams),
                           "-D", str(duration), url])
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    rps = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", out)
    done = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded, (\d+) failed", out)
    status = re.search(r"status codes: (\d+) 2xx", out)
    if not rps or not done:
        sys.exit("unexpected h2load output:\n" + out)
    return {
        "rps": float(rps.group(1)),
        "done": int(done.group(1)),
        "failed": int(done.group(3)),
        "ok_2xx": int(status.group(1)) if status else 0,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2, help="seconds of load before each measured run")
    ap.add_argument("--clients", type=int, default=16, help="h2load connections")
    ap.add_argument("--streams", type=int, default=16, help="concurrent streams per connection")
    ap.add_argument("--port", type=int, default=18090)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "understudy",
                    "--example", "ceiling"], cwd=ROOT, check=True)
    binary = os.path.join(ROOT, "target", "release", "understudy")
    ceiling = os.path.join(ROOT, "target", "release", "examples", "ceiling")
    addr = "127.0.0.1:%d" % args.port
    base = "http://" + addr
    with tempfile.TemporaryDirectory() as tmp:
        load.write_scenarios(tmp)
        argvs = {
            "ceiling": [ceiling, addr, "1", "h2c"],
            "understudy": [binary, "serve", "--scenarios", os.path.join(tmp, "one"),
                           "--bind", addr, "--workers", "1"],
        }
        results = {name: [] for name in argvs}
        for rnd in range(args.rounds):
            order = ["ceiling", "understudy"] if rnd % 2 == 0 else ["understudy", "ceiling"]
            for name in order:
                proc, _ = load.start(argvs[name], base + load.A_PATH, 200)
                try:
                    h2load(base + load.A_PATH, args.warmup, args.clients, args.streams)
                    r = h2load(base + load.A_PATH, args.duration, args.clients, args.streams)
                finally:
                    load.stop(proc)
                if r["failed"] or r["ok_2xx"] != r["done"]:
                    sys.exit("%s: %d failed, %d of %d answered 2xx" % (name, r["failed"], r["ok_2xx"], r["done"]))
                results[name].append(r)
                print("  round %d %-10s %10.0f req/s  (%d requests)" % (rnd + 1, name, r["rps"], r["done"]),
                      flush=True)
    ratios = [u["rps"] / c["rps"] for u, c in zip(results["understudy"], results["ceiling"])]
    summary = {
        "ceiling_rps": statistics.median(r["rps"] for r in results["ceiling"]),
        "understudy_rps": statistics.median(r["rps"] for r in results["understudy"]),
        "ratio": statistics.median(ratios),
        "rounds": args.rounds,
        "duration_s": args.duration,
        "clients": args.clients,
        "streams": args.streams,
    }
    print()
    print("| workload | ceiling req/s | understudy req/s | ratio |")
    print("|---|---:|---:|---:|")
    print("| A over h2c (%d connections x %d streams) | %.0f | %.0f | %.2f |" % (
        args.clients, args.streams, summary["ceiling_rps"], summary["understudy_rps"], summary["ratio"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
