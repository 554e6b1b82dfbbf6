//! Compiling a response: status line, headers, body bytes and default Content-Type.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use actix_http::header::{self, HeaderName, HeaderValue};
use actix_http::{ConnectionType, StatusCode};
use base64::Engine as _;
use bytes::Bytes;

use super::compiled::{CompiledResponse, DiskBody};
use super::ctx::{Ctx, header_name_problem, header_value_problem};
use super::diag::JsonPath;
use super::model::{self, OneOrMany};

/// Largest `file` body read into memory; larger ones are sent from disk as they are read.
const MAX_FILE_BODY: u64 = 64 * 1024 * 1024;

/// Most distinct custom reason phrases a process keeps. Each one is kept for the life of the
/// process (actix's status line takes `&'static str`), so scenarios put through the admin API
/// cannot grow memory without bound; past the cap, a new phrase gets the status's default
/// phrase and a load warning.
pub const MAX_REASON_PHRASES: usize = 1024;

/// Compiles one response; `None` when it has problems (already recorded in `cx`).
pub(crate) fn compile(
    cx: &mut Ctx<'_>,
    r: &model::Response,
    at: &JsonPath,
) -> Option<CompiledResponse> {
    if let Some(proxy) = &r.proxy {
        return compile_proxy_answer(cx, r, proxy, at);
    }
    let Some(status_code) = r.status else {
        cx.error(
            at,
            "missing required key \"status\" (e.g. \"status\": 200; or \"proxy\" to forward \
             the request upstream)",
        );
        return None;
    };
    let before = cx.diags.len();

    let status = if (100..=599).contains(&status_code) {
        StatusCode::from_u16(status_code).ok()
    } else {
        cx.error(
            &at.key("status"),
            format!("expected an integer status code from 100 to 599, found {status_code}"),
        );
        None
    };

    let reason = match &r.reason {
        Some(text) if text.bytes().any(|b| b.is_ascii_control() && b != b'\t') => {
            cx.error(
                &at.key("reason"),
                format!(
                    "reason phrase {text:?} must not contain CR, LF or other control characters"
                ),
            );
            None
        }
        Some(text) => Some(text.as_str()),
        None => status.map(default_reason),
    };

    check_switch(cx, r, at);
    let (headers, connection) = compile_headers(cx, r.headers.as_ref(), &at.key("headers"));
    let mut disk = None;
    let body = compile_body(cx, r, at, &mut disk);
    if disk.is_some() {
        for (key, present) in [
            ("template", r.template == Some(true)),
            ("chunks", r.chunks.is_some()),
            ("fault", r.fault.is_some()),
        ] {
            if present {
                cx.error(
                    &at.key(key),
                    format!(
                        "the file body is over {MAX_FILE_BODY} bytes and is sent from disk \
                         as it is read: \"{key}\" does not apply to it"
                    ),
                );
            }
        }
    }
    let template = if r.template == Some(true) {
        compile_template(cx, r, at)
    } else {
        None
    };
    let (delay, chunks) = compile_pacing(cx, r, at);
    let informational = match &r.informational {
        Some(list) => super::upgrade::informational(cx, list, &at.key("informational")),
        None => None,
    };
    let switch = if status_code == 101 {
        super::upgrade::switch(cx, r, at)
    } else {
        None
    };
    if r.fault == Some(model::Fault::TruncatedBody)
        && body.as_ref().is_none_or(|(b, _)| b.len() < 2)
        && template.is_none()
    {
        cx.error(
            &at.key("fault"),
            "truncated_body needs a body of at least 2 bytes to cut in half",
        );
    }
    if r.fault.is_some() && r.chunks.is_some() {
        cx.error(
            &at.key("chunks"),
            "a response with a fault sends no body to dribble; remove chunks or fault",
        );
    }

    if cx.diags.len() > before {
        return None;
    }
    let status = status?;
    // Interned only once the response is known to be valid: a refused document takes no
    // place in the set.
    let reason = match (&r.reason, reason?) {
        (Some(_), text) => intern(text).unwrap_or_else(|| {
            let fallback = default_reason(status);
            cx.warn(
                &at.key("reason"),
                format!(
                    "reason phrase {text:?} is not used: this process already keeps \
                     {MAX_REASON_PHRASES} distinct custom reason phrases, the most it keeps \
                     until it restarts; the status line says \"{} {fallback}\" instead",
                    status.as_u16()
                ),
            );
            fallback
        }),
        (None, _) => default_reason(status),
    };
    let (body, default_type) = body.unwrap_or((Bytes::new(), None));
    let has_content_type = r
        .headers
        .iter()
        .flatten()
        .any(|(n, _)| n.eq_ignore_ascii_case("content-type"));
    // With a template, configured headers are rendered per request; only the default
    // Content-Type stays static.
    let mut headers = if template.is_some() {
        Vec::new()
    } else {
        headers
    };
    if let Some(ct) = default_type
        && !has_content_type
    {
        headers.reserve_exact(1);
        headers.push((header::CONTENT_TYPE, HeaderValue::from_static(ct)));
    }
    // Kept for the server's life, once per answer: no spare capacity (a first push reserves
    // room for four headers).
    headers.shrink_to_fit();
    Some(CompiledResponse {
        status,
        reason,
        headers,
        connection,
        body,
        template,
        hbs: None,
        openapi: None,
        delay: delay.map(Box::new),
        chunks: chunks.map(Box::new),
        fault: r.fault,
        informational: informational.map(Box::new),
        switch,
        proxy: None,
        disk,
    })
}

