//! `Expect: 100-continue` per route (`continue`, `continueAfterMs`, `ignore`, `reject`): on
//! raw sockets, byte for byte, and as curl does it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{
    SILENCE, Scenarios, Server, connect, contains, curl, curl_upload, entries, journal_raw,
    parse_raw, read_head, read_to_close, read_within, send, serve_scenario, text, upload_file,
};

/// `HTTP/1.1 100 Continue` exactly as it goes on the wire.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A `PUT path` head with `Content-Length: len` and `Expect: 100-continue`.
fn expect_head(path: &str, len: usize) -> String {
    format!(
        "PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: {len}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    )
}

// ---------------------------------------------------------------------------------------
// Expect: 100-continue on raw sockets
// ---------------------------------------------------------------------------------------

/// How long the `continueAfterMs` route waits before its `100 Continue`.
const CONTINUE_AFTER_MS: u64 = 1000;

/// Scenario `expect`: one `PUT` route per mode; answers echo the body they read.
fn expect_scenario() -> Value {
    let echo = |status: u16| json!({ "status": status, "body": "got {{ request.body }}", "template": true });
    json!({
        "name": "expect",
        "routes": [
            { "id": "continue", "expect": "continue",
              "request": { "method": "PUT", "path": "/continue" }, "response": echo(201) },
            { "id": "default",
              "request": { "method": "PUT", "path": "/default" }, "response": echo(202) },
            { "id": "after", "expect": { "continueAfterMs": CONTINUE_AFTER_MS },
              "request": { "method": "PUT", "path": "/after" }, "response": echo(201) },
            { "id": "ignore", "expect": "ignore",
              "request": { "method": "PUT", "path": "/ignore" }, "response": echo(200) },
            { "id": "reject", "expect": "reject",
              "request": { "method": "PUT", "path": "/reject" },
              "response": { "status": 417, "body": "no uploads here" } },
            { "id": "reject-body", "expect": "reject",
              "request": { "method": "PUT", "path": "/reject-body", "body": "only-this-body" },
              "response": { "status": 413, "body": "too large" } }
        ]
    })
}

/// A server over [`expect_scenario`].
fn expect_server() -> (Scenarios, Server) {
    serve_scenario("expect.json", &expect_scenario())
}

#[test]
fn expect_continue_sends_100_before_the_body_then_the_final_answer() {
    // Arrange
    let (_dir, server) = expect_server();
    for path in ["/continue", "/default"] {
        let mut stream = connect(server.addr);

        // Act: only the head goes out; the body waits for the 100.
        send(&mut stream, expect_head(path, 7).as_bytes());
        let interim = read_head(&mut stream);
        send(&mut stream, b"payload");
        let rest = read_to_close(&mut stream);

        // Assert
        assert_eq!(
            text(&interim),
            text(CONTINUE),
            "{path}: exactly a 100 Continue arrives before the body is sent"
        );
        let final_answer = parse_raw(rest);
        let want = if path == "/continue" { "201" } else { "202" };
        assert!(
            final_answer
                .status_line
                .starts_with(&format!("HTTP/1.1 {want} ")),
            "{path}: final status after the body: {:?}",
            text(&final_answer.bytes)
        );
        assert_eq!(
            text(&final_answer.body),
            "got payload",
            "{path}: the body was read after the 100"
        );
    }
}

#[test]
fn expect_continue_after_ms_delays_the_100() {
    // Arrange
    let (_dir, server) = expect_server();
    let mut stream = connect(server.addr);

    // Act
    let sent = Instant::now();
    send(&mut stream, expect_head("/after", 4).as_bytes());
    let interim = read_head(&mut stream);
    let waited = sent.elapsed();
    send(&mut stream, b"late");
    let final_answer = parse_raw(read_to_close(&mut stream));

    // Assert: a generous lower bound only.
    assert_eq!(text(&interim), text(CONTINUE), "the 100 comes, just later");
    assert!(
        waited >= Duration::from_millis(CONTINUE_AFTER_MS - 300),
        "100 Continue came after {waited:?}, expected about {CONTINUE_AFTER_MS} ms"
    );
    assert!(
        final_answer.status_line.starts_with("HTTP/1.1 201 "),
        "final: {:?}",
        text(&final_answer.bytes)
    );
    assert_eq!(text(&final_answer.body), "got late");
}

#[test]
fn expect_ignore_sends_no_100_and_answers_once_the_body_comes_anyway() {
    // Arrange
    let (_dir, server) = expect_server();
    let mut stream = connect(server.addr);

    // Act: the head, then silence, then the body a client sends after its own timeout.
    send(&mut stream, expect_head("/ignore", 6).as_bytes());
    let during_silence = read_within(&mut stream, SILENCE);
    send(&mut stream, b"anyway");
    let rest = read_to_close(&mut stream);

    // Assert
    assert!(
        during_silence.is_empty(),
        "no byte may arrive before the body; got {:?}",
        text(&during_silence)
    );
    assert!(
        !contains(&rest, b"100 Continue"),
        "no 100 Continue, ever: {:?}",
        text(&rest)
    );
    let final_answer = parse_raw(rest);
    assert!(
        final_answer.status_line.starts_with("HTTP/1.1 200 "),
        "final: {:?}",
        text(&final_answer.bytes)
    );
    assert_eq!(text(&final_answer.body), "got anyway");
}

#[test]
fn expect_reject_answers_at_once_without_100_or_body_and_closes() {
    // Arrange
    let (_dir, server) = expect_server();
    let mut stream = connect(server.addr);

    // Act: a large body is announced but never sent.
    send(&mut stream, expect_head("/reject", 10_000_000).as_bytes());
    let all = read_to_close(&mut stream);
    let journal = journal_raw(&server);

    // Assert: the final answer first, then the server closes.
    assert!(
        all.starts_with(b"HTTP/1.1 417 "),
        "the final status line comes first, with no 100: {:?}",
        text(&all)
    );
    assert!(!contains(&all, b"100 Continue"), "{:?}", text(&all));
    let resp = parse_raw(all);
    assert_eq!(
        resp.header("connection").map(str::to_ascii_lowercase),
        Some("close".to_owned()),
        "headers: {:?}",
        resp.headers
    );
    assert_eq!(text(&resp.body), "no uploads here");
    let entries = entries(&journal);
    let entry = entries
        .iter()
        .find(|e| e["path"] == "/reject")
        .unwrap_or_else(|| panic!("the rejected request is journaled: {entries:#?}"));
    assert_eq!(entry["route"], "expect/reject", "{entry:#}");
    assert_eq!(entry["status"], 417, "{entry:#}");
    assert_eq!(entry["method"], "PUT", "{entry:#}");
}

#[test]
fn expect_reject_is_decided_on_the_head_alone_skipping_body_matchers() {
    // Arrange: the route's body matcher could only match a body that is never sent.
    let (_dir, server) = expect_server();
    let mut stream = connect(server.addr);

    // Act
    send(&mut stream, expect_head("/reject-body", 1_000).as_bytes());
    let all = read_to_close(&mut stream);
    let journal = journal_raw(&server);

    // Assert
    assert!(
        all.starts_with(b"HTTP/1.1 413 "),
        "rejected on the head despite the body matcher: {:?}",
        text(&all)
    );
    assert!(!contains(&all, b"100 Continue"), "{:?}", text(&all));
    let entries = entries(&journal);
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == "/reject-body" && e["route"] == "expect/reject-body"),
        "{entries:#?}"
    );
}

