//! Turning a compiled answer into what the client sees: the head, the body (paced when the
//! answer dribbles it), the response side of faults, and understudy's own answers (the
//! unmatched-request report, JSON errors).
//!
//! Everything costly (header parsing, body encoding, reason phrases) happened at load time;
//! answering is copying reference-counted bytes into a response head.
//!
//! | fault | on the wire |
//! |---|---|
//! | `connection_reset` | TCP RST, no bytes (the client's read fails with ECONNRESET) |
//! | `empty_response` | FIN, no bytes |
//! | `malformed_response` | bytes that are not HTTP (the response body, or a fixed line), then FIN |
//! | `truncated_body` | status line and headers with the full Content-Length, half the body, FIN |
//! | `no_response` | nothing; held open until the client closes its side (then FIN) or the server stops |
//!
//! Over HTTP/2 a fault breaks one stream or the connection ([`h2_fault`]):
//!
//! | fault | on the wire |
//! |---|---|
//! | `connection_reset` | `RST_STREAM` (`INTERNAL_ERROR`), no `HEADERS` |
//! | `empty_response` | `GOAWAY` (`NO_ERROR`), then the connection closes |
//! | `malformed_response`, `malformed_chunk` | an invalid frame (`DATA` on stream 0 carrying the body, or a fixed line), then close |
//! | `truncated_body` | `HEADERS` with the full `content-length`, half the body in `DATA`, `RST_STREAM` (`INTERNAL_ERROR`) |
//! | `no_response` | nothing on that stream; the connection's other streams are served |

use actix_http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;

use super::json;
use crate::matching::NearMiss;
use crate::scenario::CompiledResponse;
use crate::scenario::compiled::{Fault, HbsResponse};
use crate::scenario::handlebars::HbsRequest;
use crate::scenario::template::{BodyTemplate, Context};
use crate::wire::body::{Broken, Dribble};
use crate::wire::fault::ConnSocket;
use crate::wire::http2::StreamFault;

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

/// Renders a WireMock-templated answer (headers, then the body) for one request.
pub fn render_hbs(
    resp: &CompiledResponse,
    hbs: &HbsResponse,
    req: &HbsRequest<'_>,
) -> Result<Rendered, String> {
    let mut headers = Vec::with_capacity(hbs.headers.len());
    for (name, tmpl) in &hbs.headers {
        let text = tmpl.render(req, hbs.fuel)?;
        let v = HeaderValue::from_str(&text)
            .map_err(|_| format!("header {name} rendered to an invalid value {text:?}"))?;
        headers.push((name.clone(), v));
    }
    let body = match &hbs.body {
        None => resp.body.clone(),
        Some(tmpl) => Bytes::from(tmpl.render(req, hbs.fuel)?),
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
    match resp.chunks.as_deref() {
        Some(&(size, interval)) if !body.is_empty() => {
            builder.body(Dribble::new(body, size, interval))
        }
        _ => builder.body(body),
    }
}

/// Bytes read from disk at a time for a `file` body sent from disk.
const DISK_CHUNK: usize = 256 * 1024;

/// The HTTP response for an answer whose `file` body is sent from disk (too large to hold in
/// memory): read in chunks on the blocking pool as the client takes them, with the length
/// the file had when loaded (a file that shrank since breaks the body off).
pub fn render_from_disk(
    resp: &CompiledResponse,
    rendered: &[(HeaderName, HeaderValue)],
    disk: std::sync::Arc<crate::scenario::compiled::DiskBody>,
) -> HttpResponse {
    use std::io::Read as _;
    let len = disk.len;
    // The file stays open from chunk to chunk (moved to the blocking pool and back).
    let chunks =
        futures_util::stream::try_unfold((None::<std::fs::File>, 0u64), move |(file, at)| {
            let disk = disk.clone();
            async move {
                if at >= disk.len {
                    return Ok(None);
                }
                let want = usize::try_from(disk.len - at)
                    .unwrap_or(DISK_CHUNK)
                    .min(DISK_CHUNK);
                let (buf, file) = actix_web::web::block(move || -> std::io::Result<_> {
                    let mut file = match file {
                        Some(file) => file,
                        None => std::fs::File::open(&disk.path)?,
                    };
                    let mut buf = vec![0u8; want];
                    file.read_exact(&mut buf)?;
                    Ok((buf, file))
                })
                .await
                .map_err(|err| std::io::Error::other(err.to_string()))??;
                let next = at + buf.len() as u64;
                Ok::<_, std::io::Error>(Some((Bytes::from(buf), (Some(file), next))))
            }
        });
    head(resp, rendered).body(actix_web::body::SizedStream::new(len, Box::pin(chunks)))
}

/// Bytes sent by `malformed_response` when the response has no body of its own.
pub const MALFORMED: &[u8] = b"\x00\x01understudy: this is not an HTTP response\r\n\xff\xfe\r\n";

/// The response that carries out `fault` on the connection whose socket is `conn`. `head` is
/// the answer the fault breaks; its status and headers are used by `truncated_body`.
pub async fn fault(
    fault: Fault,
    conn: Option<&ConnSocket>,
    head: HttpResponse,
    body: Bytes,
) -> HttpResponse {
    // A body that fails before a byte is sent: the client sees the connection close.
    let cut = || Broken::new(1, Bytes::new());
    match fault {
        Fault::NoResponse => {
            // Held until the client gives up (then closed without a byte, so a client that
            // times out does not leave the server holding its socket) or the server stops.
            match conn {
                Some(conn) => conn.closed_by_peer().await,
                None => std::future::pending::<()>().await,
            }
            head.set_body(cut()).map_into_boxed_body()
        }
        Fault::ConnectionReset => {
            if let Some(conn) = conn {
                conn.reset_on_close();
            }
            head.set_body(cut()).map_into_boxed_body()
        }
        Fault::EmptyResponse => head.set_body(cut()).map_into_boxed_body(),
        Fault::MalformedResponse => {
            let bytes: &[u8] = if body.is_empty() { MALFORMED } else { &body };
            if let Some(conn) = conn {
                conn.write_raw(bytes).await;
            }
            head.set_body(cut()).map_into_boxed_body()
        }
        Fault::MalformedChunk => {
            let status = head.status();
            let head_line = format!(
                "HTTP/1.1 {} {}\r\nTransfer-Encoding: chunked\r\n\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Unknown")
            );
            if let Some(conn) = conn {
                conn.write_raw(head_line.as_bytes()).await;
                conn.write_raw(b"lskdu018973t09sylgasjkfg1][]'./.sdlv")
                    .await;
            }
            head.set_body(cut()).map_into_boxed_body()
        }
        Fault::TruncatedBody => {
            let half = body.slice(..body.len() / 2);
            head.set_body(Broken::truncated(body.len() as u64, half))
                .map_into_boxed_body()
        }
    }
}

