//! WireMock-style response templates: the Handlebars dialect of WireMock 3.13's
//! `response-template` transformer, rendered on the `handlebars` crate.
//!
//! This module owns the dialect: the request model (`request.url`, `request.path`,
//! `request.path.[n]` / `request.pathSegments.[n]`, named path parameters `request.path.NAME`,
//! `request.query.NAME`, `request.headers.NAME`, `request.cookies.NAME`, `request.method`,
//! `request.body`, `request.baseUrl`, `request.scheme`, `request.host`, `request.port`), the
//! WireMock helpers and their rendering, and the fuel that bounds a render. It knows nothing
//! about scenarios or sockets: the caller hands it a [`HbsRequest`] and gets a string.
//!
//! Choices, made to match WireMock 3.13.2:
//! - **No HTML escaping.** WireMock 3 builds its engine with `templateEscapingDisabled = true`
//!   (the default of both `WireMockConfiguration` and the standalone command line), so
//!   `{{x}}` and `{{{x}}}` both render the value as is.
//! - **Lenient lookups.** A missing value renders as nothing (strict mode off), and a name
//!   missing from the current block's context is looked up in the enclosing ones, as
//!   Handlebars.java does (`{{#each items}}{{request.method}}{{/each}}`).
//! - **Multi-valued fields** (`request.query.NAME`, `request.headers.NAME`,
//!   `request.cookies.NAME`, and a `regexExtract` variable) are lists that render as their
//!   first value (WireMock's `ListOrSingle`); `.[i]` picks the i-th, `each` and `size` see the
//!   list. `request.path` renders as the whole path and indexes as its segments.
//! - **Header names** are case-insensitive: the model keys them in lower case, and a template
//!   path `request.headers.NAME` is lower-cased when parsed (so `{{#each request.headers}}`
//!   shows lower-case names, where WireMock shows them as sent).
//! - **Helper errors** render in place as `[ERROR: message]`, as WireMock's do; an error that
//!   WireMock raises as an exception (bad time zone, `randomInt` bounds, division by zero)
//!   fails the render.
//! - **Variables** set by `regexExtract`, `parseJson` and `assign` are found by name at the
//!   template's top level (`{{parts.0}}`), and inside blocks too: references to a name that
//!   the template assigns are resolved from the variables, not the context.
//! - **Dates** with no `timezone` render in UTC (WireMock uses the JVM's zone, UTC in its
//!   Docker image).
//! - Partials and decorators (`{{> p}}`, `{{#*inline}}`) are refused at parse time: WireMock
//!   registers none, and a recursive inline partial could not be bounded.
//!
//! **Fuel**: one unit per helper call (WireMock helpers, built-in block helpers excepted) and
//! per rendered `{{value}}`, plus one unit per started 16 bytes written to the output and per
//! started 16 characters a helper generates (`randomValue`'s length is charged before it is
//! generated). A render that runs out stops with an error.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::OnceLock;

use base64::Engine as _;
use handlebars::template::{Parameter, Subexpression, TemplateElement};
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, JsonRender, Output, Path, PathAndJson,
    PathSeg, RenderContext, RenderError, RenderErrorReason, Renderable, ScopedJson, Template,
};
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};
use serde_json::{Map, Value as Json};

/// One parsed template: a header value or a body.
#[derive(Debug, Clone)]
pub struct HbsTemplate {
    template: Template,
}

/// WireMock's request model, borrowed from the request being answered.
#[derive(Debug, Clone, Copy)]
pub struct HbsRequest<'a> {
    /// Path, plus `?` and the query when there is one.
    pub url: &'a str,
    /// The path, as received.
    pub path: &'a str,
    /// Named path parameters (WireMock's `urlPathTemplate`); may be empty.
    pub path_params: &'a [(String, String)],
    /// Decoded query pairs; a key may repeat.
    pub query: &'a [(String, String)],
    /// Header names as sent; lookups are case-insensitive.
    pub headers: &'a [(String, String)],
    /// Cookie pairs.
    pub cookies: &'a [(String, String)],
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The body as text.
    pub body: &'a str,
    /// e.g. `http://127.0.0.1:8080`.
    pub base_url: &'a str,
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbsError {
    /// 1-based line inside the template, when known.
    pub line: Option<usize>,
    /// 1-based column inside the template, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HbsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for HbsError {}

const OUT: &str = "__wm_out";
const VAR: &str = "__wm_var";
const DATE_KEY: &str = "__wm_date__";
const OUT_OF_FUEL: &str = "template ran out of fuel";

impl HbsTemplate {
    /// Parses `text` as a WireMock response template.
    pub fn parse(text: &str) -> Result<HbsTemplate, HbsError> {
        let mut template = Template::compile(text).map_err(|e| {
            let (line, column) = e.pos().map_or((None, None), |(l, c)| (Some(l), Some(c)));
            HbsError {
                line,
                column,
                message: e.reason().to_string(),
            }
        })?;
        let mut vars = HashSet::new();
        collect_vars(&template, &mut vars);
        rewrite_template(&mut template, &vars)?;
        Ok(HbsTemplate { template })
    }

    /// Renders against `req` with `fuel` units (see the module doc); errors are messages.
    pub fn render(&self, req: &HbsRequest<'_>, fuel: u64) -> Result<String, String> {
        let ctx = Context::from(request_model(req));
        let _guard = StateGuard::install(RenderState {
            fuel,
            exhausted: false,
            path: req.path.to_owned(),
            vars: HashMap::new(),
        });
        let registry = registry();
        let mut rc = RenderContext::new(None);
        rc.set_recursive_lookup(true);
        let mut out = FuelOutput { buf: String::new() };
        let result = self.template.render(registry, &ctx, &mut rc, &mut out);
        let exhausted = with_state(|s| s.exhausted).unwrap_or(false);
        match result {
            Ok(()) if !exhausted => Ok(out.buf),
            _ if exhausted => Err(format!("{OUT_OF_FUEL} ({fuel} units)")),
            Err(e) => Err(render_error_message(&e)),
            Ok(()) => Ok(out.buf),
        }
    }
}

fn render_error_message(e: &RenderError) -> String {
    let reason = match e.reason() {
        RenderErrorReason::Other(m) => m.clone(),
        RenderErrorReason::NestedError(inner) => inner.to_string(),
        other => other.to_string(),
    };
    match (e.line_no, e.column_no) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: {reason}"),
        _ => reason,
    }
}

// ---------------------------------------------------------------------------------------------
// Render state: fuel and variables, per thread for the length of one render.

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum VarKind {
    /// `regexExtract` groups: a list that renders as its first value.
    List,
    /// `parseJson` and `assign`: a value.
    Value,
}

struct RenderState {
    fuel: u64,
    exhausted: bool,
    path: String,
    vars: HashMap<String, (VarKind, Json)>,
}

thread_local! {
    static STATE: RefCell<Option<RenderState>> = const { RefCell::new(None) };
}

struct StateGuard {
    previous: Option<RenderState>,
}

impl StateGuard {
    fn install(state: RenderState) -> StateGuard {
        let previous = STATE.with(|s| s.borrow_mut().replace(state));
        StateGuard { previous }
    }
}

impl Drop for StateGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        STATE.with(|s| *s.borrow_mut() = previous);
    }
}

