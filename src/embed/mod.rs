//! The embedding API: an understudy server inside a Rust test.
//!
//! [`MockServer`] runs the same server as the binary on its own thread (with its own actix
//! runtime), so it works from a plain `#[test]` and from `#[tokio::test]` alike. It binds a
//! free loopback port, serves scenarios from a directory, a file or inline JSON, and gives the
//! test direct access to the journal and the scenario set. Expectations set with
//! [`MockServer::expect`] are checked by [`MockServer::verify`] and when it drops. Dropping it
//! stops the server, or, for inline scenarios, empties it and keeps it for the next test
//! (`instance`: the pool).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::journal::{Filter, Journal, JournalLimits};
use crate::recent::Recent;
use crate::scenario::Diagnostic;
use crate::scenario::compile::compile_request_matcher;
use crate::server::{ServeConfig, StartError};
use crate::store::{Source, Store};

mod expectation;
mod instance;

use expectation::Expectation;
pub use expectation::Times;
use instance::{Instance, PoolKey};

/// Errors from the embedding API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server could not start.
    #[error(transparent)]
    Start(#[from] StartError),
    /// A scenario or matcher is invalid; one diagnostic per problem.
    #[error("invalid scenario:\n{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Diagnostic>),
    /// No scenario has this name.
    #[error("no scenario named {0:?}")]
    NoScenario(String),
    /// The server thread could not be started or stopped.
    #[error("server thread: {0}")]
    Thread(String),
}

/// A request the server recorded, as the embedding API shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// Journal id (increasing).
    pub id: u64,
    /// Method as sent.
    pub method: String,
    /// Path as sent.
    pub path: String,
    /// Raw query string, without `?`.
    pub query: String,
    /// Headers, names lower-case (values of one name together, in the order sent).
    pub headers: Vec<(String, String)>,
    /// The body (cut to the journal's per-entry limit).
    pub body: Vec<u8>,
    /// `scenario/id` of the route that answered, `None` when unmatched.
    pub route: Option<String>,
    /// Status sent.
    pub status: u16,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (lossy).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Builds a [`MockServer`].
#[derive(Debug, Clone)]
pub struct MockServerBuilder {
    source: Source,
    /// Inline scenarios: the name when already known (`Some(None)`: the document has none),
    /// and the JSON text.
    inline: Vec<(Option<Option<String>>, String)>,
    bind: SocketAddr,
    admin_token: Option<String>,
    journal: JournalLimits,
    template_fuel: u64,
}

impl Default for MockServerBuilder {
    fn default() -> Self {
        MockServerBuilder {
            source: Source::None,
            inline: Vec::new(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin_token: None,
            journal: JournalLimits::default(),
            template_fuel: crate::scenario::template::FUEL,
        }
    }
}

impl MockServerBuilder {
    /// Serve every scenario file under `dir`.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.source = Source::Dir(dir.into());
        self
    }

    /// Serve one scenario file.
    pub fn file(mut self, file: impl Into<PathBuf>) -> Self {
        self.source = Source::File(file.into());
        self
    }