/// Compiles a `proxy` answer: only `delayMs` and `repeat` may be beside it (the upstream's
/// answer is sent as it is).
fn compile_proxy_answer(
    cx: &mut Ctx<'_>,
    r: &model::Response,
    p: &model::Proxy,
    at: &JsonPath,
) -> Option<CompiledResponse> {
    let before = cx.diags.len();
    for (key, present) in [
        ("status", r.status.is_some()),
        ("reason", r.reason.is_some()),
        ("headers", r.headers.is_some()),
        ("body", r.body.is_some()),
        ("json", r.json.is_some()),
        ("base64", r.base64.is_some()),
        ("file", r.file.is_some()),
        ("template", r.template.is_some()),
        ("chunks", r.chunks.is_some()),
        ("fault", r.fault.is_some()),
        ("websocket", r.websocket.is_some()),
        ("upgrade", r.upgrade.is_some()),
        ("informational", r.informational.is_some()),
    ] {
        if present {
            cx.error_at_key(
                &at.key(key),
                format!(
                    "\"{key}\" does not apply to a proxy answer: the upstream's answer is sent \
                     as it is (only \"delayMs\" and \"repeat\" go beside \"proxy\")"
                ),
            );
        }
    }
    let proxy = compile_proxy(cx, p, &at.key("proxy"));
    let (delay, _) = compile_pacing(cx, r, at);
    if cx.diags.len() > before {
        return None;
    }
    Some(CompiledResponse {
        status: StatusCode::OK,
        reason: default_reason(StatusCode::OK),
        headers: Vec::new(),
        connection: None,
        body: Bytes::new(),
        template: None,
        hbs: None,
        openapi: None,
        delay: delay.map(Box::new),
        chunks: None,
        fault: None,
        informational: None,
        switch: None,
        proxy: Some(std::sync::Arc::new(proxy?)),
        disk: None,
    })
}

