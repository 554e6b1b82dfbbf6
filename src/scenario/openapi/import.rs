//! `understudy openapi import SPEC`: a spec's routes written as an editable native scenario
//! file, its answers inlined: each operation answers its default response (the lowest 2xx,
//! its first media type, the body `serve` would send), `Prefer: example=NAME` and
//! `Prefer: code=N` are routes matching that header, and other methods on a declared path
//! get `405` with `Allow`. Request validation and `Prefer: dynamic=true` stay with `serve
//! --openapi`: a scenario file answers what it says.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use super::compile::{Found, compile_spec, literal_segments, path_pattern};
use super::operation::{Media, Response};
use crate::scenario::ctx::{Ctx, Limits, Origin};
use crate::scenario::diag::Diagnostic;

/// The native scenario document (pretty JSON) for the spec at `path`, or what keeps it from
/// loading.
pub fn import(path: &Path) -> Result<String, Vec<Diagnostic>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::file_level(
            path,
            format!("cannot read file: {e}"),
        )]
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let origin = Origin {
        display: path,
        source: &text,
        root: None,
        dir: &dir,
        default_name: String::new(),
        relative: None,
        limits: Limits::default(),
    };
    let mut cx = Ctx::new(&origin);
    let compiled = compile_spec(&mut cx);
    let Some(compiled) = compiled.filter(|_| cx.diags.is_empty()) else {
        return Err(cx.diags);
    };
    for w in &cx.warnings {
        eprintln!("{w}");
    }
    let mut routes = Vec::new();
    for found in &compiled.operations {
        routes.extend(operation_routes(found));
    }
    for (template, methods) in &compiled.paths {
        let mut allow: Vec<String> = methods.iter().map(|m| m.to_uppercase()).collect();
        if allow.iter().any(|m| m == "GET") && !allow.iter().any(|m| m == "HEAD") {
            allow.push("HEAD".into());
        }
        let allow = allow.join(", ");
        routes.push(json!({
            "id": format!("405 {template}"),
            "priority": -1000 + literal_segments(template),
            "request": {"path": path_pattern(template).0},
            "response": {
                "status": 405,
                "headers": {"Allow": allow, "Content-Type": "application/problem+json"},
                "json": {"title": "Method Not Allowed", "status": 405,
                         "errors": [{"in": "method", "name": "method",
                                     "message": format!("{template} allows {allow}")}]},
            },
        }));
    }
    let title = compiled
        .document
        .pointer("/info/title")
        .and_then(Value::as_str)
        .unwrap_or("an OpenAPI document");
    let doc = json!({
        "description": format!("Imported from {} ({title}) by understudy openapi import", path.display()),
        "routes": routes,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    Ok(out)
}

fn operation_routes(found: &Found) -> Vec<Value> {
    let op = &found.operation;
    let priority = literal_segments(&found.template);
    let request = json!({
        "method": found.method.to_uppercase(),
        "path": path_pattern(&found.template).0,
    });
    let mut out = Vec::new();
    let with_prefer = |preference: &str| {
        let mut r = request.clone();
        if let Value::Object(m) = &mut r {
            m.insert(
                "headers".into(),
                json!({ "prefer": format!("(?i).*\\b{}\\b.*", regex::escape(preference)) }),
            );
        }
        r
    };
    if let Some(resp) = op.default_response.map(|i| &op.responses[i])
        && let Some(media) = resp.media.first()
    {
        for (name, body) in &media.examples {
            out.push(json!({
                "id": format!("{} example={name}", found.id),
                "priority": 1000 + priority,
                "request": with_prefer(&format!("example={name}")),
                "response": answer(resp, Some(media), resp.status.as_u16(), body),
            }));
        }
    }
    for resp in &op.responses {
        if resp.key.contains(['X', 'x']) || resp.key == "default" {
            continue;
        }
        let media = resp.media.first();
        let body = media.map(|m| op.default_body(m)).unwrap_or_default();
        out.push(json!({
            "id": format!("{} code={}", found.id, resp.key),
            "priority": 500 + priority,
            "request": with_prefer(&format!("code={}", resp.key)),
            "response": answer(resp, media, resp.status.as_u16(), &body),
        }));
    }
    let main = match op.default_response.map(|i| &op.responses[i]) {
        Some(resp) => {
            let media = resp.media.first();
            let body = media.map(|m| op.default_body(m)).unwrap_or_default();
            answer(resp, media, resp.status.as_u16(), &body)
        }
        None => json!({"status": 200}),
    };
    out.push(json!({
        "id": found.id,
        "priority": priority,
        "request": request,
        "response": main,
    }));
    out
}

fn answer(resp: &Response, media: Option<&Media>, status: u16, body: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("status".into(), json!(status));
    let mut headers = Map::new();
    for (k, v) in &resp.headers {
        headers.insert(
            k.as_str().to_owned(),
            Value::String(String::from_utf8_lossy(v.as_bytes()).into_owned()),
        );
    }
    if let Some(media) = media {
        headers.insert(
            "Content-Type".into(),
            Value::String(String::from_utf8_lossy(media.content_type.as_bytes()).into_owned()),
        );
        match serde_json::from_slice::<Value>(body) {
            Ok(v) if media.json => {
                m.insert("json".into(), v);
            }
            _ => {
                m.insert(
                    "body".into(),
                    Value::String(String::from_utf8_lossy(body).into_owned()),
                );
            }
        }
    }
    if !headers.is_empty() {
        m.insert("headers".into(), Value::Object(headers));
    }
    Value::Object(m)
}
