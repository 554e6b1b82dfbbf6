//! WireMock 3.13's admin API under `/__admin/` when `--admin-api wiremock`: mappings,
//! the request journal, scenarios, health, version, settings, reset and shutdown, with
//! WireMock's JSON shapes ([`super::wiremock_json`]) and status codes.
//!
//! Stubs live in the store like everything else. File stubs are the routes of WireMock
//! mapping files; a stub created through this API is an API scenario of its own, named
//! [`API_PREFIX`]`<uuid>`, compiled by the same compiler as a mapping file (so a stub created
//! later is newer and wins among equal priorities). Changing or deleting one stub of a file
//! takes the file over: the file is hidden and its other stubs become API stubs, until the
//! file changes or the mappings are reset. The admin token and the journal's bounds hold.

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::wiremock_json::{self as wj, LoggedRequest, ServeEvent};
use super::{AppState, admin};
use crate::journal::Entry;
use crate::matching::RequestView;
use crate::scenario::Diagnostic;
use crate::scenario::wiremock::compile::{compile_request_pattern, compile_value_pattern};
use crate::store::Source;

/// Names of the API scenarios holding stubs created through this API.
pub const API_PREFIX: &str = "wiremock-api/";

/// Registers WireMock's admin routes on a scope mounted at [`admin::PREFIX`].
pub fn scope() -> actix_web::Scope<
    impl actix_web::dev::ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    web::scope(admin::PREFIX)
        .wrap(from_fn(admin::require_token))
        .route("/mappings", web::get().to(list_mappings))
        .route("/mappings", web::post().to(create_mapping))
        .route("/mappings", web::delete().to(delete_all_mappings))
        .route("/mappings/reset", web::post().to(reset_mappings))
        .route("/mappings/save", web::post().to(save_mappings))
        .route("/mappings/import", web::post().to(import_mappings))
        .route("/mappings/remove", web::post().to(remove_mapping))
        .route(
            "/mappings/find-by-metadata",
            web::post().to(find_by_metadata),
        )
        .route(
            "/mappings/remove-by-metadata",
            web::post().to(remove_by_metadata),
        )
        .route("/mappings/unmatched", web::get().to(unmatched_mappings))
        .route(
            "/mappings/unmatched",
            web::delete().to(delete_unmatched_mappings),
        )
        .route("/mappings/{id}", web::get().to(get_mapping))
        .route("/mappings/{id}", web::put().to(put_mapping))
        .route("/mappings/{id}", web::delete().to(delete_mapping))
        .route("/requests", web::get().to(list_requests))
        .route("/requests", web::delete().to(clear_requests))
        .route("/requests/reset", web::post().to(clear_requests))
        .route("/requests/count", web::post().to(count_requests))
        .route("/requests/find", web::post().to(find_requests))
        .route("/requests/remove", web::post().to(remove_requests))
        .route(
            "/requests/remove-by-metadata",
            web::post().to(remove_requests_by_metadata),
        )
        .route("/requests/unmatched", web::get().to(unmatched_requests))
        .route(
            "/requests/unmatched/near-misses",
            web::get().to(unmatched_near_misses),
        )
        .route("/requests/{id}", web::get().to(get_request))
        .route("/requests/{id}", web::delete().to(delete_request))
        .route("/near-misses/request", web::post().to(near_misses_request))
        .route(
            "/near-misses/request-pattern",
            web::post().to(near_misses_pattern),
        )
        .route("/scenarios", web::get().to(list_scenarios))
        .route("/scenarios/reset", web::post().to(reset_scenarios))
        .route("/scenarios/{name}/state", web::put().to(set_scenario_state))
        .route("/health", web::get().to(health))
        .route("/version", web::get().to(version))
        .route("/settings", web::get().to(get_settings))
        .route("/settings", web::post().to(update_settings))
        .route("/settings", web::put().to(update_settings))
        .route("/reset", web::post().to(reset_all))
        .route("/shutdown", web::post().to(shutdown))
        .default_service(web::to(not_found))
}

// ---- stubs ----------------------------------------------------------------------------

