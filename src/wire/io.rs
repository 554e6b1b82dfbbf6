//! The connection seam: an IO wrapper between the socket (or TLS stream) and actix-http.
//!
//! actix-http owns the connection's bytes. Three HTTP features need to step around it, and
//! they all do it here, through a [`ConnControl`] the handler reaches via the request's
//! connection data:
//!
//! - **interim responses** (`informational`, e.g. `103 Early Hints`): bytes queued by the
//!   handler are written to the client before anything actix writes next, and at once when
//!   the handler wakes the connection;
//! - **`Expect: 100-continue` with `ignore`**: the `100 Continue` actix writes after the expect
//!   hook is swallowed, so the client waits for its own timeout as with a silent server;
//! - **raw protocol upgrades** (`101` with any `Upgrade` token): after the switch, bytes the
//!   client sends are kept from actix's parser and handed to the upgrade's body stream, which
//!   echoes them back through actix's writer (so it works under TLS as well). Bytes the client
//!   sent after the upgrade request, before the switch, are kept back like any pipelined
//!   bytes (below) and become the first bytes echoed.
//!
//! It hands actix **pipelined requests one at a time** (see [`super::pipeline`]): every byte
//! read goes through the request scan, and the bytes after a complete request (head and body)
//! are kept back until that request has been answered, whether they came in the same read or
//! a later one. Bytes inside a request (its head, its body) always go to actix at once. While
//! bytes wait, nothing more is read from the socket.
//!
//! **Nothing is read after a close** (RFC 9112 §9.6): once an answer whose head closes the
//! connection is on its way (reported by the app's guard and the expect hook through
//! [`ConnControl::answered`]), or once a request that asked to close (`Connection: close`,
//! HTTP/1.0 without keep-alive: [`ConnControl::serving`]) has gone to actix whole, actix gets no
//! more request bytes. What was kept back is dropped, and what the client still sends is read
//! and dropped (so the close is a FIN, not a reset that could cost the client the answer);
//! actix closes the connection once the answer is written.
//!
//! It also runs the **head timeout** (`--header-timeout-ms`): when bytes arrive while no
//! request is being served, the client has that long to complete a request head (its arrival
//! at the app, or at the expect hook, shows that: see [`ConnControl::busy`]); otherwise it gets
//! `408 Request Timeout` and the connection is closed. actix-http's own head timer covers only
//! the first request of a connection; this one covers every request (slowloris clients that
//! first send one honest request included). A read that ends on a complete request starts no
//! timer; one that ends inside a head or a body does.
//!
//! The wrapper sits above TLS, so everything it writes is encrypted like the rest.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::pipeline::HeadScan;

/// What actix-http writes after a successful expect hook.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// How many reads a closing connection drops in one go before letting others run.
const DRAIN_READS: usize = 16;

/// What a client that did not complete a request head in time gets before the close.
pub(super) const TIMEOUT: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

#[derive(Default)]
struct State {
    /// Bytes to write before anything else (interim responses).
    interim: Vec<u8>,
    /// Swallow the next `100 Continue` actix writes.
    swallow_continue: bool,
    /// Raw upgrade active: client bytes go to `echo`, not to actix.
    upgraded: bool,
    /// Client bytes received after a raw upgrade, waiting to be echoed.
    echo: VecDeque<Bytes>,
    /// The client closed its side of an upgraded connection.
    closed: bool,
    /// Waker of the connection's dispatcher task.
    conn_waker: Option<Waker>,
    /// Waker of the upgrade's body stream.
    body_waker: Option<Waker>,
    /// Request heads that reached the expect hook or the app so far.
    received: u64,
    /// Requests being served (from the head's arrival until the response body is done).
    busy: u32,
    /// Where the requests stand, for one-at-a-time pipelining (see [`super::pipeline`]).
    scan: HeadScan,
    /// `received` when the last request head went to actix, until that request is known to be
    /// answered (see [`State::waiting`]).
    answering: Option<u64>,
    /// Bytes after a complete request, kept from actix until that request is answered.
    queued: Option<Bytes>,
    /// The request being served asked to close the connection: nothing after its end goes to
    /// actix.
    last: bool,
    /// The connection closes after the answer on its way: nothing more goes to actix, and
    /// what the client still sends is read and dropped.
    closing: bool,
}

