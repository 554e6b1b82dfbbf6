//! An OpenAPI document → one compiled scenario: each operation a route (method and whole-path
//! match, `servers[0]`'s path as a prefix) whose answer carries the compiled [`Operation`];
//! each path also gets a lowest-priority route answering other methods with `405` and
//! `Allow`.
//!
//! Ordering: every spec route sits below every native and WireMock route (scenario routes
//! win); among spec routes, a path with more literal segments is tried first, so `/pets/mine`
//! wins over `/pets/{id}`. Examples are checked against their schemas here: one that does
//! not validate is a warning naming it and the failing keyword, and is not served by default.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use actix_http::StatusCode;
use actix_http::header::{self, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::{Map, Value};

use super::generate::{Generator, Side};
use super::operation::{
    In, Media, Operation, Param, RequestBody, Response, Shape, essence, serialize,
};
use super::schema::Checker;
use super::source::{Docs, parse_text};
use crate::scenario::compiled::{
    Answers, CompiledResponse, CompiledRoute, CompiledScenario, ExpectRule, MethodMatcher,
    MethodPattern, PathMatcher, PathTemplate, RequestMatcher,
};
use crate::scenario::ctx::{Ctx, Origin};
use crate::scenario::diag::{Diagnostic, JsonPath};
use crate::scenario::path_regex::PathRegex;

/// Priority of spec routes: below any route a scenario file can declare.
pub const BASE_PRIORITY: i64 = i64::MIN / 4;
/// Priority of the `405` routes: below every spec operation.
const METHOD_NOT_ALLOWED_PRIORITY: i64 = BASE_PRIORITY - 1_000_000;

/// The methods an OpenAPI path item can hold, in the order `Allow` lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// One operation as the compiler found it, for `openapi import` too.
pub struct Found {
    /// `get`, `post`, …
    pub method: &'static str,
    /// The path template with the server prefix (`/v1/pets/{id}`).
    pub template: String,
    /// The route id.
    pub id: String,
    /// The compiled operation.
    pub operation: Arc<Operation>,
}

/// What compiling a spec produced.
pub struct Compiled {
    /// The operations, in document order.
    pub operations: Vec<Found>,
    /// Each path template with the methods it declares (for `405`).
    pub paths: Vec<(String, Vec<&'static str>)>,
    /// Files read besides the document.
    pub other_files: Vec<std::path::PathBuf>,
    /// The document, as JSON.
    pub document: Arc<Value>,
}

/// Parses and compiles the spec whose text and origin are known.
pub fn compile_source(origin: &Origin<'_>) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let mut cx = Ctx::new(origin);
    let compiled = compile_spec(&mut cx);
    let name = scenario_name(&origin.default_name);
    let Some(compiled) = compiled.filter(|_| cx.diags.is_empty()) else {
        return Err(finish(cx.diags, origin));
    };
    let mut routes = Vec::new();
    for found in &compiled.operations {
        routes.push(operation_route(&name, found, routes.len()));
    }
    for (template, methods) in &compiled.paths {
        routes.push(method_not_allowed_route(
            &name,
            template,
            methods,
            routes.len(),
        ));
    }
    Ok(CompiledScenario {
        name,
        description: compiled
            .document
            .pointer("/info/title")
            .and_then(Value::as_str)
            .map(|t| format!("OpenAPI: {t}")),
        file: origin.relative.clone(),
        initial_state: "started".into(),
        routes,
        source: origin.source.into(),
        reads_files: true,
        warnings: finish(cx.warnings, origin),
        depends_on: compiled.other_files,
    })
}

/// `petstore.openapi` → `petstore`.
pub fn scenario_name(default_name: &str) -> String {
    default_name
        .strip_suffix(".openapi")
        .unwrap_or(default_name)
        .to_owned()
}

/// Diagnostics in the order of the document.
fn finish(mut diags: Vec<Diagnostic>, _origin: &Origin<'_>) -> Vec<Diagnostic> {
    diags.sort_by_key(|d| (d.line, d.column));
    diags
}

/// Compiles the spec in `cx`'s origin; `None` (with diagnostics) when it cannot be read.
pub(crate) fn compile_spec(cx: &mut Ctx<'_>) -> Option<Compiled> {
    let origin = cx.origin;
    let root = JsonPath::root();
    let doc = match parse_text(origin.display, origin.source) {
        Ok(v) => v,
        Err(e) => {
            let mut d = Diagnostic::file_level(origin.display, e.message);
            if let Some((l, c)) = e.at {
                d.line = Some(l);
                d.column = Some(c);
            }
            cx.diags.push(d);
            return None;
        }
    };
    match doc.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0") || v.starts_with("3.1") => {}
        Some(v) => {
            cx.error(
                &root.key("openapi"),
                format!("OpenAPI {v} is not supported: understudy reads 3.0 and 3.1 documents"),
            );
            return None;
        }
        None => {
            cx.error(
                &root,
                "not an OpenAPI document: it has no \"openapi\" version string at the top",
            );
            return None;
        }
    }
    let mut docs = Docs::new(origin.display, doc);
    let doc = docs.main();
    let prefix = server_prefix(&doc);
    let mut pending = Vec::new();
    let mut paths_out = Vec::new();
    let mut ids = HashSet::new();
    let empty = Map::new();
    let paths = doc
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (template, item) in paths {
        let at = root.key("paths").key(template);
        if !template.starts_with('/') {
            cx.error(&at, format!("path {template:?} must start with \"/\""));
            continue;
        }
        let (item, item_file) = match docs.deref(item, 0) {
            Ok(found) => found,
            Err(e) => {
                cx.error(&at, e);
                continue;
            }
        };
        let full = format!("{prefix}{template}");
        let mut methods = Vec::new();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            methods.push(method);
            let op_at = at.key(method);
            let mut id = op
                .get("operationId")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{} {template}", method.to_uppercase()));
            while !ids.insert(id.clone()) {
                id.push('\'');
            }
            let ctx = OpCtx {
                method,
                template: &full,
                item: &item,
                item_file,
            };
            let operation = compile_operation(cx, &mut docs, &ctx, op, &op_at);
            pending.push((method, full.clone(), id, operation));
        }
        paths_out.push((full, methods));
    }
    for problem in std::mem::take(&mut docs.problems) {
        cx.error(&root, problem);
    }
    let other_files = docs.other_files();
    // One schema table, shared by every operation (for random bodies).
    let defs = Arc::new(std::mem::take(&mut docs.defs));
    let operations = pending
        .into_iter()
        .map(|(method, template, id, mut operation)| {
            operation.defs = defs.clone();
            Found {
                method,
                template,
                id,
                operation: Arc::new(operation),
            }
        })
        .collect();
    Some(Compiled {
        operations,
        paths: paths_out,
        other_files,
        document: doc,
    })
}

