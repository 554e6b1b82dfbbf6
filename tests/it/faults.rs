//! Wire faults (`connection_reset`, `empty_response`, `malformed_response`, `truncated_body`,
//! `no_response`) and pacing (`delayMs`, `chunks`), seen on raw sockets and by reqwest.

use std::io::{ErrorKind, Read as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::util::{
    HANG_GUARD, SILENCE, Scenarios, Server, client, client_with_timeout, connect, entries, fetch,
    get, get_request, head_end, journal, parse_raw, read_until_end, send, serve_scenario,
};

/// A scenario named `faults` with one `GET /NAME` route per fault (status 502, body
/// `0123456789`), `/malformed-default` (no body), `/truncated` (status 200) and `/ok`.
fn fault_scenario() -> Value {
    let mut routes = Vec::new();
    for fault in [
        "connection_reset",
        "empty_response",
        "malformed_response",
        "no_response",
    ] {
        routes.push(json!({
            "id": fault, "request": { "method": "GET", "path": format!("/{fault}") },
            "response": { "status": 502, "fault": fault, "body": "0123456789" }
        }));
    }
    routes.push(json!({
        "id": "malformed_default", "request": { "method": "GET", "path": "/malformed-default" },
        "response": { "status": 502, "fault": "malformed_response" }
    }));
    routes.push(json!({
        "id": "truncated_body", "request": { "method": "GET", "path": "/truncated" },
        "response": { "status": 200, "fault": "truncated_body", "body": "0123456789" }
    }));
    routes.push(json!({
        "id": "ok", "request": { "method": "GET", "path": "/ok" },
        "response": { "status": 200, "body": "alive" }
    }));
    json!({ "name": "faults", "routes": routes })
}

/// A server over [`fault_scenario`] (the temp dir is returned to keep it alive).
fn fault_server() -> (Scenarios, Server) {
    serve_scenario("faults.json", &fault_scenario())
}

/// Connects and sends `GET path` with `Connection: close`; reads time out after `timeout`.
fn send_get(addr: SocketAddr, path: &str, timeout: Duration) -> TcpStream {
    let mut stream = connect(addr);
    stream.set_read_timeout(Some(timeout)).expect("set timeout");
    send(&mut stream, get_request(path).as_bytes());
    stream
}

/// Reads until EOF, noting when each read returned (relative to `start`) and what it held.
fn timed_reads(stream: &mut TcpStream, start: Instant) -> Vec<(Duration, Vec<u8>)> {
    let mut reads = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return reads,
            Ok(n) => reads.push((start.elapsed(), buf[..n].to_vec())),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => panic!("read failed ({err}) after {reads:?}"),
        }
    }
}

/// Time from `start` until the first byte of the answer to `GET path` arrives, and the whole
/// answer.
fn time_to_first_byte(addr: SocketAddr, path: &str) -> (Duration, Vec<u8>) {
    let start = Instant::now();
    let mut stream = send_get(addr, path, HANG_GUARD);
    let reads = timed_reads(&mut stream, start);
    let first = reads.first().map(|(t, _)| *t).expect("some bytes");
    (first, reads.into_iter().flat_map(|(_, b)| b).collect())
}

