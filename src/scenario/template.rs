//! Response templates (MiniJinja): parsed once at load, rendered per request, bounded by fuel.
//!
//! A response with `"template": true` has its header values and its body rendered against
//! the request. In a `json` body every string is a template; a string that is exactly one
//! expression (`"{{ request.json.qty }}"`) renders as the JSON value of that expression (a
//! number stays a number, an object an object); any other string renders as a string.
//!
//! Context: `request.method`, `request.path`, `request.query.NAME` (first value),
//! `request.headers.NAME` (lower-case name, first value), `request.body` (text),
//! `request.json` (the body parsed as JSON, or none), `path.NAME` (named groups of the route's
//! path regex), `state` (the scenario's state when the request arrived). Functions: `now()`
//! (RFC 3339 UTC), `uuid()` (v4), `random_int(a, b)` (inclusive).

use std::sync::Arc;

use minijinja::value::Value as MjValue;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};
use serde_json::{Map, Value};

use crate::scenario::diag::JsonPath;

/// Default fuel per render (`--template-fuel`): enough for any reasonable response, a hard
/// stop for runaway loops. Each server sets its own ([`crate::scenario::load::Limits`]).
pub const FUEL: u64 = 1_000_000;

/// A JSON body with templated strings.
#[derive(Debug)]
pub enum JsonTemplate {
    /// A value with nothing to render.
    Literal(Value),
    /// A string rendered as a string.
    Text(String),
    /// A string that is exactly one expression, rendered as its JSON value.
    Expr(String),
    /// An array.
    Array(Vec<JsonTemplate>),
    /// An object (keys are not templated).
    Object(Vec<(String, JsonTemplate)>),
}

/// The templated body of a response.
#[derive(Debug)]
pub enum BodyTemplate {
    /// A text body (`body`): the template name.
    Text(String),
    /// A `json` body.
    Json(JsonTemplate),
}

/// The compiled templates of one response.
pub struct ResponseTemplate {
    env: Environment<'static>,
    /// Header name → template name, in order.
    pub headers: Vec<(actix_http::header::HeaderName, String)>,
    /// The body, if it has one.
    pub body: Option<BodyTemplate>,
}

impl std::fmt::Debug for ResponseTemplate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseTemplate")
            .field("headers", &self.headers)
            .field("body", &self.body)
            .finish()
    }
}

/// Builds a response template, one template string at a time.
pub struct TemplateBuilder {
    env: Environment<'static>,
    next: usize,
}

impl Default for TemplateBuilder {
    /// A builder with the default fuel, [`FUEL`].
    fn default() -> Self {
        Self::new(FUEL)
    }
}

impl TemplateBuilder {
    /// An environment with understudy's functions, no auto-escaping, and `fuel` per render
    /// (at least 1): the fuel of the server whose scenario this is.
    pub fn new(fuel: u64) -> Self {
        let mut env = Environment::new();
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_fuel(Some(fuel.max(1)));
        // A body ends exactly as written; Jinja's default would drop one trailing newline.
        #[allow(clippy::expect_used)] // invariant: a constant config with the default delimiters
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .keep_trailing_newline(true)
                .build()
                .expect("the default delimiters are valid"),
        );
        env.set_recursion_limit(64);
        env.set_formatter(|out, state, value| {
            // JSON spellings for booleans and none, JSON for containers; strings as they are.
            match value.kind() {
                minijinja::value::ValueKind::Bool => {
                    out.write_str(if value.is_true() { "true" } else { "false" })?
                }
                minijinja::value::ValueKind::None => {}
                minijinja::value::ValueKind::Seq | minijinja::value::ValueKind::Map => {
                    let text = serde_json::to_string(value).unwrap_or_default();
                    out.write_str(&text)?;
                }
                _ => minijinja::escape_formatter(out, state, value)?,
            }
            Ok(())
        });
        env.add_filter("format", format_filter);
        env.add_function("now", || {
            humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
        });
        env.add_function("uuid", || uuid::Uuid::new_v4().to_string());
        env.add_function(
            "random_int",
            |a: i64, b: i64| -> Result<i64, minijinja::Error> {
                if a > b {
                    return Err(minijinja::Error::new(
                        minijinja::ErrorKind::InvalidOperation,
                        format!("random_int({a}, {b}): the first bound must not exceed the second"),
                    ));
                }
                Ok(fastrand::i64(a..=b))
            },
        );
        TemplateBuilder { env, next: 0 }
    }

    /// Adds a template string; returns its name, or the syntax error.
    pub fn add(&mut self, source: &str) -> Result<String, String> {
        let name = format!("t{}", self.next);
        self.next += 1;
        self.env
            .add_template_owned(name.clone(), source.to_owned())
            .map_err(describe)?;
        Ok(name)
    }

    /// Compiles a JSON body: every string a template, whole expressions as JSON values.
    /// A syntax error comes back with the JSON path of its string (relative to `at`).
    pub fn json(
        &mut self,
        value: &Value,
        at: &JsonPath,
    ) -> Result<JsonTemplate, (JsonPath, String)> {
        Ok(match value {
            Value::String(s) if !has_tags(s) => JsonTemplate::Literal(value.clone()),
            Value::String(s) => {
                let compiled = match whole_expression(s) {
                    Some(expr) => self
                        .add(&format!("{{{{ ({expr}) | tojson }}}}"))
                        .map(JsonTemplate::Expr),
                    None => self.add(s).map(JsonTemplate::Text),
                };
                compiled.map_err(|err| (at.clone(), err))?
            }
            Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| self.json(v, &at.index(i)))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => JsonTemplate::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.json(v, &at.key(k))?)))
                    .collect::<Result<_, (JsonPath, String)>>()?,
            ),
            other => JsonTemplate::Literal(other.clone()),
        })
    }

    /// The finished template set.
    pub fn finish(
        self,
        headers: Vec<(actix_http::header::HeaderName, String)>,
        body: Option<BodyTemplate>,
    ) -> Arc<ResponseTemplate> {
        Arc::new(ResponseTemplate {
            env: self.env,
            headers,
            body,
        })
    }
}

