//! understudy: an HTTP test double that answers from JSON scenario files.
//!
//! The crate is both the `understudy` binary and a library. As a library it offers:
//!
//! - [`MockServer`]: a real understudy server inside a Rust test (in-process, its own port,
//!   the journal and the scenario set at hand), built with [`MockServerBuilder`];
//! - [`server`]: the whole server as the binary runs it, from a [`ServeConfig`];
//! - [`import_openapi`]: an OpenAPI document's routes as a native scenario file;
//! - [`validate`]: checking scenario files as `understudy validate` does, and
//!   [`json_schema`], the JSON Schema of the scenario format.
//!
//! Inside, a request travels through these modules (none of them public):
//!
//! - `wire`: the listener, TLS and the connection seam: everything that needs the socket;
//! - `http`: **how a request is answered**: `http::answer` reads the body, selects the route,
//!   renders, paces and replies, and journals the exchange once; also the admin API;
//! - `matching`: the route index and near-miss reports; `state`: scenario states and script
//!   positions beside the compiled scenarios;
//! - `store`: the snapshot of compiled scenarios, swapped atomically; `watch`: hot reload;
//! - `scenario`: the file format: serde model, validation, compilation, templates, diagnostics;
//! - `journal`: the bounded request journal;
//! - `shared`: scenario states, positions and the journal kept in Redis for replicas
//!   (`--state-store`).
//!
//! Without the default `cli` feature (`default-features = false`) the binary's own
//! dependencies (clap, anyhow, ureq, rlimit, tracing-subscriber) are not compiled.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod embed;
pub mod server;
mod validate;

use internals::{http, journal, matching, recent, scenario, shared, state, store, watch, wire};

pub use embed::{Error, MockServer, MockServerBuilder, RecordedRequest, Times};
pub use journal::JournalLimits;
pub use scenario::Diagnostic;
pub use scenario::json_schema;
pub use scenario::load::Limits as ScenarioLimits;
pub use server::{Running, ServeConfig};
pub use validate::{FileReport, validate};

/// The routes of the OpenAPI document at `spec` as a native scenario file (pretty JSON, the
/// default answers and named examples inlined), as `understudy openapi import` prints it;
/// or every problem that keeps the document from loading.
pub fn import_openapi(spec: &std::path::Path) -> Result<String, Vec<Diagnostic>> {
    scenario::openapi::import::import(spec)
}

#[doc(hidden)]
pub mod internals;
