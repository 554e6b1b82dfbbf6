//! `/__admin/requests…` and `/__admin/near-misses…`: the request journal as WireMock's serve
//! events (list, get, count, find, remove, unmatched) and near misses.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::mappings::by_metadata;
use super::reply::{Answer, empty, json_body, parse_uuid, unprocessable};
use super::stubs::{StubEntry, stub_of, stubs};
use crate::http::AppState;
use crate::http::wiremock_json::{self as wj, LoggedRequest, ServeEvent};
use crate::journal::Entry;
use crate::matching::RequestView;
use crate::scenario::wiremock::compile::compile_request_pattern;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RequestsQuery {
    limit: Option<usize>,
    since: Option<String>,
    /// `true`: only requests no stub matched.
    unmatched: Option<String>,
    /// Only requests this stub (a UUID) answered.
    matching_stub: Option<String>,
}

/// Every kept entry (every replica's, with a shared state store), or the `503` saying the
/// store is away.
async fn all_entries(state: &AppState) -> Result<Vec<Arc<Entry>>, HttpResponse> {
    let journal = state
        .journal_view()
        .await
        .map_err(|down| crate::http::respond::unavailable(&down))?;
    Ok(journal.list(&Default::default()).0)
}

fn event(state: &AppState, all: &[StubEntry], entry: &Entry) -> ServeEvent {
    ServeEvent::from_entry(
        entry,
        state.scheme,
        stub_of(all, entry.record.route.as_deref()),
    )
}

/// `GET /__admin/requests?limit&since&unmatched&matchingStub`: serve events, newest first;
/// `meta.total` counts those `unmatched` and `matchingStub` keep, before `limit` and `since`.
pub(super) async fn list_requests(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let query = match web::Query::<RequestsQuery>::from_query(req.query_string()) {
        Ok(q) => q.into_inner(),
        Err(err) => {
            return HttpResponse::BadRequest().json(wj::Errors::one(10, err.to_string()));
        }
    };
    let since = match query.since.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => match humantime::parse_rfc3339_weak(text.trim_end_matches('Z')) {
            Ok(t) => Some(t),
            Err(_) => {
                return HttpResponse::BadRequest()
                    .json(wj::Errors::one(10, format!("{text} is not a valid date")));
            }
        },
    };
    let matching_stub = match query.matching_stub.as_deref() {
        None => None,
        Some(text) => match uuid::Uuid::parse_str(text) {
            Ok(uuid) => Some(uuid.hyphenated().to_string()),
            Err(_) => {
                return HttpResponse::BadRequest().json(wj::Errors::one(
                    15,
                    format!("Query parameter matchingStub value '{text}' is not a valid UUID"),
                ));
            }
        },
    };
    let unmatched = query.unmatched.as_deref() == Some("true");
    let entries = match all_entries(&state).await {
        Ok(e) => e,
        Err(resp) => return resp,
    };
    let entries: Vec<_> = entries
        .into_iter()
        .filter(|e| !unmatched || e.record.route.is_none())
        .filter(|e| {
            matching_stub.as_deref().is_none_or(|want| {
                e.record
                    .route
                    .as_deref()
                    .and_then(|r| r.rsplit_once('/'))
                    .is_some_and(|(_, id)| id.eq_ignore_ascii_case(want))
            })
        })
        .collect();
    let total = entries.len();
    let all = stubs(&state);
    let shown = entries
        .iter()
        .rev()
        .filter(|e| since.is_none_or(|s| e.time > s))
        .take(query.limit.unwrap_or(usize::MAX))
        .map(|e| event(&state, &all, e))
        .collect();
    HttpResponse::Ok().json(wj::ServeEvents {
        requests: shown,
        meta: wj::Meta { total },
        request_journal_disabled: false,
    })
}

/// `DELETE /__admin/requests` and `POST /__admin/requests/reset`.
pub(super) async fn clear_requests(state: web::Data<AppState>) -> HttpResponse {
    match state.clear_journal().await {
        Ok(_) => empty(),
        Err(down) => crate::http::respond::unavailable(&down),
    }
}