fn with_state<R>(f: impl FnOnce(&mut RenderState) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Takes `units` of fuel; an error once none is left.
fn charge(units: u64) -> Result<(), RenderError> {
    let ok = with_state(|s| {
        if s.exhausted || s.fuel < units {
            s.fuel = 0;
            s.exhausted = true;
            false
        } else {
            s.fuel -= units;
            true
        }
    })
    .unwrap_or(true);
    if ok {
        Ok(())
    } else {
        Err(RenderErrorReason::Other(OUT_OF_FUEL.to_owned()).into())
    }
}

fn bytes_units(len: usize) -> u64 {
    (len as u64).div_ceil(16)
}

struct FuelOutput {
    buf: String,
}

impl Output for FuelOutput {
    fn write(&mut self, seg: &str) -> Result<(), std::io::Error> {
        if charge(bytes_units(seg.len())).is_err() {
            return Err(std::io::Error::other(OUT_OF_FUEL));
        }
        self.buf.push_str(seg);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The request model.

fn request_model(req: &HbsRequest<'_>) -> Json {
    let segments: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let path = if req.path_params.is_empty() {
        Json::Array(segments.iter().map(|s| Json::from(*s)).collect())
    } else {
        let mut m = Map::new();
        for (i, s) in segments.iter().enumerate() {
            m.insert(i.to_string(), Json::from(*s));
        }
        for (k, v) in req.path_params {
            m.insert(k.clone(), Json::from(v.as_str()));
        }
        Json::Object(m)
    };
    let multi = |pairs: &[(String, String)], lower: bool| {
        let mut m = Map::new();
        for (k, v) in pairs {
            let key = if lower {
                k.to_ascii_lowercase()
            } else {
                k.clone()
            };
            if let Json::Array(a) = m.entry(key).or_insert_with(|| Json::Array(Vec::new())) {
                a.push(Json::from(v.as_str()));
            }
        }
        Json::Object(m)
    };
    let (scheme, rest) = req
        .base_url
        .split_once("://")
        .unwrap_or(("http", req.base_url));
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) && !p.is_empty() => {
            (h, p.parse::<u64>().unwrap_or(0))
        }
        _ => (rest, if scheme == "https" { 443 } else { 80 }),
    };
    let mut r = Map::new();
    r.insert("url".into(), Json::from(req.url));
    r.insert("path".into(), path.clone());
    r.insert("pathSegments".into(), path);
    r.insert("query".into(), multi(req.query, false));
    r.insert("headers".into(), multi(req.headers, true));
    r.insert("cookies".into(), multi(req.cookies, false));
    r.insert("method".into(), Json::from(req.method));
    r.insert("body".into(), Json::from(req.body));
    r.insert("baseUrl".into(), Json::from(req.base_url));
    r.insert("scheme".into(), Json::from(scheme));
    r.insert("host".into(), Json::from(host));
    r.insert("port".into(), Json::from(port));
    let mut root = Map::new();
    root.insert("request".into(), Json::Object(r));
    Json::Object(root)
}

/// Whether `path` (absolute, from the root) names one of WireMock's `ListOrSingle` fields.
fn is_list_or_single(path: &[String]) -> bool {
    path.len() == 3
        && path[0] == "request"
        && matches!(path[1].as_str(), "query" | "headers" | "cookies")
}

fn is_path_object(path: &[String]) -> bool {
    path.len() == 2 && path[0] == "request" && (path[1] == "path" || path[1] == "pathSegments")
}

// ---------------------------------------------------------------------------------------------
// Parse-time rewriting: plain `{{value}}` expressions go through `__wm_out` (which knows the
// WireMock rendering of lists, paths and dates), references to assigned variables through
// `__wm_var`, and `request.headers.NAME` is lower-cased.

fn literal_str(p: Option<&Parameter>) -> Option<String> {
    match p {
        Some(Parameter::Literal(Json::String(s))) => Some(s.clone()),
        _ => None,
    }
}

fn name_of(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(Path::Relative((segs, _))) if segs.len() == 1 => match &segs[0] {
            PathSeg::Named(n) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn collect_vars(t: &Template, vars: &mut HashSet<String>) {
    for el in &t.elements {
        let ht = match el {
            TemplateElement::Expression(ht)
            | TemplateElement::HtmlExpression(ht)
            | TemplateElement::HelperBlock(ht) => ht,
            _ => continue,
        };
        let var = match name_of(&ht.name).as_deref() {
            Some("regexExtract") => literal_str(ht.params.get(2)),
            Some("parseJson") if ht.block => literal_str(ht.params.first()),
            Some("parseJson") => literal_str(ht.params.get(1)),
            Some("assign") => literal_str(ht.params.first()),
            _ => None,
        };
        vars.extend(var);
        if let Some(t) = &ht.template {
            collect_vars(t, vars);
        }
        if let Some(t) = &ht.inverse {
            collect_vars(t, vars);
        }
    }
}

fn rewrite_template(t: &mut Template, vars: &HashSet<String>) -> Result<(), HbsError> {
    for (i, el) in t.elements.iter_mut().enumerate() {
        match el {
            TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                if ht.params.is_empty() && ht.hash.is_empty() && !ht.block {
                    let is_helper = name_of(&ht.name).is_some_and(|n| helper_exists(&n));
                    if !is_helper {
                        let path = match &ht.name {
                            Parameter::Path(p) => Some(p.clone()),
                            Parameter::Name(n) => Path::parse(n).ok(),
                            _ => None,
                        };
                        if let Some(path) = path {
                            let path = fix_path(path);
                            if let Some(var_params) = var_params(&path, vars) {
                                ht.name = Parameter::Name(VAR.to_owned());
                                ht.params = var_params;
                            } else {
                                ht.name = Parameter::Name(OUT.to_owned());
                                ht.params = vec![Parameter::Path(path)];
                            }
                        }
                    }
                } else {
                    rewrite_args(&mut ht.params, &mut ht.hash, vars);
                }
            }
            TemplateElement::HelperBlock(ht) => {
                rewrite_args(&mut ht.params, &mut ht.hash, vars);
                if let Some(t) = &mut ht.template {
                    rewrite_template(t, vars)?;
                }
                if let Some(t) = &mut ht.inverse {
                    rewrite_template(t, vars)?;
                }
            }
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            _ => {
                let (line, column) = t
                    .mapping
                    .get(i)
                    .map_or((None, None), |m| (Some(m.0), Some(m.1)));
                return Err(HbsError {
                    line,
                    column,
                    message: "partials and decorators are not supported in WireMock templates"
                        .to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn rewrite_args(
    params: &mut [Parameter],
    hash: &mut HashMap<String, Parameter>,
    vars: &HashSet<String>,
) {
    for p in params.iter_mut().chain(hash.values_mut()) {
        rewrite_param(p, vars);
    }
}

fn rewrite_param(p: &mut Parameter, vars: &HashSet<String>) {
    match p {
        Parameter::Path(path) => {
            let fixed = fix_path(path.clone());
            *p = match var_params(&fixed, vars) {
                Some(vp) => Parameter::Subexpression(Subexpression::new(
                    Parameter::Name(VAR.to_owned()),
                    vp,
                    HashMap::new(),
                )),
                None => Parameter::Path(fixed),
            };
        }
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(ht) = sub.element.as_mut() {
                rewrite_args(&mut ht.params, &mut ht.hash, vars);
            }
        }
        _ => {}
    }
}

/// `request…` anchored at the root (Handlebars.java finds `request` from inside any block, as
/// it looks names up in the enclosing contexts), and `request.headers.NAME…` with NAME
/// lower-cased.
fn fix_path(path: Path) -> Path {
    let path = match &path {
        Path::Relative((segs, raw)) if matches!(segs.first(), Some(PathSeg::Named(s)) if s == "request") => {
            Path::parse(&format!("@root.{raw}")).unwrap_or(path)
        }
        _ => path,
    };
    match path {
        Path::Relative((mut segs, raw)) => {
            let start = segs
                .iter()
                .take(2)
                .position(|s| matches!(s, PathSeg::Named(n) if n == "request"));
            if let Some(k) = start
                && matches!(segs.get(k + 1), Some(PathSeg::Named(s)) if s == "headers")
                && let Some(PathSeg::Named(name)) = segs.get_mut(k + 2)
            {
                *name = name.to_ascii_lowercase();
            }
            Path::Relative((segs, raw))
        }
        other => other,
    }
}

/// `[name, seg…]` literals when `path` starts with an assigned variable's name.
fn var_params(path: &Path, vars: &HashSet<String>) -> Option<Vec<Parameter>> {
    let Path::Relative((segs, _)) = path else {
        return None;
    };
    let mut out = Vec::with_capacity(segs.len());
    for seg in segs {
        match seg {
            PathSeg::Named(n) => out.push(Parameter::Literal(Json::String(n.clone()))),
            _ => return None,
        }
    }
    match out.first() {
        Some(Parameter::Literal(Json::String(n))) if vars.contains(n) => Some(out),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering values as WireMock (Java) does.

/// Java's `toString` of a value: lists `[a, b]`, maps `{k=v}`, null as `null` inside them.
fn java_display(v: &Json, top: bool) -> String {
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
fn arg_string(p: &PathAndJson<'_>) -> String {
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

fn jackson_write(v: &Json) -> String {
    let mut s = String::new();
    jackson_pretty(v, 0, &mut s);
    s
}

fn wm_error(msg: impl fmt::Display) -> Json {
    Json::String(format!("[ERROR: {msg}]"))
}

fn fail(msg: impl Into<String>) -> RenderError {
    RenderErrorReason::Other(msg.into()).into()
}

/// Handlebars.java's truthiness (`Handlebars.Utils.isEmpty` negated).
fn truthy(v: &Json) -> bool {
    match v {
        Json::Null => false,
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Json::String(s) => !s.is_empty(),
        Json::Array(a) => !a.is_empty(),
        Json::Object(_) => true,
    }
}

fn as_i64(v: &Json) -> Option<i64> {
    match v {
        Json::Number(n) => n.as_i64().or_else(|| n.as_f64().map(|f| f as i64)),
        Json::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn hash_bool(h: &Helper<'_>, key: &str) -> Option<bool> {
    h.hash_get(key).and_then(|p| match p.value() {
        Json::Bool(b) => Some(*b),
        _ => None,
    })
}

fn hash_str(h: &Helper<'_>, key: &str) -> Option<String> {
    h.hash_get(key).and_then(|p| match p.value() {
        Json::Null => None,
        _ => Some(arg_string(p)),
    })
}

// ---------------------------------------------------------------------------------------------
// Helpers.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Out,
    Var,
    JsonPath,
    RegexExtract,
    RandomValue,
    Now,
    Date,
    ParseDate,
    Math,
    Size,
    Base64,
    UrlEncode,
    Trim,
    ParseJson,
    ToJson,
    PickRandom,
    RandomInt,
    Assign,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    And,
    Or,
    Not,
}

const HELPERS: &[(&str, Kind)] = &[
    (OUT, Kind::Out),
    (VAR, Kind::Var),
    ("jsonPath", Kind::JsonPath),
    ("regexExtract", Kind::RegexExtract),
    ("randomValue", Kind::RandomValue),
    ("now", Kind::Now),
    ("date", Kind::Date),
    ("parseDate", Kind::ParseDate),
    ("math", Kind::Math),
    ("size", Kind::Size),
    ("base64", Kind::Base64),
    ("urlEncode", Kind::UrlEncode),
    ("trim", Kind::Trim),
    ("parseJson", Kind::ParseJson),
    ("toJson", Kind::ToJson),
    ("pickRandom", Kind::PickRandom),
    ("randomInt", Kind::RandomInt),
    ("assign", Kind::Assign),
    ("eq", Kind::Eq),
    ("neq", Kind::Neq),
    ("ne", Kind::Neq),
    ("gt", Kind::Gt),
    ("gte", Kind::Gte),
    ("lt", Kind::Lt),
    ("lte", Kind::Lte),
    ("and", Kind::And),
    ("or", Kind::Or),
    ("not", Kind::Not),
];

/// Helpers the `handlebars` crate provides that this dialect keeps.
const BUILTINS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "len", "log", "raw",
];

fn helper_exists(name: &str) -> bool {
    BUILTINS.contains(&name) || HELPERS.iter().any(|(n, _)| *n == name)
}

fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        hb.set_strict_mode(false);
        // Handlebars.java looks a name up in the enclosing contexts when the current one lacks it.
        hb.set_recursive_lookup(true);
        for (name, kind) in HELPERS {
            hb.register_helper(name, Box::new(Wm(*kind)));
        }
        hb
    })
}

struct Wm(Kind);

impl Wm {
    fn is_conditional(&self) -> bool {
        matches!(
            self.0,
            Kind::Eq
                | Kind::Neq
                | Kind::Gt
                | Kind::Gte
                | Kind::Lt
                | Kind::Lte
                | Kind::And
                | Kind::Or
                | Kind::Not
        )
    }

    /// The helper's value (what a subexpression or a block sees).
    fn value<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<Json, RenderError> {
        let p0 = h.param(0);
        match self.0 {
            Kind::Out => Ok(p0.map(|p| p.value().clone()).unwrap_or(Json::Null)),
            Kind::Var => Ok(var_lookup(h).map(|(_, v)| v).unwrap_or(Json::Null)),
            Kind::JsonPath => json_path(h),
            Kind::RegexExtract => regex_extract(h),
            Kind::RandomValue => random_value(h),
            Kind::Now => date_helper(None, h),
            Kind::Date => date_helper(p0.and_then(|p| DateValue::from_json(p.value())), h),
            Kind::ParseDate => parse_date_helper(h),
            Kind::Math => math(h),
            Kind::Size => Ok(match p0.map(|p| p.value()) {
                Some(Json::String(s)) => Json::from(s.encode_utf16().count()),
                Some(Json::Array(a)) => Json::from(a.len()),
                Some(Json::Object(m))
                    if DateValue::from_json(&Json::Object(m.clone())).is_none() =>
                {
                    Json::from(m.len())
                }
                _ => Json::Null,
            }),
            Kind::Base64 => {
                let text = block_or_arg(h, r, ctx, rc)?;
                if hash_bool(h, "decode") == Some(true) {
                    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                        .decode(cleaned.trim_end_matches('='))
                        .map_err(|e| fail(format!("base64: cannot decode: {e}")))?;
                    Ok(Json::String(String::from_utf8_lossy(&bytes).into_owned()))
                } else {
                    let padding = h
                        .hash_get("padding")
                        .is_none_or(|p| p.value() == &Json::Bool(true));
                    let enc = if padding {
                        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
                    } else {
                        base64::engine::general_purpose::STANDARD_NO_PAD.encode(text.as_bytes())
                    };
                    Ok(Json::String(enc))
                }
            }
            Kind::UrlEncode => {
                let text = p0.map(arg_string).unwrap_or_default();
                if hash_bool(h, "decode") == Some(true) {
                    url_decode(&text).map(Json::String)
                } else {
                    Ok(Json::String(
                        form_urlencoded::byte_serialize(text.as_bytes()).collect(),
                    ))
                }
            }
            Kind::Trim => Ok(Json::String(block_or_arg(h, r, ctx, rc)?.trim().to_owned())),
            Kind::ParseJson => parse_json(h, r, ctx, rc),
            Kind::ToJson => Ok(match p0 {
                None => Json::String(String::new()),
                Some(p) if p.value().is_null() => Json::String(String::new()),
                Some(p) => {
                    let v = match (p.context_path(), p.value()) {
                        (Some(cp), Json::Array(a)) if is_list_or_single(cp) && a.len() == 1 => {
                            a[0].clone()
                        }
                        (_, v) => match DateValue::from_json(v) {
                            Some(d) => Json::String(d.render()?),
                            None => v.clone(),
                        },
                    };
                    Json::String(jackson_write(&v))
                }
            }),
            Kind::PickRandom => pick_random(h),
            Kind::RandomInt => {
                let lower = h.hash_get("lower").and_then(|p| as_i64(p.value()));
                let upper = h.hash_get("upper").and_then(|p| as_i64(p.value()));
                let lower = lower.unwrap_or(i64::from(i32::MIN));
                let upper = upper.unwrap_or(i64::from(i32::MAX));
                if lower >= upper {
                    return Err(fail("randomInt: bound must be greater than origin"));
                }
                Ok(Json::from(fastrand::i64(lower..upper)))
            }
            Kind::Assign => {
                let name = p0.map(arg_string).unwrap_or_default();
                let text = match h.template() {
                    Some(t) => t.renders(r, ctx, rc)?,
                    None => String::new(),
                };
                let value = Json::String(text.trim().to_owned());
                with_state(|s| s.vars.insert(name, (VarKind::Value, value)));
                Ok(Json::Null)
            }
            Kind::Eq | Kind::Neq | Kind::Gt | Kind::Gte | Kind::Lt | Kind::Lte => {
                let a = p0.map(|p| p.value().clone()).unwrap_or(Json::Null);
                let b = h.param(1).map(|p| p.value().clone()).unwrap_or(Json::Null);
                let result = match self.0 {
                    Kind::Eq => json_eq(&a, &b),
                    Kind::Neq => !json_eq(&a, &b),
                    _ => {
                        let ord = compare(&a, &b)?;
                        match self.0 {
                            Kind::Gt => ord.is_gt(),
                            Kind::Gte => ord.is_ge(),
                            Kind::Lt => ord.is_lt(),
                            _ => ord.is_le(),
                        }
                    }
                };
                Ok(yes_no(h, result))
            }
            Kind::And => Ok(yes_no(h, h.params().iter().all(|p| truthy(p.value())))),
            Kind::Or => Ok(yes_no(h, h.params().iter().any(|p| truthy(p.value())))),
            Kind::Not => Ok(yes_no(h, !p0.is_some_and(|p| truthy(p.value())))),
        }
    }

    /// How the helper's value renders in place.
    fn display(&self, h: &Helper<'_>, v: &Json) -> Result<String, RenderError> {
        Ok(match self.0 {
            Kind::Out => match h.param(0) {
                None => String::new(),
                Some(p) if p.is_value_missing() => String::new(),
                Some(p) => arg_string(p),
            },
            Kind::Var => match var_lookup(h) {
                Some((VarKind::List, Json::Array(a))) if h.params().len() == 1 => {
                    a.first().map(|f| java_display(f, true)).unwrap_or_default()
                }
                Some((_, v)) => java_display(&v, true),
                None => String::new(),
            },
            Kind::JsonPath => match v {
                Json::Array(_) => v.to_string().replace('/', "\\/"),
                Json::Object(_) => jackson_write(v),
                other => java_display(other, true),
            },
            Kind::Now | Kind::Date | Kind::ParseDate => match DateValue::from_json(v) {
                Some(d) => d.render()?,
                None => java_display(v, true),
            },
            _ => java_display(v, true),
        })
    }
}

impl HelperDef for Wm {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        charge(1)?;
        let v = self.value(h, r, ctx, rc)?;
        Ok(ScopedJson::Derived(v))
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        charge(1)?;
        if self.is_conditional() && h.is_block() {
            let v = self.value(h, r, ctx, rc)?;
            let branch = if truthy(&v) {
                h.template()
            } else {
                h.inverse()
            };
            if let Some(t) = branch {
                t.render(r, ctx, rc, out)?;
            }
            return Ok(());
        }
        let v = self.value(h, r, ctx, rc)?;
        let s = self.display(h, &v)?;
        out.write(&s)?;
        Ok(())
    }
}

fn yes_no(h: &Helper<'_>, result: bool) -> Json {
    let key = if result { "yes" } else { "no" };
    match h.hash_get(key) {
        Some(p) => p.value().clone(),
        None => Json::Bool(result),
    }
}

fn json_eq(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(i), Some(j)) => i == j,
            _ => x.is_f64() == y.is_f64() && x.as_f64() == y.as_f64(),
        },
        _ => a == b,
    }
}

/// Handlebars.java's `compareTo`, falling back to numbers when the types differ.
fn compare(a: &Json, b: &Json) -> Result<std::cmp::Ordering, RenderError> {
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

fn block_or_arg<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
) -> Result<String, RenderError> {
    if h.is_block() {
        match h.template() {
            Some(t) => t.renders(r, ctx, rc),
            None => Ok(String::new()),
        }
    } else {
        Ok(h.param(0).map(arg_string).unwrap_or_default())
    }
}

fn var_lookup(h: &Helper<'_>) -> Option<(VarKind, Json)> {
    let mut names = h.params().iter().map(|p| match p.value() {
        Json::String(s) => s.clone(),
        other => other.render(),
    });
    let first = names.next()?;
    let (kind, mut value) = with_state(|s| s.vars.get(&first).cloned()).flatten()?;
    for seg in names {
        value = match value {
            Json::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.into_iter().nth(i))?,
            Json::Object(mut m) => m.remove(&seg)?,
            _ => return None,
        };
    }
    Some((kind, value))
}

fn set_var(name: String, kind: VarKind, value: Json) {
    with_state(|s| s.vars.insert(name, (kind, value)));
}

// jsonPath --------------------------------------------------------------------------------------

fn json_path(h: &Helper<'_>) -> Result<Json, RenderError> {
    let Some(input) = h.param(0) else {
        return Ok(Json::String(String::new()));
    };
    if input.value().is_null() || input.value() == &Json::String(String::new()) {
        return Ok(Json::String(String::new()));
    }
    let Some(path_param) = h.param(1).filter(|p| !p.value().is_null()) else {
        return Ok(wm_error("The JSONPath cannot be empty"));
    };
    let raw_path = arg_string(path_param);
    let doc: Json = match input.value() {
        Json::String(s) => match serde_json::from_str(s) {
            Ok(v) => v,
            Err(_) => return Ok(wm_error(format!("{s} is not valid JSON"))),
        },
        Json::Array(_) if input.context_path().is_some_and(|cp| is_list_or_single(cp)) => {
            let s = arg_string(input);
            match serde_json::from_str(&s) {
                Ok(v) => v,
                Err(_) => return Ok(wm_error(format!("{s} is not valid JSON"))),
            }
        }
        other => other.clone(),
    };
    charge(bytes_units(doc.to_string().len()) / 4)?;
    let default = h.hash_get("default").map(|p| p.value().clone());
    let mut path = raw_path.trim().to_owned();
    if !path.starts_with('$') && !path.starts_with('@') {
        path = if path.starts_with('[') {
            format!("${path}")
        } else {
            format!("$.{path}")
        };
    }
    let mut length_fn = false;
    for suffix in [".length()", ".size()"] {
        if let Some(stripped) = path.strip_suffix(suffix) {
            path = stripped.to_owned();
            length_fn = true;
        }
    }
    let compiled = match serde_json_path::JsonPath::parse(&path) {
        Ok(p) => p,
        Err(_) => {
            return Ok(wm_error(format!(
                "{raw_path} is not a valid JSONPath expression"
            )));
        }
    };
    let nodes = compiled.query(&doc).all();
    let definite = is_definite(&path);
    let mut value = if definite {
        nodes.first().map(|v| (*v).clone())
    } else {
        Some(Json::Array(nodes.into_iter().cloned().collect()))
    };
    if length_fn {
        value = value.and_then(|v| match v {
            Json::Array(a) => Some(Json::from(a.len())),
            Json::Object(m) => Some(Json::from(m.len())),
            Json::String(s) => Some(Json::from(s.encode_utf16().count())),
            _ => None,
        });
    }
    Ok(match value {
        Some(Json::Null) | None => default.unwrap_or(Json::String(String::new())),
        Some(v) => v,
    })
}

/// Jayway's "definite path": no deep scan, wildcard, filter, union or slice.
fn is_definite(path: &str) -> bool {
    let mut in_quote: Option<char> = None;
    let mut prev = '\0';
    for c in path.chars() {
        match in_quote {
            Some(q) if c == q => in_quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => in_quote = Some(c),
                '*' | '?' | ',' | ':' => return false,
                '.' if prev == '.' => return false,
                _ => {}
            },
        }
        prev = c;
    }
    true
}

// regexExtract ----------------------------------------------------------------------------------

fn regex_extract(h: &Helper<'_>) -> Result<Json, RenderError> {
    let input = h.param(0).map(arg_string).unwrap_or_default();
    let pattern = h.param(1).map(arg_string).unwrap_or_default();
    let Ok(re) = regex::Regex::new(&pattern) else {
        return Ok(wm_error(format!("Invalid regex string {pattern}")));
    };
    charge(bytes_units(input.len()))?;
    if h.params().len() == 2
        && let Some(m) = re.find(&input)
    {
        return Ok(Json::String(m.as_str().to_owned()));
    }
    let mut groups = Vec::new();
    if h.params().len() != 2 {
        for caps in re.captures_iter(&input) {
            for i in 1..caps.len() {
                groups.push(
                    caps.get(i)
                        .map_or(Json::Null, |m| Json::String(m.as_str().to_owned())),
                );
            }
        }
    }
    if groups.is_empty() {
        return Ok(match h.hash_get("default") {
            Some(d) if !d.value().is_null() => d.value().clone(),
            _ => wm_error(format!("Nothing matched {pattern}")),
        });
    }
    let name = h.param(2).map(arg_string).unwrap_or_default();
    set_var(name, VarKind::List, Json::Array(groups));
    Ok(Json::Null)
}

// randomValue, pickRandom ---------------------------------------------------------------------

fn random_value(h: &Helper<'_>) -> Result<Json, RenderError> {
    let length = h
        .hash_get("length")
        .and_then(|p| as_i64(p.value()))
        .unwrap_or(36)
        .max(0) as usize;
    let uppercase = hash_bool(h, "uppercase").unwrap_or(false);
    let kind = hash_str(h, "type").unwrap_or_else(|| "ALPHANUMERIC".to_owned());
    let pick = |alphabet: &[u8]| -> String {
        (0..length)
            .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
            .collect()
    };
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"0123456789";
    let raw = if kind == "UUID" {
        uuid::Uuid::new_v4().to_string()
    } else {
        charge(bytes_units(length))?;
        match kind.as_str() {
            "ALPHANUMERIC" => pick(&[LETTERS, DIGITS].concat()),
            "ALPHABETIC" => pick(LETTERS),
            "NUMERIC" => pick(DIGITS),
            "ALPHANUMERIC_AND_SYMBOLS" => pick(&(33u8..126).collect::<Vec<u8>>()),
            "HEXADECIMAL" => pick(b"ABCDEF0123456789"),
            _ => pick(&(32u8..127).collect::<Vec<u8>>()),
        }
    };
    Ok(Json::String(if uppercase {
        raw.to_uppercase()
    } else {
        raw.to_lowercase()
    }))
}

fn pick_random(h: &Helper<'_>) -> Result<Json, RenderError> {
    let Some(first) = h.param(0).filter(|p| !p.value().is_null()) else {
        return Ok(wm_error(
            "Must specify either a single list argument or a set of single value arguments.",
        ));
    };
    let mut values: Vec<Json> = match first.value() {
        Json::Array(a) => a.clone(),
        _ => h.params().iter().map(|p| p.value().clone()).collect(),
    };
    if values.is_empty() {
        return Err(fail("pickRandom: nothing to pick from"));
    }
    if let Some(count) = h.hash_get("count").and_then(|p| as_i64(p.value()))
        && count > 0
    {
        let n = values.len().min(count as usize);
        for i in 0..n {
            let j = fastrand::usize(i..values.len());
            values.swap(i, j);
        }
        values.truncate(n);
        return Ok(Json::Array(values));
    }
    let i = fastrand::usize(..values.len());
    Ok(values.swap_remove(i))
}

// math ------------------------------------------------------------------------------------------

/// A `java.math.BigDecimal`: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.contains(['e', 'E']) || int.contains(['e', 'E']) {
            return None;
        }
        let digits = format!("{int}{frac}");
        let mantissa: i128 = digits.parse().ok()?;
        Some(Decimal {
            mantissa,
            scale: u32::try_from(frac.len()).ok()?,
        })
    }

    fn from_json(v: &Json, text: impl FnOnce() -> String) -> Decimal {
        let zero = Decimal {
            mantissa: 0,
            scale: 0,
        };
        match v {
            Json::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(0.0);
                let s = if f.fract() == 0.0 && f.abs() < 1e7 {
                    format!("{f:.1}")
                } else {
                    format!("{f}")
                };
                Decimal::parse(&s).unwrap_or(zero)
            }
            Json::Number(n) => Decimal::parse(&n.to_string()).unwrap_or(zero),
            _ => Decimal::parse(&text()).unwrap_or(zero),
        }
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        self.mantissa
            .checked_mul(10i128.checked_pow(scale - self.scale)?)
    }

    fn to_json(self) -> Json {
        if self.scale == 0
            && let Ok(i) = i64::try_from(self.mantissa)
        {
            return Json::from(i);
        }
        let f = self.mantissa as f64 / 10f64.powi(self.scale as i32);
        serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

fn math(h: &Helper<'_>) -> Result<Json, RenderError> {
    if h.params().len() != 3 {
        return Ok(wm_error(
            "All maths functions require two operands and an operator as parameters e.g. 3 '+' 2",
        ));
    }
    let operand = |i: usize| {
        let p = &h.params()[i];
        Decimal::from_json(p.value(), || arg_string(p))
    };
    let left = operand(0);
    let right = operand(2);
    let op = arg_string(&h.params()[1]);
    let overflow = || fail("math: overflow");
    let scale = left.scale.max(right.scale);
    let result = match op.as_str() {
        "+" | "-" => {
            let (a, b) = (
                left.rescale(scale).ok_or_else(overflow)?,
                right.rescale(scale).ok_or_else(overflow)?,
            );
            let m = if op == "+" {
                a.checked_add(b)
            } else {
                a.checked_sub(b)
            };
            Decimal {
                mantissa: m.ok_or_else(overflow)?,
                scale,
            }
        }
        "*" | "x" => Decimal {
            mantissa: left
                .mantissa
                .checked_mul(right.mantissa)
                .ok_or_else(overflow)?,
            scale: left.scale + right.scale,
        },
        "/" => {
            if right.mantissa == 0 {
                return Err(fail("math: division by zero"));
            }
            // BigDecimal.divide(right, HALF_UP): the result keeps the left operand's scale.
            let num = left
                .mantissa
                .checked_mul(10i128.checked_pow(right.scale).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            let (q, r) = (num / right.mantissa, num % right.mantissa);
            let round = if r.abs() * 2 >= right.mantissa.abs() {
                if (num < 0) == (right.mantissa < 0) {
                    1
                } else {
                    -1
                }
            } else {
                0
            };
            Decimal {
                mantissa: q + round,
                scale: left.scale,
            }
        }
        "%" => {
            if right.mantissa == 0 {
                return Err(fail("math: division by zero"));
            }
            let (a, b) = (
                left.rescale(scale).ok_or_else(overflow)?,
                right.rescale(scale).ok_or_else(overflow)?,
            );
            Decimal {
                mantissa: a % b,
                scale,
            }
        }
        other => {
            return Ok(wm_error(format!(
                "{other} is not a valid mathematical operator"
            )));
        }
    };
    Ok(result.to_json())
}

// urlEncode -------------------------------------------------------------------------------------

/// `java.net.URLDecoder.decode(s, "utf-8")`.
fn url_decode(s: &str) -> Result<String, RenderError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| fail(format!("urlEncode: illegal escape in {s}")))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

// parseJson -------------------------------------------------------------------------------------

fn parse_json<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
) -> Result<Json, RenderError> {
    let (text, var) = if h.is_block() {
        let text = match h.template() {
            Some(t) => t.renders(r, ctx, rc)?,
            None => String::new(),
        };
        (text, h.param(0).map(arg_string))
    } else {
        let Some(p) = h.param(0) else {
            return Ok(wm_error("Missing required JSON string parameter"));
        };
        if p.value().is_null() {
            return Ok(Json::Object(Map::new()));
        }
        (arg_string(p), h.param(1).map(arg_string))
    };
    let trimmed = text.trim();
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let value = if compact.is_empty() || compact == "{}" {
        Json::Object(Map::new())
    } else {
        charge(bytes_units(trimmed.len()) / 4)?;
        let parsed: Json = serde_json::from_str(trimmed)
            .map_err(|e| fail(format!("parseJson: {trimmed} is not valid JSON: {e}")))?;
        let is_list = trimmed.starts_with('[') && trimmed.ends_with(']');
        match (&parsed, is_list) {
            (Json::Array(_), true) | (Json::Object(_), false) => parsed,
            _ => {
                return Err(fail(format!(
                    "parseJson: {trimmed} is not a JSON object or array"
                )));
            }
        }
    };
    match var {
        Some(name) => {
            set_var(name, VarKind::Value, value);
            Ok(Json::Null)
        }
        None => Ok(value),
    }
}

