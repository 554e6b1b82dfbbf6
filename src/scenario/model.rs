//! The scenario file format as serde types: exactly what users write, nothing compiled.
//!
//! These types mirror the contract key for key (camelCase keys, snake_case enum values) and
//! reject unknown keys, so a typo is an error rather than a silent no-op. They carry no
//! behaviour: `compile` validates them and turns them into runtime types. The JSON Schema
//! printed by `understudy schema` is derived from these same types.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, de};
use serde_json::Value;

/// One scenario file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(title = "understudy scenario")]
pub struct ScenarioFile<R = Route> {
    /// Editor schema reference; allowed and ignored.
    #[serde(rename = "$schema")]
    pub schema: Option<String>,
    /// Scenario name; defaults to the file path relative to the scenarios directory, without `.json`.
    pub name: Option<String>,
    /// Free text shown in listings.
    pub description: Option<String>,
    /// The state the scenario starts in (default `"start"`).
    pub initial_state: Option<String>,
    /// The routes, tried by priority, then scenario name, then position.
    pub routes: Vec<R>,
}

/// One route: a request matcher and the answer(s) it gives.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Route {
    /// Route id, unique within the file (default: its index in `routes`).
    pub id: Option<String>,
    /// Higher is tried first (default 0).
    #[serde(default)]
    pub priority: i64,
    /// The route matches only while its scenario is in one of these states.
    pub when_state: Option<OneOrMany>,
    /// The state the scenario moves to after this route answered.
    pub set_state: Option<String>,
    /// What the request must look like; a missing key matches anything.
    #[serde(default)]
    pub request: RequestMatcher,
    /// The single answer (exactly one of `response` and `responses`).
    pub response: Option<Response>,
    /// A script of answers given in order.
    pub responses: Option<Vec<Response>>,
    /// What a script does after its last answer.
    pub after_last: Option<AfterLast>,
    /// How to treat `Expect: 100-continue`.
    pub expect: Option<ExpectMode>,
}

/// Request matchers. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestMatcher {
    /// Regex matched against the whole method.
    pub method: Option<String>,
    /// Regex matched against the whole path as sent, without the query string.
    pub path: Option<String>,
    /// Query parameter name → regex on the whole decoded value; `null` means absent.
    pub query: Option<IndexMap<String, Option<String>>>,
    /// Header name (case-insensitive) → regex on the whole value; `null` means absent.
    pub headers: Option<IndexMap<String, Option<String>>>,
    /// Regex searched anywhere in the body.
    pub body: Option<String>,
    /// The body parsed as JSON must contain this value.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Value")]
    pub json: Option<Value>,
}

/// One answer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Response {
    /// Status code, 100–599, registered or not. Required, except in a `proxy` answer (which
    /// sends the upstream's status).
    #[schemars(range(min = 100, max = 599))]
    pub status: Option<u16>,
    /// Custom reason phrase for the HTTP/1.1 status line.
    pub reason: Option<String>,
    /// Header name → value, or an array of values for a header sent several times.
    pub headers: Option<IndexMap<String, OneOrMany>>,
    /// Text body (default Content-Type `text/plain; charset=utf-8`).
    pub body: Option<String>,
    /// JSON body (default Content-Type `application/json`).
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Value")]
    pub json: Option<Value>,
    /// Binary body, base64-encoded.
    pub base64: Option<String>,
    /// Body read from a file relative to the scenario file's folder.
    pub file: Option<String>,
    /// Render headers and body as MiniJinja templates.
    pub template: Option<bool>,
    /// Delay before the head is sent.
    pub delay_ms: Option<Delay>,
    /// Send the body in slow chunks.
    pub chunks: Option<Chunks>,
    /// A wire-level fault instead of a normal answer.
    pub fault: Option<Fault>,
    /// WebSocket script (status 101 only).
    pub websocket: Option<WebSocket>,
    /// Raw protocol upgrade (status 101 only).
    pub upgrade: Option<Upgrade>,
    /// Interim responses sent before this one.
    pub informational: Option<Vec<Informational>>,
    /// How many times this answer is given in a `responses` script (default 1).
    pub repeat: Option<u32>,
    /// Forward the request to another server and send its answer back (instead of `status`,
    /// headers and body).
    pub proxy: Option<Proxy>,
}

/// A proxy answer: where the request is forwarded and how it is changed on the way.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Proxy {
    /// The upstream's base URL, `http://host:port` or `https://…` (a path, if any, is put
    /// before the request's path).
    pub to: String,
    /// A path prefix removed from the request's path before it is forwarded.
    pub strip_prefix: Option<String>,
    /// Headers added to (replacing) the forwarded request's.
    pub add_headers: Option<IndexMap<String, String>>,
    /// Headers removed from the forwarded request (case-insensitive).
    pub remove_headers: Option<Vec<String>>,
    /// How long to wait for the upstream's answer head (default 10000); then `504`.
    pub timeout_ms: Option<u64>,
}

