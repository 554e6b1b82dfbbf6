//! WireMock's `POST /__admin/recordings/snapshot`: stub mappings built from the proxied
//! answers in the request journal, as WireMock 3.13 builds them, added to the stubs serving
//! (and written under `mappings/` unless `"persist": false`).
//!
//! One stub per distinct request, newest first. The request pattern is WireMock's: `url` (or
//! `urlPath` and `queryParameters` with `hasExactly`), `method`, the `captureHeaders` asked
//! for, and the body as `equalToJson` (JSON), `equalTo` (other text, XML included: understudy
//! has no `equalToXml`) or `binaryEqualTo`. A request seen several times becomes a WireMock scenario
//! (`scenario-N-NAME`, states `Started`, `scenario-N-NAME-2`, …) with `repeatsAsScenarios`
//! (the default), else its newest answer alone. Only answers the journal kept whole are used:
//! those that streamed within the per-entry body bound, from a request not cut to it.
//! `requestBodyPattern`, `extractBodyCriteria`, `transformers` and `transformerParameters`
//! are accepted and ignored.

use std::collections::HashMap;

use actix_http::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::{HttpResponse, web};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::mappings::persist;
use super::reply::{json_body, unprocessable};
use super::stubs::{StubEntry, put_stub, stubs};
use crate::http::AppState;
use crate::http::wiremock_json as wj;
use crate::journal::{Entry, Filter};

/// The snapshot's options (WireMock's `RecordSpec`); the keys not listed are ignored.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Spec {
    filters: Filters,
    capture_headers: Map<String, Value>,
    output_format: Option<String>,
    persist: Option<bool>,
    repeats_as_scenarios: Option<bool>,
}

/// Which journal entries become stubs (WireMock's `ProxiedServeEventFilters`).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct Filters {
    url_pattern: Option<String>,
    method: Option<String>,
    ids: Option<Vec<String>>,
}

/// `POST /__admin/recordings/snapshot`.
pub(super) async fn snapshot(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let spec: Spec = match json_body(&body).map(serde_json::from_value) {
        Ok(Ok(spec)) => spec,
        Ok(Err(err)) => {
            return HttpResponse::UnprocessableEntity()
                .json(wj::Errors::one(10, format!("bad snapshot spec: {err}")));
        }
        Err(resp) => return *resp,
    };
    let pick = match Pick::of(&spec.filters) {
        Ok(pick) => pick,
        Err(message) => {
            return HttpResponse::UnprocessableEntity().json(wj::Errors::one(10, message));
        }
    };
    let (entries, _) = state.journal.list(&Filter::default());
    let exchanges: Vec<(Value, Value)> = entries
        .iter()
        .rev()
        .filter(|e| pick.takes(e))
        .filter_map(|e| Some((request(e, &spec.capture_headers), response(e)?)))
        .collect();
    let persist_them = spec.persist.unwrap_or(true);
    let stubs_made = build(
        exchanges,
        spec.repeats_as_scenarios.unwrap_or(true),
        persist_them,
    );
    let mut stored = Vec::with_capacity(stubs_made.len());
    // Added oldest first, so that among equal priorities the newest answer wins as in the
    // journal order; listed newest first.
    for (id, stub) in stubs_made.iter().rev() {
        match put_stub(&state, stub, id) {
            Ok(stub) => stored.push(stub),
            Err(diags) => return unprocessable(&diags),
        }
    }
    stored.reverse();
    if persist_them && !stubs_made.is_empty() {
        let ids: Vec<&str> = stubs_made.iter().map(|(id, _)| id.as_str()).collect();
        let mine: Vec<StubEntry> = stubs(&state)
            .into_iter()
            .filter(|s| s.api && ids.contains(&s.id.as_str()))
            .collect();
        if let Err(message) = persist(&state, mine).await {
            tracing::warn!("snapshot stubs stay in memory: {message}");
        }
    }
    match spec.output_format.as_deref().map(str::to_ascii_uppercase) {
        Some(f) if f == "IDS" => HttpResponse::Ok().json(json!({
            "ids": stubs_made.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>()
        })),
        _ => HttpResponse::Ok().json(json!({ "mappings": stored })),
    }
}

