//! Template compiling and rendering: any template gives a syntax error, a render error or
//! text, never a panic, and fuel stops runaway loops.
//!
//! Input format: the template, then optionally a line `---` and the request body (which is
//! also `request.json` when it parses). When the template text is itself JSON, it is also
//! compiled the way a `json` body is (every string a template, `"{{ expr }}"` keeping the
//! value's JSON type) and rendered.
#![no_main]

use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use understudy::internals::scenario::diag::JsonPath;
use understudy::internals::scenario::template::{BodyTemplate, Context, TemplateBuilder};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (source, body) = text.split_once("\n---\n").unwrap_or((text, ""));

    let mut headers = HeaderMap::new();
    headers.append(
        HeaderName::from_static("content-type"),
        HeaderValue::from_static("application/json"),
    );
    headers.append(
        HeaderName::from_static("x-multi"),
        HeaderValue::from_static("one"),
    );
    headers.append(
        HeaderName::from_static("x-multi"),
        HeaderValue::from_static("two"),
    );
    let query = vec![
        ("page".to_owned(), "2".to_owned()),
        ("q".to_owned(), "shoes & socks".to_owned()),
    ];
    let json: Option<Value> = serde_json::from_str(body).ok();
    let mut path_params = Map::new();
    path_params.insert("cart".into(), Value::String("42".into()));
    let ctx = Context {
        method: "POST",
        path: "/carts/42/items",
        query: &query,
        headers: &headers,
        body: body.as_bytes(),
        json: json.as_ref(),
        path_params,
        state: "start".into(),
    }
    .to_value();

    let mut builder = TemplateBuilder::default();
    let text_name = builder.add(source).ok();
    let json_body = serde_json::from_str::<Value>(source)
        .ok()
        .and_then(|v| builder.json(&v, &JsonPath::default()).ok());
    let header = HeaderName::from_static("x-rendered");
    let headers_t = text_name
        .iter()
        .map(|n| (header.clone(), n.clone()))
        .collect();
    let template = builder.finish(headers_t, json_body.map(BodyTemplate::Json));
    if let Some(name) = &text_name {
        let _ = template.render(name, &ctx);
    }
    if let Some(BodyTemplate::Json(t)) = &template.body {
        let _ = template.render_json(t, &ctx);
    }
});
