//! One OpenAPI operation, compiled: what its answer depends on per request, decided by
//! [`Operation::answer`] — request validation, `Prefer` (`code`, `example`, `dynamic`),
//! `Accept` negotiation among the declared media types, and the body.
//!
//! Everything that does not depend on the request was prepared at load: the default status,
//! every media type's default body and named examples serialized to `Bytes`, the response
//! headers' values, and the validators. An answer without `Prefer` to a valid request copies
//! reference-counted bytes. Nothing here knows about sockets: a request is an
//! [`OasRequest`].

use std::sync::{Arc, OnceLock};

use crate::scenario::compiled::PathMatcher;
use actix_http::StatusCode;
use actix_http::header::{self, HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use serde_json::{Value, json};

use super::generate::{Generator, Side};
use super::schema::{Checker, generate_valid};

/// The parts of a request an operation looks at.
pub struct OasRequest<'a> {
    /// The path as sent, without the query.
    pub path: &'a str,
    /// The decoded query pairs, in order.
    pub query: &'a [(String, String)],
    /// The request headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
}

/// What an operation answers.
pub struct OasReply {
    /// Status code.
    pub status: StatusCode,
    /// Headers, `Content-Type` included when there is a body.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body.
    pub body: Bytes,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A path template variable.
    Path,
    /// A query parameter.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl In {
    /// The name OpenAPI gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            In::Path => "path",
            In::Query => "query",
            In::Header => "header",
            In::Cookie => "cookie",
        }
    }
}

/// The JSON types a parameter's text may be read as, from its schema.
#[derive(Debug, Clone, Default)]
pub struct Shape {
    /// The schema's types (empty: any).
    pub types: Vec<String>,
    /// For arrays: the items' types.
    pub item_types: Vec<String>,
}

/// A declared parameter.
pub struct Param {
    /// Its name (for a header, lowercase).
    pub name: String,
    /// Where it is.
    pub location: In,
    /// Whether the request must carry it.
    pub required: bool,
    /// `explode` (form style: repeated keys for arrays).
    pub explode: bool,
    /// How its text becomes a JSON value.
    pub shape: Shape,
    /// Its schema's validator.
    pub checker: Option<Checker>,
}

/// The declared request body.
pub struct RequestBody {
    /// Whether it must be present.
    pub required: bool,
    /// Media types (as declared) and, for JSON ones, their validators.
    pub media: Vec<(String, Option<Checker>)>,
}

/// One media type of a response.
pub struct Media {
    /// The media type as declared (`application/json`).
    pub media_type: String,
    /// Its essence, lowercase (`application/json`).
    pub essence: String,
    /// The `Content-Type` sent.
    pub content_type: HeaderValue,
    /// Whether bodies are JSON text.
    pub json: bool,
    /// The body answered by default: the first valid example, set at load, else a body
    /// generated from the schema when first needed.
    pub default_body: OnceLock<Bytes>,
    /// Named examples, serialized.
    pub examples: Vec<(String, Bytes)>,
    /// The schema's validator (and the converted schema).
    pub checker: Option<Checker>,
}

/// One declared response.
pub struct Response {
    /// The status key as written (`200`, `2XX`, `default`).
    pub key: String,
    /// The status it is answered with by default.
    pub status: StatusCode,
    /// Header values, prepared.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Media types, in declaration order.
    pub media: Vec<Media>,
}

/// A compiled operation.
pub struct Operation {
    /// `GET /pets/{id}`, for messages.
    pub name: String,
    /// The route's path matcher: its `i`th variable is `path_names[i]`.
    pub path: PathMatcher,
    /// Names of the path template's variables, in order.
    pub path_names: Vec<String>,
    /// Declared parameters.
    pub params: Vec<Param>,
    /// The declared request body.
    pub body: Option<RequestBody>,
    /// Declared responses.
    pub responses: Vec<Response>,
    /// Index of the default answer's response.
    pub default_response: Option<usize>,
    /// Index of the response a request that fails validation gets (`422`, else `400`).
    pub invalid_response: Option<usize>,
    /// Whether requests are validated.
    pub validate: bool,
    /// The spec's converted schema table, for random generation.
    pub defs: Arc<Vec<Value>>,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// One problem with a request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Problem {
    /// `path`, `query`, `header`, `cookie` or `body`.
    #[serde(rename = "in")]
    pub location: &'static str,
    /// The parameter's name, or the JSON pointer into the body.
    pub name: String,
    /// What is wrong.
    pub message: String,
}

