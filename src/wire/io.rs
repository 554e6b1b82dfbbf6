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
//!   echoes them back through actix's writer (so it works under TLS as well).
//!
//! The wrapper sits above TLS, so everything it writes is encrypted like the rest.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What actix-http writes after a successful expect hook.
const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

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
    /// Bytes that followed a request head asking for a non-WebSocket upgrade, kept from actix
    /// until the handler decides: echoed if it switches, handed to actix once it answers.
    held: Option<Bytes>,
    /// The held bytes go to actix on its next read.
    held_release: bool,
    /// The client closed its side while bytes were held.
    held_eof: bool,
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

    /// Switches the connection to raw echo; returns the stream that echoes client bytes.
    pub fn upgrade_echo(&self) -> EchoStream {
        let mut s = self.0.borrow_mut();
        s.upgraded = true;
        if let Some(early) = s.held.take() {
            s.echo.push_back(early);
        }
        if s.held_eof {
            s.closed = true;
        }
        drop(s);
        EchoStream(self.clone())
    }
}

/// If the bytes just read (from `before` on) end a request head that asks for an upgrade other
/// than WebSocket and more bytes follow it, keeps those bytes out of actix's buffer.
fn hold_after_upgrade_head(ctl: &ConnControl, buf: &mut ReadBuf<'_>, before: usize) {
    let new = &buf.filled()[before..];
    let Some(end) = new.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4) else {
        return;
    };
    if end == new.len() {
        return;
    }
    let head = String::from_utf8_lossy(&new[..end]).to_ascii_lowercase();
    let upgrade = head
        .lines()
        .find_map(|l| l.strip_prefix("upgrade:"))
        .map(str::trim);
    match upgrade {
        Some(token) if !token.is_empty() && !token.contains("websocket") => {
            let rest = Bytes::copy_from_slice(&new[end..]);
            buf.set_filled(before + end);
            ctl.0.borrow_mut().held = Some(rest);
        }
        _ => {}
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
    }
}

impl<T> MockIo<T> {
    /// Wraps `inner`; the control goes into the connection's data in `on_connect_ext`.
    pub fn new(inner: T) -> Self {
        MockIo {
            inner,
            ctl: ConnControl::default(),
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
        if !self.ctl.0.borrow().upgraded {
            {
                let mut st = self.ctl.0.borrow_mut();
                if st.held.is_some() {
                    if !st.held_release {
                        // Waiting for the handler's decision (released by its first write).
                        // Keep reading into the held bytes, so the socket's readiness stays
                        // registered and nothing the client sends is lost.
                        drop(st);
                        let mut tmp = [0u8; 8192];
                        loop {
                            let mut rb = ReadBuf::new(&mut tmp);
                            match self.as_mut().project().inner.poll_read(cx, &mut rb) {
                                Poll::Ready(Ok(())) if !rb.filled().is_empty() => {
                                    let mut st = self.ctl.0.borrow_mut();
                                    let mut joined = st.held.take().unwrap_or_default().to_vec();
                                    joined.extend_from_slice(rb.filled());
                                    st.held = Some(Bytes::from(joined));
                                }
                                Poll::Ready(Ok(())) => {
                                    self.ctl.0.borrow_mut().held_eof = true;
                                    return Poll::Pending;
                                }
                                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                                Poll::Pending => return Poll::Pending,
                            }
                        }
                    }
                    st.held_release = false;
                    #[allow(clippy::expect_used)]
                    // invariant: is_some() checked above, no path in between takes it
                    let bytes = st.held.take().expect("checked");
                    let n = bytes.len().min(buf.remaining());
                    buf.put_slice(&bytes[..n]);
                    if n < bytes.len() {
                        st.held = Some(bytes.slice(n..));
                        st.held_release = true;
                    }
                    return Poll::Ready(Ok(()));
                }
            }
            let before = buf.filled().len();
            std::task::ready!(self.as_mut().project().inner.poll_read(cx, buf))?;
            hold_after_upgrade_head(&self.ctl, buf, before);
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
            if !s.upgraded && s.held.is_some() {
                // The handler answered without switching: give actix the bytes it was kept from.
                s.held_release = true;
                if let Some(w) = &s.conn_waker {
                    w.wake_by_ref();
                }
            }
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
