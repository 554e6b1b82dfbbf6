//! Limits on what a client may send, enforced before any route is tried.
//!
//! actix-http already refuses a request head it cannot buffer (over [`PARSER_MAX_HEAD`] bytes
//! or more than [`PARSER_MAX_HEADERS`] header lines: `431`), a malformed request line or chunk
//! (`400`) and, for the first request of a connection, a head that takes too long (`408`).
//! This module adds understudy's own, configurable limits on top:
//!
//! - the request target (`--max-uri-bytes`): `414 URI Too Long`;
//! - the header fields (`--max-header-bytes`): `431 Request Header Fields Too Large`;
//!
//! both measured here ([`HeadLimits::check`]) and refused by the HTTP layer at once (and at the
//! `Expect: 100-continue` decision, before any `100`), with the connection closed. It also
//! wraps the app so the connection seam knows when a request is being served
//! ([`ConnControl::busy`]): the seam's head timeout (`--header-timeout-ms`) runs only between
//! requests, on every request of a keep-alive connection; and whether the request or its
//! answer closes the connection ([`ConnControl::serving`], [`ConnControl::answered`]): nothing
//! after it is read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{Request, RequestHead, Response, StatusCode};
use actix_service::{Service, ServiceFactory, apply_fn_factory};
use bytes::Bytes;

use super::io::{Busy, ConnControl};

/// Default `--header-timeout-ms`: time a client has to send a complete request head.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default `--max-connections` (over all workers).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;
/// Default `--max-header-bytes`.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 64 * 1024;
/// Default `--max-uri-bytes`.
pub const DEFAULT_MAX_URI_BYTES: usize = 16 * 1024;
/// The HTTP parser's own bound on a request head (request line and headers): a larger head
/// gets `431` whatever `--max-header-bytes` says.
pub const PARSER_MAX_HEAD: usize = 128 * 1024;
/// The HTTP parser's own bound on header lines in one request (more get `431`).
pub const PARSER_MAX_HEADERS: usize = 96;
/// The longest request target the parser accepts at all (longer gets `400`).
pub const PARSER_MAX_URI: usize = u16::MAX as usize - 1;
/// Default `--ws-max-message-bytes`: the largest WebSocket message (and frame) accepted from
/// a client. A larger one closes the connection with status 1009 (message too big).
pub const DEFAULT_WS_MAX_MESSAGE_BYTES: usize = 1 << 20;
/// How long an idle HTTP/1.1 keep-alive connection stays open between requests. Longer than a
/// test's pauses between steps: client pools (Java's `HttpClient`, Apache's) reuse a
/// connection without checking it first and do not send a `POST` again when the server closed
/// it meanwhile. Jetty, under WireMock, waits as long.
pub const KEEP_ALIVE: Duration = Duration::from_secs(30);
/// How long an HTTP/2 connection without open streams stays open. It ends with `GOAWAY`,
/// which tells the client not to use it again, so it can be short.
pub const H2_IDLE: Duration = Duration::from_secs(5);
/// How long a connection closed with an unread request body keeps draining it, so the client
/// reads the answer (`413`, `431`) instead of a reset.
pub const LINGER: Duration = Duration::from_secs(1);

/// Limits on a request head.
#[derive(Debug, Clone, Copy)]
pub struct HeadLimits {
    /// Most bytes in the request target (path and query, as sent).
    pub max_uri_bytes: usize,
    /// Most bytes of header fields: each line's name, value and 4 bytes (`: ` and CRLF).
    pub max_header_bytes: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits {
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        }
    }
}

impl HeadLimits {
    /// The refusal for a head over a limit: its status and message.
    pub fn check(&self, head: &RequestHead) -> Option<(StatusCode, String)> {
        let uri = &head.uri;
        let target = uri.scheme_str().map_or(0, |s| s.len() + 3)
            + uri.authority().map_or(0, |a| a.as_str().len())
            + uri.path_and_query().map_or(0, |pq| pq.as_str().len());
        if target > self.max_uri_bytes {
            return Some((
                StatusCode::URI_TOO_LONG,
                format!(
                    "request target of {target} bytes exceeds the limit of {} bytes (--max-uri-bytes)",
                    self.max_uri_bytes
                ),
            ));
        }
        let fields: usize = head
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len() + 4)
            .sum();
        if fields > self.max_header_bytes {
            return Some((
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "request header fields of {fields} bytes exceed the limit of {} bytes (--max-header-bytes)",
                    self.max_header_bytes
                ),
            ));
        }
        None
    }
}

/// Wraps the app: marks the connection busy from the moment a request arrives until its
/// response body is done (or dropped).
pub fn guard<F, E>(
    app: F,
) -> impl ServiceFactory<Request, Config = (), Response = Response<BoxBody>, Error = E, InitError = ()>
where
    F: ServiceFactory<
            Request,
            Config = (),
            Response = Response<BoxBody>,
            Error = E,
            InitError = (),
        >,
    F::Service: 'static,
    E: 'static,
{
    apply_fn_factory(app, move |req: Request, srv: &F::Service| -> Served<E> {
        let busy = req
            .conn_data::<ConnControl>()
            .map(|c| c.serving(req.head()));
        let call = srv.call(req);
        Box::pin(async move {
            let resp = call.await?;
            if let Some(busy) = &busy {
                busy.answered(resp.head());
            }
            Ok(match busy {
                Some(busy) => resp.map_body(|_, body| BoxBody::new(Tracked { body, _busy: busy })),
                None => resp,
            })
        })
    })
}

/// The future of one request through [`guard`].
type Served<E> = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, E>>>>;

/// A response body that keeps its connection marked busy until it is done or dropped.
struct Tracked {
    body: BoxBody,
    _busy: Busy,
}

impl MessageBody for Tracked {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}
