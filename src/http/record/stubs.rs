//! Recorded routes as WireMock stub mappings, for WireMock's `recordings/stop` answer. A `responses` script becomes a WireMock scenario named
//! after the route, one stub per answer (`Started`, `step-2`, …; the last stays).

use std::path::Path;

use base64::Engine as _;
use serde_json::{Map, Value, json};

/// Most stubs one route's script becomes.
const MAX_STEPS: usize = 100;

/// Largest `file` body sent inline (`base64Body`); larger ones are named in the stub's
/// `metadata.understudyFile` instead.
const MAX_INLINE_FILE: u64 = 4 * 1024 * 1024;

/// The stubs of `routes`, written into the recording `into` (its folder holds `file` bodies).
pub fn as_stubs(routes: &[Value], into: &Path) -> Vec<Value> {
    let folder = into.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    for route in routes {
        let request = request(&route["request"]);
        let id = route["id"].as_str().unwrap_or("recorded");
        let steps: Vec<&Value> = match route["responses"].as_array() {
            Some(script) => script
                .iter()
                .flat_map(|r| {
                    let n = r["repeat"].as_u64().unwrap_or(1) as usize;
                    std::iter::repeat_n(r, n.min(MAX_STEPS))
                })
                .take(MAX_STEPS)
                .collect(),
            None => vec![&route["response"]],
        };
        let scripted = steps.len() > 1;
        for (i, step) in steps.iter().enumerate() {
            let mut stub = Map::new();
            stub.insert(
                "id".into(),
                Value::String(uuid::Uuid::new_v4().hyphenated().to_string()),
            );
            stub.insert("name".into(), Value::String(id.to_owned()));
            stub.insert("request".into(), request.clone());
            let (answer, large) = response(step, folder);
            stub.insert("response".into(), answer);
            if let Some(path) = large {
                stub.insert("metadata".into(), json!({ "understudyFile": path }));
            }
            if scripted {
                stub.insert("scenarioName".into(), Value::String(id.to_owned()));
                let state = |n: usize| match n {
                    0 => "Started".to_owned(),
                    n => format!("step-{}", n + 1),
                };
                stub.insert("requiredScenarioState".into(), Value::String(state(i)));
                if i + 1 < steps.len() {
                    stub.insert("newScenarioState".into(), Value::String(state(i + 1)));
                }
            }
            out.push(Value::Object(stub));
        }
    }
    out
}

fn request(matcher: &Value) -> Value {
    let mut out = Map::new();
    if let Some(method) = matcher["method"].as_str() {
        out.insert("method".into(), Value::String(method.replace('\\', "")));
    }
    if let Some(path) = matcher["path"].as_str() {
        out.insert("urlPathPattern".into(), Value::String(path.to_owned()));
    }
    let patterns = |m: &Value| -> Map<String, Value> {
        m.as_object()
            .map(|o| {
                o.iter()
                    .map(|(k, v)| {
                        let p = match v.as_str() {
                            Some(re) => json!({ "matches": re }),
                            None => json!({ "absent": true }),
                        };
                        (k.clone(), p)
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let query = patterns(&matcher["query"]);
    if !query.is_empty() {
        out.insert("queryParameters".into(), Value::Object(query));
    }
    let headers = patterns(&matcher["headers"]);
    if !headers.is_empty() {
        out.insert("headers".into(), Value::Object(headers));
    }
    if let Some(body) = matcher["body"].as_str() {
        out.insert("bodyPatterns".into(), json!([{ "matches": body }]));
    }
    Value::Object(out)
}

/// The stub response of a native one, and the path of its `file` body when that is too large
/// to send inline.
fn response(native: &Value, folder: &Path) -> (Value, Option<String>) {
    let mut out = Map::new();
    out.insert("status".into(), native["status"].clone());
    if let Some(headers) = native.get("headers") {
        out.insert("headers".into(), headers.clone());
    }
    if let Some(json) = native.get("json") {
        out.insert("jsonBody".into(), json.clone());
    }
    if let Some(body) = native.get("body") {
        out.insert("body".into(), body.clone());
    }
    let mut large = None;
    if let Some(file) = native["file"].as_str() {
        let path = folder.join(file);
        let small = std::fs::metadata(&path).is_ok_and(|m| m.len() <= MAX_INLINE_FILE);
        if !small {
            // Too large to answer inline (the answer would hold it whole, base64 on top):
            // the recorded file serves it, and the stub names it.
            large = Some(path.to_string_lossy().into_owned());
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.insert(
                "base64Body".into(),
                Value::String(base64::engine::general_purpose::STANDARD.encode(bytes)),
            );
        }
    }
    if let Some(delay) = native.get("delayMs") {
        out.insert("fixedDelayMilliseconds".into(), delay.clone());
    }
    (Value::Object(out), large)
}
