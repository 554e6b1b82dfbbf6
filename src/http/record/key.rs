//! The match key of a recording: which parts of a request tell recorded exchanges apart
//! (`--match method,path,query,header:NAME,body`), the `request` matcher a key is written as,
//! and which headers are redacted.
//!
//! A key is written as a native `request` matcher that accepts exactly the requests with that
//! key: `method` and `path` as escaped whole-value regexes, `query` and `headers` per name
//! (a header the request lacks is `null`: it must be absent), `body` as an anchored, escaped
//! regex. Two requests have the same key when they give the same matcher, so the matcher's
//! JSON text is the key itself, also for the routes of a file recorded before.

use actix_http::header::HeaderMap;
use serde_json::{Map, Value};

/// Longest request body put in a key, in bytes; a longer body is matched on its start.
const BODY_KEY_BYTES: usize = 8 * 1024;

/// What a recorded request is matched on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKey {
    method: bool,
    path: bool,
    query: bool,
    /// Lower-case header names.
    headers: Vec<String>,
    body: BodyKey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKey {
    /// For methods that carry a body (`POST`, `PUT`, `PATCH`) and any request that sent one.
    WhenSent,
    Always,
    Never,
}

impl Default for MatchKey {
    /// Method, path and query, plus the body for methods that carry one.
    fn default() -> Self {
        MatchKey {
            method: true,
            path: true,
            query: true,
            headers: Vec::new(),
            body: BodyKey::WhenSent,
        }
    }
}

impl std::str::FromStr for MatchKey {
    type Err = String;

    /// `method,path,query,header:NAME,body`, in any order; what is not listed is not matched.
    fn from_str(text: &str) -> Result<Self, String> {
        let mut key = MatchKey {
            method: false,
            path: false,
            query: false,
            headers: Vec::new(),
            body: BodyKey::Never,
        };
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.to_ascii_lowercase().as_str() {
                "method" => key.method = true,
                "path" => key.path = true,
                "query" => key.query = true,
                "body" => key.body = BodyKey::Always,
                other => {
                    let Some(name) = other.strip_prefix("header:").map(str::trim) else {
                        return Err(format!(
                            "unknown match key part {part:?}; expected method, path, query, \
                             header:NAME or body"
                        ));
                    };
                    if actix_http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                        return Err(format!("{part:?}: {name:?} is not a header name"));
                    }
                    if is_redacted(name) {
                        return Err(format!(
                            "{part:?}: {name} is redacted in recordings and never matched on"
                        ));
                    }
                    if !key.headers.iter().any(|h| h == name) {
                        key.headers.push(name.to_owned());
                    }
                }
            }
        }
        if !(key.method || key.path || key.query || key.body == BodyKey::Always)
            && key.headers.is_empty()
        {
            return Err(
                "the match key is empty; list at least one of method, path, query, \
                        header:NAME, body"
                    .into(),
            );
        }
        Ok(key)
    }
}

/// Whether a header's value never reaches a recording: `Authorization`,
/// `Proxy-Authorization`, `Cookie`, `Set-Cookie` and names containing `token`, `secret` or
/// `api-key`.
pub fn is_redacted(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || ["token", "secret", "api-key"]
        .iter()
        .any(|part| name.contains(part))
}

/// A request's key, as the `request` matcher it is written as.
pub struct Key {
    /// The matcher.
    pub matcher: Value,
    /// Its JSON text: equal keys, equal texts.
    pub text: String,
}

/// The parts of a request a key is made of.
pub struct RequestParts<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub raw_query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

impl MatchKey {
    /// Also matches on the body of methods that carry one (as the default key does).
    pub fn body_when_sent(&mut self) {
        if self.body == BodyKey::Never {
            self.body = BodyKey::WhenSent;
        }
    }