/// Validates a `proxy` object: `to` must be an `http(s)://host[:port][/path]` URL.
pub(crate) fn compile_proxy(
    cx: &mut Ctx<'_>,
    p: &model::Proxy,
    at: &JsonPath,
) -> Option<super::compiled::Proxy> {
    let before = cx.diags.len();
    let to = p.to.trim();
    let parsed = match to.parse::<actix_http::Uri>() {
        Ok(uri) => Some(uri),
        Err(err) => {
            cx.error(
                &at.key("to"),
                format!("{to:?} is not a URL: {err}; expected http://host:port"),
            );
            None
        }
    };
    let mut target = None;
    if let Some(uri) = parsed {
        let scheme = uri.scheme_str().unwrap_or_default();
        let problem = match (scheme, uri.authority()) {
            ("", _) | (_, None) => Some(format!(
                "{to:?} is not an absolute URL; expected http://host:port"
            )),
            ("http" | "https", Some(auth)) if auth.as_str().contains('@') => Some(format!(
                "{to:?}: user information in the URL is not supported; use addHeaders for \
                 an Authorization header"
            )),
            ("http" | "https", Some(_)) if uri.query().is_some() || to.contains('#') => Some(
                format!("{to:?}: the upstream URL cannot have a query or fragment"),
            ),
            ("http" | "https", Some(_)) => None,
            (other, _) => Some(format!(
                "{to:?}: scheme {other:?} cannot be proxied to; expected http:// or https://"
            )),
        };
        match (problem, uri.authority()) {
            (Some(problem), _) => cx.error(&at.key("to"), problem),
            (None, Some(auth)) => {
                target = Some((
                    uri.scheme_str().unwrap_or("http").to_owned(),
                    auth.as_str().to_owned(),
                    uri.path().to_owned(),
                ))
            }
            (None, None) => {}
        }
    }
    if let Some(prefix) = &p.strip_prefix
        && !prefix.starts_with('/')
    {
        cx.error(
            &at.key("stripPrefix"),
            format!("{prefix:?} must start with \"/\" (it is removed from the request's path)"),
        );
    }
    let mut add_headers = Vec::new();
    for (name, value) in p.add_headers.iter().flatten() {
        let key = at.key("addHeaders").key(name);
        if let Some(problem) = header_name_problem(name) {
            cx.error_at_key(&key, problem);
            continue;
        }
        if let Some(problem) = header_value_problem(value) {
            cx.error(&key, problem);
            continue;
        }
        match (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            (Ok(n), Ok(v)) => add_headers.push((n, v)),
            _ => cx.error(&key, format!("{name}: {value:?} is not a valid header")),
        }
    }
    let mut remove_headers = Vec::new();
    for (i, name) in p.remove_headers.iter().flatten().enumerate() {
        match HeaderName::from_bytes(name.as_bytes()) {
            Ok(n) => remove_headers.push(n),
            Err(_) => cx.error(
                &at.key("removeHeaders").index(i),
                format!("{name:?} is not a valid header name"),
            ),
        }
    }
    if p.timeout_ms == Some(0) {
        cx.error(
            &at.key("timeoutMs"),
            "timeoutMs must be at least 1 (it is how long the upstream has to answer)",
        );
    }
    if cx.diags.len() > before {
        return None;
    }
    let (scheme, authority, path) = target?;
    Some(super::compiled::Proxy {
        scheme: scheme.into(),
        authority: authority.into(),
        base_path: path.trim_end_matches('/').into(),
        strip_prefix: p
            .strip_prefix
            .as_deref()
            .map(|s| s.trim_end_matches('/'))
            .filter(|s| !s.is_empty())
            .map(Box::from),
        add_headers,
        remove_headers,
        timeout: std::time::Duration::from_millis(p.timeout_ms.unwrap_or(10_000)),
    })
}

/// Parses header values and the `body`/`json` body as templates (syntax errors are load
/// errors at the string's position).
fn compile_template(
    cx: &mut Ctx<'_>,
    r: &model::Response,
    at: &JsonPath,
) -> Option<std::sync::Arc<crate::scenario::template::ResponseTemplate>> {
    use crate::scenario::template::{BodyTemplate, TemplateBuilder};
    let before = cx.diags.len();
    let mut builder = TemplateBuilder::new(cx.origin.limits.template_fuel);
    let mut headers = Vec::new();
    for (name, values) in r.headers.iter().flatten() {
        let Ok(hname) = HeaderName::from_bytes(name.as_bytes()) else {
            continue;
        };
        if hname == header::CONNECTION {
            continue;
        }
        for (i, value) in values.as_slice().iter().enumerate() {
            let p = if matches!(values, OneOrMany::Many(_)) {
                at.key("headers").key(name).index(i)
            } else {
                at.key("headers").key(name)
            };
            match builder.add(value) {
                Ok(t) => headers.push((hname.clone(), t)),
                Err(err) => cx.error(&p, format!("template error: {err}")),
            }
        }
    }
    let body = if let Some(text) = &r.body {
        match builder.add(text) {
            Ok(t) => Some(BodyTemplate::Text(t)),
            Err(err) => {
                cx.error(&at.key("body"), format!("template error: {err}"));
                None
            }
        }
    } else if let Some(value) = &r.json {
        match builder.json(value, &at.key("json")) {
            Ok(t) => Some(BodyTemplate::Json(t)),
            Err((path, err)) => {
                cx.error(&path, format!("template error: {err}"));
                None
            }
        }
    } else {
        None
    };
    (cx.diags.len() == before).then(|| builder.finish(headers, body))
}

