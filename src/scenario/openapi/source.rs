//! Reading an OpenAPI document: YAML or JSON text into a `serde_json::Value`, `$ref`s
//! followed (inside the document and to files beside it), and every schema converted once
//! into a JSON Schema 2020-12 resource of one shared table (`$defs`), so that 3.0 and 3.1
//! documents reach the rest of the compiler in one dialect.
//!
//! Schemas are converted when first referenced: a `$ref` to a schema becomes
//! `{"$ref": "#/$defs/sN"}` and the table entry `N` holds the converted target, so cycles
//! (`Node.children: [Node]`) cost nothing here; `schema::bundle` gathers what one schema
//! needs into a self-contained schema for the validator. The 3.0 dialect is rewritten:
//! `nullable: true` allows `null`, boolean `exclusiveMinimum`/`exclusiveMaximum` become the
//! numeric forms.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Map, Value};

/// The name of a table entry in a bundled schema's `$defs`.
pub fn def_name(index: usize) -> String {
    format!("__oas{index}")
}

/// The `$ref` that points at table entry `index`.
pub fn def_ref(index: usize) -> String {
    format!("#/$defs/__oas{index}")
}

/// The table index a converted `$ref` points at, if it is one of ours.
pub fn def_index(reference: &str) -> Option<usize> {
    reference.strip_prefix("#/$defs/__oas")?.parse().ok()
}

/// A text parse error with its position.
#[derive(Debug)]
pub struct ParseError {
    /// 1-based line and column, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

/// Parses YAML or JSON text (chosen by the file name; YAML is tried for anything not `.json`)
/// into a JSON value. YAML mapping keys that are numbers or booleans (`200:`) become strings.
pub fn parse_text(path: &Path, text: &str) -> Result<Value, ParseError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json {
        return serde_json::from_str(text).map_err(|e| ParseError {
            at: Some((e.line(), e.column())),
            message: format!("not valid JSON: {e}"),
        });
    }
    // Straight into a JSON value when every mapping key is a string (the common case); a
    // document with keys such as `200:` goes through YAML's own value.
    if let Ok(value) = serde_yaml_ng::from_str::<Value>(text) {
        return Ok(value);
    }
    let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| ParseError {
        at: e.location().map(|l| (l.line(), l.column())),
        message: format!("not valid YAML: {e}"),
    })?;
    Ok(yaml_to_json(yaml))
}

fn yaml_to_json(v: serde_yaml_ng::Value) -> Value {
    use serde_yaml_ng::Value as Y;
    match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map_or(Value::Null, Value::Number)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Y::Mapping(m) => {
            let mut out = Map::with_capacity(m.len());
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    Y::Bool(b) => b.to_string(),
                    Y::Number(n) => n.to_string(),
                    Y::Null => "null".to_owned(),
                    other => serde_json::to_string(&yaml_to_json(other)).unwrap_or_default(),
                };
                out.insert(key, yaml_to_json(v));
            }
            Value::Object(out)
        }
        Y::Tagged(t) => yaml_to_json(t.value),
    }
}

/// The documents of one spec (the main one first) and the converted schema table.
pub struct Docs {
    files: Vec<(PathBuf, Arc<Value>)>,
    by_path: HashMap<PathBuf, usize>,
    /// Converted schemas; `$ref`s between them are `#/$defs/__oasN`.
    pub defs: Vec<Value>,
    def_by_target: HashMap<(usize, String), usize>,
    /// Whether the main document is OpenAPI 3.0 (its schema dialect is rewritten).
    pub is30: bool,
    /// Problems found following `$ref`s (each names the reference).
    pub problems: Vec<String>,
}

impl Docs {
    /// The documents of the spec whose main document is `main` (already parsed) at `path`.
    pub fn new(path: &Path, main: Value) -> Self {
        let is30 = main
            .get("openapi")
            .and_then(Value::as_str)
            .is_some_and(|v| v.starts_with("3.0"));
        let key = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        let mut by_path = HashMap::new();
        by_path.insert(key.clone(), 0);
        Docs {
            files: vec![(key, Arc::new(main))],
            by_path,
            defs: Vec::new(),
            def_by_target: HashMap::new(),
            is30,
            problems: Vec::new(),
        }
    }

