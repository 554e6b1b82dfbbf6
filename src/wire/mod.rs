//! The wire: actix-server and actix-http assembled by hand, and every mechanism that needs
//! the socket.
//!
//! `actix_web::HttpServer` hides the seams understudy needs: actix-http's `expect` hook
//! (deciding `100 Continue` per request), per-connection extensions for wire faults, and the
//! TLS acceptor pipeline. This module owns them: the listener and TLS, the connection seam
//! ([`io`]: interim responses, swallowed `100`s, raw upgrades, one-at-a-time pipelining, the
//! head timeout), the limits on what clients send, bodies with wire-level timing and the
//! raw-socket side of faults.
//!
//! It carries out; it does not decide. What to answer, what to record and which fault to
//! play are decided by [`crate::http`], which plugs its app and its `Expect` decision into
//! [`serve`]. Nothing here imports a module above it.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::body::BoxBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_rt::net::TcpStream;
use actix_server::Server;
use actix_service::{ServiceFactory, ServiceFactoryExt as _, fn_service};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};

pub mod body;
pub mod expect;
pub mod fault;
pub mod io;
pub mod limits;
pub mod pipeline;
pub mod tls;

use io::MockIo;

/// Listener settings: workers and the limits on connections and what clients send.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Worker threads (one event loop each); default: the CPUs this process may use.
    pub workers: usize,
    /// Seconds a graceful shutdown waits for open requests before closing them.
    pub shutdown_timeout_secs: u64,
    /// Time a client has to send a complete request head, on every request of a connection
    /// (`408` and close after it); also how long a new connection may stay silent.
    pub header_timeout: Duration,
    /// Most open connections over all workers; at the limit, new connections wait in the
    /// listen backlog until one closes.
    pub max_connections: usize,
    /// Limits on request heads (target and header fields).
    pub head: limits::HeadLimits,
    /// Largest WebSocket message accepted from a client.
    pub ws_max_message_bytes: usize,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            workers: default_workers(),
            shutdown_timeout_secs: 1,
            header_timeout: limits::DEFAULT_HEADER_TIMEOUT,
            max_connections: limits::DEFAULT_MAX_CONNECTIONS,
            head: limits::HeadLimits::default(),
            ws_max_message_bytes: limits::DEFAULT_WS_MAX_MESSAGE_BYTES,
        }
    }
}

/// The default worker count: the CPUs this process may use (cgroup quotas and CPU affinity
/// included), as `std::thread::available_parallelism` reports them; at least 1.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Binds `addr` (port 0 picks a free port) and returns the listener and its real address.
pub fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Builds the server on `listener` (TLS when `tls` is given) around what the HTTP layer
/// plugs into every connection: `app` makes the service requests go to (once per worker), and
/// `expect` decides each `Expect: 100-continue` head. It must be awaited (or spawned) inside an
/// actix or tokio runtime; signal handling is left to the caller (`handle_signals: false` when
/// embedded).
pub fn serve<A, S, X, XF>(
    listener: TcpListener,
    config: &ListenerConfig,
    handle_signals: bool,
    tls: Option<rustls::ServerConfig>,
    app: A,
    expect: X,
) -> std::io::Result<Server>
where
    A: Fn() -> S + Clone + Send + 'static,
    S: ServiceFactory<Request, Config = (), Response = Response<BoxBody>, InitError = ()> + 'static,
    S::Service: 'static,
    S::Error: Into<Response<BoxBody>> + 'static,
    X: Fn(Request) -> XF + Clone + Send + 'static,
    XF: Future<Output = Result<Request, Response<BoxBody>>> + 'static,
{
    let workers = config.workers.max(1);
    let head_timeout = Some(config.header_timeout).filter(|t| !t.is_zero());
    let header_timeout = config.header_timeout;
    let builder = Server::build()
        .workers(workers)
        // actix-server counts per worker; the total is rounded up to a multiple of workers.
        .max_concurrent_connections(config.max_connections.max(1).div_ceil(workers))
        .shutdown_timeout(config.shutdown_timeout_secs);
    let mut builder = match tls {
        None => builder.listen("understudy", listener, move || {
            fn_service(move |io: TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((MockIo::new(io, head_timeout), Protocol::Http1, peer))
            })
            .and_then(http_service(app(), expect.clone(), header_timeout))
        })?,
        Some(tls) => {
            let acceptor = Acceptor::new(tls);
            builder.listen("understudy-tls", listener, move || {
                acceptor
                    .clone()
                    .map_err(|err| tracing::debug!("TLS handshake failed: {err}"))
                    .and_then(fn_service(move |io: TlsStream<TcpStream>| async move {
                        let peer = io.get_ref().0.peer_addr().ok();
                        Ok::<_, ()>((MockIo::new(io, head_timeout), Protocol::Http1, peer))
                    }))
                    .and_then(
                        http_service(app(), expect.clone(), header_timeout)
                            .map_err(|err| tracing::debug!("connection error: {err:?}")),
                    )
            })?
        }
    };
    if !handle_signals {
        builder = builder.disable_signals();
    }
    Ok(builder.run())
}

/// A socket understudy can reach below the HTTP layer (for RST and raw-byte faults).
pub trait RawSocket {
    /// The TCP socket.
    fn tcp(&self) -> &TcpStream;
}

impl RawSocket for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl RawSocket for TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

/// The HTTP/1.1 service for one connection type: the connection seam, the expect hook and
/// the app, with the connection marked busy while a request is served.
fn http_service<T, S, X, XF>(
    app: S,
    expect: X,
    header_timeout: Duration,
) -> impl ServiceFactory<
    (MockIo<T>, Protocol, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = DispatchError,
    InitError = (),
>
where
    T: RawSocket + tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    S: ServiceFactory<Request, Config = (), Response = Response<BoxBody>, InitError = ()> + 'static,
    S::Service: 'static,
    S::Error: Into<Response<BoxBody>> + 'static,
    X: Fn(Request) -> XF + Clone + 'static,
    XF: Future<Output = Result<Request, Response<BoxBody>>> + 'static,
{
    HttpService::build()
        // The first head of a connection (and a silent new connection); the seam in `io`
        // times every later head.
        .client_request_timeout(header_timeout)
        .keep_alive(limits::KEEP_ALIVE)
        // Drain an unread body for a moment after answering (413, 431), so the client reads
        // the answer rather than a reset.
        .client_disconnect_timeout(limits::LINGER)
        .on_connect_ext(|io: &MockIo<T>, ext| {
            ext.insert(io.control());
            if let Some(sock) = fault::ConnSocket::of(io.inner().tcp()) {
                ext.insert(sock);
            }
        })
        .expect(fn_service(move |req: Request| expect::hook(&expect, req)))
        .finish(limits::guard(app))
}
