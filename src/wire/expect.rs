//! The `Expect: 100-continue` decision, made on the request head before any body is read.
//!
//! actix-http calls this hook for HTTP/1.1 requests carrying `Expect: 100-continue`; `Ok`
//! makes it write `100 Continue` and go on to the app, `Err` makes the error the final answer
//! without reading the body. The route is chosen on the head alone (body matchers skipped):
//!
//! - a head over `--max-uri-bytes` or `--max-header-bytes`: `414` or `431` at once;
//! - a declared body over `--max-body-bytes`: `413` at once;
//! - `continue` (default) or no route: `100 Continue` at once;
//! - `{"continueAfterMs": N}`: `100 Continue` after N ms;
//! - `ignore`: no `100` at all (the connection seam swallows it); the client sends its body
//!   after its own timeout;
//! - `reject`: the route's response is the final answer, sent without `100` and without
//!   reading the body; actix then closes the connection. The request is journaled here, since
//!   it never reaches the app.
//!
//! A final answer from here that closes the connection is reported to the connection seam,
//! which then hands actix nothing more of the connection (see [`super::io`]).

use std::time::Instant;

use actix_http::body::BoxBody;
use actix_http::{HttpMessage as _, Request, Response};
use actix_web::web;

use super::io::ConnControl;
use super::limits::HeadLimits;
use crate::http::AppState;
use crate::http::respond;
use crate::journal::Record;
use crate::matching::RequestView;
use crate::scenario::compiled::ExpectRule;

/// Decides what happens to a request that asked for `100 Continue`; a final answer that
/// closes the connection closes it for the connection seam as well (nothing after it is read).
pub async fn decide(
    state: web::Data<AppState>,
    req: Request,
    limits: HeadLimits,
) -> Result<Request, Response<BoxBody>> {
    let ctl = req.conn_data::<ConnControl>().cloned();
    let decided = choose(state, req, limits).await;
    if let (Err(resp), Some(ctl)) = (&decided, ctl) {
        ctl.answered(resp.head());
    }
    decided
}

/// The decision itself.
async fn choose(
    state: web::Data<AppState>,
    req: Request,
    limits: HeadLimits,
) -> Result<Request, Response<BoxBody>> {
    let started = Instant::now();
    // The head has arrived: the seam's head timeout stops while the decision is made.
    let _busy = req.conn_data::<ConnControl>().map(ConnControl::busy);
    if let Some(resp) = limits.refuse(&state, &req) {
        return Err(resp);
    }
    let snapshot = state.store.snapshot();
    let query = req.uri().query().unwrap_or("").to_owned();
    let rule = {
        let mut view = RequestView::new(
            req.method().as_str(),
            req.uri().path(),
            &query,
            req.headers(),
            &[],
        );
        view.head_only = true;
        snapshot.index.peek(&view).map(|r| r.expect)
    };
    // A body the server would refuse anyway is refused before the client sends it.
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > state.max_body_bytes) {
        let mut resp = respond::error(
            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body exceeds the limit of {} bytes (--max-body-bytes)",
                state.max_body_bytes
            ),
        );
        resp.head_mut()
            .set_connection_type(actix_http::ConnectionType::Close);
        state
            .journal
            .record(Record::of(req.head(), bytes::Bytes::new(), started).answered(None, 413));
        return Err(resp.into());
    }
    match rule {
        None | Some(ExpectRule::Continue) => Ok(req),
        Some(ExpectRule::After(wait)) => {
            actix_web::rt::time::sleep(wait).await;
            Ok(req)
        }
        Some(ExpectRule::Ignore) => {
            if let Some(ctl) = req.conn_data::<ConnControl>() {
                ctl.swallow_continue();
            }
            Ok(req)
        }
        Some(ExpectRule::Reject) => Err(reject(&state, &snapshot, &req, &query, started)),
    }
}

/// Takes the route's answer (advancing its script and state like any answer) and sends it as
/// the final response.
fn reject(
    state: &AppState,
    snapshot: &crate::store::Snapshot,
    req: &Request,
    query: &str,
    started: Instant,
) -> Response<BoxBody> {
    let mut view = RequestView::new(
        req.method().as_str(),
        req.uri().path(),
        query,
        req.headers(),
        &[],
    );
    view.head_only = true;
    let Some(selected) = snapshot.index.select(&view) else {
        // The state moved between the peek and now: continue is the safe answer's opposite,
        // so refuse plainly rather than read a body no route wants.
        return respond::error(
            actix_web::http::StatusCode::EXPECTATION_FAILED,
            "no route accepts this request now",
        )
        .into();
    };
    let answer = selected.response;
    let ctx = crate::scenario::template::Context {
        method: view.method,
        path: view.path,
        query: view.query(),
        headers: view.headers,
        body: &[],
        json: None,
        path_params: Default::default(),
        state: selected.state_before.clone().unwrap_or_default(),
    };
    let rendered = respond::render_template(answer, &ctx).unwrap_or_else(|err| {
        tracing::error!(route = %selected.route.full_name, "template error: {err}");
        respond::Rendered {
            headers: Vec::new(),
            body: answer.body.clone(),
        }
    });
    let mut resp = respond::render(answer, &rendered.headers, rendered.body);
    resp.head_mut()
        .set_connection_type(actix_http::ConnectionType::Close);
    state.journal.record(
        Record::of(req.head(), bytes::Bytes::new(), started).answered(
            Some(selected.route.full_name.clone()),
            resp.status().as_u16(),
        ),
    );
    tracing::debug!(route = %selected.route.full_name, "rejected at Expect: 100-continue");
    resp.into()
}
