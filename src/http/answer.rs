//! `answer()`: the one path from a request head to its reply, and the one place a request is
//! journaled.
//!
//! A request reaches understudy in one of three ways, and all come here: through the app (the
//! catch-all handler, for requests that may switch protocols: the whole request, body
//! included); straight from its connection when the app would only hand it to that handler
//! (`super::straight_to_answer`: its routing and extractors cost more than matching a route);
//! or through the `Expect: 100-continue` hook when its route rejects (the head alone, before
//! the client sends its body: the answer is final and the connection closes). The steps, in
//! order:
//!
//! 1. read the body, within `--max-body-bytes` (`413`) and `--body-timeout-ms` (`408`); not
//!    for a request whose route switches protocols or that opens a WebSocket (its "body" is
//!    the new protocol's stream), nor at the `Expect` hook. A request whose `Upgrade` no route accepts is an ordinary
//!    request (RFC 9110 §7.8): its body is read like any other;
//! 2. while recording (`http/record/`), send the request to the recording's target when it
//!    takes it (every request in `always` mode, the unmatched ones in `on-miss` mode);
//!    otherwise select the route and take its answer (advancing scripts and states), or
//!    report the near misses (`404`) — after WireMock's fallback for a `GET`,
//!    a file at its path under the top `__files` directory (`http/wiremock_files.rs`);
//! 3. render the answer's templates against the request: a render error is a `500`, wherever
//!    the request came from; an OpenAPI operation's answer is decided here instead (request
//!    validation, `Prefer`, `Accept`: `scenario::openapi::Operation::answer`);
//! 4. switch protocols, or pace the answer: interim responses (`103`), then the delay; a
//!    `proxy` answer is then forwarded upstream (`http/proxy.rs`);
//! 5. journal the exchange, once, now that the outcome is known — before a fault breaks the
//!    connection, so a held or reset connection is still on record;
//! 6. reply: a response, or a fault carried out on the wire.
//!
//! Heads over a limit (`414`, `431`) are refused by [`refuse_head`] before the app, and journaled
//! through the same `record`.

use std::sync::Arc;
use std::time::Instant;

use actix_http::header::UPGRADE;
use actix_http::{ConnectionType, RequestHead};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;

use super::respond::{self, Rendered};
use super::{AppState, body, proxy, record, upgrade, wiremock_files};
use crate::journal::{Record, SentResponse, header_list};
use crate::matching::{NEAR_MISS_LIMIT, NearMiss, RequestView, Selection};
use crate::scenario::compiled::{Fault, HbsResponse};
use crate::scenario::handlebars::HbsRequest;
use crate::scenario::openapi::{OasReply, OasRequest};
use crate::scenario::template::Context;
use crate::shared::SharedStore;
use crate::store::Snapshot;
use crate::wire::fault::ConnSocket;
use crate::wire::http2::H2Stream;
use crate::wire::io::ConnControl;

/// A request as it reached understudy.
pub struct Incoming<'a> {
    head: &'a RequestHead,
    from: From<'a>,
}

enum From<'a> {
    /// Through the app: the body can be read and the connection can switch protocols.
    App {
        req: &'a HttpRequest,
        payload: Option<web::Payload>,
    },
    /// Straight from the connection, past the app: a request that cannot switch protocols
    /// (see `super::straight_to_answer`), body included.
    Direct {
        req: &'a actix_http::Request,
        payload: Option<actix_http::Payload>,
    },
    /// At the `Expect: 100-continue` hook: the head alone; the answer is final.
    Expect { req: &'a actix_http::Request },
}

impl<'a> Incoming<'a> {
    /// A request that reached the app, with its body still to read.
    pub fn app(req: &'a HttpRequest, payload: web::Payload) -> Self {
        Incoming {
            head: req.head(),
            from: From::App {
                req,
                payload: Some(payload),
            },
        }
    }

    /// A request straight from its connection (see `super::straight_to_answer`), with its
    /// body still to read.
    pub(super) fn direct(req: &'a actix_http::Request, payload: actix_http::Payload) -> Self {
        Incoming {
            head: req.head(),
            from: From::Direct {
                req,
                payload: Some(payload),
            },
        }
    }

    /// A request at the `Expect: 100-continue` hook, answered on its head.
    pub(super) fn expect(req: &'a actix_http::Request) -> Self {
        Incoming {
            head: req.head(),
            from: From::Expect { req },
        }
    }

