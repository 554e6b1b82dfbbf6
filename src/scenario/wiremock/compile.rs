//! WireMock stubs → compiled routes: the request pattern becomes native matchers plus
//! [`Condition`]s, the response definition becomes a native response (compiled by the same
//! code as a native `response`), priority and order follow WireMock.
//!
//! Ordering: WireMock tries the lowest `priority` number first (default 5), then the newest
//! stub. A stub's native priority is `-priority`, and its `added` stamp grows with every stub
//! compiled (a file's later stubs, a reloaded file, a stub put through the admin API).

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use actix_http::header::{self, HeaderName, HeaderValue};
use base64::Engine as _;
use serde_json::Value;

use super::model::{DelayDistribution, RequestPattern, ResponseDefinition, Stub};
use crate::scenario::compiled::{
    Answers, CompiledRoute, CompiledScenario, Delay, ExpectRule, HbsResponse, MethodMatcher,
    MethodPattern, PathMatcher, RequestMatcher,
};
use crate::scenario::ctx::{Ctx, Origin};
use crate::scenario::diag::{Diagnostic, JsonPath};
use crate::scenario::handlebars::HbsTemplate;
use crate::scenario::model::{self, Fault, OneOrMany};
use crate::scenario::path_regex::PathRegex;
use crate::scenario::pattern::{Condition, Placeholders, Subject, ValuePattern, WholeRegex};

/// WireMock's default stub priority.
const DEFAULT_PRIORITY: i64 = 5;

/// The state every WireMock scenario starts in.
pub const STARTED: &str = "Started";

/// Stubs compiled so far in this process: a stub compiled later is newer, and WireMock tries
/// the newest first among equal priorities.
static ADDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Upper bound on the compiled size of one regex (as native patterns).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Compiles the stubs of one mapping file into one scenario named after the file.
pub fn compile(
    stubs: &[Stub],
    many: bool,
    origin: &Origin<'_>,
) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let mut cx = Ctx::new(origin);
    let root = JsonPath::root();
    if stubs.len() > origin.limits.max_routes {
        cx.error(
            &root.key("mappings"),
            format!(
                "this file has {} stubs; a file may hold at most {} (--max-routes-per-file): \
                 split it into several files",
                stubs.len(),
                origin.limits.max_routes
            ),
        );
        return Err(cx.diags);
    }
    let name = origin.default_name.clone();
    let mut routes = Vec::with_capacity(stubs.len());
    // In the order written: a later stub is newer (`added`) and is tried first among equal
    // priorities, as WireMock does.
    for (i, stub) in stubs.iter().enumerate() {
        let at = if many {
            root.key("mappings").index(i)
        } else {
            root.clone()
        };
        if let Some(route) = compile_stub(&mut cx, stub, &at, &name, routes.len(), i) {
            routes.push(route);
        }
    }
    if !cx.diags.is_empty() {
        let mut diags = cx.diags;
        diags.sort_by_key(|d| (d.line, d.column));
        return Err(diags);
    }
    let mut warnings = cx.warnings;
    warnings.sort_by_key(|d| (d.line, d.column));
    Ok(CompiledScenario {
        name,
        description: None,
        file: origin.relative.clone(),
        initial_state: STARTED.to_owned(),
        routes,
        source: origin.source.into(),
        reads_files: cx.read_files,
        warnings,
        depends_on: Vec::new(),
    })
}

