//! The live journal page: `/__understudy/ui` served self-contained, the journal's event
//! stream (`…/requests/stream`) read with reqwest, the token on the stream and the page's data
//! endpoints, the `response` of native journal entries, shutdown with streams open, and the
//! page itself in headless Chromium (tests/ui/journal_page.py through Selenium; skipped
//! without the tools of `.ci/ui-tools.sh` unless `UNDERSTUDY_REQUIRE_BROWSER=1`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{HANG_GUARD, Scenarios, Server, client, entries, fetch, fetch_json, get};

/// Every `data-testid` the contract names.
const TESTIDS: &[&str] = &[
    "journal-row",
    "row-method",
    "row-path",
    "row-status",
    "row-route",
    "near-miss",
    "scenario-row",
    "scenario-state",
    "filter-unmatched",
    "token-input",
];

/// How long a live event may take to arrive before the test gives up (a hang guard; the
/// browser test measures the real delay).
const EVENT_WAIT: Duration = Duration::from_secs(5);

fn users() -> Value {
    json!({
        "description": "A user that exists",
        "routes": [
            { "id": "ada", "setState": "seen",
              "request": { "method": "GET", "path": "/users/42" },
              "response": { "status": 200, "headers": { "X-Served-By": "understudy" },
                            "json": { "id": 42, "name": "Ada" } } },
            { "id": "create", "request": { "method": "POST", "path": "/users", "json": { "name": "Ada" } },
              "response": { "status": 201 } },
            { "id": "gone", "request": { "path": "/gone" },
              "response": { "status": 200, "fault": "empty_response" } }
        ]
    })
}

fn users_dir() -> Scenarios {
    let dir = Scenarios::new();
    dir.write_json("users.json", &users());
    dir
}

/// One server-sent event.
#[derive(Debug)]
struct Event {
    /// `event:` (`message` when absent).
    kind: String,
    /// `id:`, when given.
    id: Option<String>,
    /// The `data:` lines joined.
    data: String,
}

/// A `text/event-stream` answer read event by event.
struct Sse {
    resp: reqwest::Response,
    buf: String,
}

impl Sse {
    /// Opens `url` (with `token` as a bearer token when given) and checks the stream's head.
    async fn open(url: String, token: Option<&str>) -> Sse {
        let mut req = client().get(url);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        let resp = req.send().await.expect("open the stream");
        assert_eq!(resp.status(), 200, "stream status");
        let kind = resp.headers()["content-type"].to_str().expect("ascii");
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        Sse {
            resp,
            buf: String::new(),
        }
    }

    /// The next event (comments skipped); panics after [`EVENT_WAIT`].
    async fn next(&mut self) -> Event {
        let deadline = tokio::time::Instant::now() + EVENT_WAIT;
        loop {
            while let Some(at) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..at + 2).collect();
                let mut event = Event {
                    kind: "message".into(),
                    id: None,
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if line.starts_with(':') || line.is_empty() {
                        continue;
                    }
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => (event.kind, any) = (value.to_owned(), true),
                        "id" => event.id = Some(value.to_owned()),
                        "data" => {
                            if !event.data.is_empty() {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                            any = true;
                        }
                        _ => {}
                    }
                }
                if any {
                    return event;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.resp.chunk())
                .await
                .unwrap_or_else(|_| {
                    panic!("no event within {EVENT_WAIT:?}; buffered: {:?}", self.buf)
                })
                .expect("read the stream")
                .expect("the stream ended");
            self.buf
                .push_str(std::str::from_utf8(&chunk).expect("UTF-8 stream"));
        }
    }

    /// The next event of `kind`, skipping others.
    async fn next_of(&mut self, kind: &str) -> Event {
        loop {
            let event = self.next().await;
            if event.kind == kind {
                return event;
            }
        }
    }

    /// The next journal entry (a `message` event), parsed.
    async fn entry(&mut self) -> Value {
        let event = self.next_of("message").await;
        let entry: Value = serde_json::from_str(&event.data).expect("entry JSON");
        assert_eq!(event.id.as_deref(), Some(entry["id"].to_string().as_str()));
        entry
    }
}