/// The filters, compiled.
struct Pick {
    url: Option<regex::Regex>,
    method: Option<String>,
    ids: Option<Vec<u64>>,
}

impl Pick {
    fn of(filters: &Filters) -> Result<Pick, String> {
        let url = match &filters.url_pattern {
            Some(p) => Some(
                regex::Regex::new(&format!("^(?:{p})$"))
                    .map_err(|err| format!("filters.urlPattern is not a regex: {err}"))?,
            ),
            None => None,
        };
        let ids = match &filters.ids {
            Some(ids) => Some(
                ids.iter()
                    .map(|id| {
                        uuid::Uuid::parse_str(id)
                            .map(|u| wj::entry_id(&u))
                            .map_err(|_| format!("filters.ids: {id} is not a valid UUID"))
                    })
                    .collect::<Result<Vec<_>, _>>()?,
            ),
            None => None,
        };
        let method = filters
            .method
            .clone()
            .filter(|m| !m.eq_ignore_ascii_case("ANY"));
        Ok(Pick { url, method, ids })
    }

    /// Whether the entry is a proxied exchange kept whole that the filters let through.
    fn takes(&self, entry: &Entry) -> bool {
        let r = &entry.record;
        let kept_whole = r.upstream.as_ref().is_some_and(|u| u.body.get().is_some());
        kept_whole
            && !entry.body_truncated
            && self
                .method
                .as_ref()
                .is_none_or(|m| m.as_str() == r.method.as_str())
            && self.url.as_ref().is_none_or(|re| {
                re.is_match(
                    r.uri
                        .path_and_query()
                        .map_or_else(|| r.uri.path(), |pq| pq.as_str()),
                )
            })
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&entry.id))
    }
}

/// The stubs for `exchanges` (newest first), with their ids, newest first.
fn build(
    exchanges: Vec<(Value, Value)>,
    scenarios: bool,
    persistent: bool,
) -> Vec<(String, Value)> {
    // How many times each request pattern was seen, and its scenario's number.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (request, _) in &exchanges {
        *seen.entry(request.to_string()).or_default() += 1;
    }
    let mut numbers: HashMap<String, usize> = HashMap::new();
    let mut left: HashMap<String, usize> = seen.clone();
    let mut out = Vec::new();
    for (request, response) in exchanges {
        let key = request.to_string();
        let total = seen.get(&key).copied().unwrap_or(1);
        let remaining = left.entry(key.clone()).or_default();
        let position = *remaining; // 1-based, counted from the oldest
        *remaining = remaining.saturating_sub(1);
        if total > 1 && !scenarios && position != total {
            continue;
        }
        let id = uuid::Uuid::new_v4().hyphenated().to_string();
        let name = stub_name(&request);
        let mut stub = Map::new();
        stub.insert("id".into(), Value::String(id.clone()));
        stub.insert("name".into(), Value::String(name.clone()));
        stub.insert("request".into(), request);
        stub.insert("response".into(), response);
        stub.insert("uuid".into(), Value::String(id.clone()));
        if persistent {
            stub.insert("persistent".into(), Value::Bool(true));
        }
        if total > 1 && scenarios {
            let next = numbers.len() + 1;
            let number = *numbers.entry(key).or_insert(next);
            let scenario = format!("scenario-{number}-{name}");
            let state = |n: usize| match n {
                1 => "Started".to_owned(),
                n => format!("{scenario}-{n}"),
            };
            stub.insert("scenarioName".into(), Value::String(scenario.clone()));
            stub.insert(
                "requiredScenarioState".into(),
                Value::String(state(position)),
            );
            if position < total {
                stub.insert(
                    "newScenarioState".into(),
                    Value::String(state(position + 1)),
                );
            }
        }
        out.push((id, Value::Object(stub)));
    }
    out
}

