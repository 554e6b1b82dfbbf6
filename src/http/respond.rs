//! Turning a compiled response into an HTTP response, and the unmatched-request report.
//!
//! Everything costly (header parsing, body encoding, reason phrases) happened at load time;
//! answering is copying reference-counted bytes into a response head.

use actix_http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;
use serde_json::json;

use crate::matching::NearMiss;
use crate::scenario::CompiledResponse;
use crate::scenario::template::{BodyTemplate, Context};
use crate::wire::body::Dribble;

/// Header marking understudy's own 404 for a request no route matched.
pub const UNMATCHED_HEADER: &str = "x-understudy-unmatched";

/// Headers and body of a templated answer, rendered for one request.
pub struct Rendered {
    /// Configured headers, rendered.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body, rendered (or the static body when only headers are templated).
    pub body: Bytes,
}

/// Renders a templated answer for the request described by `ctx`.
pub fn render_template(resp: &CompiledResponse, ctx: &Context<'_>) -> Result<Rendered, String> {
    let Some(t) = &resp.template else {
        return Ok(Rendered {
            headers: Vec::new(),
            body: resp.body.clone(),
        });
    };
    let value = ctx.to_value();
    let mut headers = Vec::with_capacity(t.headers.len());
    for (name, tmpl) in &t.headers {
        let text = t.render(tmpl, &value)?;
        let v = HeaderValue::from_str(&text)
            .map_err(|_| format!("header {name} rendered to an invalid value {text:?}"))?;
        headers.push((name.clone(), v));
    }
    let body = match &t.body {
        None => resp.body.clone(),
        Some(BodyTemplate::Text(tmpl)) => Bytes::from(t.render(tmpl, &value)?),
        Some(BodyTemplate::Json(tree)) => {
            Bytes::from(serde_json::to_vec(&t.render_json(tree, &value)?).unwrap_or_default())
        }
    };
    Ok(Rendered { headers, body })
}

/// The head of an answer: status line, static and rendered headers, connection handling.
pub fn head(
    resp: &CompiledResponse,
    rendered: &[(HeaderName, HeaderValue)],
) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(resp.status);
    builder.reason(resp.reason);
    for (name, value) in resp.headers.iter().chain(rendered) {
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
    builder
}

/// The HTTP response for an answer. HEAD requests get the same head; actix-http drops the
/// body for them and keeps its Content-Length.
pub fn render(
    resp: &CompiledResponse,
    rendered: &[(HeaderName, HeaderValue)],
    body: Bytes,
) -> HttpResponse {
    let mut builder = head(resp, rendered);
    match resp.chunks {
        Some((size, interval)) if !body.is_empty() => {
            builder.body(Dribble::new(body, size, interval))
        }
        _ => builder.body(body),
    }
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