/// The response that carries out `fault` on an HTTP/2 stream (see the module docs); `head`
/// is the answer it breaks.
pub async fn h2_fault(fault: Fault, head: HttpResponse, body: Bytes) -> HttpResponse {
    let marked = match fault {
        Fault::NoResponse => {
            // Silence on this stream until the client resets it or the connection ends.
            std::future::pending::<()>().await;
            StreamFault::Reset
        }
        Fault::ConnectionReset => StreamFault::Reset,
        Fault::EmptyResponse => StreamFault::GoAway,
        Fault::MalformedResponse => StreamFault::Malformed(if body.is_empty() {
            Bytes::from_static(MALFORMED)
        } else {
            body
        }),
        Fault::MalformedChunk => {
            StreamFault::Malformed(Bytes::from_static(b"lskdu018973t09sylgasjkfg1][]'./.sdlv"))
        }
        Fault::TruncatedBody => {
            let length = body.len() as u64;
            let mut resp = head
                .set_body(body.slice(..body.len() / 2))
                .map_into_boxed_body();
            resp.extensions_mut()
                .insert(StreamFault::Truncated { length });
            return resp;
        }
    };
    let mut resp = head.set_body(Bytes::new()).map_into_boxed_body();
    resp.extensions_mut().insert(marked);
    resp
}

/// The contract's 404 for a request no route matched, and the headers and body sent (for
/// the journal).
pub fn unmatched_sent(
    method: &str,
    path: &str,
    near_misses: &[NearMiss],
) -> (HttpResponse, crate::journal::SentResponse) {
    let body = serde_json::to_vec(&json::Unmatched {
        error: "no route matched",
        request: json::RequestLine { method, path },
        near_misses,
    })
    .map(Bytes::from)
    .unwrap_or_default();
    let headers = vec![
        (
            HeaderName::from_static(UNMATCHED_HEADER),
            HeaderValue::from_static("1"),
        ),
        (
            actix_http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
    ];
    let mut resp = HttpResponse::build(StatusCode::NOT_FOUND);
    for (name, value) in &headers {
        resp.insert_header((name.clone(), value.clone()));
    }
    let resp = resp.body(body.clone());
    (resp, crate::journal::SentResponse { headers, body })
}

/// The `503` a stateful request gets while the shared state store is away (`{"error": why}`).
pub fn unavailable(down: &crate::shared::Unavailable) -> HttpResponse {
    error(StatusCode::SERVICE_UNAVAILABLE, down.0.clone())
}

/// A JSON error answer from understudy itself (not from a scenario).
pub fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json::Error {
        error: message.into().into(),
    })
}