    /// The main document.
    pub fn main(&self) -> Arc<Value> {
        self.files[0].1.clone()
    }

    /// Every file read besides the main one (what a reload has to watch too).
    pub fn other_files(&self) -> Vec<PathBuf> {
        self.files.iter().skip(1).map(|(p, _)| p.clone()).collect()
    }

    /// Where `reference` (seen in file `from`) points: the file index and the JSON pointer.
    fn target(&mut self, from: usize, reference: &str) -> Result<(usize, String), String> {
        let (file_part, pointer) = match reference.split_once('#') {
            Some((f, p)) => (f, p.to_owned()),
            None => (reference, String::new()),
        };
        if file_part.is_empty() {
            return Ok((from, pointer));
        }
        if file_part.contains("://") {
            return Err(format!(
                "$ref {reference:?}: remote references are not followed (only this document \
                 and files beside it)"
            ));
        }
        let decoded = percent_encoding::percent_decode_str(file_part).decode_utf8_lossy();
        let base = self.files[from]
            .0
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let path = base.join(decoded.as_ref());
        let key = path.canonicalize().unwrap_or_else(|_| path.clone());
        if let Some(&i) = self.by_path.get(&key) {
            return Ok((i, pointer));
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("$ref {reference:?}: cannot read {}: {e}", path.display()))?;
        let value = parse_text(&path, &text).map_err(|e| {
            let at = e.at.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default();
            format!("$ref {reference:?}: {}{at}: {}", path.display(), e.message)
        })?;
        self.files.push((key.clone(), Arc::new(value)));
        self.by_path.insert(key, self.files.len() - 1);
        Ok((self.files.len() - 1, pointer))
    }

    fn lookup(&self, file: usize, pointer: &str) -> Option<&Value> {
        let doc = &self.files[file].1;
        if pointer.is_empty() {
            return Some(doc);
        }
        let decoded = percent_encoding::percent_decode_str(pointer).decode_utf8_lossy();
        doc.pointer(&decoded)
    }

