//! Protocol switches: WebSocket scripts (RFC 6455 via actix-ws) and raw upgrades.
//!
//! A route whose answer is a `101` switches the connection when the request asks for that
//! protocol, and answers `426 Upgrade Required` otherwise.
//!
//! A WebSocket script runs on the connection's worker as its own task: `onOpen` actions, then
//! for each text message the first `onMessage` rule whose regex matches runs its actions (text
//! actions are templates with `message` and the match's named groups); unmatched messages are
//! echoed when `echo` is set. Pings are answered with pongs; a client close is answered and
//! ends the script; a `close` action ends it from the server side. A message over
//! `--ws-max-message-bytes` closes the connection with `1009`.
//!
//! A raw upgrade answers `101` with the route's `Upgrade` token, then echoes the client's bytes
//! back through the connection seam ([`crate::wire::io`]) until the client closes.

use std::sync::Arc;

use actix_http::header::{CONTENT_TYPE, HeaderName, HeaderValue, UPGRADE};
use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, CloseCode, CloseReason, Session};
use futures_util::StreamExt as _;
use minijinja::value::Value as MjValue;

use super::{AppState, respond};
use crate::scenario::CompiledResponse;
use crate::scenario::compiled::{Switch, WsAct, WsScript};
use crate::wire::io::ConnControl;

/// The `101` of a WebSocket script or a raw upgrade, or `426` for a request that does not
/// ask for that upgrade. `rendered` are the answer's rendered template headers.
pub fn switch(
    req: &HttpRequest,
    payload: Option<web::Payload>,
    switch: &Switch,
    answer: &CompiledResponse,
    rendered: &[(HeaderName, HeaderValue)],
    state: &AppState,
) -> HttpResponse {
    match switch {
        Switch::WebSocket(script) => match payload {
            Some(payload) if is_upgrade(req) => {
                let mut resp = start(req, payload, script.clone(), state.ws_max_message_bytes);
                for (name, value) in answer.headers.iter().chain(rendered) {
                    if name != CONTENT_TYPE {
                        resp.headers_mut().append(name.clone(), value.clone());
                    }
                }
                resp
            }
            _ => upgrade_required("websocket"),
        },
        Switch::Raw(protocol) => {
            let asked = req.headers().get_all(UPGRADE).any(|v| {
                v.to_str().is_ok_and(|s| {
                    s.split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case(protocol))
                })
            });
            let ctl = req.conn_data::<ConnControl>();
            let (true, Some(ctl)) = (asked, ctl) else {
                return upgrade_required(protocol);
            };
            let mut builder = respond::head(answer, rendered);
            builder.upgrade(protocol.as_str());
            let mut resp = builder.streaming(ctl.upgrade_echo());
            resp.headers_mut().remove(CONTENT_TYPE);
            resp.head_mut().no_chunking(true);
            resp
        }
    }
}

