//! Turning a compiled response into an HTTP response, and the unmatched-request report.
//!
//! Everything costly (header parsing, body encoding, reason phrases) happened at load time;
//! answering is copying reference-counted bytes into a response head.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::json;

use crate::matching::NearMiss;
use crate::scenario::CompiledResponse;

/// Header marking understudy's own 404 for a request no route matched.
pub const UNMATCHED_HEADER: &str = "x-understudy-unmatched";

/// The HTTP response for a compiled answer. HEAD requests get the same head; actix-http
/// drops the body for them and keeps its Content-Length.
pub fn render(resp: &CompiledResponse) -> HttpResponse {
    let mut builder = HttpResponse::build(resp.status);
    builder.reason(resp.reason);
    for (name, value) in &resp.headers {
        builder.append_header((name.clone(), value.clone()));
    }
    match resp.connection {
        Some(actix_http::ConnectionType::Close) => {
            builder.force_close();
        }
        Some(_) => {
            builder.keep_alive();
        }
        None => {}
    }
    builder.body(resp.body.clone())
}

/// The contract's 404 for a request no route matched.
pub fn unmatched(method: &str, path: &str, near_misses: &[NearMiss]) -> HttpResponse {
    HttpResponse::build(StatusCode::NOT_FOUND)
        .insert_header((UNMATCHED_HEADER, "1"))
        .json(json!({
            "error": "no route matched",
            "request": { "method": method, "path": path },
            "nearMisses": near_misses,
        }))
}

/// A JSON error answer from understudy itself (not from a scenario).
pub fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}