#[test]
fn requests_without_expect_are_answered_normally_whatever_the_route_mode() {
    // Arrange
    let (_dir, server) = expect_server();

    for (path, want) in [("/default", "202"), ("/after", "201"), ("/ignore", "200")] {
        // Act: an ordinary upload, body sent with the head.
        let resp = server.raw(&format!(
            "PUT {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nplain"
        ));

        // Assert
        assert!(
            resp.status_line.starts_with(&format!("HTTP/1.1 {want} ")),
            "{path}: {:?}",
            text(&resp.bytes)
        );
        assert!(
            !contains(&resp.bytes, b"100 Continue"),
            "{path}: no 100 without Expect: {:?}",
            text(&resp.bytes)
        );
        assert_eq!(text(&resp.body), "got plain", "{path}");
    }
}

// ---------------------------------------------------------------------------------------
// Expect: 100-continue as curl does it
// ---------------------------------------------------------------------------------------

/// Size of the upload file used with curl: above curl's own 1 MiB Expect threshold.
const UPLOAD_LEN: usize = 1_500_000;

/// Scenario `curl-expect`: continue, ignore and reject routes (the reject answers 413: some
/// curl versions retry a 417 without Expect, which would hide what is tested here).
fn curl_expect_scenario() -> Value {
    json!({
        "name": "curl-expect",
        "routes": [
            { "id": "continue", "request": { "method": "PUT", "path": "/up" },
              "response": { "status": 201, "body": "stored" } },
            { "id": "ignore", "expect": "ignore", "request": { "method": "PUT", "path": "/quiet" },
              "response": { "status": 200, "body": "late but fine" } },
            { "id": "reject", "expect": "reject", "request": { "method": "PUT", "path": "/full" },
              "response": { "status": 413, "body": "quota exceeded" } }
        ]
    })
}

