#!/usr/bin/env python3
"""Soak test for understudy (Python 3 standard library only).

Starts the release binary on a temporary scenarios directory and, for --duration seconds,
runs mixed traffic from --workers threads while a scenario file is rewritten every
--reload-every seconds. Every answer is checked; what is not the expected answer is an error,
counted by kind. The server's resident memory (VmRSS), open file descriptors and threads are
sampled from /proc every --sample-every seconds.

Traffic (each request picks a kind at random, weighted):
  normal       GET /soak/hello (static JSON, kept-alive connection per worker)
  template     POST /soak/echo/ID with a JSON body; the templated answer must echo both
  script       GET /soak/script: a cycling script of 200, 201, 202
  delayed      GET /soak/delayed: delayMs 20..120
  dribble      GET /soak/dribble: a 256-byte body in 16-byte chunks 5 ms apart
  reset        GET /soak/fault/reset: connection_reset (the client must see a reset/close)
  truncated    GET /soak/fault/truncated: truncated_body (the client must see a short body)
  empty        GET /soak/fault/empty: empty_response
  malformed    GET /soak/fault/malformed: malformed_response
  no_response  GET /soak/fault/silent: no_response; the client gives up after 0.5 s
  websocket    /soak/ws: handshake, greeting, `ping N` -> `pong N`, `bye` -> goodbye + close
  unmatched    GET /soak/nowhere: 404 with x-understudy-unmatched and near misses
  admin        GET /__admin/requests?limit=20 (and now and then /__admin/scenarios)
  version      GET /soak/version: the hot-reloaded file; must answer a version already written

The reloader rewrites soak/reloaded.json (in place and by rename, alternately) with a new
version and waits until it is served; every 5th rewrite is invalid JSON, which must leave the
last good version serving and show up as an error in /__admin/scenarios, until the next one.

Usage (from the repository root):

  cargo build --release
  python3 benches/soak.py                   # 10 minutes
  python3 benches/soak.py --duration 60     # a quick look

The binary is target/release/understudy or $UNDERSTUDY_BIN. Everything runs on 127.0.0.1;
the server started here is stopped by PID. Output is markdown (also written to --out).
Exit status: 0 when there was no error, the server never died or panicked, its fds came back
to their starting level and its RSS did not keep growing; 1 otherwise; 2 if it could not run.
"""

from __future__ import annotations

import argparse
import base64
import collections
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
LISTENING = re.compile(r"listening on http://([0-9.]+):([0-9]+)")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

WEIGHTS = {
    "normal": 30,
    "template": 12,
    "script": 6,
    "delayed": 8,
    "dribble": 4,
    "reset": 3,
    "truncated": 3,
    "empty": 3,
    "malformed": 3,
    "no_response": 1,
    "websocket": 6,
    "unmatched": 8,
    "admin": 4,
    "version": 6,
}

DRIBBLE_BODY = "".join(chr(ord("a") + i % 26) for i in range(256))

# ---------------------------------------------------------------------------------------------
# Scenario files


def traffic_doc() -> dict:
    return {
        "description": "soak traffic",
        "routes": [
            {
                "id": "hello",
                "request": {"method": "GET", "path": "/soak/hello"},
                "response": {"status": 200, "json": {"hello": "world", "n": [1, 2, 3]}},
            },
            {
                "id": "echo",
                "request": {"method": "POST", "path": "/soak/echo/(?<id>[0-9]+)", "json": {"kind": "soak"}},
                "response": {
                    "status": 201,
                    "headers": {"x-echo-id": "{{ path.id }}"},
                    "json": {"id": "{{ path.id }}", "qty": "{{ request.json.qty }}", "at": "{{ now() }}"},
                    "template": True,
                },
            },
            {
                "id": "script",
                "request": {"method": "GET", "path": "/soak/script"},
                "responses": [{"status": 200}, {"status": 201, "repeat": 2}, {"status": 202}],
                "afterLast": "cycle",
            },
            {
                "id": "delayed",
                "request": {"path": "/soak/delayed"},
                "response": {"status": 200, "body": "late", "delayMs": {"min": 20, "max": 120}},
            },
            {
                "id": "dribble",
                "request": {"path": "/soak/dribble"},
                "response": {"status": 200, "body": DRIBBLE_BODY, "chunks": {"size": 16, "intervalMs": 5}},
            },
            {"id": "reset", "request": {"path": "/soak/fault/reset"},
             "response": {"status": 200, "fault": "connection_reset"}},
            {"id": "truncated", "request": {"path": "/soak/fault/truncated"},
             "response": {"status": 200, "fault": "truncated_body", "body": "x" * 2000}},
            {"id": "empty", "request": {"path": "/soak/fault/empty"},
             "response": {"status": 200, "fault": "empty_response"}},
            {"id": "malformed", "request": {"path": "/soak/fault/malformed"},
             "response": {"status": 200, "fault": "malformed_response"}},
            {"id": "silent", "request": {"path": "/soak/fault/silent"},
             "response": {"status": 200, "fault": "no_response"}},
            {
                "id": "ws",
                "request": {"method": "GET", "path": "/soak/ws"},
                "response": {
                    "status": 101,
                    "websocket": {
                        "onOpen": [{"text": "welcome"}],
                        "onMessage": [
                            {"match": "^ping (?<n>[0-9]+)$", "do": [{"text": "pong {{ n }}"}]},
                            {"match": "^bye$", "do": [{"text": "goodbye"}, {"close": 1000, "reason": "done"}]},
                        ],
                        "echo": True,
                    },
                },
            },
        ],
    }