/// The preferences of a `Prefer` header (RFC 7240) that understudy honours.
#[derive(Default)]
struct Prefer {
    code: Option<u16>,
    example: Option<String>,
    dynamic: bool,
}

fn prefer(headers: &HeaderMap) -> Prefer {
    let mut out = Prefer::default();
    for value in headers.get_all(header::HeaderName::from_static("prefer")) {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split([',', ';']) {
            let Some((k, v)) = part.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "code" => out.code = v.parse().ok(),
                "example" => out.example = Some(v.to_owned()),
                "dynamic" => out.dynamic = v.eq_ignore_ascii_case("true"),
                _ => {}
            }
        }
    }
    out
}

/// A problem+json answer.
pub fn problem(status: StatusCode, title: &str, errors: &[Problem]) -> OasReply {
    let body = json!({ "title": title, "status": status.as_u16(), "errors": errors });
    OasReply {
        status,
        headers: vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body: Bytes::from(serde_json::to_vec(&body).unwrap_or_default()),
    }
}

impl Operation {
    /// The answer to `req`.
    pub fn answer(&self, req: &OasRequest<'_>) -> OasReply {
        if self.validate {
            let problems = self.check(req);
            if !problems.is_empty() {
                if let Some(i) = self.invalid_response {
                    let status = self.responses[i].status;
                    return self.reply(i, status, req, &Prefer::default());
                }
                return problem(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "The request does not match the API description",
                    &problems,
                );
            }
        }
        let prefs = prefer(req.headers);
        let chosen = prefs.code.and_then(|code| {
            let status = StatusCode::from_u16(code).ok()?;
            let exact = self
                .responses
                .iter()
                .position(|r| r.key == code.to_string());
            let range = || {
                let key = format!("{}XX", code / 100);
                self.responses
                    .iter()
                    .position(|r| r.key.eq_ignore_ascii_case(&key))
            };
            let default = || self.responses.iter().position(|r| r.key == "default");
            exact.or_else(range).or_else(default).map(|i| (i, status))
        });
        match chosen.or_else(|| self.default_response.map(|i| (i, self.responses[i].status))) {
            Some((i, status)) => {
                let mut reply = self.reply(i, status, req, &prefs);
                if chosen.is_some() && reply.status == status {
                    reply.headers.push((
                        HeaderName::from_static("preference-applied"),
                        HeaderValue::from_static("code"),
                    ));
                }
                reply
            }
            None => OasReply {
                status: StatusCode::OK,
                headers: Vec::new(),
                body: Bytes::new(),
            },
        }
    }