/// `delayMs` and `chunks`, validated.
fn compile_pacing(
    cx: &mut Ctx<'_>,
    r: &model::Response,
    at: &JsonPath,
) -> (
    Option<super::compiled::Delay>,
    Option<(usize, std::time::Duration)>,
) {
    use super::compiled::Delay;
    use std::time::Duration;
    let delay = match &r.delay_ms {
        None => None,
        Some(model::Delay::Fixed(ms)) => Some(Delay::Fixed(Duration::from_millis(*ms))),
        Some(model::Delay::Range(range)) if range.min > range.max => {
            cx.error(
                &at.key("delayMs"),
                format!("min ({}) must not exceed max ({})", range.min, range.max),
            );
            None
        }
        Some(model::Delay::Range(range)) => Some(Delay::Uniform(range.min, range.max)),
    };
    let chunks = match &r.chunks {
        None => None,
        Some(c) if c.size == 0 => {
            cx.error(
                &at.key("chunks").key("size"),
                "chunk size must be at least 1 byte",
            );
            None
        }
        Some(c) => Some((
            usize::try_from(c.size).unwrap_or(usize::MAX),
            Duration::from_millis(c.interval_ms),
        )),
    };
    (delay, chunks)
}

/// Keys of the format that later versions implement; 101 consistency is checked here too.
/// The 101 consistency rules: `websocket`/`upgrade` need status 101 and vice versa.
fn check_switch(cx: &mut Ctx<'_>, r: &model::Response, at: &JsonPath) {
    match (&r.websocket, &r.upgrade) {
        (Some(_), Some(_)) => cx.error(
            at,
            "a response has either \"websocket\" or \"upgrade\", not both",
        ),
        (Some(_), None) | (None, Some(_)) if r.status != Some(101) => {
            let key = if r.websocket.is_some() {
                "websocket"
            } else {
                "upgrade"
            };
            cx.error(
                &at.key(key),
                format!(
                    "\"{key}\" needs status 101, found {}",
                    r.status.unwrap_or_default()
                ),
            );
        }
        (Some(_), None) | (None, Some(_)) => {
            for (key, present) in [
                ("delayMs", r.delay_ms.is_some()),
                ("chunks", r.chunks.is_some()),
                ("fault", r.fault.is_some()),
                ("informational", r.informational.is_some()),
            ] {
                if present {
                    cx.error(
                        &at.key(key),
                        format!("\"{key}\" does not apply to a 101 response"),
                    );
                }
            }
        }
        (None, None) if r.status == Some(101) => cx.error(
            &at.key("status"),
            "status 101 needs \"websocket\" or \"upgrade\" to say what happens after the switch",
        ),
        _ => {}
    }
}

fn compile_headers(
    cx: &mut Ctx<'_>,
    headers: Option<&indexmap::IndexMap<String, OneOrMany>>,
    at: &JsonPath,
) -> (Vec<(HeaderName, HeaderValue)>, Option<ConnectionType>) {
    let mut out = Vec::new();
    let mut connection = None;
    for (name, values) in headers.into_iter().flatten() {
        let p = at.key(name);
        if let Some(problem) = header_name_problem(name) {
            cx.error_at_key(&p, problem);
            continue;
        }
        let Ok(hname) = HeaderName::from_bytes(name.as_bytes()) else {
            cx.error(&p, format!("{name:?} is not a valid header name"));
            continue;
        };
        if hname == header::CONTENT_LENGTH || hname == header::TRANSFER_ENCODING {
            cx.error(
                &p,
                format!("{name} is computed from the body and cannot be set"),
            );
            continue;
        }
        for (i, value) in values.as_slice().iter().enumerate() {
            let vp = if matches!(values, OneOrMany::Many(_)) {
                p.index(i)
            } else {
                p.clone()
            };
            if let Some(problem) = header_value_problem(value) {
                cx.error(&vp, problem);
                continue;
            }
            if hname == header::CONNECTION {
                match value.to_ascii_lowercase().as_str() {
                    "close" => connection = Some(ConnectionType::Close),
                    "keep-alive" => connection = Some(ConnectionType::KeepAlive),
                    _ => cx.error(&vp, "Connection may only be \"close\" or \"keep-alive\""),
                }
                continue;
            }
            match HeaderValue::from_bytes(value.as_bytes()) {
                Ok(v) => out.push((hname.clone(), v)),
                Err(_) => cx.error(
                    &vp,
                    format!("header value {value:?} has characters not allowed in a header"),
                ),
            }
        }
    }
    (out, connection)
}

