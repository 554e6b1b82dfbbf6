//! The whole server, as the `understudy` binary runs it: load the scenarios, bind, serve.
//!
//! [`start`] takes a [`ServeConfig`] (every `serve` flag has a field here) and returns a
//! [`Running`] server to await. The types the configuration is made of are re-exported here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::http::{self, AppState};
use crate::journal::Journal;
use crate::shared::SharedStore;
use crate::store::Store;
use crate::watch::{self, WatchHandle};
use crate::wire::{self, tls};

pub use crate::http::AdminApi;
pub use crate::http::record::{MatchKey, Mode as RecordMode, RecordSettings};
pub use crate::journal::JournalLimits;
pub use crate::scenario::load::{
    DEFAULT_MAX_ROUTES_PER_FILE, DEFAULT_MAX_SCENARIO_FILE_BYTES, Limits as ScenarioLimits,
};
pub use crate::scenario::template::FUEL as DEFAULT_TEMPLATE_FUEL;
pub use crate::shared::{
    DEFAULT_PREFIX as DEFAULT_STATE_PREFIX, DEFAULT_TIMEOUT as DEFAULT_STATE_TIMEOUT,
    StateStoreConfig,
};
pub use crate::store::Source;
pub use crate::watch::WatchMode;
pub use crate::wire::ListenerConfig;
pub use crate::wire::limits::{
    DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_HEADER_BYTES,
    DEFAULT_MAX_URI_BYTES, DEFAULT_WS_MAX_MESSAGE_BYTES, HeadLimits, PARSER_MAX_HEAD,
    PARSER_MAX_URI,
};
pub use crate::wire::tls::{TlsError, TlsSource, default_self_signed_path};

/// Default `--max-body-bytes`: 10 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 10 * 1024 * 1024;
/// Default `--body-timeout-ms`: time a client has to send a whole request body.
pub const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// What `understudy serve` needs to run.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where scenario files come from.
    pub scenarios: Source,
    /// Address to bind; port 0 picks a free port.
    pub bind: SocketAddr,
    /// Largest request body read, in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a request's whole body, once its head arrived
    /// (`--body-timeout-ms`; zero: no limit).
    pub body_timeout: Duration,
    /// Bearer token the admin API requires, if any.
    pub admin_token: Option<String>,
    /// Journal bounds.
    pub journal: JournalLimits,
    /// How scenario file changes are noticed.
    pub watch: WatchMode,
    /// Rescan interval for [`WatchMode::Poll`], and when native events are unavailable and
    /// polling takes over.
    pub poll_interval: std::time::Duration,
    /// Serve HTTPS with this certificate.
    pub tls: Option<TlsSource>,
    /// Listener tuning.
    pub listener: ListenerConfig,
    /// Whether the server reacts to SIGINT/SIGTERM itself (the binary does; embedders don't).
    pub handle_signals: bool,
    /// Bounds on each scenario file (`--max-scenario-file-bytes`, `--max-routes-per-file`);
    /// [`start`] replaces their `template_fuel` with [`ServeConfig::template_fuel`].
    pub scenario_limits: ScenarioLimits,
    /// Fuel per template render (`--template-fuel`), for this server's templates only.
    pub template_fuel: u64,
    /// What `/__admin/` speaks (`--admin-api`); `/__understudy/admin/` is always native.
    pub admin_api: AdminApi,
    /// Start recording at once (`understudy record`).
    pub recording: Option<RecordSettings>,
    /// Certificates (PEM) trusted for `https://` upstreams beside the system's trust store
    /// (`--proxy-ca`), for proxy answers and recording. They are trusted process-wide.
    pub proxy_ca: Option<PathBuf>,
    /// OpenAPI documents served beside the scenarios (`--openapi`), hot-reloaded like them.
    pub openapi: Vec<PathBuf>,
    /// Whether OpenAPI operations validate requests (`--openapi-validate`, default on).
    pub openapi_validate: bool,
    /// Where scenario states, sequence positions and the journal live when replicas share
    /// them (`--state-store`, connected with [`StateStore::connect`]); `None`: in memory.
    pub state_store: Option<StateStore>,
}

