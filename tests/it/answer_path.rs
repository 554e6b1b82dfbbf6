//! One answer path: the catch-all handler and the `Expect: 100-continue` hook answer through
//! the same steps (templates, render errors, scripts) and each request is journaled once; a
//! request whose `Upgrade` no route accepts is an ordinary request, body included.

use std::process::Command;

use serde_json::{Value, json};

use crate::util::{self, Scenarios, Server, entries, raw};

/// Routes for these tests: a JSON matcher on POST, a WebSocket route, a rejecting `Expect`
/// route whose template fails to render, and a rejecting script.
fn scenario() -> Value {
    json!({
        "name": "path",
        "routes": [
            { "id": "order",
              "request": { "method": "POST", "path": "/orders", "json": { "qty": 2 } },
              "response": { "status": 201, "json": { "ok": true } } },
            { "id": "ws",
              "request": { "path": "/ws" },
              "response": { "status": 101, "websocket": { "echo": true } } },
            { "id": "broken-reject",
              "expect": "reject",
              "request": { "method": "PUT", "path": "/broken" },
              "response": { "status": 417, "template": true,
                            "body": "{{ random_int(5, 1) }}" } },
            { "id": "reject-script",
              "expect": "reject",
              "request": { "method": "PUT", "path": "/upload/(?<name>[a-z]+)" },
              "responses": [
                  { "status": 413, "template": true, "body": "first {{ path.name }}" },
                  { "status": 401, "body": "second" }
              ] }
        ]
    })
}

fn server() -> (Scenarios, Server) {
    let dir = Scenarios::new();
    dir.write_json("path.json", &scenario());
    let server = Server::start(dir.path());
    (dir, server)
}

async fn journal(server: &Server) -> Vec<Value> {
    entries(&util::journal(server, "").await).clone()
}

/// Java's `HttpClient` (HTTP/2 preferred) and `curl --http2` send `Upgrade: h2c` on plain-http
/// POSTs: their bodies must be read and matched like any other.
#[tokio::test]
async fn a_post_asking_for_h2c_is_answered_in_http_1_1_with_its_body_matched() {
    let (_dir, server) = server();
    let body = r#"{"qty":2}"#;
    let request = format!(
        "POST /orders HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings, close\r\n\
         Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let resp = raw(server.addr, request.as_bytes());
    assert_eq!(resp.status_line, "HTTP/1.1 201 Created", "{resp:?}");
    assert_eq!(String::from_utf8_lossy(&resp.body), r#"{"ok":true}"#);

    let entries = journal(&server).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["body"], body);
    assert_eq!(entries[0]["route"], "path/order");
}

#[tokio::test]
async fn curl_http2_upgrade_post_gets_its_json_matched() {
    let (_dir, server) = server();
    let out = Command::new("curl")
        .args([
            "-s",
            "--http2",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
        ])
        .args([
            "--data",
            r#"{"qty":2}"#,
            "-w",
            "\n%{http_code} %{http_version}",
        ])
        .arg(server.url("/orders"))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text, "{\"ok\":true}\n201 1.1", "{out:?}");
}

/// A WebSocket route still switches (its request has no body to read).
#[tokio::test]
async fn a_websocket_route_still_switches() {
    let (_dir, server) = server();
    let url = format!("ws://{}/ws", server.addr);
    let (mut ws, resp) = tokio_tungstenite::connect_async(url)
        .await
        .expect("handshake");
    assert_eq!(resp.status().as_u16(), 101);
    use futures_util::{SinkExt as _, StreamExt as _};
    ws.send(tokio_tungstenite::tungstenite::Message::text("hi"))
        .await
        .expect("send");
    let echoed = ws.next().await.expect("a message").expect("no error");
    assert_eq!(echoed.into_text().expect("text").as_str(), "hi");
}