/// The body bytes and the default Content-Type its kind implies; a `file` body too large to
/// hold in memory goes into `disk` (and its bytes are empty).
fn compile_body(
    cx: &mut Ctx<'_>,
    r: &model::Response,
    at: &JsonPath,
    disk: &mut Option<std::sync::Arc<DiskBody>>,
) -> Option<(Bytes, Option<&'static str>)> {
    let given: Vec<&str> = [
        ("body", r.body.is_some()),
        ("json", r.json.is_some()),
        ("base64", r.base64.is_some()),
        ("file", r.file.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, present)| present.then_some(k))
    .collect();
    if given.len() > 1 {
        cx.error(
            &at.key(given[1]),
            format!(
                "a response has at most one body; found {}",
                given.join(" and ")
            ),
        );
        return None;
    }
    let key = *given.first()?;
    let status = r.status.unwrap_or_default();
    if status < 200 || status == 204 || status == 304 {
        cx.error(
            &at.key(key),
            format!("a {status} response cannot have a body"),
        );
        return None;
    }
    let p = at.key(key);
    if let Some(text) = &r.body {
        return Some((Bytes::from(text.clone()), Some("text/plain; charset=utf-8")));
    }
    if let Some(value) = &r.json {
        #[allow(clippy::expect_used)] // invariant: a serde_json::Value always serializes
        let bytes = serde_json::to_vec(value).expect("a JSON value always serializes");
        return Some((Bytes::from(bytes), Some("application/json")));
    }
    if let Some(b64) = &r.base64 {
        return match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
            Ok(bytes) => Some((Bytes::from(bytes), Some("application/octet-stream"))),
            Err(err) => {
                cx.error(&p, format!("not valid base64: {err}"));
                None
            }
        };
    }
    let rel = r.file.as_deref()?;
    let bytes = match read_confined(cx, rel, &p)? {
        FileBody::Memory(bytes) => bytes,
        FileBody::Disk(on_disk) => {
            *disk = Some(std::sync::Arc::new(on_disk));
            Bytes::new()
        }
    };
    let mime = mime_guess::from_path(rel)
        .first_raw()
        .unwrap_or("application/octet-stream");
    Some((bytes, Some(mime)))
}