// Dates -----------------------------------------------------------------------------------------

/// WireMock's `RenderableDate`: an instant with an optional format and time zone.
struct DateValue {
    millis: i64,
    format: Option<String>,
    timezone: Option<String>,
}

impl DateValue {
    fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert(DATE_KEY.into(), Json::from(self.millis));
        m.insert(
            "format".into(),
            self.format.clone().map_or(Json::Null, Json::String),
        );
        m.insert(
            "timezone".into(),
            self.timezone.clone().map_or(Json::Null, Json::String),
        );
        Json::Object(m)
    }

    fn from_json(v: &Json) -> Option<DateValue> {
        let m = v.as_object()?;
        let millis = m.get(DATE_KEY)?.as_i64()?;
        let s = |k: &str| m.get(k).and_then(Json::as_str).map(str::to_owned);
        Some(DateValue {
            millis,
            format: s("format"),
            timezone: s("timezone"),
        })
    }

    fn zoned(&self) -> Result<ZonedDateTime, RenderError> {
        let ts = Timestamp::from_millisecond(self.millis).map_err(|e| fail(e.to_string()))?;
        let tz = match &self.timezone {
            Some(name) => time_zone(name)?,
            None => TimeZone::UTC,
        };
        Ok(ts.to_zoned_datetime(tz))
    }

    fn render(&self) -> Result<String, RenderError> {
        match self.format.as_deref() {
            Some("epoch") => Ok(self.millis.to_string()),
            Some("unix") => Ok(self.millis.div_euclid(1000).to_string()),
            Some(f) => simple_date_format(f, &self.zoned()?),
            None => {
                let z = self.zoned()?;
                let off = z.offset().seconds();
                let tz = if off == 0 {
                    "Z".to_owned()
                } else {
                    format_offset(off, true)
                };
                Ok(format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{tz}",
                    z.year(),
                    z.month(),
                    z.day(),
                    z.hour(),
                    z.minute(),
                    z.second()
                ))
            }
        }
    }
}