def version_doc(version: int) -> str:
    return json.dumps(
        {
            "description": "soak: rewritten every few seconds",
            "routes": [
                {
                    "id": "version",
                    "request": {"method": "GET", "path": "/soak/version"},
                    "response": {"status": 200, "body": f"v{version}"},
                }
            ],
        }
    )


# ---------------------------------------------------------------------------------------------
# Server


class Server:
    """One understudy process; its output is drained by a thread into `lines`."""

    def __init__(self, binary: Path, scenarios: Path):
        # The server's own default log filter (RUST_LOG unset): what users see.
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("UNDERSTUDY_") and k != "RUST_LOG"}
        env["NO_COLOR"] = "1"
        self.cmd = [str(binary), "serve", "--bind", f"{HOST}:0", "--scenarios", str(scenarios),
                    "--log-format", "pretty"]
        self.lines: list[str] = []
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, text=True, bufsize=1,
                                     errors="replace")
        self.pid = self.proc.pid
        self.port = 0
        self._listening = threading.Event()
        self._drain = threading.Thread(target=self._read, daemon=True)
        self._drain.start()
        if not self._listening.wait(30) or not self.port:
            self.stop()
            raise RuntimeError("understudy did not start:\n" + "\n".join(self.lines[-20:]))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = ANSI.sub("", raw.rstrip("\n"))
            if len(self.lines) < 200_000:
                self.lines.append(line)
            if not self.port:
                m = LISTENING.search(line)
                if m:
                    self.port = int(m.group(2))
                    self._listening.set()
        self._listening.set()

    def alive(self) -> bool:
        return self.proc.poll() is None

    def sample(self) -> dict | None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
            fds = len(os.listdir(f"/proc/{self.pid}/fd"))
        except (FileNotFoundError, ProcessLookupError):
            return None
        fields = dict(l.split(":", 1) for l in status.splitlines() if ":" in l)
        kib = lambda k: int(fields[k].split()[0]) if k in fields else 0  # noqa: E731
        return {"rss_kib": kib("VmRSS"), "hwm_kib": kib("VmHWM"), "fds": fds,
                "threads": int(fields.get("Threads", "0").strip() or 0)}

    def stop(self) -> None:
        """SIGTERM this server's PID, SIGKILL it if it has not exited after 5 s."""
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self._drain.join(2)


# ---------------------------------------------------------------------------------------------
# Clients


class Unexpected(Exception):
    """An answer that is not the one the scenario gives."""


