//! Shared helpers: scenario directories, a real `understudy serve` child process, raw HTTP
//! over a socket, the CLI runner and diagnostic-line parsing.

use std::ffi::OsStr;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a server may take to print its `listening on` line (a hang guard, not a
/// timing assertion).
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a raw socket read may block before the test gives up (a hang guard).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// A fresh temporary folder holding a `scenarios/` directory; the folder around it is
/// "outside" the scenarios directory (for confinement tests).
pub struct Scenarios {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scenarios {
    /// An empty scenarios directory in its own temp folder.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("create temp dir");
        let dir = tmp.path().join("scenarios");
        std::fs::create_dir(&dir).expect("create scenarios dir");
        Scenarios { tmp, dir }
    }

    /// The scenarios directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The temp folder that contains the scenarios directory (outside of it).
    pub fn outside(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `text` to `rel` inside the scenarios directory (creating folders); returns the
    /// full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        self.write_bytes(rel, text.as_bytes())
    }

    /// Writes raw bytes to `rel` inside the scenarios directory; returns the full path.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, bytes).expect("write scenario file");
        path
    }

    /// Writes a JSON document (pretty-printed) to `rel`; returns the full path.
    pub fn write_json(&self, rel: &str, doc: &Value) -> PathBuf {
        self.write(rel, &pretty(doc))
    }
}

/// Pretty-printed JSON text of `doc`.
pub fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("serialize JSON")
}

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

/// The stdout of a finished command as text.
pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
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
    pub fn spawn(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn understudy");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        drain(
            child.stdout.take().expect("stdout piped"),
            logs.clone(),
            Some(tx),
        );
        drain(
            child.stderr.take().expect("stderr piped"),
            stderr.clone(),
            None,
        );

        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(addr) = parse_listening(&line) {
                        break addr;
                    }
                }
                Err(err) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "understudy did not report `listening on` ({err}); stdout: {:#?}; stderr: {:#?}",
                        lock(&logs),
                        lock(&stderr)
                    );
                }
            }
        };
        Server { child, addr, logs }
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

    /// How many file descriptors the server has open (`/proc/PID/fd`; Linux).
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .expect("read /proc/PID/fd")
            .count()
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

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lock(lines: &Mutex<Vec<String>>) -> Vec<String> {
    lines.lock().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Reads a pipe line by line for the life of the child, keeping every line and forwarding it
/// to whoever still listens (so the child never blocks on a full pipe).
fn drain(
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

/// A reqwest client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build reqwest client")
}

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    /// Everything the server sent until it closed the connection.
    pub bytes: Vec<u8>,
    /// The first line, without CRLF.
    pub status_line: String,
    /// Header lines in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Every byte after the blank line that ends the head.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Values of every header line named `name` (case-insensitive), in wire order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).first().copied()
    }
}

/// Sends `request` as-is (it should carry `Connection: close`) and reads until the server
/// closes the connection.
pub fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("set timeout");
    stream.write_all(request).expect("write request");
    stream.flush().expect("flush");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap_or_else(|err| {
        panic!(
            "reading response failed ({err}); got so far: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    parse_raw(bytes)
}

/// Splits a raw response into status line, headers and body.
pub fn parse_raw(bytes: Vec<u8>) -> RawResponse {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or((l, ""));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let body = bytes[end + 4..].to_vec();
    RawResponse {
        bytes,
        status_line,
        headers,
        body,
    }
}

/// 1-based line and column (in characters) of the first occurrence of `needle` in `text`.
pub fn line_col_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text:?}"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One `FILE:LINE:COL: at JSON.PATH: message` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagLine {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub path: String,
    pub message: String,
}

/// Parses a diagnostic line of the shape `^FILE:\d+:\d+: at [^ ]+: .+$`.
pub fn parse_diag(line: &str) -> Option<DiagLine> {
    let re = regex::Regex::new(r"^(.+):(\d+):(\d+): at ([^ ]+): (.+)$").expect("valid regex");
    let c = re.captures(line)?;
    Some(DiagLine {
        file: c[1].to_owned(),
        line: c[2].parse().ok()?,
        col: c[3].parse().ok()?,
        path: c[4].to_owned(),
        message: c[5].to_owned(),
    })
}

/// The diagnostic lines in `text` that name `file`.
pub fn diags_for(text: &str, file: &Path) -> Vec<DiagLine> {
    let name = file.display().to_string();
    text.lines()
        .filter_map(parse_diag)
        .filter(|d| d.file == name)
        .collect()
}

/// Whether some log line contains `FILE:LINE:COL: at PATH: ` for `file` at `path`, and
/// returns that line.
pub fn logged_diag(logs: &[String], file: &Path, path: &str) -> Option<String> {
    let prefix = file.display().to_string();
    logs.iter()
        .find(|l| {
            l.find(&prefix).is_some_and(|i| {
                parse_diag(&l[i..]).is_some_and(|d| d.file == prefix && d.path == path)
            })
        })
        .cloned()
}

/// A minimal scenario with one route `GET path` answering `200` with `body`.
pub fn one_route(path: &str, body: &str) -> Value {
    serde_json::json!({
        "routes": [
            { "request": { "method": "GET", "path": path }, "response": { "status": 200, "body": body } }
        ]
    })
}

/// Sends a request and returns its status and body text.
pub async fn fetch(request: reqwest::RequestBuilder) -> (u16, String) {
    let resp = request.send().await.expect("send request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("read body"))
}

/// `GET url` → status and body text.
pub async fn get(url: String) -> (u16, String) {
    fetch(client().get(url)).await
}

/// Sends `request` and returns its status and its body parsed as JSON (panics, showing the
/// text, when the body is not JSON).
pub async fn fetch_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = request.send().await.expect("send request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("read body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("status {status}: body is not JSON ({err}): {text:?}"));
    (status, body)
}

/// Whether `text` is an RFC 3339 date-time such as `2024-05-01T12:30:00.123Z`.
pub fn is_rfc3339(text: &str) -> bool {
    let re = regex::Regex::new(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    )
    .expect("valid regex");
    re.is_match(text)
}