    /// Connection data set up when the connection opened (see `crate::wire`).
    fn conn<T: 'static>(&self) -> Option<&'a T> {
        match self.from {
            From::App { req, .. } => req.conn_data::<T>(),
            From::Direct { req, .. } | From::Expect { req } => req.conn_data::<T>(),
        }
    }

    /// The HTTP/2 stream the request came on, if it did.
    fn h2(&self) -> Option<H2Stream> {
        use actix_web::HttpMessage as _;
        match self.from {
            From::App { req, .. } => req.extensions().get::<H2Stream>().cloned(),
            From::Direct { req, .. } | From::Expect { req } => {
                req.extensions().get::<H2Stream>().cloned()
            }
        }
    }

    fn head_only(&self) -> bool {
        matches!(self.from, From::Expect { .. })
    }
}

/// What the journal learns about an exchange besides its head and status.
#[derive(Default)]
struct Outcome {
    /// The body as read (what was read of it, when refused).
    body: Bytes,
    /// The route that answered.
    route: Option<Arc<str>>,
    /// For an unmatched request, the routes closest to matching.
    near_misses: Vec<NearMiss>,
    /// The fault the answer is.
    fault: Option<Fault>,
    /// Whether the answer was forwarded to an upstream (a `proxy` answer).
    proxied: bool,
    /// For a proxy answer the upstream answered: the time its answer head took.
    upstream_time: Option<std::time::Duration>,
    /// The answer sent, when it is a whole response built here.
    response: Option<SentResponse>,
    /// A proxied answer kept for WireMock's `recordings/snapshot`.
    upstream: Option<Arc<crate::journal::Upstream>>,
}

/// The reply decided for a request.
enum Reply {
    /// A response to send as it is.
    Send(HttpResponse),
    /// A fault to carry out; `head` is the answer it breaks (its status and headers).
    Fault {
        fault: Fault,
        head: HttpResponse,
        body: Bytes,
    },
}

/// Answers a request: see the module docs for the steps.
pub async fn answer(state: &AppState, mut incoming: Incoming<'_>) -> HttpResponse {
    let started = Instant::now();
    let _pending = state.journal.pending();
    let mut outcome = Outcome::default();
    // Boxed: two allocations small enough for the allocator's per-thread cache cost less
    // than one that is not.
    let reply = Box::pin(decide(state, &mut incoming, &mut outcome)).await;
    let status = match &reply {
        Reply::Send(resp) => resp.status(),
        Reply::Fault { head, .. } => head.status(),
    };
    if let Some(shared) = record(state, incoming.head, started, status, outcome) {
        shared.await;
    }
    match reply {
        Reply::Send(resp) => resp,
        Reply::Fault { fault, head, body } => match incoming.h2() {
            // Boxed, like every rare step below: the common path's future stays small (it is
            // moved into a box per request).
            Some(_) => Box::pin(respond::h2_fault(fault, head, body)).await,
            None => {
                Box::pin(respond::fault(
                    fault,
                    incoming.conn::<ConnSocket>(),
                    head,
                    body,
                ))
                .await
            }
        },
    }
}