/// A string or an array of strings.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum OneOrMany {
    /// A single string.
    One(String),
    /// Several strings.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, in order.
    pub fn as_slice(&self) -> &[String] {
        match self {
            OneOrMany::One(s) => std::slice::from_ref(s),
            OneOrMany::Many(v) => v,
        }
    }
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(s.to_owned()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// What a `responses` script does after its last answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AfterLast {
    /// Keep giving the last answer (default).
    RepeatLast,
    /// Start the script again.
    Cycle,
    /// Stop matching; later routes answer.
    FallThrough,
}

/// How a route treats `Expect: 100-continue`.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum ExpectMode {
    /// `"continue"`, `"reject"` or `"ignore"`.
    Mode(ExpectKeyword),
    /// Send `100 Continue` after a pause.
    After(ContinueAfter),
}

/// The keyword forms of [`ExpectMode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExpectKeyword {
    /// Send `100 Continue` at once (default).
    Continue,
    /// Answer at once with the route's response, without reading the body.
    Reject,
    /// Send no 100; wait for the body.
    Ignore,
}

/// `{ "continueAfterMs": N }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContinueAfter {
    /// Milliseconds to wait before sending `100 Continue`.
    pub continue_after_ms: u64,
}

impl<'de> Deserialize<'de> for ExpectMode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ExpectMode;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#""continue", "reject", "ignore" or {"continueAfterMs": N}"#)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<ExpectMode, E> {
                ExpectKeyword::deserialize(de::value::StrDeserializer::<E>::new(s))
                    .map(ExpectMode::Mode)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ExpectMode, A::Error> {
                ContinueAfter::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(ExpectMode::After)
            }
        }
        d.deserialize_any(V)
    }
}

/// A fixed delay or a uniform random one.
#[derive(Debug, Clone, PartialEq, Eq, JsonSchema)]
#[schemars(untagged)]
pub enum Delay {
    /// Milliseconds.
    Fixed(u64),
    /// Uniform in `[min, max]` milliseconds.
    Range(DelayRange),
}

/// `{ "min": A, "max": B }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayRange {
    /// Lower bound in milliseconds.
    pub min: u64,
    /// Upper bound in milliseconds.
    pub max: u64,
}

impl<'de> Deserialize<'de> for Delay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Delay;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"milliseconds as a non-negative integer, or {"min": A, "max": B}"#)
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Delay, E> {
                Ok(Delay::Fixed(n))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Delay, A::Error> {
                DelayRange::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(Delay::Range)
            }
        }
        d.deserialize_any(V)
    }
}

/// `{ "size": BYTES, "intervalMs": N }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Chunks {
    /// Bytes per chunk.
    pub size: u64,
    /// Pause between chunks in milliseconds.
    pub interval_ms: u64,
}

/// Wire-level faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// TCP RST, no bytes.
    ConnectionReset,
    /// Close with no bytes.
    EmptyResponse,
    /// Bytes that are not HTTP, then close.
    MalformedResponse,
    /// Full Content-Length, half the body, then close.
    TruncatedBody,
    /// Keep the connection open and never answer.
    NoResponse,
    /// A chunked head, then a chunk that is not one, then close (WireMock's
    /// `MALFORMED_RESPONSE_CHUNK`; not a key of the native format).
    #[serde(skip)]
    MalformedChunk,
}

/// A WebSocket script.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WebSocket {
    /// Subprotocol to select when the client offers it.
    pub subprotocol: Option<String>,
    /// Actions run when the connection opens.
    #[serde(default)]
    pub on_open: Vec<WsAction>,
    /// Rules tried in order against each text message.
    #[serde(default)]
    pub on_message: Vec<WsRule>,
    /// Echo text messages no rule matched.
    #[serde(default)]
    pub echo: bool,
}

/// One `onMessage` rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WsRule {
    /// Regex searched in the message.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Actions run when it matches.
    #[serde(rename = "do")]
    pub actions: Vec<WsAction>,
}

/// One WebSocket action; exactly one of the keys (`reason` only with `close`).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct WsAction {
    /// Send a text message.
    pub text: Option<String>,
    /// Send a JSON value as a text message.
    #[serde(default, deserialize_with = "present")]
    #[schemars(with = "Value")]
    pub json: Option<Value>,
    /// Send a binary message (base64).
    pub binary: Option<String>,
    /// Pause.
    pub wait_ms: Option<u64>,
    /// Send a ping with this payload.
    pub ping: Option<String>,
    /// Close with this code.
    pub close: Option<u16>,
    /// Close reason.
    pub reason: Option<String>,
}

/// `{ "protocol": "NAME" }`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Upgrade {
    /// The `Upgrade` token to answer with.
    pub protocol: String,
}

/// An interim (1xx) response.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Informational {
    /// 1xx status.
    pub status: u16,
    /// Header name → value or values.
    pub headers: Option<IndexMap<String, OneOrMany>>,
}

/// Deserializes a present key into `Some`, keeping an explicit `null` as `Some(Value::Null)`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(d).map(Some)
}