    /// The key of a request.
    pub fn of(&self, req: &RequestParts<'_>) -> Key {
        let mut m = Map::new();
        if self.method {
            m.insert("method".into(), exact(req.method));
        }
        if self.path {
            m.insert("path".into(), exact(req.path));
        }
        if self.query {
            let mut params: Vec<(String, String)> =
                form_urlencoded::parse(req.raw_query.as_bytes())
                    .into_owned()
                    .collect();
            // Stable by name: the first value of a repeated parameter is the one matched on.
            params.sort_by(|a, b| a.0.cmp(&b.0));
            params.dedup_by(|b, a| a.0 == b.0);
            if !params.is_empty() {
                let query: Map<String, Value> =
                    params.into_iter().map(|(k, v)| (k, exact(&v))).collect();
                m.insert("query".into(), Value::Object(query));
            }
        }
        if !self.headers.is_empty() {
            let headers: Map<String, Value> = self
                .headers
                .iter()
                .map(|name| {
                    let value = req
                        .headers
                        .get(name.as_str())
                        .map(|v| exact(&String::from_utf8_lossy(v.as_bytes())))
                        .unwrap_or(Value::Null);
                    (name.clone(), value)
                })
                .collect();
            m.insert("headers".into(), Value::Object(headers));
        }
        let with_body = match self.body {
            BodyKey::Always => true,
            BodyKey::Never => false,
            BodyKey::WhenSent => {
                !req.body.is_empty() || matches!(req.method, "POST" | "PUT" | "PATCH")
            }
        };
        if with_body {
            m.insert("body".into(), Value::String(body_regex(req.body)));
        }
        let matcher = Value::Object(m);
        let text = matcher.to_string();
        Key { matcher, text }
    }
}

/// A regex that matches exactly `text` (matchers are whole-value).
fn exact(text: &str) -> Value {
    Value::String(regex::escape(text))
}

/// An anchored regex matching the body as understudy reads it (UTF-8, invalid bytes as
/// U+FFFD): the whole body, or its first [`BODY_KEY_BYTES`] for a longer one.
fn body_regex(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    if text.len() <= BODY_KEY_BYTES {
        return format!("^{}$", regex::escape(&text));
    }
    let mut end = BODY_KEY_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("^{}", regex::escape(&text[..end]))
}

/// How many of a matcher's parts narrow it beyond method and path (query parameters,
/// headers, a body): a more specific route must come first, or a less specific one with
/// the same method and path would take its requests.
pub fn specificity(matcher: &Value) -> usize {
    let count = |k: &str| {
        matcher
            .get(k)
            .and_then(Value::as_object)
            .map_or(0, Map::len)
    };
    count("query") + count("headers") + usize::from(matcher.get("body").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(spec: &MatchKey, method: &str, target: &str, headers: &HeaderMap, body: &[u8]) -> Key {
        let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
        spec.of(&RequestParts {
            method,
            path,
            raw_query,
            headers,
            body,
        })
    }

    #[test]
    fn the_default_key_is_method_path_query_and_the_body_of_methods_with_one() {
        let spec = MatchKey::default();
        let h = HeaderMap::new();
        let a = key(&spec, "GET", "/a.b?y=2&x=1+1", &h, b"");
        assert_eq!(
            a.matcher,
            serde_json::json!({"method": "GET", "path": "/a\\.b",
                               "query": {"x": "1 1", "y": "2"}})
        );
        assert_eq!(
            a.text,
            key(&spec, "GET", "/a.b?x=1%201&y=2", &h, b"").text,
            "same parameters, same key"
        );
        let post = key(&spec, "POST", "/a", &h, b"");
        assert_eq!(post.matcher["body"], "^$");
        let post = key(&spec, "POST", "/a", &h, b"{\"n\":1}");
        assert_eq!(post.matcher["body"], "^\\{\"n\":1\\}$");
        assert_eq!(specificity(&post.matcher), 1);
    }

    #[test]
    fn match_lists_parse_and_refuse_redacted_headers() {
        let spec: MatchKey = "method, path, header:X-Tenant".parse().expect("parses");
        let mut h = HeaderMap::new();
        h.insert(
            actix_http::header::HeaderName::from_static("x-tenant"),
            actix_http::header::HeaderValue::from_static("a+b"),
        );
        let k = key(&spec, "PUT", "/t?q=1", &h, b"ignored");
        assert_eq!(
            k.matcher,
            serde_json::json!({"method": "PUT", "path": "/t", "headers": {"x-tenant": "a\\+b"}})
        );
        let k = key(&spec, "PUT", "/t", &HeaderMap::new(), b"");
        assert_eq!(k.matcher["headers"]["x-tenant"], Value::Null);
        for bad in [
            "header:Authorization",
            "header:x-api-key",
            "header:Cookie",
            "header:x-auth-token",
            "nope",
            "",
        ] {
            assert!(bad.parse::<MatchKey>().is_err(), "{bad}");
        }
    }

    #[test]
    fn redaction_covers_the_named_headers_and_name_parts() {
        for name in [
            "Authorization",
            "proxy-authorization",
            "Cookie",
            "Set-Cookie",
            "X-CSRF-Token",
            "x-client-secret",
            "X-Api-Key",
        ] {
            assert!(is_redacted(name), "{name}");
        }
        assert!(!is_redacted("content-type") && !is_redacted("x-request-id"));
    }
}