async fn decide(state: &AppState, incoming: &mut Incoming<'_>, outcome: &mut Outcome) -> Reply {
    let head = incoming.head;
    let snapshot = state.store.snapshot();
    let query = head.uri.query().unwrap_or("");
    let head_only = incoming.head_only();

    // At the `Expect` hook there is no payload: the body is never read there. A body bound
    // for a proxy route chosen on the head alone is sent upstream as it arrives instead
    // (except in `wiremock` mode, whose `recordings/snapshot` matches on the bodies journaled).
    let mut upload = None;
    let payload = match &mut incoming.from {
        From::App { payload, .. }
            if !switches(&snapshot, head, query) && !opens_websocket(head) =>
        {
            payload.take().map(web::Payload::into_inner)
        }
        From::Direct { payload, .. } => payload.take(),
        _ => None,
    };
    if let Some(payload) = payload
        && !matches!(payload, actix_http::Payload::None)
    {
        if state.recorder.active().is_none()
            && state.admin_api != super::AdminApi::Wiremock
            && streams_upstream(&snapshot, head, query)
        {
            upload = Some(payload);
        } else {
            match Box::pin(body::read(
                head,
                payload,
                state.max_body_bytes,
                state.body_timeout,
            ))
            .await
            {
                Ok(body) => outcome.body = body,
                Err(refused) => {
                    // The rest of a refused body is not read: the connection cannot carry
                    // another request, so it closes after the answer.
                    outcome.body = refused.partial;
                    return Reply::Send(closing(respond::error(refused.status, refused.message)));
                }
            }
        }
    }

    // While recording: `always` sends every request to the target, `on-miss` what no route
    // (or only a recorded route for another key) takes.
    if !head_only
        && let Some(session) = state.recorder.active()
        && let Some(key) = session.takes(&snapshot, head, &outcome.body)
    {
        outcome.proxied = true;
        let keep = (state.admin_api == super::AdminApi::Wiremock)
            .then(|| state.journal.limits().max_body_bytes);
        let (resp, took, kept) = Box::pin(record::forward(
            session,
            key,
            head,
            state.scheme,
            outcome.body.clone(),
            keep,
        ))
        .await;
        outcome.upstream_time = took;
        outcome.upstream = kept;
        return Reply::Send(resp);
    }

    let mut view = RequestView::new(
        head.method.as_str(),
        head.uri.path(),
        query,
        &head.headers,
        &outcome.body,
    );
    // A streamed body is not here to match on: the route was chosen on the head, and no
    // route before it in answer order matches the head.
    view.head_only = head_only || upload.is_some();
    let selected = match &state.shared {
        None => snapshot.index.select(&view),
        // Boxed: the in-memory path's future does not grow by the store call's.
        Some(shared) => match Box::pin(shared.select(&snapshot.index, &view)).await {
            Ok(selected) => selected,
            Err(down) => {
                drop(view);
                return Reply::Send(respond::unavailable(&down));
            }
        },
    };
    let Some(selected) = selected else {
        if head_only {
            // The state moved between the `Expect` decision's peek and now: refuse plainly
            // rather than ask for a body no route wants.
            return Reply::Send(closing(respond::error(
                StatusCode::EXPECTATION_FAILED,
                "no route accepts this request now",
            )));
        }
        if head.method == actix_web::http::Method::GET
            && let Some(found) = Box::pin(wiremock_files::lookup(state, view.path)).await
        {
            let (resp, sent) = found.into_response();
            outcome.response = Some(sent);
            return Reply::Send(resp);
        }
        let misses = snapshot.index.near_misses(&view, NEAR_MISS_LIMIT);
        unmatched_log::note(view.method, view.path);
        let (resp, sent) = respond::unmatched_sent(view.method, view.path, &misses);
        drop(view);
        outcome.response = Some(sent);
        outcome.near_misses = misses;
        return Reply::Send(resp);
    };
    let route = selected.route.full_name.clone();
    let answer = selected.response;
    tracing::debug!(route = %route, method = %view.method, path = %view.path, "matched");
    if let Some(operation) = &answer.openapi {
        let reply = operation.answer(&OasRequest {
            path: view.path,
            query: view.query(),
            headers: view.headers,
            body: view.body,
        });
        drop(view);
        return Box::pin(send_openapi(state, reply, route, outcome, head_only)).await;
    }
    let rendered = render(&selected, &view);
    drop(view);
    outcome.route = Some(route.clone());
    let rendered = match rendered {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(route = %route, "template error: {err}");
            return Reply::Send(respond::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("template of route {route} failed to render: {err}"),
            ));
        }
    };

    if let Some(switch) = &answer.switch {
        if head.version == actix_web::http::Version::HTTP_2 {
            // RFC 8441 (WebSocket over HTTP/2) is not offered: the client must use HTTP/1.1.
            return Reply::Send(upgrade::http11_required(switch.protocol()));
        }
        let resp = match &mut incoming.from {
            From::App { req, payload } => upgrade::switch(
                req,
                payload.take(),
                switch,
                answer,
                &rendered.headers,
                state,
            ),
            // Only requests without `Upgrade` come straight from their connection.
            From::Direct { .. } | From::Expect { .. } => {
                upgrade::upgrade_required(switch.protocol())
            }
        };
        return Reply::Send(resp);
    }
    if let Some(interim) = &answer.informational {
        if head.version == actix_web::http::Version::HTTP_11
            && let Some(ctl) = incoming.conn::<ConnControl>()
        {
            ctl.send_interim(interim);
        } else if let Some(stream) = incoming.h2() {
            stream.send_interim(interim);
        }
    }
    if let Some(delay) = answer
        .delay
        .as_deref()
        .map(|d| d.sample())
        .or_else(|| state.global_delay())
    {
        actix_web::rt::time::sleep(delay).await;
    }
    if let Some(to) = &answer.proxy {
        outcome.proxied = true;
        let body = match upload {
            Some(payload) => proxy::RequestBody::Streaming(payload),
            None => proxy::RequestBody::Read(outcome.body.clone()),
        };
        // WireMock's `recordings/snapshot` builds stubs from proxied answers: keep them.
        let keep = (state.admin_api == super::AdminApi::Wiremock)
            .then(|| state.journal.limits().max_body_bytes);
        let (resp, took, kept) = Box::pin(proxy::forward(to, head, state.scheme, body, keep)).await;
        outcome.upstream_time = took;
        outcome.upstream = kept;
        return Reply::Send(if head_only { closing(resp) } else { resp });
    }
    if let Some(fault) = answer.fault {
        outcome.fault = Some(fault);
        return Reply::Fault {
            fault,
            head: respond::head(answer, &rendered.headers).finish(),
            body: rendered.body,
        };
    }
    outcome.response = Some(SentResponse {
        headers: answer
            .headers
            .iter()
            .chain(&rendered.headers)
            .cloned()
            .collect(),
        body: rendered.body.clone(),
    });
    let resp = match &answer.disk {
        Some(disk) => respond::render_from_disk(answer, &rendered.headers, disk.clone()),
        None => respond::render(answer, &rendered.headers, rendered.body),
    };
    Reply::Send(if head_only {
        tracing::debug!(route = %route, "rejected at Expect: 100-continue");
        closing(resp)
    } else {
        resp
    })
}

