//! HTTP edge features on real sockets: `Expect: 100-continue` per route (`continue`,
//! `continueAfterMs`, `ignore`, `reject`), interim `informational` responses (103 Early
//! Hints), WebSocket scripts, raw protocol upgrades, and TLS (self-signed and PEM files)
//! including the Expect and 103 behaviour over TLS.

use std::ffi::OsStr;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::util::{
    HANG_GUARD, SILENCE, Scenarios, Server, client, connect, contains, curl, curl_upload, entries,
    get_request, head_end, journal, journal_raw, parse_raw, read_exact_n, read_head, read_to_close,
    read_within, run, send, text, upload_file, validate,
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
    let dir = Scenarios::new();
    dir.write_json("expect.json", &expect_scenario());
    let server = Server::start(dir.path());
    (dir, server)
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
    let dir = Scenarios::new();
    dir.write_json("curl-expect.json", &curl_expect_scenario());
    let server = Server::start(dir.path());
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
    let dir = Scenarios::new();
    dir.write_json("curl-expect.json", &curl_expect_scenario());
    let server = Server::start(dir.path());
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
    let dir = Scenarios::new();
    dir.write_json("curl-expect.json", &curl_expect_scenario());
    let server = Server::start(dir.path());
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

// ---------------------------------------------------------------------------------------
// informational (1xx interim responses)
// ---------------------------------------------------------------------------------------

/// The 103 block of the `/hints` routes, byte for byte.
const EARLY_HINTS: &str = "HTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\nLink: </app.js>; rel=preload\r\n\r\n";

/// Scenario `hints`: `/hints` (103 then 200), `/hints-slow` (same, final after 500 ms),
/// `/hints-many` (102 then 103 then 200).
fn hints_scenario() -> Value {
    let hints = json!([{ "status": 103, "headers": {
        "Link": ["</app.css>; rel=preload", "</app.js>; rel=preload"] } }]);
    json!({
        "name": "hints",
        "routes": [
            { "id": "fast", "request": { "method": "GET", "path": "/hints" },
              "response": { "status": 200, "body": "page", "informational": hints } },
            { "id": "slow", "request": { "method": "GET", "path": "/hints-slow" },
              "response": { "status": 200, "body": "page", "delayMs": 500, "informational": hints } },
            { "id": "many", "request": { "method": "GET", "path": "/hints-many" },
              "response": { "status": 200, "body": "page", "informational": [
                  { "status": 102 },
                  { "status": 103, "headers": { "Link": "</app.css>; rel=preload" } }
              ] } }
        ]
    })
}

fn hints_server() -> (Scenarios, Server) {
    let dir = Scenarios::new();
    dir.write_json("hints.json", &hints_scenario());
    let server = Server::start(dir.path());
    (dir, server)
}

#[test]
fn early_hints_block_comes_before_the_final_status_line() {
    // Arrange
    let (_dir, server) = hints_server();

    // Act
    let resp = server.raw(&get_request("/hints"));

    // Assert
    let all = text(&resp.bytes);
    assert!(
        all.starts_with(EARLY_HINTS),
        "the 103 block, both Link lines as written, comes first: {all:?}"
    );
    let final_answer = parse_raw(resp.bytes[EARLY_HINTS.len()..].to_vec());
    assert!(
        final_answer.status_line.starts_with("HTTP/1.1 200 "),
        "then the final answer: {all:?}"
    );
    assert_eq!(text(&final_answer.body), "page");
}

#[test]
fn early_hints_go_out_before_a_delayed_final_answer() {
    // Arrange
    let (_dir, server) = hints_server();
    let mut stream = connect(server.addr);

    // Act
    let sent = Instant::now();
    send(&mut stream, get_request("/hints-slow").as_bytes());
    let first = read_head(&mut stream);
    let rest = read_to_close(&mut stream);
    let total = sent.elapsed();

    // Assert: the first head received is the 103 alone; the final one follows the delay.
    assert_eq!(
        text(&first),
        EARLY_HINTS,
        "only the 103 block arrives before the delayed final answer"
    );
    let final_answer = parse_raw(rest);
    assert!(
        final_answer.status_line.starts_with("HTTP/1.1 200 "),
        "{:?}",
        text(&final_answer.bytes)
    );
    assert_eq!(text(&final_answer.body), "page");
    assert!(
        total >= Duration::from_millis(400),
        "the final answer still honours delayMs ({total:?})"
    );
}

#[test]
fn http_1_0_requests_get_no_interim_response() {
    // Arrange
    let (_dir, server) = hints_server();

    // Act
    let resp = server.raw("GET /hints HTTP/1.0\r\nHost: t\r\n\r\n");

    // Assert
    assert!(
        resp.status_line.starts_with("HTTP/1.") && resp.status_line.contains(" 200 "),
        "the final answer comes first: {:?}",
        text(&resp.bytes)
    );
    assert!(
        !contains(&resp.bytes, b"103") && !contains(&resp.bytes, b"Early Hints"),
        "no 103 to HTTP/1.0: {:?}",
        text(&resp.bytes)
    );
    assert_eq!(text(&resp.body), "page");
}

#[test]
fn several_interim_responses_are_sent_in_order() {
    // Arrange
    let (_dir, server) = hints_server();

    // Act
    let resp = server.raw(&get_request("/hints-many"));

    // Assert
    let want = "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </app.css>; rel=preload\r\n\r\nHTTP/1.1 200 ";
    assert!(
        text(&resp.bytes).starts_with(want),
        "102, then 103, then 200: {:?}",
        text(&resp.bytes)
    );
}

#[test]
fn an_informational_status_outside_1xx_or_101_is_a_load_error() {
    // Arrange
    let dir = Scenarios::new();
    for (file, status) in [("two.json", 200), ("switch.json", 101)] {
        dir.write_json(
            file,
            &json!({ "routes": [ { "request": { "path": "/x" }, "response": {
                "status": 200, "informational": [ { "status": status } ] } } ] }),
        );
    }

    // Act
    let out = validate(dir.path());

    // Assert
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for file in ["two.json", "switch.json"] {
        assert!(
            stdout
                .lines()
                .any(|l| l.contains(file) && l.contains("informational[0].status")),
            "{file}: a problem at informational[0].status expected in {stdout}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// WebSocket scripts
// ---------------------------------------------------------------------------------------

/// Scenario `ws`: one scripted WebSocket route on `/ws`.
fn ws_scenario() -> Value {
    json!({
        "name": "ws",
        "routes": [ { "id": "chat", "request": { "method": "GET", "path": "/ws" }, "response": {
            "status": 101,
            "websocket": {
                "subprotocol": "chat.v1",
                "onOpen": [ { "text": "welcome" } ],
                "onMessage": [
                    { "match": "hello (?<name>\\w+)", "do": [ { "text": "hi {{ name }}, you said '{{ message }}'" } ] },
                    { "match": "^json$", "do": [ { "json": { "ok": true, "items": [1, 2] } } ] },
                    { "match": "^bin$", "do": [ { "binary": "AAEC/w==" } ] },
                    { "match": "^slow$", "do": [ { "text": "first" }, { "waitMs": 300 }, { "text": "second" } ] },
                    { "match": "^ping me$", "do": [ { "ping": "are you there" } ] },
                    { "match": "^bye$", "do": [ { "close": 4001, "reason": "see you" } ] }
                ],
                "echo": true
            }
        } } ]
    })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next message, with a hang guard.
async fn next_msg(ws: &mut Ws) -> Message {
    tokio::time::timeout(HANG_GUARD, ws.next())
        .await
        .expect("a WebSocket message within the hang guard")
        .expect("stream not ended")
        .expect("no WebSocket error")
}

/// The next text message (fails on anything else).
async fn next_text(ws: &mut Ws) -> String {
    match next_msg(ws).await {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Opens `/ws` offering `other, chat.v1`; returns the stream and the handshake response.
async fn open_ws(
    server: &Server,
) -> (
    Ws,
    tokio_tungstenite::tungstenite::handshake::client::Response,
) {
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("other, chat.v1"),
    );
    tokio::time::timeout(HANG_GUARD, tokio_tungstenite::connect_async(request))
        .await
        .expect("handshake within the hang guard")
        .expect("WebSocket handshake")
}

#[tokio::test]
async fn websocket_handshake_negotiates_the_subprotocol_and_is_journaled() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("ws.json", &ws_scenario());
    let server = Server::start(dir.path());

    // Act
    let (mut ws, response) = open_ws(&server).await;
    let welcome = next_text(&mut ws).await;
    let journal = journal(&server, "").await;

    // Assert
    assert_eq!(response.status().as_u16(), 101);
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("chat.v1"),
        "{:?}",
        response.headers()
    );
    assert_eq!(welcome, "welcome", "the onOpen text comes first");
    let entries = entries(&journal);
    assert!(
        entries
            .iter()
            .any(|e| e["path"] == "/ws" && e["status"] == 101 && e["route"] == "ws/chat"),
        "the handshake is journaled with status 101: {entries:#?}"
    );
    let _ = ws.close(None).await;
}

#[tokio::test]
async fn websocket_script_runs_rules_actions_echo_pings_and_close() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("ws.json", &ws_scenario());
    let server = Server::start(dir.path());
    let (mut ws, _) = open_ws(&server).await;
    assert_eq!(next_text(&mut ws).await, "welcome");

    // Act + Assert, one exchange at a time.
    // A rule with a named group renders its template (regex search, not anchored).
    ws.send(Message::text("well, hello Ada"))
        .await
        .expect("send");
    assert_eq!(
        next_text(&mut ws).await,
        "hi Ada, you said 'well, hello Ada'"
    );

    // json action: a text message holding the JSON value.
    ws.send(Message::text("json")).await.expect("send");
    let got: Value = serde_json::from_str(&next_text(&mut ws).await).expect("JSON text");
    assert_eq!(got, json!({ "ok": true, "items": [1, 2] }));

    // binary action: base64-decoded bytes in a binary message.
    ws.send(Message::text("bin")).await.expect("send");
    match next_msg(&mut ws).await {
        Message::Binary(b) => assert_eq!(b.as_ref(), &[0u8, 1, 2, 255]),
        other => panic!("expected binary, got {other:?}"),
    }

    // waitMs: order (and a generous lower bound) only.
    ws.send(Message::text("slow")).await.expect("send");
    assert_eq!(next_text(&mut ws).await, "first");
    let after_first = Instant::now();
    assert_eq!(next_text(&mut ws).await, "second");
    assert!(
        after_first.elapsed() >= Duration::from_millis(200),
        "waitMs pauses between actions ({:?})",
        after_first.elapsed()
    );

    // ping action: a Ping frame with the payload.
    ws.send(Message::text("ping me")).await.expect("send");
    match next_msg(&mut ws).await {
        Message::Ping(p) => assert_eq!(p.as_ref(), b"are you there"),
        other => panic!("expected a ping, got {other:?}"),
    }

    // echo: unmatched text and binary come back as they were.
    ws.send(Message::text("nobody matches this"))
        .await
        .expect("send");
    assert_eq!(next_text(&mut ws).await, "nobody matches this");
    ws.send(Message::binary(vec![9u8, 8, 7, 0]))
        .await
        .expect("send");
    match next_msg(&mut ws).await {
        Message::Binary(b) => assert_eq!(b.as_ref(), &[9u8, 8, 7, 0]),
        other => panic!("expected the binary echo, got {other:?}"),
    }

    // A client ping gets a pong with the same payload.
    ws.send(Message::Ping(bytes::Bytes::from_static(b"p-1")))
        .await
        .expect("send ping");
    match next_msg(&mut ws).await {
        Message::Pong(p) => assert_eq!(p.as_ref(), b"p-1"),
        other => panic!("expected a pong, got {other:?}"),
    }

    // close action: code and reason reach the client.
    ws.send(Message::text("bye")).await.expect("send");
    match next_msg(&mut ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 4001);
            assert_eq!(frame.reason.as_str(), "see you");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn plain_request_to_a_websocket_route_gets_426() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("ws.json", &ws_scenario());
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/ws"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status().as_u16(), 426);
    assert_eq!(
        resp.headers()
            .get("upgrade")
            .map(|v| v.to_str().unwrap_or_default()),
        Some("websocket")
    );
}

// ---------------------------------------------------------------------------------------
// Raw protocol upgrades
// ---------------------------------------------------------------------------------------

fn upgrade_server() -> (Scenarios, Server) {
    let dir = Scenarios::new();
    dir.write_json(
        "tunnel.json",
        &json!({ "name": "tunnel", "routes": [ { "id": "echo",
            "request": { "method": "GET", "path": "/tunnel" },
            "response": { "status": 101, "upgrade": { "protocol": "echo-proto" } } } ] }),
    );
    let server = Server::start(dir.path());
    (dir, server)
}

#[test]
fn raw_upgrade_switches_then_echoes_bytes_until_the_client_closes() {
    // Arrange
    let (_dir, server) = upgrade_server();
    let mut stream = connect(server.addr);
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();

    // Act: switch.
    send(
        &mut stream,
        b"GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\n",
    );
    let head = read_head(&mut stream);

    // Assert: the 101 head, exactly these lines, and nothing after it yet.
    let head_text = text(&head);
    assert!(
        head_text.ends_with("\r\n\r\n"),
        "nothing follows the 101 head before the client speaks: {head_text:?}"
    );
    let lines: Vec<&str> = head_text.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0], "HTTP/1.1 101 Switching Protocols",
        "{head_text:?}"
    );
    assert!(lines.contains(&"upgrade: echo-proto"), "{head_text:?}");
    assert!(lines.contains(&"connection: upgrade"), "{head_text:?}");
    assert!(
        !lines.iter().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") || l.starts_with("content-length:")
        }),
        "no body framing on a 101: {head_text:?}"
    );

    // Act + Assert: echo round trips, text, binary and a large block.
    for chunk in [
        b"hello\n".to_vec(),
        vec![0u8, 1, 2, 255, 254, b'\r', b'\n', 0],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        send(&mut stream, &chunk);
        assert_eq!(
            read_exact_n(&mut stream, chunk.len()),
            chunk,
            "echoed as sent"
        );
    }
    send(&mut stream, &big);
    assert!(
        read_exact_n(&mut stream, big.len()) == big,
        "70 kB echoed intact"
    );

    // Act: the client half-closes; the server closes its side.
    stream.shutdown(Shutdown::Write).expect("half-close");
    let trailing = read_to_close(&mut stream);

    // Assert
    assert!(
        trailing.is_empty(),
        "nothing but EOF after the half-close: {:?}",
        text(&trailing)
    );
}

