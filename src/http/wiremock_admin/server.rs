//! The server's own endpoints: health, version, settings, reset and shutdown.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value};

use super::reply::{empty, json_body};
use super::stubs::reset_to_files;
use crate::http::{AppState, wiremock_json as wj};

/// `GET /__admin/health`.
pub(super) async fn health(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(wj::Health {
        status: "healthy",
        message: "Wiremock is ok",
        version: wj::VERSION,
        uptime_in_seconds: state.started.elapsed().as_secs(),
        timestamp: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
    })
}

/// `GET /__admin/version`.
pub(super) async fn version() -> HttpResponse {
    HttpResponse::Ok().json(wj::Version {
        version: wj::VERSION,
    })
}

/// `GET /__admin/settings`.
pub(super) async fn get_settings(state: web::Data<AppState>) -> HttpResponse {
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

/// `POST|PUT /__admin/settings`: stored and shown; `fixedDelay` delays every answer without a
/// delay of its own (the other settings are shown, not applied).
pub(super) async fn update_settings(body: web::Bytes, state: web::Data<AppState>) -> HttpResponse {
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
    if let Some(delay) = inner.get("fixedDelay") {
        // A number sets the delay; null (or 0) takes it away, as in WireMock.
        let ms = delay.as_u64().unwrap_or(0);
        state
            .global_delay_ms
            .store(ms, std::sync::atomic::Ordering::Relaxed);
    }
    state
        .wiremock_settings
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .extend(inner);
    empty()
}

/// `POST /__admin/reset`: API stubs dropped, mapping files back, journal cleared, every
/// scenario at `Started`.
pub(super) async fn reset_all(state: web::Data<AppState>) -> HttpResponse {
    reset_to_files(&state).await;
    match state.reset_states(true).await {
        Ok(()) => empty(),
        Err(down) => crate::http::respond::unavailable(&down),
    }
}

/// `POST /__admin/shutdown`: answers, then stops the server.
pub(super) async fn shutdown(state: web::Data<AppState>) -> HttpResponse {
    if let Some(handle) = state.server.get().cloned() {
        actix_rt::spawn(async move {
            actix_rt::time::sleep(std::time::Duration::from_millis(100)).await;
            handle.stop(true).await;
        });
    }
    empty()
}