/// Whether `req` is a WebSocket opening handshake (RFC 6455 §4.2.1).
fn is_upgrade(req: &HttpRequest) -> bool {
    let has = |name: &str, token: &str| {
        req.headers().get_all(name).any(|v| {
            v.to_str()
                .is_ok_and(|s| s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    req.method() == actix_web::http::Method::GET
        && has("upgrade", "websocket")
        && has("connection", "upgrade")
        && req.headers().contains_key("sec-websocket-key")
}

/// `426 Upgrade Required` for a plain request to an upgrade route.
pub fn upgrade_required(protocol: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::UPGRADE_REQUIRED)
        .insert_header(("upgrade", protocol))
        .insert_header(("connection", "upgrade"))
        .json(super::json::Error {
            error: format!("this route answers only an upgrade to {protocol}").into(),
        })
}

/// The `426` an HTTP/2 request gets from a route that switches protocols: the switch exists
/// only in HTTP/1.1 (no `Upgrade` field is sent, HTTP/2 has none).
pub fn http11_required(protocol: &str) -> HttpResponse {
    HttpResponse::build(actix_web::http::StatusCode::UPGRADE_REQUIRED).json(super::json::Error {
        error: format!(
            "this route answers only an upgrade to {protocol}, which needs HTTP/1.1 (not HTTP/2)"
        )
        .into(),
    })
}

/// Completes the handshake and starts the script; the response is the `101`.
fn start(
    req: &HttpRequest,
    payload: web::Payload,
    script: Arc<WsScript>,
    limit: usize,
) -> HttpResponse {
    let protocols: Vec<&str> = script.subprotocol.iter().map(String::as_str).collect();
    match actix_ws::handle_with_protocols(req, payload, &protocols) {
        Ok((resp, session, stream)) => {
            let stream = stream
                .max_frame_size(limit)
                .aggregate_continuations()
                .max_continuation_size(limit);
            actix_web::rt::spawn(run(script, session, stream));
            resp
        }
        Err(err) => {
            let resp = err.error_response();
            tracing::info!("WebSocket handshake refused: {err}");
            resp
        }
    }
}

async fn run(
    script: Arc<WsScript>,
    mut session: Session,
    mut stream: actix_ws::AggregatedMessageStream,
) {
    let empty = MjValue::from(minijinja::value::Serde(
        serde_json::json!({ "message": "" }),
    ));
    if !act(&script, &script.on_open, &mut session, &empty).await {
        return;
    }
    while let Some(msg) = stream.next().await {
        let more = match msg {
            Ok(AggregatedMessage::Text(text)) => on_text(&script, &mut session, &text).await,
            Ok(AggregatedMessage::Binary(bytes)) if script.echo => {
                session.binary(bytes).await.is_ok()
            }
            Ok(AggregatedMessage::Ping(payload)) => session.pong(&payload).await.is_ok(),
            Ok(AggregatedMessage::Close(reason)) => {
                let _ = session.close(reason).await;
                return;
            }
            Ok(_) => true,
            Err(err) => {
                tracing::debug!("WebSocket protocol error: {err}");
                let code = if too_big(&err) {
                    CloseCode::Size
                } else {
                    CloseCode::Protocol
                };
                let _ = session.close(Some(CloseReason::from(code))).await;
                return;
            }
        };
        if !more {
            return;
        }
    }
}

/// Whether a protocol error is a message over `--ws-max-message-bytes` (one frame, or
/// continuation frames together).
fn too_big(err: &actix_ws::ProtocolError) -> bool {
    match err {
        actix_ws::ProtocolError::Overflow => true,
        actix_ws::ProtocolError::Io(io) => io.to_string().contains("maximum continuation size"),
        _ => false,
    }
}

/// Runs the first matching rule for a text message (or echoes it); `false` once closed.
async fn on_text(script: &WsScript, session: &mut Session, text: &str) -> bool {
    for (re, actions) in &script.on_message {
        if let Some(caps) = re.captures(text) {
            let mut ctx = serde_json::Map::new();
            for name in re.capture_names().flatten() {
                if let Some(m) = caps.name(name) {
                    ctx.insert(
                        name.to_owned(),
                        serde_json::Value::String(m.as_str().to_owned()),
                    );
                }
            }
            ctx.insert("message".into(), serde_json::Value::String(text.to_owned()));
            let value = MjValue::from(minijinja::value::Serde(serde_json::Value::Object(ctx)));
            return act(script, actions, session, &value).await;
        }
    }
    if script.echo {
        return session.text(text.to_owned()).await.is_ok();
    }
    true
}

/// Runs actions in order; `false` once the session is closed.
async fn act(script: &WsScript, actions: &[WsAct], session: &mut Session, ctx: &MjValue) -> bool {
    for a in actions {
        let ok = match a {
            WsAct::Text(tmpl) => match script.templates.render(tmpl, ctx) {
                Ok(text) => session.text(text).await.is_ok(),
                Err(err) => {
                    tracing::error!("WebSocket text template failed: {err}");
                    session
                        .text(format!("understudy: template error: {err}"))
                        .await
                        .is_ok()
                }
            },
            WsAct::Json(text) => session.text(text.clone()).await.is_ok(),
            WsAct::Binary(bytes) => session.binary(bytes.clone()).await.is_ok(),
            WsAct::Wait(d) => {
                actix_web::rt::time::sleep(*d).await;
                true
            }
            WsAct::Ping(p) => session.ping(p).await.is_ok(),
            WsAct::Close(code, reason) => {
                let reason = CloseReason {
                    code: CloseCode::from(*code),
                    description: reason.clone(),
                };
                let _ = session.clone().close(Some(reason)).await;
                return false;
            }
        };
        if !ok {
            return false;
        }
    }
    true
}