#[test]
fn raw_upgrade_echoes_bytes_sent_with_the_request_head() {
    // Arrange: a client that does not wait for the 101 before speaking the new protocol.
    let (_dir, server) = upgrade_server();
    let mut stream = connect(server.addr);

    // Act: the head and the first bytes in one write, then more bytes later.
    send(
        &mut stream,
        b"GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\nearly bytes",
    );
    let mut got = read_head(&mut stream);
    let end = head_end(&got).expect("a head");
    while got.len() < end + b"early bytes".len() {
        got.extend(read_exact_n(&mut stream, 1));
    }
    let (head, early) = got.split_at(end);
    send(&mut stream, b"later");
    let later = read_exact_n(&mut stream, b"later".len());

    // Assert: nothing sent early is lost, and the echo goes on afterwards.
    assert!(text(head).starts_with("HTTP/1.1 101 "), "{:?}", text(head));
    assert_eq!(early, b"early bytes");
    assert_eq!(later, b"later");
}

#[test]
fn request_without_the_upgrade_token_gets_426() {
    // Arrange
    let (_dir, server) = upgrade_server();

    // Act
    let plain = server.raw(&get_request("/tunnel"));
    let other = server.raw(
        "GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, close\r\nUpgrade: h2c-ish\r\n\r\n",
    );

    // Assert
    for resp in [plain, other] {
        assert!(
            resp.status_line.starts_with("HTTP/1.1 426 "),
            "{:?}",
            text(&resp.bytes)
        );
        assert_eq!(
            resp.header("upgrade"),
            Some("echo-proto"),
            "{:?}",
            resp.headers
        );
    }
}