#[tokio::test]
async fn the_page_is_served_self_contained_with_every_testid() {
    // Arrange
    let dir = users_dir();
    let server = Server::start(dir.path());

    for path in ["/__understudy/ui", "/__understudy/ui/"] {
        // Act
        let resp = client().get(server.url(path)).send().await.expect("GET");

        // Assert
        assert_eq!(resp.status(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| v.to_str().expect("ascii").to_owned())
                .unwrap_or_default()
        };
        assert!(header("content-type").starts_with("text/html"));
        assert_eq!(header("cache-control"), "no-store");
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("connect-src 'self'"), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let page = resp.text().await.expect("body");
        for id in TESTIDS {
            assert!(page.contains(&format!("\"{id}\"")), "no data-testid {id}");
        }
        assert!(page.contains("/requests/stream"));
        for outside in ["http://", "https://", "localStorage", "sessionStorage"] {
            assert!(!page.contains(outside), "the page mentions {outside}");
        }
    }
    // The page is not a journal entry and does not count as a request.
    let (_, list) = fetch_json(client().get(server.url("/__admin/requests"))).await;
    assert!(entries(&list).is_empty(), "{list}");
}

#[tokio::test]
async fn the_page_needs_no_token_but_the_stream_and_its_data_do() {
    // Arrange
    let dir = users_dir();
    let server = Server::start_with(dir.path(), &["--admin-token", "s3cret"]);

    // Act + Assert: the page (which holds no data) answers without the token.
    assert_eq!(get(server.url("/__understudy/ui")).await.0, 200);
    for path in [
        "/__understudy/admin/requests/stream",
        "/__admin/requests/stream",
        "/__understudy/admin/requests",
        "/__understudy/admin/requests/unmatched",
        "/__understudy/admin/scenarios",
        "/__understudy/admin/health",
    ] {
        let (status, _) = fetch(client().get(server.url(path))).await;
        assert_eq!(status, 401, "{path} without the token");
        let (status, _) = fetch(client().get(server.url(path)).bearer_auth("wrong")).await;
        assert_eq!(status, 401, "{path} with a wrong token");
    }
    for path in [
        "/__understudy/admin/scenarios",
        "/__understudy/admin/requests",
    ] {
        let (status, _) = fetch(client().get(server.url(path)).bearer_auth("s3cret")).await;
        assert_eq!(status, 200, "{path} with the token");
    }
    let mut stream = Sse::open(
        server.url("/__understudy/admin/requests/stream"),
        Some("s3cret"),
    )
    .await;
    stream.next_of("ready").await;
    assert_eq!(get(server.url("/users/42")).await.0, 200);
    assert_eq!(stream.entry().await["path"], "/users/42");
}

#[tokio::test]
async fn the_stream_delivers_each_entry_recorded_after_subscribing() {
    // Arrange: one request before the stream opens (not sent by the stream).
    let dir = users_dir();
    let server = Server::start(dir.path());
    assert_eq!(get(server.url("/users/42?before=1")).await.0, 200);
    let mut stream = Sse::open(server.url("/__understudy/admin/requests/stream"), None).await;
    assert_eq!(stream.next().await.kind, "ready");

    // Act
    assert_eq!(get(server.url("/users/42?after=1")).await.0, 200);
    let (status, _) = fetch(
        client()
            .post(server.url("/users"))
            .json(&json!({ "name": "Bob" })),
    )
    .await;
    assert_eq!(status, 404);

    // Assert: the same JSON as the native journal, in order; the unmatched one with its
    // near misses.
    let matched = stream.entry().await;
    let unmatched = stream.entry().await;
    let (_, list) = fetch_json(client().get(server.url("/__admin/requests"))).await;
    let kept = entries(&list);
    assert_eq!(kept.len(), 3);
    assert_eq!(matched, kept[1]);
    assert_eq!(matched["query"], json!({ "after": "1" }));
    assert_eq!(matched["route"], "users/ada");
    assert_eq!(matched["response"]["status"], 200);
    let (_, misses) = fetch_json(client().get(server.url("/__admin/requests/unmatched"))).await;
    assert_eq!(unmatched, entries(&misses)[0]);
    assert_eq!(unmatched["route"], Value::Null);
    assert_eq!(unmatched["nearMisses"][0]["route"], "users/create");
    assert_eq!(unmatched["nearMisses"][0]["mismatches"], json!(["json"]));
}

#[tokio::test]
async fn the_stream_says_when_the_journal_was_cleared_and_keeps_going() {
    // Arrange
    let dir = users_dir();
    let server = Server::start(dir.path());
    let mut stream = Sse::open(server.url("/__admin/requests/stream"), None).await;
    stream.next_of("ready").await;
    get(server.url("/users/42")).await;
    stream.entry().await;

    // Act
    let (status, _) = fetch(client().delete(server.url("/__admin/requests"))).await;
    assert_eq!(status, 200);
    let cleared = stream.next().await;
    get(server.url("/after")).await;

    // Assert
    assert_eq!(cleared.kind, "cleared");
    assert_eq!(stream.entry().await["path"], "/after");
}

