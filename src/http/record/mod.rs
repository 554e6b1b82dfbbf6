//! Recording: the proxy answer path plus a capture step that writes a native scenario file.
//!
//! A recording is a [`Session`] held by the server's [`Recorder`] (one at a time): the target
//! (a compiled `proxy` answer), the file it writes (`into`), its [`Mode`] and its
//! [`MatchKey`]. `answer()` asks [`Session::takes`] about each request once its body is read:
//! in `always` mode every request goes to the target (before any route, recorded ones
//! included); in `on-miss` mode a request goes when no route takes it, or when the route
//! that would take it is a recorded one for another key (a recorded `GET /items` must not
//! answer `GET /items?page=2`). When no recording runs this costs one atomic load.
//!
//! The answer is streamed to the client as it arrives (`http/proxy.rs`) through a tee that
//! keeps a copy (`spool`: in memory up to a threshold, then in a temporary file in the
//! recording's folder, written on the blocking pool; up to [`capture::MAX_BODY`]); when the
//! upstream's body is complete, the
//! capture runs on the blocking pool before the client's answer ends: the body is decoded and
//! written into the file (`file.rs`, one writer at a time), and the store reloads, so the next
//! request is already answered from the file. An upstream that fails (`502`/`504`) or breaks
//! off is not recorded. The file is an ordinary scenario: inside the scenarios directory the
//! store serves it like any other, outside it the store serves it as an extra file.
//!
//! - `key`: the match key, the `request` matcher it is written as, and redaction;
//! - `spool`: a captured body kept in memory, or on disk past a threshold;
//! - `capture`: an upstream answer as a native `response` (decoded, cleaned, redacted);
//! - `file`: the recording's file: merging, route order, atomic writes, body files;
//! - [`api`]: the admin API's `recordings/start|stop|status` (and WireMock's); `stubs`:
//!   recorded routes as WireMock stubs for WireMock's `recordings/stop`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_http::RequestHead;
use actix_http::header::UPGRADE;
use actix_web::{HttpResponse, web};
use arc_swap::{ArcSwap, ArcSwapOption};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde_json::Value;

use super::proxy::{self, UpstreamBody};
use crate::matching::RequestView;
use crate::scenario::compiled::Proxy;
use crate::store::{Snapshot, Store};

pub mod api;
mod capture;
mod file;
mod key;
mod spool;
mod stubs;

pub use key::MatchKey;

use capture::{Answer, MAX_BODY};
use file::RecordFile;
use key::{Key, RequestParts};
use spool::{Spool, Spooled};

/// Which requests a recording sends to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    /// Those no route answers (default); a recorded request is answered from the file.
    #[default]
    OnMiss,
    /// Every request; a repeated key becomes one route with a `responses` script.
    Always,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "on-miss" | "onmiss" => Ok(Mode::OnMiss),
            "always" => Ok(Mode::Always),
            other => Err(format!(
                "unknown recording mode {other:?}; expected on-miss or always"
            )),
        }
    }
}

impl Mode {
    /// `on-miss` or `always`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::OnMiss => "on-miss",
            Mode::Always => "always",
        }
    }
}

/// What a recording needs to start (`understudy record`, or the admin API).
#[derive(Debug, Clone)]
pub struct RecordSettings {
    /// The upstream's base URL (`http://host:port[/path]` or `https://…`).
    pub target: String,
    /// The scenario file written.
    pub into: PathBuf,
    /// Which requests go to the target.
    pub mode: Mode,
    /// What tells recorded requests apart.
    pub key: MatchKey,
    /// Write the upstream's observed latency as `delayMs`.
    pub keep_latency: bool,
}

impl RecordSettings {
    /// Defaults: `on-miss`, the default key, no latency.
    pub fn new(target: impl Into<String>, into: impl Into<PathBuf>) -> Self {
        RecordSettings {
            target: target.into(),
            into: into.into(),
            mode: Mode::OnMiss,
            key: MatchKey::default(),
            keep_latency: false,
        }
    }
}

/// A recording that stopped: where it wrote and the routes it added or changed.
pub struct Stopped {
    /// The file written.
    pub into: PathBuf,
    /// The routes this session wrote, as they are in the file.
    pub routes: Vec<Value>,
}