// ---------------------------------------------------------------------------------------
// TLS
// ---------------------------------------------------------------------------------------

/// A `serve` child over TLS (its `listening on https://` line parsed), killed on drop.
struct TlsServer(Server);

impl TlsServer {
    /// `serve --bind 127.0.0.1:0 --watch off --scenarios DIR` + `extra`, over TLS.
    fn start(dir: &Path, extra: &[&OsStr]) -> TlsServer {
        let mut cmd = crate::util::serve_command(dir);
        cmd.args(extra);
        TlsServer(Server::spawn(cmd))
    }

    /// Every log line so far.
    fn logs(&self) -> Vec<String> {
        self.0.logs()
    }

    fn port(&self) -> u16 {
        self.0.addr.port()
    }

    /// `https://localhost:PORT` + `path`.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.port(), path)
    }

    /// curl for this server: trusts `ca` (when given) and resolves localhost to the listener.
    fn curl(&self, ca: Option<&Path>) -> Command {
        let mut cmd = curl();
        cmd.arg("--resolve")
            .arg(format!("localhost:{}:127.0.0.1", self.port()));
        if let Some(ca) = ca {
            cmd.arg("--cacert").arg(ca);
        }
        cmd
    }
}

/// The first `AA:BB:…` SHA-256 fingerprint (32 colon-separated hex pairs) in `lines`.
fn logged_fingerprint(lines: &[String]) -> Option<String> {
    let re = regex::Regex::new(r"\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}\b").expect("regex");
    lines
        .iter()
        .find_map(|l| re.find(l).map(|m| m.as_str().to_ascii_uppercase()))
}

