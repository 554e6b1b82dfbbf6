//! Hot reload of the scenarios directory, end to end: each test spawns the real `understudy`
//! binary with a `--watch` mode, edits files the ways editors, people and Kubernetes do, and
//! waits (bounded) over real sockets for the new answer. No timing is ever asserted; the
//! waits are hang guards.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{
    Scenarios, Server, admin_post, client, connect, eventually, fetch_json, get, line_col_of,
    one_route, pretty, read_response, scenario_list, scenario_state, send, set_state, text,
    wait_until,
};

/// Longest wait for a reload to become visible (a hang guard, not a timing assertion).
const WAIT: Duration = Duration::from_secs(10);
/// Pause between two looks while waiting.
const TICK: Duration = Duration::from_millis(20);

// ----------------------------------------------------------------------------------------
// Helpers
// ----------------------------------------------------------------------------------------

/// `understudy serve --bind 127.0.0.1:0 --scenarios DIR` with the given watch flags (the
/// shared `Server::start_with` always passes `--watch off`).
fn serve_watching(dir: &Path, watch: &[&str]) -> Server {
    let mut cmd = crate::util::understudy();
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--scenarios"])
        .arg(dir)
        .args(watch);
    Server::spawn(cmd)
}

/// A server with the default native watcher (`--watch auto`).
fn serve_auto(dir: &Path) -> Server {
    serve_watching(dir, &["--watch", "auto"])
}

/// Waits until `GET path` answers `200` with `body`.
async fn wait_for_body(server: &Server, path: &str, body: &str) {
    let url = server.url(path);
    eventually(
        &format!("GET {path} to answer {body:?}"),
        WAIT,
        TICK,
        async || {
            let got = get(url.clone()).await;
            if got == (200, body.to_owned()) {
                Ok(())
            } else {
                Err(format!("{got:?}"))
            }
        },
    )
    .await;
}

/// `GET /__admin/scenarios` as a list.
async fn scenarios(server: &Server) -> Vec<Value> {
    let body = scenario_list(server).await;
    body.as_array()
        .unwrap_or_else(|| panic!("/__admin/scenarios is not an array: {body}"))
        .clone()
}

/// The entry named `name` in `GET /__admin/scenarios`, if listed.
async fn listed(server: &Server, name: &str) -> Option<Value> {
    scenarios(server)
        .await
        .into_iter()
        .find(|s| s["name"] == name)
}

/// Saves like vim/IntelliJ: write a hidden temp file next to `path`, then rename it over.
fn save_by_rename(path: &Path, text: &str) {
    let name = path.file_name().expect("file name").to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.swp"));
    std::fs::write(&temp, text).expect("write temp file");
    std::fs::rename(&temp, path).expect("rename temp file over the scenario");
}

/// Saves like nano/VS Code: truncate the file and write the new content in two parts.
fn save_in_place(path: &Path, text: &str) {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .expect("open scenario for rewrite");
    let (first, second) = text.as_bytes().split_at(text.len() / 2);
    file.write_all(first).expect("write first half");
    file.flush().expect("flush");
    file.write_all(second).expect("write second half");
    file.sync_all().expect("sync");
}

/// `one_route(path, body)` as pretty JSON text.
fn route_text(path: &str, body: &str) -> String {
    pretty(&one_route(path, body))
}

/// Waits until some server log line matches `pattern`.
async fn wait_for_log(server: &Server, pattern: &regex::Regex) -> String {
    eventually(
        &format!("a log line matching {pattern}"),
        WAIT,
        TICK,
        async || {
            let logs = server.logs();
            logs.iter()
                .find(|l| pattern.is_match(l))
                .cloned()
                .ok_or_else(|| format!("{logs:#?}"))
        },
    )
    .await
}

// ----------------------------------------------------------------------------------------
// 1. The ways a scenario file changes
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn save_by_rename_is_picked_up() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "old"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/a")).await, (200, "old".to_owned()));

    // Act
    save_by_rename(&a, &route_text("/a", "new"));

    // Assert
    wait_for_body(&server, "/a", "new").await;
    let entry = listed(&server, "a").await.expect("scenario a listed");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["file"], "a.json", "{entry}");
    assert_eq!(
        scenarios(&server).await.len(),
        1,
        "the swap file never shows up as a scenario"
    );
}

