//! HTTP/2: one connection's streams, served by the same app as HTTP/1.1.
//!
//! actix-http's own HTTP/2 dispatcher gives a handler no way to send an interim `HEADERS`
//! frame, reset one stream or end the connection with `GOAWAY`, so understudy drives the `h2`
//! crate itself. Each stream's request becomes an actix [`Request`] (version `HTTP/2.0`,
//! `host` taken from `:authority` when the client sent none, `cookie` fields joined) and goes
//! through the one app every HTTP/1.1 request goes to: the same matching, the same journal
//! write. Its answer goes back as `HEADERS` and `DATA` frames, paced as the body yields its
//! chunks.
//!
//! What the HTTP layer decides and this module carries out, per stream, through the
//! [`H2Stream`] handle in the request's extensions and a [`StreamFault`] in the response's:
//!
//! - interim responses (`informational`, `100 Continue`): `HEADERS` frames before the final
//!   one;
//! - faults: `RST_STREAM` (`connection_reset`), `GOAWAY` then close (`empty_response`),
//!   invalid frame bytes then close (`malformed_response`), `DATA` then `RST_STREAM`
//!   (`truncated_body`); a stream whose answer never comes (`no_response`) stays silent while
//!   the others are served.
//!
//! Limits: concurrent streams, the header list size (`--max-header-bytes`), resets of streams
//! not yet accepted (the `h2` crate's guards against rapid reset and CONTINUATION floods), a
//! bound on streams a client resets after they were accepted, the time the connection preface
//! may take and how long a connection without streams stays open. Each stream is dropped as
//! soon as its client resets it.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::net::SocketAddr;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::error::PayloadError;
use actix_http::header::{self as ah, HeaderName, HeaderValue};
use actix_http::{HttpMessage as _, Method, Payload, Request, Response, Version};
use actix_service::Service;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use h2::server::SendResponse;
use h2::{Reason, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};

use super::limits;

/// The connection preface a client speaking HTTP/2 with prior knowledge opens with.
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Most streams a client may have open at once on one connection.
pub const MAX_CONCURRENT_STREAMS: u32 = 256;

/// Streams a client may reset after they were accepted, in one second, before the connection
/// ends with `GOAWAY` (`ENHANCE_YOUR_CALM`).
const MAX_RESETS_PER_SECOND: u32 = 1_000;

/// Most bytes read and dropped from a client after the connection's last frame.
const LINGER_MAX_BYTES: usize = 256 * 1024;

/// Flow-control windows: per stream, and for the whole connection.
const STREAM_WINDOW: u32 = 256 * 1024;
const CONNECTION_WINDOW: u32 = 1024 * 1024;

/// How long a truncated answer's `DATA` has to leave before its `RST_STREAM`.
const FLUSH_PAUSE: Duration = Duration::from_millis(25);

/// Most bytes of an invalid frame's payload (`malformed_response`).
const MALFORMED_MAX: usize = 16 * 1024;

/// Limits of an HTTP/2 connection.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// `SETTINGS_MAX_HEADER_LIST_SIZE` (`--max-header-bytes`).
    pub max_header_list_size: u32,
    /// Time the client has to send the connection preface (`--header-timeout-ms`; zero: none).
    pub preface_timeout: Duration,
    /// How long a connection without open streams stays open.
    pub idle_timeout: Duration,
}

/// A fault the HTTP layer chose for a stream's answer, carried in the response's extensions.
#[derive(Debug, Clone)]
pub enum StreamFault {
    /// `RST_STREAM` (`INTERNAL_ERROR`) instead of an answer.
    Reset,
    /// `GOAWAY` (`NO_ERROR`) for the whole connection, then close.
    GoAway,
    /// These bytes in an invalid frame (`DATA` on stream 0), then close.
    Malformed(Bytes),
    /// The head with `content-length: length`, the response's body, then `RST_STREAM`
    /// (`INTERNAL_ERROR`).
    Truncated {
        /// The full length the head announces.
        length: u64,
    },
}