/// `openssl x509 -fingerprint -sha256` of a PEM certificate, as `AA:BB:…`.
fn openssl_fingerprint(cert: &Path) -> String {
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert));
    assert!(out.status.success(), "openssl x509: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout
        .trim()
        .rsplit_once('=')
        .map(|(_, fp)| fp.to_ascii_uppercase())
        .unwrap_or_else(|| panic!("unexpected openssl output {stdout:?}"))
}

/// Whether `openssl` can be run.
fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Scenario `secure`: a plain route, continue and reject Expect routes, and a 103 route.
fn tls_scenario() -> Value {
    json!({
        "name": "secure",
        "routes": [
            { "id": "hello", "request": { "method": "GET", "path": "/hello" },
              "response": { "status": 200, "body": "over tls" } },
            { "id": "up", "request": { "method": "PUT", "path": "/up" },
              "response": { "status": 201, "body": "stored" } },
            { "id": "full", "expect": "reject", "request": { "method": "PUT", "path": "/full" },
              "response": { "status": 413, "body": "quota exceeded" } },
            { "id": "hints", "request": { "method": "GET", "path": "/hints" },
              "response": { "status": 200, "body": "page", "informational": [
                  { "status": 103, "headers": { "Link": "</app.css>; rel=preload" } } ] } }
        ]
    })
}

