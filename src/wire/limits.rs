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
//! both answered at once (and at the `Expect: 100-continue` decision, before any `100`), with
//! the connection closed. It also wraps the app so the connection seam knows when a request
//! is being served ([`ConnControl::busy`]): the seam's head timeout (`--header-timeout-ms`)
//! runs only between requests, on every request of a keep-alive connection; and whether the
//! request or its answer closes the connection ([`ConnControl::serving`],
//! [`ConnControl::answered`]): nothing after it is read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::{Request, RequestHead, Response, StatusCode};
use actix_service::{Service, ServiceFactory, apply_fn_factory};
use actix_web::dev::ServiceResponse;
use actix_web::web;
use bytes::Bytes;

use super::io::{Busy, ConnControl};
use crate::http::AppState;
use crate::http::respond;
use crate::journal::Record;

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
/// How long an idle keep-alive connection stays open between requests.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);
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

    /// Refuses `req` when its head is over a limit: journals it and returns the answer (JSON
    /// error, connection closed).
    pub fn refuse(&self, state: &AppState, req: &Request) -> Option<Response<BoxBody>> {
        let started = Instant::now();
        let (status, message) = self.check(req.head())?;
        tracing::info!(method = %req.method(), "{message}");
        state
            .journal
            .record(Record::of(req.head(), Bytes::new(), started).answered(None, status.as_u16()));
        let mut resp = respond::error(status, message);
        resp.head_mut()
            .set_connection_type(actix_http::ConnectionType::Close);
        Some(resp.into())
    }
}

/// Wraps the app: refuses heads over `limits`, and marks the connection busy from the moment
/// a request arrives until its response body is done (or dropped).
pub fn guard<F>(
    app: F,
    state: web::Data<AppState>,
    limits: HeadLimits,
) -> impl ServiceFactory<
    Request,
    Config = (),
    Response = Response<BoxBody>,
    Error = actix_web::Error,
    InitError = (),
>
where
    F: ServiceFactory<
            Request,
            Config = (),
            Response = ServiceResponse<BoxBody>,
            Error = actix_web::Error,
            InitError = (),
        >,
    F::Service: 'static,
{
    apply_fn_factory(app, move |req: Request, srv: &F::Service| -> Served {
        let busy = req
            .conn_data::<ConnControl>()
            .map(|c| c.serving(req.head()));
        let refused = limits.refuse(&state, &req);
        let call = refused.is_none().then(|| srv.call(req));
        Box::pin(async move {
            let resp = match (refused, call) {
                (Some(resp), _) => resp,
                (None, Some(call)) => Response::from(call.await?),
                (None, None) => unreachable!("a request is either refused or served"),
            };
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
type Served = Pin<Box<dyn Future<Output = Result<Response<BoxBody>, actix_web::Error>>>>;

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