/// Sends an OpenAPI operation's answer (status, media type and body decided for this
/// request by the compiled operation), after the global delay.
async fn send_openapi(
    state: &AppState,
    reply: OasReply,
    route: Arc<str>,
    outcome: &mut Outcome,
    head_only: bool,
) -> Reply {
    outcome.route = Some(route);
    if let Some(delay) = state.global_delay() {
        actix_web::rt::time::sleep(delay).await;
    }
    outcome.response = Some(SentResponse {
        headers: reply.headers.clone(),
        body: reply.body.clone(),
    });
    let mut builder = HttpResponse::build(reply.status);
    for header in reply.headers {
        builder.append_header(header);
    }
    let resp = builder.body(reply.body);
    Reply::Send(if head_only { closing(resp) } else { resp })
}

/// The route the request's head alone chooses, before its body is read (body matchers pass).
fn chosen_on_head<'s>(
    snapshot: &'s Snapshot,
    head: &RequestHead,
    query: &str,
) -> Option<&'s crate::scenario::compiled::CompiledRoute> {
    let mut view = RequestView::new(
        head.method.as_str(),
        head.uri.path(),
        query,
        &head.headers,
        &[],
    );
    view.head_only = true;
    snapshot.index.peek(&view)
}

/// Whether the request asks to switch protocols and its route (chosen on the head) does.
fn switches(snapshot: &Snapshot, head: &RequestHead, query: &str) -> bool {
    head.headers.contains_key(UPGRADE)
        && chosen_on_head(snapshot, head, query).is_some_and(|r| r.switches())
}

/// Whether the request goes to a proxy route that is chosen on its head alone (see
/// [`CompiledRoute::streams_upstream`](crate::scenario::compiled::CompiledRoute::streams_upstream)).
fn streams_upstream(snapshot: &Snapshot, head: &RequestHead, query: &str) -> bool {
    snapshot.index.any_streams_upstream()
        && chosen_on_head(snapshot, head, query).is_some_and(|r| r.streams_upstream())
}

/// Whether the head asks for a WebSocket: actix-http then treats everything after it as the
/// upgraded stream, never as a body (RFC 6455 handshakes have none), so it is not read.
fn opens_websocket(head: &RequestHead) -> bool {
    head.headers.get_all(UPGRADE).any(|v| {
        v.to_str()
            .is_ok_and(|s| s.trim().eq_ignore_ascii_case("websocket"))
    })
}

