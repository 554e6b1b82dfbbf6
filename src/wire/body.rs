//! Response bodies with wire-level timing: dribbled chunks, and bodies that fail on purpose.

use std::future::Future as _;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use actix_http::body::{BodySize, MessageBody};
use actix_rt::time::{Sleep, sleep};
use bytes::Bytes;

/// A body sent in `size`-byte chunks with a pause between them; Content-Length stays exact.
pub struct Dribble {
    rest: Bytes,
    len: u64,
    size: usize,
    interval: Duration,
    pause: Option<Pin<Box<Sleep>>>,
}

impl Dribble {
    /// Dribbles `body` in chunks of `size` bytes, `interval` apart.
    pub fn new(body: Bytes, size: usize, interval: Duration) -> Self {
        Dribble {
            len: body.len() as u64,
            rest: body,
            size: size.max(1),
            interval,
            pause: None,
        }
    }
}

impl MessageBody for Dribble {
    type Error = std::convert::Infallible;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = self.get_mut();
        if let Some(pause) = &mut this.pause {
            ready!(pause.as_mut().poll(cx));
            this.pause = None;
        }
        if this.rest.is_empty() {
            return Poll::Ready(None);
        }
        let chunk = this.rest.split_to(this.size.min(this.rest.len()));
        if !this.rest.is_empty() {
            this.pause = Some(Box::pin(sleep(this.interval)));
        }
        Poll::Ready(Some(Ok(chunk)))
    }
}

/// A body that declares `len` bytes, sends `sent` of them, then fails so the connection closes.
///
/// With nothing to send (and a non-zero `len`, so actix polls it) it fails on its first poll:
/// the head, still in actix's write buffer, is never flushed and the client sees the
/// connection close with no bytes at all.
pub struct Broken {
    len: u64,
    sent: Option<Bytes>,
    flush: Option<Pin<Box<Sleep>>>,
    flush_head: bool,
}

/// Why a [`Broken`] body stops (never shown to the client; it only sees the close).
#[derive(Debug)]
pub struct Cut;

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("response cut short on purpose (scenario fault)")
    }
}

impl std::error::Error for Cut {}

impl Broken {
    /// Declares `len` bytes and sends `sent` before closing (empty: close before the head).
    pub fn new(len: u64, sent: Bytes) -> Self {
        Broken {
            len,
            sent: (!sent.is_empty()).then_some(sent),
            flush: None,
            flush_head: false,
        }
    }

    /// Declares `len` bytes, makes sure the head goes out, sends `sent`, then closes: a
    /// truncated body even when `sent` is empty.
    pub fn truncated(len: u64, sent: Bytes) -> Self {
        Broken {
            len: len.max(1),
            sent: (!sent.is_empty()).then_some(sent),
            flush: None,
            flush_head: true,
        }
    }
}

impl MessageBody for Broken {
    type Error = Cut;

    fn size(&self) -> BodySize {
        BodySize::Sized(self.len)
    }

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, Cut>>> {
        let this = self.get_mut();
        if this.flush_head {
            // Stay pending once so actix flushes the head before anything else happens.
            this.flush_head = false;
            this.flush = Some(Box::pin(sleep(Duration::from_millis(20))));
        }
        if let Some(flush) = &mut this.flush
            && this.sent.is_some()
        {
            ready!(flush.as_mut().poll(cx));
            this.flush = None;
        }
        if let Some(bytes) = this.sent.take() {
            // Yield the bytes, then stay pending briefly so actix flushes them before the error.
            this.flush = Some(Box::pin(sleep(Duration::from_millis(20))));
            return Poll::Ready(Some(Ok(bytes)));
        }
        if let Some(flush) = &mut this.flush {
            ready!(flush.as_mut().poll(cx));
            this.flush = None;
        }
        Poll::Ready(Some(Err(Cut)))
    }
}