/// One stub serving now.
#[derive(Clone)]
struct StubEntry {
    /// Its UUID.
    id: String,
    /// The store scenario holding it.
    scenario: String,
    /// Created through the API (else read from a mapping file).
    api: bool,
    /// The mapping file, relative to the scenarios directory, when it holds this stub alone.
    own_file: Option<PathBuf>,
    /// The stub JSON with `id` and `uuid`.
    json: Value,
}

impl StubEntry {
    fn metadata(&self) -> Option<&Value> {
        self.json.get("metadata")
    }
}

/// `json` with `id` first and `uuid` set to `id`.
fn with_id(json: &Value, id: &str) -> Value {
    let mut out = Map::new();
    out.insert("id".into(), Value::String(id.to_owned()));
    if let Some(obj) = json.as_object() {
        for (k, v) in obj {
            if k != "id" && k != "uuid" {
                out.insert(k.clone(), v.clone());
            }
        }
    }
    out.insert("uuid".into(), Value::String(id.to_owned()));
    Value::Object(out)
}

/// Every WireMock stub serving, in answer order (lowest priority number, then newest). A
/// file stub whose id an API stub took over is left out.
fn stubs(state: &AppState) -> Vec<StubEntry> {
    let snapshot = state.store.snapshot();
    let mut found: Vec<(i64, u64, StubEntry)> = Vec::new();
    for scenario in snapshot.index.scenarios() {
        if !crate::scenario::wiremock::is_mapping_file(&scenario.source) {
            continue;
        }
        let Ok(doc) = serde_json::from_str::<Value>(&scenario.source) else {
            continue;
        };
        let (written, alone): (Vec<Value>, bool) =
            match doc.get("mappings").and_then(Value::as_array) {
                Some(list) => (list.clone(), false),
                None => (vec![doc], true),
            };
        let api = scenario.name.starts_with(API_PREFIX) && scenario.file.is_none();
        for (route, json) in scenario.routes.iter().zip(written) {
            found.push((
                -route.priority,
                route.added,
                StubEntry {
                    id: route.id.clone(),
                    scenario: scenario.name.clone(),
                    api,
                    own_file: scenario.file.clone().filter(|_| alone),
                    json: with_id(&json, &route.id),
                },
            ));
        }
    }
    let api_ids: std::collections::HashSet<String> = found
        .iter()
        .filter(|f| f.2.api)
        .map(|f| f.2.id.clone())
        .collect();
    found.retain(|f| f.2.api || !api_ids.contains(&f.2.id));
    found.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    found.into_iter().map(|f| f.2).collect()
}

/// The stub a journal entry's route names (`scenario/id`), if it is a WireMock stub.
fn stub_of(all: &[StubEntry], route: Option<&str>) -> Option<Value> {
    let (scenario, id) = route?.rsplit_once('/')?;
    all.iter()
        .find(|s| s.id == id && s.scenario == scenario)
        .or_else(|| all.iter().find(|s| s.id == id))
        .map(|s| s.json.clone())
}

/// Stores `json` as the API stub `id` (compiled as a mapping file); the stub as stored.
fn put_stub(state: &AppState, json: &Value, id: &str) -> Result<Value, Vec<Diagnostic>> {
    let mut stub = with_id(json, id);
    if let Some(obj) = stub.as_object_mut()
        && !obj.contains_key("request")
        && !obj.contains_key("response")
    {
        obj.insert("request".into(), Value::Object(Map::new()));
    }
    let text = serde_json::to_string(&stub).unwrap_or_default();
    state.store.put(&format!("{API_PREFIX}{id}"), &text)?;
    Ok(stub)
}

/// Deletes the file of a `persistent` stub that is alone in its mapping file (as
/// `mappings/save` writes them), as WireMock does when such a stub is removed: a later reset
/// must not bring it back. Other mapping files stay on disk (they are only hidden).
fn forget_persisted(state: &AppState, stub: &StubEntry) {
    let (Some(rel), Source::Dir(dir)) = (&stub.own_file, state.store.source()) else {
        return;
    };
    if stub.api || stub.json.get("persistent") != Some(&Value::Bool(true)) {
        return;
    }
    if let Err(err) = std::fs::remove_file(dir.join(rel)) {
        tracing::warn!("cannot delete persisted stub {}: {err}", rel.display());
    }
}

