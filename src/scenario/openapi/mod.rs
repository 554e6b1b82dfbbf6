//! OpenAPI 3.0 and 3.1 documents as a scenario input: a spec becomes one compiled scenario
//! whose routes answer as the spec describes (issue 17; docs/openapi.md).
//!
//! - `source`: YAML or JSON text into a `serde_json::Value`, `$ref`s followed (local and to
//!   files beside the spec), schemas converted once into JSON Schema 2020-12;
//! - `generate`: values made from a schema, deterministic or random, cycles cut;
//! - `schema`: a converted schema at run time: its validator compiled on first use, and a
//!   deterministic value that validates;
//! - [`compile`]: the document into routes, each answer carrying an [`Operation`];
//! - [`operation`]: what an operation answers per request (validation, `Prefer`, `Accept`);
//! - [`import`]: the same routes written as an editable native scenario file.
//!
//! The spec's dynamic part hangs off the compiled answer (`CompiledResponse::openapi`) and is
//! decided in `http::answer`, like WireMock's templates; matching, the journal, near misses,
//! hot reload and `validate` treat a spec's routes like any other.

pub mod compile;
mod generate;
pub mod import;
pub mod operation;
mod schema;
mod source;

use std::path::Path;

pub use compile::compile_source;
pub use operation::{OasReply, OasRequest, Operation};

/// Whether a file name names an OpenAPI document that a scenarios directory serves:
/// `*.openapi.yaml`, `*.openapi.yml` or `*.openapi.json` (a `*.json` whose top level holds
/// an `"openapi"` version is one too, see [`is_openapi_document`]).
pub fn is_spec_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".openapi.yaml", ".openapi.yml", ".openapi.json"]
        .iter()
        .any(|s| lower.ends_with(s))
}

/// Whether the document at `path` with text `text` is an OpenAPI document: a YAML file, a
/// `*.openapi.*` file, or JSON whose top-level object has an `"openapi"` string.
pub fn is_openapi_document(path: &Path, text: &str) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if is_spec_name(&name) {
        return true;
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext == "yaml" || ext == "yml" {
        return true;
    }
    if !text.contains("\"openapi\"") {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Shape {
        openapi: Option<serde::de::IgnoredAny>,
    }
    serde_json::from_str::<Shape>(text).is_ok_and(|s| s.openapi.is_some())
}
