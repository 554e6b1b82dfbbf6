//! Proxy answers: the request forwarded to an upstream server, and its answer sent back.
//!
//! `answer()` calls [`forward`] once a route whose answer is a `proxy` is selected (and its
//! delay, if any, has passed). The request goes upstream with its method, path (after
//! `stripPrefix`, behind the upstream URL's own path), raw query, headers and the body
//! `answer()` already read. On the way, both ways, the hop-by-hop headers of RFC 9110 §7.6.1
//! are removed (`Connection` and the headers it names, `Keep-Alive`, `Proxy-Connection`,
//! `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authenticate`,
//! `Proxy-Authorization`); the request's `Host` becomes the upstream's and
//! `X-Forwarded-For` / `-Proto` / `-Host` say where it came from; then `removeHeaders` and
//! `addHeaders` apply. The upstream's body is streamed into the response as it arrives (never
//! held whole in memory), with its `Content-Length` when it gave one.
//!
//! An upstream that cannot be reached answers `502`, one that has not answered its head within
//! `timeoutMs` answers `504`, both with understudy's JSON error body saying why.
//!
//! Each worker thread keeps its own client (and connection pool): an actix worker is one
//! thread with its own runtime, and a pooled connection belongs to the runtime that opened it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use actix_http::RequestHead;
use actix_http::header::{self, HeaderMap, HeaderName};
use actix_web::body::{BodyStream, SizedStream};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;

use super::respond;
use crate::scenario::compiled::Proxy;

thread_local! {
    static CLIENT: reqwest::Client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap_or_default();
}

/// The hop-by-hop headers (RFC 9110 §7.6.1), besides those a `Connection` header names.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// The request's path as forwarded: `stripPrefix` removed (only at a segment boundary),
/// behind the upstream's base path, with the raw query.
fn target(proxy: &Proxy, head: &RequestHead) -> String {
    let path = head.uri.path();
    let rest = match proxy.strip_prefix.as_deref() {
        Some(prefix) => match path.strip_prefix(prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => path,
        },
        None => path,
    };
    let mut full = format!("{}{rest}", proxy.base_path);
    if full.is_empty() {
        full.push('/');
    }
    let mut url = format!("{}://{}{full}", proxy.scheme, proxy.authority);
    if let Some(query) = head.uri.query() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Names a `Connection` header lists (its hop-by-hop options), lower-case.
fn connection_options(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &str, options: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || options.iter().any(|o| o == name)
}

/// The forwarded request's headers.
fn request_headers(
    proxy: &Proxy,
    head: &RequestHead,
    peer: Option<SocketAddr>,
    scheme: &str,
) -> reqwest::header::HeaderMap {
    let mut out = reqwest::header::HeaderMap::new();
    let options = connection_options(&head.headers);
    let mut forwarded_for = Vec::new();
    for (name, value) in head.headers.iter() {
        let lower = name.as_str();
        if is_hop_by_hop(lower, &options)
            || *name == header::HOST
            || *name == header::CONTENT_LENGTH
            || proxy.remove_headers.contains(name)
        {
            continue;
        }
        if lower == "x-forwarded-for" {
            forwarded_for.push(String::from_utf8_lossy(value.as_bytes()).into_owned());
            continue;
        }
        if lower == "x-forwarded-proto" || lower == "x-forwarded-host" {
            continue;
        }
        append(&mut out, lower, value.as_bytes());
    }
    if let Some(peer) = peer {
        forwarded_for.push(peer.ip().to_string());
    }
    let xff = HeaderName::from_static("x-forwarded-for");
    if !forwarded_for.is_empty() && !proxy.remove_headers.contains(&xff) {
        append(&mut out, xff.as_str(), forwarded_for.join(", ").as_bytes());
    }
    let xfp = HeaderName::from_static("x-forwarded-proto");
    if !proxy.remove_headers.contains(&xfp) {
        append(&mut out, xfp.as_str(), scheme.as_bytes());
    }
    let xfh = HeaderName::from_static("x-forwarded-host");
    if let Some(host) = head.headers.get(header::HOST)
        && !proxy.remove_headers.contains(&xfh)
    {
        append(&mut out, xfh.as_str(), host.as_bytes());
    }
    for (name, value) in &proxy.add_headers {
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_str().as_bytes()),
            reqwest::header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.insert(n, v);
        }
    }
    out
}

fn append(map: &mut reqwest::header::HeaderMap, name: &str, value: &[u8]) {
    if let (Ok(n), Ok(v)) = (
        reqwest::header::HeaderName::from_bytes(name.as_bytes()),
        reqwest::header::HeaderValue::from_bytes(value),
    ) {
        map.append(n, v);
    }
}

/// Forwards the request and streams the upstream's answer back; the time the upstream took
/// to send its answer's head, when it did.
pub(super) async fn forward(
    proxy: &Proxy,
    head: &RequestHead,
    scheme: &str,
    body: Bytes,
) -> (HttpResponse, Option<Duration>) {
    let url = target(proxy, head);
    let Ok(method) = reqwest::Method::from_bytes(head.method.as_str().as_bytes()) else {
        return failed(
            StatusCode::BAD_GATEWAY,
            format!("method {} cannot be forwarded", head.method),
        );
    };
    let headers = request_headers(proxy, head, head.peer_addr, scheme);
    let has_body = !body.is_empty()
        || head.headers.contains_key(header::CONTENT_LENGTH)
        || head.headers.contains_key(header::TRANSFER_ENCODING);
    let mut request = CLIENT.with(|c| c.request(method, &url)).headers(headers);
    if has_body {
        request = request.body(body);
    }
    let sent = Instant::now();
    let upstream = match actix_web::rt::time::timeout(proxy.timeout, request.send()).await {
        Ok(Ok(resp)) => resp,
        Ok(Err(err)) => {
            return failed(
                if err.is_timeout() {
                    StatusCode::GATEWAY_TIMEOUT
                } else {
                    StatusCode::BAD_GATEWAY
                },
                format!("the upstream {url} could not be reached: {}", reason(&err)),
            );
        }
        Err(_) => {
            return failed(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the upstream {url} did not answer within {} ms (timeoutMs)",
                    proxy.timeout.as_millis()
                ),
            );
        }
    };
    let took = sent.elapsed();
    let status =
        StatusCode::from_u16(upstream.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut builder = HttpResponseBuilder::new(status);
    let options: Vec<String> = upstream
        .headers()
        .get_all(reqwest::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    let mut length = None;
    for (name, value) in upstream.headers() {
        let lower = name.as_str();
        if lower == "content-length" {
            length = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            continue;
        }
        if is_hop_by_hop(lower, &options) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(lower.as_bytes()),
            header::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            builder.append_header((n, v));
        }
    }
    let stream = upstream.bytes_stream();
    let response = match length {
        Some(len) => builder.body(SizedStream::new(len, stream)),
        None => builder.body(BodyStream::new(stream)),
    };
    (response, Some(took))
}

/// The error and its causes, innermost last (`connection refused`, `dns error: …`).
fn reason(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A `502`/`504` with the reason (the upstream sent no answer).
fn failed(status: StatusCode, message: String) -> (HttpResponse, Option<Duration>) {
    tracing::info!(status = status.as_u16(), "proxy: {message}");
    (respond::error(status, message), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names_include_connection_options() {
        let options = vec!["x-secret-hop".to_owned()];
        assert!(is_hop_by_hop("x-secret-hop", &options));
        assert!(is_hop_by_hop("transfer-encoding", &options));
        assert!(!is_hop_by_hop("content-type", &options));
    }
}