    /// Follows `$ref`s from `value` (in file `file`) to a non-reference object: a copy of it
    /// and the file it is in. Used for everything but schemas (parameters, responses,
    /// request bodies, examples, headers).
    pub fn deref<'v>(
        &mut self,
        value: &'v Value,
        file: usize,
    ) -> Result<(Cow<'v, Value>, usize), String> {
        if value.get("$ref").is_none() {
            return Ok((Cow::Borrowed(value), file));
        }
        let mut current = (value.clone(), file);
        for _ in 0..32 {
            let Some(reference) = current.0.get("$ref").and_then(Value::as_str) else {
                return Ok((Cow::Owned(current.0), current.1));
            };
            let reference = reference.to_owned();
            let (f, pointer) = self.target(current.1, &reference)?;
            let found = self
                .lookup(f, &pointer)
                .ok_or_else(|| format!("$ref {reference:?} points at nothing"))?
                .clone();
            current = (found, f);
        }
        Err("$ref chain longer than 32 steps (a reference cycle?)".into())
    }

    /// Converts the schema `schema` found in file `file` into the 2020-12 dialect, its
    /// `$ref`s pointing into the table.
    pub fn schema(&mut self, schema: &Value, file: usize) -> Value {
        self.convert(schema, file)
    }

    fn def_for(&mut self, from: usize, reference: &str) -> Option<usize> {
        let (file, pointer) = match self.target(from, reference) {
            Ok(t) => t,
            Err(e) => {
                self.problems.push(e);
                return None;
            }
        };
        let key = (file, pointer);
        if let Some(&i) = self.def_by_target.get(&key) {
            return Some(i);
        }
        let Some(raw) = self.lookup(file, &key.1).cloned() else {
            self.problems
                .push(format!("$ref {reference:?} points at nothing"));
            return None;
        };
        let index = self.defs.len();
        self.defs.push(Value::Bool(true));
        self.def_by_target.insert(key, index);
        let converted = self.convert(&raw, file);
        self.defs[index] = converted;
        Some(index)
    }

    fn convert(&mut self, schema: &Value, file: usize) -> Value {
        let Value::Object(obj) = schema else {
            return schema.clone();
        };
        let mut out = Map::with_capacity(obj.len());
        if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
            match self.def_for(file, reference) {
                Some(i) => out.insert("$ref".into(), Value::String(def_ref(i))),
                // An unresolvable reference accepts anything (it is reported).
                None => None,
            };
            if self.is30 {
                // 3.0: siblings of `$ref` are ignored.
                return Value::Object(out);
            }
        }
        for (key, value) in obj {
            match key.as_str() {
                "$ref" => {}
                "properties" | "patternProperties" | "$defs" | "definitions"
                | "dependentSchemas" => {
                    let converted = match value {
                        Value::Object(m) => Value::Object(
                            m.iter()
                                .map(|(k, v)| (k.clone(), self.convert(v, file)))
                                .collect(),
                        ),
                        other => other.clone(),
                    };
                    out.insert(key.clone(), converted);
                }
                "items"
                | "additionalProperties"
                | "not"
                | "contains"
                | "propertyNames"
                | "if"
                | "then"
                | "else"
                | "unevaluatedProperties"
                | "unevaluatedItems"
                | "additionalItems" => {
                    let converted = match value {
                        Value::Array(items) => {
                            Value::Array(items.iter().map(|v| self.convert(v, file)).collect())
                        }
                        other => self.convert(other, file),
                    };
                    out.insert(key.clone(), converted);
                }
                "allOf" | "anyOf" | "oneOf" | "prefixItems" => {
                    let converted = match value {
                        Value::Array(items) => {
                            Value::Array(items.iter().map(|v| self.convert(v, file)).collect())
                        }
                        other => other.clone(),
                    };
                    out.insert(key.clone(), converted);
                }
                "$schema" | "$id" => {}
                _ => {
                    out.insert(key.clone(), value.clone());
                }
            }
        }
        if self.is30 {
            convert_30(&mut out);
        }
        Value::Object(out)
    }

    /// Follows a converted `$ref` to its table entry.
    pub fn resolve<'a>(&'a self, schema: &'a Value) -> &'a Value {
        let mut current = schema;
        for _ in 0..32 {
            match current
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(def_index)
                .and_then(|i| self.defs.get(i))
            {
                Some(next) if current.as_object().is_some_and(|m| m.len() == 1) => current = next,
                _ => return current,
            }
        }
        current
    }
}

/// Table indexes `schema` refers to.
pub fn collect_refs(schema: &Value, out: &mut Vec<usize>) {
    match schema {
        Value::Object(m) => {
            for (k, v) in m {
                match k.as_str() {
                    "$ref" => {
                        if let Some(i) = v.as_str().and_then(def_index) {
                            out.push(i);
                        }
                    }
                    "enum" | "const" | "example" | "examples" | "default" => {}
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// OpenAPI 3.0's schema dialect, rewritten as 2020-12 (in place).
fn convert_30(out: &mut Map<String, Value>) {
    for (flag, bound) in [
        ("exclusiveMinimum", "minimum"),
        ("exclusiveMaximum", "maximum"),
    ] {
        if let Some(Value::Bool(exclusive)) = out.get(flag).cloned() {
            out.remove(flag);
            if exclusive && let Some(limit) = out.remove(bound) {
                out.insert(flag.into(), limit);
            }
        }
    }
    if out.remove("nullable") == Some(Value::Bool(true)) {
        match out.get("type").cloned() {
            Some(Value::String(t)) => {
                out.insert(
                    "type".into(),
                    Value::Array(vec![Value::String(t), Value::String("null".into())]),
                );
                if let Some(Value::Array(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
            }
            _ => {
                // No single type (a composition, or no type): null or the schema.
                let rest = std::mem::take(out);
                let mut null = Map::new();
                null.insert("type".into(), Value::String("null".into()));
                out.insert(
                    "anyOf".into(),
                    Value::Array(vec![Value::Object(null), Value::Object(rest)]),
                );
            }
        }
    }
}
