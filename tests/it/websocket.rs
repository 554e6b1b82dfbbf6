//! WebSocket routes: the handshake with its subprotocol and journal entry, scripted rules and
//! actions, echo, pings, close frames, and the 426 a plain request gets.

use std::time::{Duration, Instant};

use futures_util::SinkExt as _;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::util::{Server, Ws, client, entries, journal, next_msg, serve_scenario, ws_connect};

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

/// The next text message (fails on anything else).
async fn next_text(ws: &mut Ws) -> String {
    match next_msg(ws).await {
        Message::Text(t) => t.as_str().to_owned(),
        other => panic!("expected a text message, got {other:?}"),
    }
}

/// Opens `/ws` offering `other, chat.v1`; returns the stream and the handshake response.
async fn open_ws(server: &Server) -> (Ws, Response) {
    let mut request = format!("ws://{}/ws", server.addr)
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_static("other, chat.v1"),
    );
    ws_connect(request).await
}

#[tokio::test]
async fn websocket_handshake_negotiates_the_subprotocol_and_is_journaled() {
    // Arrange
    let (_dir, server) = serve_scenario("ws.json", &ws_scenario());

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
    let (_dir, server) = serve_scenario("ws.json", &ws_scenario());
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
    let (_dir, server) = serve_scenario("ws.json", &ws_scenario());

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