#[tokio::test]
async fn save_in_place_is_picked_up_and_logged() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "old"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/a")).await, (200, "old".to_owned()));

    // Act
    save_in_place(&a, &route_text("/a", "new, and longer"));

    // Assert
    wait_for_body(&server, "/a", "new, and longer").await;
    let expected = regex::Regex::new(&format!(
        r"reloaded {} \(changed\) in [0-9]+(\.[0-9]+)? ms: routes \+0 -0 ~1",
        regex::escape(&a.display().to_string())
    ))
    .expect("valid regex");
    wait_for_log(&server, &expected).await;
}

#[tokio::test]
async fn a_new_file_is_added() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("a.json", &one_route("/a", "a"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/new")).await.0, 404);

    // Act
    dir.write_json("sub/new.json", &one_route("/new", "new file"));

    // Assert
    wait_for_body(&server, "/new", "new file").await;
    assert_eq!(get(server.url("/a")).await, (200, "a".to_owned()));
    let entry = listed(&server, "sub/new")
        .await
        .expect("scenario sub/new listed");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["file"], "sub/new.json", "{entry}");
}

#[tokio::test]
async fn a_deleted_file_loses_its_routes() {
    // Arrange
    let dir = Scenarios::new();
    let gone = dir.write_json("gone.json", &one_route("/gone", "gone"));
    dir.write_json("kept.json", &one_route("/kept", "kept"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/gone")).await, (200, "gone".to_owned()));

    // Act
    std::fs::remove_file(&gone).expect("delete scenario file");

    // Assert
    let url = server.url("/gone");
    let headers = eventually("GET /gone to stop matching", WAIT, TICK, async || {
        let resp = client()
            .get(url.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if resp.status() == 404 {
            Ok(resp.headers().clone())
        } else {
            Err(format!("status {}", resp.status()))
        }
    })
    .await;
    assert_eq!(
        headers
            .get("x-understudy-unmatched")
            .and_then(|v| v.to_str().ok()),
        Some("1"),
        "the 404 is the unmatched answer: {headers:?}"
    );
    assert_eq!(get(server.url("/kept")).await, (200, "kept".to_owned()));
    let names: Vec<Value> = scenarios(&server)
        .await
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("kept")]);
}

#[tokio::test]
async fn a_renamed_file_keeps_answering_under_its_new_name() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "same answer"));
    let server = serve_auto(dir.path());
    assert_eq!(
        listed(&server, "a").await.expect("a listed")["status"],
        "ok"
    );

    // Act
    std::fs::rename(&a, dir.path().join("b.json")).expect("rename a.json to b.json");

    // Assert: the route answers throughout, and the scenario is now called `b`.
    let url = server.url("/a");
    let mut answers = Vec::new();
    let list = eventually("scenario b to replace a", WAIT, TICK, async || {
        answers.push(get(url.clone()).await);
        let list = scenarios(&server).await;
        let names: Vec<&Value> = list.iter().map(|s| &s["name"]).collect();
        if names == [&json!("b")] {
            Ok(list)
        } else {
            Err(format!("{list:?}"))
        }
    })
    .await;
    assert!(
        answers
            .iter()
            .all(|a| *a == (200, "same answer".to_owned())),
        "GET /a during the rename: {answers:?}"
    );
    assert_eq!(get(server.url("/a")).await, (200, "same answer".to_owned()));
    assert_eq!(list[0]["file"], "b.json", "{list:?}");
    assert_eq!(list[0]["status"], "ok", "{list:?}");
}