// ---------------------------------------------------------------------------------------
// Pacing
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn fixed_delay_holds_back_the_head() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "slow.json",
        &json!({ "routes": [ { "request": { "path": "/slow" },
            "response": { "status": 200, "body": "late", "delayMs": 300 } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let (first_byte, bytes) = time_to_first_byte(server.addr, "/slow");
    let via_reqwest = get(server.url("/slow")).await;

    // Assert
    assert!(
        first_byte >= Duration::from_millis(250),
        "the head came after only {first_byte:?}"
    );
    let raw = parse_raw(bytes);
    assert_eq!(raw.status_line, "HTTP/1.1 200 OK");
    assert_eq!(raw.body, b"late");
    assert_eq!(via_reqwest, (200, "late".to_owned()));
}

#[tokio::test]
async fn random_delay_range_holds_back_the_head_at_least_its_minimum() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "slow.json",
        &json!({ "routes": [ { "request": { "path": "/slow" },
            "response": { "status": 200, "body": "late", "delayMs": { "min": 100, "max": 200 } } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(time_to_first_byte(server.addr, "/slow"));
    }

    // Assert
    for (first_byte, bytes) in answers {
        assert!(
            first_byte >= Duration::from_millis(90),
            "the head came after only {first_byte:?}"
        );
        let raw = parse_raw(bytes);
        assert_eq!(raw.status_line, "HTTP/1.1 200 OK");
        assert_eq!(raw.body, b"late");
    }
}

#[tokio::test]
async fn chunks_dribble_the_body_with_an_exact_content_length() {
    // Arrange: 6 bytes in 2-byte chunks, 100 ms apart.
    let dir = Scenarios::new();
    dir.write_json(
        "drip.json",
        &json!({ "routes": [ { "request": { "path": "/drip" },
            "response": { "status": 200, "body": "abcdef", "chunks": { "size": 2, "intervalMs": 100 } } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let start = Instant::now();
    let mut stream = send_get(server.addr, "/drip", HANG_GUARD);
    let reads = timed_reads(&mut stream, start);
    let via_reqwest = client()
        .get(server.url("/drip"))
        .send()
        .await
        .expect("request");
    let reqwest_length = via_reqwest.content_length();
    let reqwest_body = via_reqwest.text().await.expect("body");

    // Assert
    let all: Vec<u8> = reads.iter().flat_map(|(_, b)| b.clone()).collect();
    let head_len = head_end(&all).expect("end of head");
    let raw = parse_raw(all.clone());
    assert_eq!(raw.header("content-length"), Some("6"), "{raw:?}");
    assert_eq!(raw.header("transfer-encoding"), None, "{raw:?}");
    assert_eq!(raw.body, b"abcdef");
    // When each read's bytes arrived, keeping only the reads that carried body bytes.
    let mut offset = 0;
    let mut body_reads = Vec::new();
    for (at, bytes) in &reads {
        let end = offset + bytes.len();
        if end > head_len {
            body_reads.push(*at);
        }
        offset = end;
    }
    assert!(
        body_reads.len() >= 2,
        "the body came in one read: {reads:?}"
    );
    let spread = *body_reads.last().expect("last") - body_reads[0];
    assert!(
        spread >= Duration::from_millis(150),
        "the body arrived within {spread:?}: {reads:?}"
    );
    assert_eq!(reqwest_length, Some(6));
    assert_eq!(reqwest_body, "abcdef");
}

#[tokio::test]
async fn a_delayed_response_does_not_hold_up_another_request() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "mixed.json",
        &json!({ "routes": [
            { "request": { "path": "/slow" }, "response": { "status": 200, "body": "slow", "delayMs": 2000 } },
            { "request": { "path": "/fast" }, "response": { "status": 200, "body": "fast" } }
        ] }),
    );
    let server = Server::start(dir.path());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<&'static str>();

    // Act: the slow request is on the wire first, on its own connection.
    let mut slow = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    let slow_tx = tx.clone();
    let slow_task = tokio::spawn(async move {
        let mut bytes = Vec::new();
        tokio::time::timeout(HANG_GUARD, slow.read_to_end(&mut bytes))
            .await
            .expect("hang guard")
            .expect("read slow answer");
        let _ = slow_tx.send("slow");
        bytes
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let fast = fetch(client_with_timeout(HANG_GUARD).get(server.url("/fast"))).await;
    tx.send("fast").expect("send");
    let slow_bytes = slow_task.await.expect("slow task");
    drop(tx);
    let mut order = Vec::new();
    while let Some(name) = rx.recv().await {
        order.push(name);
    }

    // Assert
    assert_eq!(fast, (200, "fast".to_owned()));
    assert_eq!(parse_raw(slow_bytes).body, b"slow");
    assert_eq!(order, ["fast", "slow"], "the fast answer came first");
}

// ---------------------------------------------------------------------------------------
// Faults
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn connection_reset_resets_the_connection_without_bytes() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act
    let mut stream = send_get(server.addr, "/connection_reset", HANG_GUARD);
    let (bytes, end) = read_until_end(&mut stream);
    let via_reqwest = client().get(server.url("/connection_reset")).send().await;

    // Assert
    assert!(bytes.is_empty(), "no bytes expected, got {bytes:?}");
    let err = end.expect_err("the read must fail with a reset, not end cleanly");
    assert_eq!(err.kind(), ErrorKind::ConnectionReset, "{err}");
    let err = via_reqwest.expect_err("reqwest must fail");
    assert!(err.status().is_none(), "no status: {err}");
}

#[tokio::test]
async fn empty_response_closes_without_bytes() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act
    let mut stream = send_get(server.addr, "/empty_response", HANG_GUARD);
    let (bytes, end) = read_until_end(&mut stream);
    let via_reqwest = client().get(server.url("/empty_response")).send().await;

    // Assert
    assert!(bytes.is_empty(), "no bytes expected, got {bytes:?}");
    assert!(end.is_ok(), "a clean close (EOF), got {end:?}");
    let err = via_reqwest.expect_err("reqwest must fail");
    assert!(err.status().is_none(), "no status: {err}");
}

#[tokio::test]
async fn malformed_response_sends_exactly_the_configured_body_then_closes() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act
    let mut stream = send_get(server.addr, "/malformed_response", HANG_GUARD);
    let (bytes, end) = read_until_end(&mut stream);
    let via_reqwest = client().get(server.url("/malformed_response")).send().await;

    // Assert
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "0123456789",
        "exactly the body, no HTTP head"
    );
    assert!(end.is_ok(), "then a clean close (EOF), got {end:?}");
    assert!(via_reqwest.is_err(), "reqwest must fail: {via_reqwest:?}");
}

#[tokio::test]
async fn malformed_response_without_a_body_sends_the_fixed_line_then_closes() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act
    let mut stream = send_get(server.addr, "/malformed-default", HANG_GUARD);
    let (bytes, end) = read_until_end(&mut stream);
    let via_reqwest = client().get(server.url("/malformed-default")).send().await;

    // Assert
    assert_eq!(bytes, understudy::internals::http::respond::MALFORMED);
    assert!(!bytes.starts_with(b"HTTP/"), "not an HTTP status line");
    assert!(end.is_ok(), "then a clean close (EOF), got {end:?}");
    assert!(via_reqwest.is_err(), "reqwest must fail: {via_reqwest:?}");
}

#[tokio::test]
async fn truncated_body_sends_the_full_length_head_and_half_the_body() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act
    let mut stream = send_get(server.addr, "/truncated", HANG_GUARD);
    let (bytes, end) = read_until_end(&mut stream);
    let resp = client()
        .get(server.url("/truncated"))
        .send()
        .await
        .expect("the head arrives");
    let reqwest_status = resp.status().as_u16();
    let reqwest_body = resp.bytes().await;

    // Assert
    let raw = parse_raw(bytes);
    assert_eq!(raw.status_line, "HTTP/1.1 200 OK");
    assert_eq!(raw.header("content-length"), Some("10"), "{raw:?}");
    assert_eq!(String::from_utf8_lossy(&raw.body), "01234");
    assert!(
        end.is_ok()
            || end
                .as_ref()
                .is_err_and(|e| e.kind() == ErrorKind::ConnectionReset),
        "then the connection ends, got {end:?}"
    );
    assert_eq!(reqwest_status, 200);
    assert!(
        reqwest_body.is_err(),
        "reading the body must fail: {reqwest_body:?}"
    );
}

#[tokio::test]
async fn no_response_holds_the_connection_silent_while_others_are_served() {
    // Arrange
    let (_dir, server) = fault_server();

    // Act: hold one connection, then ask for another route while it is held.
    let mut held = send_get(server.addr, "/no_response", SILENCE);
    let mut buf = [0u8; 64];
    let silent = held.read(&mut buf);
    let ok_meanwhile = get(server.url("/ok")).await;
    let via_reqwest = client_with_timeout(SILENCE)
        .get(server.url("/no_response"))
        .send()
        .await;
    let ok_after = get(server.url("/ok")).await;

    // Assert
    let err = silent.expect_err("no bytes may arrive within the timeout");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "the read timed out, not failed: {err}"
    );
    assert_eq!(ok_meanwhile, (200, "alive".to_owned()));
    let err = via_reqwest.expect_err("reqwest must time out");
    assert!(err.is_timeout(), "a timeout: {err}");
    assert_eq!(ok_after, (200, "alive".to_owned()));
    drop(held);
}

#[tokio::test]
async fn no_response_closes_the_connection_once_the_client_gives_up() {
    // Regression (benches/soak.py): a client that gave up on a `no_response` route left the
    // server holding the connection's sockets until shutdown, two fds per request.
    // Arrange
    let (_dir, server) = fault_server();
    let mut held = send_get(server.addr, "/no_response", HANG_GUARD);
    let mut buf = [0u8; 64];
    held.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("set timeout");
    let silent = held.read(&mut buf);

    // Act: the client gives up and closes its side.
    held.shutdown(std::net::Shutdown::Write).expect("shutdown");
    held.set_read_timeout(Some(HANG_GUARD))
        .expect("set timeout");
    let (bytes, end) = read_until_end(&mut held);

    // Assert
    assert!(
        silent.is_err(),
        "nothing is sent while the client waits: {silent:?}"
    );
    assert!(
        end.is_ok(),
        "the server closed its side instead of holding it: {end:?}"
    );
    assert!(
        bytes.is_empty(),
        "still not a byte: {:?}",
        String::from_utf8_lossy(&bytes)
    );
}

#[tokio::test]
async fn faulted_requests_are_journaled_with_their_fault_and_status() {
    // Arrange
    let (_dir, server) = fault_server();
    let cases = [
        ("/connection_reset", "connection_reset", 502),
        ("/empty_response", "empty_response", 502),
        ("/malformed_response", "malformed_response", 502),
        ("/truncated", "truncated_body", 200),
        ("/no_response", "no_response", 502),
    ];

    // Act
    let mut held = Vec::new();
    for (path, _, _) in cases {
        let mut stream = send_get(server.addr, path, SILENCE);
        let _ = read_until_end(&mut stream);
        held.push(stream);
    }
    let _ = get(server.url("/ok")).await;
    let journal = journal(&server, "").await;

    // Assert
    let entries = entries(&journal);
    for (path, fault, code) in cases {
        let entry = entries
            .iter()
            .find(|e| e["path"] == path)
            .unwrap_or_else(|| panic!("{path} not journaled: {journal:#}"));
        assert_eq!(entry["fault"], fault, "{entry:#}");
        assert_eq!(entry["status"], code, "{entry:#}");
        assert_eq!(entry["route"], format!("faults/{}", fault), "{entry:#}");
    }
    let ok = entries
        .iter()
        .find(|e| e["path"] == "/ok")
        .expect("/ok journaled");
    assert!(ok.get("fault").is_none_or(Value::is_null), "{ok:#}");
    drop(held);
}