/// WireMock's stub name: the path without its first `/`, other `/` as `_`, lower-case.
fn stub_name(request: &Value) -> String {
    let path = request["url"]
        .as_str()
        .or_else(|| request["urlPath"].as_str())
        .unwrap_or_default();
    path.trim_start_matches('/')
        .chars()
        .map(|c| match c {
            '/' => '_',
            c if c.is_alphanumeric() || matches!(c, '-' | '.' | '_') => c.to_ascii_lowercase(),
            _ => '_',
        })
        .take(200)
        .collect()
}

/// The request pattern of a journal entry.
fn request(entry: &Entry, capture: &Map<String, Value>) -> Value {
    let r = &entry.record;
    let mut out = Map::new();
    let query = r.query();
    if query.is_empty() {
        out.insert("url".into(), Value::String(r.path().to_owned()));
    } else {
        out.insert("urlPath".into(), Value::String(r.path().to_owned()));
    }
    out.insert("method".into(), Value::String(r.method.as_str().to_owned()));
    if !query.is_empty() {
        let mut params: Map<String, Value> = Map::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let entry = params
                .entry(name.into_owned())
                .or_insert_with(|| json!({ "hasExactly": [] }));
            if let Some(list) = entry["hasExactly"].as_array_mut() {
                list.push(json!({ "equalTo": value }));
            }
        }
        out.insert("queryParameters".into(), Value::Object(params));
    }
    let mut headers = Map::new();
    for (name, options) in capture {
        let Some((_, value)) = r
            .headers
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let mut pattern = Map::new();
        pattern.insert(
            "equalTo".into(),
            Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned()),
        );
        if options["caseInsensitive"] == Value::Bool(true) {
            pattern.insert("caseInsensitive".into(), Value::Bool(true));
        }
        headers.insert(name.clone(), Value::Object(pattern));
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if !r.body.is_empty() {
        let content_type = header_text(&r.headers, &CONTENT_TYPE).to_ascii_lowercase();
        let pattern = match std::str::from_utf8(&r.body) {
            Ok(text) if content_type.contains("json") => json!({
                "equalToJson": text, "ignoreArrayOrder": true, "ignoreExtraElements": true
            }),
            Ok(text) => json!({ "equalTo": text, "caseInsensitive": false }),
            Err(_) => json!({
                "binaryEqualTo": base64::engine::general_purpose::STANDARD.encode(&r.body)
            }),
        };
        out.insert("bodyPatterns".into(), json!([pattern]));
    }
    Value::Object(out)
}

/// The response definition of a journal entry's kept upstream answer.
fn response(entry: &Entry) -> Option<Value> {
    let upstream = entry.record.upstream.as_ref()?;
    let body = upstream.body.get()?;
    let mut out = Map::new();
    out.insert("status".into(), Value::from(entry.record.status));
    if !body.is_empty() {
        let content_type = header_text(&upstream.headers, &CONTENT_TYPE).to_ascii_lowercase();
        let encoded = !matches!(
            header_text(&upstream.headers, &CONTENT_ENCODING).trim(),
            "" | "identity"
        );
        let textual = content_type.is_empty()
            || content_type.starts_with("text/")
            || ["json", "xml", "javascript", "x-www-form-urlencoded"]
                .iter()
                .any(|k| content_type.contains(k));
        match std::str::from_utf8(body) {
            Ok(text) if textual && !encoded => {
                out.insert("body".into(), Value::String(text.to_owned()));
            }
            _ => {
                out.insert(
                    "base64Body".into(),
                    Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
                );
            }
        }
    }
    let mut headers: Map<String, Value> = Map::new();
    for (name, value) in &upstream.headers {
        let text = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match headers.get_mut(name.as_str()) {
            Some(Value::Array(list)) => list.push(text),
            Some(one) => *one = Value::Array(vec![one.take(), text]),
            None => {
                headers.insert(name.as_str().to_owned(), text);
            }
        }
    }
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    Some(Value::Object(out))
}

/// A header's first value as text (empty when absent).
fn header_text(headers: &[(HeaderName, HeaderValue)], name: &HeaderName) -> String {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .and_then(|(_, v)| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
