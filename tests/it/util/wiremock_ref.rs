//! The real WireMock 3.13.2 as a reference server for differential tests: a `java -jar`
//! child process on a free loopback port over a WireMock root directory (`mappings/`,
//! `__files/`), killed on drop.
//!
//! The jar comes from `.ci/wiremock-tools.sh`, which installs it under
//! `target/wiremock-tools/` and writes an env file exporting `WIREMOCK_JAR` (and
//! `WIREMOCK_NODE_MODULES`, `WIREMOCK_PYTHON` for client tests). [`wiremock_jar`] is the one
//! place that decides what a test does without it: fail when `UNDERSTUDY_REQUIRE_WIREMOCK=1`
//! (CI sets it), otherwise skip with a note on stderr.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Server;
use super::server::{lock, spawn_until};

/// The variable that turns a missing WireMock into a failure instead of a skip.
pub const REQUIRE_WIREMOCK: &str = "UNDERSTUDY_REQUIRE_WIREMOCK";

/// How long WireMock may take to print its port and answer `GET /__admin/health` (a hang
/// guard, not a timing assertion; it takes about a second here).
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The WireMock standalone jar named by `WIREMOCK_JAR`, or `None` when the test should skip.
///
/// Panics when `WIREMOCK_JAR` is unset and `UNDERSTUDY_REQUIRE_WIREMOCK=1`, and whenever
/// `WIREMOCK_JAR` names a file that does not exist (a stale env file is a setup error, not a
/// reason to skip).
pub fn wiremock_jar() -> Option<PathBuf> {
    let hint = "run .ci/wiremock-tools.sh, then `. target/wiremock-tools/env`";
    match std::env::var_os("WIREMOCK_JAR").filter(|v| !v.is_empty()) {
        Some(jar) => {
            let jar = PathBuf::from(jar);
            assert!(
                jar.is_file(),
                "WIREMOCK_JAR={} is not a file; {hint}",
                jar.display()
            );
            Some(jar)
        }
        None if std::env::var(REQUIRE_WIREMOCK).is_ok_and(|v| v == "1") => {
            panic!("WIREMOCK_JAR is unset and {REQUIRE_WIREMOCK}=1; {hint}")
        }
        None => {
            let test = std::thread::current()
                .name()
                .unwrap_or("a WireMock test")
                .to_owned();
            // Straight to the stderr handle: libtest captures `eprintln!`, and a skip should be
            // seen even when the test passes.
            let _ = writeln!(
                std::io::stderr(),
                "note: {test} SKIPPED: WIREMOCK_JAR is unset ({hint}; set {REQUIRE_WIREMOCK}=1 to fail instead)"
            );
            None
        }
    }
}

/// A running WireMock 3.13.2 (`java -jar $WIREMOCK_JAR --port 0 --root-dir DIR
/// --disable-banner --bind-address 127.0.0.1`), healthy, killed on drop.
pub struct WireMockRef {
    child: Child,
    /// The loopback address it listens on (the `port:` line of its startup output).
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl WireMockRef {
    /// Starts WireMock over `root_dir` (which holds `mappings/` and `__files/`) and waits until
    /// `GET /__admin/health` answers 200; `None` when [`wiremock_jar`] says skip. Panics, with
    /// WireMock's output, when it does not start within 30 s.
    pub fn start(root_dir: &Path) -> Option<WireMockRef> {
        let jar = wiremock_jar()?;
        let mut cmd = Command::new("java");
        // Faster start (C1 only) and one GC thread: these servers live for one test.
        cmd.args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-jar"])
            .arg(&jar)
            .args(["--port", "0", "--bind-address", "127.0.0.1", "--root-dir"])
            .arg(root_dir)
            .arg("--disable-banner")
            .current_dir(root_dir);
        let started = spawn_until(cmd, "WireMock", START_TIMEOUT, parse_port);
        let deadline = Instant::now() + START_TIMEOUT;
        let (child, port, logs) = (started.child, started.found, started.stdout);
        let mut wiremock = WireMockRef {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            logs,
        };
        wiremock.wait_healthy(deadline);
        Some(wiremock)
    }

    /// Polls `GET /__admin/health` until it answers 200 or `deadline` passes (then panics).
    fn wait_healthy(&mut self, deadline: Instant) {
        loop {
            if health_ok(self.addr) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "WireMock exited ({status}) before it was healthy; output: {:#?}",
                    self.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "WireMock on {} not healthy within {START_TIMEOUT:?}; output: {:#?}",
                self.addr,
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://ADDR` + `path` (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base())
    }

    /// `http://ADDR`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `java` process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every line WireMock printed so far (stdout and stderr, interleaved as read).
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs)
    }
}

impl Drop for WireMockRef {
    fn drop(&mut self) {
        // The child we spawned, by its handle (its PID): nothing else.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// understudy and WireMock over the same root directory, for differential tests; `None`
/// (with understudy not started) when [`wiremock_jar`] says skip.
pub fn both(dir: &Path) -> Option<(Server, WireMockRef)> {
    let wiremock = WireMockRef::start(dir)?;
    Some((Server::start(dir), wiremock))
}

/// The port in WireMock's `port:                         43837` startup line.
fn parse_port(line: &str) -> Option<u16> {
    line.strip_prefix("port:")?.trim().parse().ok()
}

/// Whether `GET /__admin/health` answers 200 now (a refused connection or a timeout is `false`).
fn health_ok(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /__admin/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}
