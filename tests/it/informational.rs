//! Interim `informational` responses (102, 103 Early Hints) sent before the final answer, on
//! raw sockets; none to HTTP/1.0 clients; and which statuses may be interim.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{
    Scenarios, Server, connect, contains, get_request, parse_raw, read_head, read_to_close, send,
    serve_scenario, text, validate,
};

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
    serve_scenario("hints.json", &hints_scenario())
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