/// A stub's id: its `id` or `uuid` (a UUID), else one derived from where it is written, so
/// it stays the same across reloads.
fn stub_id(cx: &mut Ctx<'_>, stub: &Stub, at: &JsonPath, written: usize) -> String {
    let given = stub
        .id
        .as_deref()
        .map(|id| (id, "id"))
        .or(stub.uuid.as_deref().map(|id| (id, "uuid")));
    if let Some((id, key)) = given {
        match uuid::Uuid::parse_str(id) {
            Ok(uuid) => return uuid.hyphenated().to_string(),
            Err(_) => cx.error(&at.key(key), format!("{id:?} is not a valid UUID")),
        }
    }
    use std::hash::{Hash, Hasher};
    let mut bytes = [0u8; 16];
    for (half, seed) in [0u8, 1].iter().enumerate() {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (seed, cx.origin.display, written).hash(&mut h);
        bytes[half * 8..half * 8 + 8].copy_from_slice(&h.finish().to_le_bytes());
    }
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn compile_stub(
    cx: &mut Ctx<'_>,
    stub: &Stub,
    at: &JsonPath,
    scenario: &str,
    index: usize,
    written: usize,
) -> Option<CompiledRoute> {
    let before = cx.diags.len();
    unsupported(
        cx,
        at,
        "postServeActions",
        stub.post_serve_actions.is_some(),
    );
    unsupported(
        cx,
        at,
        "serveEventListeners",
        stub.serve_event_listeners.is_some(),
    );
    let id = stub_id(cx, stub, at, written);
    let matcher = compile_request(cx, &stub.request, &at.key("request"));
    let response = compile_response(cx, &stub.response, &at.key("response"), &id, stub);
    if (stub.required_scenario_state.is_some() || stub.new_scenario_state.is_some())
        && stub.scenario_name.is_none()
    {
        cx.error(
            &at.key("scenarioName"),
            "requiredScenarioState and newScenarioState need a scenarioName",
        );
    }
    if cx.diags.len() > before {
        return None;
    }
    Some(CompiledRoute {
        full_name: format!("{scenario}/{id}").into(),
        id_at: scenario.len() + 1,
        index,
        priority: -stub.priority.unwrap_or(DEFAULT_PRIORITY),
        added: ADDED.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        matcher: matcher?,
        scope: stub.scenario_name.as_deref().map(Arc::from),
        when_state: stub
            .required_scenario_state
            .as_ref()
            .map(|s| vec![s.clone()]),
        set_state: stub.new_scenario_state.clone(),
        answers: Answers::One(response?),
        expect: ExpectRule::Continue,
    })
}

/// Refuses a key WireMock accepts that understudy does not serve yet.
fn unsupported(cx: &mut Ctx<'_>, at: &JsonPath, key: &str, present: bool) {
    if present {
        cx.error_at_key(
            &at.key(key),
            format!("{key} is a WireMock feature understudy does not support yet"),
        );
    }
}

fn compile_request(
    cx: &mut Ctx<'_>,
    req: &RequestPattern,
    at: &JsonPath,
) -> Option<RequestMatcher> {
    let before = cx.diags.len();
    for (key, present) in [
        ("formParameters", req.form_parameters.is_some()),
        ("multipartPatterns", req.multipart_patterns.is_some()),
        ("host", req.host.is_some()),
        ("port", req.port.is_some()),
        ("scheme", req.scheme.is_some()),
        ("clientIp", req.client_ip.is_some()),
        ("customMatcher", req.custom_matcher.is_some()),
    ] {
        unsupported(cx, at, key, present);
    }
    let mut m = RequestMatcher {
        exact_method: true,
        ..RequestMatcher::default()
    };
    match req.method.as_deref() {
        None | Some("ANY") => {}
        Some(method) => {
            m.method = Some(MethodMatcher::new(MethodPattern::Literal(method.into())));
        }
    }
    let urls: Vec<&str> = [
        ("url", req.url.is_some()),
        ("urlPattern", req.url_pattern.is_some()),
        ("urlPath", req.url_path.is_some()),
        ("urlPathPattern", req.url_path_pattern.is_some()),
        ("urlPathTemplate", req.url_path_template.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(key, _)| key)
    .collect();
    if urls.len() > 1 {
        cx.error_at_key(
            &at.key(urls[1]),
            format!(
                "a request has at most one of url, urlPattern, urlPath, urlPathPattern and \
                 urlPathTemplate; this one also has {}",
                urls[0]
            ),
        );
    }
    if let Some(url) = &req.url {
        let path = url.split_once('?').map_or(url.as_str(), |(p, _)| p);
        m.path = Some(literal_path(path));
        m.conditions.push(Condition {
            subject: Subject::Url,
            pattern: ValuePattern::EqualTo {
                value: url.clone(),
                case_insensitive: false,
            },
        });
    } else if let Some(pattern) = &req.url_pattern {
        if let Some(re) = whole_regex(cx, pattern, &at.key("urlPattern")) {
            m.conditions.push(Condition {
                subject: Subject::Url,
                pattern: ValuePattern::Matches(re),
            });
        }
    } else if let Some(path) = &req.url_path {
        m.path = Some(literal_path(path));
    } else if let Some(pattern) = &req.url_path_pattern {
        match whole_regex(cx, pattern, &at.key("urlPathPattern")) {
            Some(WholeRegex::Std(re)) => {
                m.path = Some(PathMatcher::Regex(Box::new(PathRegex::built(re))));
            }
            Some(fancy) => m.conditions.push(Condition {
                subject: Subject::Path,
                pattern: ValuePattern::Matches(fancy),
            }),
            None => {}
        }
    } else if let Some(template) = &req.url_path_template {
        let pattern = path_template(template);
        match regex::Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => {
                m.path = Some(PathMatcher::Regex(Box::new(PathRegex::built(re))));
            }
            Err(err) => cx.error(
                &at.key("urlPathTemplate"),
                format!("{template:?} is not a valid path template: {err}"),
            ),
        }
    }
    for (name, spec) in req.path_parameters.iter().flatten() {
        let Some(template) = &req.url_path_template else {
            cx.error_at_key(
                &at.key("pathParameters"),
                "pathParameters need a urlPathTemplate",
            );
            break;
        };
        if !template.contains(&format!("{{{name}}}")) {
            cx.error_at_key(
                &at.key("pathParameters").key(name),
                format!("{template:?} has no parameter {{{name}}}"),
            );
        }
        let p = at.key("pathParameters").key(name);
        if let Some(pattern) = value_pattern(cx, spec, &p) {
            m.conditions.push(Condition {
                subject: Subject::PathParam(name.clone()),
                pattern,
            });
        }
    }
    for (name, spec) in req.query_parameters.iter().flatten() {
        let p = at.key("queryParameters").key(name);
        if let Some(pattern) = value_pattern(cx, spec, &p) {
            m.conditions.push(Condition {
                subject: Subject::Query(name.clone()),
                pattern,
            });
        }
    }
    for (name, spec) in req.headers.iter().flatten() {
        let p = at.key("headers").key(name);
        let Ok(hname) = HeaderName::from_bytes(name.as_bytes()) else {
            cx.error_at_key(&p, format!("{name:?} is not a valid header name"));
            continue;
        };
        if let Some(pattern) = value_pattern(cx, spec, &p) {
            m.conditions.push(Condition {
                subject: Subject::Header(hname),
                pattern,
            });
        }
    }
    for (name, spec) in req.cookies.iter().flatten() {
        let p = at.key("cookies").key(name);
        if let Some(pattern) = value_pattern(cx, spec, &p) {
            m.conditions.push(Condition {
                subject: Subject::Cookie(name.clone()),
                pattern,
            });
        }
    }
    if let Some(auth) = &req.basic_auth_credentials {
        let token = base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", auth.username, auth.password));
        m.conditions.push(Condition {
            subject: Subject::Header(header::AUTHORIZATION),
            pattern: ValuePattern::EqualTo {
                value: format!("Basic {token}"),
                case_insensitive: false,
            },
        });
    }
    for (i, spec) in req.body_patterns.iter().flatten().enumerate() {
        let p = at.key("bodyPatterns").index(i);
        if let Some(pattern) = value_pattern(cx, spec, &p) {
            m.conditions.push(Condition {
                subject: Subject::Body(i),
                pattern,
            });
        }
    }
    (cx.diags.len() == before).then_some(m)
}

/// A literal path matcher (compared as a string).
fn literal_path(path: &str) -> PathMatcher {
    PathMatcher::Literal(path.into())
}

/// `/users/{id}/orders` → `/users/(?P<id>[^/]+)/orders`.
fn path_template(template: &str) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&regex::escape(&rest[..open]));
        match rest[open..].find('}') {
            Some(close) => {
                let name = &rest[open + 1..open + close];
                out.push_str(&format!("(?P<{name}>[^/]+)"));
                rest = &rest[open + close + 1..];
            }
            None => {
                out.push_str(&regex::escape(&rest[open..]));
                rest = "";
            }
        }
    }
    out.push_str(&regex::escape(rest));
    out
}

