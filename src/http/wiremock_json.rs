//! The JSON shapes of WireMock 3.13.2's admin API, as its clients parse them: one
//! `Serialize` type per shape, with exactly WireMock's keys (its Java client fails on unknown
//! fields), and the conversion of understudy's journal entries into WireMock's logged
//! requests and serve events.

use std::time::UNIX_EPOCH;

use base64::Engine as _;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::journal::Entry;
use crate::scenario::Diagnostic;

/// The WireMock version understudy's admin dialect follows.
pub const VERSION: &str = "3.13.2";

/// `{}`: what most WireMock admin calls answer.
#[derive(Serialize)]
pub struct Empty {}

/// `{"errors": [...]}`.
#[derive(Serialize)]
pub struct Errors {
    /// The problems.
    pub errors: Vec<ErrorItem>,
}

/// One problem of an [`Errors`] answer.
#[derive(Serialize)]
pub struct ErrorItem {
    /// WireMock's error code (10: bad JSON or value; 404: no such thing).
    pub code: u16,
    /// Where in the document, for parse errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ErrorSource>,
    /// What went wrong.
    pub title: String,
    /// More detail, for parse errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// `{"pointer": "/request/bogus"}`.
#[derive(Serialize)]
pub struct ErrorSource {
    /// A JSON pointer into the document sent.
    pub pointer: String,
}

impl Errors {
    /// One problem without a source.
    pub fn one(code: u16, title: impl Into<String>) -> Self {
        Errors {
            errors: vec![ErrorItem {
                code,
                source: None,
                title: title.into(),
                detail: None,
            }],
        }
    }

    /// WireMock's 422 for a document it cannot use: `Error parsing JSON` at the first problem.
    pub fn parsing(diags: &[Diagnostic]) -> Self {
        Errors {
            errors: diags
                .iter()
                .take(1)
                .map(|d| ErrorItem {
                    code: 10,
                    source: Some(ErrorSource {
                        pointer: pointer(&d.path),
                    }),
                    title: "Error parsing JSON".into(),
                    detail: Some(d.message.clone()),
                })
                .collect(),
        }
    }
}

/// `request.bogus` / `mappings[0].request` → `/request/bogus` / `/mappings/0/request`.
fn pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.').filter(|p| !p.is_empty() && *p != "$") {
        let mut rest = part;
        let key_end = rest.find('[').unwrap_or(rest.len());
        if key_end > 0 {
            out.push('/');
            out.push_str(&rest[..key_end]);
        }
        rest = &rest[key_end..];
        while let Some(close) = rest.find(']') {
            out.push('/');
            out.push_str(rest[1..close].trim_matches('"'));
            rest = &rest[close + 1..];
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// `GET /__admin/mappings` and `POST /__admin/mappings/find-by-metadata`.
#[derive(Serialize)]
pub struct Mappings {
    /// The stubs, each as its stub JSON with `id` and `uuid`.
    pub mappings: Vec<Value>,
    /// `{"total": N}`.
    pub meta: Meta,
}

/// `{"total": N}`.
#[derive(Serialize)]
pub struct Meta {
    /// How many there are in all.
    pub total: usize,
}

/// `GET /__admin/health`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `healthy`.
    pub status: &'static str,
    /// Always `Wiremock is ok`.
    pub message: &'static str,
    /// [`VERSION`].
    pub version: &'static str,
    /// Seconds since the server started.
    pub uptime_in_seconds: u64,
    /// Now, ISO 8601.
    pub timestamp: String,
}

/// `GET /__admin/version`.
#[derive(Serialize)]
pub struct Version {
    /// [`VERSION`].
    pub version: &'static str,
}

/// `GET /__admin/settings`.
#[derive(Serialize)]
pub struct Settings {
    /// The global settings.
    pub settings: Map<String, Value>,
}

/// `POST /__admin/requests/count`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    /// Requests matching.
    pub count: usize,
    /// Always `false`.
    pub request_journal_disabled: bool,
}