#[tokio::test]
async fn editor_temp_files_and_hidden_directories_never_load() {
    // Arrange
    let dir = Scenarios::new();
    let real = dir.write_json("real.json", &one_route("/real", "v1"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/real")).await, (200, "v1".to_owned()));

    // Act: valid scenarios under ignored names, then a real change to know a reload ran.
    let ignored = [
        (".x.json", "/dotfile"),
        ("x.json~", "/backup"),
        ("x.json.swp", "/swap"),
        ("x.json.tmp", "/temp"),
        (".hidden/y.json", "/hidden-dir"),
        ("sub/.cache/z.json", "/nested-hidden-dir"),
    ];
    for (rel, path) in ignored {
        dir.write_json(rel, &one_route(path, "must not load"));
    }
    save_in_place(&real, &route_text("/real", "v2"));
    wait_for_body(&server, "/real", "v2").await;

    // Assert
    for (rel, path) in ignored {
        let (status, body) = get(server.url(path)).await;
        assert_eq!(
            status, 404,
            "{rel} must not load, but {path} answered {body:?}"
        );
    }
    let list = scenarios(&server).await;
    let files: Vec<&Value> = list.iter().map(|s| &s["file"]).collect();
    assert_eq!(files, [&json!("real.json")], "{list:#?}");
    let health = server.health().await;
    assert_eq!(health["errors"], 0, "{health}");
}

// ----------------------------------------------------------------------------------------
// 2. A broken edit keeps the last good version until it is fixed
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn broken_edit_keeps_the_old_answer_until_fixed() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "old"));
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/a")).await, (200, "old".to_owned()));

    // Act: a valid JSON document with an impossible status.
    let broken = "{\n  \"routes\": [\n    {\n      \"request\": { \"method\": \"GET\", \"path\": \"/a\" },\n      \"response\": { \"status\": 700, \"body\": \"broken\" }\n    }\n  ]\n}\n";
    let (line, col) = line_col_of(broken, "700");
    save_by_rename(&a, broken);

    // Assert: status error with the diagnostic, old answer still serving, error logged.
    let prefix = format!(
        "{}:{line}:{col}: at routes[0].response.status: ",
        a.display()
    );
    let entry = eventually("scenario a to report its error", WAIT, TICK, async || {
        let entry = listed(&server, "a").await.ok_or("a not listed")?;
        if entry["status"] == "error" {
            Ok(entry)
        } else {
            Err(format!("{entry}"))
        }
    })
    .await;
    let errors = entry["errors"].as_array().expect("errors array");
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.starts_with(&prefix) && e.len() > prefix.len())),
        "expected an error starting with {prefix:?}: {entry}"
    );
    assert_eq!(
        entry["routes"], 1,
        "the last good version is listed: {entry}"
    );
    assert_eq!(
        get(server.url("/a")).await,
        (200, "old".to_owned()),
        "the last good version keeps serving"
    );
    let logged = regex::Regex::new(&format!(r"{}\S", regex::escape(&prefix))).expect("regex");
    wait_for_log(&server, &logged).await;
    let health = server.health().await;
    assert_eq!(health["errors"], 1, "{health}");

    // Act: the fix.
    save_in_place(&a, &route_text("/a", "fixed"));

    // Assert
    wait_for_body(&server, "/a", "fixed").await;
    let entry = listed(&server, "a").await.expect("a listed");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert_eq!(entry["errors"], json!([]), "{entry}");
    let health = server.health().await;
    assert_eq!(health["errors"], 0, "{health}");
}

// ----------------------------------------------------------------------------------------
// 3 and 8. State: a changed file resets, everything else keeps its state
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_changed_file_resets_its_state_and_only_its_state() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "a1"));
    dir.write_json("b.json", &one_route("/b", "b"));
    let server = serve_auto(dir.path());
    assert_eq!(scenario_state(&server, "a").await, "start");
    set_state(&server, "a", "x").await;
    set_state(&server, "b", "x").await;

    // Act
    save_by_rename(&a, &route_text("/a", "a2"));

    // Assert
    wait_for_body(&server, "/a", "a2").await;
    assert_eq!(
        scenario_state(&server, "a").await,
        "start",
        "the changed file starts over"
    );
    assert_eq!(
        scenario_state(&server, "b").await,
        "x",
        "the unchanged file keeps its state"
    );
}