/// The selected answer's headers and body, rendered against the request when templated.
fn render(selected: &Selection<'_>, view: &RequestView<'_>) -> Result<Rendered, String> {
    let answer = selected.response;
    if let Some(hbs) = &answer.hbs {
        return render_hbs(selected, hbs, view);
    }
    if answer.template.is_none() {
        return Ok(Rendered {
            headers: Vec::new(),
            body: answer.body.clone(),
        });
    }
    let path_params = path_params(selected, view);
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

/// A WireMock-templated answer, rendered against WireMock's request model.
fn render_hbs(
    selected: &Selection<'_>,
    hbs: &HbsResponse,
    view: &RequestView<'_>,
) -> Result<Rendered, String> {
    let text = |v: &actix_web::http::header::HeaderValue| {
        String::from_utf8_lossy(v.as_bytes()).into_owned()
    };
    let headers: Vec<(String, String)> = view
        .headers
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), text(v)))
        .collect();
    let cookies: Vec<(String, String)> = crate::matching::cookies(view.headers)
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let path_params: Vec<(String, String)> = path_params(selected, view)
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap_or_default().to_owned()))
        .collect();
    let url = match view.raw_query {
        "" => view.path.to_owned(),
        q => format!("{}?{q}", view.path),
    };
    let host = view
        .headers
        .get(actix_web::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let base_url = format!("http://{host}");
    let body = String::from_utf8_lossy(view.body);
    let req = HbsRequest {
        url: &url,
        path: view.path,
        path_params: &path_params,
        query: view.query(),
        headers: &headers,
        cookies: &cookies,
        method: view.method,
        body: &body,
        base_url: &base_url,
    };
    respond::render_hbs(selected.response, hbs, &req)
}

/// The named groups of the route's path regex in the request's path (a literal path has
/// none), as template values.
fn path_params(
    selected: &Selection<'_>,
    view: &RequestView<'_>,
) -> serde_json::Map<String, serde_json::Value> {
    selected
        .route
        .matcher
        .path
        .as_ref()
        .and_then(|p| p.regex())
        .map(|re| captures(re, view.path))
        .unwrap_or_default()
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

/// Refuses a head over `--max-uri-bytes` (`414`) or `--max-header-bytes` (`431`), closing the
/// connection; `None` when it is within the limits.
pub fn refuse_head(state: &AppState, head: &RequestHead) -> Option<HttpResponse> {
    let (status, message) = state.head_limits.check(head)?;
    tracing::info!(method = %head.method, "{message}");
    spawn_push(record(
        state,
        head,
        Instant::now(),
        status,
        Outcome::default(),
    ));
    Some(closing(respond::error(status, message)))
}

/// Refuses a head whose declared body is over `--max-body-bytes` (`413`) before the body is
/// sent, closing the connection; `None` when it is within the limit.
pub(super) fn refuse_body(state: &AppState, head: &RequestHead) -> Option<HttpResponse> {
    let refused = body::refuse_declared(head, state.max_body_bytes)?;
    spawn_push(record(
        state,
        head,
        Instant::now(),
        refused.status,
        Outcome::default(),
    ));
    Some(closing(respond::error(refused.status, refused.message)))
}

/// Writes an exchange to the shared journal in the background (where the answer cannot
/// wait for it).
fn spawn_push(push: Option<Pending>) {
    if let Some(push) = push {
        actix_web::rt::spawn(push);
    }
}

/// Marks a response as the connection's last.
fn closing(mut resp: HttpResponse) -> HttpResponse {
    resp.head_mut().set_connection_type(ConnectionType::Close);
    resp
}

/// Journals one exchange: the only place requests are recorded. With a shared state store
/// the exchange also goes to the shared journal: the future returned writes it (awaited
/// before the answer leaves, so any replica's journal shows it once the client has it).
fn record(
    state: &AppState,
    head: &RequestHead,
    started: Instant,
    status: StatusCode,
    outcome: Outcome,
) -> Option<Pending> {
    let record = Record {
        method: head.method.clone(),
        version: head.version,
        uri: head.uri.clone(),
        headers: header_list(&head.headers),
        body: outcome.body,
        route: outcome.route,
        status: status.as_u16(),
        duration: started.elapsed(),
        near_misses: outcome.near_misses,
        fault: outcome.fault,
        proxied: outcome.proxied,
        upstream_time: outcome.upstream_time,
        response: outcome.response,
        upstream: outcome.upstream,
    };
    let limits = state.journal.limits();
    let shared = state
        .shared
        .as_ref()
        .and_then(|shared| Some((shared.clone(), SharedStore::encode(&record, limits)?)));
    state.journal.record(record);
    let (shared, encoded) = shared?;
    Some(Box::pin(async move { shared.push(encoded, limits).await }))
}

/// A shared journal write to await (boxed: the in-memory path's future does not grow by it).
type Pending = std::pin::Pin<Box<dyn Future<Output = ()>>>;

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