/// A connected shared state store (Redis): scenario states, sequence positions and the
/// journal of every replica that uses the same store and key prefix.
#[derive(Debug, Clone)]
pub struct StateStore(Arc<SharedStore>);

impl StateStore {
    /// Connects to `config.url` and checks that it answers (`PING`), within
    /// `config.timeout`. The error names the URL.
    pub async fn connect(config: &StateStoreConfig) -> Result<StateStore, StartError> {
        SharedStore::connect(config)
            .await
            .map(StateStore)
            .map_err(StartError::StateStore)
    }
}

impl ServeConfig {
    /// Defaults for serving the directory `scenarios` on `127.0.0.1:8080`.
    pub fn new(scenarios: impl Into<PathBuf>) -> Self {
        Self::with_source(Source::Dir(scenarios.into()))
    }

    /// Defaults for serving `source` on `127.0.0.1:8080`.
    pub fn with_source(source: Source) -> Self {
        ServeConfig {
            scenarios: source,
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            admin_token: None,
            journal: JournalLimits::default(),
            watch: WatchMode::Off,
            poll_interval: std::time::Duration::from_millis(500),
            tls: None,
            listener: ListenerConfig::default(),
            handle_signals: false,
            scenario_limits: Default::default(),
            template_fuel: crate::scenario::template::FUEL,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            admin_api: AdminApi::Native,
            recording: None,
            proxy_ca: None,
            openapi: Vec::new(),
            openapi_validate: true,
            state_store: None,
        }
    }
}

/// A started server.
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Its request journal.
    pub(crate) journal: Arc<Journal>,
    /// The file watcher, while watching.
    pub(crate) watcher: Option<WatchHandle>,
    /// The actix server; await it to run until shutdown, or use its handle to stop it.
    pub server: actix_server::Server,
    /// What keeps its workers awake after a request, when [`ListenerConfig::awake`] is set.
    pub(crate) awake: Option<Arc<wire::awake::Awake>>,
}