    /// Add a scenario given as JSON (its `name`, or `inline-N`, names it).
    pub fn json(mut self, scenario: serde_json::Value) -> Self {
        let name = scenario
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_owned);
        self.inline.push((Some(name), json_text(scenario)));
        self
    }

    /// Add a scenario given as JSON text.
    pub fn json_str(mut self, scenario: impl Into<String>) -> Self {
        self.inline.push((None, scenario.into()));
        self
    }

    /// Address to bind (default `127.0.0.1:0`, a free port).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// Require this bearer token on the admin API.
    pub fn admin_token(mut self, token: impl Into<String>) -> Self {
        self.admin_token = Some(token.into());
        self
    }

    /// Journal bounds.
    pub fn journal_limits(mut self, limits: JournalLimits) -> Self {
        self.journal = limits;
        self
    }

    /// Fuel per template render (default [`crate::scenario::template::FUEL`], at least 1):
    /// a template that runs out answers 500. Only this server's templates get it.
    pub fn template_fuel(mut self, fuel: u64) -> Self {
        self.template_fuel = fuel.max(1);
        self
    }

    /// Loads the scenarios and starts the server. Any invalid scenario is an error: a test
    /// should not run against half its setup. Blocks the calling thread until the server
    /// listens (from async code, prefer [`MockServerBuilder::start_async`]).
    pub fn start(self) -> Result<MockServer, Error> {
        let key = self.pool_key();
        if let Some(server) = self.take_pooled(&key)? {
            return Ok(server);
        }
        let (config, store) = self.prepare()?;
        Ok(MockServer::new(Instance::start(config, store, key)?))
    }

    /// Like [`MockServerBuilder::start`], without blocking the thread it is awaited on: for
    /// `#[tokio::test]`, the current-thread runtime included.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let server = understudy::MockServer::builder()
    ///     .json(serde_json::json!({ "routes": [{ "response": { "status": 204 } }] }))
    ///     .start_async()
    ///     .await?;
    /// assert!(server.url().starts_with("http://127.0.0.1:"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn start_async(self) -> Result<MockServer, Error> {
        let key = self.pool_key();
        if let Some(server) = self.take_pooled(&key)? {
            return Ok(server);
        }
        let (config, store) = self.prepare()?;
        Ok(MockServer::new(
            Instance::start_async(config, store, key).await?,
        ))
    }

    /// The pool this server may come from and go back to: only servers of inline scenarios
    /// on the default address (files are watched and reloaded per server).
    fn pool_key(&self) -> Option<PoolKey> {
        (matches!(self.source, Source::None) && self.bind == Self::default().bind).then(|| {
            PoolKey {
                journal: self.journal,
                admin_token: self.admin_token.clone(),
                template_fuel: self.template_fuel,
            }
        })
    }

    /// An idle server from the pool with this builder's scenarios put in it, if one is idle.
    fn take_pooled(&self, key: &Option<PoolKey>) -> Result<Option<MockServer>, Error> {
        let Some(instance) = key.as_ref().and_then(Instance::take) else {
            return Ok(None);
        };
        if let Err(err) = self.put_inline(&instance.store) {
            instance.release();
            return Err(err);
        }
        Ok(Some(MockServer::new(instance)))
    }

    /// Puts the inline scenarios, each named by its `name` or `inline-N`.
    fn put_inline(&self, store: &Store) -> Result<(), Error> {
        for (i, (known, text)) in self.inline.iter().enumerate() {
            let name = match known {
                Some(name) => name.clone(),
                None => serde_json::from_str::<serde_json::Value>(text)
                    .ok()
                    .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_owned)),
            }
            .unwrap_or_else(|| format!("inline-{}", i + 1));
            store.put(&name, text).map_err(Error::Invalid)?;
        }
        Ok(())
    }

    /// Loads the scenarios into a new store and the settings into a configuration.
    fn prepare(self) -> Result<(ServeConfig, Arc<Store>), Error> {
        let limits = crate::scenario::load::Limits {
            template_fuel: self.template_fuel,
            ..Default::default()
        };
        let store = Arc::new(Store::new(self.source.clone()).with_limits(limits));
        let problems = store.reload().map_err(|source| {
            let dir = match &self.source {
                Source::Dir(p) | Source::File(p) => p.clone(),
                Source::None => PathBuf::new(),
            };
            Error::Start(StartError::Scenarios { dir, source })
        })?;
        if !problems.is_empty() {
            return Err(Error::Invalid(problems));
        }
        self.put_inline(&store)?;

        let mut config = ServeConfig::with_source(self.source);
        config.bind = self.bind;
        config.admin_token = self.admin_token;
        config.journal = self.journal;
        config.template_fuel = self.template_fuel;
        // One event loop serves a test's few connections; fewer threads start faster.
        config.listener.workers = 1;
        config.listener.awake = instance::AWAKE;
        config.handle_signals = false;
        Ok((config, store))
    }
}

/// Inline documents written as text lately, with their text: a suite whose tests start their
/// servers from the same `json!` fixture writes it once (comparing two documents costs a
/// fraction of writing one). The last 4 are kept.
static RECENT_JSON: Recent<(serde_json::Value, String)> = Recent::new(4);

/// Documents whose text is longer are not kept in [`RECENT_JSON`].
const RECENT_JSON_BYTES: usize = 16 * 1024;

/// `scenario` as JSON text.
fn json_text(scenario: serde_json::Value) -> String {
    if let Some(text) = RECENT_JSON.find(
        |(known, _)| same_text(known, &scenario),
        |(_, text)| text.clone(),
    ) {
        return text;
    }
    // `to_string` writes into a `Vec` directly, several times faster than `Display`.
    let text = serde_json::to_string(&scenario).unwrap_or_else(|_| scenario.to_string());
    if text.len() <= RECENT_JSON_BYTES {
        RECENT_JSON.remember((scenario, text.clone()));
    }
    text
}

/// Whether `a` and `b` are written as the same text: equal, with object members in the same
/// order (`Value`'s own `==` ignores their order, which the text keeps: a response's header
/// order comes from it) and numbers alike to the bit (`0.0` is not `-0.0`).
fn same_text(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|((ka, va), (kb, vb))| ka == kb && same_text(va, vb))
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_text(a, b))
        }
        (Value::Number(x), Value::Number(y)) => {
            x == y && x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
        }
        _ => a == b,
    }
}