    /// Response `index` with `status`, its media type negotiated.
    fn reply(
        &self,
        index: usize,
        status: StatusCode,
        req: &OasRequest<'_>,
        prefs: &Prefer,
    ) -> OasReply {
        let resp = &self.responses[index];
        let mut headers = resp.headers.clone();
        if resp.media.is_empty() {
            return OasReply {
                status,
                headers,
                body: Bytes::new(),
            };
        }
        let accept = req
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|a| !a.is_empty() && *a != "*/*");
        let media = match accept {
            None => &resp.media[0],
            Some(accept) => match negotiate(accept, &resp.media) {
                Some(m) => m,
                None => {
                    let declared: Vec<&str> =
                        resp.media.iter().map(|m| m.media_type.as_str()).collect();
                    return problem(
                        StatusCode::NOT_ACCEPTABLE,
                        "Not Acceptable",
                        &[Problem {
                            location: "header",
                            name: "accept".into(),
                            message: format!(
                                "{accept:?} accepts none of the media types the response \
                                 declares: {}",
                                declared.join(", ")
                            ),
                        }],
                    );
                }
            },
        };
        headers.push((header::CONTENT_TYPE, media.content_type.clone()));
        let mut applied = Vec::new();
        let mut body = None;
        if let Some(name) = &prefs.example
            && let Some((_, b)) = media.examples.iter().find(|(n, _)| n == name)
        {
            body = Some(b.clone());
            applied.push("example");
        }
        if body.is_none()
            && prefs.dynamic
            && let Some(b) = self.dynamic_body(media)
        {
            body = Some(b);
            applied.push("dynamic");
        }
        if !applied.is_empty()
            && let Ok(v) = HeaderValue::from_str(&applied.join(", "))
        {
            headers.push((HeaderName::from_static("preference-applied"), v));
        }
        OasReply {
            status,
            headers,
            body: body.unwrap_or_else(|| self.default_body(media)),
        }
    }

    /// The body `media` answers by default (generated and checked on first use when the
    /// spec gives no valid example).
    pub fn default_body(&self, media: &Media) -> Bytes {
        media
            .default_body
            .get_or_init(|| match &media.checker {
                Some(checker) => {
                    let (value, valid) = generate_valid(&self.defs, checker.schema(), checker);
                    if !valid {
                        tracing::warn!(
                            "{}: understudy could not generate a {} body that validates \
                             against its schema; the body it answers with may not",
                            self.name,
                            media.media_type
                        );
                    }
                    serialize(&value, media.json)
                }
                None => Bytes::new(),
            })
            .clone()
    }

    /// A random body that validates (`None` when ten tries found none).
    fn dynamic_body(&self, media: &Media) -> Option<Bytes> {
        let checker = media.checker.as_ref()?;
        for _ in 0..10 {
            let mut g = Generator::new(&self.defs, Some(fastrand::Rng::new()), Side::Response);
            let v = g.value(checker.schema());
            if checker.is_valid(&self.defs, &v) {
                return Some(serialize(&v, media.json));
            }
        }
        None
    }

    /// Every problem of `req` against the declared parameters and body.
    pub fn check(&self, req: &OasRequest<'_>) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.params.is_empty() && self.body.is_none() {
            return problems;
        }
        let captures: Vec<&str> = match &self.path {
            PathMatcher::Template(t) => t.captures(req.path).unwrap_or_default().to_vec(),
            PathMatcher::Regex(re) => re
                .get()
                .and_then(|re| re.captures(req.path))
                .map(|c| c.iter().skip(1).flatten().map(|m| m.as_str()).collect())
                .unwrap_or_default(),
            PathMatcher::Literal(_) => Vec::new(),
        };
        for p in &self.params {
            let raw: Vec<String> = match p.location {
                In::Path => self
                    .path_names
                    .iter()
                    .position(|n| *n == p.name)
                    .and_then(|i| captures.get(i))
                    .map(|m| {
                        percent_encoding::percent_decode_str(m)
                            .decode_utf8_lossy()
                            .into_owned()
                    })
                    .into_iter()
                    .collect(),
                In::Query => req
                    .query
                    .iter()
                    .filter(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.clone())
                    .collect(),
                In::Header => req
                    .headers
                    .get_all(p.name.as_str())
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .collect(),
                In::Cookie => cookies(req.headers)
                    .filter(|(k, _)| *k == p.name)
                    .map(|(_, v)| v.to_owned())
                    .collect(),
            };
            if raw.is_empty() {
                if p.required {
                    problems.push(Problem {
                        location: p.location.as_str(),
                        name: p.name.clone(),
                        message: format!("required {} parameter is missing", p.location.as_str()),
                    });
                }
                continue;
            }
            let value = read_param(&raw, p);
            if let Some(v) = p.checker.as_ref().and_then(|c| c.get(&self.defs)) {
                for err in v.iter_errors(&value) {
                    problems.push(Problem {
                        location: p.location.as_str(),
                        name: p.name.clone(),
                        message: describe(&err),
                    });
                }
            }
        }
        if let Some(body) = &self.body {
            check_body(body, &self.defs, req, &mut problems);
        }
        problems
    }
}

fn check_body(
    body: &RequestBody,
    defs: &[Value],
    req: &OasRequest<'_>,
    problems: &mut Vec<Problem>,
) {
    if req.body.is_empty() {
        if body.required {
            problems.push(Problem {
                location: "body",
                name: "body".into(),
                message: "a request body is required".into(),
            });
        }
        return;
    }
    let content_type = req
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let sent = essence(content_type);
    let found = body
        .media
        .iter()
        .find(|(m, _)| media_matches(&essence(m), &sent))
        .or_else(|| {
            // No Content-Type: the first declared media type.
            content_type
                .is_empty()
                .then(|| body.media.first())
                .flatten()
        });
    let Some((_, validator)) = found else {
        let declared: Vec<&str> = body.media.iter().map(|(m, _)| m.as_str()).collect();
        problems.push(Problem {
            location: "header",
            name: "content-type".into(),
            message: format!(
                "{content_type:?} is not a media type the request body declares ({})",
                declared.join(", ")
            ),
        });
        return;
    };
    let Some(validator) = validator.as_ref().and_then(|c| c.get(defs)) else {
        return;
    };
    let value: Value = match serde_json::from_slice(req.body) {
        Ok(v) => v,
        Err(err) => {
            problems.push(Problem {
                location: "body",
                name: "body".into(),
                message: format!("the body is not valid JSON: {err}"),
            });
            return;
        }
    };
    for err in validator.iter_errors(&value) {
        let pointer = err.instance_path().to_string();
        problems.push(Problem {
            location: "body",
            name: if pointer.is_empty() {
                "body".into()
            } else {
                pointer
            },
            message: err.to_string(),
        });
    }
}