/// The path of `servers[0].url` (variables replaced by their defaults), without a trailing
/// `/`; empty for none.
fn server_prefix(doc: &Value) -> String {
    let Some(server) = doc.pointer("/servers/0") else {
        return String::new();
    };
    let mut url = server
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    if let Some(vars) = server.get("variables").and_then(Value::as_object) {
        for (name, var) in vars {
            let default = var.get("default").and_then(Value::as_str).unwrap_or("");
            url = url.replace(&format!("{{{name}}}"), default);
        }
    }
    let path = match url.find("://") {
        Some(i) => {
            let rest = &url[i + 3..];
            rest.find('/').map_or("", |j| &rest[j..])
        }
        None => url.as_str(),
    };
    let path = path.split(['?', '#']).next().unwrap_or("");
    path.trim_end_matches('/').to_owned()
}

struct OpCtx<'a> {
    method: &'static str,
    template: &'a str,
    item: &'a Value,
    item_file: usize,
}

fn compile_operation(
    cx: &mut Ctx<'_>,
    docs: &mut Docs,
    ctx: &OpCtx<'_>,
    op: &Value,
    at: &JsonPath,
) -> Operation {
    let file = ctx.item_file;
    let validate = cx.origin.limits.openapi_validate;
    let (path, _, path_names) = path_matcher(ctx.template);

    // Parameters: the path item's, overridden by the operation's (same name and place).
    let mut params: Vec<Param> = Vec::new();
    let lists = [
        (
            ctx.item.get("parameters"),
            at.truncated(at.segments().len() - 1),
        ),
        (op.get("parameters"), at.clone()),
    ];
    for (list, list_at) in lists {
        let Some(Value::Array(list)) = list else {
            continue;
        };
        for (i, p) in list.iter().enumerate() {
            let p_at = list_at.key("parameters").index(i);
            let (p, p_file) = match docs.deref(p, file) {
                Ok(found) => found,
                Err(e) => {
                    cx.error(&p_at, e);
                    continue;
                }
            };
            if let Some(param) = compile_param(cx, docs, &p, p_file, &p_at) {
                params.retain(|q| !(q.name == param.name && q.location == param.location));
                params.push(param);
            }
        }
    }
    // Path variables the document forgot to declare still match one segment.
    let body = op.get("requestBody").and_then(|b| {
        let b_at = at.key("requestBody");
        let (b, b_file) = match docs.deref(b, file) {
            Ok(found) => found,
            Err(e) => {
                cx.error(&b_at, e);
                return None;
            }
        };
        let required = b.get("required") == Some(&Value::Bool(true));
        let mut media = Vec::new();
        if let Some(content) = b.get("content").and_then(Value::as_object) {
            for (mt, m) in content {
                let checker = m
                    .get("schema")
                    .filter(|_| is_json(mt))
                    .map(|s| Checker::new(docs.schema(s, b_file), Side::Request));
                media.push((mt.clone(), checker));
            }
        }
        Some(RequestBody { required, media })
    });

    let mut responses = Vec::new();
    if let Some(rs) = op.get("responses").and_then(Value::as_object) {
        for (key, r) in rs {
            let r_at = at.key("responses").key(key);
            let status = match status_of(key) {
                Some(s) => s,
                None => {
                    cx.error(
                        &r_at,
                        format!("{key:?} is not a status code, a range such as 2XX, or default"),
                    );
                    continue;
                }
            };
            let (r, r_file) = match docs.deref(r, file) {
                Ok(found) => found,
                Err(e) => {
                    cx.error(&r_at, e);
                    continue;
                }
            };
            responses.push(compile_response(cx, docs, key, status, &r, r_file, &r_at));
        }
    }
    let code = |r: &Response| r.status.as_u16();
    let default_response = responses
        .iter()
        .enumerate()
        .filter(|(_, r)| r.key != "default" && (200..300).contains(&code(r)))
        .min_by_key(|(_, r)| (code(r), r.key.contains('X')))
        .map(|(i, _)| i)
        .or_else(|| responses.iter().position(|r| r.key == "default"))
        .or_else(|| {
            responses
                .iter()
                .enumerate()
                .min_by_key(|(_, r)| code(r))
                .map(|(i, _)| i)
        });
    let find = |key: &str| responses.iter().position(|r| r.key == key);
    // The spec's own answer to a bad request: its 422, else its 400 (else understudy's 422).
    let invalid_response = find("422").or_else(|| find("400"));
    Operation {
        name: format!("{} {}", ctx.method.to_uppercase(), ctx.template),
        path,
        path_names,
        params,
        body,
        responses,
        default_response,
        invalid_response,
        validate,
        defs: Arc::default(),
    }
}

