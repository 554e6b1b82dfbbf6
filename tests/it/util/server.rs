//! The real `understudy` binary: a `serve` child process on a free port, and the CLI runner.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{RawResponse, Scenarios, client, raw};

/// How long a server may take to print its `listening on` line (a hang guard, not a
/// timing assertion).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// `understudy serve` on `dir`, a free loopback port and no file watching; add flags or
/// environment, then [`Server::spawn`] it.
pub fn serve_command(dir: &Path) -> Command {
    let mut cmd = understudy();
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--watch",
        "off",
        "--scenarios",
    ])
    .arg(dir);
    cmd
}

/// A `Command` for the compiled binary with a clean environment: no inherited
/// `UNDERSTUDY_*` settings and an `info` log level (the `listening on` line is an info log).
pub fn understudy() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_understudy"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("UNDERSTUDY_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("RUST_LOG", "info");
    cmd.env("NO_COLOR", "1");
    cmd
}

/// Runs the CLI with `args` to completion.
pub fn run_cli<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    understudy().args(args).output().expect("run understudy")
}

/// `understudy validate PATH` to completion.
pub fn validate(path: &Path) -> Output {
    run_cli([OsStr::new("validate"), path.as_os_str()])
}

/// The stdout of a finished command as text.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fresh scenarios directory holding `doc` as `file`, and a server over it (return the
/// directory too: it is deleted on drop).
pub fn serve_scenario(file: &str, doc: &Value) -> (Scenarios, Server) {
    let dir = Scenarios::new();
    dir.write_json(file, doc);
    let server = Server::start(dir.path());
    (dir, server)
}

/// A running `understudy` server child process, killed on drop.
pub struct Server {
    child: Child,
    /// The address it listens on (parsed from its `listening on` line).
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// `understudy serve --bind 127.0.0.1:0 --scenarios DIR --watch off`.
    pub fn start(dir: &Path) -> Server {
        Server::start_with(dir, &[])
    }

    /// Like [`Server::start`] with extra flags appended.
    pub fn start_with(dir: &Path, extra: &[&str]) -> Server {
        let mut cmd = serve_command(dir);
        cmd.args(extra);
        Server::spawn(cmd)
    }

    /// Spawns a prepared command and waits for its `listening on http(s)://HOST:PORT` line.
    pub fn spawn(cmd: Command) -> Server {
        let started = spawn_until(cmd, "understudy", START_TIMEOUT, parse_listening);
        Server {
            child: started.child,
            addr: started.found,
            logs: started.stdout,
        }
    }

    /// `http://ADDR` + `path` (which may carry a query string).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// `http://ADDR`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory in KiB (`VmRSS` in `/proc/PID/status`; Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// The server's peak resident memory so far in KiB (`VmHWM` in `/proc/PID/status`; Linux).
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmHWM in /proc/PID/status")
    }

    /// How many file descriptors the server has open (`/proc/PID/fd`; Linux).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("read /proc/PID/fd")
            .count()
    }

    /// Waits (polling) up to `within` for the server to exit; its status, `None` when it is
    /// still running.
    pub fn wait_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line logged so far.
    pub fn logs(&self) -> Vec<String> {
        lock(&self.logs)
    }

    /// Raw HTTP exchange with this server (see [`raw`]).
    pub fn raw(&self, request: &str) -> RawResponse {
        raw(self.addr, request.as_bytes())
    }

    /// `GET /__admin/health` as JSON (no token).
    pub async fn health(&self) -> Value {
        let resp = client()
            .get(self.url("/__admin/health"))
            .send()
            .await
            .expect("health request");
        assert_eq!(resp.status(), 200, "health endpoint status");
        resp.json().await.expect("health JSON")
    }
}

/// A child process that printed what its caller waited for.
pub struct Started<T> {
    pub child: Child,
    /// What `parse` found in the output.
    pub found: T,
    /// Every stdout line so far (kept current by a drain thread).
    pub stdout: Arc<Mutex<Vec<String>>>,
}

/// Spawns `cmd` (`name` in messages) with its output piped and drained, and waits until
/// `parse` finds something in a stdout or stderr line; panics with the output when that
/// takes longer than `timeout` (a hang guard, not a timing assertion).
pub fn spawn_until<T>(
    mut cmd: Command,
    name: &str,
    timeout: Duration,
    parse: impl Fn(&str) -> Option<T>,
) -> Started<T> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|err| panic!("spawn {name}: {err}"));
    let stdout = Arc::new(Mutex::new(Vec::new()));
    let stderr = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    drain(
        child.stdout.take().expect("stdout piped"),
        stdout.clone(),
        Some(tx.clone()),
    );
    drain(
        child.stderr.take().expect("stderr piped"),
        stderr.clone(),
        Some(tx),
    );
    let deadline = Instant::now() + timeout;
    let found = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                if let Some(found) = parse(&line) {
                    break found;
                }
            }
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{name} did not start ({err}); stdout: {:#?}; stderr: {:#?}",
                    lock(&stdout),
                    lock(&stderr)
                );
            }
        }
    };
    Started {
        child,
        found,
        stdout,
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn lock(lines: &Mutex<Vec<String>>) -> Vec<String> {
    lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Reads a pipe line by line for the life of the child, keeping every line and forwarding it
/// to whoever still listens (so the child never blocks on a full pipe).
pub(super) fn drain(
    pipe: impl std::io::Read + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    tx: Option<mpsc::Sender<String>>,
) {
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match reader.read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let line = String::from_utf8_lossy(&buf).trim_end().to_owned();
                    lines
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .push(line.clone());
                    if let Some(tx) = &tx {
                        let _ = tx.send(line);
                    }
                }
            }
        }
    });
}

/// The address in a `... listening on http://HOST:PORT` log line.
fn parse_listening(line: &str) -> Option<SocketAddr> {
    let at = line.find("listening on ")? + "listening on ".len();
    let rest = line[at..]
        .strip_prefix("http://")
        .or_else(|| line[at..].strip_prefix("https://"))?;
    let addr = rest.split_whitespace().next()?.trim_end_matches('/');
    addr.parse().ok()
}