#[tokio::test]
async fn an_api_scenario_survives_file_edits_and_reloads() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "a1"));
    let b = dir.write_json("b.json", &one_route("/b", "b"));
    let server = serve_auto(dir.path());
    let put = client()
        .put(server.url("/__admin/scenarios/api1"))
        .body(pretty(&one_route("/api1", "from the api")));
    let (status, body) = fetch_json(put).await;
    assert_eq!(status, 201, "PUT /__admin/scenarios/api1: {body}");
    set_state(&server, "api1", "y").await;
    set_state(&server, "b", "x").await;

    // Act: edit a file, delete another, then ask for a reload on top.
    save_in_place(&a, &route_text("/a", "a2"));
    wait_for_body(&server, "/a", "a2").await;
    std::fs::remove_file(&b).expect("delete b.json");
    eventually("GET /b to stop matching", WAIT, TICK, async || {
        match get(server.url("/b")).await {
            (404, _) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (status, body) = admin_post(&server, "reload").await;
    assert_eq!(status, 200, "POST /__admin/reload: {body}");

    // Assert
    assert_eq!(
        get(server.url("/api1")).await,
        (200, "from the api".to_owned())
    );
    assert_eq!(scenario_state(&server, "api1").await, "y");
    let entry = listed(&server, "api1").await.expect("api1 listed");
    assert_eq!(entry["source"], "api", "{entry}");
    assert_eq!(entry["status"], "ok", "{entry}");
    assert!(listed(&server, "b").await.is_none(), "b.json was deleted");
}

// ----------------------------------------------------------------------------------------
// 4. Kubernetes ConfigMap volumes
// ----------------------------------------------------------------------------------------

/// Writes a ConfigMap data directory `..NAME/b.json` answering `body`.
#[cfg(unix)]
fn configmap_version(dir: &Scenarios, name: &str, body: &str) -> PathBuf {
    dir.write_json(&format!("{name}/b.json"), &one_route("/cm", body));
    dir.path().join(name)
}

/// The kubelet's atomic update: point `..data` at `version` via a temp link and a rename.
#[cfg(unix)]
fn configmap_swap(dir: &Scenarios, version: &str) {
    let tmp = dir.path().join("..data_tmp");
    std::os::unix::fs::symlink(version, &tmp).expect("symlink ..data_tmp");
    std::fs::rename(&tmp, dir.path().join("..data")).expect("rename ..data_tmp over ..data");
}

#[cfg(unix)]
#[tokio::test]
async fn kubernetes_configmap_symlink_swap_is_picked_up() {
    // Arrange: b.json -> ..data/b.json, ..data -> ..2026_01_01_00_00_00.000000001
    let dir = Scenarios::new();
    let first = "..2026_01_01_00_00_00.000000001";
    let second = "..2026_01_01_00_01_00.000000002";
    let third = "..2026_01_01_00_02_00.000000003";
    let first_dir = configmap_version(&dir, first, "config v1");
    std::os::unix::fs::symlink(first, dir.path().join("..data")).expect("symlink ..data");
    std::os::unix::fs::symlink("..data/b.json", dir.path().join("b.json")).expect("symlink b.json");
    let server = serve_auto(dir.path());
    assert_eq!(get(server.url("/cm")).await, (200, "config v1".to_owned()));

    // Act: a new timestamped dir, the swap, then the old dir goes.
    let second_dir = configmap_version(&dir, second, "config v2");
    configmap_swap(&dir, second);
    std::fs::remove_dir_all(&first_dir).expect("remove the old data dir");

    // Assert
    wait_for_body(&server, "/cm", "config v2").await;

    // Act: once more, so reloads keep working after the old dir is gone.
    configmap_version(&dir, third, "config v3");
    configmap_swap(&dir, third);
    std::fs::remove_dir_all(&second_dir).expect("remove the old data dir");

    // Assert
    wait_for_body(&server, "/cm", "config v3").await;
    let list = scenarios(&server).await;
    assert_eq!(list.len(), 1, "one scenario, seen once: {list:#?}");
    assert_eq!(list[0]["name"], "b", "{list:#?}");
    assert_eq!(list[0]["file"], "b.json", "{list:#?}");
    assert_eq!(list[0]["status"], "ok", "{list:#?}");
}

// ----------------------------------------------------------------------------------------
// 5. Polling
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn poll_mode_picks_up_an_edit() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "old"));
    let server = serve_watching(
        dir.path(),
        &["--watch", "poll", "--poll-interval-ms", "100"],
    );
    assert_eq!(get(server.url("/a")).await, (200, "old".to_owned()));

    // Act
    save_in_place(&a, &route_text("/a", "polled and found"));

    // Assert
    wait_for_body(&server, "/a", "polled and found").await;
    let entry = listed(&server, "a").await.expect("a listed");
    assert_eq!(entry["status"], "ok", "{entry}");
}

