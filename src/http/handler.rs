//! The catch-all handler: every request outside `/__admin/` lands here.
//!
//! It reads the body (bounded by `--max-body-bytes`), takes the current snapshot, finds the
//! route and renders its answer, or reports the near misses, then records the exchange in the
//! journal. It never waits on a lock held across I/O, never parses a scenario and never
//! touches the disk.

use std::time::Instant;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

use crate::http::AppState;
use crate::http::respond;
use crate::http::upgrade;
use crate::journal::Record;
use crate::matching::{NEAR_MISS_LIMIT, RequestView};
use crate::scenario::template::Context;
use crate::scenario::upgrade::Switch;
use crate::wire::fault;
use crate::wire::io::ConnControl;

/// Answers a request from the scenarios.
pub async fn mock(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    // An upgrade request's "body" is the upgraded protocol's stream: never read it here.
    let upgrading = req.headers().contains_key(actix_web::http::header::UPGRADE);
    let mut payload = Some(payload);
    #[allow(clippy::expect_used)] // invariant: the payload was put in the Option just above
    let read = if upgrading {
        Ok(Bytes::new())
    } else {
        read_body(
            &req,
            payload.take().expect("payload not taken yet"),
            state.max_body_bytes,
            state.body_timeout,
        )
        .await
    };
    let body = match read {
        Ok(body) => body,
        Err((mut resp, partial)) => {
            // The rest of a refused body is not read: the connection cannot carry another
            // request, so it closes after the answer (a chunked body included).
            resp.head_mut()
                .set_connection_type(actix_web::http::ConnectionType::Close);
            state.journal.record(
                Record::of(req.head(), partial, started).answered(None, resp.status().as_u16()),
            );
            return resp;
        }
    };
    let snapshot = state.store.snapshot();
    let view = RequestView::new(
        req.method().as_str(),
        req.uri().path(),
        req.uri().query().unwrap_or(""),
        req.headers(),
        &body,
    );
    let Some(selected) = snapshot.index.select(&view) else {
        let misses = snapshot.index.near_misses(&view, NEAR_MISS_LIMIT);
        unmatched_log::note(view.method, view.path);
        let resp = respond::unmatched(view.method, view.path, &misses);
        drop(view);
        state.journal.record(Record {
            near_misses: misses,
            ..Record::of(req.head(), body, started).answered(None, resp.status().as_u16())
        });
        return resp;
    };
    let route = selected.route.full_name.clone();
    let answer = selected.response;
    tracing::debug!(route = %route, method = %req.method(), path = %req.uri().path(), "matched");

    let rendered = match &answer.template {
        None => Ok(respond::Rendered {
            headers: Vec::new(),
            body: answer.body.clone(),
        }),
        Some(_) => {
            let path_params = selected
                .route
                .matcher
                .path
                .as_ref()
                .map(|re| captures(re, view.path))
                .unwrap_or_default();
            let ctx = Context {
                method: view.method,
                path: view.path,
                query: view.query(),
                headers: view.headers,
                body: view.body,
                json: view.json(),
                path_params,
                state: selected.state_before.clone().unwrap_or_default(),
            };
            respond::render_template(answer, &ctx)
        }
    };
    drop(view);
    let rendered = match rendered {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(route = %route, "template error: {err}");
            let resp = respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("template of route {route} failed to render: {err}"),
            );
            state.journal.record(
                Record::of(req.head(), body, started).answered(Some(route), resp.status().as_u16()),
            );
            return resp;
        }
    };

    if let Some(switch) = &answer.switch {
        let resp = switch_protocols(&req, payload, switch, answer, &rendered.headers);
        state.journal.record(
            Record::of(req.head(), body, started).answered(Some(route), resp.status().as_u16()),
        );
        return resp;
    }
    if let Some(interim) = &answer.informational
        && req.version() == actix_web::http::Version::HTTP_11
        && let Some(ctl) = req.conn_data::<ConnControl>()
    {
        ctl.send_interim(interim);
    }
    if let Some(delay) = answer.delay {
        actix_web::rt::time::sleep(delay.sample()).await;
    }
    if let Some(fault) = answer.fault {
        // Recorded before the fault: a held or reset connection never gets "answered".
        let name = serde_json::to_value(fault)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned));
        state.journal.record(Record {
            fault: name,
            ..Record::of(req.head(), body, started).answered(Some(route), answer.status.as_u16())
        });
        let head = respond::head(answer, &rendered.headers).finish();
        return fault::respond(fault, &req, head, rendered.body).await;
    }
    let resp = respond::render(answer, &rendered.headers, rendered.body);
    state.journal.record(
        Record::of(req.head(), body, started).answered(Some(route), resp.status().as_u16()),
    );
    resp
}