/// Whether `rel`, taken from the folder `base` (relative to the scenarios directory), climbs
/// above the scenarios directory by `..`, judged on the text alone.
fn climbs_out(base: &std::path::Path, rel: &std::path::Path) -> bool {
    use std::path::Component;
    let mut depth: usize = 0;
    for part in base.components().chain(rel.components()) {
        match part {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => match depth.checked_sub(1) {
                Some(d) => depth = d,
                None => return true,
            },
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

/// A `file` body as loaded.
enum FileBody {
    /// Read into memory.
    Memory(Bytes),
    /// Over [`MAX_FILE_BODY`]: read from disk at each answer.
    Disk(DiskBody),
}

/// Reads a `file` body (or notes where it is, when too large to hold), refusing anything that resolves outside the scenarios directory:
/// absolute paths, `..` that climbs out, and symbolic links that lead out (checked on the
/// canonical path, at every load and reload of the scenario file).
fn read_confined(cx: &mut Ctx<'_>, rel: &str, p: &JsonPath) -> Option<FileBody> {
    cx.read_files = true;
    let path = std::path::Path::new(rel);
    if path.is_absolute() || path.has_root() {
        cx.error(
            p,
            format!(
                "file {rel:?} is an absolute path; file bodies are read relative to the \
                 scenario file's folder and must stay inside the scenarios directory"
            ),
        );
        return None;
    }
    let base = cx
        .origin
        .relative
        .as_deref()
        .and_then(std::path::Path::parent)
        .unwrap_or(std::path::Path::new(""));
    if climbs_out(base, path) {
        cx.error(
            p,
            format!(
                "file {rel:?} leaves the scenarios directory through \"..\"; file bodies \
                 must stay inside it"
            ),
        );
        return None;
    }
    let joined = cx.origin.dir.join(path);
    let resolved = match joined.canonicalize() {
        Ok(r) => r,
        Err(err) => {
            cx.error(p, format!("cannot read file {rel:?}: {err}"));
            return None;
        }
    };
    let root = match cx.origin.root {
        Some(root) => std::borrow::Cow::Borrowed(root),
        None => match cx.origin.dir.canonicalize() {
            Ok(root) => std::borrow::Cow::Owned(root),
            Err(err) => {
                let dir = cx.origin.dir.display();
                cx.error(p, format!("cannot read {dir}: {err}"));
                return None;
            }
        },
    };
    if !resolved.starts_with(&*root) {
        cx.error(
            p,
            format!(
                "file {rel:?} resolves outside the scenarios directory through a symbolic \
                 link (to {}); file bodies must stay inside it",
                resolved.display()
            ),
        );
        return None;
    }
    let meta = match std::fs::metadata(&resolved) {
        Ok(m) if m.is_file() => m,
        Ok(_) => {
            cx.error(p, format!("file {rel:?} is not a regular file"));
            return None;
        }
        Err(err) => {
            cx.error(p, format!("cannot read file {rel:?}: {err}"));
            return None;
        }
    };
    if meta.len() > MAX_FILE_BODY {
        return Some(FileBody::Disk(DiskBody {
            path: resolved,
            len: meta.len(),
        }));
    }
    match std::fs::read(&resolved) {
        Ok(bytes) => Some(FileBody::Memory(Bytes::from(bytes))),
        Err(err) => {
            cx.error(p, format!("cannot read file {rel:?}: {err}"));
            None
        }
    }
}

/// Canonical phrase for registered codes, a class phrase for the others.
///
/// actix would otherwise write `<unknown status code>` on the status line.
pub fn default_reason(status: StatusCode) -> &'static str {
    let registered = match status.as_u16() {
        103 => Some("Early Hints"),
        425 => Some("Too Early"),
        _ => status.canonical_reason(),
    };
    registered.unwrap_or(match status.as_u16() {
        100..=199 => "Informational",
        200..=299 => "Success",
        300..=399 => "Redirection",
        400..=499 => "Client Error",
        _ => "Server Error",
    })
}

/// Distinct reason phrases kept for the life of the process, at most `cap` of them.
struct ReasonSet {
    phrases: HashSet<&'static str>,
    cap: usize,
}

impl ReasonSet {
    fn new(cap: usize) -> Self {
        ReasonSet {
            phrases: HashSet::new(),
            cap,
        }
    }

    /// The kept copy of `text`, kept now if the set has room; `None` when it is full.
    fn intern(&mut self, text: &str) -> Option<&'static str> {
        if let Some(s) = self.phrases.get(text) {
            return Some(s);
        }
        if self.phrases.len() >= self.cap {
            return None;
        }
        let leaked: &'static str = Box::leak(text.to_owned().into_boxed_str());
        self.phrases.insert(leaked);
        Some(leaked)
    }
}

/// Interns a reason phrase in the process-wide set ([`MAX_REASON_PHRASES`]): actix's status
/// line takes `&'static str`. `None` when the set is full and `text` is not in it.
fn intern(text: &str) -> Option<&'static str> {
    static SET: OnceLock<Mutex<ReasonSet>> = OnceLock::new();
    SET.get_or_init(|| Mutex::new(ReasonSet::new(MAX_REASON_PHRASES)))
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .intern(text)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{MAX_REASON_PHRASES, ReasonSet, climbs_out};

    #[test]
    fn reason_phrases_past_the_cap_fall_back_and_the_set_stays_at_the_cap() {
        // Arrange: a set of its own, filled to the cap.
        let mut set = ReasonSet::new(MAX_REASON_PHRASES);
        for i in 0..MAX_REASON_PHRASES {
            assert!(set.intern(&format!("Phrase {i}")).is_some(), "phrase {i}");
        }

        // Act
        let known = set.intern("Phrase 7");
        let new = set.intern("One Too Many");
        let newer = set.intern("Two Too Many");

        // Assert
        assert_eq!(known, Some("Phrase 7"), "a kept phrase is still served");
        assert_eq!(new, None, "a new phrase past the cap is refused");
        assert_eq!(newer, None);
        assert_eq!(set.phrases.len(), MAX_REASON_PHRASES);
    }

    #[test]
    fn dotdot_is_judged_from_the_scenario_files_folder() {
        assert!(climbs_out(Path::new(""), Path::new("../x")));
        assert!(climbs_out(Path::new(""), Path::new("a/../../x")));
        assert!(!climbs_out(
            Path::new("tour"),
            Path::new("../shared/logo.svg")
        ));
        assert!(climbs_out(Path::new("tour"), Path::new("../../logo.svg")));
        assert!(!climbs_out(Path::new(""), Path::new("./a/./b")));
    }
}