/// The server's recording, if one runs.
pub struct Recorder {
    current: ArcSwapOption<Session>,
    /// The routes the last stopped recording wrote, and its file.
    last: Mutex<Option<Stopped>>,
    store: Arc<Store>,
    /// Serializes start and stop.
    switching: Mutex<()>,
}

impl Recorder {
    /// No recording, for the server over `store`.
    pub fn new(store: Arc<Store>) -> Self {
        Recorder {
            current: ArcSwapOption::empty(),
            last: Mutex::new(None),
            store,
            switching: Mutex::new(()),
        }
    }

    /// The running recording, if any (one atomic load).
    pub fn active(&self) -> Option<Arc<Session>> {
        self.current.load_full()
    }

    /// Whether every request goes to the target now (`always` mode).
    pub fn takes_all(&self) -> bool {
        self.current
            .load()
            .as_ref()
            .is_some_and(|s| s.mode == Mode::Always)
    }

    /// Starts recording (reading the file when it exists, to merge into it). Blocking: it
    /// reads and writes the file and reloads the store.
    pub fn start(&self, settings: RecordSettings) -> Result<Arc<Session>, String> {
        let _one = self.switching.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(running) = self.current.load_full() {
            return Err(format!(
                "a recording into {} is running; stop it first",
                running.into.display()
            ));
        }
        let session = Arc::new(Session::open(settings, self.store.clone())?);
        self.current.store(Some(session.clone()));
        tracing::info!(
            "recording {} from {} into {}",
            session.mode.as_str(),
            session.target_url,
            session.into.display()
        );
        Ok(session)
    }

    /// Stops the recording; `None` when none runs. Captures still under way finish.
    pub fn stop(&self) -> Option<Stopped> {
        let _one = self.switching.lock().unwrap_or_else(|p| p.into_inner());
        let session = self.current.swap(None)?;
        let routes = session.lock().written();
        tracing::info!(
            "recording stopped: {} routes written into {}",
            routes.len(),
            session.into.display()
        );
        let stopped = Stopped {
            into: session.into.clone(),
            routes,
        };
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(Stopped {
            into: stopped.into.clone(),
            routes: stopped.routes.clone(),
        });
        Some(stopped)
    }

    /// Whether a recording ever started on this server.
    pub fn ever_started(&self) -> bool {
        self.current.load().is_some() || self.last.lock().is_ok_and(|l| l.is_some())
    }

    /// The routes the running recording wrote so far (else the last one's), and its file.
    pub fn written(&self) -> (Vec<Value>, PathBuf) {
        if let Some(session) = self.active() {
            return (session.lock().written(), session.into.clone());
        }
        match &*self.last.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(last) => (last.routes.clone(), last.into.clone()),
            None => (Vec::new(), PathBuf::new()),
        }
    }
}

/// One recording.
pub struct Session {
    target: Proxy,
    target_url: String,
    into: PathBuf,
    mode: Mode,
    key: MatchKey,
    keep_latency: bool,
    store: Arc<Store>,
    /// The file; one writer at a time.
    file: Mutex<RecordFile>,
    /// What requests consult without waiting for a writer.
    index: ArcSwap<Index>,
}

/// The recorded keys and the full names of the recorded routes, as last written.
#[derive(Default)]
struct Index {
    keys: HashSet<String>,
    routes: HashSet<String>,
}