fn format_offset(seconds: i32, colon: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m) = (s / 3600, (s % 3600) / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}

/// Java's `ZoneId.of`: `Z`, `UTC`, `GMT`, offsets like `+01:00`, `UTC+2`, and IANA names.
fn time_zone(name: &str) -> Result<TimeZone, RenderError> {
    let bad = || fail(format!("Unknown time-zone ID: {name}"));
    if matches!(name, "Z" | "UTC" | "GMT" | "UT") {
        return Ok(TimeZone::UTC);
    }
    let offset_text = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    if let Some(rest) = offset_text.strip_prefix(['+', '-']) {
        let negative = offset_text.starts_with('-');
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().map_err(|_| bad())?, 0),
            4 => (
                digits[..2].parse::<i32>().map_err(|_| bad())?,
                digits[2..].parse::<i32>().map_err(|_| bad())?,
            ),
            _ => return Err(bad()),
        };
        let secs = (h * 3600 + m * 60) * if negative { -1 } else { 1 };
        let off = jiff::tz::Offset::from_seconds(secs).map_err(|_| bad())?;
        return Ok(TimeZone::fixed(off));
    }
    TimeZone::get(name).map_err(|_| bad())
}

/// WireMock's `DateTimeOffset`: `3 days`, `-10 seconds`, `now +5 years`, `now`.
fn shift(millis: i64, offset: &str) -> Result<i64, RenderError> {
    if offset.eq_ignore_ascii_case("now") {
        return Ok(millis);
    }
    let parts: Vec<&str> = offset.split(' ').collect();
    let (amount, unit) = match parts.as_slice() {
        [a, u] | [_, a, u] => (*a, *u),
        _ => {
            return Err(fail(
                "Offset can be of the short form <amount> <unit> e.g. 8 seconds or long form now +/-<amount> <unit> e.g. now +5 years",
            ));
        }
    };
    let amount: i64 = amount
        .strip_prefix('+')
        .unwrap_or(amount)
        .parse()
        .map_err(|_| fail(format!("invalid offset amount {amount}")))?;
    let span = match unit.to_ascii_uppercase().as_str() {
        "SECONDS" => Span::new().try_seconds(amount),
        "MINUTES" => Span::new().try_minutes(amount),
        "HOURS" => Span::new().try_hours(amount),
        "DAYS" => Span::new().try_days(amount),
        "MONTHS" => Span::new().try_months(amount),
        "YEARS" => Span::new().try_years(amount),
        _ => return Err(fail(format!("No enum constant DateTimeUnit.{unit}"))),
    }
    .map_err(|e| fail(e.to_string()))?;
    let ts = Timestamp::from_millisecond(millis).map_err(|e| fail(e.to_string()))?;
    let shifted = ts
        .to_zoned_datetime(TimeZone::UTC)
        .checked_add(span)
        .map_err(|e| fail(e.to_string()))?;
    Ok(shifted.timestamp().as_millisecond())
}