fn whole_regex(cx: &mut Ctx<'_>, pattern: &str, at: &JsonPath) -> Option<WholeRegex> {
    match WholeRegex::new(pattern, REGEX_SIZE_LIMIT) {
        Ok(re) => Some(re),
        Err(err) => {
            let first = err.lines().last().unwrap_or_default().trim().to_owned();
            cx.error(at, format!("{pattern:?} is not a valid regex: {first}"));
            None
        }
    }
}

/// The operators of a value pattern (exactly one per pattern object).
const OPERATORS: [&str; 14] = [
    "equalTo",
    "contains",
    "doesNotContain",
    "matches",
    "doesNotMatch",
    "absent",
    "equalToJson",
    "matchesJsonPath",
    "binaryEqualTo",
    "and",
    "or",
    "not",
    "hasExactly",
    "includes",
];

/// Operators WireMock has that understudy does not serve yet.
const LATER: [&str; 7] = [
    "equalToXml",
    "matchesXPath",
    "matchesJsonSchema",
    "before",
    "after",
    "equalToDateTime",
    "isNot",
];

/// Modifiers allowed beside an operator.
const MODIFIERS: [&str; 3] = ["caseInsensitive", "ignoreArrayOrder", "ignoreExtraElements"];

/// Compiles one WireMock value pattern (`{"equalTo": "x"}`, `{"and": [...]}`, …).
pub(crate) fn value_pattern(cx: &mut Ctx<'_>, spec: &Value, at: &JsonPath) -> Option<ValuePattern> {
    let Some(obj) = spec.as_object() else {
        cx.error(
            at,
            format!("expected a pattern object such as {{\"equalTo\": \"…\"}}, found {spec}"),
        );
        return None;
    };
    let mut operator = None;
    for key in obj.keys() {
        let k = key.as_str();
        if LATER.contains(&k) {
            cx.error_at_key(
                &at.key(k),
                format!("{k} is a WireMock matcher understudy does not support yet"),
            );
            return None;
        }
        if OPERATORS.contains(&k) {
            if let Some(first) = operator {
                cx.error_at_key(
                    &at.key(k),
                    format!("a pattern has one operator; this one has {first} and {k}"),
                );
                return None;
            }
            operator = Some(k);
        } else if !MODIFIERS.contains(&k) && k != "expression" {
            cx.error_at_key(
                &at.key(k),
                format!(
                    "unknown pattern key {k:?}; expected one of {}",
                    OPERATORS.join(", ")
                ),
            );
            return None;
        }
    }
    let Some(op) = operator else {
        cx.error(
            at,
            format!("a pattern needs one of {}", OPERATORS.join(", ")),
        );
        return None;
    };
    let flag = |key: &str| obj.get(key).and_then(Value::as_bool).unwrap_or(false);
    let value = &obj[op];
    let p = at.key(op);
    let text = |cx: &mut Ctx<'_>| match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        other => {
            cx.error(&p, format!("expected a string, found {other}"));
            None
        }
    };
    Some(match op {
        "equalTo" => ValuePattern::EqualTo {
            value: text(cx)?,
            case_insensitive: flag("caseInsensitive"),
        },
        "contains" => ValuePattern::Contains(text(cx)?),
        "doesNotContain" => ValuePattern::DoesNotContain(text(cx)?),
        "matches" => {
            let pattern = text(cx)?;
            ValuePattern::Matches(whole_regex(cx, &pattern, &p)?)
        }
        "doesNotMatch" => {
            let pattern = text(cx)?;
            ValuePattern::DoesNotMatch(whole_regex(cx, &pattern, &p)?)
        }
        "absent" => match value {
            Value::Bool(true) => ValuePattern::Absent,
            Value::Bool(false) => {
                cx.error(&p, "\"absent\": false is not a pattern; leave the key out");
                return None;
            }
            other => {
                cx.error(&p, format!("expected true, found {other}"));
                return None;
            }
        },
        "equalToJson" => {
            let value = match value {
                Value::String(s) => match serde_json::from_str(s) {
                    Ok(v) => v,
                    Err(err) => {
                        cx.error(&p, format!("the expected JSON does not parse: {err}"));
                        return None;
                    }
                },
                other => other.clone(),
            };
            let placeholders = match Placeholders::of(&value) {
                Ok(p) => p,
                Err(err) => {
                    cx.error(&p, err);
                    return None;
                }
            };
            ValuePattern::EqualToJson {
                value,
                ignore_array_order: flag("ignoreArrayOrder"),
                ignore_extra_elements: flag("ignoreExtraElements"),
                placeholders,
            }
        }
        "matchesJsonPath" => json_path(cx, value, &p)?,
        "binaryEqualTo" => {
            let encoded = text(cx)?;
            match base64::engine::general_purpose::STANDARD.decode(encoded.as_bytes()) {
                Ok(bytes) => ValuePattern::BinaryEqualTo(bytes),
                Err(err) => {
                    cx.error(&p, format!("binaryEqualTo takes base64: {err}"));
                    return None;
                }
            }
        }
        "and" | "or" | "hasExactly" | "includes" => {
            let Some(items) = value.as_array() else {
                cx.error(&p, format!("expected an array of patterns, found {value}"));
                return None;
            };
            let mut all = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                all.push(value_pattern(cx, item, &p.index(i))?);
            }
            match op {
                "and" => ValuePattern::And(all),
                "hasExactly" => ValuePattern::HasExactly(all),
                "includes" => ValuePattern::Includes(all),
                _ => ValuePattern::Or(all),
            }
        }
        _ => {
            cx.error_at_key(
                &p,
                format!("{op} is a WireMock matcher understudy does not support yet"),
            );
            return None;
        }
    })
}