/// MiniJinja's `format` filter, minus a panic: minijinja 3.1 walks a printf `%(key)` byte by
/// byte and panics on a non-ASCII key (found by `fuzz/template`; a request body used as the
/// format string could reach it). Such a key is an error instead.
fn format_filter(
    state: &mut minijinja::State,
    format: &MjValue,
    args: minijinja::value::Rest<minijinja::value::ValueOrKwargs>,
) -> Result<MjValue, minijinja::Error> {
    if format.as_str().is_some_and(has_non_ascii_key) {
        return Err(minijinja::Error::new(
            minijinja::ErrorKind::InvalidOperation,
            "format: a %(key) must be ASCII",
        ));
    }
    minijinja::filters::format(state, format, args)
}

/// Whether a printf-style string has a `%(key` with a non-ASCII byte before its `)`.
fn has_non_ascii_key(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            match b.get(i + 1) {
                Some(b'%') => i += 1,
                Some(b'(') => {
                    let key = b[i + 2..].split(|&c| c == b')').next().unwrap_or_default();
                    if !key.is_ascii() {
                        return true;
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    false
}

/// Whether a string opens a MiniJinja tag (`{{`, `{%` or `{#`); one that does not renders as
/// itself, so it needs no template. Every string that does is compiled, so a syntax error
/// (such as a comment never closed) is a load error, as it is in a `body`.
fn has_tags(s: &str) -> bool {
    s.contains("{{") || s.contains("{%") || s.contains("{#")
}

/// `{{ expr }}` with nothing around it and no other tags → `expr`.
fn whole_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.trim_start_matches('-').trim_end_matches('-');
    (!inner.contains("{{") && !inner.contains("}}") && !inner.contains("{%"))
        .then_some(inner.trim())
}

impl ResponseTemplate {
    /// Renders the template called `name`.
    pub fn render(&self, name: &str, ctx: &MjValue) -> Result<String, String> {
        let tmpl = self.env.get_template(name).map_err(describe)?;
        tmpl.render(ctx).map_err(describe)
    }

    /// Renders a JSON body template into a JSON value.
    pub fn render_json(&self, t: &JsonTemplate, ctx: &MjValue) -> Result<Value, String> {
        Ok(match t {
            JsonTemplate::Literal(v) => v.clone(),
            JsonTemplate::Text(name) => Value::String(self.render(name, ctx)?),
            JsonTemplate::Expr(name) => {
                let text = self.render(name, ctx)?;
                serde_json::from_str(&text).unwrap_or(Value::String(text))
            }
            JsonTemplate::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.render_json(i, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            JsonTemplate::Object(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert(k.clone(), self.render_json(v, ctx)?);
                }
                Value::Object(map)
            }
        })
    }
}

/// The render context for one request.
pub struct Context<'a> {
    /// Method as sent.
    pub method: &'a str,
    /// Path as sent.
    pub path: &'a str,
    /// Decoded query pairs.
    pub query: &'a [(String, String)],
    /// Request headers.
    pub headers: &'a actix_http::header::HeaderMap,
    /// The body.
    pub body: &'a [u8],
    /// The body as JSON, if it is JSON.
    pub json: Option<&'a Value>,
    /// Named groups of the route's path regex.
    pub path_params: Map<String, Value>,
    /// The scenario's state when the request arrived.
    pub state: String,
}

impl Context<'_> {
    /// The MiniJinja value of this context (built straight from borrowed parts: one copy).
    pub fn to_value(&self) -> MjValue {
        let mut query = indexmap::IndexMap::new();
        for (k, v) in self.query {
            query.entry(k.as_str()).or_insert(v.as_str());
        }
        let mut headers = indexmap::IndexMap::new();
        for (k, v) in self.headers.iter() {
            headers
                .entry(k.as_str())
                .or_insert_with(|| String::from_utf8_lossy(v.as_bytes()));
        }
        MjValue::from(minijinja::value::Serde(Root {
            request: Request {
                method: self.method,
                path: self.path,
                query,
                headers,
                body: String::from_utf8_lossy(self.body),
                json: self.json,
            },
            path: &self.path_params,
            state: &self.state,
        }))
    }
}

#[derive(serde::Serialize)]
struct Root<'a> {
    request: Request<'a>,
    path: &'a Map<String, Value>,
    state: &'a str,
}

#[derive(serde::Serialize)]
struct Request<'a> {
    method: &'a str,
    path: &'a str,
    query: indexmap::IndexMap<&'a str, &'a str>,
    headers: indexmap::IndexMap<&'a str, std::borrow::Cow<'a, str>>,
    body: std::borrow::Cow<'a, str>,
    json: Option<&'a Value>,
}

/// One line for a MiniJinja error, with its template line when known.
fn describe(err: minijinja::Error) -> String {
    let mut msg = err.kind().to_string();
    if let Some(detail) = err.detail() {
        msg.push_str(": ");
        msg.push_str(detail);
    }
    if let Some(line) = err.line() {
        msg.push_str(&format!(" (template line {line})"));
    }
    msg
}