/// `GET /__admin/requests`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeEvents {
    /// Newest first.
    pub requests: Vec<ServeEvent>,
    /// `{"total": N}`: every request kept.
    pub meta: Meta,
    /// Always `false`.
    pub request_journal_disabled: bool,
}

/// `POST /__admin/requests/find`, `GET /__admin/requests/unmatched`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FoundRequests {
    /// The logged requests, oldest first.
    pub requests: Vec<LoggedRequest>,
    /// Always `false`.
    pub request_journal_disabled: bool,
}

/// `POST /__admin/requests/remove`: the serve events removed.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemovedEvents {
    /// The serve events removed.
    pub serve_events: Vec<ServeEvent>,
}

/// One request as WireMock logs it.
#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct LoggedRequest {
    /// Path and query.
    pub url: String,
    /// Scheme, host, port, path and query.
    pub absolute_url: String,
    /// Method.
    pub method: String,
    /// Client address (understudy does not record it: always the loopback address).
    pub client_ip: String,
    /// Header name → value, or array of values when repeated.
    pub headers: Map<String, Value>,
    /// Cookie name → value.
    pub cookies: Map<String, Value>,
    /// Always `false`.
    pub browser_proxy_request: bool,
    /// Milliseconds since the epoch.
    pub logged_date: u64,
    /// ISO 8601 with milliseconds.
    pub logged_date_string: String,
    /// The body as text.
    pub body: String,
    /// The body in base64.
    pub body_as_base64: String,
    /// `HTTP/1.1`.
    pub protocol: &'static str,
    /// `http` or `https`.
    pub scheme: &'static str,
    /// Host, from the `Host` header.
    pub host: String,
    /// Port, from the `Host` header (else the scheme's default).
    pub port: u16,
    /// Name → `{"key", "values"}`.
    pub query_params: Map<String, Value>,
    /// Name → `{"key", "values"}` for urlencoded form bodies.
    pub form_params: Map<String, Value>,
}

/// One serve event: a request, how it was answered, by which stub.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServeEvent {
    /// A UUID derived from the journal entry's id.
    pub id: String,
    /// The request.
    pub request: LoggedRequest,
    /// The matched stub's response definition; `{"status": N}` for a native route and
    /// `{"status": 404, "fromConfiguredStub": false}` for an unmatched request.
    pub response_definition: Value,
    /// What was sent (understudy records the status only).
    pub response: LoggedResponse,
    /// Whether a stub or route matched.
    pub was_matched: bool,
    /// The matched stub, when a WireMock stub matched; WireMock's stand-in `ANY` stub for an
    /// unmatched request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stub_mapping: Option<Value>,
    /// Timings in milliseconds.
    pub timing: Timing,
    /// Always empty.
    pub sub_events: Vec<Value>,
}

/// The response part of a serve event.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoggedResponse {
    /// Status sent.
    pub status: u16,
    /// Headers the answer set (a value, or an array for a header sent several times).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<Map<String, Value>>,
    /// The body as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body, base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_as_base64: Option<String>,
}

impl LoggedResponse {
    /// The response part of a journal entry: the status, and the headers and body when the
    /// journal kept them.
    fn from_record(r: &crate::journal::Record) -> Self {
        let Some(sent) = &r.response else {
            return LoggedResponse {
                status: r.status,
                headers: None,
                body: None,
                body_as_base64: None,
            };
        };
        let mut headers = Map::new();
        for (name, value) in &sent.headers {
            let shown = canonical_case(name.as_str());
            let text = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
            match headers.get_mut(&shown) {
                None => {
                    headers.insert(shown, text);
                }
                Some(Value::Array(list)) => list.push(text),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, text]);
                }
            }
        }
        LoggedResponse {
            status: r.status,
            headers: Some(headers),
            body: Some(String::from_utf8_lossy(&sent.body).into_owned()),
            body_as_base64: Some(base64::engine::general_purpose::STANDARD.encode(&sent.body)),
        }
    }
}

/// Timings of a serve event, in milliseconds.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Timing {
    /// Delay added by the stub (counted in `serveTime`).
    pub added_delay: u64,
    /// Time to decide the answer.
    pub process_time: u64,
    /// Time to send it.
    pub response_send_time: u64,
    /// Time to serve.
    pub serve_time: u64,
    /// Total time.
    pub total_time: u64,
}

