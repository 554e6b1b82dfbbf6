//! The listener: actix-server and actix-http assembled by hand around the actix-web app.
//!
//! `actix_web::HttpServer` hides the seams understudy needs: actix-http's `expect` hook
//! (deciding `100 Continue` per request), per-connection extensions for wire faults, and the
//! TLS acceptor pipeline. Building the service here keeps those seams in one module; the app,
//! matching and responding code never see a socket.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{HttpService, Protocol};
use actix_rt::net::TcpStream;
use actix_server::Server;
use actix_service::{ServiceFactory, ServiceFactoryExt as _, fn_service, map_config};
use actix_tls::accept::rustls_0_23::{Acceptor, TlsStream};
use actix_web::dev::AppConfig;
use actix_web::web;

use crate::app::{self, AppState};

pub mod body;
pub mod expect;
pub mod fault;
pub mod io;
pub mod tls;

use io::MockIo;

/// Listener settings.
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    /// Worker threads (one event loop each).
    pub workers: usize,
    /// Seconds a graceful shutdown waits for open requests before closing them.
    pub shutdown_timeout_secs: u64,
    /// Time a client has to send a complete request head.
    pub client_request_timeout: Duration,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            shutdown_timeout_secs: 1,
            client_request_timeout: Duration::from_secs(5),
        }
    }
}

/// Binds `addr` (port 0 picks a free port) and returns the listener and its real address.
pub fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr)?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Builds the server on `listener` (TLS when `tls` is given). It must be awaited (or
/// spawned) inside an actix or tokio runtime; signal handling is left to the caller
/// (`handle_signals: false` when embedded).
pub fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    config: &ListenerConfig,
    handle_signals: bool,
    tls: Option<rustls::ServerConfig>,
) -> std::io::Result<Server> {
    let request_timeout = config.client_request_timeout;
    let builder = Server::build()
        .workers(config.workers.max(1))
        .shutdown_timeout(config.shutdown_timeout_secs);
    let mut builder = match tls {
        None => builder.listen("understudy", listener, move || {
            fn_service(|io: TcpStream| async move {
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                Ok::<_, DispatchError>((MockIo::new(io), Protocol::Http1, peer))
            })
            .and_then(http_service(state.clone(), request_timeout))
        })?,
        Some(tls) => {
            let acceptor = Acceptor::new(tls);
            builder.listen("understudy-tls", listener, move || {
                acceptor
                    .clone()
                    .map_err(|err| tracing::debug!("TLS handshake failed: {err}"))
                    .and_then(fn_service(|io: TlsStream<TcpStream>| async move {
                        let peer = io.get_ref().0.peer_addr().ok();
                        Ok::<_, ()>((MockIo::new(io), Protocol::Http1, peer))
                    }))
                    .and_then(
                        http_service(state.clone(), request_timeout)
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

/// The HTTP/1.1 service for one connection type: the expect hook, the connection seam and
/// the app.
fn http_service<T>(
    state: web::Data<AppState>,
    request_timeout: Duration,
) -> impl ServiceFactory<
    (MockIo<T>, Protocol, Option<SocketAddr>),
    Config = (),
    Response = (),
    Error = DispatchError,
    InitError = (),
>
where
    T: RawSocket + tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + 'static,
{
    let app = app::build(state.clone());
    let expect_state = state.clone();
    HttpService::build()
        .client_request_timeout(request_timeout)
        .on_connect_ext(|io: &MockIo<T>, ext| {
            ext.insert(io.control());
            if let Some(sock) = fault::ConnSocket::of(io.inner().tcp()) {
                ext.insert(sock);
            }
        })
        .expect(fn_service(move |req: actix_http::Request| {
            expect::decide(expect_state.clone(), req)
        }))
        .finish(map_config(app, |_| AppConfig::default()))
}