impl State {
    /// Whether the request last handed to actix still waits for its answer: its head has not
    /// reached the expect hook or the app yet, or it is being served.
    fn waiting(&mut self) -> bool {
        if let Some(at) = self.answering
            && self.busy == 0
            && self.received != at
        {
            self.answering = None;
        }
        self.answering.is_some()
    }

    /// Runs bytes about to go to actix through the scan; returns how many of them go now. The
    /// rest is kept back until the request before it is answered or, once `closing`, dropped.
    fn admit(&mut self, new: &[u8]) -> usize {
        if self.upgraded {
            self.scan.stop();
            return new.len();
        }
        if self.closing {
            return 0;
        }
        if self.scan.between_heads() {
            if self.last {
                // The last request is all with actix.
                self.closing = true;
                return 0;
            }
            if self.waiting() {
                return 0;
            }
        }
        let fed = self.scan.feed(new);
        if fed.head {
            self.answering = Some(self.received);
        }
        match fed.cut {
            Some(cut) => {
                self.closing |= self.last;
                cut
            }
            None => new.len(),
        }
    }
}

/// Shared control of one connection, available to handlers as connection data.
#[derive(Clone, Default)]
pub struct ConnControl(Rc<RefCell<State>>);

impl ConnControl {
    /// Queues interim response bytes and wakes the connection so they go out now.
    pub fn send_interim(&self, bytes: &[u8]) {
        let mut s = self.0.borrow_mut();
        s.interim.extend_from_slice(bytes);
        if let Some(w) = &s.conn_waker {
            w.wake_by_ref();
        }
    }

    /// Keeps the dispatcher's waker (cloned only when it changed).
    fn remember(&self, cx: &Context<'_>) {
        let mut s = self.0.borrow_mut();
        if !s
            .conn_waker
            .as_ref()
            .is_some_and(|w| w.will_wake(cx.waker()))
        {
            s.conn_waker = Some(cx.waker().clone());
        }
    }

    /// Swallows the `100 Continue` actix is about to write.
    pub fn swallow_continue(&self) {
        self.0.borrow_mut().swallow_continue = true;
    }

    /// Marks a request head as arrived and the connection busy until the guard is dropped
    /// (the app holds it until its response body is done).
    pub fn busy(&self) -> Busy {
        let mut s = self.0.borrow_mut();
        s.received += 1;
        s.busy += 1;
        drop(s);
        Busy(self.clone())
    }

    /// Like [`ConnControl::busy`] for a request on its way to the app; when the request asks
    /// to close the connection (`Connection: close`, HTTP/1.0 without keep-alive), nothing
    /// after it goes to actix.
    pub fn serving(&self, head: &actix_http::RequestHead) -> Busy {
        if head.connection_type() == actix_http::ConnectionType::Close {
            self.0.borrow_mut().last = true;
        }
        self.busy()
    }

    /// Notes an answer on its way: when its head says the connection closes, nothing more
    /// goes to actix (see [`ConnControl::close_after_response`]).
    pub fn answered(&self, head: &actix_http::ResponseHead) {
        if head.connection_type() == actix_http::ConnectionType::Close {
            self.close_after_response();
        }
    }

    /// The connection closes after the answer on its way (RFC 9112 §9.6): actix gets no more
    /// request bytes; the seam drops what is kept back and what the client still sends, and
    /// reports the end of the stream once the client closes.
    pub fn close_after_response(&self) {
        let mut s = self.0.borrow_mut();
        s.closing = true;
        if s.queued.take().is_some()
            && let Some(w) = &s.conn_waker
        {
            w.wake_by_ref();
        }
    }

    /// Switches the connection to raw echo; returns the stream that echoes client bytes.
    pub fn upgrade_echo(&self) -> EchoStream {
        let mut s = self.0.borrow_mut();
        s.upgraded = true;
        s.scan.stop();
        if let Some(early) = s.queued.take() {
            s.echo.push_back(early);
        }
        // The connection may be waiting for this answer without watching the socket: from
        // now on, client bytes are read for the echo.
        if let Some(w) = &s.conn_waker {
            w.wake_by_ref();
        }
        drop(s);
        EchoStream(self.clone())
    }
}

/// Keeps a connection busy while alive: see [`ConnControl::busy`].
pub struct Busy(ConnControl);