/// `{"nearMisses": [...]}`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMisses {
    /// Closest first.
    pub near_misses: Vec<NearMiss>,
}

/// One near miss: a request and a stub (or a request pattern) that almost matched.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NearMiss {
    /// The request.
    pub request: Value,
    /// The stub, for request → stubs near misses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stub_mapping: Option<Value>,
    /// The pattern, for pattern → requests near misses.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_pattern: Option<Value>,
    /// `{"distance": 0..1}`.
    pub match_result: MatchResult,
}

/// How far from matching (0 matches, 1 nothing in common).
#[derive(Serialize)]
pub struct MatchResult {
    /// The distance.
    pub distance: f64,
}

impl MatchResult {
    /// A distance from the number of failed matchers.
    pub fn from_failures(failed: usize) -> Self {
        let n = failed as f64;
        MatchResult {
            distance: (n / (n + 1.0) * 1000.0).round() / 1000.0,
        }
    }
}

/// `GET /__admin/scenarios`.
#[derive(Serialize)]
pub struct Scenarios {
    /// Every scenario some stub names.
    pub scenarios: Vec<Scenario>,
}

/// One WireMock scenario.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario {
    /// The scenario's id (its name).
    pub id: String,
    /// The name.
    pub name: String,
    /// The current state.
    pub state: String,
    /// `Started` and every state its stubs require or set.
    pub possible_states: Vec<String>,
    /// The stubs naming it.
    pub mappings: Vec<Value>,
}

/// The UUID a journal entry shows as (its id in the last 48 bits).
pub fn event_id(id: u64) -> String {
    format!("00000000-0000-4000-8000-{:012x}", id & 0xffff_ffff_ffff)
}

/// The journal id of an [`event_id`] UUID.
pub fn entry_id(uuid: &uuid::Uuid) -> u64 {
    (uuid.as_u128() & 0xffff_ffff_ffff) as u64
}

/// `name → {"key": name, "values": [...]}` from urlencoded text.
fn params(text: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = Map::new();
    for (k, v) in form_urlencoded::parse(text.as_bytes()) {
        let entry = out
            .entry(k.to_string())
            .or_insert_with(|| serde_json::json!({ "key": k, "values": [] }));
        if let Some(Value::Array(values)) = entry.get_mut("values") {
            values.push(Value::String(v.into_owned()));
        }
    }
    out
}

impl LoggedRequest {
    /// A journal entry as WireMock logs requests; `scheme` is the server's.
    pub fn from_entry(entry: &Entry, scheme: &'static str) -> Self {
        let r = &entry.record;
        let url = match r.query() {
            "" => r.path().to_owned(),
            q => format!("{}?{q}", r.path()),
        };
        let mut headers: Map<String, Value> = Map::new();
        let mut cookies = Map::new();
        let mut host_header = None;
        let mut form = false;
        for (name, value) in &r.headers {
            let text = String::from_utf8_lossy(value.as_bytes()).into_owned();
            match name.as_str() {
                "host" => host_header = Some(text.clone()),
                "cookie" => {
                    for pair in text.split(';') {
                        if let Some((k, v)) = pair.trim().split_once('=') {
                            cookies.insert(k.to_owned(), Value::String(v.to_owned()));
                        }
                    }
                }
                "content-type" => {
                    form = text.starts_with("application/x-www-form-urlencoded");
                }
                _ => {}
            }
            let shown = canonical_case(name.as_str());
            match headers.get_mut(&shown) {
                None => {
                    headers.insert(shown, Value::String(text));
                }
                Some(Value::Array(list)) => list.push(Value::String(text)),
                Some(existing) => {
                    let first = existing.take();
                    *existing = Value::Array(vec![first, Value::String(text)]);
                }
            }
        }
        let default_port = if scheme == "https" { 443 } else { 80 };
        let host_header = host_header.unwrap_or_else(|| "localhost".into());
        let (host, port) = match host_header.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => match p.parse() {
                Ok(port) => (h.to_owned(), port),
                Err(_) => (host_header.clone(), default_port),
            },
            _ => (host_header.clone(), default_port),
        };
        let millis = entry
            .time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let body = String::from_utf8_lossy(&r.body).into_owned();
        LoggedRequest {
            absolute_url: format!("{scheme}://{host}:{port}{url}"),
            url,
            method: r.method.as_str().to_owned(),
            client_ip: "127.0.0.1".into(),
            headers,
            cookies,
            browser_proxy_request: false,
            logged_date: millis,
            logged_date_string: humantime::format_rfc3339_millis(entry.time).to_string(),
            form_params: if form { params(&body) } else { Map::new() },
            body,
            body_as_base64: base64::engine::general_purpose::STANDARD.encode(&r.body),
            protocol: "HTTP/1.1",
            scheme,
            host,
            port,
            query_params: params(r.query()),
        }
    }
}

