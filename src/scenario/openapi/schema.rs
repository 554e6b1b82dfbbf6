//! A converted schema at run time: its validator, compiled when first needed ([`Checker`]),
//! the self-contained 2020-12 schema it is compiled from ([`bundle`]), and a deterministic
//! value that validates ([`generate_valid`]).
//!
//! Compiling validators is the costly part of loading a spec (thousands of them in a large
//! one), so none is compiled at load unless an example needs checking there; the first
//! request that needs one compiles it, once.

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::generate::{Generator, Side};

/// A compiled JSON Schema validator.
pub type Validator = jsonschema::Validator;
use super::source::{collect_refs, def_name};

/// A schema's validator, compiled on first use.
pub struct Checker {
    schema: Value,
    side: Side,
    cell: OnceLock<Option<Validator>>,
}

impl Checker {
    /// A checker of `schema` (converted) for one side of the exchange.
    pub fn new(schema: Value, side: Side) -> Self {
        Checker {
            schema,
            side,
            cell: OnceLock::new(),
        }
    }

    /// The converted schema.
    pub fn schema(&self) -> &Value {
        &self.schema
    }

    /// The validator (compiled now if it was not yet), `None` when the schema cannot be
    /// compiled; `defs` is the spec's schema table.
    pub fn get(&self, defs: &[Value]) -> Option<&Validator> {
        self.cell
            .get_or_init(|| match build(defs, &self.schema, self.side) {
                Ok(v) => Some(v),
                Err(e) => {
                    tracing::warn!("an OpenAPI schema cannot be used for validation: {e}");
                    None
                }
            })
            .as_ref()
    }

    /// Whether `value` validates (a schema that cannot be compiled accepts everything).
    pub fn is_valid(&self, defs: &[Value], value: &Value) -> bool {
        self.get(defs).is_none_or(|v| v.is_valid(value))
    }
}

/// The validator of a converted schema, `readOnly` (requests) or `writeOnly` (responses)
/// properties not required.
pub fn build(defs: &[Value], schema: &Value, side: Side) -> Result<Validator, String> {
    let mut bundled = bundle(defs, schema);
    relax(&mut bundled, side);
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(&bundled)
        .map_err(|e| e.to_string())
}

/// A self-contained 2020-12 schema for `schema` (already converted): it with every table
/// entry it reaches, directly or not, under `$defs`.
pub fn bundle(defs_table: &[Value], schema: &Value) -> Value {
    let mut needed = Vec::new();
    let mut seen = std::collections::HashSet::new();
    collect_refs(schema, &mut needed);
    let mut defs = Map::new();
    while let Some(i) = needed.pop() {
        if !seen.insert(i) {
            continue;
        }
        if let Some(def) = defs_table.get(i) {
            collect_refs(def, &mut needed);
            defs.insert(def_name(i), def.clone());
        }
    }
    let mut root = match schema {
        Value::Object(m) => m.clone(),
        Value::Bool(false) => {
            let mut m = Map::new();
            m.insert("not".into(), Value::Object(Map::new()));
            m
        }
        _ => Map::new(),
    };
    if !defs.is_empty() {
        match root.get_mut("$defs") {
            Some(Value::Object(existing)) => existing.extend(defs),
            _ => {
                root.insert("$defs".into(), Value::Object(defs));
            }
        }
    }
    root.insert(
        "$schema".into(),
        Value::String("https://json-schema.org/draft/2020-12/schema".into()),
    );
    Value::Object(root)
}

/// Drops from every `required` list the properties the other side never sends.
fn relax(schema: &mut Value, side: Side) {
    let hidden = match side {
        Side::Request => "readOnly",
        Side::Response => "writeOnly",
    };
    let defs = schema.get("$defs").cloned();
    relax_node(schema, hidden, &defs.as_ref(), 0);
}

fn relax_node(node: &mut Value, hidden: &str, defs: &Option<&Value>, depth: usize) {
    if depth > 64 {
        return;
    }
    match node {
        Value::Object(m) => {
            if let (Some(Value::Array(req)), Some(Value::Object(props))) =
                (m.get("required"), m.get("properties"))
            {
                let drop: Vec<Value> = req
                    .iter()
                    .filter(|name| {
                        name.as_str()
                            .and_then(|n| props.get(n))
                            .is_some_and(|p| is_flagged(p, hidden, defs))
                    })
                    .cloned()
                    .collect();
                if !drop.is_empty()
                    && let Some(Value::Array(req)) = m.get_mut("required")
                {
                    req.retain(|n| !drop.contains(n));
                }
            }
            for (k, v) in m.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "enum" | "const" | "example" | "examples" | "default"
                ) {
                    relax_node(v, hidden, defs, depth + 1);
                }
            }
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|v| relax_node(v, hidden, defs, depth + 1)),
        _ => {}
    }
}

fn is_flagged(schema: &Value, flag: &str, defs: &Option<&Value>) -> bool {
    if schema.get(flag) == Some(&Value::Bool(true)) {
        return true;
    }
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/$defs/"))
        .and_then(|name| defs.and_then(|d| d.get(name)))
        .is_some_and(|target| target.get(flag) == Some(&Value::Bool(true)))
}

/// A deterministic value for `schema` that validates: with the schemas' own examples, then
/// without, then a few seeded variations (the same in every run). `None` when none of them
/// validates (the first is returned beside it).
pub fn generate_valid(defs: &[Value], schema: &Value, checker: &Checker) -> (Value, bool) {
    let mut first = None;
    for attempt in 0..24u64 {
        let rng = (attempt >= 2).then(|| fastrand::Rng::with_seed(attempt));
        let mut g = Generator::new(defs, rng, Side::Response);
        g.use_examples = attempt == 0;
        let v = g.value(schema);
        if checker.is_valid(defs, &v) {
            return (v, true);
        }
        first.get_or_insert(v);
    }
    (first.unwrap_or(Value::Null), false)
}
