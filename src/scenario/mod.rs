//! The scenario file format and its life cycle: parse → validate → compile.
//!
//! - [`model`]: serde types, exactly the JSON users write.
//! - [`compile`] (routes), `response` (answers) and [`upgrade`] (1xx keys): validation into
//!   the runtime types of [`compiled`], sharing the compile context of [`ctx`] (origin,
//!   limits, diagnostics); [`template`]: response templates, parsed once; [`handlebars`]:
//!   WireMock-style (Handlebars) response templates, self-contained.
//! - [`load`]: directory scan, strict parsing, per-file outcomes.
//! - [`openapi`]: OpenAPI 3.0/3.1 documents compiled into the same routes, their answers
//!   decided per request by a compiled operation.
//! - [`diag`] and `messages`: `FILE:LINE:COL: at JSON.PATH: message` diagnostics.
//!
//! Everything here is immutable once compiled: runtime state (scenario states, sequence
//! positions) lives beside it ([`crate::state`]). Nothing here knows about sockets or
//! requests. The modules depend one way: `load` → `compile` → `response` → `upgrade` →
//! `ctx`, all of them → `compiled` → `template`.

pub mod compile;
pub mod compiled;
pub mod ctx;
pub mod diag;
pub mod handlebars;
pub mod load;
mod messages;
pub mod model;
pub mod openapi;
pub mod path_regex;
pub mod pattern;
mod response;
pub mod template;
pub mod upgrade;
pub mod wiremock;

pub use compiled::{CompiledResponse, CompiledRoute, CompiledScenario};
pub use diag::Diagnostic;
pub use response::{MAX_REASON_PHRASES, default_reason};

/// The JSON Schema (draft 2020-12) of a scenario file, as pretty-printed JSON.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(model::ScenarioFile);
    #[allow(clippy::expect_used)] // invariant: a schema is a JSON value with string keys
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema always serializes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    /// The committed `docs/scenario.schema.json` is what `understudy schema` prints; after a
    /// format change run `cargo run -- schema > docs/scenario.schema.json`.
    #[test]
    fn committed_schema_is_current() {
        let committed = include_str!("../../docs/scenario.schema.json");
        assert!(
            committed == super::json_schema(),
            "docs/scenario.schema.json is stale: run `cargo run -- schema > docs/scenario.schema.json`"
        );
    }
}
