//! The actix-web application: the admin scope and the catch-all mock handler.
//!
//! The app is built once per worker and never changes; scenario changes arrive through the
//! store's snapshot, not through actix's router.

use std::sync::Arc;

use actix_web::{App, web};

use crate::journal::Journal;
use crate::store::Store;
pub mod admin;
mod handler;
pub mod respond;
pub mod upgrade;

/// State shared by every worker.
pub struct AppState {
    /// The scenario set.
    pub store: Arc<Store>,
    /// The request journal.
    pub journal: Arc<Journal>,
    /// Largest request body read, in bytes.
    pub max_body_bytes: usize,
    /// Time a request's body may take to arrive (`None`: no limit).
    pub body_timeout: Option<std::time::Duration>,
    /// Bearer token the admin API requires, if any.
    pub admin_token: Option<String>,
}

/// Builds the application around `state`.
pub fn build(
    state: web::Data<AppState>,
) -> App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .app_data(web::PayloadConfig::new(state.max_body_bytes))
        .app_data(state)
        .service(admin::scope())
        .default_service(web::to(handler::mock))
}