impl Busy {
    /// Notes the answer to the request: see [`ConnControl::answered`].
    pub fn answered(&self, head: &actix_http::ResponseHead) {
        self.0.answered(head);
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let mut s = (self.0).0.borrow_mut();
        s.busy = s.busy.saturating_sub(1);
        if s.busy == 0
            && s.queued.is_some()
            && let Some(w) = &s.conn_waker
        {
            // The answer is done: the next pipelined request may go to actix.
            w.wake_by_ref();
        }
    }
}

/// The body of a raw upgrade: yields what the client sends, ends when the client closes.
pub struct EchoStream(ConnControl);

impl futures_util::Stream for EchoStream {
    type Item = Result<Bytes, std::convert::Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = (self.0).0.borrow_mut();
        if let Some(bytes) = s.echo.pop_front() {
            return Poll::Ready(Some(Ok(bytes)));
        }
        if s.closed {
            return Poll::Ready(None);
        }
        s.body_waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

pin_project_lite::pin_project! {
    /// A connection's IO with the [`ConnControl`] seam.
    pub struct MockIo<T> {
        #[pin]
        inner: T,
        ctl: ConnControl,
        head_timeout: Option<Duration>,
        // Running head timeout: the `received` count it was armed at, and its timer.
        deadline: Option<(u64, Pin<Box<actix_rt::time::Sleep>>)>,
    }
}

impl<T> MockIo<T> {
    /// Wraps `inner`; the control goes into the connection's data in `on_connect_ext`. A
    /// client gets `head_timeout` (if any) to complete each request head.
    pub fn new(inner: T, head_timeout: Option<Duration>) -> Self {
        MockIo {
            inner,
            ctl: ConnControl::default(),
            head_timeout,
            deadline: None,
        }
    }

    /// The connection's control.
    pub fn control(&self) -> ConnControl {
        self.ctl.clone()
    }