/// A running understudy server for a test; stopped when dropped.
///
/// ```
/// use serde_json::json;
/// use understudy::MockServer;
///
/// let server = MockServer::builder()
///     .json(json!({
///         "name": "users",
///         "routes": [{
///             "id": "ada",
///             "request": { "method": "GET", "path": "/users/42" },
///             "response": { "status": 200, "json": { "name": "Ada" } }
///         }]
///     }))
///     .start()?;
///
/// // Any HTTP client works; a raw socket keeps this example dependency-free.
/// use std::io::{Read, Write};
/// let mut conn = std::net::TcpStream::connect(server.addr())?;
/// conn.write_all(b"GET /users/42 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer)?;
/// assert!(answer.starts_with("HTTP/1.1 200 OK"));
///
/// assert_eq!(server.count(json!({ "path": "/users/[0-9]+" }))?, 1);
/// assert_eq!(server.requests()[0].route.as_deref(), Some("users/ada"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct MockServer {
    addr: SocketAddr,
    /// `http://ADDR`, made once: tests ask for it on every request they send.
    url: String,
    store: Arc<Store>,
    journal: Arc<Journal>,
    instance: Option<Instance>,
    expectations: Mutex<Vec<Expectation>>,
}

impl MockServer {
    fn new(instance: Instance) -> Self {
        MockServer {
            addr: instance.addr,
            url: instance.url.clone(),
            store: instance.store.clone(),
            journal: instance.journal.clone(),
            instance: Some(instance),
            expectations: Mutex::new(Vec::new()),
        }
    }

    /// A builder: choose scenarios, then [`MockServerBuilder::start`].
    pub fn builder() -> MockServerBuilder {
        MockServerBuilder::default()
    }