/// A self-signed TLS server over [`tls_scenario`]; returns the cert path too.
fn self_signed_server() -> (Scenarios, TlsServer, PathBuf) {
    let dir = Scenarios::new();
    dir.write_json("secure.json", &tls_scenario());
    let cert = dir.outside().join("cert.pem");
    let server = TlsServer::start(
        dir.path(),
        &[
            OsStr::new("--tls-self-signed"),
            OsStr::new("--tls-cert-out"),
            cert.as_os_str(),
        ],
    );
    (dir, server, cert)
}

#[test]
fn self_signed_tls_writes_its_cert_logs_https_and_a_fingerprint() {
    // Arrange + Act
    let (_dir, server, cert) = self_signed_server();

    // Assert
    let pem = std::fs::read_to_string(&cert).expect("the certificate PEM was written");
    assert!(pem.contains("-----BEGIN CERTIFICATE-----"), "{pem}");
    let logs = server.logs();
    assert!(
        logs.iter().any(|l| l.contains("listening on https://")),
        "{logs:#?}"
    );
    let fingerprint =
        logged_fingerprint(&logs).unwrap_or_else(|| panic!("no SHA-256 fingerprint in {logs:#?}"));
    if have_openssl() {
        assert_eq!(
            fingerprint,
            openssl_fingerprint(&cert),
            "the logged fingerprint is the written certificate's"
        );
    }
}