def fresh(port: int, timeout: float = 5.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def expect_fault(port: int, path: str, ok: tuple[type[BaseException], ...], timeout: float = 5.0) -> None:
    conn = fresh(port, timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read()
    except ok:
        return
    finally:
        conn.close()
    raise Unexpected(f"got a whole answer: {resp.status} with {len(body)} bytes")


def ws_exchange(port: int) -> None:
    sock = socket.create_connection((HOST, port), timeout=5)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET /soak/ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = sock.recv(4096)
            if not chunk:
                raise Unexpected("closed during the handshake")
            buf += chunk
        head, buf = buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise Unexpected(f"handshake answered {lines[0]!r}")
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        if not any(l.lower() == f"sec-websocket-accept: {accept}".lower() for l in lines[1:]):
            raise Unexpected("wrong or missing Sec-WebSocket-Accept")
        reader = FrameReader(sock, buf)

        def text() -> str:
            op, payload = reader.next()
            if op != 1:
                raise Unexpected(f"expected a text frame, got opcode {op}")
            return payload.decode()

        if (t := text()) != "welcome":
            raise Unexpected(f"greeting {t!r}")
        n = random.randint(0, 10_000)
        send_frame(sock, 1, f"ping {n}".encode())
        if (t := text()) != f"pong {n}":
            raise Unexpected(f"ping {n} answered {t!r}")
        send_frame(sock, 1, b"anything else")
        if (t := text()) != "anything else":
            raise Unexpected(f"echo answered {t!r}")
        send_frame(sock, 1, b"bye")
        if (t := text()) != "goodbye":
            raise Unexpected(f"bye answered {t!r}")
        op, payload = reader.next()
        if op != 8 or payload[:2] != struct.pack("!H", 1000):
            raise Unexpected(f"expected close 1000, got opcode {op} {payload[:2]!r}")
        send_frame(sock, 8, payload[:2])
    finally:
        sock.close()


def send_frame(sock: socket.socket, opcode: int, payload: bytes) -> None:
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))


class FrameReader:
    def __init__(self, sock: socket.socket, buf: bytes):
        self.sock, self.buf = sock, buf

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise Unexpected("connection closed mid-frame")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def next(self) -> tuple[int, bytes]:
        while True:
            b0, b1 = self._take(2)
            op, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            if b1 & 0x80:
                raise Unexpected("server frames must not be masked")
            payload = self._take(n)
            if op == 9:
                send_frame(self.sock, 10, payload)
                continue
            if op == 10:
                continue
            return op, payload