#[test]
fn curl_uploads_after_100_on_a_continue_route() {
    // Arrange
    let (dir, server) = serve_scenario("curl-expect.json", &curl_expect_scenario());
    let file = upload_file(dir.outside(), UPLOAD_LEN);

    // Act
    let (out, body, uploaded) = curl_upload(curl(), &file, &server.url("/up"));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    let interim = stderr.find("< HTTP/1.1 100 Continue");
    let final_line = stderr.find("< HTTP/1.1 201 ");
    assert!(
        matches!((interim, final_line), (Some(a), Some(b)) if a < b),
        "100 then 201 expected in: {stderr}"
    );
    assert_eq!(body, "stored");
    assert_eq!(uploaded, UPLOAD_LEN as u64, "the whole file went up");
}

#[test]
fn curl_gets_the_final_answer_without_uploading_on_a_reject_route() {
    // Arrange
    let (dir, server) = serve_scenario("curl-expect.json", &curl_expect_scenario());
    let file = upload_file(dir.outside(), UPLOAD_LEN);

    // Act
    let (out, body, uploaded) = curl_upload(curl(), &file, &server.url("/full"));

    // Assert: curl reports the 413 with (almost) nothing uploaded and no 100 seen.
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("< HTTP/1.1 413 "),
        "final 413 expected in: {stderr}"
    );
    assert!(
        !stderr.contains("HTTP/1.1 100"),
        "no 100 on a reject route: {stderr}"
    );
    assert_eq!(body, "quota exceeded", "stderr: {stderr}");
    assert!(
        uploaded < (UPLOAD_LEN as u64) / 2,
        "curl should not have sent the file, size_upload = {uploaded}; {stderr}"
    );
}

#[test]
fn curl_sends_the_body_after_its_own_timeout_on_an_ignore_route() {
    // Arrange
    let (dir, server) = serve_scenario("curl-expect.json", &curl_expect_scenario());
    let file = upload_file(dir.outside(), UPLOAD_LEN);
    let mut cmd = curl();
    cmd.args(["--expect100-timeout", "0.5"]);

    // Act
    let (out, body, uploaded) = curl_upload(cmd, &file, &server.url("/quiet"));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    assert!(
        !stderr.contains("HTTP/1.1 100"),
        "no 100 on an ignore route: {stderr}"
    );
    assert!(stderr.contains("< HTTP/1.1 200 "), "{stderr}");
    assert_eq!(body, "late but fine");
    assert_eq!(uploaded, UPLOAD_LEN as u64);
}