#[test]
fn curl_trusting_the_generated_cert_gets_200_and_without_it_fails() {
    // Arrange
    let (_dir, server, cert) = self_signed_server();

    // Act
    let trusted = run(server.curl(Some(&cert)).arg(server.url("/hello")));
    let by_ip = run(server
        .curl(Some(&cert))
        .arg(format!("https://127.0.0.1:{}/hello", server.port())));
    let untrusted = run(server.curl(None).arg(server.url("/hello")));

    // Assert
    for (what, out) in [("localhost", &trusted), ("127.0.0.1", &by_ip)] {
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{what}: curl failed: {stderr}");
        assert!(stderr.contains("< HTTP/1.1 200 "), "{what}: {stderr}");
        assert_eq!(text(&out.stdout), "over tls", "{what}");
    }
    let stderr = text(&untrusted.stderr);
    assert!(
        !untrusted.status.success(),
        "an untrusted self-signed cert must fail verification: {stderr}"
    );
    assert!(
        stderr.to_ascii_lowercase().contains("certificate"),
        "curl names the certificate problem: {stderr}"
    );
    assert!(untrusted.stdout.is_empty(), "no body without trust");
}

#[test]
fn tls_from_pem_files_serves_with_that_certificate() {
    if !have_openssl() {
        println!("note: openssl not found; skipping the --tls-cert/--tls-key case");
        return;
    }
    // Arrange: a cert + key made by openssl.
    let dir = Scenarios::new();
    dir.write_json("secure.json", &tls_scenario());
    let cert = dir.outside().join("own-cert.pem");
    let key = dir.outside().join("own-key.pem");
    let made = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(made.status.success(), "openssl req: {}", text(&made.stderr));

    // Act
    let server = TlsServer::start(
        dir.path(),
        &[
            OsStr::new("--tls-cert"),
            cert.as_os_str(),
            OsStr::new("--tls-key"),
            key.as_os_str(),
        ],
    );
    let out = run(server.curl(Some(&cert)).arg(server.url("/hello")));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    assert_eq!(text(&out.stdout), "over tls");
    let logs = server.logs();
    assert_eq!(
        logged_fingerprint(&logs).as_deref(),
        Some(openssl_fingerprint(&cert).as_str()),
        "the logged fingerprint is the given certificate's: {logs:#?}"
    );
}

#[test]
fn expect_continue_and_reject_work_over_tls() {
    // Arrange
    let (dir, server, cert) = self_signed_server();
    let file = upload_file(dir.outside(), 64 * 1024);

    // Act
    let (ok, ok_body, ok_size) = curl_upload(server.curl(Some(&cert)), &file, &server.url("/up"));
    let (rejected, rej_body, rej_size) =
        curl_upload(server.curl(Some(&cert)), &file, &server.url("/full"));

    // Assert: continue shows the 100 (so the check below can tell), reject does not.
    let ok_err = text(&ok.stderr);
    assert!(ok.status.success(), "{ok_err}");
    assert!(ok_err.contains("< HTTP/1.1 100 Continue"), "{ok_err}");
    assert!(ok_err.contains("< HTTP/1.1 201 "), "{ok_err}");
    assert_eq!(ok_body, "stored");
    assert_eq!(ok_size, 64 * 1024);

    let rej_err = text(&rejected.stderr);
    assert!(rej_err.contains("< HTTP/1.1 413 "), "{rej_err}");
    assert!(
        !rej_err.contains("HTTP/1.1 100"),
        "no 100 on a reject route over TLS: {rej_err}"
    );
    assert_eq!(rej_body, "quota exceeded", "{rej_err}");
    assert!(rej_size < 32 * 1024, "size_upload {rej_size}: {rej_err}");
}

#[test]
fn early_hints_work_over_tls() {
    // Arrange
    let (_dir, server, cert) = self_signed_server();

    // Act
    let out = run(server.curl(Some(&cert)).arg(server.url("/hints")));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let hints = stderr.find("< HTTP/1.1 103 Early Hints");
    let link = stderr.find("< Link: </app.css>; rel=preload");
    let final_line = stderr.find("< HTTP/1.1 200 ");
    assert!(
        matches!((hints, link, final_line), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "103 with its Link, then 200, expected in: {stderr}"
    );
    assert_eq!(text(&out.stdout), "page");
}
