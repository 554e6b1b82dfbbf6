//! The native admin API: JSON in, JSON out. One implementation mounted at two prefixes:
//! `/__understudy/admin/` always, and `/__admin/` when `--admin-api native`.
//!
//! Test harnesses in any language use it to put scenarios, move and reset scenario state,
//! read and clear the journal (and follow it live: `requests/stream`, in `http::ui`), count
//! requests and read near misses. No scenario can claim
//! the prefix. With an admin token configured, every admin call needs
//! `Authorization: Bearer TOKEN`; mock routes are never affected by the token. Admin calls are
//! not recorded in the journal.

use std::path::Path;
use std::time::SystemTime;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{AppState, json, record};
use crate::http::respond;
use crate::journal::Filter;
use crate::scenario::Diagnostic;
use crate::scenario::compile::compile_request_matcher;
use crate::store::{Deleted, ScenarioInfo};

/// The reserved path prefix (native API in `native` mode, WireMock's in `wiremock` mode).
pub const PREFIX: &str = "/__admin";

/// Where the native admin API always answers, whatever `/__admin/` speaks.
pub const NATIVE_PREFIX: &str = "/__understudy/admin";

/// Registers the native admin routes on a scope mounted at `prefix`.
pub fn scope(
    prefix: &str,
) -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(prefix)
        .wrap(from_fn(require_token))
        .route("/health", web::get().to(health))
        .route("/scenarios", web::get().to(list_scenarios))
        .route("/scenarios/{name:.+}/state", web::put().to(set_state))
        .route("/scenarios/{name:.+}/reset", web::post().to(reset_scenario))
        .route("/scenarios/{name:.+}", web::get().to(get_scenario))
        .route("/scenarios/{name:.+}", web::put().to(put_scenario))
        .route("/scenarios/{name:.+}", web::delete().to(delete_scenario))
        .route("/reset", web::post().to(reset_all))
        .route("/reload", web::post().to(reload))
        .route("/requests", web::get().to(list_requests))
        .route("/requests", web::delete().to(clear_requests))
        .route("/requests/count", web::post().to(count_requests))
        .route("/requests/stream", web::get().to(super::ui::stream::stream))
        .route("/requests/unmatched", web::get().to(unmatched_requests))
        .route("/recordings/start", web::post().to(record::api::start))
        .route("/recordings/stop", web::post().to(record::api::stop))
        .route("/recordings/status", web::get().to(record::api::status))
        .default_service(web::to(not_found))
}

/// `GET /__admin/health`.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    let snapshot = state.store.snapshot();
    HttpResponse::Ok().json(json::Health {
        status: "ok",
        scenarios: snapshot.index.scenarios().len(),
        routes: snapshot.index.len(),
        errors: state.store.error_count(),
    })
}

/// `GET /__admin/scenarios`.
async fn list_scenarios(state: web::Data<AppState>) -> HttpResponse {
    if let Err(down) = state.pull_states().await {
        return respond::unavailable(&down);
    }
    let list = state.store.list();
    let shown: Vec<json::Scenario<'_>> = list.iter().map(|i| scenario_json(i, false)).collect();
    HttpResponse::Ok().json(shown)
}

/// `GET /__admin/scenarios/{name}`.
async fn get_scenario(name: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    if let Err(down) = state.pull_states().await {
        return respond::unavailable(&down);
    }
    let list = state.store.list();
    let found = list
        .iter()
        .find(|i| i.name == *name && i.active)
        .or_else(|| list.iter().find(|i| i.name == *name));
    match found {
        Some(info) => HttpResponse::Ok().json(scenario_json(info, true)),
        None => no_scenario(&name),
    }
}

/// `PUT /__admin/scenarios/{name}`: create or replace an in-memory scenario.
async fn put_scenario(
    name: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Ok(text) = std::str::from_utf8(&body) else {
        return respond::error(
            StatusCode::BAD_REQUEST,
            "the scenario document must be UTF-8 JSON",
        );
    };
    match state.store.put(&name, text) {
        Ok((created, _)) => {
            let info = state
                .store
                .list()
                .into_iter()
                .find(|i| i.name == *name && i.file.is_none());
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            HttpResponse::build(status).json(info.as_ref().map(|i| scenario_json(i, false)))
        }
        Err(diags) => invalid("invalid scenario", &diags),
    }
}