/// `matchesJsonPath`: `"$.x"`, or `{"expression": "$.x", <pattern>}`.
fn json_path(cx: &mut Ctx<'_>, value: &Value, at: &JsonPath) -> Option<ValuePattern> {
    let (expression, then) = match value {
        Value::String(s) => (s.clone(), None),
        Value::Object(obj) => {
            let Some(expression) = obj.get("expression").and_then(Value::as_str) else {
                cx.error(at, "matchesJsonPath as an object needs an \"expression\"");
                return None;
            };
            let mut rest = obj.clone();
            rest.remove("expression");
            let then = value_pattern(cx, &Value::Object(rest), at)?;
            (expression.to_owned(), Some(Box::new(then)))
        }
        other => {
            cx.error(at, format!("expected a JSONPath string, found {other}"));
            return None;
        }
    };
    match serde_json_path::JsonPath::parse(&expression) {
        Ok(path) => Some(ValuePattern::MatchesJsonPath {
            expression,
            path,
            then,
        }),
        Err(err) => {
            cx.error(
                at,
                format!("{expression:?} is not a JSONPath understudy reads (RFC 9535): {err}"),
            );
            None
        }
    }
}

/// WireMock's `proxyBaseUrl` family as a native `proxy` answer.
fn proxy(cx: &mut Ctx<'_>, r: &ResponseDefinition, at: &JsonPath) -> Option<model::Proxy> {
    let Some(base) = &r.proxy_base_url else {
        for (key, present) in [
            (
                "proxyUrlPrefixToRemove",
                r.proxy_url_prefix_to_remove.is_some(),
            ),
            (
                "removeProxyRequestHeaders",
                r.remove_proxy_request_headers.is_some(),
            ),
            (
                "additionalProxyRequestHeaders",
                r.additional_proxy_request_headers.is_some(),
            ),
        ] {
            if present {
                cx.error_at_key(&at.key(key), format!("{key} needs proxyBaseUrl"));
            }
        }
        return None;
    };
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let add_headers = match &r.additional_proxy_request_headers {
        Some(Value::Object(map)) => Some(map.iter().map(|(k, v)| (k.clone(), text(v))).collect()),
        Some(_) => {
            cx.error(
                &at.key("additionalProxyRequestHeaders"),
                "expected an object of headers",
            );
            None
        }
        None => None,
    };
    let remove_headers = match &r.remove_proxy_request_headers {
        Some(Value::Array(items)) => Some(items.iter().map(text).collect()),
        Some(_) => {
            cx.error(
                &at.key("removeProxyRequestHeaders"),
                "expected an array of header names",
            );
            None
        }
        None => None,
    };
    Some(model::Proxy {
        to: text(base),
        strip_prefix: r.proxy_url_prefix_to_remove.as_ref().map(text),
        add_headers,
        remove_headers,
        timeout_ms: None,
    })
}