class Worker(threading.Thread):
    def __init__(self, ident: int, soak: "Soak"):
        super().__init__(daemon=True)
        self.ident_n = ident
        self.soak = soak
        self.rng = random.Random(ident)
        self.kept: http.client.HTTPConnection | None = None

    def kept_alive(self) -> http.client.HTTPConnection:
        if self.kept is None:
            self.kept = fresh(self.soak.port)
        return self.kept

    def get_kept(self, method: str, path: str, body: bytes | None = None,
                 headers: dict | None = None) -> tuple[int, dict, bytes]:
        conn = self.kept_alive()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
        except Exception:
            conn.close()
            self.kept = None
            raise
        if resp.will_close:
            conn.close()
            self.kept = None
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def run(self) -> None:
        kinds, weights = zip(*WEIGHTS.items())
        while not self.soak.stopping.is_set():
            kind = self.rng.choices(kinds, weights)[0]
            t0 = time.perf_counter()
            try:
                getattr(self, f"do_{kind}")()
                self.soak.record(kind, time.perf_counter() - t0, None)
            except Unexpected as err:
                self.soak.record(kind, time.perf_counter() - t0, f"unexpected: {err}")
            except Exception as err:  # noqa: BLE001 - every failure is counted by its type
                self.soak.record(kind, time.perf_counter() - t0, f"{type(err).__name__}: {err}")
        if self.kept:
            self.kept.close()

    def do_normal(self) -> None:
        status, _, body = self.get_kept("GET", "/soak/hello")
        if status != 200 or json.loads(body) != {"hello": "world", "n": [1, 2, 3]}:
            raise Unexpected(f"{status} {body[:80]!r}")

    def do_template(self) -> None:
        ident, qty = self.rng.randint(1, 10**9), self.rng.randint(0, 99)
        payload = json.dumps({"kind": "soak", "qty": qty, "pad": "p" * self.rng.randint(0, 4000)})
        status, headers, body = self.get_kept(
            "POST", f"/soak/echo/{ident}", payload.encode(), {"content-type": "application/json"})
        doc = json.loads(body) if status == 201 else None
        if status != 201 or headers.get("x-echo-id") != str(ident) or doc["id"] != str(ident) \
                or doc["qty"] != qty:
            raise Unexpected(f"{status} {headers.get('x-echo-id')} {body[:80]!r}")

    def do_script(self) -> None:
        status, _, _ = self.get_kept("GET", "/soak/script")
        if status not in (200, 201, 202):
            raise Unexpected(f"status {status}")

    def do_delayed(self) -> None:
        status, _, body = self.get_kept("GET", "/soak/delayed")
        if status != 200 or body != b"late":
            raise Unexpected(f"{status} {body[:80]!r}")

    def do_dribble(self) -> None:
        status, _, body = self.get_kept("GET", "/soak/dribble")
        if status != 200 or body != DRIBBLE_BODY.encode():
            raise Unexpected(f"{status}, {len(body)} bytes")

    def do_reset(self) -> None:
        expect_fault(self.soak.port, "/soak/fault/reset",
                     (ConnectionResetError, http.client.RemoteDisconnected))

    def do_truncated(self) -> None:
        expect_fault(self.soak.port, "/soak/fault/truncated", (http.client.IncompleteRead,))

    def do_empty(self) -> None:
        expect_fault(self.soak.port, "/soak/fault/empty",
                     (http.client.RemoteDisconnected, ConnectionResetError))

    def do_malformed(self) -> None:
        expect_fault(self.soak.port, "/soak/fault/malformed",
                     (http.client.BadStatusLine, http.client.RemoteDisconnected, ConnectionResetError))

    def do_no_response(self) -> None:
        expect_fault(self.soak.port, "/soak/fault/silent", (TimeoutError, socket.timeout), timeout=0.5)

    def do_websocket(self) -> None:
        ws_exchange(self.soak.port)

    def do_unmatched(self) -> None:
        status, headers, body = self.get_kept("GET", f"/soak/nowhere?page={self.rng.randint(1, 9)}")
        doc = json.loads(body) if status == 404 else {}
        if status != 404 or headers.get("x-understudy-unmatched") != "1" or "nearMisses" not in doc:
            raise Unexpected(f"{status} {body[:80]!r}")

    def do_admin(self) -> None:
        if self.rng.random() < 0.2:
            status, _, body = self.get_kept("GET", "/__admin/scenarios")
            if status != 200 or not isinstance(json.loads(body), list):
                raise Unexpected(f"scenarios: {status}")
            return
        status, _, body = self.get_kept("GET", "/__admin/requests?limit=20")
        doc = json.loads(body) if status == 200 else {}
        if status != 200 or len(doc.get("requests", [])) > 20:
            raise Unexpected(f"requests: {status} {body[:80]!r}")

    def do_version(self) -> None:
        floor = self.soak.served_version  # announced as served before this request was sent
        status, _, body = self.get_kept("GET", "/soak/version")
        text = body.decode(errors="replace")
        if status != 200 or not text.startswith("v"):
            raise Unexpected(f"{status} {text[:40]!r}")
        v = int(text[1:])
        if v < floor or v > self.soak.written_version:
            raise Unexpected(f"served v{v}, expected v{floor}..v{self.soak.written_version}")


# ---------------------------------------------------------------------------------------------
# The run