// ----------------------------------------------------------------------------------------
// 7. --watch off: only POST /__admin/reload
// ----------------------------------------------------------------------------------------

#[tokio::test]
async fn watch_off_serves_an_edit_only_after_post_reload() {
    // Arrange
    let dir = Scenarios::new();
    let a = dir.write_json("a.json", &one_route("/a", "old"));
    let server = serve_watching(dir.path(), &["--watch", "off"]);
    assert_eq!(get(server.url("/a")).await, (200, "old".to_owned()));

    // Act
    save_by_rename(&a, &route_text("/a", "new"));

    // Assert: nothing watches, so the old answer stays (looked at for a while).
    for _ in 0..15 {
        assert_eq!(
            get(server.url("/a")).await,
            (200, "old".to_owned()),
            "--watch off must not pick up edits by itself"
        );
        tokio::time::sleep(TICK).await;
    }

    // Act
    let (status, body) = admin_post(&server, "reload").await;

    // Assert
    assert_eq!(status, 200, "POST /__admin/reload: {body}");
    assert_eq!(body["errors"], json!([]), "{body}");
    assert_eq!(get(server.url("/a")).await, (200, "new".to_owned()));
}

// ----------------------------------------------------------------------------------------
// 6. Reload storm under load
// ----------------------------------------------------------------------------------------

/// Number of rewrites in the storm.
const STORM_WRITES: u32 = 60;
/// Client threads hammering `/storm`.
const STORM_CLIENTS: usize = 4;

/// What version `n` of the storm file holds: `Ok(text)` answering `v<n>`, or broken text
/// (whose body would also read `v<n>` if it were ever served).
fn storm_version(n: u32) -> (bool, String) {
    let doc = one_route("/storm", &format!("v{n}"));
    if n % 7 == 3 {
        // Not JSON at all (cut off).
        let text = pretty(&doc);
        (false, text[..text.len() / 2].to_owned())
    } else if n % 11 == 4 {
        let mut bad = doc;
        bad["routes"][0]["response"]["status"] = json!(700);
        (false, pretty(&bad))
    } else {
        (true, pretty(&doc))
    }
}

/// What one storm client saw.
#[derive(Default)]
struct ClientLog {
    requests: usize,
    failures: Vec<String>,
    /// Count of answers per version.
    seen: BTreeMap<u32, usize>,
    last: Option<u32>,
}

/// One keep-alive HTTP/1.1 connection to `addr`.
fn keep_alive(addr: SocketAddr) -> TcpStream {
    let stream = connect(addr);
    stream.set_nodelay(true).expect("set TCP_NODELAY");
    stream
}

/// Sends `GET /storm` again and again on one keep-alive connection until `stop`, checking
/// every answer. A broken connection panics the thread (which fails the test); an answer
/// that closes the connection is a failure, and the client connects again.
fn storm_client(
    addr: SocketAddr,
    started: Arc<AtomicU32>,
    latest: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) -> ClientLog {
    let mut log = ClientLog::default();
    let mut stream = keep_alive(addr);
    while !stop.load(Ordering::SeqCst) {
        if log.failures.len() >= 20 {
            break;
        }
        log.requests += 1;
        send(
            &mut stream,
            b"GET /storm HTTP/1.1\r\nHost: understudy\r\n\r\n",
        );
        let answer = read_response(&mut stream);
        // Highest version whose write had begun when the answer arrived.
        let written = started.load(Ordering::SeqCst);
        let (status, body) = (answer.status(), text(&answer.body));
        if answer
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
        {
            log.failures.push(format!(
                "request {}: server closed the keep-alive connection (status {status})",
                log.requests
            ));
            stream = keep_alive(addr);
            continue;
        }
        if status != 200 {
            log.failures.push(format!(
                "request {}: status {status}, body {body:?}",
                log.requests
            ));
            continue;
        }
        let Some(version) = body.strip_prefix('v').and_then(|v| v.parse::<u32>().ok()) else {
            log.failures.push(format!(
                "request {}: unexpected body {body:?}",
                log.requests
            ));
            continue;
        };
        if !storm_version(version).0 {
            log.failures.push(format!(
                "request {}: served v{version}, an INVALID version",
                log.requests
            ));
        }
        if version > written {
            log.failures.push(format!(
                "request {}: served v{version} before it was written (latest begun: v{written})",
                log.requests
            ));
        }
        if let Some(last) = log.last
            && version < last
        {
            log.failures.push(format!(
                "request {}: went backwards from v{last} to v{version}",
                log.requests
            ));
        }
        log.last = Some(version);
        latest.fetch_max(version, Ordering::SeqCst);
        *log.seen.entry(version).or_default() += 1;
    }
    log
}