fn compile_response(
    cx: &mut Ctx<'_>,
    r: &ResponseDefinition,
    at: &JsonPath,
    id: &str,
    stub: &Stub,
) -> Option<crate::scenario::compiled::CompiledResponse> {
    let before = cx.diags.len();
    let proxy = proxy(cx, r, at);
    let bodies: Vec<&str> = [
        ("body", r.body.is_some()),
        ("jsonBody", r.json_body.is_some()),
        ("base64Body", r.base64_body.is_some()),
        ("bodyFileName", r.body_file_name.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(key, _)| key)
    .collect();
    if bodies.len() > 1 {
        cx.error_at_key(
            &at.key(bodies[1]),
            format!(
                "a response has at most one of body, jsonBody, base64Body and bodyFileName; \
                 this one also has {}",
                bodies[0]
            ),
        );
    }
    for (i, t) in r.transformers.iter().flatten().enumerate() {
        if t != "response-template" {
            cx.error(
                &at.key("transformers").index(i),
                format!("{t:?} is a WireMock extension understudy does not have"),
            );
        }
    }
    let templated = cx.origin.limits.global_templating
        || r.transformers
            .iter()
            .flatten()
            .any(|t| t == "response-template");
    let fault = match r.fault.as_deref() {
        None => None,
        Some("CONNECTION_RESET_BY_PEER") => Some(Fault::ConnectionReset),
        Some("EMPTY_RESPONSE") => Some(Fault::EmptyResponse),
        Some("RANDOM_DATA_THEN_CLOSE") => Some(Fault::MalformedResponse),
        Some("MALFORMED_RESPONSE_CHUNK") => Some(Fault::MalformedChunk),
        Some(other) => {
            cx.error(
                &at.key("fault"),
                format!(
                    "unknown fault {other:?}; expected CONNECTION_RESET_BY_PEER, \
                     EMPTY_RESPONSE, MALFORMED_RESPONSE_CHUNK or RANDOM_DATA_THEN_CLOSE"
                ),
            );
            None
        }
    };
    let mut headers = indexmap::IndexMap::new();
    for (name, value) in r.headers.iter().flatten() {
        let values = match value {
            Value::String(s) => OneOrMany::One(s.clone()),
            Value::Array(items) => OneOrMany::Many(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect(),
            ),
            other => OneOrMany::One(other.to_string()),
        };
        // Framing is computed from the body (recorded stubs often carry these headers).
        let lower = name.to_ascii_lowercase();
        let framing = lower == "content-length" || lower == "transfer-encoding";
        let connection = lower == "connection"
            && !values
                .as_slice()
                .iter()
                .all(|v| v.eq_ignore_ascii_case("close") || v.eq_ignore_ascii_case("keep-alive"));
        if framing || connection {
            cx.warn(
                &at.key("headers").key(name),
                format!(
                    "{name} is set by understudy from the body and connection; not sent as written"
                ),
            );
            continue;
        }
        headers.insert(name.clone(), values);
    }
    let has_content_type = headers
        .keys()
        .any(|n| n.eq_ignore_ascii_case("content-type"));
    let file = match &r.body_file_name {
        Some(name) => body_file(cx, name, &at.key("bodyFileName")),
        None => None,
    };
    let native = model::Response {
        status: proxy.is_none().then(|| r.status.unwrap_or(200)),
        reason: r.status_message.clone(),
        headers: (!headers.is_empty()).then_some(headers),
        body: r.body.clone(),
        json: r.json_body.clone(),
        base64: r.base64_body.clone(),
        file,
        template: None,
        delay_ms: None,
        chunks: None,
        fault,
        websocket: None,
        upgrade: None,
        informational: None,
        repeat: None,
        proxy,
    };
    let mut compiled = crate::scenario::response::compile(cx, &native, at);
    if cx.diags.len() > before {
        return None;
    }
    let compiled_ref = compiled.as_mut()?;
    // WireMock sends only the Content-Type a stub names.
    if !has_content_type {
        compiled_ref
            .headers
            .retain(|(n, _)| n != header::CONTENT_TYPE);
    }
    if templated {
        let hbs = templates(cx, r, at, compiled_ref);
        if cx.diags.len() > before {
            return None;
        }
        compiled_ref.hbs = Some(Arc::new(hbs));
    }
    compiled_ref.delay = match (&r.fixed_delay_milliseconds, &r.delay_distribution) {
        (Some(ms), _) => Some(Delay::Fixed(std::time::Duration::from_millis(*ms))),
        (None, Some(DelayDistribution::Fixed { milliseconds })) => Some(Delay::Fixed(
            std::time::Duration::from_millis(*milliseconds),
        )),
        (None, Some(DelayDistribution::Uniform { lower, upper })) => {
            Some(Delay::Uniform(*lower.min(upper), *lower.max(upper)))
        }
        (
            None,
            Some(DelayDistribution::Lognormal {
                median,
                sigma,
                max_value,
            }),
        ) => Some(Delay::LogNormal {
            median: *median,
            sigma: *sigma,
            max: max_value.unwrap_or(f64::MAX),
        }),
        (None, None) => None,
    }
    .map(Box::new);
    if let Some(dribble) = &r.chunked_dribble_delay {
        let n = dribble.number_of_chunks.max(1);
        let len = compiled_ref.body.len() as u64;
        let size = len.div_ceil(n).max(1);
        compiled_ref.chunks = Some(Box::new((
            usize::try_from(size).unwrap_or(usize::MAX),
            std::time::Duration::from_millis(dribble.total_duration / n),
        )));
    }
    compiled_ref
        .headers
        .push((HeaderName::from_static("matched-stub-id"), header_value(id)));
    if let Some(name) = &stub.name {
        compiled_ref.headers.push((
            HeaderName::from_static("matched-stub-name"),
            header_value(name),
        ));
    }
    compiled
}

/// The Handlebars templates of a templated response: every configured header value, and the
/// body (text, JSON or file; a base64 body is bytes and stays as it is). Parse errors are
/// load errors at the template's key, with the position inside the template.
fn templates(
    cx: &mut Ctx<'_>,
    r: &ResponseDefinition,
    at: &JsonPath,
    compiled: &mut crate::scenario::compiled::CompiledResponse,
) -> HbsResponse {
    let parse = |cx: &mut Ctx<'_>, text: &str, p: &JsonPath| match HbsTemplate::parse(text) {
        Ok(t) => Some(t),
        Err(err) => {
            cx.error(p, format!("template does not parse: {err}"));
            None
        }
    };
    let mut headers = Vec::new();
    for (name, value) in r.headers.iter().flatten() {
        let Ok(hname) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        let values: Vec<(String, JsonPath)> = match value {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (plain(v), at.key("headers").key(name).index(i)))
                .collect(),
            v => vec![(plain(v), at.key("headers").key(name))],
        };
        // Rendered per request, so not sent as they are.
        compiled.headers.retain(|(n, _)| *n != hname);
        for (text, p) in values {
            if let Some(t) = parse(cx, &text, &p) {
                headers.push((hname.clone(), t));
            }
        }
    }
    let body = if r.base64_body.is_some() || compiled.body.is_empty() {
        None
    } else {
        let key = if r.json_body.is_some() {
            "jsonBody"
        } else if r.body_file_name.is_some() {
            "bodyFileName"
        } else {
            "body"
        };
        let text = String::from_utf8_lossy(&compiled.body).into_owned();
        parse(cx, &text, &at.key(key))
    };
    HbsResponse {
        headers,
        body,
        fuel: cx.origin.limits.template_fuel,
    }
}