#[tokio::test]
async fn in_wiremock_mode_the_stream_is_at_the_native_prefix() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start_with(dir.path(), &["--admin-api", "wiremock"]);

    // Act
    let mut stream = Sse::open(server.url("/__understudy/admin/requests/stream"), None).await;
    stream.next_of("ready").await;
    get(server.url("/nothing-here")).await;

    // Assert
    assert_eq!(stream.entry().await["path"], "/nothing-here");
    assert_eq!(get(server.url("/__understudy/ui")).await.0, 200);
}

#[tokio::test]
async fn native_entries_carry_the_response_sent() {
    // Arrange
    let dir = users_dir();
    let server = Server::start(dir.path());

    // Act: a route's answer, an unmatched request, a fault.
    get(server.url("/users/42")).await;
    get(server.url("/nope")).await;
    let _ = client().get(server.url("/gone")).send().await;

    // Assert
    let (_, list) = fetch_json(client().get(server.url("/__admin/requests"))).await;
    let list = entries(&list);
    let sent = &list[0]["response"];
    assert_eq!(sent["status"], 200);
    assert_eq!(sent["headers"]["x-served-by"], "understudy");
    assert_eq!(sent["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(sent["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body, json!({ "id": 42, "name": "Ada" }));
    assert_eq!(sent["bodyEncoding"], "utf8");
    assert_eq!(sent["bodyTruncated"], false);

    let missed = &list[1]["response"];
    assert_eq!(missed["status"], 404);
    assert_eq!(missed["headers"]["x-understudy-unmatched"], "1");
    let body: Value = serde_json::from_str(missed["body"].as_str().expect("text")).expect("JSON");
    assert_eq!(body["error"], "no route matched");

    assert_eq!(list[2]["fault"], "empty_response");
    assert_eq!(list[2]["response"], Value::Null);
}

#[tokio::test]
async fn a_response_body_past_the_per_entry_limit_is_cut_and_flagged() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "big.json",
        &json!({ "routes": [
            { "request": { "path": "/big" }, "response": { "status": 200, "body": "0123456789abcdef" } },
            { "request": { "path": "/bin" }, "response": { "status": 200, "base64": "AP8A/w==" } }
        ] }),
    );
    let server = Server::start_with(dir.path(), &["--journal-body-bytes", "10"]);

    // Act
    assert_eq!(
        get(server.url("/big")).await,
        (200, "0123456789abcdef".into())
    );
    let bin = client()
        .get(server.url("/bin"))
        .send()
        .await
        .expect("GET /bin");
    assert_eq!(bin.bytes().await.expect("body").as_ref(), [0, 255, 0, 255]);

    // Assert: the answer went out whole; the journal kept the first 10 bytes.
    let (_, list) = fetch_json(client().get(server.url("/__admin/requests"))).await;
    let sent = &entries(&list)[0]["response"];
    assert_eq!(sent["body"], "0123456789");
    assert_eq!(sent["bodyTruncated"], true);
    let sent = &entries(&list)[1]["response"];
    assert_eq!(sent["bodyEncoding"], "base64");
    assert_eq!(sent["body"], "AP8A/w==");
}

#[test]
fn a_server_with_open_streams_stops_promptly_on_sigterm() {
    // Arrange: two streams open, reading nothing.
    let dir = users_dir();
    let mut server = Server::start(dir.path());
    let mut streams: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut s = crate::util::connect(server.addr);
            s.write_all(b"GET /__understudy/admin/requests/stream HTTP/1.1\r\nHost: x\r\n\r\n")
                .expect("send");
            s
        })
        .collect();
    for s in &mut streams {
        let head = crate::util::read_head(s);
        assert!(String::from_utf8_lossy(&head).contains("text/event-stream"));
    }

    // Act
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = server.wait_exit(HANG_GUARD);

    // Assert: a graceful stop waits at most its shutdown timeout (1 s) for open requests.
    let took = started.elapsed();
    assert!(status.is_some(), "still running {took:?} after SIGTERM");
    assert!(took < Duration::from_secs(5), "stopping took {took:?}");
}

/// What the browser test needs, found from the environment (`.ci/ui-tools.sh` writes
/// `target/ui-tools/env`): a Python with Selenium, Chromium and chromedriver.
struct BrowserTools {
    python: PathBuf,
    chromium: PathBuf,
    chromedriver: PathBuf,
}

/// The variable that turns missing browser tools into a failure instead of a skip.
const REQUIRE_BROWSER: &str = "UNDERSTUDY_REQUIRE_BROWSER";

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn from_env_or_path(var: &str, names: &[&str]) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => Some(PathBuf::from(v)),
        None => on_path(names),
    }
}

