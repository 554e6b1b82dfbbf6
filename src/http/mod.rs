//! How a request is answered: everything between a parsed request head and the reply.
//!
//! - [`answer`]: `answer()`, the one path every mock request takes (read the body, select the
//!   route, render, pace, decide the reply) and the one place a request is journaled;
//! - `expect`: the `Expect: 100-continue` decision, made on the head through the same path;
//! - `body`: reading a request body within its size and time limits;
//! - [`respond`]: compiled answers → HTTP responses (heads, bodies, pacing, faults' response
//!   side) and understudy's own error answers;
//! - [`upgrade`]: protocol switches (WebSocket scripts and raw `101` upgrades);
//! - `proxy`: proxy answers (the request forwarded upstream, its answer streamed back);
//!   [`record`]: recording, the proxy path plus a capture that writes a scenario file;
//! - [`admin`]: the native admin API under `/__understudy/admin/` (and `/__admin/` in
//!   `native` mode); [`json`]: the shapes of its answers;
//! - [`ui`]: the live journal page at `/__understudy/ui` and the journal's event stream;
//! - [`wiremock_admin`]: WireMock's admin API under `/__admin/` in `wiremock` mode;
//!   [`wiremock_json`]: its shapes.
//!
//! This module decides; [`crate::wire`] carries out what needs the socket (interim responses,
//! swallowed `100`s, raw bytes, resets) and never decides what to answer or record. The app
//! is built once per worker and never changes: scenario changes arrive through the store's
//! snapshot, not through actix's router.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use actix_http::body::BoxBody;
use actix_http::{Request, RequestHead, Response};
use actix_service::{
    Service, ServiceFactory, ServiceFactoryExt as _, apply_fn_factory, map_config,
};
use actix_web::dev::AppConfig;
use actix_web::{App, web};
use futures_util::future::{Either, FutureExt as _, Ready, ready};

use crate::journal::Journal;
use crate::shared::{SharedStore, Unavailable};
use crate::store::Store;
use crate::wire::limits::HeadLimits;

pub mod admin;
pub mod answer;
mod body;
mod expect;
pub mod json;
mod proxy;
pub mod record;
pub mod respond;
pub mod ui;
pub mod upgrade;
pub mod wiremock_admin;
mod wiremock_files;
pub mod wiremock_json;

/// Which admin API `/__admin/` speaks (`--admin-api`); `/__understudy/admin/` is always native.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AdminApi {
    /// understudy's own admin API.
    #[default]
    Native,
    /// WireMock 3.x's admin API (mappings, requests, scenarios, settings…).
    Wiremock,
}

/// Trusts the certificates of a PEM file for `https://` upstreams (`--proxy-ca`), besides the
/// system's trust store, process-wide; how many it holds.
pub fn trust_proxy_ca(path: &std::path::Path) -> Result<usize, String> {
    proxy::trust_ca(path)
}

/// The reserved prefix no scenario can claim; unknown paths under it are understudy's 404.
pub const RESERVED_PREFIX: &str = "/__understudy";

/// State shared by every worker.
pub struct AppState {
    /// The scenario set.
    pub store: Arc<Store>,
    /// The request journal.
    pub journal: Arc<Journal>,
    /// Largest request body read, in bytes.
    pub max_body_bytes: usize,
    /// Time a request's body may take to arrive (`None`: no limit).
    pub body_timeout: Option<Duration>,
    /// Bearer token the admin API requires, if any.
    pub admin_token: Option<String>,
    /// Limits on request heads (`--max-uri-bytes`, `--max-header-bytes`).
    pub head_limits: HeadLimits,
    /// Largest WebSocket message accepted from a client.
    pub ws_max_message_bytes: usize,
    /// What `/__admin/` speaks.
    pub admin_api: AdminApi,
    /// `http` or `https` (for WireMock's logged requests).
    pub scheme: &'static str,
    /// When the server started (WireMock's `uptimeInSeconds`).
    pub started: std::time::Instant,
    /// The running server, to stop it on `POST /__admin/shutdown`.
    pub server: std::sync::OnceLock<actix_server::ServerHandle>,
    /// WireMock settings set through `/__admin/settings`.
    pub wiremock_settings: std::sync::Mutex<serde_json::Map<String, serde_json::Value>>,
    /// WireMock's global `fixedDelay` setting in milliseconds (`0`: none), for answers
    /// without a delay of their own.
    pub global_delay_ms: std::sync::atomic::AtomicU64,
    /// The recording, while one runs (`understudy record`, `…/recordings/start`).
    pub recorder: record::Recorder,
    /// The shared state store (`--state-store`), when replicas share state; `None` keeps
    /// everything in memory.
    pub shared: Option<Arc<SharedStore>>,
    /// Stirred by every request when the server keeps its workers awake (embedded servers).
    pub awake: Option<Arc<crate::wire::awake::Awake>>,
}

impl AppState {
    /// Keeps the workers awake a moment longer, when this server does (embedded servers).
    fn stir(&self) {
        if let Some(awake) = &self.awake {
            awake.stir();
        }
    }

    /// The journal admin reads see: the local one, or with a shared store every replica's.
    pub async fn journal_view(&self) -> Result<Arc<Journal>, Unavailable> {
        match &self.shared {
            None => Ok(self.journal.clone()),
            Some(shared) => shared.journal(self.journal.limits()).await,
        }
    }

    /// Copies the shared store's states into the local scenarios, when there is one (before
    /// the admin API shows states).
    pub async fn pull_states(&self) -> Result<(), Unavailable> {
        match &self.shared {
            None => Ok(()),
            Some(shared) => shared.pull_states(&self.store).await,
        }
    }