/// One stream's handle, in its request's extensions: how the HTTP layer reaches the stream.
#[derive(Clone)]
pub struct H2Stream(Rc<StreamShared>);

struct StreamShared {
    respond: RefCell<SendResponse<Bytes>>,
    /// The route's `Expect: 100-continue` mode is `ignore`: no `100` goes out.
    skip_continue: Cell<bool>,
}

impl H2Stream {
    /// Sends interim responses as `HEADERS` frames. `encoded` holds them as HTTP/1.1 heads
    /// (`HTTP/1.1 103 Early Hints\r\nlink: …\r\n\r\n`, one after another), as scenarios
    /// compile them; reason phrases are dropped (HTTP/2 has none).
    pub fn send_interim(&self, encoded: &[u8]) {
        let mut respond = self.0.respond.borrow_mut();
        for head in interim_heads(encoded) {
            if let Err(err) = respond.send_informational(head) {
                tracing::debug!("interim response not sent: {err}");
                return;
            }
        }
    }

    /// No `100 Continue` is sent for this stream (the route ignores `Expect`).
    pub fn skip_continue(&self) {
        self.0.skip_continue.set(true);
    }
}

/// Parses interim heads encoded as HTTP/1.1 into HTTP/2 responses.
fn interim_heads(mut encoded: &[u8]) -> Vec<http::Response<()>> {
    let mut out = Vec::new();
    while let Some(end) = memchr::memmem::find(encoded, b"\r\n\r\n") {
        let head = &encoded[..end];
        encoded = &encoded[end + 4..];
        let mut lines = head
            .split(|&b| b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        let status = lines
            .next()
            .and_then(|line| line.split(|&b| b == b' ').nth(1))
            .and_then(|code| http::StatusCode::from_bytes(code).ok());
        let Some(status) = status else { continue };
        let mut resp = http::Response::new(());
        *resp.status_mut() = status;
        for line in lines {
            let Some(colon) = memchr::memchr(b':', line) else {
                continue;
            };
            let name = http::HeaderName::from_bytes(&line[..colon]);
            let value = http::HeaderValue::from_bytes(line[colon + 1..].trim_ascii());
            if let (Ok(name), Ok(value)) = (name, value) {
                resp.headers_mut().append(name, value);
            }
        }
        out.push(resp);
    }
    out
}

/// What a stream asked of its connection.
enum ConnAction {
    GoAway,
    Malformed(Bytes),
}

/// What a stream's task ended with.
enum StreamEnd {
    Done,
    /// The client reset the stream before its answer was complete.
    ResetByClient,
}

/// Serves one HTTP/2 connection (its preface not yet read) until it closes: each stream goes
/// to `app`, each `Expect: 100-continue` to `expect` first.
pub async fn serve<T, S, X, XF>(
    io: T,
    peer: Option<SocketAddr>,
    app: Rc<S>,
    expect: X,
    settings: Settings,
) where
    T: AsyncRead + AsyncWrite + Unpin + 'static,
    S: Service<Request, Response = Response<BoxBody>> + 'static,
    S::Error: Into<Response<BoxBody>>,
    X: Fn(Request) -> XF + Clone + 'static,
    XF: Future<Output = Result<Request, Response<BoxBody>>> + 'static,
{
    let io = SharedIo(Rc::new(RefCell::new(io)));
    let mut builder = h2::server::Builder::new();
    builder
        .max_concurrent_streams(MAX_CONCURRENT_STREAMS)
        .max_header_list_size(settings.max_header_list_size)
        .initial_window_size(STREAM_WINDOW)
        .initial_connection_window_size(CONNECTION_WINDOW)
        .max_pending_accept_reset_streams(64)
        .max_local_error_reset_streams(Some(256))
        .max_send_buffer_size(256 * 1024);
    let handshake = builder.handshake::<_, Bytes>(io.clone());
    let conn = if settings.preface_timeout.is_zero() {
        handshake.await
    } else {
        match actix_rt::time::timeout(settings.preface_timeout, handshake).await {
            Ok(conn) => conn,
            Err(_) => {
                tracing::debug!("HTTP/2 preface not received in time");
                return;
            }
        }
    };
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(err) => {
            tracing::debug!("HTTP/2 handshake failed: {err}");
            return;
        }
    };
    let action: Rc<RefCell<Option<ConnAction>>> = Rc::default();
    let mut streams: FuturesUnordered<Pin<Box<dyn Future<Output = StreamEnd>>>> =
        FuturesUnordered::new();
    let mut idle = Box::pin(actix_rt::time::sleep(settings.idle_timeout));
    let mut resets = (Instant::now(), 0u32);
    let mut busy = false;
    let mut deferred = false;

    let ended = poll_fn(|cx| {
        loop {
            // Every stream that has arrived, then every stream that can move; then the
            // connection again, which also writes out what the streams queued.
            let mut accepted = false;
            loop {
                match conn.poll_accept(cx) {
                    Poll::Ready(Some(Ok((req, respond)))) => {
                        accepted = true;
                        streams.push(Box::pin(stream(
                            req,
                            respond,
                            peer,
                            app.clone(),
                            expect.clone(),
                            action.clone(),
                        )));
                    }
                    Poll::Ready(Some(Err(err))) => {
                        tracing::debug!("HTTP/2 connection error: {err}");
                        return Poll::Ready(Some(Reason::NO_ERROR));
                    }
                    Poll::Ready(None) => return Poll::Ready(Some(Reason::NO_ERROR)),
                    Poll::Pending => break,
                }
            }
            let mut finished = false;
            while let Poll::Ready(Some(end)) = streams.poll_next_unpin(cx) {
                finished = true;
                if let StreamEnd::ResetByClient = end {
                    let now = Instant::now();
                    if now.duration_since(resets.0) > Duration::from_secs(1) {
                        resets = (now, 0);
                    }
                    resets.1 += 1;
                    if resets.1 > MAX_RESETS_PER_SECOND {
                        tracing::info!(?peer, "HTTP/2 client reset too many streams");
                        return Poll::Ready(Some(Reason::ENHANCE_YOUR_CALM));
                    }
                }
            }
            if action.borrow().is_some() {
                return Poll::Ready(None);
            }
            if accepted || finished {
                if !deferred {
                    // The answers are queued; they are written when the connection is
                    // polled next. Let the worker's other connections read and answer their
                    // streams first: the answers then leave in one burst, and a client
                    // reading many connections finds the next ones there when it is done
                    // with this one, rather than sleeping between them.
                    deferred = true;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            deferred = false;
            if !streams.is_empty() {
                busy = true;
            } else if std::mem::take(&mut busy) {
                // The last stream is done: the idle time starts now.
                idle.as_mut()
                    .reset(actix_rt::time::Instant::now() + settings.idle_timeout);
                let _ = idle.as_mut().poll(cx);
            } else if idle.as_mut().poll(cx).is_ready() {
                tracing::debug!("idle HTTP/2 connection closed");
                conn.graceful_shutdown();
                return Poll::Ready(None);
            }
            return Poll::Pending;
        }
    })
    .await;

    let action = action.borrow_mut().take();
    let mut io = io;
    let closing = match (ended, action) {
        (_, Some(ConnAction::Malformed(bytes))) => {
            // Whatever h2 wrote is out; these bytes go after it, past the framing.
            drop(streams);
            drop(conn);
            let mut frame = BytesMut::with_capacity(9 + bytes.len());
            let len = bytes.len().min(MALFORMED_MAX);
            frame.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
            // Type DATA, no flags, stream 0: a connection error for any HTTP/2 client.
            frame.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
            frame.extend_from_slice(&bytes[..len]);
            let _ = io.write_all(&frame).await;
            let _ = io.flush().await;
            let _ = io.shutdown().await;
            true
        }
        (Some(reason), _) if reason != Reason::NO_ERROR => {
            drop(streams);
            conn.abrupt_shutdown(reason);
            close(&mut conn).await;
            true
        }
        (_, Some(ConnAction::GoAway)) => {
            drop(streams);
            conn.abrupt_shutdown(Reason::NO_ERROR);
            close(&mut conn).await;
            true
        }
        (None, None) => {
            // Idle: the graceful GOAWAY is on its way.
            drop(streams);
            close(&mut conn).await;
            true
        }
        (Some(_), None) => false,
    };
    if closing {
        linger(&mut io).await;
    }
}

/// After the last frame and the FIN: reads and drops what the client still sends (its
/// `SETTINGS` acknowledgement, `WINDOW_UPDATE`s, frames already on their way) until it closes
/// too, for at most [`limits::LINGER`] and [`LINGER_MAX_BYTES`]. Closing a socket with unread
/// bytes sends a TCP RST, and a client that gets the RST before it has read the `GOAWAY` (or
/// whose next write fails first) sees a reset where the server said goodbye.
async fn linger<T: AsyncRead + Unpin>(io: &mut T) {
    let drain = async {
        let mut buf = [0u8; 4096];
        let mut left = LINGER_MAX_BYTES;
        while left > 0 {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = actix_rt::time::timeout(limits::LINGER, drain).await;
}

/// Drives a connection that is shutting down until it is closed (at most a second).
async fn close<T: AsyncRead + AsyncWrite + Unpin>(conn: &mut h2::server::Connection<T, Bytes>) {
    let _ = actix_rt::time::timeout(
        Duration::from_secs(1),
        poll_fn(|cx| {
            // Streams still open are refused as the connection goes.
            while let Poll::Ready(Some(Ok((_, mut respond)))) = conn.poll_accept(cx) {
                respond.send_reset(Reason::REFUSED_STREAM);
            }
            conn.poll_closed(cx)
        }),
    )
    .await;
}

/// Serves one stream: its request through the app (and the `Expect` decision first), its
/// answer as frames. Ends early when the client resets it.
async fn stream<S, X, XF>(
    req: http::Request<RecvStream>,
    respond: SendResponse<Bytes>,
    peer: Option<SocketAddr>,
    app: Rc<S>,
    expect: X,
    action: Rc<RefCell<Option<ConnAction>>>,
) -> StreamEnd
where
    S: Service<Request, Response = Response<BoxBody>>,
    S::Error: Into<Response<BoxBody>>,
    X: Fn(Request) -> XF,
    XF: Future<Output = Result<Request, Response<BoxBody>>>,
{
    let shared = Rc::new(StreamShared {
        respond: RefCell::new(respond),
        skip_continue: Cell::new(false),
    });
    let handle = H2Stream(shared.clone());
    let work = async {
        let req = request(req, peer);
        let head_method = req.head().method.clone();
        let wants_continue = req
            .headers()
            .get(ah::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
        req.extensions_mut().insert(handle);
        let resp = if wants_continue {
            match expect(req).await {
                Ok(req) => {
                    if !shared.skip_continue.get() {
                        let mut cont = http::Response::new(());
                        *cont.status_mut() = http::StatusCode::CONTINUE;
                        let _ = shared.respond.borrow_mut().send_informational(cont);
                    }
                    app.call(req).await.unwrap_or_else(Into::into)
                }
                Err(resp) => resp,
            }
        } else {
            app.call(req).await.unwrap_or_else(Into::into)
        };
        send(&shared, resp, head_method == Method::HEAD, &action).await;
    };
    let reset = poll_fn(|cx| match shared.respond.borrow_mut().poll_reset(cx) {
        Poll::Ready(Ok(reason)) => Poll::Ready(reason),
        // The head is out: resets show up as failed sends from here on.
        _ => Poll::Pending,
    });
    let work = std::pin::pin!(work);
    let reset = std::pin::pin!(reset);
    match futures_util::future::select(work, reset).await {
        futures_util::future::Either::Left(((), _)) => StreamEnd::Done,
        futures_util::future::Either::Right((reason, _)) => {
            tracing::debug!("client reset an HTTP/2 stream: {reason}");
            StreamEnd::ResetByClient
        }
    }
}

/// The actix request for an HTTP/2 request.
fn request(req: http::Request<RecvStream>, peer: Option<SocketAddr>) -> Request {
    let (parts, body) = req.into_parts();
    let mut req = if body.is_end_stream() {
        Request::with_payload(Payload::None)
    } else {
        let payload: actix_http::BoxedPayloadStream = Box::pin(RecvBody { body });
        Request::with_payload(Payload::Stream { payload })
    };
    let head = req.head_mut();
    head.version = Version::HTTP_2;
    head.peer_addr = peer;
    head.method = method(&parts.method);
    // Origin form, as an HTTP/1.1 request carries it: the authority goes to `host` below.
    head.uri = match parts.uri.path_and_query() {
        Some(pq) => actix_http::Uri::try_from(pq.as_str()).unwrap_or_default(),
        None => actix_http::Uri::from_static("/"),
    };
    // Every value is copied into one buffer and sliced from it, as actix's HTTP/1.1 decoder
    // slices values from its read buffer: one allocation per request rather than one per
    // field, and clones (the journal's) count references instead of promoting each.
    let authority = parts.uri.authority().map(|a| a.as_str());
    let mut buf = BytesMut::with_capacity(
        parts.headers.values().map(|v| v.len()).sum::<usize>() + authority.map_or(0, str::len),
    );
    let mut fields: smallvec::SmallVec<[(HeaderName, usize); 16]> = smallvec::SmallVec::new();
    let mut cookie: Option<Vec<u8>> = None;
    for (name, value) in &parts.headers {
        if name == http::header::COOKIE {
            // RFC 9113 §8.2.3: split cookie fields are joined for an HTTP/1.1 view.
            match &mut cookie {
                Some(joined) => {
                    joined.extend_from_slice(b"; ");
                    joined.extend_from_slice(value.as_bytes());
                }
                None => cookie = Some(value.as_bytes().to_vec()),
            }
            continue;
        }
        // The `h2` crate only passes lowercase names.
        if let Ok(n) = HeaderName::from_lowercase(name.as_str().as_bytes()) {
            buf.extend_from_slice(value.as_bytes());
            fields.push((n, buf.len()));
        }
    }
    let host_from = buf.len();
    let has_host = fields.iter().any(|(n, _)| n == ah::HOST);
    if !has_host && let Some(authority) = authority {
        buf.extend_from_slice(authority.as_bytes());
    }
    let values = buf.freeze();
    let headers = &mut head.headers;
    let mut start = 0;
    for (name, end) in fields {
        if let Ok(v) = HeaderValue::from_maybe_shared(values.slice(start..end)) {
            headers.append(name, v);
        }
        start = end;
    }
    if let Some(joined) = cookie
        && let Ok(v) = HeaderValue::from_bytes(&joined)
    {
        headers.append(ah::COOKIE, v);
    }
    if !has_host
        && host_from < values.len()
        && let Ok(v) = HeaderValue::from_maybe_shared(values.slice(host_from..))
    {
        headers.insert(ah::HOST, v);
    }
    req
}

/// The actix method for an HTTP/2 request's method.
fn method(m: &http::Method) -> Method {
    match *m {
        http::Method::GET => Method::GET,
        http::Method::POST => Method::POST,
        http::Method::PUT => Method::PUT,
        http::Method::DELETE => Method::DELETE,
        http::Method::HEAD => Method::HEAD,
        http::Method::OPTIONS => Method::OPTIONS,
        http::Method::PATCH => Method::PATCH,
        _ => Method::from_bytes(m.as_str().as_bytes()).unwrap_or(Method::GET),
    }
}

/// A request body arriving in `DATA` frames; the window is given back as the app reads.
struct RecvBody {
    body: RecvStream,
}

impl futures_util::Stream for RecvBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match std::task::ready!(self.body.poll_data(cx)) {
            Some(Ok(data)) => {
                let _ = self.body.flow_control().release_capacity(data.len());
                Poll::Ready(Some(Ok(data)))
            }
            Some(Err(err)) => Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::other(err))))),
            None => Poll::Ready(None),
        }
    }
}