/// The `101` of a WebSocket script or a raw upgrade, or `426` for a request that does not
/// ask for that upgrade.
fn switch_protocols(
    req: &HttpRequest,
    payload: Option<web::Payload>,
    switch: &Switch,
    answer: &crate::scenario::CompiledResponse,
    rendered: &[(
        actix_web::http::header::HeaderName,
        actix_web::http::header::HeaderValue,
    )],
) -> HttpResponse {
    match switch {
        Switch::WebSocket(script) => match payload {
            Some(payload) if upgrade::is_upgrade(req) => {
                let mut resp = upgrade::start(req, payload, script.clone());
                for (name, value) in answer.headers.iter().chain(rendered) {
                    if name != actix_web::http::header::CONTENT_TYPE {
                        resp.headers_mut().append(name.clone(), value.clone());
                    }
                }
                resp
            }
            _ => upgrade::upgrade_required("websocket"),
        },
        Switch::Raw(protocol) => {
            let asked = req
                .headers()
                .get_all(actix_web::http::header::UPGRADE)
                .any(|v| {
                    v.to_str().is_ok_and(|s| {
                        s.split(',')
                            .any(|t| t.trim().eq_ignore_ascii_case(protocol))
                    })
                });
            let ctl = req.conn_data::<ConnControl>();
            let (true, Some(ctl)) = (asked, ctl) else {
                return upgrade::upgrade_required(protocol);
            };
            let mut builder = respond::head(answer, rendered);
            builder.upgrade(protocol.as_str());
            let mut resp = builder.streaming(ctl.upgrade_echo());
            resp.headers_mut()
                .remove(actix_web::http::header::CONTENT_TYPE);
            resp.head_mut().no_chunking(true);
            resp
        }
    }
}

/// Named groups of `re` in `path`, as template values.
fn captures(re: &regex::Regex, path: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut out = serde_json::Map::new();
    if let Some(caps) = re.captures(path) {
        for name in re.capture_names().flatten() {
            if let Some(m) = caps.name(name) {
                out.insert(
                    name.to_owned(),
                    serde_json::Value::String(m.as_str().to_owned()),
                );
            }
        }
    }
    out
}

/// Reads the whole body, refusing more than `limit` bytes with 413 (and handing back what was
/// read, for the journal).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    timeout: Option<std::time::Duration>,
) -> Result<Bytes, (HttpResponse, Bytes)> {
    let too_large = || {
        respond::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds the limit of {limit} bytes (--max-body-bytes)"),
        )
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err((too_large(), Bytes::new()));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(0));
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    loop {
        let next = match deadline {
            None => payload.next().await,
            Some(at) => match tokio::time::timeout_at(at, payload.next()).await {
                Ok(next) => next,
                Err(_) => {
                    let resp = respond::error(
                        StatusCode::REQUEST_TIMEOUT,
                        format!(
                            "request body not complete within {} ms (--body-timeout-ms)",
                            timeout.unwrap_or_default().as_millis()
                        ),
                    );
                    return Err((resp, body.freeze()));
                }
            },
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = match chunk {
            Ok(c) => c,
            Err(err) => {
                let resp = respond::error(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read request body: {err}"),
                );
                return Err((resp, body.freeze()));
            }
        };
        if body.len() + chunk.len() > limit {
            return Err((too_large(), body.freeze()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The "no route matched" log line: one per request while they are few, and a count per
/// second once a load test sends thousands (writing each would cost more than answering it).
mod unmatched_log {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::time::Instant;

    /// Lines logged one by one in each second; the rest are counted.
    const LINES_PER_SECOND: u64 = 20;

    static EPOCH: OnceLock<Instant> = OnceLock::new();
    static SECOND: AtomicU64 = AtomicU64::new(0);
    static SEEN: AtomicU64 = AtomicU64::new(0);

    pub(super) fn note(method: &str, path: &str) {
        let now = EPOCH.get_or_init(Instant::now).elapsed().as_secs();
        let second = SECOND.load(Relaxed);
        if now != second
            && SECOND
                .compare_exchange(second, now, Relaxed, Relaxed)
                .is_ok()
        {
            let unlogged = SEEN.swap(0, Relaxed).saturating_sub(LINES_PER_SECOND);
            if unlogged > 0 {
                tracing::info!(
                    unlogged,
                    "{unlogged} more requests matched no route (GET /__admin/requests?unmatched=true lists them)"
                );
            }
        }
        if SEEN.fetch_add(1, Relaxed) < LINES_PER_SECOND {
            tracing::info!(method, path, "no route matched");
        }
    }
}