/// `DELETE /__admin/scenarios/{name}`.
async fn delete_scenario(name: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    match state.store.delete(&name) {
        Some(Deleted::Api) => HttpResponse::Ok().json(json::Deleted {
            deleted: &name,
            source: json::Origin::Api,
            note: None,
        }),
        Some(Deleted::File) => HttpResponse::Ok().json(json::Deleted {
            deleted: &name,
            source: json::Origin::File,
            note: Some("hidden until its file changes"),
        }),
        None => no_scenario(&name),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: String,
}

/// `PUT /__admin/scenarios/{name}/state` with `{"state": "x"}`.
async fn set_state(
    name: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let parsed: StateBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(err) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"state\": \"NAME\"}}: {err}"),
            );
        }
    };
    if parsed.state.trim().is_empty() {
        return respond::error(StatusCode::BAD_REQUEST, "state names must not be empty");
    }
    let Some(scenario) = state.store.get(&name) else {
        return no_scenario(&name);
    };
    scenario.state.set(&parsed.state);
    if let Some(shared) = &state.shared
        && let Err(down) = shared.set_state(&scenario, &parsed.state).await
    {
        return respond::unavailable(&down);
    }
    HttpResponse::Ok().json(json::State {
        name: &scenario.name,
        state: scenario.state.get(),
    })
}

/// `POST /__admin/scenarios/{name}/reset`: initial state, sequences from the start.
async fn reset_scenario(name: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let Some(scenario) = state.store.get(&name) else {
        return no_scenario(&name);
    };
    scenario.state.reset();
    if let Some(shared) = &state.shared
        && let Err(down) = shared.reset_scenario(&scenario).await
    {
        return respond::unavailable(&down);
    }
    HttpResponse::Ok().json(json::State {
        name: &scenario.name,
        state: scenario.state.get(),
    })
}

/// `POST /__admin/reset`: every scenario's state and sequences, and the journal.
async fn reset_all(state: web::Data<AppState>) -> HttpResponse {
    match state.reset_states(true).await {
        Ok(()) => HttpResponse::Ok().json(json::Reset { status: "reset" }),
        Err(down) => respond::unavailable(&down),
    }
}

/// `POST /__admin/reload`: rescan the scenario files now.
async fn reload(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let result = web::block(move || store.refresh()).await;
    match result {
        Ok(Ok(report)) => {
            crate::watch::log_report(&report);
            let problems = report.problems;
            let snapshot = state.store.snapshot();
            HttpResponse::Ok().json(json::Reloaded {
                scenarios: snapshot.index.scenarios().len(),
                routes: snapshot.index.len(),
                errors: problems.iter().map(ToString::to_string).collect(),
            })
        }
        Ok(Err(err)) => respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot reload: {err}"),
        ),
        Err(err) => respond::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot reload: {err}"),
        ),
    }
}

#[derive(Deserialize)]
struct RequestsQuery {
    limit: Option<String>,
    route: Option<String>,
    unmatched: Option<String>,
}

/// `GET /__admin/requests?limit=&route=&unmatched=true`.
async fn list_requests(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let filter = match parse_filter(req.query_string()) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let journal = match state.journal_view().await {
        Ok(j) => j,
        Err(down) => return respond::unavailable(&down),
    };
    let (entries, evicted) = journal.list(&filter);
    HttpResponse::Ok().json(json::Requests {
        requests: entries.iter().map(|e| e.json(false)).collect(),
        evicted,
    })
}

/// `GET /__admin/requests/unmatched`: unmatched entries with their near misses.
async fn unmatched_requests(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let mut filter = match parse_filter(req.query_string()) {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    filter.unmatched = true;
    let journal = match state.journal_view().await {
        Ok(j) => j,
        Err(down) => return respond::unavailable(&down),
    };
    let (entries, evicted) = journal.list(&filter);
    HttpResponse::Ok().json(json::Requests {
        requests: entries.iter().map(|e| e.json(true)).collect(),
        evicted,
    })
}

/// `DELETE /__admin/requests`.
async fn clear_requests(state: web::Data<AppState>) -> HttpResponse {
    match state.clear_journal().await {
        Ok(deleted) => HttpResponse::Ok().json(json::Cleared { deleted }),
        Err(down) => respond::unavailable(&down),
    }
}

/// `POST /__admin/requests/count` with a matcher in the form of a route's `request`.
async fn count_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        "{}"
    } else {
        std::str::from_utf8(&body).unwrap_or("\u{0}")
    };
    match compile_request_matcher(Path::new("<request matcher>"), text) {
        Ok(matcher) => match state.journal_view().await {
            Ok(journal) => HttpResponse::Ok().json(json::Count {
                count: journal.count(&matcher),
            }),
            Err(down) => respond::unavailable(&down),
        },
        Err(diags) => invalid("invalid request matcher", &diags),
    }
}