/// The status a response key answers with by default: `404` → 404, `2XX` → 200,
/// `default` → 200.
fn status_of(key: &str) -> Option<StatusCode> {
    if key == "default" {
        return Some(StatusCode::OK);
    }
    let upper = key.to_ascii_uppercase();
    if let Some(class) = upper.strip_suffix("XX") {
        let c: u16 = class.parse().ok()?;
        return StatusCode::from_u16(c * 100)
            .ok()
            .filter(|_| (1..=5).contains(&c));
    }
    let n: u16 = key.parse().ok()?;
    StatusCode::from_u16(n)
        .ok()
        .filter(|_| (100..=599).contains(&n))
}

/// Whether a media type carries JSON.
fn is_json(media_type: &str) -> bool {
    let e = essence(media_type);
    e == "application/json" || e.ends_with("+json") || e == "*/*" || e == "application/*"
}

fn compile_param(
    cx: &mut Ctx<'_>,
    docs: &mut Docs,
    p: &Value,
    file: usize,
    at: &JsonPath,
) -> Option<Param> {
    let name = p.get("name").and_then(Value::as_str)?;
    let location = match p.get("in").and_then(Value::as_str)? {
        "path" => In::Path,
        "query" => In::Query,
        "header" => In::Header,
        "cookie" => In::Cookie,
        other => {
            cx.error(
                &at.key("in"),
                format!("{other:?} is not a parameter location"),
            );
            return None;
        }
    };
    if location == In::Header
        && ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str())
    {
        // OpenAPI: such header parameters are ignored.
        return None;
    }
    let schema = p.get("schema").cloned().or_else(|| {
        p.get("content")
            .and_then(Value::as_object)
            .and_then(|c| c.values().next())
            .and_then(|m| m.get("schema").cloned())
    });
    let converted = schema.map(|s| docs.schema(&s, file));
    let shape = converted
        .as_ref()
        .map(|s| shape_of(docs, s))
        .unwrap_or_default();
    let checker = converted.map(|s| Checker::new(s, Side::Request));
    let style_form = p
        .get("style")
        .and_then(Value::as_str)
        .is_none_or(|s| s == "form");
    Some(Param {
        name: if location == In::Header {
            name.to_ascii_lowercase()
        } else {
            name.to_owned()
        },
        location,
        required: location == In::Path || p.get("required") == Some(&Value::Bool(true)),
        explode: p
            .get("explode")
            .and_then(Value::as_bool)
            .unwrap_or(style_form),
        shape,
        checker,
    })
}

