//! WireMock 3.x stub mappings as serde types: exactly the JSON WireMock users have on disk.
//!
//! Unknown keys are errors, as in WireMock. Keys WireMock accepts that understudy does not
//! serve yet (XML matchers, webhooks, proxying, …) are listed here as raw values so the
//! compiler can refuse them by name ("not supported yet") instead of calling them unknown.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

/// `{"mappings": [...]}` (WireMock's `StubMappings`; `meta` as `GET /__admin/mappings` gives).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    /// The stubs.
    pub mappings: Vec<Stub>,
    /// `{"total": N}` when the file was saved from the admin API; ignored.
    pub meta: Option<Value>,
}

/// One stub mapping.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Stub {
    /// Stub id (a UUID).
    pub id: Option<String>,
    /// Same as `id`.
    pub uuid: Option<String>,
    /// A name, sent back as `Matched-Stub-Name`.
    pub name: Option<String>,
    /// 1 is tried first; default 5.
    pub priority: Option<i64>,
    /// The WireMock scenario this stub belongs to (one state per name, from `Started`).
    pub scenario_name: Option<String>,
    /// The state the scenario must be in.
    pub required_scenario_state: Option<String>,
    /// The state the scenario moves to after this stub answered.
    pub new_scenario_state: Option<String>,
    /// Free metadata (admin API `find-by-metadata`).
    pub metadata: Option<Value>,
    /// Whether `…/save` should write it; accepted and ignored.
    pub persistent: Option<bool>,
    /// Whether the stub was inserted by WireMock itself; accepted and ignored.
    pub inserted_at: Option<Value>,
    /// What the request must look like.
    #[serde(default)]
    pub request: RequestPattern,
    /// The answer.
    #[serde(default)]
    pub response: ResponseDefinition,
    /// Webhooks: not supported yet.
    pub post_serve_actions: Option<Value>,
    /// Webhooks and listeners: not supported yet.
    pub serve_event_listeners: Option<Value>,
}

/// A stub's request pattern.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RequestPattern {
    /// A method, or `ANY`.
    pub method: Option<String>,
    /// Path and query, compared whole.
    pub url: Option<String>,
    /// Regex over the path and query.
    pub url_pattern: Option<String>,
    /// Path, compared whole.
    pub url_path: Option<String>,
    /// Regex over the path.
    pub url_path_pattern: Option<String>,
    /// A path with `{name}` parameters.
    pub url_path_template: Option<String>,
    /// Patterns on the parameters of `urlPathTemplate`.
    pub path_parameters: Option<IndexMap<String, Value>>,
    /// Query parameter name → pattern.
    pub query_parameters: Option<IndexMap<String, Value>>,
    /// Header name (case-insensitive) → pattern.
    pub headers: Option<IndexMap<String, Value>>,
    /// Cookie name → pattern.
    pub cookies: Option<IndexMap<String, Value>>,
    /// `{"username", "password"}` sent as HTTP Basic.
    pub basic_auth_credentials: Option<BasicAuth>,
    /// Patterns the body must pass, all of them.
    pub body_patterns: Option<Vec<Value>>,
    /// Form parameters: not supported yet.
    pub form_parameters: Option<Value>,
    /// Multipart patterns: not supported yet.
    pub multipart_patterns: Option<Value>,
    /// Host matching: not supported yet.
    pub host: Option<Value>,
    /// Port matching: not supported yet.
    pub port: Option<Value>,
    /// Scheme matching: not supported yet.
    pub scheme: Option<Value>,
    /// Client IP matching: not supported yet.
    pub client_ip: Option<Value>,
    /// Custom matchers (extensions): not supported.
    pub custom_matcher: Option<Value>,
}

/// HTTP Basic credentials a request must carry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
}

/// A stub's response definition.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResponseDefinition {
    /// Status code (default 200).
    pub status: Option<u16>,
    /// Reason phrase on the status line.
    pub status_message: Option<String>,
    /// Header name → a value or an array of values.
    pub headers: Option<IndexMap<String, Value>>,
    /// Text body.
    pub body: Option<String>,
    /// JSON body (sent as JSON text, no Content-Type unless a header says so).
    pub json_body: Option<Value>,
    /// Binary body, base64.
    pub base64_body: Option<String>,
    /// Body read from `__files`.
    pub body_file_name: Option<String>,
    /// Delay before the answer.
    pub fixed_delay_milliseconds: Option<u64>,
    /// A random delay.
    pub delay_distribution: Option<DelayDistribution>,
    /// The body sent in chunks spread over a duration.
    pub chunked_dribble_delay: Option<DribbleDelay>,
    /// A wire fault instead of an answer.
    pub fault: Option<String>,
    /// `["response-template"]` renders headers and body with WireMock's Handlebars.
    pub transformers: Option<Vec<String>>,
    /// Parameters for transformers (`parameters.X` in templates).
    pub transformer_parameters: Option<Value>,
    /// Additional headers WireMock lists separately; merged with `headers`.
    pub additional_proxy_request_headers: Option<Value>,
    /// Proxying: not supported yet.
    pub proxy_base_url: Option<Value>,
    /// Proxying: not supported yet.
    pub proxy_url_prefix_to_remove: Option<Value>,
    /// Proxying: not supported yet.
    pub remove_proxy_request_headers: Option<Value>,
    /// Whether the response came from a proxy (recordings); accepted and ignored.
    pub from_configured_stub: Option<Value>,
}

/// `delayDistribution`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum DelayDistribution {
    /// Uniform in `[lower, upper]` ms.
    Uniform {
        /// Lower bound.
        lower: u64,
        /// Upper bound.
        upper: u64,
    },
    /// Log-normal with this median (ms) and sigma, optionally capped.
    Lognormal {
        /// Median in ms.
        median: f64,
        /// Sigma.
        sigma: f64,
        /// Cap in ms.
        #[serde(rename = "maxValue")]
        max_value: Option<f64>,
    },
    /// Always this long.
    Fixed {
        /// Milliseconds.
        milliseconds: u64,
    },
}

/// `chunkedDribbleDelay`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DribbleDelay {
    /// How many chunks.
    pub number_of_chunks: u64,
    /// Over how many milliseconds.
    pub total_duration: u64,
}
