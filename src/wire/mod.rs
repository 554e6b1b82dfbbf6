//! The listener: actix-server and actix-http assembled by hand around the actix-web app.
//!
//! `actix_web::HttpServer` hides the seams understudy needs: actix-http's `expect` hook
//! (deciding `100 Continue` per request), per-connection extensions for wire faults, and the
//! TLS acceptor pipeline. Building the service here keeps those seams in one module; the app,
//! matching and responding code never see a socket.

use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use actix_http::HttpService;
use actix_server::Server;
use actix_service::map_config;
use actix_web::dev::AppConfig;
use actix_web::web;

use crate::app::{self, AppState};

pub mod body;
pub mod fault;

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

/// Builds the server on `listener`. It must be awaited (or spawned) inside an actix or tokio
/// runtime; signal handling is left to the caller (`disable_signals` when embedded).
pub fn serve(
    listener: TcpListener,
    state: web::Data<AppState>,
    config: &ListenerConfig,
    handle_signals: bool,
) -> std::io::Result<Server> {
    let request_timeout = config.client_request_timeout;
    let mut builder = Server::build()
        .workers(config.workers.max(1))
        .shutdown_timeout(config.shutdown_timeout_secs)
        .listen("understudy", listener, move || {
            let app = app::build(state.clone());
            HttpService::build()
                .client_request_timeout(request_timeout)
                .on_connect_ext(|io: &actix_rt::net::TcpStream, ext| {
                    if let Some(sock) = fault::ConnSocket::of(io) {
                        ext.insert(sock);
                    }
                })
                .finish(map_config(app, |_| AppConfig::default()))
                .tcp()
        })?;
    if !handle_signals {
        builder = builder.disable_signals();
    }
    Ok(builder.run())
}
