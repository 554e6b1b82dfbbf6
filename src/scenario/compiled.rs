//! Runtime types: a scenario after validation, ready to answer requests.
//!
//! Everything here is immutable and cheap to share: regexes are built, bodies are read from
//! disk and encoded, headers are parsed and reason phrases are interned. The request path only
//! reads these types; it never parses, never allocates a regex, never touches the disk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix_http::header::{HeaderName, HeaderValue};
use actix_http::{ConnectionType, StatusCode};
use bytes::Bytes;
use regex::Regex;
use serde_json::Value;

use super::diag::Diagnostic;
use super::path_regex::PathRegex;

/// A scenario file, compiled.
#[derive(Debug)]
pub struct CompiledScenario {
    /// Scenario name (unique across the loaded set).
    pub name: String,
    /// Free text from the file.
    pub description: Option<String>,
    /// The file it came from, relative to the scenarios directory (`None` when not from a file).
    pub file: Option<PathBuf>,
    /// State the scenario starts in.
    pub initial_state: String,
    /// Routes in file order.
    pub routes: Vec<CompiledRoute>,
    /// The document as written, JSON or (an OpenAPI spec) YAML (parsed again only when the
    /// admin API shows it).
    pub source: Box<str>,
    /// Whether compiling read `file` bodies: the result depends on those files too.
    pub reads_files: bool,
    /// Things that load but are probably mistakes (`FILE:LINE:COL: at PATH: warning: …`).
    pub warnings: Vec<Diagnostic>,
    /// Other files the compiled result depends on (an OpenAPI spec's `$ref`ed files): a
    /// change to one of them reloads the scenario too.
    pub depends_on: Vec<PathBuf>,
}

impl CompiledScenario {
    /// The document as written, parsed (it parsed when the scenario loaded; an OpenAPI spec
    /// may be YAML).
    pub fn document(&self) -> serde_json::Value {
        serde_json::from_str(&self.source)
            .or_else(|_| serde_yaml_ng::from_str(&self.source))
            .unwrap_or_default()
    }
}

/// One route, compiled.
#[derive(Debug)]
pub struct CompiledRoute {
    /// `<scenario>/<id>`.
    pub full_name: Arc<str>,
    /// Where the id starts in `full_name` (the id is not kept twice).
    pub id_at: usize,
    /// Position in the scenario's `routes` (indexes its sequence positions).
    pub index: usize,
    /// Higher is tried first.
    pub priority: i64,
    /// Among equal priorities, higher is tried first: when the route was added, for formats
    /// that prefer the newest (WireMock stubs); 0 for native routes, which keep file order.
    pub added: u64,
    /// What the request must look like.
    pub matcher: RequestMatcher,
    /// The named state `when_state` and `set_state` use instead of the scenario's own
    /// (WireMock's `scenarioName`: one state per name across every file).
    pub scope: Option<Arc<str>>,
    /// States the scenario must be in for this route to match (`None`: any).
    pub when_state: Option<Vec<String>>,
    /// State the scenario moves to after this route answered.
    pub set_state: Option<String>,
    /// The answer, or the script of answers.
    pub answers: Answers,
    /// What to do with `Expect: 100-continue`.
    pub expect: ExpectRule,
}

/// A route's handling of `Expect: 100-continue`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectRule {
    /// Send `100 Continue` at once (default).
    Continue,
    /// Answer with the route's response without reading the body.
    Reject,
    /// Send no 100; wait for the body the client sends after its own timeout.
    Ignore,
    /// Send `100 Continue` after this long.
    After(std::time::Duration),
}

impl CompiledRoute {
    /// Route id within its scenario.
    pub fn id(&self) -> &str {
        self.full_name.get(self.id_at..).unwrap_or_default()
    }

    /// Whether answering needs the scenario's state lock (state check or transition).
    pub fn is_stateful(&self) -> bool {
        self.when_state.is_some() || self.set_state.is_some()
    }