#[test]
fn reload_storm_under_load_never_fails_a_request() {
    // Arrange
    let dir = Scenarios::new();
    let (valid, text) = storm_version(0);
    assert!(valid);
    let storm = dir.write("storm.json", &text);
    let server = serve_auto(dir.path());
    let started = Arc::new(AtomicU32::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..STORM_CLIENTS)
        .map(|i| {
            let (addr, started, stop) = (server.addr, started.clone(), stop.clone());
            let latest = Arc::new(AtomicU32::new(0));
            let seen = latest.clone();
            let handle = thread::Builder::new()
                .name(format!("storm-client-{i}"))
                .spawn(move || storm_client(addr, started, latest, stop))
                .expect("spawn client thread");
            (handle, seen)
        })
        .collect();

    // Act: 60 saves, alternating rename-saves and in-place saves, some of them broken.
    let final_version = STORM_WRITES;
    assert!(storm_version(final_version).0, "the last version is valid");
    for n in 1..=STORM_WRITES {
        let (_, text) = storm_version(n);
        started.store(n, Ordering::SeqCst);
        if n % 2 == 1 {
            save_by_rename(&storm, &text);
        } else {
            save_in_place(&storm, &text);
        }
        thread::sleep(Duration::from_millis(u64::from(n % 4) * 15));
    }

    // Wait (bounded) until every client has seen the final version, then stop them.
    wait_until(WAIT, TICK, || {
        clients
            .iter()
            .all(|(h, seen)| h.is_finished() || seen.load(Ordering::SeqCst) == final_version)
    });
    stop.store(true, Ordering::SeqCst);
    let logs: Vec<ClientLog> = clients
        .into_iter()
        .map(|(h, _)| h.join().expect("client thread panicked"))
        .collect();
    let fresh = crate::util::raw(
        server.addr,
        b"GET /storm HTTP/1.1\r\nHost: understudy\r\nConnection: close\r\n\r\n",
    );

    // Assert
    let mut report = String::new();
    for (i, log) in logs.iter().enumerate() {
        report.push_str(&format!(
            "client {i}: {} requests, last v{:?}, versions seen {:?}, failures {:#?}\n",
            log.requests, log.last, log.seen, log.failures
        ));
    }
    eprintln!("{report}");
    for (i, log) in logs.iter().enumerate() {
        assert!(log.requests > 0, "client {i} made no request\n{report}");
        assert!(log.failures.is_empty(), "client {i} saw failures\n{report}");
        assert_eq!(
            log.last,
            Some(final_version),
            "client {i} never saw the final version\n{report}"
        );
    }
    assert!(
        fresh.status_line.starts_with("HTTP/1.1 200"),
        "{}",
        fresh.status_line
    );
    assert_eq!(
        String::from_utf8_lossy(&fresh.body),
        format!("v{final_version}")
    );
    let list = crate::util::raw(
        server.addr,
        b"GET /__admin/scenarios HTTP/1.1\r\nHost: understudy\r\nConnection: close\r\n\r\n",
    );
    let list: Value = serde_json::from_slice(&list.body).expect("scenario list JSON");
    assert_eq!(list[0]["status"], "ok", "the final version loaded: {list}");
}