/// The tools, or `None` when the test should skip (panics instead under
/// `UNDERSTUDY_REQUIRE_BROWSER=1`).
fn browser_tools() -> Option<BrowserTools> {
    let repo_venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-tools/venv/bin/python");
    let python = std::env::var_os("UNDERSTUDY_UI_PYTHON")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| repo_venv.is_file().then_some(repo_venv))
        .or_else(|| on_path(&["python3"]));
    let has_selenium = python.as_ref().is_some_and(|py| {
        Command::new(py)
            .args(["-c", "import selenium"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    let chromium = from_env_or_path(
        "CHROME_BIN",
        &["chromium", "chromium-browser", "google-chrome"],
    );
    let chromedriver = from_env_or_path("CHROMEDRIVER", &["chromedriver"]);
    let missing: Vec<&str> = [
        (!has_selenium).then_some("a Python with selenium (UNDERSTUDY_UI_PYTHON)"),
        chromium.is_none().then_some("chromium (CHROME_BIN)"),
        chromedriver
            .is_none()
            .then_some("chromedriver (CHROMEDRIVER)"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let hint = "run .ci/ui-tools.sh, then `. target/ui-tools/env`";
    if missing.is_empty() {
        return Some(BrowserTools {
            python: python?,
            chromium: chromium?,
            chromedriver: chromedriver?,
        });
    }
    if std::env::var(REQUIRE_BROWSER).is_ok_and(|v| v == "1") {
        panic!(
            "missing {} and {REQUIRE_BROWSER}=1; {hint}",
            missing.join(", ")
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "note: the browser test SKIPPED: missing {} ({hint}; set {REQUIRE_BROWSER}=1 to fail instead)",
        missing.join(", ")
    );
    None
}

/// Where the browser test writes its screenshots (a CI artifact; docs/ui.md links them).
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/ui-screenshots")
}

#[test]
fn the_journal_page_works_in_a_real_browser() {
    let Some(tools) = browser_tools() else {
        return;
    };
    // Arrange: the users scenario and a broken file, on a server without a token (a journal
    // big enough for 10,000 rows, bodies cut at 300 bytes) and on one with a token.
    let dir = users_dir();
    dir.write(
        "broken.json",
        r#"{"routes": [ {"request": {"methd": "GET"}, "response": {"status": 200}} ]}"#,
    );
    let open = Server::start_with(
        dir.path(),
        &["--journal-size", "20000", "--journal-body-bytes", "300"],
    );
    let guarded = Server::start_with(dir.path(), &["--admin-token", "s3cret"]);
    let out = tempfile::tempdir().expect("temp dir");
    let (stdout_path, stderr_path) = (out.path().join("out.txt"), out.path().join("err.txt"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/journal_page.py");

    // Act
    let mut child = Command::new(&tools.python)
        .arg(&script)
        .args(["--base", &open.base()])
        .args(["--token-base", &guarded.base()])
        .args(["--token", "s3cret"])
        .arg("--screenshots")
        .arg(screenshot_dir())
        .arg("--chromedriver")
        .arg(&tools.chromedriver)
        .arg("--chromium")
        .arg(&tools.chromium)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).expect("stdout file"))
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("run the Selenium script");
    let deadline = Instant::now() + Duration::from_secs(240);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            // The child we spawned, by its handle.
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };

    // Assert
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let (stdout, stderr) = (read(&stdout_path), read(&stderr_path));
    let ctx = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    let status =
        status.unwrap_or_else(|| panic!("the browser test did not finish in 240 s\n{ctx}"));
    assert!(status.success(), "{status}\n{ctx}");
    assert_eq!(stdout.lines().last(), Some("ALL OK"), "{ctx}");
    for line in stdout.lines().filter(|l| l.starts_with("measure:")) {
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    for name in ["journal-wide.png", "journal-375px.png", "journal-dark.png"] {
        assert!(
            screenshot_dir().join(name).is_file(),
            "no screenshot {name}"
        );
    }
}

#[test]
fn an_embedded_server_with_an_open_stream_shuts_down_promptly() {
    // Arrange: a MockServer of files (never pooled) with a stream open, reading nothing.
    let dir = users_dir();
    let server = understudy::MockServer::from_dir(dir.path()).expect("start");
    let addr: std::net::SocketAddr = server
        .url()
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let mut stream = crate::util::connect(addr);
    stream
        .write_all(b"GET /__understudy/admin/requests/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("send");
    let head = crate::util::read_head(&mut stream);
    assert!(String::from_utf8_lossy(&head).contains("text/event-stream"));

    // Act
    let started = Instant::now();
    server.shutdown();

    // Assert
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
}