    /// Whether every answer of the route is a proxy and none of its matchers reads the body:
    /// chosen on the head alone, it can send the request's body upstream as it arrives.
    pub fn streams_upstream(&self) -> bool {
        let m = &self.matcher;
        let reads_body = m.body.is_some()
            || m.json.is_some()
            || m.conditions
                .iter()
                .any(|c| matches!(c.subject, super::pattern::Subject::Body(_)));
        let proxies = match &self.answers {
            Answers::One(resp) => resp.proxy.is_some(),
            Answers::Script { steps, .. } => steps.iter().all(|s| s.proxy.is_some()),
        };
        proxies && !reads_body
    }

    /// Whether any of the route's answers switches protocols (WebSocket or raw upgrade).
    pub fn switches(&self) -> bool {
        match &self.answers {
            Answers::One(resp) => resp.switch.is_some(),
            Answers::Script { steps, .. } => steps.iter().any(|s| s.switch.is_some()),
        }
    }
}

/// What a route answers with.
#[derive(Debug)]
pub enum Answers {
    /// The same answer every time.
    One(CompiledResponse),
    /// A script: answers in order, each `repeat` times.
    Script {
        /// The answers.
        steps: Vec<CompiledResponse>,
        /// `ends[i]`: how many answers the script has given once step `i` is used up.
        ends: Vec<u64>,
        /// What happens after the last.
        after_last: AfterLast,
    },
}

pub use super::model::{AfterLast, Fault};

/// Compiled request matchers; `None` or empty means "matches anything".
#[derive(Debug, Default)]
pub struct RequestMatcher {
    /// Method regex, anchored.
    pub method: Option<MethodMatcher>,
    /// Path matcher, anchored; named groups of a regex feed templates.
    pub path: Option<PathMatcher>,
    /// Query parameter name → anchored regex, or `None` for "must be absent".
    pub query: Vec<(String, Option<Regex>)>,
    /// Header name → anchored regex, or `None` for "must be absent".
    pub headers: Vec<(HeaderName, Option<Regex>)>,
    /// Regex searched in the body.
    pub body: Option<Regex>,
    /// JSON value the body must contain.
    pub json: Option<Value>,
    /// Further checks (WireMock's matchers), in the order written.
    pub conditions: Vec<super::pattern::Condition>,
    /// The method must be the one named: `HEAD` does not match a `GET` route (WireMock's
    /// rule; native routes answer `HEAD` like `GET`).
    pub exact_method: bool,
}

/// A path pattern: a plain literal such as `/api/users/42` is compared as a string (no regex
/// is built, so loading it and its first match cost nothing); any other is an anchored regex.
#[derive(Debug, Clone)]
pub enum PathMatcher {
    /// The one path the pattern matches.
    Literal(Box<str>),
    /// Any other pattern, anchored (built on its first match; boxed: most routes of a large
    /// set have literal paths).
    Regex(Box<PathRegex>),
    /// A path template of whole segments (an OpenAPI `/pets/{id}`): compared segment by
    /// segment, no regex built.
    Template(PathTemplate),
}

impl PathMatcher {
    /// Whether `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        match self {
            PathMatcher::Literal(want) => **want == *path,
            PathMatcher::Regex(re) => re.is_match(path),
            PathMatcher::Template(t) => t.captures(path).is_some(),
        }
    }

    /// The anchored pattern (`^(?:…)$`); a literal's is written out when asked for.
    pub fn as_str(&self) -> std::borrow::Cow<'_, str> {
        match self {
            PathMatcher::Literal(path) => format!("^(?:{})$", regex::escape(path)).into(),
            PathMatcher::Regex(re) => re.as_str().into(),
            PathMatcher::Template(t) => (*t.anchored).into(),
        }
    }

    /// The regex, when the pattern is one (only a regex has named groups to capture); built
    /// now if this is its first use.
    pub fn regex(&self) -> Option<&Regex> {
        match self {
            PathMatcher::Regex(re) => re.get(),
            PathMatcher::Literal(_) | PathMatcher::Template(_) => None,
        }
    }
}

/// A path of `/`-separated segments, each literal or one variable matching one non-empty
/// segment.
#[derive(Debug, Clone)]
pub struct PathTemplate {
    /// The segments after the leading `/`: `Some(text)` literal, `None` a variable.
    pub segments: Vec<Option<Box<str>>>,
    /// The same as an anchored regex (`^(?:/pets/([^/]+))$`), for the route index's sets.
    pub anchored: Box<str>,
}