/// `GET /__admin/requests/{id}`.
pub(super) async fn get_request(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u,
        Err(resp) => return *resp,
    };
    let journal = match state.journal_view().await {
        Ok(j) => j,
        Err(down) => return crate::http::respond::unavailable(&down),
    };
    match journal.get(wj::entry_id(&uuid)) {
        Some(entry) if wj::event_id(entry.id) == uuid.hyphenated().to_string() => {
            HttpResponse::Ok().json(event(&state, &stubs(&state), &entry))
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

/// `DELETE /__admin/requests/{id}`.
pub(super) async fn delete_request(
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u,
        Err(resp) => return *resp,
    };
    let want = uuid.hyphenated().to_string();
    match state.remove_requests(|e| wj::event_id(e.id) == want).await {
        Ok(_) => empty(),
        Err(down) => crate::http::respond::unavailable(&down),
    }
}

/// The request pattern in `body`, or WireMock's 422.
pub(super) fn pattern(body: &[u8]) -> Answer<crate::scenario::compiled::RequestMatcher> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        "{}"
    } else {
        std::str::from_utf8(body).unwrap_or("\u{0}")
    };
    compile_request_pattern(text).map_err(|d| Box::new(unprocessable(&d)))
}

/// `POST /__admin/requests/count`.
pub(super) async fn count_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => match state.journal_view().await {
            Ok(journal) => HttpResponse::Ok().json(wj::Count {
                count: journal.count(&m),
                request_journal_disabled: false,
            }),
            Err(down) => crate::http::respond::unavailable(&down),
        },
        Err(resp) => *resp,
    }
}

pub(super) fn found(state: &AppState, entries: &[Arc<Entry>]) -> HttpResponse {
    HttpResponse::Ok().json(wj::FoundRequests {
        requests: entries
            .iter()
            .map(|e| LoggedRequest::from_entry(e, state.scheme))
            .collect(),
        request_journal_disabled: false,
    })
}

/// `POST /__admin/requests/find`.
pub(super) async fn find_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => {
            let entries = match all_entries(&state).await {
                Ok(e) => e,
                Err(resp) => return resp,
            };
            let hits: Vec<_> = entries.into_iter().filter(|e| e.matches(&m)).collect();
            found(&state, &hits)
        }
        Err(resp) => *resp,
    }
}

/// `POST /__admin/requests/remove`: the serve events removed.
pub(super) async fn remove_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => {
            let gone = match state.remove_requests(|e| e.matches(&m)).await {
                Ok(gone) => gone,
                Err(down) => return crate::http::respond::unavailable(&down),
            };
            let all = stubs(&state);
            HttpResponse::Ok().json(wj::RemovedEvents {
                serve_events: gone.iter().map(|e| event(&state, &all, e)).collect(),
            })
        }
        Err(resp) => *resp,
    }
}

/// `POST /__admin/requests/remove-by-metadata`: removes the serve events of the stubs whose
/// metadata passes the value pattern in the body; the serve events removed.
pub(super) async fn remove_requests_by_metadata(
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    match by_metadata(&state, &body) {
        Ok(found) => {
            let ids: std::collections::HashSet<&str> =
                found.iter().map(|s| s.id.as_str()).collect();
            let gone = match state
                .remove_requests(|e| {
                    e.record
                        .route
                        .as_deref()
                        .and_then(|r| r.rsplit_once('/'))
                        .is_some_and(|(_, id)| ids.contains(id))
                })
                .await
            {
                Ok(gone) => gone,
                Err(down) => return crate::http::respond::unavailable(&down),
            };
            let all = stubs(&state);
            HttpResponse::Ok().json(wj::RemovedEvents {
                serve_events: gone.iter().map(|e| event(&state, &all, e)).collect(),
            })
        }
        Err(resp) => *resp,
    }
}

/// `GET /__admin/requests/unmatched`.
pub(super) async fn unmatched_requests(state: web::Data<AppState>) -> HttpResponse {
    let entries = match all_entries(&state).await {
        Ok(e) => e,
        Err(resp) => return resp,
    };
    let hits: Vec<_> = entries
        .into_iter()
        .filter(|e| e.record.route.is_none())
        .collect();
    found(&state, &hits)
}

