//! Starting and dropping `MockServer`s a thousand times leaves no thread and no file
//! descriptor behind (beyond the few idle servers kept for reuse, which stop after a second
//! unused). Its own test binary: it
//! counts the whole process's threads and descriptors, which other tests running in parallel
//! would disturb.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use understudy::MockServer;

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// What each open descriptor is, for a failure message.
fn fd_targets() -> Vec<String> {
    std::fs::read_dir("/proc/self/fd").map_or_else(
        |_| Vec::new(),
        |dir| {
            dir.filter_map(Result::ok)
                .map(|e| {
                    std::fs::read_link(e.path())
                        .map_or_else(|_| "?".into(), |t| t.display().to_string())
                })
                .collect()
        },
    )
}

/// One test's worth: start, one GET answered, drop.
fn one_test(server: MockServer) {
    let mut conn = TcpStream::connect(server.addr()).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    conn.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).expect("read");
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"), "{answer:?}");
    assert!(answer.ends_with(b"ok"));
    drop(server);
}

fn inline() -> MockServer {
    MockServer::from_json(json!({
        "routes": [ { "request": { "path": "/x" }, "response": { "status": 200, "body": "ok" } } ]
    }))
    .expect("start")
}

#[test]
fn a_thousand_starts_and_drops_leave_no_thread_or_descriptor_behind() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("x.json"),
        r#"{"routes":[{"request":{"path":"/x"},"response":{"status":200,"body":"ok"}}]}"#,
    )
    .expect("write scenario");
    let (threads_before, fds_before) = (threads(), fds());
    let before_targets = fd_targets();

    // Warm up: 20 alive at once, then dropped: more than the pool keeps, so it fills.
    let many: Vec<MockServer> = (0..20).map(|_| inline()).collect();
    drop(many);
    let (threads_warm, fds_warm) = (threads(), fds());
    for _ in 0..1000 {
        one_test(inline());
    }
    // Servers of scenario files are stopped on drop, never kept.
    for _ in 0..50 {
        one_test(MockServer::from_dir(dir.path()).expect("start"));
    }
    let many: Vec<MockServer> = (0..20).map(|_| inline()).collect();
    drop(many);
    // A stopped server's worker threads finish exiting a moment after it stopped answering:
    // give them (boundedly) the time to go before counting.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let (mut threads_after, mut fds_after) = (threads(), fds());
    while (threads_after > threads_warm + 2 || fds_after > fds_warm + 2)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(20));
        (threads_after, fds_after) = (threads(), fds());
    }

    // No growth with the number of servers started...
    assert!(
        threads_after <= threads_warm + 2,
        "threads: {threads_before} before, {threads_warm} with the pool full, {threads_after} after 1,090 servers"
    );
    assert!(
        fds_after <= fds_warm + 2,
        "descriptors: {fds_before} before, {fds_warm} with the pool full, {fds_after} after 1,090 servers"
    );
    // ...and what the idle pool holds is bounded (8 servers of three threads each).
    assert!(
        threads_after <= threads_before + 8 * 3 + 2,
        "threads: {threads_before} before, {threads_after} after"
    );

    // Idle pooled servers stop by themselves after a second: then nothing of theirs is left.
    // (The first runtime of the process opened tokio's signal socket pair, which the process
    // keeps whatever it does: two descriptors.)
    let fds_process = fds_before + 2;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (mut threads_idle, mut fds_idle) = (threads(), fds());
    while (threads_idle > threads_before || fds_idle > fds_process)
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
        (threads_idle, fds_idle) = (threads(), fds());
    }
    assert!(
        threads_idle <= threads_before,
        "threads: {threads_before} before, {threads_idle} once the pool's servers sat idle"
    );
    assert!(
        fds_idle <= fds_process,
        "descriptors: {fds_before} before ({before_targets:?}), {fds_idle} once the pool's servers sat idle ({:?})",
        fd_targets()
    );
}