    /// The wrapped IO.
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T: AsyncWrite> MockIo<T> {
    /// Polls the running head timeout: `Some` error once it expired (after queueing and trying
    /// to write the `408`), and clears it once a head arrived or a request is being served.
    fn poll_deadline(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Option<io::Error> {
        let this = self.as_mut().project();
        let (seen, timer) = this.deadline.as_mut()?;
        {
            let s = this.ctl.0.borrow();
            if s.received != *seen || s.busy > 0 || s.upgraded || s.closing {
                *this.deadline = None;
                return None;
            }
        }
        if timer.as_mut().poll(cx).is_pending() {
            return None;
        }
        *this.deadline = None;
        this.ctl.0.borrow_mut().interim.extend_from_slice(TIMEOUT);
        // Best effort: the connection is idle (no response in progress), and closes anyway.
        let _ = self.flush_interim(cx);
        Some(io::Error::new(
            io::ErrorKind::TimedOut,
            "request head not complete within the header timeout",
        ))
    }

    /// Starts the head timeout after bytes arrived, unless one runs or a request is served.
    fn arm_deadline(self: Pin<&mut Self>, cx: &mut Context<'_>) {
        let this = self.project();
        let Some(timeout) = *this.head_timeout else {
            return;
        };
        if this.deadline.is_some() {
            return;
        }
        let s = this.ctl.0.borrow();
        if s.busy > 0 || s.upgraded || s.closing {
            return;
        }
        let mut timer = Box::pin(actix_rt::time::sleep(timeout));
        // Register the waker now: the timer must fire even if the client goes quiet.
        let _ = timer.as_mut().poll(cx);
        *this.deadline = Some((s.received, timer));
    }

    /// Writes queued interim bytes; `Ready` once none are left.
    fn flush_interim(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.ctl.0.borrow().interim.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let mut this = self.project();
        loop {
            let pending = std::mem::take(&mut this.ctl.0.borrow_mut().interim);
            if pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            match this.inner.as_mut().poll_write(cx, &pending) {
                Poll::Ready(Ok(n)) => {
                    let mut s = this.ctl.0.borrow_mut();
                    let mut rest = pending[n..].to_vec();
                    rest.extend_from_slice(&s.interim);
                    s.interim = rest;
                }
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    let mut s = this.ctl.0.borrow_mut();
                    let mut rest = pending;
                    rest.extend_from_slice(&s.interim);
                    s.interim = rest;
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<T: AsyncRead> MockIo<T> {
    /// Once the connection is closing: reads and drops what the client sends (so the close
    /// does not turn into a reset that could cost the client the last answer); `Ready` at the
    /// end of the client's stream.
    fn drain(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut this = self.project();
        this.ctl.0.borrow_mut().queued = None;
        let mut tmp = [0u8; 8192];
        for _ in 0..DRAIN_READS {
            let mut rb = ReadBuf::new(&mut tmp);
            std::task::ready!(this.inner.as_mut().poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                return Poll::Ready(Ok(()));
            }
        }
        // More to drop: let other connections run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl<T: AsyncRead + AsyncWrite> AsyncRead for MockIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.ctl.remember(cx);
        if let Poll::Ready(Err(err)) = self.as_mut().flush_interim(cx) {
            return Poll::Ready(Err(err));
        }
        if let Some(err) = self.as_mut().poll_deadline(cx) {
            return Poll::Ready(Err(err));
        }
        if !self.ctl.0.borrow().upgraded {
            let before = buf.filled().len();
            loop {
                if self.ctl.0.borrow().closing {
                    return self.drain(cx);
                }
                let queued = self.ctl.0.borrow_mut().queued.take();
                let admitted = match queued {
                    // Bytes kept back, as many as fit, once the request before them is answered.
                    Some(queued) => {
                        let mut st = self.ctl.0.borrow_mut();
                        let n = queued.len().min(buf.remaining());
                        let admitted = st.admit(&queued[..n]);
                        buf.put_slice(&queued[..admitted]);
                        if admitted < queued.len() && !st.closing {
                            st.queued = Some(queued.slice(admitted..));
                        }
                        admitted
                    }
                    None => {
                        std::task::ready!(self.as_mut().project().inner.poll_read(cx, buf))?;
                        let new = &buf.filled()[before..];
                        if new.is_empty() {
                            // End of stream.
                            return Poll::Ready(Ok(()));
                        }
                        let mut st = self.ctl.0.borrow_mut();
                        let admitted = st.admit(new);
                        if admitted < new.len() {
                            if !st.closing {
                                st.queued = Some(Bytes::copy_from_slice(&new[admitted..]));
                            }
                            buf.set_filled(before + admitted);
                        }
                        admitted
                    }
                };
                if admitted > 0 {
                    break;
                }
                if !self.ctl.0.borrow().closing {
                    // All kept back: `Busy::drop` wakes the connection once the request before
                    // them is answered.
                    return Poll::Pending;
                }
            }
            // Bytes that end exactly on a complete request need no timer (the usual case: a
            // whole request in one read); a partial head or body does.
            if !self.ctl.0.borrow().scan.between_heads() {
                self.as_mut().arm_deadline(cx);
            }
            return Poll::Ready(Ok(()));
        }
        // Upgraded: feed client bytes to the echo stream, never to actix's parser.
        let mut this = self.project();
        let mut tmp = [0u8; 8192];
        loop {
            let mut rb = ReadBuf::new(&mut tmp);
            {
                let s = this.ctl.0.borrow();
                if s.closed {
                    // EOF for actix only once everything has been echoed.
                    return if s.echo.is_empty() {
                        Poll::Ready(Ok(()))
                    } else {
                        Poll::Pending
                    };
                }
            }
            match this.inner.as_mut().poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let mut s = this.ctl.0.borrow_mut();
                    if rb.filled().is_empty() {
                        s.closed = true;
                    } else {
                        s.echo.push_back(Bytes::copy_from_slice(rb.filled()));
                    }
                    if let Some(w) = s.body_waker.take() {
                        w.wake();
                    }
                }
                Poll::Ready(Err(err)) => {
                    let mut s = this.ctl.0.borrow_mut();
                    s.closed = true;
                    if let Some(w) = s.body_waker.take() {
                        w.wake();
                    }
                    return Poll::Ready(Err(err));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: AsyncWrite> AsyncWrite for MockIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.ctl.remember(cx);
        std::task::ready!(self.as_mut().flush_interim(cx))?;
        {
            let mut s = self.ctl.0.borrow_mut();
            if s.swallow_continue && buf.starts_with(CONTINUE) {
                s.swallow_continue = false;
                return Poll::Ready(Ok(CONTINUE.len()));
            }
        }
        self.project().inner.poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.as_mut().flush_interim(cx))?;
        self.project().inner.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.as_mut().flush_interim(cx))?;
        self.project().inner.poll_shutdown(cx)
    }
}
