//! The JSON shapes understudy sends on its own behalf: admin API answers and its own error
//! answers. One `Serialize` type per shape, so each shape is written down once; the request
//! journal's entry shape lives with the journal ([`crate::journal::EntryJson`]).
//!
//! Field names are the contract's (`docs/admin-api.md`); `tests/it/shapes.rs` checks that
//! every endpoint answers with exactly the documented keys.

use std::borrow::Cow;

use serde::Serialize;

use crate::journal::EntryJson;
use crate::matching::NearMiss;
use crate::scenario::Diagnostic;

/// `{"error": "…"}`: every error understudy answers itself.
#[derive(Serialize)]
pub struct Error<'a> {
    /// What went wrong, naming the input or flag involved.
    pub error: Cow<'a, str>,
}

/// A `400` for an invalid scenario or request matcher: every problem, as `validate` prints
/// them (`errors`) and with positions (`details`).
#[derive(Serialize)]
pub struct Invalid<'a> {
    /// `invalid scenario` or `invalid request matcher`.
    pub error: &'a str,
    /// `JSON.PATH: message`, one per problem.
    pub errors: Vec<String>,
    /// The same problems with their positions.
    pub details: Vec<Detail<'a>>,
}

/// One problem of an [`Invalid`] document.
#[derive(Serialize)]
pub struct Detail<'a> {
    /// JSON path of the problem.
    pub path: &'a str,
    /// Line in the document, when known.
    pub line: Option<usize>,
    /// Column in the document, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: &'a str,
}

impl<'a> Invalid<'a> {
    /// The answer for `diags`.
    pub fn new(error: &'a str, diags: &'a [Diagnostic]) -> Self {
        Invalid {
            error,
            errors: diags
                .iter()
                .map(|d| format!("{}: {}", d.path, d.message))
                .collect(),
            details: diags
                .iter()
                .map(|d| Detail {
                    path: &d.path,
                    line: d.line,
                    column: d.column,
                    message: &d.message,
                })
                .collect(),
        }
    }
}

/// The `404` body for a request no route matched.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Unmatched<'a> {
    /// Always `no route matched`.
    pub error: &'static str,
    /// The request, as matched.
    pub request: RequestLine<'a>,
    /// The routes closest to matching, best first.
    pub near_misses: &'a [NearMiss],
}

/// Method and path of a request.
#[derive(Serialize)]
pub struct RequestLine<'a> {
    /// Method as sent.
    pub method: &'a str,
    /// Path as sent.
    pub path: &'a str,
}

/// `GET /__admin/health`.
#[derive(Serialize)]
pub struct Health {
    /// Always `ok` (the server answers).
    pub status: &'static str,
    /// Scenarios serving.
    pub scenarios: usize,
    /// Routes serving.
    pub routes: usize,
    /// Files whose current version failed to load.
    pub errors: usize,
}

/// A scenario as `GET /__admin/scenarios` lists it; `GET /__admin/scenarios/{name}` adds the
/// route names and the document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scenario<'a> {
    /// Scenario name.
    pub name: &'a str,
    /// File relative to the scenarios directory (`/`-separated), `null` for API scenarios.
    pub file: Option<String>,
    /// Where it comes from.
    pub source: Origin,
    /// The scenario's description.
    pub description: Option<&'a str>,
    /// Number of routes of the serving version.
    pub routes: usize,
    /// Current state of the serving version.
    pub state: Option<String>,
    /// `error` when the current file version failed to load.
    pub status: LoadStatus,
    /// The current file version's problems.
    pub errors: Vec<String>,
    /// When the serving version was loaded (RFC 3339, milliseconds).
    pub loaded_at: Option<String>,
    /// Whether its routes serve.
    pub active: bool,
    /// `scenario/id` of each route (single scenario only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub route_names: Option<Vec<&'a str>>,
    /// The document as written (single scenario only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<serde_json::Value>,
}

/// Where a scenario comes from.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A file under the scenarios directory.
    File,
    /// Put through the admin API (or the embedding API).
    Api,
}

/// Whether a scenario's current version loaded.
#[derive(Serialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
pub enum LoadStatus {
    /// It loaded.
    Ok,
    /// It failed; the last good version, if any, keeps serving.
    Error,
}

/// `DELETE /__admin/scenarios/{name}`.
#[derive(Serialize)]
pub struct Deleted<'a> {
    /// The scenario deleted.
    pub deleted: &'a str,
    /// An API scenario, or a file scenario (hidden until its file changes).
    pub source: Origin,
    /// For file scenarios: what deleting means.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// A scenario's state, after it was set or reset.
#[derive(Serialize)]
pub struct State<'a> {
    /// Scenario name.
    pub name: &'a str,
    /// Its state now.
    pub state: String,
}

/// `POST /__admin/reset`.
#[derive(Serialize)]
pub struct Reset {
    /// Always `reset`.
    pub status: &'static str,
}

/// `POST /__admin/reload`.
#[derive(Serialize)]
pub struct Reloaded {
    /// Scenarios serving after the reload.
    pub scenarios: usize,
    /// Routes serving after the reload.
    pub routes: usize,
    /// Every problem of every failing file.
    pub errors: Vec<String>,
}

/// `GET /__admin/requests` and `GET /__admin/requests/unmatched`.
#[derive(Serialize)]
pub struct Requests<'a> {
    /// The entries, oldest first.
    pub requests: Vec<EntryJson<'a>>,
    /// Entries dropped by the journal's bounds so far.
    pub evicted: u64,
}

/// `DELETE /__admin/requests`.
#[derive(Serialize)]
pub struct Cleared {
    /// Entries removed.
    pub deleted: usize,
}

/// `POST /__admin/requests/count`.
#[derive(Serialize)]
pub struct Count {
    /// Entries matching.
    pub count: usize,
}