class Soak:
    def __init__(self, args: argparse.Namespace, server: Server, scenarios: Path):
        self.args = args
        self.server = server
        self.port = server.port
        self.scenarios = scenarios
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.counts: collections.Counter[str] = collections.Counter()
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.errors: collections.Counter[tuple[str, str]] = collections.Counter()
        self.samples: list[tuple[float, dict]] = []
        self.reloads = collections.Counter()
        self.reload_ms: list[float] = []
        self.written_version = 1
        self.served_version = 1
        self.t0 = time.monotonic()

    def record(self, kind: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.counts[kind] += 1
            if error is None:
                self.latency[kind].append(seconds)
            else:
                # Numbers vary per request; the kind of error does not.
                self.errors[(kind, re.sub(r"[0-9]+", "N", error)[:160])] += 1

    def sampler(self) -> None:
        while True:
            s = self.server.sample()
            if s is None:
                return
            self.samples.append((time.monotonic() - self.t0, s))
            if self.stopping.wait(self.args.sample_every):
                return

    def reloader(self) -> None:
        path = self.scenarios / "soak" / "reloaded.json"
        n = 0
        while not self.stopping.wait(self.args.reload_every):
            n += 1
            invalid = n % 5 == 0
            text = '{"routes": [ {"id": "version", ' if invalid else version_doc(self.written_version + 1)
            if not invalid:
                self.written_version += 1
            t0 = time.monotonic()
            if n % 2:
                path.write_text(text)
            else:
                tmp = path.with_name(".reloaded.json.tmp")
                tmp.write_text(text)
                os.replace(tmp, path)
            if invalid:
                self.reloads["invalid"] += 1
                if not self.wait_for(lambda: self.scenario_status("soak/reloaded") == "error"):
                    self.record("reload", 0, "invalid file not reported as an error in 5 s")
                continue
            want = f"v{self.written_version}".encode()
            if self.wait_for(lambda: self.get_version() == want):
                self.served_version = self.written_version
                self.reloads["valid"] += 1
                self.reload_ms.append((time.monotonic() - t0) * 1000)
                self.record("reload", 0, None)
            else:
                self.record("reload", 0, f"{want.decode()} not served within 5 s")

    def wait_for(self, cond) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not self.stopping.is_set():
            try:
                if cond():
                    return True
            except Exception:  # noqa: BLE001 - retried until the deadline
                pass
            time.sleep(0.02)
        return False

    def get_version(self) -> bytes:
        conn = fresh(self.port)
        try:
            conn.request("GET", "/soak/version")
            return conn.getresponse().read()
        finally:
            conn.close()

    def scenario_status(self, name: str) -> str:
        conn = fresh(self.port)
        try:
            conn.request("GET", "/__admin/scenarios")
            for s in json.loads(conn.getresponse().read()):
                if s["name"] == name:
                    return s["status"]
            return "missing"
        finally:
            conn.close()

    def run(self) -> None:
        threads = [threading.Thread(target=self.sampler, daemon=True),
                   threading.Thread(target=self.reloader, daemon=True)]
        threads += [Worker(i, self) for i in range(self.args.workers)]
        for t in threads:
            t.start()
        last_print = 0.0
        while time.monotonic() - self.t0 < self.args.duration and self.server.alive():
            time.sleep(1)
            elapsed = time.monotonic() - self.t0
            if elapsed - last_print >= 60 and self.samples:
                last_print = elapsed
                s = self.samples[-1][1]
                print(f"[{elapsed:5.0f} s] requests {sum(self.counts.values())}, "
                      f"errors {sum(self.errors.values())}, RSS {s['rss_kib'] / 1024:.1f} MiB, "
                      f"fds {s['fds']}", file=sys.stderr, flush=True)
        self.stopping.set()
        for t in threads:
            t.join(10)
        # Quiet period: connections the clients closed must be closed by the server too.
        time.sleep(3)
        self.after = self.server.sample()


def pct(xs: list[float], p: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def report(soak: Soak, baseline: dict, died: bool, lines: list[str]) -> tuple[str, bool]:
    out = []
    add = out.append
    elapsed = time.monotonic() - soak.t0
    total = sum(soak.counts.values())
    nerr = sum(soak.errors.values())
    add(f"# understudy soak: {soak.args.duration:.0f} s, {soak.args.workers} workers, "
        f"a rewrite every {soak.args.reload_every:g} s\n")
    add(f"- requests: {total} ({total / max(elapsed, 1):.0f}/s), errors: {nerr}")
    add(f"- reloads: {soak.reloads['valid']} valid (edit-to-served p50 "
        f"{pct(soak.reload_ms, 50):.0f} ms, max {max(soak.reload_ms, default=float('nan')):.0f} ms), "
        f"{soak.reloads['invalid']} invalid")
    add("\n| kind | requests | errors | p50 ms | p99 ms | max ms |\n|---|---:|---:|---:|---:|---:|")
    for kind in [*WEIGHTS, "reload"]:
        lat = [x * 1000 for x in soak.latency.get(kind, [])]
        errs = sum(c for (k, _), c in soak.errors.items() if k == kind)
        if kind == "reload":
            add(f"| reload | {soak.counts[kind]} | {errs} | | | |")
            continue
        add(f"| {kind} | {soak.counts[kind]} | {errs} | {pct(lat, 50):.1f} | {pct(lat, 99):.1f} "
            f"| {max(lat, default=float('nan')):.1f} |")
    if soak.errors:
        add("\nErrors by kind:\n")
        for (kind, what), c in soak.errors.most_common(20):
            add(f"- {kind}: {what} ×{c}")
    add("\n| t (s) | RSS (MiB) | peak RSS (MiB) | fds | threads |\n|---:|---:|---:|---:|---:|")
    rows = [(0.0, baseline)] + [(t, s) for t, s in soak.samples if t >= 1]
    step = max(1, len(rows) // 12)
    for t, s in rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else []):
        add(f"| {t:.0f} | {s['rss_kib'] / 1024:.1f} | {s['hwm_kib'] / 1024:.1f} | {s['fds']} | {s['threads']} |")
    after = soak.after or {}
    if after:
        add(f"| after (3 s quiet) | {after['rss_kib'] / 1024:.1f} | {after['hwm_kib'] / 1024:.1f} "
            f"| {after['fds']} | {after['threads']} |")
    rss = [s["rss_kib"] for _, s in soak.samples] or [baseline["rss_kib"]]
    fds = [s["fds"] for _, s in soak.samples] or [baseline["fds"]]
    # RSS after the first fifth of the run is the warmed-up level; growth past it is suspect.
    warm = rss[len(rss) // 5] if len(rss) >= 5 else rss[0]
    add(f"\nRSS start {baseline['rss_kib'] / 1024:.1f} MiB, warmed-up {warm / 1024:.1f} MiB, "
        f"peak {max(rss) / 1024:.1f} MiB, end {rss[-1] / 1024:.1f} MiB; "
        f"fds start {baseline['fds']}, peak {max(fds)}, after traffic {after.get('fds', '?')}.")
    panics = [l for l in lines if "panicked" in l]
    # The invalid rewrites are meant to be reported; any other ERROR line is a finding.
    errors_all = [l for l in lines if " ERROR " in l]
    log_errors = [l for l in errors_all if "reloaded.json" not in l]
    add(f"Server log: {len(lines)} lines, {len(panics)} panics, {len(errors_all) - len(log_errors)} "
        f"ERROR lines for the invalid rewrites (expected), {len(log_errors)} other ERROR lines"
        + (" — the server DIED during the run" if died else "") + ".")
    for l in (panics + log_errors)[:5]:
        add(f"    {l[:200]}")
    problems = []
    if nerr:
        problems.append(f"{nerr} errors")
    if died or panics:
        problems.append("server died or panicked")
    if log_errors:
        problems.append(f"{len(log_errors)} unexpected ERROR lines in the server log")
    if after and after["fds"] > baseline["fds"] + 8:
        problems.append(f"fds did not come back ({baseline['fds']} -> {after['fds']})")
    if rss[-1] > warm * 1.5 + 8 * 1024:
        problems.append(f"RSS kept growing ({warm // 1024} -> {rss[-1] // 1024} MiB)")
    add("\nResult: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return "\n".join(out) + "\n", not problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=600, help="seconds of traffic (default 600)")
    ap.add_argument("--workers", type=int, default=6, help="client threads (default 6)")
    ap.add_argument("--reload-every", type=float, default=3, help="seconds between rewrites (default 3)")
    ap.add_argument("--sample-every", type=float, default=5, help="seconds between /proc samples")
    ap.add_argument("--out", type=Path, help="also write the report here")
    ap.add_argument("--only", help="comma-separated kinds to run (default: all), to chase a finding")
    args = ap.parse_args()
    if args.only:
        keep = args.only.split(",")
        unknown = [k for k in keep if k not in WEIGHTS]
        if unknown:
            ap.error(f"unknown kinds {unknown}; known: {', '.join(WEIGHTS)}")
        for k in list(WEIGHTS):
            if k not in keep:
                del WEIGHTS[k]

    binary = Path(os.environ.get("UNDERSTUDY_BIN", REPO / "target" / "release" / "understudy"))
    if not binary.exists():
        print(f"{binary} not found: run `cargo build --release` first", file=sys.stderr)
        return 2
    if not Path("/proc/self/status").exists():
        print("needs /proc (Linux) to sample RSS and file descriptors", file=sys.stderr)
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="understudy-soak-"))
    server = None
    try:
        (tmp / "soak").mkdir()
        (tmp / "soak" / "traffic.json").write_text(json.dumps(traffic_doc(), indent=2))
        (tmp / "soak" / "reloaded.json").write_text(version_doc(1))
        server = Server(binary, tmp)
        time.sleep(0.5)
        baseline = server.sample()
        assert baseline is not None
        soak = Soak(args, server, tmp)
        soak.run()
        died = not server.alive()
        text, ok = report(soak, baseline, died, server.lines)
    except RuntimeError as err:
        print(err, file=sys.stderr)
        return 2
    finally:
        if server:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