impl PathTemplate {
    /// The variables' values in `path` (in order), or `None` when it does not match.
    pub fn captures<'p>(&self, path: &'p str) -> Option<smallvec::SmallVec<[&'p str; 4]>> {
        let rest = path.strip_prefix('/')?;
        let mut out = smallvec::SmallVec::new();
        let mut parts = rest.split('/');
        for want in &self.segments {
            let got = parts.next()?;
            match want {
                Some(lit) if **lit == *got => {}
                Some(_) => return None,
                None if got.is_empty() => return None,
                None => out.push(got),
            }
        }
        parts.next().is_none().then_some(out)
    }

    /// The literal segments it starts with.
    pub fn literal_prefix(&self) -> Vec<&str> {
        self.segments.iter().map_while(|s| s.as_deref()).collect()
    }
}

/// Standard methods whose match result is computed once at load time.
pub const STANDARD_METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
];

/// A method matcher with its verdict precomputed for the standard methods.
#[derive(Debug)]
pub struct MethodMatcher {
    /// How other (non-standard) methods are matched.
    pub other: MethodPattern,
    /// `known[i]` is whether `STANDARD_METHODS[i]` matches.
    pub known: [bool; STANDARD_METHODS.len()],
}

/// A method pattern: most are a plain method name, which needs no regex.
#[derive(Debug)]
pub enum MethodPattern {
    /// A plain token such as `GET` or `PURGE`, compared as is.
    Literal(Box<str>),
    /// Any other pattern, anchored.
    Regex(Regex),
}

impl MethodPattern {
    /// Whether `method` matches.
    pub fn is_match(&self, method: &str) -> bool {
        match self {
            MethodPattern::Literal(name) => **name == *method,
            MethodPattern::Regex(re) => re.is_match(method),
        }
    }
}

impl MethodMatcher {
    /// Builds the matcher and its precomputed verdicts.
    pub fn new(other: MethodPattern) -> Self {
        let known = STANDARD_METHODS.map(|m| other.is_match(m));
        MethodMatcher { other, known }
    }

    /// Whether `method` matches.
    pub fn is_match(&self, method: &str) -> bool {
        match STANDARD_METHODS.iter().position(|m| *m == method) {
            Some(i) => self.known[i],
            None => self.other.is_match(method),
        }
    }
}

/// A fully prepared answer.
#[derive(Debug, Clone)]
pub struct CompiledResponse {
    /// Status code.
    pub status: StatusCode,
    /// Reason phrase for the status line (custom, canonical, or a class phrase).
    pub reason: &'static str,
    /// Headers in order, Content-Type included when the body kind implies one.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// `Connection` behaviour asked for through a `Connection` header.
    pub connection: Option<ConnectionType>,
    /// The body bytes (empty when there is none, or when it is read from disk).
    pub body: Bytes,
    /// A `file` body too large to hold in memory, read from disk at each answer.
    pub disk: Option<Arc<DiskBody>>,
    /// Templates for headers and body (`template: true`).
    pub template: Option<std::sync::Arc<crate::scenario::template::ResponseTemplate>>,
    /// WireMock's Handlebars templates for headers and body (`response-template`).
    pub hbs: Option<Arc<HbsResponse>>,
    /// Delay before the head is sent (boxed, like the other keys few answers use: an answer is
    /// kept per route, and a large route set holds thousands).
    pub delay: Option<Box<Delay>>,
    /// Dribble the body: chunk size in bytes and the pause between chunks.
    pub chunks: Option<Box<(usize, std::time::Duration)>>,
    /// A wire fault instead of a normal answer.
    pub fault: Option<Fault>,
    /// Interim responses, encoded, sent before this one.
    pub informational: Option<Box<Bytes>>,
    /// What follows a 101: a WebSocket script or a raw upgrade.
    pub switch: Option<Switch>,
    /// Forward the request upstream instead (`status`, headers and body are then unused).
    pub proxy: Option<Arc<Proxy>>,
    /// An OpenAPI operation decides status, headers and body per request (`Prefer`,
    /// `Accept`, request validation); `status`, headers and body are then unused.
    pub openapi: Option<Arc<super::openapi::Operation>>,
}