/// A validation error as one line: the message and its keyword.
pub fn describe(err: &jsonschema::ValidationError<'_>) -> String {
    format!("{err} ({})", err.kind().keyword())
}

/// The request's cookies, as name and value.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim(), v.trim()))
        })
}

/// A parameter's text as the JSON value its schema describes.
fn read_param(raw: &[String], p: &Param) -> Value {
    let is_array = p.shape.types.iter().any(|t| t == "array");
    if is_array {
        let items: Vec<&str> = if raw.len() > 1 || (p.location == In::Query && p.explode) {
            raw.iter().map(String::as_str).collect()
        } else {
            raw[0].split(',').map(str::trim).collect()
        };
        return Value::Array(
            items
                .into_iter()
                .map(|s| coerce(s, &p.shape.item_types))
                .collect(),
        );
    }
    let text = match p.location {
        In::Header => raw.join(", "),
        _ => raw[0].clone(),
    };
    coerce(&text, &p.shape.types)
}

/// Text read as the first of `types` it can be.
fn coerce(text: &str, types: &[String]) -> Value {
    let has = |t: &str| types.iter().any(|x| x == t);
    if has("integer")
        && let Ok(i) = text.parse::<i64>()
    {
        return Value::from(i);
    }
    if (has("number") || has("integer"))
        && let Ok(f) = text.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    if has("boolean") && (text == "true" || text == "false") {
        return Value::Bool(text == "true");
    }
    if has("null") && (text == "null" || (text.is_empty() && !has("string"))) {
        return Value::Null;
    }
    Value::String(text.to_owned())
}

/// `type/subtype` of a media type, lowercase, without parameters.
pub fn essence(media: &str) -> String {
    media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// Whether a declared media type (possibly a range) and a sent or accepted one match.
fn media_matches(declared: &str, other: &str) -> bool {
    let split = |m: &str| {
        let (t, s) = m.split_once('/').unwrap_or((m, "*"));
        (t.to_owned(), s.to_owned())
    };
    let (dt, ds) = split(declared);
    let (ot, os) = split(other);
    (dt == "*" || ot == "*" || dt == ot) && (ds == "*" || os == "*" || ds == os)
}

/// The declared media type `accept` prefers: highest quality, then declaration order.
fn negotiate<'m>(accept: &str, media: &'m [Media]) -> Option<&'m Media> {
    let ranges: Vec<(String, f32, usize)> = accept
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let range = pieces.next()?.trim().to_ascii_lowercase();
            if range.is_empty() {
                return None;
            }
            let q = pieces
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let specificity = match range.as_str() {
                "*/*" => 0,
                r if r.ends_with("/*") => 1,
                _ => 2,
            };
            Some((range, q, specificity))
        })
        .collect();
    let mut best: Option<(&Media, f32)> = None;
    for m in media {
        // The most specific range that matches decides the quality.
        let q = ranges
            .iter()
            .filter(|(r, _, _)| media_matches(r, &m.essence))
            .max_by_key(|(_, _, s)| *s)
            .map(|(_, q, _)| *q);
        if let Some(q) = q
            && q > 0.0
            && best.is_none_or(|(_, bq)| q > bq)
        {
            best = Some((m, q));
        }
    }
    best.map(|(m, _)| m)
}

/// A value as the body of a media type: JSON text, or a string as it is.
pub fn serialize(value: &Value, json: bool) -> Bytes {
    match value {
        Value::String(s) if !json => Bytes::from(s.clone()),
        v => Bytes::from(serde_json::to_vec(v).unwrap_or_default()),
    }
}
