//! The admin API's recording endpoints: `POST …/recordings/start`, `POST …/recordings/stop`
//! and `GET …/recordings/status` (native, under `/__understudy/admin/` and `/__admin/` in
//! `native` mode).
//!
//! `start` takes `{"target", "into", "mode", "match", "keepLatency"}`; a relative `into` is
//! taken relative to the scenarios directory (the server's, not the caller's working
//! directory). `stop` answers the routes the recording wrote.

use std::path::PathBuf;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{MatchKey, Mode, RecordSettings};
use crate::http::{AppState, respond};
use crate::store::Source;

/// `POST …/recordings/start`'s body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Start {
    target: String,
    into: String,
    mode: Option<String>,
    #[serde(rename = "match")]
    match_key: Option<MatchList>,
    keep_latency: Option<bool>,
}

/// `"method,path"` or `["method", "path"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum MatchList {
    Text(String),
    List(Vec<String>),
}

/// `into` as the server resolves it: relative to the scenarios directory.
pub(crate) fn resolve_into(state: &AppState, into: &str) -> PathBuf {
    let path = PathBuf::from(into);
    if path.is_absolute() {
        return path;
    }
    match state.store.source() {
        Source::Dir(dir) => dir.join(path),
        Source::File(file) => file
            .parent()
            .map_or_else(|| path.clone(), |p| p.join(&path)),
        Source::None => path,
    }
}

fn settings(state: &AppState, body: &[u8]) -> Result<RecordSettings, String> {
    let start: Start = serde_json::from_slice(body).map_err(|err| {
        format!(
            "expected {{\"target\": URL, \"into\": FILE, \"mode\": \"on-miss\"|\"always\", \
             \"match\": \"method,path,query\"}}: {err}"
        )
    })?;
    let mut settings = RecordSettings::new(start.target, resolve_into(state, &start.into));
    if let Some(mode) = start.mode {
        settings.mode = mode.parse::<Mode>()?;
    }
    settings.key = match start.match_key {
        None => MatchKey::default(),
        Some(MatchList::Text(text)) => text.parse()?,
        Some(MatchList::List(parts)) => parts.join(",").parse()?,
    };
    settings.keep_latency = start.keep_latency.unwrap_or(false);
    Ok(settings)
}

/// `POST …/recordings/start`.
pub async fn start(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let settings = match settings(&state, &body) {
        Ok(s) => s,
        Err(err) => return respond::error(StatusCode::BAD_REQUEST, err),
    };
    let (mode, into) = (settings.mode, settings.into.clone());
    let target = settings.target.clone();
    let started = {
        let state = state.clone();
        web::block(move || state.recorder.start(settings)).await
    };
    match started {
        Ok(Ok(_)) => HttpResponse::Ok().json(json!({
            "status": "recording",
            "target": target,
            "into": into,
            "mode": mode.as_str(),
        })),
        Ok(Err(err)) if state.recorder.active().is_some() => {
            respond::error(StatusCode::CONFLICT, err)
        }
        Ok(Err(err)) => respond::error(StatusCode::BAD_REQUEST, err),
        Err(err) => respond::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

/// `POST …/recordings/stop`: the routes written.
pub async fn stop(state: web::Data<AppState>) -> HttpResponse {
    match state.recorder.stop() {
        Some(stopped) => HttpResponse::Ok().json(json!({
            "status": "stopped",
            "into": stopped.into,
            "routes": stopped.routes,
        })),
        None => respond::error(StatusCode::CONFLICT, "no recording is running"),
    }
}

/// `GET …/recordings/status`.
pub async fn status(state: web::Data<AppState>) -> HttpResponse {
    match state.recorder.active() {
        Some(session) => HttpResponse::Ok().json(json!({
            "status": "recording",
            "target": session.target_url,
            "into": session.into,
            "mode": session.mode.as_str(),
        })),
        None => HttpResponse::Ok().json(json!({ "status": "stopped" })),
    }
}

/// WireMock's `POST /__admin/recordings/start` body: the keys understudy uses (the others
/// WireMock takes are accepted and ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireMockStart {
    target_base_url: String,
    #[serde(default)]
    capture_headers: serde_json::Map<String, serde_json::Value>,
}

/// WireMock's `POST /__admin/recordings/start`: records every request (WireMock's record
/// mode proxies everything) into a new file `mappings/recording-ID.json` of the root.
pub async fn wiremock_start(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
    let start: WireMockStart = match serde_json::from_slice(&body) {
        Ok(s) => s,
        Err(err) => {
            return respond::error(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"targetBaseUrl\": URL}}: {err}"),
            );
        }
    };
    let unique = uuid::Uuid::new_v4().simple().to_string();
    let into = resolve_into(
        &state,
        &format!("mappings/recording-{}.json", &unique[..12]),
    );
    let mut settings = RecordSettings::new(start.target_base_url, into);
    settings.mode = Mode::Always;
    if !start.capture_headers.is_empty() {
        let mut parts = vec!["method".to_owned(), "path".to_owned(), "query".to_owned()];
        parts.extend(start.capture_headers.keys().map(|h| format!("header:{h}")));
        let mut key: MatchKey = match parts.join(",").parse() {
            Ok(k) => k,
            Err(err) => return respond::error(StatusCode::BAD_REQUEST, err),
        };
        key.body_when_sent();
        settings.key = key;
    }
    let started = {
        let state = state.clone();
        web::block(move || state.recorder.start(settings)).await
    };
    match started {
        Ok(Ok(_)) => HttpResponse::Ok().finish(),
        Ok(Err(err)) => respond::error(StatusCode::BAD_REQUEST, err),
        Err(err) => respond::error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

/// WireMock's `GET /__admin/recordings/status`.
pub async fn wiremock_status(state: web::Data<AppState>) -> HttpResponse {
    let status = if state.recorder.active().is_some() {
        "Recording"
    } else if state.recorder.ever_started() {
        "Stopped"
    } else {
        "NeverStarted"
    };
    HttpResponse::Ok().json(json!({ "status": status }))
}

/// WireMock's `POST /__admin/recordings/stop`: the stubs recorded.
pub async fn wiremock_stop(state: web::Data<AppState>) -> HttpResponse {
    match state.recorder.stop() {
        Some(stopped) => HttpResponse::Ok().json(json!({
            "mappings": super::stubs::as_stubs(&stopped.routes, &stopped.into),
        })),
        None => respond::error(StatusCode::BAD_REQUEST, "Not recording."),
    }
}