fn date_helper(context: Option<DateValue>, h: &Helper<'_>) -> Result<Json, RenderError> {
    let format = hash_str(h, "format");
    let offset = hash_str(h, "offset");
    let timezone = hash_str(h, "timezone");
    let (mut millis, timezone) = match context {
        Some(d) => (d.millis, d.timezone),
        None => (Timestamp::now().as_millisecond(), timezone),
    };
    if let Some(tz) = &timezone {
        time_zone(tz)?;
    }
    if let Some(o) = offset {
        millis = shift(millis, &o)?;
    }
    Ok(DateValue {
        millis,
        format,
        timezone,
    }
    .to_json())
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

enum Token {
    Field(char, usize),
    Literal(String),
}

fn tokenize(pattern: &str) -> Result<Vec<Token>, RenderError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                tokens.push(Token::Literal("'".to_owned()));
                i += 2;
                continue;
            }
            let mut lit = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(fail(format!("Unterminated quote in {pattern}"))),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        lit.push(ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Literal(lit));
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            tokens.push(Token::Field(c, n));
            i += n;
        } else {
            tokens.push(Token::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(tokens)
}

/// `java.text.SimpleDateFormat` (US locale).
fn simple_date_format(pattern: &str, z: &ZonedDateTime) -> Result<String, RenderError> {
    let mut out = String::new();
    let pad = |v: i64, n: usize| format!("{v:0n$}");
    for token in tokenize(pattern)? {
        let (c, n) = match token {
            Token::Literal(l) => {
                out.push_str(&l);
                continue;
            }
            Token::Field(c, n) => (c, n),
        };
        let month = usize::try_from(z.month() - 1).unwrap_or(0);
        let weekday = usize::try_from(z.weekday().to_monday_zero_offset()).unwrap_or(0);
        let hour = i64::from(z.hour());
        let text = match c {
            'G' => "AD".to_owned(),
            'u' => pad(weekday as i64 + 1, n),
            'y' | 'Y' if n == 2 => pad(i64::from(z.year()).rem_euclid(100), 2),
            'y' | 'Y' => pad(i64::from(z.year()), n),
            'M' | 'L' => match n {
                1 | 2 => pad(i64::from(z.month()), n),
                3 => MONTHS[month][..3].to_owned(),
                _ => MONTHS[month].to_owned(),
            },
            'd' => pad(i64::from(z.day()), n),
            'D' => pad(i64::from(z.day_of_year()), n),
            'E' => {
                if n <= 3 {
                    DAYS[weekday][..3].to_owned()
                } else {
                    DAYS[weekday].to_owned()
                }
            }
            'a' => (if hour < 12 { "AM" } else { "PM" }).to_owned(),
            'H' => pad(hour, n),
            'k' => pad(if hour == 0 { 24 } else { hour }, n),
            'K' => pad(hour % 12, n),
            'h' => pad(if hour % 12 == 0 { 12 } else { hour % 12 }, n),
            'm' => pad(i64::from(z.minute()), n),
            's' => pad(i64::from(z.second()), n),
            'S' => pad(i64::from(z.millisecond()), n),
            'z' => z
                .time_zone()
                .to_offset_info(z.timestamp())
                .abbreviation()
                .to_owned(),
            'Z' => format_offset(z.offset().seconds(), false),
            'X' => {
                let off = z.offset().seconds();
                if off == 0 {
                    "Z".to_owned()
                } else {
                    match n {
                        1 => format_offset(off, false)[..3].to_owned(),
                        2 => format_offset(off, false),
                        _ => format_offset(off, true),
                    }
                }
            }
            'w' => pad(i64::from(z.date().iso_week_date().week()), n),
            other => return Err(fail(format!("Illegal pattern character '{other}'"))),
        };
        out.push_str(&text);
    }
    Ok(out)
}

/// What a `DateTimeFormatter` pattern parse found.
#[derive(Default)]
struct Parsed {
    year: Option<i16>,
    month: Option<i8>,
    day: Option<i8>,
    hour: Option<i8>,
    pm: Option<bool>,
    minute: i8,
    second: i8,
    nanos: i32,
    zone: Option<(TimeZone, String)>,
}

fn take_digits(s: &mut &str, min: usize, max: usize) -> Option<i64> {
    let len = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if len < min {
        return None;
    }
    let v = s[..len].parse().ok()?;
    *s = &s[len..];
    Some(v)
}

fn take_name(s: &mut &str, names: &[&str], short: bool) -> Option<usize> {
    for (i, name) in names.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name) {
            *s = &s[name.len()..];
            return Some(i);
        }
    }
    None
}