    /// Starts a server on every scenario file under `dir`.
    ///
    /// ```no_run
    /// let server = understudy::MockServer::from_dir("scenarios")?;
    /// println!("serving on {}", server.url());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_dir(dir: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::builder().dir(dir).start()
    }

    /// Starts a server on one scenario file.
    pub fn from_file(file: impl Into<PathBuf>) -> Result<Self, Error> {
        Self::builder().file(file).start()
    }

    /// Starts a server on one scenario given as JSON.
    ///
    /// ```
    /// let server = understudy::MockServer::from_json(serde_json::json!({
    ///     "routes": [{ "response": { "status": 503, "headers": { "Retry-After": "1" } } }]
    /// }))?;
    /// assert!(server.url().starts_with("http://127.0.0.1:"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_json(scenario: serde_json::Value) -> Result<Self, Error> {
        Self::builder().json(scenario).start()
    }

    /// Starts a server on one scenario given as JSON text.
    pub fn from_json_str(scenario: &str) -> Result<Self, Error> {
        Self::builder().json_str(scenario).start()
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request the journal holds, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.journal
            .list(&Filter::default())
            .0
            .iter()
            .map(|e| {
                let r = &e.record;
                RecordedRequest {
                    id: e.id,
                    method: r.method.as_str().to_owned(),
                    path: r.path().to_owned(),
                    query: r.query().to_owned(),
                    headers: r
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.as_str().to_owned(),
                                String::from_utf8_lossy(v.as_bytes()).into_owned(),
                            )
                        })
                        .collect(),
                    body: r.body.to_vec(),
                    route: r.route.as_deref().map(str::to_owned),
                    status: r.status,
                }
            })
            .collect()
    }

    /// How many journaled requests match `matcher`, written like a route's `request`
    /// (`{"method": "POST", "path": "/orders", "json": {"qty": 1}}`).
    pub fn count(&self, matcher: serde_json::Value) -> Result<usize, Error> {
        let text = matcher.to_string();
        let m = compile_request_matcher(std::path::Path::new("<request matcher>"), &text)
            .map_err(Error::Invalid)?;
        Ok(self.journal.count(&m))
    }

    /// Entries dropped from the journal by its bounds.
    pub fn evicted(&self) -> u64 {
        self.journal.stats().2
    }

    /// Creates or replaces the in-memory scenario `name`.
    ///
    /// ```
    /// # let server = understudy::MockServer::builder().start()?;
    /// server.put_scenario("flaky", serde_json::json!({
    ///     "routes": [{ "request": { "path": "/pay" }, "response": { "status": 502 } }]
    /// }))?;
    /// assert_eq!(server.state("flaky").as_deref(), Some("start"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn put_scenario(&self, name: &str, scenario: serde_json::Value) -> Result<(), Error> {
        self.store
            .put(name, &scenario.to_string())
            .map(|_| ())
            .map_err(Error::Invalid)
    }

    /// Deletes the scenario `name` (an API scenario, or a file scenario until its file
    /// changes); `false` when there is none.
    pub fn delete_scenario(&self, name: &str) -> bool {
        self.store.delete(name).is_some()
    }

    /// Moves scenario `name` to `state`.
    pub fn set_state(&self, name: &str, state: &str) -> Result<(), Error> {
        let scenario = self
            .store
            .get(name)
            .ok_or_else(|| Error::NoScenario(name.to_owned()))?;
        scenario.state.set(state);
        Ok(())
    }

    /// The current state of scenario `name`.
    pub fn state(&self, name: &str) -> Option<String> {
        self.store.get(name).map(|s| s.state.get())
    }

    /// Resets every scenario's state and sequences, and clears the journal.
    pub fn reset(&self) {
        self.store.reset_all();
        self.journal.reset();
    }

    /// Rescans the scenario files; returns the problems of files that failed (their last
    /// good version keeps serving).
    pub fn reload(&self) -> Result<Vec<Diagnostic>, Error> {
        self.store.reload().map_err(|source| {
            Error::Start(StartError::Scenarios {
                dir: PathBuf::from("scenarios"),
                source,
            })
        })
    }

    /// Expects `times` requests matching `matcher` (written like a route's `request`) by the
    /// time the server is verified: by [`MockServer::verify`], or when it drops.
    ///
    /// ```
    /// use serde_json::json;
    /// let server = understudy::MockServer::from_json(json!({
    ///     "routes": [{ "request": { "path": "/ping" }, "response": { "status": 204 } }]
    /// }))?;
    /// server.expect(json!({ "method": "GET", "path": "/ping" }), 1)?;
    /// server.expect(json!({ "path": "/never" }), 0..1)?;
    ///
    /// use std::io::{Read, Write};
    /// let mut conn = std::net::TcpStream::connect(server.addr())?;
    /// conn.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")?;
    /// conn.read_to_end(&mut Vec::new())?;
    ///
    /// server.verify(); // met: silent (and again when `server` drops)
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn expect(&self, matcher: serde_json::Value, times: impl Into<Times>) -> Result<(), Error> {
        let shown = matcher.to_string();
        let compiled = compile_request_matcher(std::path::Path::new("<request matcher>"), &shown)
            .map_err(Error::Invalid)?;
        self.lock_expectations().push(Expectation {
            shown,
            matcher: compiled,
            times: times.into(),
        });
        Ok(())
    }

    /// Panics when an expectation is not met, naming each unmet one (its matcher, the times
    /// expected, the count seen) and every request received (`METHOD PATH -> scenario/route`,
    /// or `-> unmatched` with its near misses).
    pub fn verify(&self) {
        if let Some(message) = expectation::unmet(&self.lock_expectations(), &self.journal) {
            panic!("understudy MockServer at {}: {message}", self.url());
        }
    }

    fn lock_expectations(&self) -> std::sync::MutexGuard<'_, Vec<Expectation>> {
        self.expectations.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stops the server and waits for its thread (never kept for another test). Expectations
    /// are not verified.
    pub fn shutdown(mut self) {
        self.lock_expectations().clear();
        if let Some(instance) = self.instance.take() {
            instance.stop();
        }
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        let unmet = expectation::unmet(&self.lock_expectations(), &self.journal);
        if let Some(instance) = self.instance.take() {
            instance.release();
        }
        if let Some(message) = unmet
            && !std::thread::panicking()
        {
            panic!("understudy MockServer at {}: {message}", self.url());
        }
    }
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_document_is_written_as_its_own_text_even_after_an_equal_one() {
        let ab = json!({ "headers": { "A": "1", "B": "2" }, "n": 0.0 });
        let ba = json!({ "headers": { "B": "2", "A": "1" }, "n": 0.0 });
        let negative = json!({ "headers": { "A": "1", "B": "2" }, "n": -0.0 });
        assert_eq!(ab, ba, "serde_json's == ignores member order");
        assert!(same_text(&ab, &ab.clone()));
        assert!(!same_text(&ab, &ba));
        assert!(!same_text(&ab, &negative));
        assert!(!same_text(&json!(1), &json!(1.0)));
        for doc in [ab, ba, negative] {
            let expected = serde_json::to_string(&doc).unwrap();
            // Twice: written, then found among the recent ones.
            assert_eq!(json_text(doc.clone()), expected);
            assert_eq!(json_text(doc), expected);
        }
    }
}