fn types_of(schema: &Value) -> Vec<String> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => {
            let mut out = Vec::new();
            for key in ["anyOf", "oneOf", "allOf"] {
                if let Some(Value::Array(bs)) = schema.get(key) {
                    for b in bs {
                        out.extend(types_of(b));
                    }
                }
            }
            out
        }
    }
}

fn shape_of(docs: &Docs, schema: &Value) -> Shape {
    let s = docs.resolve(schema);
    let types = types_of(s);
    let item_types = s
        .get("items")
        .map(|i| types_of(docs.resolve(i)))
        .unwrap_or_default();
    Shape { types, item_types }
}

/// The default answer's body of a media type and the warnings about its examples.
#[allow(clippy::too_many_arguments)]
fn compile_response(
    cx: &mut Ctx<'_>,
    docs: &mut Docs,
    key: &str,
    status: StatusCode,
    r: &Value,
    file: usize,
    at: &JsonPath,
) -> Response {
    let mut headers = Vec::new();
    if let Some(hs) = r.get("headers").and_then(Value::as_object) {
        for (name, h) in hs {
            if name.eq_ignore_ascii_case("content-type") {
                continue;
            }
            let Ok(h_name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            let Ok((h, h_file)) = docs.deref(h, file) else {
                continue;
            };
            let value = h.get("example").cloned().or_else(|| {
                let schema = h.get("schema")?;
                let converted = docs.schema(schema, h_file);
                let mut g = Generator::new(&docs.defs, None, Side::Response);
                Some(g.value(&converted))
            });
            let text = match value {
                Some(Value::String(s)) => s,
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(","),
                Some(Value::Object(_)) | Some(Value::Null) | None => continue,
                Some(other) => other.to_string(),
            };
            if let Ok(v) = HeaderValue::from_str(&text) {
                headers.push((h_name, v));
            }
        }
    }
    let mut media = Vec::new();
    if let Some(content) = r.get("content").and_then(Value::as_object) {
        for (mt, m) in content {
            let m_at = at.key("content").key(mt);
            media.push(compile_media(cx, docs, mt, m, file, &m_at));
        }
    }
    Response {
        key: key.to_owned(),
        status,
        headers,
        media,
    }
}

fn compile_media(
    cx: &mut Ctx<'_>,
    docs: &mut Docs,
    media_type: &str,
    m: &Value,
    file: usize,
    at: &JsonPath,
) -> Media {
    let json = is_json(media_type);
    let schema = m.get("schema").map(|s| docs.schema(s, file));
    let checker = schema.clone().map(|s| Checker::new(s, Side::Response));
    // Examples are checked now (compiling the validator); without examples nothing is
    // compiled or generated until a request needs it.
    let check = |cx: &mut Ctx<'_>, defs: &[Value], value: &Value, what: &str, where_: &JsonPath| {
        let Some(v) = checker.as_ref().and_then(|c| c.get(defs)) else {
            return true;
        };
        let errors: Vec<String> = v
            .iter_errors(value)
            .take(3)
            .map(|e| {
                let pointer = e.instance_path().to_string();
                let place = if pointer.is_empty() {
                    String::new()
                } else {
                    format!(" at {pointer}")
                };
                format!("{e} (keyword {}{place})", e.kind().keyword())
            })
            .collect();
        if errors.is_empty() {
            return true;
        }
        cx.warn(
            where_,
            format!(
                "{what} does not validate against its schema and is not served by default: {}",
                errors.join("; ")
            ),
        );
        false
    };

    let mut candidates: Vec<Value> = Vec::new();
    if let Some(e) = m.get("example")
        && check(cx, &docs.defs, e, "example", &at.key("example"))
    {
        candidates.push(e.clone());
    }
    let mut examples = Vec::new();
    if let Some(ex) = m.get("examples").and_then(Value::as_object) {
        for (name, e) in ex {
            let e_at = at.key("examples").key(name);
            let (e, _) = match docs.deref(e, file) {
                Ok(found) => found,
                Err(err) => {
                    cx.error(&e_at, err);
                    continue;
                }
            };
            let Some(value) = e.get("value") else {
                continue;
            };
            if check(
                cx,
                &docs.defs,
                value,
                &format!("example {name:?}"),
                &e_at.key("value"),
            ) {
                candidates.push(value.clone());
            }
            examples.push((name.clone(), serialize(value, json)));
        }
    }
    if let Some(s) = &schema {
        let resolved = docs.resolve(s);
        let schema_example = resolved.get("example").cloned().or_else(|| {
            resolved
                .get("examples")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .cloned()
        });
        if let Some(e) = schema_example
            && check(
                cx,
                &docs.defs,
                &e,
                "the schema's example",
                &at.key("schema"),
            )
        {
            candidates.push(e);
        }
    }
    let default_body = OnceLock::new();
    if let Some(v) = candidates.into_iter().next() {
        let _ = default_body.set(serialize(&v, json));
    } else if schema.is_none() {
        let _ = default_body.set(Bytes::new());
    }
    let essence_ = essence(media_type);
    let concrete = if essence_.contains('*') {
        if json {
            "application/json"
        } else {
            "application/octet-stream"
        }
        .to_owned()
    } else {
        media_type.to_owned()
    };
    Media {
        media_type: media_type.to_owned(),
        essence: essence_,
        content_type: HeaderValue::from_str(&concrete)
            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        json,
        default_body,
        examples,
        checker,
    }
}