/// A `file` body sent from disk as it is read (files over the in-memory bound).
#[derive(Debug)]
pub struct DiskBody {
    /// The file, canonical.
    pub path: std::path::PathBuf,
    /// Its length when the scenario was loaded (the `Content-Length` sent).
    pub len: u64,
}

/// A proxy answer, validated.
#[derive(Debug)]
pub struct Proxy {
    /// `http` or `https`.
    pub scheme: Box<str>,
    /// `host:port` as written in `to` (the forwarded `Host`).
    pub authority: Box<str>,
    /// The path of `to`, without a trailing `/` (empty for none): put before the request's.
    pub base_path: Box<str>,
    /// Removed from the start of the request's path before it is forwarded.
    pub strip_prefix: Option<Box<str>>,
    /// Headers set on the forwarded request (replacing any of the same name).
    pub add_headers: Vec<(HeaderName, HeaderValue)>,
    /// Headers removed from the forwarded request.
    pub remove_headers: Vec<HeaderName>,
    /// How long to wait for the upstream's answer head.
    pub timeout: Duration,
}

/// A WireMock-templated answer: header values and body rendered per request.
#[derive(Debug)]
pub struct HbsResponse {
    /// Header name → template, in order (sent after the static headers).
    pub headers: Vec<(HeaderName, super::handlebars::HbsTemplate)>,
    /// The body's template (`None`: the static body).
    pub body: Option<super::handlebars::HbsTemplate>,
    /// Fuel per render.
    pub fuel: u64,
}

/// A delay before the head, fixed or uniformly random.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Delay {
    /// Always this long.
    Fixed(std::time::Duration),
    /// Uniform in `[min, max]` milliseconds.
    Uniform(u64, u64),
    /// Log-normal around a median (ms) with this sigma, capped (WireMock's `lognormal`).
    LogNormal {
        /// Median in milliseconds.
        median: f64,
        /// Spread.
        sigma: f64,
        /// Cap in milliseconds.
        max: f64,
    },
}

impl Delay {
    /// The delay for one answer.
    pub fn sample(&self) -> std::time::Duration {
        match *self {
            Delay::Fixed(d) => d,
            Delay::Uniform(min, max) => std::time::Duration::from_millis(fastrand::u64(min..=max)),
            Delay::LogNormal { median, sigma, max } => {
                // Box–Muller: a standard normal from two uniforms in (0, 1].
                let (u1, u2) = (1.0 - fastrand::f64(), fastrand::f64());
                let normal = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
                let ms = (median * (sigma * normal).exp()).clamp(0.0, max);
                std::time::Duration::from_secs_f64(ms / 1000.0)
            }
        }
    }
}

/// A compiled WebSocket script.
pub struct WsScript {
    /// Subprotocol selected when the client offers it.
    pub subprotocol: Option<String>,
    /// Actions run when the connection opens.
    pub on_open: Vec<WsAct>,
    /// Rules tried in order against each text message.
    pub on_message: Vec<(regex::Regex, Vec<WsAct>)>,
    /// Echo text (and binary) messages no rule matched.
    pub echo: bool,
    /// Templates of text actions (context: `message` and the match's named groups).
    pub templates: Arc<super::template::ResponseTemplate>,
}

impl std::fmt::Debug for WsScript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsScript")
            .field("subprotocol", &self.subprotocol)
            .field("echo", &self.echo)
            .finish()
    }
}

/// One WebSocket action.
#[derive(Debug, Clone)]
pub enum WsAct {
    /// A text message (a template name).
    Text(String),
    /// A JSON value sent as a text message.
    Json(String),
    /// A binary message.
    Binary(Bytes),
    /// A pause.
    Wait(Duration),
    /// A ping with this payload.
    Ping(Bytes),
    /// Close with this code and reason.
    Close(u16, Option<String>),
}

/// What follows a `101`.
#[derive(Debug, Clone)]
pub enum Switch {
    /// A WebSocket script.
    WebSocket(Arc<WsScript>),
    /// A raw upgrade to this protocol token, echoing bytes.
    Raw(String),
}

impl Switch {
    /// The `Upgrade` token the switch answers: `websocket`, or the raw protocol's.
    pub fn protocol(&self) -> &str {
        match self {
            Switch::WebSocket(_) => "websocket",
            Switch::Raw(protocol) => protocol,
        }
    }
}
