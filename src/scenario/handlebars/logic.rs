//! `eq`, `neq`, `gt`, `gte`, `lt`, `lte`: Handlebars.java's equality and `compareTo`, and the
//! `yes=`/`no=` values the conditional helpers return.

use handlebars::{Helper, RenderError};
use serde_json::Value as Json;

use super::error::fail;
use super::values::java_display;

pub(super) fn yes_no(h: &Helper<'_>, result: bool) -> Json {
    let key = if result { "yes" } else { "no" };
    match h.hash_get(key) {
        Some(p) => p.value().clone(),
        None => Json::Bool(result),
    }
}

pub(super) fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.is_f64() == y.is_f64() && x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// Handlebars.java's `compareTo`, falling back to numbers when the types differ.
pub(super) fn compare(a: &Json, b: &Json) -> Result<std::cmp::Ordering, RenderError> {
    match (a, b) {
        (Json::String(x), Json::String(y)) => Ok(x.encode_utf16().cmp(y.encode_utf16())),
        (Json::Bool(x), Json::Bool(y)) => Ok(x.cmp(y)),
        _ => {
            let num = |v: &Json| match v {
                Json::Number(n) => n.as_f64(),
                Json::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            match (num(a), num(b)) {
                (Some(x), Some(y)) => Ok(x.total_cmp(&y)),
                _ => Err(fail(format!(
                    "cannot compare {} with {}",
                    java_display(a, true),
                    java_display(b, true)
                ))),
            }
        }
    }
}