fn take_offset(s: &mut &str) -> Option<(TimeZone, String)> {
    if let Some(rest) = s.strip_prefix('Z') {
        *s = rest;
        return Some((TimeZone::UTC, "Z".to_owned()));
    }
    let negative = s.starts_with('-');
    let rest = s.strip_prefix(['+', '-'])?;
    let mut r = rest;
    let h = take_digits(&mut r, 2, 2)?;
    let r2 = r.strip_prefix(':').unwrap_or(r);
    let mut r3 = r2;
    let m = take_digits(&mut r3, 2, 2);
    let m = match m {
        Some(m) => {
            r = r3;
            m
        }
        None => 0,
    };
    *s = r;
    let secs = i32::try_from((h * 3600 + m * 60) * if negative { -1 } else { 1 }).ok()?;
    let off = jiff::tz::Offset::from_seconds(secs).ok()?;
    let label = if secs == 0 {
        "Z".to_owned()
    } else {
        format_offset(secs, true)
    };
    Some((TimeZone::fixed(off), label))
}

/// `DateTimeFormatter.ofPattern(pattern)` parsing, to WireMock's `RenderableDate`.
fn parse_with_pattern(pattern: &str, input: &str) -> Result<Option<DateValue>, RenderError> {
    let mut p = Parsed::default();
    let mut s = input;
    for token in tokenize(pattern)? {
        let ok = match token {
            Token::Literal(l) => match s.strip_prefix(l.as_str()) {
                Some(rest) => {
                    s = rest;
                    true
                }
                None => false,
            },
            Token::Field(c, n) => {
                let exact = |n: usize| if n == 1 { (1, 2) } else { (n, n) };
                match c {
                    'y' | 'u' => if n == 2 {
                        take_digits(&mut s, 2, 2).map(|v| p.year = Some(2000 + v as i16))
                    } else {
                        take_digits(&mut s, n.max(1), 9).map(|v| p.year = Some(v as i16))
                    }
                    .is_some(),
                    'M' | 'L' => match n {
                        1 | 2 => {
                            let (a, b) = exact(n);
                            take_digits(&mut s, a, b)
                                .map(|v| p.month = Some(v as i8))
                                .is_some()
                        }
                        _ => take_name(&mut s, &MONTHS, n == 3)
                            .map(|i| p.month = Some(i as i8 + 1))
                            .is_some(),
                    },
                    'd' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' => {
                        let (a, b) = exact(n);
                        match take_digits(&mut s, a, b) {
                            Some(v) => {
                                let v = v as i8;
                                match c {
                                    'd' => p.day = Some(v),
                                    'H' | 'k' | 'K' | 'h' => p.hour = Some(v),
                                    'm' => p.minute = v,
                                    _ => p.second = v,
                                }
                                true
                            }
                            None => false,
                        }
                    }
                    'S' => match take_digits(&mut s, n, n) {
                        Some(v) => {
                            p.nanos = (v * 10i64.pow(9 - n.min(9) as u32)) as i32;
                            true
                        }
                        None => false,
                    },
                    'a' => take_name(&mut s, &["AM", "PM"], false)
                        .map(|i| p.pm = Some(i == 1))
                        .is_some(),
                    'E' => take_name(&mut s, &DAYS, n <= 3).is_some(),
                    'X' | 'x' | 'Z' => take_offset(&mut s).map(|z| p.zone = Some(z)).is_some(),
                    'z' | 'V' | 'O' => {
                        let len = s
                            .find(|ch: char| !(ch.is_ascii_alphanumeric() || "/_+-:".contains(ch)))
                            .unwrap_or(s.len());
                        let name = &s[..len];
                        s = &s[len..];
                        time_zone(name)
                            .ok()
                            .map(|tz| p.zone = Some((tz, name.to_owned())))
                            .is_some()
                    }
                    other => return Err(fail(format!("Unknown pattern letter: {other}"))),
                }
            }
        };
        if !ok {
            return Ok(None);
        }
    }
    if !s.is_empty() {
        return Ok(None);
    }
    let Some(year) = p.year else {
        return Ok(None);
    };
    let mut hour = p.hour.unwrap_or(0);
    if let Some(pm) = p.pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let dt = jiff::civil::DateTime::new(
        year,
        p.month.unwrap_or(1),
        p.day.unwrap_or(1),
        hour,
        p.minute,
        p.second,
        p.nanos,
    );
    let Ok(dt) = dt else {
        return Ok(None);
    };
    let (tz, label) = match p.zone {
        Some((tz, label)) => (tz, Some(label)),
        None => (TimeZone::UTC, None),
    };
    let Ok(z) = dt.to_zoned_datetime(tz) else {
        return Ok(None);
    };
    Ok(Some(DateValue {
        millis: z.timestamp().as_millisecond(),
        format: None,
        timezone: label,
    }))
}

fn parse_date_helper(h: &Helper<'_>) -> Result<Json, RenderError> {
    let text = h.param(0).map(arg_string).unwrap_or_default();
    let parsed = match hash_str(h, "format") {
        Some(f) if f.eq_ignore_ascii_case("epoch") || f.eq_ignore_ascii_case("unix") => {
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("For input string: \"{text}\"")))?;
            let millis = if f.eq_ignore_ascii_case("unix") {
                n.saturating_mul(1000)
            } else {
                n
            };
            Some(DateValue {
                millis,
                format: None,
                timezone: None,
            })
        }
        Some(f) => parse_with_pattern(&f, &text)?,
        None => parse_default(&text)?,
    };
    Ok(parsed.map_or(Json::Null, |d| d.to_json()))
}