/// `GET /__admin/requests/unmatched/near-misses`: per unmatched request, the stubs that
/// came closest (as understudy ranked them when it answered).
pub(super) async fn unmatched_near_misses(state: web::Data<AppState>) -> HttpResponse {
    let all = stubs(&state);
    let mut out = Vec::new();
    let entries = match all_entries(&state).await {
        Ok(e) => e,
        Err(resp) => return resp,
    };
    for entry in entries.iter().filter(|e| e.record.route.is_none()) {
        let request = serde_json::to_value(LoggedRequest::from_entry(entry, state.scheme))
            .unwrap_or_default();
        for miss in &entry.record.near_misses {
            if let Some(stub) = stub_of(&all, Some(&miss.route)) {
                out.push(wj::NearMiss {
                    request: request.clone(),
                    stub_mapping: Some(stub),
                    request_pattern: None,
                    match_result: wj::MatchResult::from_failures(miss.mismatches.len()),
                });
            }
        }
    }
    HttpResponse::Ok().json(wj::NearMisses { near_misses: out })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GivenRequest {
    url: Option<String>,
    absolute_url: Option<String>,
    method: Option<String>,
    #[serde(default)]
    headers: Map<String, Value>,
    body: Option<String>,
    body_as_base64: Option<String>,
}

/// `POST /__admin/near-misses/request` with a logged request: the stubs closest to it.
pub(super) async fn near_misses_request(
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let given: Value = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let req: GivenRequest = match serde_json::from_value(given.clone()) {
        Ok(r) => r,
        Err(err) => {
            return HttpResponse::UnprocessableEntity().json(wj::Errors::one(10, err.to_string()));
        }
    };
    let url = req
        .url
        .or_else(|| {
            req.absolute_url.as_deref().map(|a| {
                let rest = a.split_once("://").map_or(a, |(_, r)| r);
                rest.find('/').map_or("/".into(), |i| rest[i..].to_owned())
            })
        })
        .unwrap_or_else(|| "/".into());
    let (path, query) = url.split_once('?').unwrap_or((&url, ""));
    let mut headers = actix_http::header::HeaderMap::new();
    for (name, value) in &req.headers {
        let values: Vec<&Value> = match value {
            Value::Array(list) => list.iter().collect(),
            one => vec![one],
        };
        for v in values {
            if let (Ok(n), Some(Ok(v))) = (
                actix_http::header::HeaderName::from_bytes(name.as_bytes()),
                v.as_str().map(actix_http::header::HeaderValue::from_str),
            ) {
                headers.append(n, v);
            }
        }
    }
    let bytes: Vec<u8> = match (&req.body_as_base64, &req.body) {
        (Some(b64), _) => {
            use base64::Engine as _;
            base64::engine::general_purpose::STANDARD
                .decode(b64)
                .unwrap_or_default()
        }
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    let method = req.method.unwrap_or_else(|| "GET".into());
    let view = RequestView::new(&method, path, query, &headers, &bytes);
    let snapshot = state.store.snapshot();
    let misses = snapshot.index.near_misses(&view, 3);
    let all = stubs(&state);
    let near_misses = misses
        .iter()
        .filter_map(|m| {
            Some(wj::NearMiss {
                request: given.clone(),
                stub_mapping: Some(stub_of(&all, Some(&m.route))?),
                request_pattern: None,
                match_result: wj::MatchResult::from_failures(m.mismatches.len()),
            })
        })
        .collect();
    HttpResponse::Ok().json(wj::NearMisses { near_misses })
}

/// `POST /__admin/near-misses/request-pattern`: the logged requests closest to a pattern.
pub(super) async fn near_misses_pattern(
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let given = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let matcher = match pattern(&body) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let entries = match all_entries(&state).await {
        Ok(e) => e,
        Err(resp) => return resp,
    };
    let mut ranked: Vec<(usize, Arc<Entry>)> = entries
        .into_iter()
        .map(|e| {
            let failed = e.with_view(|v| crate::matching::mismatches(&matcher, v, false).len());
            (failed, e)
        })
        .filter(|(failed, _)| *failed > 0)
        .collect();
    ranked.sort_by_key(|(failed, e)| (*failed, std::cmp::Reverse(e.id)));
    let near_misses = ranked
        .iter()
        .take(3)
        .map(|(failed, e)| wj::NearMiss {
            request: serde_json::to_value(LoggedRequest::from_entry(e, state.scheme))
                .unwrap_or_default(),
            stub_mapping: None,
            request_pattern: Some(given.clone()),
            match_result: wj::MatchResult::from_failures(*failed),
        })
        .collect();
    HttpResponse::Ok().json(wj::NearMisses { near_misses })
}
