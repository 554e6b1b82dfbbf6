//! WireMock 3.x mapping files as a second scenario format.
//!
//! A `*.json` file whose top level is one stub (`request` and `response`) or
//! `{"mappings": [...]}` is a WireMock mapping file ([`is_mapping_file`]). It is parsed into
//! [`model`]'s serde types and compiled ([`compile`]) into the same [`CompiledScenario`] a
//! native file becomes — a stub is just another way to write a route — so matching, the
//! journal, near misses, hot reload, `validate` and every wire feature apply unchanged.
//!
//! `bodyFileName` resolves against the `__files` directory beside the `mappings` directory
//! that holds the mapping (WireMock's root layout), or beside the scenarios directory's top.

pub mod compile;
pub mod model;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::compiled::CompiledScenario;
use super::ctx::Origin;
use super::diag::{Diagnostic, JsonPath};

/// The top-level keys that tell the two formats apart (values are skipped, not built).
#[derive(Deserialize)]
struct Shape {
    routes: Option<IgnoredAny>,
    request: Option<IgnoredAny>,
    response: Option<IgnoredAny>,
    mappings: Option<IgnoredAny>,
}

/// Whether `text` is a WireMock mapping file: a top-level object with `request` and
/// `response`, or with `mappings`, and no `routes`. Text that is not a JSON object is not
/// (the native parser explains what is wrong with it).
pub fn is_mapping_file(text: &str) -> bool {
    match serde_json::from_str::<Shape>(text) {
        Ok(shape) => {
            shape.routes.is_none()
                && (shape.mappings.is_some()
                    || (shape.request.is_some() || shape.response.is_some()))
        }
        Err(_) => false,
    }
}

/// Parses and compiles a mapping file.
pub fn compile_source(origin: &Origin<'_>) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let many =
        serde_json::from_str::<Shape>(origin.source).is_ok_and(|shape| shape.mappings.is_some());
    let stubs = if many {
        parse::<model::Mappings>(origin)?.mappings
    } else {
        vec![parse::<model::Stub>(origin)?]
    };
    compile::compile(&stubs, many, origin)
}

/// Strict parse with the failing JSON path and position.
fn parse<T: serde::de::DeserializeOwned>(origin: &Origin<'_>) -> Result<T, Vec<Diagnostic>> {
    // A good file parses once, untracked; a bad one again, to find its error's JSON path.
    if let Ok(value) = serde_json::from_str::<T>(origin.source) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_str(origin.source);
    let (path, inner) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(value) => match de.end() {
            Ok(()) => return Ok(value),
            Err(err) => (JsonPath::root(), err),
        },
        Err(err) => (JsonPath::from_serde(err.path()), err.into_inner()),
    };
    Err(vec![super::messages::explain(
        origin.display,
        origin.source,
        path,
        &inner,
    )])
}
