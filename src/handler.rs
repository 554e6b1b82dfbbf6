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

use crate::app::AppState;
use crate::journal::Record;
use crate::matching::{NEAR_MISS_LIMIT, RequestView};
use crate::respond;

/// Answers a request from the scenarios.
pub async fn mock(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> HttpResponse {
    let started = Instant::now();
    let body = match read_body(&req, payload, state.max_body_bytes).await {
        Ok(body) => body,
        Err((resp, partial)) => {
            record(
                &state,
                &req,
                partial,
                None,
                resp.status(),
                started,
                Vec::new(),
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
    let (resp, route, misses) = match snapshot.index.find(&view) {
        Some(route) => {
            tracing::debug!(route = %route.full_name, method = %req.method(), path = %req.uri().path(), "matched");
            (
                respond::render(&route.response),
                Some(route.full_name.clone()),
                Vec::new(),
            )
        }
        None => {
            let misses = snapshot.index.near_misses(&view, NEAR_MISS_LIMIT);
            tracing::info!(method = %req.method(), path = %req.uri().path(), "no route matched");
            (
                respond::unmatched(view.method, view.path, &misses),
                None,
                misses,
            )
        }
    };
    drop(view);
    record(&state, &req, body, route, resp.status(), started, misses);
    resp
}

fn record(
    state: &AppState,
    req: &HttpRequest,
    body: Bytes,
    route: Option<String>,
    status: StatusCode,
    started: Instant,
    near_misses: Vec<crate::matching::NearMiss>,
) {
    state.journal.record(Record {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        query: req.uri().query().unwrap_or("").to_owned(),
        headers: req.headers().clone(),
        body,
        route,
        status: status.as_u16(),
        duration: started.elapsed(),
        near_misses,
    });
}

/// Reads the whole body, refusing more than `limit` bytes with 413 (and handing back what was
/// read, for the journal).
async fn read_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
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
    while let Some(chunk) = payload.next().await {
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