/// Errors that keep a server from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The scenarios cannot be read.
    #[error("cannot read scenarios {dir}")]
    Scenarios {
        /// The directory or file.
        dir: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// TLS cannot be set up.
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// `--proxy-ca` cannot be read.
    #[error("--proxy-ca: {0}")]
    ProxyCa(String),
    /// The recording cannot start.
    #[error("cannot record: {0}")]
    Recording(String),
    /// The shared state store cannot be reached (the message names its URL).
    #[error("{0}")]
    StateStore(String),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Loads the scenarios (logging every problem; bad files are skipped, good ones serve),
/// binds and starts serving. Call inside an actix or tokio runtime.
pub fn start(config: ServeConfig) -> Result<Running, StartError> {
    let limits = crate::scenario::load::Limits {
        template_fuel: config.template_fuel,
        openapi_validate: config.openapi_validate,
        ..config.scenario_limits
    };
    let store = Arc::new(
        Store::new(config.scenarios.clone())
            .with_limits(limits)
            .with_specs(config.openapi.clone()),
    );
    let shown = match &config.scenarios {
        Source::Dir(p) | Source::File(p) => p.clone(),
        Source::None => PathBuf::from("(no files)"),
    };
    let problems = store.reload().map_err(|source| StartError::Scenarios {
        dir: shown.clone(),
        source,
    })?;
    for problem in &problems {
        tracing::error!("{problem}");
    }
    let snapshot = store.snapshot();
    tracing::info!(
        "loaded {} scenarios with {} routes from {} ({} files with errors)",
        snapshot.index.scenarios().len(),
        snapshot.index.len(),
        shown.display(),
        store.error_count(),
    );
    let watcher = start_watching(&store, config.watch, config.poll_interval);
    let mut running = start_with(config, store)?;
    running.watcher = watcher;
    Ok(running)
}

/// Starts the watcher for `mode`; a native watcher that cannot start falls back to polling.
pub(crate) fn start_watching(
    store: &Arc<Store>,
    mode: WatchMode,
    poll: std::time::Duration,
) -> Option<WatchHandle> {
    match watch::spawn(store.clone(), mode, poll) {
        Ok(handle) => handle,
        Err(err) if matches!(mode, WatchMode::Auto | WatchMode::Native) => {
            tracing::warn!(
                "native file events unavailable ({err}); polling every {} ms instead",
                poll.as_millis()
            );
            watch::spawn(store.clone(), WatchMode::Poll, poll).unwrap_or_else(|err| {
                tracing::error!("cannot watch scenario files: {err}; use POST /__admin/reload");
                None
            })
        }
        Err(err) => {
            tracing::error!("cannot watch scenario files: {err}; use POST /__admin/reload");
            None
        }
    }
}

/// Starts serving an already loaded store (with the limits and template fuel it was made
/// with; `scenario_limits` and `template_fuel` of `config` are not used).
pub(crate) fn start_with(config: ServeConfig, store: Arc<Store>) -> Result<Running, StartError> {
    if let Some(ca) = &config.proxy_ca {
        let n = http::trust_proxy_ca(ca).map_err(StartError::ProxyCa)?;
        tracing::info!(
            "trusting {n} certificates of {} for https upstreams",
            ca.display()
        );
    }
    let journal = Arc::new(Journal::new(config.journal));
    let awake = Some(config.listener.awake)
        .filter(|window| !window.is_zero())
        .map(wire::awake::Awake::new);
    let state = web::Data::new(AppState {
        store: store.clone(),
        journal: journal.clone(),
        max_body_bytes: config.max_body_bytes,
        body_timeout: Some(config.body_timeout).filter(|t| !t.is_zero()),
        admin_token: config.admin_token.clone(),
        head_limits: config.listener.head,
        ws_max_message_bytes: config.listener.ws_max_message_bytes,
        admin_api: config.admin_api,
        scheme: if config.tls.is_some() {
            "https"
        } else {
            "http"
        },
        started: std::time::Instant::now(),
        server: std::sync::OnceLock::new(),
        wiremock_settings: std::sync::Mutex::new(serde_json::Map::new()),
        global_delay_ms: std::sync::atomic::AtomicU64::new(0),
        recorder: http::record::Recorder::new(store.clone()),
        shared: config.state_store.as_ref().map(|s| s.0.clone()),
        awake: awake.clone(),
    });
    if let Some(recording) = config.recording.clone() {
        state
            .recorder
            .start(recording)
            .map_err(StartError::Recording)?;
    }
    let tls = config.tls.as_ref().map(tls::load).transpose()?;
    let (listener, addr) = wire::bind(config.bind).map_err(|source| StartError::Bind {
        addr: config.bind,
        source,
    })?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(t) = &tls {
        tracing::info!(
            "TLS certificate {} (SHA-256 {}); trust it with e.g. curl --cacert {}",
            t.cert_path.display(),
            t.fingerprint,
            t.cert_path.display()
        );
    }
    let app_state = state.clone();
    let shutdown = state.clone();
    let server = wire::serve(
        listener,
        &config.listener,
        config.handle_signals,
        tls.map(|t| t.config),
        move || http::service(app_state.clone()),
        http::expect(state),
        awake.clone(),
    )
    .map_err(|source| StartError::Bind { addr, source })?;
    let _ = shutdown.server.set(server.handle());
    if let Some(store) = &config.state_store {
        tracing::info!(
            "scenario states, sequences and the journal are shared through {}",
            store.0.url()
        );
    }
    tracing::info!("listening on {scheme}://{addr}");
    Ok(Running {
        addr,
        scheme,
        journal,
        watcher: None,
        server,
        awake,
    })
}