/// A JSON scalar as header text (a string without its quotes).
fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// `bodyFileName` as a `file` path relative to the mapping file's folder: it names a file in
/// the `__files` directory beside the nearest `mappings` directory above the mapping (else
/// beside the scenarios directory's top), and must stay inside it.
fn body_file(cx: &mut Ctx<'_>, name: &str, at: &JsonPath) -> Option<String> {
    let rel = Path::new(name);
    let mut depth = 0i32;
    for part in rel.components() {
        match part {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => {
                cx.error(
                    at,
                    format!("bodyFileName {name:?} is an absolute path; it is read from __files"),
                );
                return None;
            }
        }
        if depth < 0 {
            cx.error(
                at,
                format!("bodyFileName {name:?} leaves the __files directory through \"..\""),
            );
            return None;
        }
    }
    // The mapping's folder, relative to the scenarios directory.
    let folder = cx
        .origin
        .relative
        .as_deref()
        .and_then(Path::parent)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let parts: Vec<_> = folder.components().collect();
    let wiremock_root = parts
        .iter()
        .rposition(|c| c.as_os_str() == "mappings")
        .unwrap_or(0);
    let ups = parts.len();
    let mut path = PathBuf::new();
    for _ in 0..ups {
        path.push("..");
    }
    for part in &parts[..wiremock_root.min(parts.len())] {
        path.push(part.as_os_str());
    }
    path.push("__files");
    path.push(rel);
    Some(path.to_string_lossy().replace('\\', "/"))
}