impl Session {
    fn open(settings: RecordSettings, store: Arc<Store>) -> Result<Self, String> {
        let target = compile_target(&settings.target)?;
        let into = absolute(&settings.into)?;
        if into.extension().is_none_or(|e| e != "json") {
            return Err(format!(
                "{}: a recording is a scenario file and its name must end in .json",
                into.display()
            ));
        }
        if let Some(parent) = into.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|err| format!("cannot create {}: {err}", parent.display()))?;
        }
        let mut file = RecordFile::open(&into)?;
        if !into.exists() {
            file.write()?;
        }
        store.add_file(&into);
        let session = Session {
            target,
            target_url: settings.target.trim().to_owned(),
            into,
            mode: settings.mode,
            key: settings.key,
            keep_latency: settings.keep_latency,
            store,
            file: Mutex::new(file),
            index: ArcSwap::default(),
        };
        session.reload();
        Ok(session)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RecordFile> {
        self.file.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The request's key when it goes to the target (see the module docs); `None`: it is
    /// answered by the routes as usual.
    pub fn takes(&self, snapshot: &Snapshot, head: &RequestHead, body: &[u8]) -> Option<Key> {
        // Protocol switches and WebSockets are not recorded.
        if head.headers.contains_key(UPGRADE) {
            return None;
        }
        let query = head.uri.query().unwrap_or("");
        let parts = RequestParts {
            method: head.method.as_str(),
            path: head.uri.path(),
            raw_query: query,
            headers: &head.headers,
            body,
        };
        let key = self.key.of(&parts);
        if self.mode == Mode::Always {
            return Some(key);
        }
        let index = self.index.load();
        if index.keys.contains(&key.text) {
            return None;
        }
        let view = RequestView::new(parts.method, parts.path, query, &head.headers, body);
        match snapshot.index.peek(&view) {
            None => Some(key),
            Some(route) if index.routes.contains(&*route.full_name) => Some(key),
            Some(_) => None,
        }
    }

    /// Re-reads the store and notes what the file now serves.
    fn reload(&self) {
        match self.store.refresh() {
            Ok(report) => {
                for change in &report.changes {
                    for err in &change.errors {
                        tracing::error!("recording: {err}");
                    }
                }
            }
            Err(err) => tracing::error!("recording: cannot reload the scenarios: {err}"),
        }
        let (keys, ids, name) = {
            let file = self.lock();
            (
                file.keys().iter().cloned().collect::<HashSet<_>>(),
                file.ids(),
                file.name().map(str::to_owned),
            )
        };
        let served = self.served_name().or(name);
        let routes = served
            .map(|n| ids.iter().map(|id| format!("{n}/{id}")).collect())
            .unwrap_or_default();
        self.index.store(Arc::new(Index { keys, routes }));
    }

    /// The name the store serves the file under.
    fn served_name(&self) -> Option<String> {
        let into = self.into.canonicalize().ok()?;
        self.store
            .files()
            .into_iter()
            .find(|f| f.display.canonicalize().ok().as_deref() == Some(into.as_path()))
            .and_then(|f| f.serving.map(|s| s.name.clone()))
    }

    /// The recording's folder: where captured bodies spool, beside their final place.
    fn folder(&self) -> PathBuf {
        match self.into.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    /// Writes one exchange into the file and reloads (blocking).
    fn capture(&self, exchange: Exchange) -> Result<(), String> {
        let captured = capture::capture(exchange.answer, self.keep_latency, &self.folder());
        let changed = {
            let mut file = self.lock();
            file.catch_up()?;
            let changed = file.add(
                self.mode,
                &exchange.key,
                &exchange.method,
                &exchange.path,
                captured,
            )?;
            if changed {
                file.write()?;
            }
            changed
        };
        if changed {
            self.reload();
        }
        Ok(())
    }
}

/// The target URL as a `proxy` answer (validated like a scenario's `proxy.to`).
fn compile_target(target: &str) -> Result<Proxy, String> {
    use crate::scenario::compiled::Answers;
    let doc = serde_json::json!({
        "routes": [ { "response": { "proxy": { "to": target.trim() } } } ]
    })
    .to_string();
    let display = PathBuf::from("--target");
    let origin = crate::scenario::ctx::Origin {
        display: &display,
        source: &doc,
        root: None,
        dir: Path::new("."),
        default_name: "recording".into(),
        relative: None,
        limits: Default::default(),
    };
    let compiled = crate::scenario::load::compile_source(&origin).map_err(|diags| {
        let reasons: Vec<String> = diags.into_iter().map(|d| d.message).collect();
        format!("--target: {}", reasons.join("; "))
    })?;
    let proxy = compiled
        .routes
        .into_iter()
        .next()
        .and_then(|r| match r.answers {
            Answers::One(answer) => answer.proxy,
            Answers::Script { .. } => None,
        })
        .ok_or_else(|| format!("--target {target:?} is not an upstream URL"))?;
    Arc::try_unwrap(proxy).map_err(|_| "--target: the compiled proxy is shared".to_owned())
}

/// `path` made absolute against the working directory.
fn absolute(path: &Path) -> Result<PathBuf, String> {
    std::path::absolute(path).map_err(|err| format!("{}: {err}", path.display()))
}

/// One exchange to write.
struct Exchange {
    key: Key,
    method: String,
    path: String,
    answer: Answer,
}

/// What a capture needs from the request, and the answer's head.
struct Pending {
    session: Arc<Session>,
    key: Key,
    method: String,
    path: String,
    status: actix_web::http::StatusCode,
    headers: Vec<(
        actix_http::header::HeaderName,
        actix_http::header::HeaderValue,
    )>,
    took: Duration,
}

impl Pending {
    /// Writes the exchange with `body` (on the blocking pool) and waits for it.
    async fn finish(self, body: Spooled) {
        let Pending {
            session,
            key,
            method,
            path,
            status,
            headers,
            took,
        } = self;
        let shown = format!("{method} {path}");
        let exchange = Exchange {
            key,
            method,
            path,
            answer: Answer {
                status,
                headers,
                body,
                took,
            },
        };
        match web::block(move || session.capture(exchange)).await {
            Ok(Ok(())) => tracing::debug!("recorded {shown}"),
            Ok(Err(err)) => tracing::error!("recording {shown}: {err}"),
            Err(err) => tracing::error!("recording {shown}: {err}"),
        }
    }
}

/// Sends the request to the recording's target and streams the answer back, capturing it;
/// the upstream's head time when it answered. With `keep` (a bound in bytes), the answer is
/// also kept for the journal, as [`proxy::forward`] keeps it.
pub(super) async fn forward(
    session: Arc<Session>,
    key: Key,
    head: &RequestHead,
    scheme: &str,
    body: Bytes,
    keep: Option<usize>,
) -> (
    HttpResponse,
    Option<Duration>,
    Option<Arc<crate::journal::Upstream>>,
) {
    let upstream = match proxy::send(&session.target, head, scheme, body).await {
        Ok(upstream) => upstream,
        Err(failed) => return (failed, None, None),
    };
    let took = upstream.took;
    let (answer, stream) = upstream.split();
    let kept = keep.map(|bound| (proxy::kept_head(&answer, bound), bound));
    let journal = kept.as_ref().map(|(k, _)| k.clone());
    let pending = Pending {
        session,
        key,
        method: head.method.as_str().to_owned(),
        path: head.uri.path().to_owned(),
        status: answer.status,
        headers: answer.headers.clone(),
        took,
    };
    let status = answer.status;
    let bodiless = head.method == actix_http::Method::HEAD
        || answer.length == Some(0)
        || status.is_informational()
        || status == actix_web::http::StatusCode::NO_CONTENT
        || status == actix_web::http::StatusCode::NOT_MODIFIED;
    if bodiless {
        // The server sends no body here and does not read one: record now.
        pending.finish(Spooled::Memory(Vec::new())).await;
        if let Some((kept, _)) = &kept {
            let _ = kept.body.set(Bytes::new());
        }
        return (answer.reply(stream), Some(took), journal);
    }
    let spool = Spool::new(&pending.session.folder());
    let tee = Tee {
        body: stream,
        spool: Some(spool),
        waiting: Vec::new(),
        seen: 0,
        length: answer.length,
        pending: Some(pending),
        journal: kept.map(|(kept, bound)| (kept, Some(Vec::new()), bound)),
    };
    (answer.reply(tee.into_stream()), Some(took), journal)
}

/// Bytes gathered before they go to a spooled file in one blocking write.
const WRITE_BATCH: usize = 256 * 1024;

/// The upstream's body on its way to the client, a copy kept for the capture (in memory up
/// to a threshold, then in a temporary file: memory stays bounded whatever the body's size).
struct Tee {
    body: UpstreamBody,
    /// `None` once the copy is given up (past [`MAX_BODY`], or the disk failed).
    spool: Option<Spool>,
    /// Bytes not yet handed to a spool that writes to disk.
    waiting: Vec<u8>,
    seen: u64,
    length: Option<u64>,
    pending: Option<Pending>,
    /// The copy kept for the journal (WireMock's `recordings/snapshot`): where it goes, the
    /// bytes so far (`None` past the bound), the bound.
    journal: Option<JournalCopy>,
}

/// See [`Tee::journal`].
type JournalCopy = (Arc<crate::journal::Upstream>, Option<Vec<u8>>, usize);

impl Tee {
    fn into_stream(
        self,
    ) -> impl futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> {
        futures_util::stream::unfold(Some(self), |tee| async move {
            let mut tee = tee?;
            match tee.body.next().await {
                Some(Ok(chunk)) => {
                    tee.keep(&chunk).await;
                    // With a Content-Length the client knows the body is complete with its
                    // last byte: record before sending it.
                    if tee.length.is_some_and(|len| tee.seen >= len) {
                        tee.finish().await;
                    }
                    Some((Ok(chunk), Some(tee)))
                }
                Some(Err(err)) => {
                    tracing::warn!(
                        "recording: the upstream's body broke off ({err}); not recorded"
                    );
                    Some((Err(err), None))
                }
                None => {
                    tee.finish().await;
                    None
                }
            }
        })
    }

    async fn keep(&mut self, chunk: &Bytes) {
        if let Some((_, copy, bound)) = &mut self.journal
            && let Some(bytes) = copy
        {
            if bytes.len() + chunk.len() > *bound {
                *copy = None;
            } else {
                bytes.extend_from_slice(chunk);
            }
        }
        self.seen += chunk.len() as u64;
        let Some(spool) = &mut self.spool else {
            return;
        };
        if self.seen > MAX_BODY {
            self.give_up(format!("the body is over {MAX_BODY} bytes"));
            return;
        }
        if self.waiting.is_empty() && spool.fits_in_memory(chunk.len()) {
            // In memory: no I/O.
            if let Err(err) = std::io::Write::write_all(spool, chunk) {
                self.give_up(err.to_string());
            }
            return;
        }
        self.waiting.extend_from_slice(chunk);
        if self.waiting.len() >= WRITE_BATCH {
            self.flush().await;
        }
    }

    /// Hands the waiting bytes to the spool on the blocking pool.
    async fn flush(&mut self) {
        let Some(mut spool) = self.spool.take() else {
            return;
        };
        if self.waiting.is_empty() {
            self.spool = Some(spool);
            return;
        }
        let mut waiting = std::mem::take(&mut self.waiting);
        let written = web::block(move || {
            let done = std::io::Write::write_all(&mut spool, &waiting);
            waiting.clear();
            done.map(|()| (spool, waiting))
        })
        .await;
        match written {
            Ok(Ok((spool, waiting))) => {
                self.spool = Some(spool);
                self.waiting = waiting;
            }
            Ok(Err(err)) => self.give_up(format!("cannot keep the body: {err}")),
            Err(err) => self.give_up(format!("cannot keep the body: {err}")),
        }
    }

    /// Stops keeping the body: it is passed on, not recorded.
    fn give_up(&mut self, why: String) {
        self.spool = None;
        self.waiting = Vec::new();
        if let Some(pending) = self.pending.take() {
            tracing::warn!(
                "recording {} {}: {why}; passed on, not recorded",
                pending.method,
                pending.path
            );
        }
    }

    async fn finish(&mut self) {
        if let Some((kept, Some(bytes), _)) = self.journal.take() {
            let _ = kept.body.set(Bytes::from(bytes));
        }
        self.flush().await;
        let (Some(pending), Some(spool)) = (self.pending.take(), self.spool.take()) else {
            return;
        };
        let kept = if spool.fits_in_memory(0) {
            spool.finish()
        } else {
            match web::block(move || spool.finish()).await {
                Ok(kept) => kept,
                Err(err) => Err(std::io::Error::other(err.to_string())),
            }
        };
        match kept {
            Ok(body) => pending.finish(body).await,
            Err(err) => tracing::warn!(
                "recording {} {}: cannot keep the body ({err}); not recorded",
                pending.method,
                pending.path
            ),
        }
    }
}