/// Hides the mapping file `scenario` and re-creates its stubs, except `except`, as API
/// stubs (in file order, so they keep their relative order).
fn take_over_file(state: &AppState, all: &[StubEntry], scenario: &str, except: &str) {
    let _ = state.store.delete(scenario);
    for stub in all
        .iter()
        .filter(|s| !s.api && s.scenario == scenario && s.id != except)
        .rev()
    {
        if let Err(diags) = put_stub(state, &stub.json, &stub.id) {
            tracing::warn!("cannot keep stub {}: {:?}", stub.id, diags.first());
        }
    }
}

/// Removes the stub `id` from what serves.
fn remove_stub(state: &AppState, all: &[StubEntry], stub: &StubEntry) {
    forget_persisted(state, stub);
    if stub.api {
        let _ = state.store.delete(&stub.scenario);
    } else {
        take_over_file(state, all, &stub.scenario, &stub.id);
    }
}

/// Drops every API stub and un-hides the mapping files, then rescans them.
async fn reset_to_files(state: &AppState) {
    state
        .store
        .remove_api(|name| name.starts_with(API_PREFIX), true);
    let store = state.store.clone();
    if let Ok(Err(err)) = web::block(move || store.refresh()).await {
        tracing::warn!("cannot rescan the mapping files: {err}");
    }
}

/// A value, or the error answer to send instead.
type Answer<T> = Result<T, Box<HttpResponse>>;

/// A UUID path segment, or WireMock's 400.
fn parse_uuid(text: &str) -> Answer<uuid::Uuid> {
    uuid::Uuid::parse_str(text).map_err(|_| {
        Box::new(
            HttpResponse::BadRequest()
                .json(wj::Errors::one(10, format!("{text} is not a valid UUID"))),
        )
    })
}

/// A JSON body, or WireMock's 422.
fn json_body(body: &[u8]) -> Answer<Value> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|err| {
        Box::new(HttpResponse::UnprocessableEntity().json(wj::Errors {
            errors: vec![wj::ErrorItem {
                code: 10,
                source: Some(wj::ErrorSource {
                    pointer: "/".into(),
                }),
                title: "Error parsing JSON".into(),
                detail: Some(err.to_string()),
            }],
        }))
    })
}

fn unprocessable(diags: &[Diagnostic]) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(wj::Errors::parsing(diags))
}

fn empty() -> HttpResponse {
    HttpResponse::Ok().json(wj::Empty {})
}

fn mappings_json(list: Vec<Value>, total: usize) -> HttpResponse {
    HttpResponse::Ok().json(wj::Mappings {
        mappings: list,
        meta: wj::Meta { total },
    })
}