/// Compiles a WireMock request pattern given alone (the admin API's `requests/count`,
/// `requests/find`, `near-misses/request-pattern`) with the stubs' request compiler.
pub(crate) fn compile_request_pattern(text: &str) -> Result<RequestMatcher, Vec<Diagnostic>> {
    standalone::<RequestPattern, _>(text, "<request pattern>", |cx, req, at| {
        compile_request(cx, req, at)
    })
}

/// Compiles one WireMock value pattern given alone (`find-by-metadata`).
pub(crate) fn compile_value_pattern(text: &str) -> Result<ValuePattern, Vec<Diagnostic>> {
    standalone::<Value, _>(text, "<value pattern>", value_pattern)
}

/// Parses `text` strictly and compiles it with `f` outside any file.
fn standalone<T: serde::de::DeserializeOwned, R>(
    text: &str,
    name: &str,
    f: impl FnOnce(&mut Ctx<'_>, &T, &JsonPath) -> Option<R>,
) -> Result<R, Vec<Diagnostic>> {
    let display = PathBuf::from(name);
    let origin = Origin {
        display: &display,
        source: text,
        root: None,
        dir: Path::new("."),
        default_name: name.to_owned(),
        relative: None,
        limits: crate::scenario::load::Limits::default(),
    };
    let parsed: T = super::parse(&origin)?;
    let mut cx = Ctx::new(&origin);
    let out = f(&mut cx, &parsed, &JsonPath::root());
    match out {
        Some(out) if cx.diags.is_empty() => Ok(out),
        _ => Err(cx.diags),
    }
}