/// WireMock's zoned parsers: ISO zoned date-time, RFC 1123, RFC 1036, asctime.
fn parse_default(text: &str) -> Result<Option<DateValue>, RenderError> {
    if let Ok(z) = text.parse::<ZonedDateTime>() {
        let name = z.time_zone().iana_name().map(str::to_owned);
        return Ok(Some(DateValue {
            millis: z.timestamp().as_millisecond(),
            format: None,
            timezone: name.or_else(|| Some(format_offset(z.offset().seconds(), true))),
        }));
    }
    if text.contains('T')
        && let Ok(ts) = text.parse::<Timestamp>()
    {
        let label = if text.ends_with(['Z', 'z']) {
            "Z".to_owned()
        } else {
            let tail = &text[text.len().saturating_sub(6)..];
            let mut t = tail;
            take_offset(&mut t).map_or_else(|| "Z".to_owned(), |(_, l)| l)
        };
        return Ok(Some(DateValue {
            millis: ts.as_millisecond(),
            format: None,
            timezone: Some(label),
        }));
    }
    if let Ok(z) = jiff::fmt::rfc2822::parse(text) {
        let off = z.offset().seconds();
        return Ok(Some(DateValue {
            millis: z.timestamp().as_millisecond(),
            format: None,
            timezone: Some(if off == 0 {
                "Z".to_owned()
            } else {
                format_offset(off, true)
            }),
        }));
    }
    for pattern in [
        "EEEE, dd-MMM-yy HH:mm:ss zzz",
        "EEE MMM dd HH:mm:ss yyyy",
        "EEE MMM  d HH:mm:ss yyyy",
    ] {
        if let Some(d) = parse_with_pattern(pattern, text)? {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    struct Req {
        url: String,
        path: String,
        path_params: Vec<(String, String)>,
        query: Vec<(String, String)>,
        headers: Vec<(String, String)>,
        cookies: Vec<(String, String)>,
        method: String,
        body: String,
    }

    impl Req {
        fn new() -> Req {
            Req {
                url: "/things/42/parts?id=1&id=2&name=bob".into(),
                path: "/things/42/parts".into(),
                path_params: Vec::new(),
                query: pairs(&[("id", "1"), ("id", "2"), ("name", "bob")]),
                headers: pairs(&[
                    ("Content-Type", "application/json"),
                    ("X-Multi", "a"),
                    ("X-Multi", "b"),
                ]),
                cookies: pairs(&[("session", "abc")]),
                method: "POST".into(),
                body: r#"{"name":"Ann","items":[{"id":1,"tag":"a/b"},{"id":2,"tag":"c"}],"n":7,"o":{"k":"v","l":[1,2]}}"#.into(),
            }
        }
        fn body(mut self, b: &str) -> Req {
            self.body = b.into();
            self
        }
        fn as_req(&self) -> HbsRequest<'_> {
            HbsRequest {
                url: &self.url,
                path: &self.path,
                path_params: &self.path_params,
                query: &self.query,
                headers: &self.headers,
                cookies: &self.cookies,
                method: &self.method,
                body: &self.body,
                base_url: "http://127.0.0.1:8080",
            }
        }
    }

    fn r_with(tpl: &str, req: &Req) -> String {
        let t = HbsTemplate::parse(tpl).unwrap_or_else(|e| panic!("{tpl}: {e}"));
        t.render(&req.as_req(), 1_000_000)
            .unwrap_or_else(|e| panic!("{tpl}: {e}"))
    }

    fn r(tpl: &str) -> String {
        r_with(tpl, &Req::new())
    }

    #[test]
    fn request_model_fields() {
        assert_eq!(r("{{request.url}}"), "/things/42/parts?id=1&id=2&name=bob");
        assert_eq!(r("{{request.path}}"), "/things/42/parts");
        assert_eq!(r("{{request.path.[1]}}"), "42");
        assert_eq!(r("{{request.pathSegments.[2]}}"), "parts");
        assert_eq!(r("{{request.query.name}}"), "bob");
        assert_eq!(r("{{request.query.id}}"), "1");
        assert_eq!(r("{{request.query.id.[1]}}"), "2");
        assert_eq!(r("{{request.query.missing}}"), "");
        assert_eq!(r("{{request.headers.content-type}}"), "application/json");
        assert_eq!(r("{{request.headers.Content-Type}}"), "application/json");
        assert_eq!(r("{{request.headers.x-multi}}"), "a");
        assert_eq!(r("{{request.headers.X-Multi.[1]}}"), "b");
        assert_eq!(r("{{request.cookies.session}}"), "abc");
        assert_eq!(r("{{request.method}}"), "POST");
        assert_eq!(r("{{request.baseUrl}}"), "http://127.0.0.1:8080");
        assert_eq!(
            r("{{request.scheme}} {{request.host}} {{request.port}}"),
            "http 127.0.0.1 8080"
        );
        assert_eq!(r("{{{request.body}}}"), Req::new().body);
        assert_eq!(r("{{#each request.query.id}}[{{this}}]{{/each}}"), "[1][2]");
        assert_eq!(
            r("{{#each request.path}}<{{this}}>{{/each}}"),
            "<things><42><parts>"
        );
        assert_eq!(
            r("{{#with request}}{{path}} {{query.id}}{{/with}}"),
            "/things/42/parts 1"
        );
    }

    #[test]
    fn named_path_params() {
        let mut req = Req::new();
        req.path_params = pairs(&[("thingId", "42")]);
        assert_eq!(r_with("{{request.path.thingId}}", &req), "42");
        assert_eq!(
            r_with("{{request.path.[0]}}/{{request.path}}", &req),
            "things//things/42/parts"
        );
    }

    #[test]
    fn no_html_escaping() {
        let req = Req::new().body("<a href=\"x\">&</a>");
        assert_eq!(r_with("{{request.body}}", &req), "<a href=\"x\">&</a>");
        assert_eq!(r_with("{{{request.body}}}", &req), "<a href=\"x\">&</a>");
    }

    #[test]
    fn builtins_work() {
        assert_eq!(r("{{#if request.query.name}}yes{{else}}no{{/if}}"), "yes");
        assert_eq!(r("{{#unless request.query.nope}}none{{/unless}}"), "none");
        assert_eq!(r("{{#eq request.method 'POST'}}P{{else}}other{{/eq}}"), "P");
        assert_eq!(
            r("{{#eq request.query.id.[0] '1'}}ONE{{else}}MANY{{/eq}}"),
            "ONE"
        );
        // A list is not equal to a string, as in Handlebars.java.
        assert_eq!(
            r("{{#eq request.query.id '1'}}ONE{{else}}MANY{{/eq}}"),
            "MANY"
        );
        assert_eq!(r("{{#if (eq request.method 'GET')}}G{{else}}N{{/if}}"), "N");
        assert_eq!(r("{{#neq request.method 'GET'}}ne{{/neq}}"), "ne");
        assert_eq!(
            r("{{#gt 3 2}}gt{{/gt}}{{#lt 3 2}}lt{{else}}nlt{{/lt}}"),
            "gtnlt"
        );
        assert_eq!(r("{{#gte 2 2}}a{{/gte}}{{#lte 1 2}}b{{/lte}}"), "ab");
        assert_eq!(
            r("{{#and true 1}}and{{/and}}{{#or false 0}}or{{else}}nor{{/or}}"),
            "andnor"
        );
        assert_eq!(r("{{#not false}}not{{/not}}"), "not");
        assert_eq!(r("{{eq 1 1}} {{eq 1 2 yes='Y' no='N'}}"), "true N");
        assert_eq!(r("{{lookup request.query 'name'}}"), "[bob]");
        assert_eq!(
            r("{{#each request.query}}{{@key}}={{this}};{{/each}}"),
            "id=1;name=bob;"
        );
        assert_eq!(
            r("{{#each request.query.id}}{{request.method}}{{/each}}"),
            "POSTPOST"
        );
    }

    #[test]
    fn json_path() {
        assert_eq!(r("{{jsonPath request.body '$.name'}}"), "Ann");
        assert_eq!(r("{{jsonPath request.body '$.n'}}"), "7");
        assert_eq!(r("{{jsonPath request.body '$.items[1].id'}}"), "2");
        assert_eq!(r("{{jsonPath request.body 'name'}}"), "Ann");
        assert_eq!(r("{{jsonPath request.body '$.missing'}}"), "");
        assert_eq!(
            r("{{jsonPath request.body '$.missing' default='dflt'}}"),
            "dflt"
        );
        assert_eq!(r("{{jsonPath request.body '$.items[*].id'}}"), "[1,2]");
        assert_eq!(
            r("{{jsonPath request.body '$.items[*].tag'}}"),
            r#"["a\/b","c"]"#
        );
        assert_eq!(
            r("{{jsonPath request.body '$.o'}}"),
            "{\n  \"k\" : \"v\",\n  \"l\" : [ 1, 2 ]\n}"
        );
        assert_eq!(r("{{jsonPath request.body '$.items.length()'}}"), "2");
        assert_eq!(
            r("{{#each (jsonPath request.body '$.items')}}{{id}},{{/each}}"),
            "1,2,"
        );
        assert_eq!(r("{{size (jsonPath request.body '$.items')}}"), "2");
        assert_eq!(
            r("{{jsonPath request.body '$.items[?(@.id > 1)].tag'}}"),
            r#"["c"]"#
        );
        assert_eq!(
            r_with("{{jsonPath request.body '$.a'}}", &Req::new().body("nope")),
            "[ERROR: nope is not valid JSON]"
        );
        assert_eq!(
            r("{{jsonPath request.body '$[[['}}"),
            "[ERROR: $[[[ is not a valid JSONPath expression]"
        );
        assert_eq!(
            r_with("{{jsonPath request.body '$.a'}}", &Req::new().body("")),
            ""
        );
    }

    #[test]
    fn regex_extract() {
        let req = Req::new().body("abc-DEF-123");
        assert_eq!(
            r_with("{{regexExtract request.body '[A-Z]+'}}", &req),
            "DEF"
        );
        assert_eq!(
            r_with(
                "{{regexExtract request.body '([a-z]+)-([A-Z]+)-([0-9]+)' 'parts'}}{{parts.0}},{{parts.1}},{{parts.[2]}}",
                &req
            ),
            "abc,DEF,123"
        );
        assert_eq!(
            r_with(
                "{{regexExtract request.body '([a-z]+)-([A-Z]+)' 'p'}}{{p}}|{{size p}}|{{#each p}}{{this}} {{/each}}",
                &req
            ),
            "abc|2|abc DEF "
        );
        assert_eq!(
            r("{{regexExtract 'abc' '[0-9]+'}}"),
            "[ERROR: Nothing matched [0-9]+]"
        );
        assert_eq!(
            r("{{regexExtract 'abc' '[0-9]+' default='my default value'}}"),
            "my default value"
        );
        assert_eq!(r("{{regexExtract request.path.[1] '([0-9]+)'}}"), "42");
        assert_eq!(
            r("{{regexExtract 'abc' '('}}"),
            "[ERROR: Invalid regex string (]"
        );
    }

    #[test]
    fn random_values() {
        let v = r("{{randomValue length=33 type='ALPHANUMERIC'}}");
        assert_eq!(v.len(), 33);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let v = r("{{randomValue length=12 type='ALPHABETIC' uppercase=true}}");
        assert!(v.len() == 12 && v.chars().all(|c| c.is_ascii_uppercase()));
        let v = r("{{randomValue length=8 type='NUMERIC'}}");
        assert!(v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()));
        let v = r("{{randomValue length=10 type='HEXADECIMAL'}}");
        assert!(
            v.len() == 10
                && v.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let v = r("{{randomValue length=40 type='ALPHANUMERIC_AND_SYMBOLS' uppercase=true}}");
        assert!(v.len() == 40 && v.bytes().all(|b| (33..126).contains(&b)));
        let v = r("{{randomValue type='UUID'}}");
        assert!(uuid::Uuid::parse_str(&v).is_ok() && v == v.to_lowercase());
        assert_eq!(r("{{randomValue}}").len(), 36);
        let n: i64 = r("{{randomInt lower=5 upper=9}}").parse().unwrap_or(-1);
        assert!((5..9).contains(&n));
        let n: i64 = r("{{randomInt upper=3}}").parse().unwrap_or(i64::MAX);
        assert!(n < 3);
        let t =
            HbsTemplate::parse("{{randomInt lower=5 upper=5}}").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.render(&Req::new().as_req(), 100).is_err());
        let p = r("{{pickRandom 'a' 'b' 'c'}}");
        assert!(["a", "b", "c"].contains(&p.as_str()));
        let p = r("{{pickRandom (jsonPath request.body '$.items[*].id')}}");
        assert!(p == "1" || p == "2");
        let p = r("{{pickRandom request.query.id}}");
        assert!(p == "1" || p == "2");
        let p = r("{{pickRandom 'a' 'b' 'c' count=2}}");
        assert!(p.starts_with('[') && p.matches(", ").count() == 1, "{p}");
        assert_eq!(r("{{size (pickRandom 1 2 3 count=5)}}"), "3");
    }

    #[test]
    fn dates() {
        let iso = r("{{now}}");
        assert!(
            iso.len() == 20 && iso.ends_with('Z') && iso.as_bytes()[10] == b'T',
            "{iso}"
        );
        let epoch: i64 = r("{{now format='epoch'}}").parse().unwrap_or(0);
        let unix: i64 = r("{{now format='unix'}}").parse().unwrap_or(0);
        assert!(epoch > 1_600_000_000_000 && (epoch / 1000 - unix).abs() <= 1);
        let later: i64 = r("{{now offset='3 days' format='unix'}}")
            .parse()
            .unwrap_or(0);
        assert!((later - unix - 3 * 86_400).abs() <= 1);
        let earlier: i64 = r("{{now offset='now -10 seconds' format='unix'}}")
            .parse()
            .unwrap_or(0);
        assert!((unix - earlier - 10).abs() <= 1);
        assert_eq!(r("{{now format='yyyy'}}").len(), 4);
        assert_eq!(
            r(
                "{{date (parseDate '2021-06-14T10:20:30Z') format='yyyy-MM-dd HH:mm:ss.SSS EEE MMM a Z'}}"
            ),
            "2021-06-14 10:20:30.000 Mon Jun AM +0000"
        );
        assert_eq!(
            r("{{parseDate '2021-06-14T10:20:30Z'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '2021-06-14T10:20:30+01:00'}}"),
            "2021-06-14T10:20:30+01:00"
        );
        assert_eq!(
            r("{{parseDate 'Mon, 14 Jun 2021 10:20:30 GMT'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate 'Monday, 14-Jun-21 10:20:30 GMT'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate 'Mon Jun 14 10:20:30 2021'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '14/06/2021' format='dd/MM/yyyy'}}"),
            "2021-06-14T00:00:00Z"
        );
        assert_eq!(
            r("{{parseDate '1623666030' format='unix'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '1623666030000' format='epoch'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r(
                "{{date (parseDate '2021-06-14T10:20:30Z') offset='1 months' format='dd MMMM yyyy'}}"
            ),
            "14 July 2021"
        );
        assert_eq!(
            r("{{date (parseDate '2021-06-14T10:20:30Z') format='epoch'}}"),
            "1623666030000"
        );
        // A parsed date keeps the zone it was parsed with; `timezone` applies to `now`.
        assert_eq!(
            r("{{date (parseDate '2021-06-14T10:20:30+02:00') format='HH:mm XXX'}}"),
            "10:20 +02:00"
        );
        let sydney = r("{{now timezone='Australia/Sydney' format='Z'}}");
        assert!(sydney == "+1000" || sydney == "+1100", "{sydney}");
        let zoned = r("{{now timezone='Europe/Paris'}}");
        assert!(
            zoned.ends_with("+01:00") || zoned.ends_with("+02:00"),
            "{zoned}"
        );
        assert_eq!(r("{{parseDate 'garbage'}}"), "");
        let t =
            HbsTemplate::parse("{{now timezone='Nowhere/Land'}}").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.render(&Req::new().as_req(), 100).is_err());
    }

    #[test]
    fn math_as_bigdecimal() {
        assert_eq!(r("{{math 1 '+' 2}}"), "3");
        assert_eq!(r("{{math 5 '-' 7}}"), "-2");
        assert_eq!(r("{{math 6 '*' 7}} {{math 6 'x' 7}}"), "42 42");
        assert_eq!(r("{{math 10 '/' 4}}"), "3");
        assert_eq!(r("{{math 10.0 '/' 4}}"), "2.5");
        assert_eq!(r("{{math 10 '%' 3}}"), "1");
        assert_eq!(r("{{math 1.5 '+' 1.5}}"), "3.0");
        assert_eq!(r("{{math request.query.id '+' 10}}"), "11");
        assert_eq!(r("{{math 'abc' '+' 1}}"), "1");
        assert_eq!(r("{{math (jsonPath request.body '$.n') '*' 2}}"), "14");
        assert_eq!(
            r("{{math 1 '^' 2}}"),
            "[ERROR: ^ is not a valid mathematical operator]"
        );
        assert_eq!(
            r("{{math 1 2}}"),
            "[ERROR: All maths functions require two operands and an operator as parameters e.g. 3 '+' 2]"
        );
    }

    #[test]
    fn size_base64_url_trim() {
        assert_eq!(r("{{size 'abcde'}}"), "5");
        assert_eq!(r("{{size request.query.id}}"), "2");
        assert_eq!(r("{{size (parseJson request.body)}}"), "4");
        assert_eq!(r("{{base64 'hello'}}"), "aGVsbG8=");
        assert_eq!(r("{{base64 'hello' padding=false}}"), "aGVsbG8");
        assert_eq!(r("{{base64 'aGVsbG8=' decode=true}}"), "hello");
        assert_eq!(
            r("{{#base64}}hi {{request.method}}{{/base64}}"),
            "aGkgUE9TVA=="
        );
        assert_eq!(r("{{urlEncode 'a b&c/d*é'}}"), "a+b%26c%2Fd*%C3%A9");
        assert_eq!(r("{{urlEncode 'a+b%26c' decode=true}}"), "a b&c");
        assert_eq!(r("[{{trim '  padded  '}}]"), "[padded]");
        assert_eq!(
            r("[{{#trim}}\n  {{request.method}}  \n{{/trim}}]"),
            "[POST]"
        );
    }

    #[test]
    fn parse_json_and_to_json() {
        assert_eq!(
            r("{{#with (parseJson request.body)}}{{name}} {{n}} {{items.[1].tag}}{{/with}}"),
            "Ann 7 c"
        );
        assert_eq!(
            r("{{parseJson request.body 'doc'}}{{doc.name}}-{{doc.items.[0].id}}"),
            "Ann-1"
        );
        assert_eq!(
            r(
                "{{#parseJson 'cfg'}}{\"a\": [1, 2], \"m\": \"{{request.method}}\"}{{/parseJson}}{{cfg.m}} {{cfg.a}}"
            ),
            "POST [1, 2]"
        );
        assert_eq!(r("{{parseJson '{\"a\":{\"b\":1}}'}}"), "{a={b=1}}");
        assert_eq!(
            r("{{toJson (parseJson '{\"a\":[1,2]}')}}"),
            "{\n  \"a\" : [ 1, 2 ]\n}"
        );
        assert_eq!(r("{{toJson 'x'}}"), "\"x\"");
        assert_eq!(r("{{toJson request.query.name}}"), "\"bob\"");
        assert_eq!(r("{{toJson request.query.id}}"), "[ \"1\", \"2\" ]");
        assert_eq!(
            r("{{#assign 'who'}} {{request.query.name}} {{/assign}}[{{who}}]"),
            "[bob]"
        );
    }

    #[test]
    fn parse_errors_carry_positions() {
        let e = HbsTemplate::parse("line one\n  {{#if x}}open").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert!(e.line.is_some() && e.column.is_some(), "{e:?}");
        let e = HbsTemplate::parse("ok\nthen {{bad").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().starts_with("line 2, column "), "{e}");
        let e = HbsTemplate::parse("a\n{{> partial}}").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert!(e.message.contains("partials"), "{e}");
        assert!(HbsTemplate::parse("{{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}").is_err());
    }

    #[test]
    fn fuel_bounds_a_render() {
        let req = Req::new().body(&format!("[{}]", vec!["1"; 2000].join(",")));
        let tpl = HbsTemplate::parse(
            "{{#each (parseJson request.body)}}{{#each (parseJson request.body)}}{{this}}{{/each}}{{/each}}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = tpl.render(&req.as_req(), 100_000).err();
        assert!(err.is_some_and(|e| e.contains("fuel")));
        let t = HbsTemplate::parse("{{randomValue length=100000000}}")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = t.render(&req.as_req(), 1_000_000).err();
        assert!(err.is_some_and(|e| e.contains("fuel")));
        let t = HbsTemplate::parse("{{request.method}}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.render(&req.as_req(), 2).as_deref(), Ok("POST"));
        assert!(t.render(&req.as_req(), 1).is_err());
        // Fuel is per render: the next one starts afresh.
        assert_eq!(t.render(&req.as_req(), 10).as_deref(), Ok("POST"));
    }
}