#[derive(Deserialize)]
struct Page {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /__admin/mappings?limit&offset`.
async fn list_mappings(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let page = web::Query::<Page>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or(Page {
            limit: None,
            offset: None,
        });
    let all = stubs(&state);
    let total = all.len();
    let shown = all
        .into_iter()
        .skip(page.offset.unwrap_or(0))
        .take(page.limit.unwrap_or(usize::MAX))
        .map(|s| s.json)
        .collect();
    mappings_json(shown, total)
}

/// `POST /__admin/mappings`: 201 with the stub as stored.
async fn create_mapping(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let json = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let id = json
        .get("id")
        .or_else(|| json.get("uuid"))
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    match put_stub(&state, &json, &id) {
        Ok(stub) => HttpResponse::Created().json(stub),
        Err(diags) => unprocessable(&diags),
    }
}

/// `DELETE /__admin/mappings`: no stub serves; the files of saved (`persistent`) stubs are
/// deleted, other mapping files come back on reset or change.
async fn delete_all_mappings(state: web::Data<AppState>) -> HttpResponse {
    let all = stubs(&state);
    state
        .store
        .remove_api(|name| name.starts_with(API_PREFIX), false);
    let mut files: Vec<&str> = all
        .iter()
        .filter(|s| !s.api)
        .map(|s| s.scenario.as_str())
        .collect();
    files.dedup();
    for stub in &all {
        forget_persisted(&state, stub);
    }
    for file in files {
        let _ = state.store.delete(file);
    }
    empty()
}

/// `POST /__admin/mappings/reset`: the mapping files only.
async fn reset_mappings(state: web::Data<AppState>) -> HttpResponse {
    reset_to_files(&state).await;
    empty()
}

/// `GET /__admin/mappings/{id}`.
async fn get_mapping(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(resp) => return *resp,
    };
    match stubs(&state).into_iter().find(|s| s.id == uuid) {
        Some(stub) => HttpResponse::Ok().json(stub.json),
        None => HttpResponse::NotFound().finish(),
    }
}

/// `PUT /__admin/mappings/{id}`: replaces the stub.
async fn put_mapping(
    id: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(resp) => return *resp,
    };
    let json = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let all = stubs(&state);
    let Some(existing) = all.iter().find(|s| s.id == uuid) else {
        return HttpResponse::NotFound().finish();
    };
    let (was_api, scenario) = (existing.api, existing.scenario.clone());
    match put_stub(&state, &json, &uuid) {
        Ok(stub) => {
            if !was_api {
                take_over_file(&state, &all, &scenario, &uuid);
            }
            HttpResponse::Ok().json(stub)
        }
        Err(diags) => unprocessable(&diags),
    }
}

/// `DELETE /__admin/mappings/{id}`.
async fn delete_mapping(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u.hyphenated().to_string(),
        Err(resp) => return *resp,
    };
    let all = stubs(&state);
    match all.iter().find(|s| s.id == uuid) {
        Some(stub) => {
            remove_stub(&state, &all, stub);
            empty()
        }
        None => HttpResponse::NotFound().finish(),
    }
}

/// `POST /__admin/mappings/remove` with a stub: by its id, else by its request pattern.
async fn remove_mapping(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let json = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let id = json
        .get("id")
        .or_else(|| json.get("uuid"))
        .and_then(Value::as_str);
    let all = stubs(&state);
    // As WireMock: the stub with that id, else every stub with an equal request (the Java
    // client's `removeStub(MappingBuilder)` sends a fresh random id).
    let mut doomed: Vec<StubEntry> = all
        .iter()
        .filter(|s| id.is_some_and(|id| s.id.eq_ignore_ascii_case(id)))
        .cloned()
        .collect();
    if doomed.is_empty() {
        doomed = all
            .iter()
            .filter(|s| s.json.get("request") == json.get("request"))
            .cloned()
            .collect();
    }
    for stub in &doomed {
        remove_stub(&state, &stubs(&state), stub);
    }
    empty()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Import {
    mappings: Vec<Value>,
    #[serde(default)]
    import_options: ImportOptions,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ImportOptions {
    duplicate_policy: Option<String>,
    #[serde(default)]
    delete_all_not_in_import: bool,
}

/// `POST /__admin/mappings/import`.
async fn import_mappings(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let import: Import = match serde_json::from_slice(&body) {
        Ok(i) => i,
        Err(err) => {
            return HttpResponse::UnprocessableEntity().json(wj::Errors::one(10, err.to_string()));
        }
    };
    let ignore = import
        .import_options
        .duplicate_policy
        .as_deref()
        .is_some_and(|p| p.eq_ignore_ascii_case("IGNORE"));
    if import.import_options.delete_all_not_in_import {
        let keep: Vec<&str> = import
            .mappings
            .iter()
            .filter_map(|m| {
                m.get("id")
                    .or_else(|| m.get("uuid"))
                    .and_then(Value::as_str)
            })
            .collect();
        let all = stubs(&state);
        for stub in all.iter().filter(|s| !keep.contains(&s.id.as_str())) {
            remove_stub(&state, &stubs(&state), stub);
        }
    }
    for mapping in &import.mappings {
        let id = mapping
            .get("id")
            .or_else(|| mapping.get("uuid"))
            .and_then(Value::as_str)
            .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
        let all = stubs(&state);
        if let Some(existing) = all.iter().find(|s| s.id == id) {
            if ignore {
                continue;
            }
            if !existing.api {
                take_over_file(&state, &all, &existing.scenario.clone(), &id);
            }
        }
        if let Err(diags) = put_stub(&state, mapping, &id) {
            return unprocessable(&diags);
        }
    }
    empty()
}

/// The stubs whose metadata passes the value pattern in `body`.
fn by_metadata(state: &AppState, body: &[u8]) -> Answer<Vec<StubEntry>> {
    let text = std::str::from_utf8(body).unwrap_or("\u{0}");
    let pattern = compile_value_pattern(text).map_err(|d| Box::new(unprocessable(&d)))?;
    Ok(stubs(state)
        .into_iter()
        .filter(|s| {
            s.metadata()
                .and_then(|m| serde_json::to_vec(m).ok())
                .is_some_and(|m| pattern.matches(Some(&m)))
        })
        .collect())
}

/// `POST /__admin/mappings/find-by-metadata`.
async fn find_by_metadata(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match by_metadata(&state, &body) {
        Ok(found) => {
            let total = found.len();
            mappings_json(found.into_iter().map(|s| s.json).collect(), total)
        }
        Err(resp) => *resp,
    }
}

/// `POST /__admin/mappings/remove-by-metadata`.
async fn remove_by_metadata(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match by_metadata(&state, &body) {
        Ok(found) => {
            for stub in &found {
                remove_stub(&state, &stubs(&state), stub);
            }
            empty()
        }
        Err(resp) => *resp,
    }
}

/// The stubs no request in the journal matched.
fn unmatched_stubs(state: &AppState) -> Vec<StubEntry> {
    let (entries, _) = state.journal.list(&Default::default());
    let used: std::collections::HashSet<&str> = entries
        .iter()
        .filter_map(|e| e.record.route.as_deref())
        .filter_map(|r| r.rsplit_once('/').map(|(_, id)| id))
        .collect();
    stubs(state)
        .into_iter()
        .filter(|s| !used.contains(s.id.as_str()))
        .collect()
}

/// `GET /__admin/mappings/unmatched`: stubs no request in the journal matched.
async fn unmatched_mappings(state: web::Data<AppState>) -> HttpResponse {
    let found = unmatched_stubs(&state);
    let total = found.len();
    mappings_json(found.into_iter().map(|s| s.json).collect(), total)
}

/// `DELETE /__admin/mappings/unmatched`.
async fn delete_unmatched_mappings(state: web::Data<AppState>) -> HttpResponse {
    for stub in &unmatched_stubs(&state) {
        remove_stub(&state, &stubs(&state), stub);
    }
    empty()
}

/// `POST /__admin/mappings/save`: API stubs become mapping files under `mappings/`, marked
/// `persistent` (removing one later deletes its file).
async fn save_mappings(state: web::Data<AppState>) -> HttpResponse {
    let Source::Dir(dir) = state.store.source().clone() else {
        return HttpResponse::InternalServerError().json(wj::Errors::one(
            500,
            "stubs can only be saved when serving a scenarios directory",
        ));
    };
    let api: Vec<StubEntry> = stubs(&state).into_iter().filter(|s| s.api).collect();
    let folder = dir.join("mappings");
    let written = web::block(move || -> std::io::Result<Vec<String>> {
        std::fs::create_dir_all(&folder)?;
        let mut names = Vec::new();
        for stub in &api {
            let path: PathBuf = folder.join(format!("{}.json", stub.id));
            // Saved stubs are persistent, as in WireMock: removing one deletes its file.
            let mut json = stub.json.clone();
            if let Some(obj) = json.as_object_mut() {
                obj.insert("persistent".into(), Value::Bool(true));
            }
            let text = serde_json::to_string_pretty(&json).unwrap_or_default();
            std::fs::write(&path, text + "\n")?;
            names.push(stub.scenario.clone());
        }
        Ok(names)
    })
    .await;
    match written {
        Ok(Ok(names)) => {
            state
                .store
                .remove_api(|n| names.iter().any(|s| s == n), false);
            let store = state.store.clone();
            if let Ok(Err(err)) = web::block(move || store.refresh()).await {
                tracing::warn!("cannot rescan the mapping files: {err}");
            }
            empty()
        }
        Ok(Err(err)) => HttpResponse::InternalServerError()
            .json(wj::Errors::one(500, format!("cannot save stubs: {err}"))),
        Err(err) => HttpResponse::InternalServerError()
            .json(wj::Errors::one(500, format!("cannot save stubs: {err}"))),
    }
}

// ---- journal --------------------------------------------------------------------------

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

fn all_entries(state: &AppState) -> Vec<Arc<Entry>> {
    state.journal.list(&Default::default()).0
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
async fn list_requests(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
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
    let entries: Vec<_> = all_entries(&state)
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
async fn clear_requests(state: web::Data<AppState>) -> HttpResponse {
    state.journal.clear();
    empty()
}

/// `GET /__admin/requests/{id}`.
async fn get_request(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u,
        Err(resp) => return *resp,
    };
    match state.journal.get(wj::entry_id(&uuid)) {
        Some(entry) if wj::event_id(entry.id) == uuid.hyphenated().to_string() => {
            HttpResponse::Ok().json(event(&state, &stubs(&state), &entry))
        }
        _ => HttpResponse::NotFound().finish(),
    }
}

/// `DELETE /__admin/requests/{id}`.
async fn delete_request(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let uuid = match parse_uuid(&id) {
        Ok(u) => u,
        Err(resp) => return *resp,
    };
    let want = uuid.hyphenated().to_string();
    state.journal.remove_where(|e| wj::event_id(e.id) == want);
    empty()
}

/// The request pattern in `body`, or WireMock's 422.
fn pattern(body: &[u8]) -> Answer<crate::scenario::compiled::RequestMatcher> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        "{}"
    } else {
        std::str::from_utf8(body).unwrap_or("\u{0}")
    };
    compile_request_pattern(text).map_err(|d| Box::new(unprocessable(&d)))
}

/// `POST /__admin/requests/count`.
async fn count_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => HttpResponse::Ok().json(wj::Count {
            count: state.journal.count(&m),
            request_journal_disabled: false,
        }),
        Err(resp) => *resp,
    }
}

fn found(state: &AppState, entries: &[Arc<Entry>]) -> HttpResponse {
    HttpResponse::Ok().json(wj::FoundRequests {
        requests: entries
            .iter()
            .map(|e| LoggedRequest::from_entry(e, state.scheme))
            .collect(),
        request_journal_disabled: false,
    })
}

/// `POST /__admin/requests/find`.
async fn find_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => {
            let hits: Vec<_> = all_entries(&state)
                .into_iter()
                .filter(|e| e.matches(&m))
                .collect();
            found(&state, &hits)
        }
        Err(resp) => *resp,
    }
}

/// `POST /__admin/requests/remove`: the serve events removed.
async fn remove_requests(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match pattern(&body) {
        Ok(m) => {
            let gone = state.journal.remove_where(|e| e.matches(&m));
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
async fn remove_requests_by_metadata(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match by_metadata(&state, &body) {
        Ok(found) => {
            let ids: std::collections::HashSet<&str> =
                found.iter().map(|s| s.id.as_str()).collect();
            let gone = state.journal.remove_where(|e| {
                e.record
                    .route
                    .as_deref()
                    .and_then(|r| r.rsplit_once('/'))
                    .is_some_and(|(_, id)| ids.contains(id))
            });
            let all = stubs(&state);
            HttpResponse::Ok().json(wj::RemovedEvents {
                serve_events: gone.iter().map(|e| event(&state, &all, e)).collect(),
            })
        }
        Err(resp) => *resp,
    }
}

/// `GET /__admin/requests/unmatched`.
async fn unmatched_requests(state: web::Data<AppState>) -> HttpResponse {
    let hits: Vec<_> = all_entries(&state)
        .into_iter()
        .filter(|e| e.record.route.is_none())
        .collect();
    found(&state, &hits)
}

/// `GET /__admin/requests/unmatched/near-misses`: per unmatched request, the stubs that
/// came closest (as understudy ranked them when it answered).
async fn unmatched_near_misses(state: web::Data<AppState>) -> HttpResponse {
    let all = stubs(&state);
    let mut out = Vec::new();
    for entry in all_entries(&state)
        .iter()
        .filter(|e| e.record.route.is_none())
    {
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
async fn near_misses_request(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
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
async fn near_misses_pattern(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let given = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let matcher = match pattern(&body) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let mut ranked: Vec<(usize, Arc<Entry>)> = all_entries(&state)
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

// ---- scenarios ------------------------------------------------------------------------

/// Every scenario some stub names, by name, with its stubs.
fn scenarios(state: &AppState) -> Vec<wj::Scenario> {
    let mut out: Vec<wj::Scenario> = Vec::new();
    for stub in stubs(state) {
        let Some(name) = stub.json.get("scenarioName").and_then(Value::as_str) else {
            continue;
        };
        let at = match out.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                out.push(wj::Scenario {
                    id: name.to_owned(),
                    name: name.to_owned(),
                    state: state.store.named_states().get(&Arc::from(name)).get(),
                    possible_states: vec![crate::state::NAMED_INITIAL.to_owned()],
                    mappings: Vec::new(),
                });
                out.len() - 1
            }
        };
        let scenario = &mut out[at];
        for key in ["requiredScenarioState", "newScenarioState"] {
            if let Some(s) = stub.json.get(key).and_then(Value::as_str)
                && !scenario.possible_states.iter().any(|p| p == s)
            {
                scenario.possible_states.push(s.to_owned());
            }
        }
        scenario.mappings.push(stub.json);
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// `GET /__admin/scenarios`.
async fn list_scenarios(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(wj::Scenarios {
        scenarios: scenarios(&state),
    })
}

/// `POST /__admin/scenarios/reset`.
async fn reset_scenarios(state: web::Data<AppState>) -> HttpResponse {
    state.store.reset_all();
    empty()
}

#[derive(Deserialize)]
struct StateBody {
    state: String,
}

/// `PUT /__admin/scenarios/{name}/state` with `{"state": "X"}`.
async fn set_scenario_state(
    name: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(scenario) = scenarios(&state).into_iter().find(|s| s.name == *name) else {
        return HttpResponse::NotFound().json(wj::Errors::one(
            404,
            format!("Scenario {name} does not exist"),
        ));
    };
    let wanted = match serde_json::from_slice::<StateBody>(&body) {
        Ok(b) => b.state,
        Err(_) if body.iter().all(u8::is_ascii_whitespace) => {
            crate::state::NAMED_INITIAL.to_owned()
        }
        Err(err) => {
            return HttpResponse::UnprocessableEntity().json(wj::Errors::one(10, err.to_string()));
        }
    };
    state
        .store
        .named_states()
        .get(&Arc::from(scenario.name.as_str()))
        .set(&wanted);
    empty()
}

// ---- server ---------------------------------------------------------------------------

/// `GET /__admin/health`.
async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(wj::Health {
        status: "healthy",
        message: "Wiremock is ok",
        version: wj::VERSION,
        uptime_in_seconds: state.started.elapsed().as_secs(),
        timestamp: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    })
}

/// `GET /__admin/version`.
async fn version() -> HttpResponse {
    HttpResponse::Ok().json(wj::Version {
        version: wj::VERSION,
    })
}

/// `GET /__admin/settings`.
async fn get_settings(state: web::Data<AppState>) -> HttpResponse {
    let mut settings = Map::new();
    settings.insert("extended".into(), Value::Object(Map::new()));
    settings.insert("proxyPassThrough".into(), Value::Bool(true));
    let stored = state
        .wiremock_settings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    settings.extend(stored);
    HttpResponse::Ok().json(wj::Settings { settings })
}

/// `POST|PUT /__admin/settings`: stored and shown; understudy applies none of them yet.
async fn update_settings(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let json = match json_body(&body) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let inner = match json.get("settings") {
        Some(Value::Object(obj)) => obj.clone(),
        _ => match json {
            Value::Object(obj) => obj,
            _ => {
                return HttpResponse::UnprocessableEntity()
                    .json(wj::Errors::one(10, "settings must be a JSON object"));
            }
        },
    };
    state
        .wiremock_settings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(inner);
    empty()
}

/// `POST /__admin/reset`: API stubs dropped, mapping files back, journal cleared, every
/// scenario at `Started`.
async fn reset_all(state: web::Data<AppState>) -> HttpResponse {
    reset_to_files(&state).await;
    state.journal.reset();
    state.store.reset_all();
    empty()
}

/// `POST /__admin/shutdown`: answers, then stops the server.
async fn shutdown(state: web::Data<AppState>) -> HttpResponse {
    if let Some(handle) = state.server.get().cloned() {
        actix_rt::spawn(async move {
            actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
            handle.stop(true).await;
        });
    }
    empty()
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}
