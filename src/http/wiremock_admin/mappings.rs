//! `/__admin/mappings…`: list, create, get, edit, remove, import, save, find and remove by
//! metadata, and the stubs no request matched.

use super::API_PREFIX;
use super::reply::{Answer, empty, json_body, parse_uuid, unprocessable};
use super::stubs::{
    StubEntry, forget_persisted, put_stub, remove_stub, reset_to_files, stubs, take_over_file,
};
use std::path::PathBuf;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use crate::http::{AppState, wiremock_json as wj};
use crate::scenario::wiremock::compile::compile_value_pattern;
use crate::store::Source;

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
pub(super) async fn list_mappings(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
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
pub(super) async fn create_mapping(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
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
        Ok(stub) => {
            // A `persistent` stub is written to `mappings/` at once, as WireMock does.
            if json.get("persistent") == Some(&Value::Bool(true)) {
                let mine: Vec<StubEntry> = stubs(&state)
                    .into_iter()
                    .filter(|s| s.api && s.id == id)
                    .collect();
                if let Err(message) = persist(&state, mine).await {
                    tracing::warn!("persistent stub {id} stays in memory: {message}");
                }
            }
            HttpResponse::Created().json(stub)
        }
        Err(diags) => unprocessable(&diags),
    }
}

/// `DELETE /__admin/mappings`: no stub serves; the files of saved (`persistent`) stubs are
/// deleted, other mapping files come back on reset or change.
pub(super) async fn delete_all_mappings(state: web::Data<AppState>) -> HttpResponse {
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
pub(super) async fn reset_mappings(state: web::Data<AppState>) -> HttpResponse {
    reset_to_files(&state).await;
    empty()
}

/// `GET /__admin/mappings/{id}`.
pub(super) async fn get_mapping(id: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
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
pub(super) async fn put_mapping(
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
pub(super) async fn delete_mapping(
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> HttpResponse {
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
pub(super) async fn remove_mapping(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
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
pub(super) async fn import_mappings(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
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
pub(super) fn by_metadata(state: &AppState, body: &[u8]) -> Answer<Vec<StubEntry>> {
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
pub(super) async fn find_by_metadata(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    match by_metadata(&state, &body) {
        Ok(found) => {
            let total = found.len();
            mappings_json(found.into_iter().map(|s| s.json).collect(), total)
        }
        Err(resp) => *resp,
    }
}

/// `POST /__admin/mappings/remove-by-metadata`.
pub(super) async fn remove_by_metadata(
    body: web::Bytes,
    state: web::Data<AppState>,
) -> HttpResponse {
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

/// The stubs no request in the journal matched (every replica's journal, with a shared
/// state store), or the `503` saying the store is away.
async fn unmatched_stubs(state: &AppState) -> Result<Vec<StubEntry>, HttpResponse> {
    let journal = state
        .journal_view()
        .await
        .map_err(|down| crate::http::respond::unavailable(&down))?;
    let (entries, _) = journal.list(&Default::default());
    let used: std::collections::HashSet<&str> = entries
        .iter()
        .filter_map(|e| e.record.route.as_deref())
        .filter_map(|r| r.rsplit_once('/').map(|(_, id)| id))
        .collect();
    Ok(stubs(state)
        .into_iter()
        .filter(|s| !used.contains(s.id.as_str()))
        .collect())
}

/// `GET /__admin/mappings/unmatched`: stubs no request in the journal matched.
pub(super) async fn unmatched_mappings(state: web::Data<AppState>) -> HttpResponse {
    let found = match unmatched_stubs(&state).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    let total = found.len();
    mappings_json(found.into_iter().map(|s| s.json).collect(), total)
}

/// `DELETE /__admin/mappings/unmatched`.
pub(super) async fn delete_unmatched_mappings(state: web::Data<AppState>) -> HttpResponse {
    let found = match unmatched_stubs(&state).await {
        Ok(found) => found,
        Err(resp) => return resp,
    };
    for stub in &found {
        remove_stub(&state, &stubs(&state), stub);
    }
    empty()
}

/// `POST /__admin/mappings/save`: API stubs become mapping files under `mappings/`, marked
/// `persistent` (removing one later deletes its file).
pub(super) async fn save_mappings(state: web::Data<AppState>) -> HttpResponse {
    let api: Vec<StubEntry> = stubs(&state).into_iter().filter(|s| s.api).collect();
    match persist(&state, api).await {
        Ok(()) => empty(),
        Err(message) => HttpResponse::InternalServerError().json(wj::Errors::one(500, message)),
    }
}

/// Writes API stubs as mapping files `mappings/{id}.json`, marked `persistent`, and serves
/// them from there (the in-memory copies step aside for the files).
pub(super) async fn persist(state: &AppState, api: Vec<StubEntry>) -> Result<(), String> {
    let Source::Dir(dir) = state.store.source().clone() else {
        return Err("stubs can only be saved when serving a scenarios directory".into());
    };
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
            Ok(())
        }
        Ok(Err(err)) => Err(format!("cannot save stubs: {err}")),
        Err(err) => Err(format!("cannot save stubs: {err}")),
    }
}
