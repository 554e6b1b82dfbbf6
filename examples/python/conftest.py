"""pytest fixtures that run a real `understudy` server for the tests in this folder.

`understudy_server` (once per session) starts the binary on a free port with an empty
scenarios directory and a random admin token, and stops it at the end. `mock` (once per test)
is a small admin client: it puts scenarios, reads the journal, and cleans up after the test
(deletes the scenarios it put, then `POST /__admin/reset`).
"""

import os
import re
import secrets
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"listening on (https?://\S+)")
START_TIMEOUT_SECONDS = 30


def _binary() -> Path:
    path = Path(os.environ.get("UNDERSTUDY_BIN", "target/debug/understudy"))
    if not path.is_absolute():
        path = REPO_ROOT / path
    if not path.exists():
        pytest.exit(f"{path} not found: run `cargo build` first, or set UNDERSTUDY_BIN", 2)
    return path


class Server:
    """A running `understudy serve` child process."""

    def __init__(self, process: subprocess.Popen, url: str, token: str, log: list):
        self.process = process
        self.url = url
        self.token = token
        self.log = log


@pytest.fixture(scope="session")
def understudy_server():
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="understudy-scenarios-") as scenarios:
        env = dict(os.environ, RUST_LOG="info")  # the `listening on` line is an info log
        process = subprocess.Popen(
            [
                str(_binary()), "serve",
                "--bind", "127.0.0.1:0",
                "--scenarios", scenarios,
                "--watch", "off",
                "--admin-token", token,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        log: list = []
        found = threading.Event()
        address: dict = {}

        def drain():
            # Read every log line for the whole run, so the server never blocks on a full pipe.
            for line in process.stdout:
                log.append(line.rstrip("\n"))
                match = LISTENING.search(line)
                if match and not found.is_set():
                    address["url"] = match.group(1)
                    found.set()
            found.set()  # stdout closed: the process ended

        threading.Thread(target=drain, name="understudy-stdout", daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not found.wait(0.1):
            if time.monotonic() > deadline:
                break
        if "url" not in address:
            process.kill()
            process.wait()
            raise RuntimeError("understudy did not start:\n" + "\n".join(log))

        yield Server(process, address["url"], token, log)

        process.terminate()  # SIGTERM: understudy stops gracefully
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Mock:
    """The admin API of one server, for one test."""

    def __init__(self, server: Server):
        self.url = server.url
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {server.token}"
        self.put_names: list = []

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.http.request(method, f"{self.url}/__admin{path}", timeout=10, **kwargs)

    def put_scenario(self, name: str, scenario: dict) -> dict:
        resp = self.admin("PUT", f"/scenarios/{name}", json=scenario)
        assert resp.status_code in (200, 201), f"PUT {name}: {resp.status_code} {resp.text}"
        self.put_names.append(name)
        return resp.json()

    def count(self, **matcher) -> int:
        resp = self.admin("POST", "/requests/count", json=matcher)
        assert resp.status_code == 200, resp.text
        return resp.json()["count"]

    def requests(self, **params) -> list:
        resp = self.admin("GET", "/requests", params=params)
        assert resp.status_code == 200, resp.text
        return resp.json()["requests"]

    def unmatched(self) -> list:
        resp = self.admin("GET", "/requests/unmatched")
        assert resp.status_code == 200, resp.text
        return resp.json()["requests"]

    def cleanup(self) -> None:
        for name in self.put_names:
            self.admin("DELETE", f"/scenarios/{name}")
        resp = self.admin("POST", "/reset")  # scenario states and the journal
        assert resp.status_code == 200, resp.text


@pytest.fixture
def mock(understudy_server):
    m = Mock(understudy_server)
    yield m
    m.cleanup()