/// The render-error policy is the same wherever the request came from: a `500` naming the
/// route, never the unrendered template.
#[tokio::test]
async fn a_template_error_at_the_expect_hook_is_a_500_like_anywhere_else() {
    let (_dir, server) = server();
    let resp = raw(
        server.addr,
        b"PUT /broken HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
    );
    assert_eq!(
        resp.status_line, "HTTP/1.1 500 Internal Server Error",
        "{resp:?}"
    );
    let body: Value = serde_json::from_slice(&resp.body).expect("JSON error body");
    let message = body["error"].as_str().unwrap_or_default();
    assert!(
        message.contains("path/broken-reject") && message.contains("random_int"),
        "{message}"
    );
    assert_eq!(resp.header("connection"), Some("close"), "{resp:?}");

    // Without `Expect`, the same route answers the same way.
    let plain = raw(
        server.addr,
        b"PUT /broken HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody",
    );
    assert_eq!(plain.status_line, "HTTP/1.1 500 Internal Server Error");
}

/// A rejected `Expect` request is answered by its route like any other: templates see its
/// path, its script advances, and the journal holds it once.
#[tokio::test]
async fn an_expect_reject_answer_renders_advances_its_script_and_is_journaled_once() {
    let (_dir, server) = server();
    let head =
        b"PUT /upload/cat HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 9\r\n\r\n";
    let first = raw(server.addr, head);
    assert_eq!(
        first.status_line, "HTTP/1.1 413 Payload Too Large",
        "{first:?}"
    );
    assert_eq!(String::from_utf8_lossy(&first.body), "first cat");
    let second = raw(server.addr, head);
    assert_eq!(
        second.status_line, "HTTP/1.1 401 Unauthorized",
        "{second:?}"
    );

    let entries = journal(&server).await;
    let routes: Vec<(&str, u64)> = entries
        .iter()
        .map(|e| {
            (
                e["route"].as_str().unwrap_or("-"),
                e["status"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        routes,
        [("path/reject-script", 413), ("path/reject-script", 401)]
    );
}

/// Every way a request can end is one journal entry: matched, unmatched, refused on its head,
/// refused for its declared body at the `Expect` hook, rejected at the `Expect` hook.
#[tokio::test]
async fn every_request_is_journaled_exactly_once() {
    let dir = Scenarios::new();
    dir.write_json("path.json", &scenario());
    let server = Server::start_with(
        dir.path(),
        &["--max-body-bytes", "16", "--max-uri-bytes", "64"],
    );
    let requests: [&[u8]; 5] = [
        b"POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 9\r\n\r\n{\"qty\":2}",
        b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"POST /orders HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 99\r\n\r\n",
        b"PUT /upload/dog HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n",
    ];
    let mut statuses = Vec::new();
    for request in requests {
        let resp = raw(server.addr, request);
        statuses.push(resp.status_line.split(' ').nth(1).unwrap_or("").to_owned());
    }
    assert_eq!(statuses, ["201", "404", "414", "413", "413"]);
    let entries = journal(&server).await;
    let seen: Vec<(u64, Value)> = entries
        .iter()
        .map(|e| (e["status"].as_u64().unwrap_or(0), e["route"].clone()))
        .collect();
    assert_eq!(
        seen,
        [
            (201, json!("path/order")),
            (404, Value::Null),
            (414, Value::Null),
            (413, Value::Null),
            (413, json!("path/reject-script")),
        ]
    );
}

/// A WebSocket handshake to a route that does not switch is answered at once (its "body" is
/// the upgraded stream, never waited for).
#[tokio::test]
async fn a_websocket_handshake_to_a_plain_route_is_answered_without_waiting_for_a_body() {
    let dir = Scenarios::new();
    dir.write_json("plain.json", &crate::util::one_route("/plain", "plain"));
    let server = Server::start_with(dir.path(), &["--body-timeout-ms", "60000"]);
    let resp = raw(
        server.addr,
        b"GET /plain HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK", "{resp:?}");
    assert!(resp.body.ends_with(b"plain"), "{resp:?}");
}