/// Any unknown path under a reserved prefix: understudy's own 404.
pub(crate) async fn not_found(req: HttpRequest) -> HttpResponse {
    respond::error(
        StatusCode::NOT_FOUND,
        format!("no admin endpoint {} {}", req.method(), req.path()),
    )
}

/// The journal filter from `limit`, `route` and `unmatched` (a 400 answer when malformed).
fn parse_filter(query: &str) -> Result<Filter, Box<HttpResponse>> {
    let q: RequestsQuery = web::Query::from_query(query)
        .map(web::Query::into_inner)
        .map_err(|err| Box::new(respond::error(StatusCode::BAD_REQUEST, err.to_string())))?;
    let limit = match q.limit.as_deref() {
        None | Some("") => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            Box::new(respond::error(
                StatusCode::BAD_REQUEST,
                format!("limit must be a non-negative integer, found {text:?}"),
            ))
        })?),
    };
    let unmatched = match q.unmatched.as_deref() {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(Box::new(respond::error(
                StatusCode::BAD_REQUEST,
                format!("unmatched must be true or false, found {other:?}"),
            )));
        }
    };
    Ok(Filter {
        limit,
        route: q.route.filter(|r| !r.is_empty()),
        unmatched,
    })
}

fn no_scenario(name: &str) -> HttpResponse {
    respond::error(StatusCode::NOT_FOUND, format!("no scenario named {name:?}"))
}

/// 400 with the `JSON.PATH: message` list `validate` prints, plus positions.
fn invalid(what: &str, diags: &[Diagnostic]) -> HttpResponse {
    HttpResponse::BadRequest().json(json::Invalid::new(what, diags))
}

fn scenario_json(info: &ScenarioInfo, with_document: bool) -> json::Scenario<'_> {
    let serving = info.scenario.as_deref();
    json::Scenario {
        name: &info.name,
        file: info
            .file
            .as_ref()
            .map(|f| f.to_string_lossy().replace('\\', "/")),
        source: if info.file.is_some() {
            json::Origin::File
        } else {
            json::Origin::Api
        },
        description: serving.and_then(|s| s.description.as_deref()),
        routes: serving.map_or(0, |s| s.routes.len()),
        state: serving.map(|s| s.state.get()),
        status: if info.errors.is_empty() {
            json::LoadStatus::Ok
        } else {
            json::LoadStatus::Error
        },
        errors: info.errors.iter().map(ToString::to_string).collect(),
        loaded_at: info.loaded_at.map(rfc3339),
        active: info.active,
        route_names: serving
            .filter(|_| with_document)
            .map(|s| s.routes.iter().map(|r| &*r.full_name).collect()),
        document: serving.filter(|_| with_document).map(|s| s.document()),
    }
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// Checks the bearer token when one is configured.
pub(crate) async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let token = req
        .app_data::<web::Data<AppState>>()
        .and_then(|s| s.admin_token.clone());
    if let Some(token) = token {
        let given = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if !given.is_some_and(|g| constant_time_eq(g.trim().as_bytes(), token.as_bytes())) {
            let resp = HttpResponse::build(StatusCode::UNAUTHORIZED)
                .insert_header((
                    actix_web::http::header::WWW_AUTHENTICATE,
                    "Bearer realm=\"understudy admin\"",
                ))
                .json(json::Error {
                    error: "admin API needs Authorization: Bearer TOKEN (--admin-token)".into(),
                });
            return Ok(req.into_response(resp).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Compares two tokens in time that depends on neither their content nor their lengths:
/// both are hashed to SHA-256 (fixed 32 bytes, so no early return on a length mismatch) and
/// the digests are compared with `subtle`'s constant-time equality.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest as _, Sha256};
    use subtle::ConstantTimeEq as _;
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison_accepts_only_the_exact_token() {
        assert!(constant_time_eq(b"s3cret", b"s3cret"));
        assert!(constant_time_eq(b"", b""));
        for wrong in [&b""[..], b"s3cre", b"s3cret ", b"S3cret", b"s3cret\0", b"x"] {
            assert!(!constant_time_eq(wrong, b"s3cret"), "{wrong:?}");
        }
    }
}