/// Header fields that mean something only to an HTTP/1.1 connection (RFC 9113 §8.2.2).
fn connection_specific(name: &HeaderName) -> bool {
    name == ah::CONNECTION
        || name == ah::TRANSFER_ENCODING
        || name == ah::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// Sends an answer: its head, then its body as `DATA` frames; or the fault it carries.
async fn send(
    shared: &StreamShared,
    resp: Response<BoxBody>,
    head_request: bool,
    action: &RefCell<Option<ConnAction>>,
) {
    let fault = resp.extensions().get::<StreamFault>().cloned();
    let length = match fault {
        Some(StreamFault::Reset) => {
            shared
                .respond
                .borrow_mut()
                .send_reset(Reason::INTERNAL_ERROR);
            return;
        }
        Some(StreamFault::GoAway) => {
            *action.borrow_mut() = Some(ConnAction::GoAway);
            return;
        }
        Some(StreamFault::Malformed(bytes)) => {
            *action.borrow_mut() = Some(ConnAction::Malformed(bytes));
            return;
        }
        Some(StreamFault::Truncated { length }) => Some(length),
        None => None,
    };
    let (head, body) = resp.into_parts();
    let status = head.status();
    let size = body.size();
    let mut out = http::Response::new(());
    *out.status_mut() = http::StatusCode::from_u16(status.as_u16())
        .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let sized = matches!(size, BodySize::Sized(_)) || length.is_some();
    let headers = out.headers_mut();
    headers.reserve(head.headers().len() + 2);
    for (name, value) in head.headers() {
        if connection_specific(name) || (sized && name == ah::CONTENT_LENGTH) {
            continue;
        }
        // actix keeps names lowercase.
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_lowercase(name.as_str().as_bytes()),
            http::HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let no_body = status.is_informational()
        || status == actix_http::StatusCode::NO_CONTENT
        || status == actix_http::StatusCode::NOT_MODIFIED;
    let declared = length.or(match size {
        BodySize::Sized(n) => Some(n),
        _ => None,
    });
    if let Some(n) = declared
        && !no_body
    {
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(n));
    }
    if !headers.contains_key(http::header::DATE) {
        headers.insert(http::header::DATE, date());
    }
    let empty = matches!(size, BodySize::None | BodySize::Sized(0));
    let end_at_head = (head_request || no_body || empty) && length.is_none();
    let sent = shared.respond.borrow_mut().send_response(out, end_at_head);
    let mut stream = match sent {
        Ok(stream) => stream,
        Err(err) => {
            tracing::debug!("HTTP/2 response head not sent: {err}");
            return;
        }
    };
    if end_at_head {
        return;
    }
    let complete = length.is_none();
    let ok = if head_request {
        true
    } else {
        match body.try_into_bytes() {
            Ok(bytes) => send_data(&mut stream, bytes, complete).await,
            Err(body) => send_body(&mut stream, body, complete).await,
        }
    };
    if !ok {
        return;
    }
    if !complete {
        // A reset drops the stream's frames still queued: let the DATA go out first.
        actix_rt::time::sleep(FLUSH_PAUSE).await;
        stream.send_reset(Reason::INTERNAL_ERROR);
    }
    // A client still sending a body nobody reads gets `RST_STREAM` (`NO_ERROR`, RFC 9113 §8.1)
    // from the `h2` crate once the request is dropped, after the answer.
}

/// Sends `data` within the flow-control windows; `end` ends the stream with it. `false` when
/// the stream is gone.
async fn send_data(stream: &mut SendStream<Bytes>, mut data: Bytes, end: bool) -> bool {
    if data.is_empty() {
        return !end || stream.send_data(data, true).is_ok();
    }
    while !data.is_empty() {
        stream.reserve_capacity(data.len());
        let granted = match poll_fn(|cx| stream.poll_capacity(cx)).await {
            Some(Ok(n)) => n,
            _ => return false,
        };
        if granted == 0 {
            continue;
        }
        let chunk = data.split_to(granted.min(data.len()));
        if stream.send_data(chunk, end && data.is_empty()).is_err() {
            return false;
        }
    }
    true
}

/// Sends a body as it yields its chunks, one or more `DATA` frames each. A body that fails
/// resets the stream.
async fn send_body(stream: &mut SendStream<Bytes>, mut body: BoxBody, end: bool) -> bool {
    loop {
        match poll_fn(|cx| Pin::new(&mut body).poll_next(cx)).await {
            Some(Ok(chunk)) => {
                if !send_data(stream, chunk, false).await {
                    return false;
                }
            }
            Some(Err(err)) => {
                tracing::debug!("response body failed: {err}");
                stream.send_reset(Reason::INTERNAL_ERROR);
                return false;
            }
            None => return !end || stream.send_data(Bytes::new(), true).is_ok(),
        }
    }
}

/// The `date` header, formatted once a second per thread.
fn date() -> http::HeaderValue {
    thread_local! {
        static DATE: RefCell<(u64, Option<http::HeaderValue>)> = const { RefCell::new((0, None)) };
    }
    let now = std::time::SystemTime::now();
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE.with(|cell| {
        let mut cached = cell.borrow_mut();
        if cached.0 != secs || cached.1.is_none() {
            let text = httpdate::fmt_http_date(now);
            cached.1 = http::HeaderValue::from_str(&text).ok();
            cached.0 = secs;
        }
        cached
            .1
            .clone()
            .unwrap_or_else(|| http::HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
    })
}

/// The connection's IO, shared so that bytes can still be written after the `h2` connection
/// is dropped (`malformed_response`).
struct SharedIo<T>(Rc<RefCell<T>>);

impl<T> Clone for SharedIo<T> {
    fn clone(&self) -> Self {
        SharedIo(self.0.clone())
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for SharedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SharedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.borrow().is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut *self.0.borrow_mut()).poll_shutdown(cx)
    }
}

/// How a cleartext connection starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    /// With the HTTP/2 connection preface.
    Http2,
    /// With anything else (HTTP/1.x), or closed.
    Http1,
    /// With nothing within the time allowed.
    Silent,
}

/// Looks at a new cleartext connection's first bytes without reading them: the HTTP/2
/// preface, or anything else. Waits at most `timeout` (zero: no limit) for them.
pub async fn sniff(io: &actix_rt::net::TcpStream, timeout: Duration) -> Sniffed {
    let look = async {
        let mut buf = [0u8; PREFACE.len()];
        let mut waited = 0u32;
        loop {
            let n = match io.peek(&mut buf).await {
                Ok(n) => n,
                Err(_) => return Sniffed::Http1,
            };
            if n == 0 || buf[..n] != PREFACE[..n] {
                return Sniffed::Http1;
            }
            if n == PREFACE.len() {
                return Sniffed::Http2;
            }
            // Part of the preface so far: look again shortly (peek returns at once while
            // those bytes wait).
            waited += 1;
            actix_rt::time::sleep(Duration::from_millis(if waited < 20 { 1 } else { 20 })).await;
        }
    };
    if timeout.is_zero() {
        return look.await;
    }
    actix_rt::time::timeout(timeout, look)
        .await
        .unwrap_or(Sniffed::Silent)
}
