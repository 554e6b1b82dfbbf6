//! The admin API under the reserved prefix `/__admin/`.
//!
//! No scenario can claim this prefix. With an admin token configured, every admin call needs
//! `Authorization: Bearer TOKEN`; mock routes are never affected by the token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::app::AppState;
use crate::respond;

/// The reserved path prefix.
pub const PREFIX: &str = "/__admin";

/// Registers the admin routes on a scope mounted at [`PREFIX`].
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/health", web::get().to(health))
        .default_service(web::to(not_found));
}

/// `GET /__admin/health`.
async fn health(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(resp) = authorize(&req, &state) {
        return *resp;
    }
    let snapshot = state.store.snapshot();
    HttpResponse::Ok().json(json!({
        "status": "ok",
        "scenarios": snapshot.index.scenarios().len(),
        "routes": snapshot.index.len(),
        "errors": state.store.error_count(),
    }))
}

async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Err(resp) = authorize(&req, &state) {
        return *resp;
    }
    respond::error(
        StatusCode::NOT_FOUND,
        format!("no admin endpoint {} {}", req.method(), req.path()),
    )
}

/// Checks the bearer token when one is configured.
fn authorize(req: &HttpRequest, state: &AppState) -> Result<(), Box<HttpResponse>> {
    let Some(token) = &state.admin_token else {
        return Ok(());
    };
    let given = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.as_bytes())) {
        Ok(())
    } else {
        Err(Box::new(HttpResponse::build(StatusCode::UNAUTHORIZED)
            .insert_header((actix_web::http::header::WWW_AUTHENTICATE, "Bearer realm=\"understudy admin\""))
            .json(json!({ "error": "admin API needs Authorization: Bearer TOKEN (--admin-token)" }))))
    }
}

/// Compares without an early exit, so timing does not reveal the token.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