/// The unanchored regex of a template and its variable names.
pub fn path_pattern(template: &str) -> (String, Vec<String>) {
    let mut pattern = String::new();
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        pattern.push_str(&regex::escape(&rest[..open]));
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                names.push(after[..close].to_owned());
                pattern.push_str("([^/]+)");
                rest = &after[close + 1..];
            }
            None => {
                pattern.push_str(&regex::escape(&rest[open..]));
                rest = "";
            }
        }
    }
    pattern.push_str(&regex::escape(rest));
    (pattern, names)
}

/// Segments of a template with no variable in them.
pub fn literal_segments(template: &str) -> i64 {
    template
        .split('/')
        .filter(|s| !s.is_empty() && !s.contains('{'))
        .count() as i64
}

/// The matcher of a template: a literal, a [`PathTemplate`] when every variable is a whole
/// segment (no regex to build), else a regex; the unanchored pattern; the variable names.
fn path_matcher(template: &str) -> (PathMatcher, String, Vec<String>) {
    let (pattern, names) = path_pattern(template);
    let anchored = format!("^(?:{pattern})$");
    let literal = || PathMatcher::Literal(template.into());
    if names.is_empty() {
        return (literal(), pattern, names);
    }
    let segments: Option<Vec<Option<Box<str>>>> = template.strip_prefix('/').and_then(|rest| {
        rest.split('/')
            .map(|s| {
                if !s.contains(['{', '}']) {
                    Some(Some(s.into()))
                } else if s.starts_with('{')
                    && s.ends_with('}')
                    && s.matches('{').count() == 1
                    && s.matches('}').count() == 1
                {
                    Some(None)
                } else {
                    None
                }
            })
            .collect()
    });
    let matcher = match segments {
        Some(segments) => PathMatcher::Template(PathTemplate {
            segments,
            anchored: anchored.clone().into(),
        }),
        None => regex::Regex::new(&anchored)
            .map(|re| PathMatcher::Regex(Box::new(PathRegex::built(re))))
            .unwrap_or_else(|_| literal()),
    };
    (matcher, pattern, names)
}