    /// Drops every journal entry (local and shared); how many there were.
    pub async fn clear_journal(&self) -> Result<usize, Unavailable> {
        let local = self.journal.clear();
        match &self.shared {
            None => Ok(local),
            Some(shared) => shared.clear_journal().await,
        }
    }

    /// Drops every journal entry and the eviction count (local and shared).
    pub async fn reset_journal(&self) -> Result<(), Unavailable> {
        self.journal.reset();
        match &self.shared {
            None => Ok(()),
            Some(shared) => shared.reset_journal().await,
        }
    }

    /// Every scenario state and sequence back to the start, and the journal when `journal`
    /// (for every replica, with a shared store).
    pub async fn reset_states(&self, journal: bool) -> Result<(), Unavailable> {
        if journal {
            self.journal.reset();
        }
        match &self.shared {
            None => {
                self.store.reset_all();
                Ok(())
            }
            Some(shared) => shared.reset(&self.store, journal).await,
        }
    }

    /// Drops the journal entries `pick` chooses (from every replica's, with a shared
    /// store); returns them.
    pub async fn remove_requests(
        &self,
        pick: impl Fn(&crate::journal::Entry) -> bool,
    ) -> Result<Vec<Arc<crate::journal::Entry>>, Unavailable> {
        match &self.shared {
            None => Ok(self.journal.remove_where(pick)),
            Some(shared) => {
                let view = shared.journal(self.journal.limits()).await?;
                let gone = view.remove_where(&pick);
                let ids: Vec<u64> = gone.iter().map(|e| e.id).collect();
                shared.remove_entries(&ids).await?;
                Ok(gone)
            }
        }
    }

    /// The delay WireMock's `fixedDelay` setting gives an answer without its own.
    pub fn global_delay(&self) -> Option<Duration> {
        match self
            .global_delay_ms
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            0 => None,
            ms => Some(Duration::from_millis(ms)),
        }
    }
}

/// The actix-web application: the admin scope and the catch-all mock handler.
fn app(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let admin_api = state.admin_api;
    App::new()
        .app_data(web::PayloadConfig::new(state.max_body_bytes))
        .app_data(state)
        .service(admin::scope(admin::NATIVE_PREFIX))
        // The page holds no data (it asks for the token itself): served without one.
        .route(ui::PATH, web::get().to(ui::page))
        .route(&format!("{}/", ui::PATH), web::get().to(ui::page))
        .service(
            web::scope(RESERVED_PREFIX)
                .wrap(actix_web::middleware::from_fn(admin::require_token))
                .default_service(web::to(admin::not_found)),
        )
        .configure(|cfg| match admin_api {
            AdminApi::Native => {
                cfg.service(admin::scope(admin::PREFIX));
            }
            AdminApi::Wiremock => {
                cfg.service(wiremock_admin::scope());
            }
        })
        .default_service(web::to(mock))
}

/// The catch-all handler: every request outside `/__admin/` and `/__understudy/` is answered by [`answer::answer`].
async fn mock(
    req: actix_web::HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> actix_web::HttpResponse {
    answer::answer(&state, answer::Incoming::app(&req, payload)).await
}

/// The service one connection's requests go to: heads over a limit are refused (and
/// journaled) before anything else, admin calls included; the rest go to the app.
pub fn service(
    state: web::Data<AppState>,
) -> impl ServiceFactory<
    Request,
    Config = (),
    Response = Response<BoxBody>,
    Error = actix_web::Error,
    InitError = (),
> {
    let app =
        map_config(app(state.clone()), |_| AppConfig::default()).map(Response::<BoxBody>::from);
    apply_fn_factory(app, move |mut req: Request, srv| -> Routed<_> {
        state.stir();
        if let Some(resp) = answer::refuse_head(&state, req.head()) {
            return Either::Left(ready(Ok(resp.into())));
        }
        if !straight_to_answer(req.head()) {
            return Either::Right(Either::Left(srv.call(req)));
        }
        let state = state.clone();
        Either::Right(Either::Right(Box::pin(async move {
            let payload = req.take_payload();
            let resp = answer::answer(&state, answer::Incoming::direct(&req, payload)).await;
            // The window runs from the answer too: a test's next request after a delayed one.
            state.stir();
            Ok(resp.into())
        })))
    })
}

/// Whether a request goes straight to [`answer::answer`], past the app's routing and
/// extractors: one the app would hand to the catch-all handler anyway (its path is outside
/// `/__…`, where the admin API, the page and the reserved prefix live) and that cannot switch
/// protocols (no `Upgrade`: WebSocket and raw upgrades need the app's request).
fn straight_to_answer(head: &RequestHead) -> bool {
    !head.uri.path().starts_with("/__") && !head.headers.contains_key(actix_http::header::UPGRADE)
}

/// A refused head's answer, the app's future, or the answer of a request straight from its
/// connection.
type Routed<F> = Either<
    Ready<Result<Response<BoxBody>, actix_web::Error>>,
    Either<F, Pin<Box<dyn Future<Output = Result<Response<BoxBody>, actix_web::Error>>>>>,
>;

/// The `Expect: 100-continue` decision for one head: `Ok` sends `100 Continue` and goes on
/// to the app, `Err` is the final answer (the body is never read).
pub type Decision = Pin<Box<dyn Future<Output = Result<Request, Response<BoxBody>>>>>;

/// The `Expect: 100-continue` hook: decides each head that asks for `100 Continue`.
pub fn expect(state: web::Data<AppState>) -> impl Fn(Request) -> Decision + Clone + Send + 'static {
    move |req| expect::decide(state.clone(), req).boxed_local()
}
