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
use std::rc::Rc;
use std::time::Duration;

use actix_http::body::BoxBody;
use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol, Request, Response};
use actix_rt::net::TcpStream;
use actix_server::Server;
use actix_service::{Service as _, ServiceFactory, ServiceFactoryExt as _, fn_factory, fn_service};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};

pub mod awake;
pub mod body;
pub mod expect;
pub mod fault;
pub mod http2;
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
    /// Whether HTTP/2 is offered beside HTTP/1.1: with prior knowledge on cleartext
    /// connections, through ALPN on TLS ones (`--http2`).
    pub http2: bool,
    /// How long each worker keeps polling its sockets after a request instead of sleeping
    /// ([`awake`]); zero, the default, sleeps at once. Embedded servers set it.
    pub awake: Duration,
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
            http2: true,
            awake: Duration::ZERO,
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
/// `expect` decides each `Expect: 100-continue` head; with `awake` (made from
/// [`ListenerConfig::awake`], stirred by the app), each worker runs its keeper. It must be
/// awaited (or spawned) inside an actix or tokio runtime; signal handling is left to the
/// caller (`handle_signals: false` when embedded).
pub fn serve<A, S, X, XF>(
    listener: TcpListener,
    config: &ListenerConfig,
    handle_signals: bool,
    tls: Option<rustls::ServerConfig>,
    app: A,
    expect: X,
    awake: Option<std::sync::Arc<awake::Awake>>,
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
    let http2 = config.http2.then_some(http2::Settings {
        max_header_list_size: u32::try_from(config.head.max_header_bytes).unwrap_or(u32::MAX),
        preface_timeout: header_timeout,
        idle_timeout: limits::H2_IDLE,
    });
    let builder = Server::build()
        .workers(workers)
        // actix-server counts per worker; the total is rounded up to a multiple of workers.
        .max_concurrent_connections(config.max_connections.max(1).div_ceil(workers))
        .shutdown_timeout(config.shutdown_timeout_secs);
    let mut builder = match tls {
        None => builder.listen("understudy", listener, move || {
            keep_awake(awake.as_ref());
            fn_service(move |io: TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                let protocol = match http2 {
                    None => Protocol::Http1,
                    Some(_) => match http2::sniff(&io, header_timeout).await {
                        http2::Sniffed::Http2 => Protocol::Http2,
                        http2::Sniffed::Http1 => Protocol::Http1,
                        http2::Sniffed::Silent => {
                            // As the head timeout answers a connection that never sent a head.
                            let mut io = io;
                            let _ = tokio::io::AsyncWriteExt::write_all(&mut io, io::TIMEOUT).await;
                            return Err(DispatchError::SlowRequestTimeout);
                        }
                    },
                };
                Ok::<_, DispatchError>((io, protocol, peer))
            })
            .and_then(dispatch(
                app.clone(),
                expect.clone(),
                header_timeout,
                head_timeout,
                http2,
            ))
        })?,
        Some(mut tls) => {
            tls.alpn_protocols = if http2.is_some() {
                vec![b"h2".to_vec(), b"http/1.1".to_vec()]
            } else {
                vec![b"http/1.1".to_vec()]
            };
            let acceptor = Acceptor::new(tls);
            builder.listen("understudy-tls", listener, move || {
                keep_awake(awake.as_ref());
                acceptor
                    .clone()
                    .map_err(|err| tracing::debug!("TLS handshake failed: {err}"))
                    .and_then(fn_service(move |io: TlsStream<TcpStream>| async move {
                        let peer = io.get_ref().0.peer_addr().ok();
                        let protocol = match io.get_ref().1.alpn_protocol() {
                            Some(b"h2") => Protocol::Http2,
                            _ => Protocol::Http1,
                        };
                        Ok::<_, ()>((io, protocol, peer))
                    }))
                    .and_then(
                        dispatch(
                            app.clone(),
                            expect.clone(),
                            header_timeout,
                            head_timeout,
                            http2,
                        )
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

/// Starts `awake`'s keeper on the worker whose services are being made (actix-server makes
/// them on the worker's own thread, once per worker).
fn keep_awake(awake: Option<&std::sync::Arc<awake::Awake>>) {
    if let Some(awake) = awake {
        actix_rt::spawn(awake.clone().keep());
    }
}

/// Serves one connection in the protocol it speaks: HTTP/1.1 through actix-http (with the
/// connection seam), HTTP/2 through [`http2`]; both reach the same app.
fn dispatch<T, A, S, X, XF>(
    app: A,
    expect: X,
    header_timeout: Duration,
    head_timeout: Option<Duration>,
    http2: Option<http2::Settings>,
) -> impl ServiceFactory<
    (T, Protocol, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = DispatchError,
    InitError = (),
>
where
    T: RawSocket + tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
    A: Fn() -> S + Clone + 'static,
    S: ServiceFactory<Request, Config = (), Response = Response<BoxBody>, InitError = ()> + 'static,
    S::Service: 'static,
    S::Error: Into<Response<BoxBody>> + 'static,
    X: Fn(Request) -> XF + Clone + 'static,
    XF: Future<Output = Result<Request, Response<BoxBody>>> + 'static,
{
    fn_factory(move || {
        let h1 = http_service(app(), expect.clone(), header_timeout);
        let h2_app = http2.map(|_| app());
        let expect = expect.clone();
        async move {
            let h1 = Rc::new(h1.new_service(()).await?);
            let h2_app = match h2_app {
                Some(factory) => Some(Rc::new(factory.new_service(()).await?)),
                None => None,
            };
            Ok::<_, ()>(fn_service(
                move |(io, protocol, peer): (T, Protocol, Option<SocketAddr>)| {
                    let h1 = h1.clone();
                    let h2 = h2_app.clone().zip(http2);
                    let expect = expect.clone();
                    async move {
                        match (protocol, h2) {
                            (Protocol::Http2, Some((app, settings))) => {
                                http2::serve(io, peer, app, expect, settings).await;
                                Ok(())
                            }
                            _ => {
                                h1.call((MockIo::new(io, head_timeout), Protocol::Http1, peer))
                                    .await
                            }
                        }
                    }
                },
            ))
        }
    })
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
