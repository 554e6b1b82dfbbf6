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
//!
//! This file routes; the endpoints live by group in [`mappings`], [`requests`] (the journal
//! and near misses), [`scenarios`] and [`server`] (health, version, settings, reset,
//! shutdown), over the stubs of [`stubs`] and the shared answers of [`reply`];
//! `recordings/snapshot` (stubs from the journal's proxied answers) is [`snapshot`]'s.
//! Recording (`recordings/start|stop|status`) is `http::record::api`'s.

mod mappings;
mod reply;
mod requests;
mod scenarios;
mod server;
mod snapshot;
mod stubs;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};

use crate::http::{admin, record};
use mappings::{
    create_mapping, delete_all_mappings, delete_mapping, delete_unmatched_mappings,
    find_by_metadata, get_mapping, import_mappings, list_mappings, put_mapping, remove_by_metadata,
    remove_mapping, reset_mappings, save_mappings, unmatched_mappings,
};
use requests::{
    clear_requests, count_requests, delete_request, find_requests, get_request, list_requests,
    near_misses_pattern, near_misses_request, remove_requests, remove_requests_by_metadata,
    unmatched_near_misses, unmatched_requests,
};
use scenarios::{list_scenarios, reset_scenarios, set_scenario_state};
use server::{get_settings, health, reset_all, shutdown, update_settings, version};

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
        .route(
            "/recordings/start",
            web::post().to(record::api::wiremock_start),
        )
        .route(
            "/recordings/stop",
            web::post().to(record::api::wiremock_stop),
        )
        .route(
            "/recordings/status",
            web::get().to(record::api::wiremock_status),
        )
        .route("/recordings/snapshot", web::post().to(snapshot::snapshot))
        .route("/shutdown", web::post().to(shutdown))
        .default_service(web::to(not_found))
}

async fn not_found() -> HttpResponse {
    HttpResponse::NotFound().finish()
}
