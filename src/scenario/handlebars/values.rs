//! Values as WireMock (Java) reads and renders them: Java's `toString`, Jackson's printer,
//! Handlebars.java's truthiness, helper arguments and hash options, and in-place errors.

use handlebars::{Helper, JsonRender, PathAndJson};
use serde_json::Value as Json;

use super::dates::DateValue;
use super::fuel::with_state;
use super::model::{is_list_or_single, is_path_object};

/// Java's `toString` of a value: lists `[a, b]`, maps `{k=v}`, null as `null` inside them.
pub(super) fn java_display(v: &Json, top: bool) -> String {
    match v {
        Json::Null if top => String::new(),
        Json::Null => "null".to_owned(),
        Json::String(s) => s.clone(),
        Json::Array(items) => {
            let parts: Vec<String> = items.iter().map(|i| java_display(i, false)).collect();
            format!("[{}]", parts.join(", "))
        }
        Json::Object(m) => {
            if let Some(d) = DateValue::from_json(v) {
                return d.render().unwrap_or_default();
            }
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", java_display(v, false)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => other.render(),
    }
}

/// How a helper argument reads as a string (Java's `toString` of what WireMock passes).
pub(super) fn arg_string(p: &PathAndJson<'_>) -> String {
    let v = p.value();
    if let Some(cp) = p.context_path() {
        if is_path_object(cp) {
            return with_state(|s| s.path.clone()).unwrap_or_default();
        }
        if is_list_or_single(cp)
            && let Json::Array(a) = v
        {
            return a.first().map(|f| java_display(f, true)).unwrap_or_default();
        }
    }
    java_display(v, true)
}

/// Jackson's default pretty printer (WireMock's `Json.write`).
fn jackson_pretty(v: &Json, indent: usize, out: &mut String) {
    match v {
        Json::Object(m) if m.is_empty() => out.push_str("{ }"),
        Json::Object(m) => {
            out.push('{');
            for (i, (k, val)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push('\n');
                out.push_str(&"  ".repeat(indent + 1));
                out.push_str(&Json::String(k.clone()).to_string());
                out.push_str(" : ");
                jackson_pretty(val, indent + 1, out);
            }
            out.push('\n');
            out.push_str(&"  ".repeat(indent));
            out.push('}');
        }
        Json::Array(a) if a.is_empty() => out.push_str("[ ]"),
        Json::Array(a) => {
            out.push_str("[ ");
            for (i, val) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                jackson_pretty(val, indent, out);
            }
            out.push_str(" ]");
        }
        other => out.push_str(&other.to_string()),
    }
}

pub(super) fn jackson_write(v: &Json) -> String {
    let mut s = String::new();
    jackson_pretty(v, 0, &mut s);
    s
}

/// Handlebars.java's truthiness (`Handlebars.Utils.isEmpty` negated).
pub(super) fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(_) => true,
    }
}

pub(super) fn as_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(super) fn hash_bool(h: &Helper<'_>, key: &str) -> Option<bool> {
    h.hash_get(key).and_then(|p| match p.value() {
        Json::Bool(b) => Some(*b),
        _ => None,
    })
}

pub(super) fn hash_str(h: &Helper<'_>, key: &str) -> Option<String> {
    h.hash_get(key).and_then(|p| match p.value() {
        Json::Null => None,
        _ => Some(arg_string(p)),
    })
}
