//! The stubs serving now (file stubs and API stubs, from the store) and the changes the API
//! makes to them: put, remove, take a mapping file over, reset to the files.

use std::path::PathBuf;

use actix_web::web;
use serde_json::{Map, Value};

use super::API_PREFIX;
use crate::http::AppState;
use crate::scenario::Diagnostic;
use crate::store::Source;

/// One stub serving now.
#[derive(Clone)]
pub(super) struct StubEntry {
    /// Its UUID.
    pub(super) id: String,
    /// The store scenario holding it.
    pub(super) scenario: String,
    /// Created through the API (else read from a mapping file).
    pub(super) api: bool,
    /// The mapping file, relative to the scenarios directory, when it holds this stub alone.
    pub(super) own_file: Option<PathBuf>,
    /// The stub JSON with `id` and `uuid`.
    pub(super) json: Value,
}

impl StubEntry {
    pub(super) fn metadata(&self) -> Option<&Value> {
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
pub(super) fn stubs(state: &AppState) -> Vec<StubEntry> {
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
                    id: route.id().to_owned(),
                    scenario: scenario.name.clone(),
                    api,
                    own_file: scenario.file.clone().filter(|_| alone),
                    json: with_id(&json, route.id()),
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
pub(super) fn stub_of(all: &[StubEntry], route: Option<&str>) -> Option<Value> {
    let (scenario, id) = route?.rsplit_once('/')?;
    all.iter()
        .find(|s| s.id == id && s.scenario == scenario)
        .or_else(|| all.iter().find(|s| s.id == id))
        .map(|s| s.json.clone())
}

/// Stores `json` as the API stub `id` (compiled as a mapping file); the stub as stored.
pub(super) fn put_stub(state: &AppState, json: &Value, id: &str) -> Result<Value, Vec<Diagnostic>> {
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
pub(super) fn forget_persisted(state: &AppState, stub: &StubEntry) {
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
pub(super) fn take_over_file(state: &AppState, all: &[StubEntry], scenario: &str, except: &str) {
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
pub(super) fn remove_stub(state: &AppState, all: &[StubEntry], stub: &StubEntry) {
    forget_persisted(state, stub);
    if stub.api {
        let _ = state.store.delete(&stub.scenario);
    } else {
        take_over_file(state, all, &stub.scenario, &stub.id);
    }
}

/// Drops every API stub and un-hides the mapping files, then rescans them.
pub(super) async fn reset_to_files(state: &AppState) {
    state
        .store
        .remove_api(|name| name.starts_with(API_PREFIX), true);
    let store = state.store.clone();
    if let Ok(Err(err)) = web::block(move || store.refresh()).await {
        tracing::warn!("cannot rescan the mapping files: {err}");
    }
}
