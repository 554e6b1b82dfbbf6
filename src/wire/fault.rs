//! Wire faults: what a client sees when the server misbehaves on purpose.
//!
//! | fault | on the wire |
//! |---|---|
//! | `connection_reset` | TCP RST, no bytes (the client's read fails with ECONNRESET) |
//! | `empty_response` | FIN, no bytes |
//! | `malformed_response` | bytes that are not HTTP (the response body, or a fixed line), then FIN |
//! | `truncated_body` | status line and headers with the full Content-Length, half the body, FIN |
//! | `no_response` | nothing; held open until the client closes its side (then FIN) or the server stops |
//!
//! Each connection carries a duplicate of its socket (set up in `on_connect_ext`), which lets
//! a handler set `SO_LINGER` to zero (RST on close) or write raw bytes past actix's encoder.

use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;

use super::body::Broken;
use crate::scenario::compiled::Fault;

/// Bytes sent by `malformed_response` when the response has no body of its own.
pub const MALFORMED: &[u8] = b"\x00\x01understudy: this is not an HTTP response\r\n\xff\xfe\r\n";

/// The duplicated socket of a connection.
#[derive(Clone)]
pub struct ConnSocket(Rc<OwnedFd>);

impl ConnSocket {
    /// Duplicates the connection's socket (the `on_connect_ext` hook).
    pub fn of(io: &impl std::os::fd::AsFd) -> Option<Self> {
        io.as_fd()
            .try_clone_to_owned()
            .ok()
            .map(|fd| ConnSocket(Rc::new(fd)))
    }

    fn sock(&self) -> socket2::SockRef<'_> {
        socket2::SockRef::from(self.0.as_ref())
    }

    /// Resolves once the peer has closed (FIN or RST) its side of the connection; looks every
    /// 200 ms with a non-consuming peek on the (non-blocking) socket, so nothing is read.
    async fn closed_by_peer(&self) {
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        loop {
            actix_web::rt::time::sleep(Duration::from_millis(200)).await;
            match self.sock().peek(&mut buf) {
                Ok(0) => return,
                Ok(_) => {}
                Err(err)
                    if matches!(
                        err.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => return,
            }
        }
    }
}

/// The response that carries out `fault`. `head` is the normal response; its status and
/// headers are used by `truncated_body`.
pub async fn respond(
    fault: Fault,
    req: &HttpRequest,
    head: HttpResponse,
    body: Bytes,
) -> HttpResponse {
    let conn = req.conn_data::<ConnSocket>();
    match fault {
        Fault::NoResponse => {
            // Held until the client gives up (then closed without a byte, so a client that
            // times out does not leave the server holding its socket) or the server stops.
            match conn {
                Some(conn) => conn.closed_by_peer().await,
                None => std::future::pending::<()>().await,
            }
            head.set_body(Broken::new(1, Bytes::new()))
                .map_into_boxed_body()
        }
        Fault::ConnectionReset => {
            if let Some(conn) = conn {
                let _ = conn.sock().set_linger(Some(Duration::ZERO));
            }
            head.set_body(Broken::new(1, Bytes::new()))
                .map_into_boxed_body()
        }
        Fault::EmptyResponse => head
            .set_body(Broken::new(1, Bytes::new()))
            .map_into_boxed_body(),
        Fault::MalformedResponse => {
            let bytes: &[u8] = if body.is_empty() { MALFORMED } else { &body };
            if let Some(conn) = conn {
                write_raw(conn, bytes).await;
            }
            head.set_body(Broken::new(1, Bytes::new()))
                .map_into_boxed_body()
        }
        Fault::TruncatedBody => {
            let half = body.slice(..body.len() / 2);
            head.set_body(Broken::truncated(body.len() as u64, half))
                .map_into_boxed_body()
        }
    }
}

/// Writes `bytes` on the raw socket (non-blocking: retried briefly while the buffer is full).
async fn write_raw(conn: &ConnSocket, mut bytes: &[u8]) {
    let sock = conn.sock();
    let mut tries = 0;
    while !bytes.is_empty() && tries < 200 {
        match (&*sock).write(bytes) {
            Ok(0) => return,
            Ok(n) => bytes = &bytes[n..],
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => {
                tries += 1;
                actix_web::rt::time::sleep(Duration::from_millis(5)).await;
            }
            Err(_) => return,
        }
    }
}