fn static_response(
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    openapi: Option<Arc<Operation>>,
) -> CompiledResponse {
    CompiledResponse {
        status,
        reason: crate::scenario::default_reason(status),
        headers,
        connection: None,
        body,
        template: None,
        hbs: None,
        delay: None,
        chunks: None,
        fault: None,
        informational: None,
        switch: None,
        proxy: None,
        disk: None,
        openapi,
    }
}

fn operation_route(scenario: &str, found: &Found, index: usize) -> CompiledRoute {
    let path = found.operation.path.clone();
    let method = found.method.to_uppercase();
    spec_route(
        scenario,
        &found.id,
        index,
        BASE_PRIORITY + literal_segments(&found.template),
        RequestMatcher {
            method: Some(MethodMatcher::new(MethodPattern::Literal(method.into()))),
            path: Some(path),
            ..RequestMatcher::default()
        },
        static_response(
            StatusCode::OK,
            Vec::new(),
            Bytes::new(),
            Some(found.operation.clone()),
        ),
    )
}

/// A route of a spec: one answer, no states, the default `Expect` handling.
fn spec_route(
    scenario: &str,
    id: &str,
    index: usize,
    priority: i64,
    matcher: RequestMatcher,
    answer: CompiledResponse,
) -> CompiledRoute {
    CompiledRoute {
        full_name: format!("{scenario}/{id}").into(),
        id_at: scenario.len() + 1,
        index,
        priority,
        added: 0,
        matcher,
        scope: None,
        when_state: None,
        set_state: None,
        answers: Answers::One(answer),
        expect: ExpectRule::Continue,
    }
}

fn method_not_allowed_route(
    scenario: &str,
    template: &str,
    methods: &[&str],
    index: usize,
) -> CompiledRoute {
    let (path, _, _) = path_matcher(template);
    let mut allow: Vec<String> = methods.iter().map(|m| m.to_uppercase()).collect();
    if allow.iter().any(|m| m == "GET") && !allow.iter().any(|m| m == "HEAD") {
        allow.push("HEAD".into());
    }
    let allow = allow.join(", ");
    let body = serde_json::json!({
        "title": "Method Not Allowed",
        "status": 405,
        "errors": [{"in": "method", "name": "method",
                    "message": format!("{template} allows {allow}")}],
    });
    let mut headers = vec![(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    )];
    if let Ok(v) = HeaderValue::from_str(&allow) {
        headers.push((header::ALLOW, v));
    }
    spec_route(
        scenario,
        &format!("405 {template}"),
        index,
        METHOD_NOT_ALLOWED_PRIORITY + literal_segments(template),
        RequestMatcher {
            path: Some(path),
            ..RequestMatcher::default()
        },
        static_response(
            StatusCode::METHOD_NOT_ALLOWED,
            headers,
            Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
            None,
        ),
    )
}