impl ServeEvent {
    /// A journal entry as a serve event; `stub` is the stub that matched, if any.
    pub fn from_entry(entry: &Entry, scheme: &'static str, stub: Option<Value>) -> Self {
        let r = &entry.record;
        let ms = u64::try_from(r.duration.as_millis()).unwrap_or(u64::MAX);
        ServeEvent {
            id: event_id(entry.id),
            request: LoggedRequest::from_entry(entry, scheme),
            response_definition: stub
                .as_ref()
                .and_then(|s| s.get("response").cloned())
                .unwrap_or_else(|| match r.route {
                    None => unmatched_definition(),
                    Some(_) => serde_json::json!({ "status": r.status }),
                }),
            response: LoggedResponse::from_record(r),
            was_matched: r.route.is_some(),
            stub_mapping: match (stub, &r.route) {
                (None, None) => Some(unmatched_stub()),
                (stub, _) => stub,
            },
            timing: Timing {
                added_delay: 0,
                process_time: ms,
                response_send_time: 0,
                serve_time: ms,
                total_time: ms,
            },
            sub_events: Vec::new(),
        }
    }
}

/// The id of the stand-in stub WireMock names in every unmatched serve event (one per server;
/// understudy's is fixed).
const UNMATCHED_STUB_ID: &str = "00000000-0000-4000-8000-0000000f0404";

/// The response definition of an unmatched serve event, WireMock's: `404` even when the
/// request was answered from `__files`. WireMock's clients read `wasMatched` from
/// `fromConfiguredStub` (which defaults to true): it must say false.
fn unmatched_definition() -> Value {
    serde_json::json!({ "status": 404, "fromConfiguredStub": false })
}

/// The stand-in stub of an unmatched serve event: `ANY` request, the unmatched definition.
fn unmatched_stub() -> Value {
    serde_json::json!({
        "id": UNMATCHED_STUB_ID,
        "request": { "method": "ANY" },
        "response": unmatched_definition(),
        "uuid": UNMATCHED_STUB_ID,
    })
}

/// `x-request-id` → `X-Request-Id`: a header name as most HTTP/1.1 clients write it.
/// WireMock shows names as they were sent and its clients look them up by exact key
/// (`request.headers["X-Team"]`); understudy's HTTP layer keeps names in lowercase only, so
/// its journal shows each dash-separated word capitalized.
pub fn canonical_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = c == '-';
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostic_paths_become_json_pointers() {
        assert_eq!(pointer("request.bogus"), "/request/bogus");
        assert_eq!(pointer("mappings[0].request"), "/mappings/0/request");
        assert_eq!(pointer(""), "/");
    }

    #[test]
    fn event_ids_round_trip() {
        let id = event_id(42);
        let uuid = uuid::Uuid::parse_str(&id).expect("uuid");
        assert_eq!(entry_id(&uuid), 42);
    }

    #[test]
    fn header_names_in_canonical_case() {
        assert_eq!(super::canonical_case("x-request-id"), "X-Request-Id");
        assert_eq!(super::canonical_case("host"), "Host");
        assert_eq!(super::canonical_case("sec-fetch-mode"), "Sec-Fetch-Mode");
    }
}
