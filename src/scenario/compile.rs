//! Validation and compilation: [`model::ScenarioFile`] → [`CompiledScenario`].
//!
//! Every rule of the contract that the type system cannot express is checked here: regexes
//! compile, statuses are 100–599, bodyless statuses have no body, `file` stays inside the
//! scenarios directory, headers are legal, ids are unique. All problems of a file are
//! collected (not just the first), each with its JSON path and position. Keys whose behaviour
//! a later version implements are refused with a "not supported yet" error rather than
//! silently ignored.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};

use super::compiled::{
    AfterLast, Answers, CompiledRoute, CompiledScenario, ExpectRule, MethodMatcher, RequestMatcher,
};
use super::diag::{Diagnostic, JsonPath, locate};
use super::model::{self, ExpectKeyword, ExpectMode, ScenarioFile};
use super::response;

/// Upper bound on the compiled size of one regex (bytes of automaton).
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Where a scenario document came from, for error positions and `file` confinement.
pub struct Origin<'a> {
    /// The file as shown in diagnostics.
    pub display: &'a Path,
    /// The JSON text, to recover positions.
    pub source: &'a str,
    /// Canonical scenarios directory; `file` bodies must resolve inside it.
    pub root: &'a Path,
    /// Folder that `file` paths are relative to.
    pub dir: &'a Path,
    /// Name used when the document has none.
    pub default_name: String,
    /// The file relative to the scenarios directory.
    pub relative: Option<PathBuf>,
}

/// Collects diagnostics for one document.
pub(crate) struct Ctx<'a> {
    pub(crate) origin: &'a Origin<'a>,
    pub(crate) diags: Vec<Diagnostic>,
}

impl Ctx<'_> {
    /// Records a problem at `path`.
    pub(crate) fn error(&mut self, path: &JsonPath, message: impl Into<String>) {
        let pos = locate(self.origin.source, path);
        self.diags.push(Diagnostic {
            file: self.origin.display.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Compiles a user regex; `anchored` wraps it as `^(?:…)$` for whole-value matching.
    pub(crate) fn regex(
        &mut self,
        pattern: &str,
        path: &JsonPath,
        anchored: bool,
    ) -> Option<Regex> {
        let full = if anchored {
            format!("^(?:{pattern})$")
        } else {
            pattern.to_owned()
        };
        match RegexBuilder::new(&full)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => Some(re),
            Err(err) => {
                self.error(path, regex_message(pattern, &err));
                None
            }
        }
    }
}

/// One line describing a regex error, with a hint for habits from other regex engines.
fn regex_message(pattern: &str, err: &regex::Error) -> String {
    let detail = match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(text)
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => {
            format!("compiled regex exceeds the size limit of {limit} bytes")
        }
        other => other.to_string(),
    };
    let mut msg = format!("invalid regex {pattern:?}: {detail}");
    if detail.contains("look-around") || detail.contains("backreferences") {
        msg.push_str(
            " (hint: understudy uses Rust regex syntax, which matches in linear time and has no \
             look-around or backreferences)",
        );
    }
    msg
}

/// Validates and compiles one parsed scenario document.
pub fn compile(
    file: &ScenarioFile,
    source: serde_json::Value,
    origin: &Origin<'_>,
) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let mut cx = Ctx {
        origin,
        diags: Vec::new(),
    };
    let root = JsonPath::root();

    let name = match &file.name {
        Some(n) if n.trim().is_empty() => {
            cx.error(&root.key("name"), "scenario name must not be empty");
            String::new()
        }
        Some(n) => n.clone(),
        None => origin.default_name.clone(),
    };
    let initial_state = match &file.initial_state {
        Some(s) => {
            non_empty(&mut cx, &root.key("initialState"), s);
            s.clone()
        }
        None => "start".to_owned(),
    };

    let mut ids = HashSet::new();
    let mut routes = Vec::with_capacity(file.routes.len());
    for (i, route) in file.routes.iter().enumerate() {
        let at = root.key("routes").index(i);
        let id = route.id.clone().unwrap_or_else(|| i.to_string());
        if route.id.as_deref().is_some_and(|s| s.trim().is_empty()) {
            cx.error(&at.key("id"), "route id must not be empty");
        }
        if !ids.insert(id.clone()) {
            cx.error(
                &at.key("id"),
                format!("duplicate route id {id:?} in this file"),
            );
        }
        if let Some(compiled) = compile_route(&mut cx, route, &at, &name, id, i) {
            routes.push(compiled);
        }
    }

    if cx.diags.is_empty() {
        Ok(CompiledScenario {
            state: crate::state::ScenarioState::new(&initial_state, routes.len()),
            name,
            description: file.description.clone(),
            file: origin.relative.clone(),
            initial_state,
            routes,
            source,
        })
    } else {
        let mut diags = cx.diags;
        diags.sort_by_key(|d| (d.line, d.column));
        Err(diags)
    }
}

fn non_empty(cx: &mut Ctx<'_>, path: &JsonPath, s: &str) {
    if s.trim().is_empty() {
        cx.error(path, "state names must not be empty");
    }
}

fn compile_route(
    cx: &mut Ctx<'_>,
    route: &model::Route,
    at: &JsonPath,
    scenario: &str,
    id: String,
    index: usize,
) -> Option<CompiledRoute> {
    if let Some(states) = &route.when_state {
        let p = at.key("whenState");
        if states.as_slice().is_empty() {
            cx.error(&p, "whenState needs at least one state");
        }
        for (i, s) in states.as_slice().iter().enumerate() {
            let sp = if matches!(states, model::OneOrMany::One(_)) {
                p.clone()
            } else {
                p.index(i)
            };
            non_empty(cx, &sp, s);
        }
    }
    if let Some(s) = &route.set_state {
        non_empty(cx, &at.key("setState"), s);
    }
    if route.after_last.is_some() && route.responses.is_none() {
        cx.error(
            &at.key("afterLast"),
            "afterLast only applies to a \"responses\" script",
        );
    }
    let expect = match &route.expect {
        None | Some(ExpectMode::Mode(ExpectKeyword::Continue)) => ExpectRule::Continue,
        Some(ExpectMode::Mode(ExpectKeyword::Reject)) => ExpectRule::Reject,
        Some(ExpectMode::Mode(ExpectKeyword::Ignore)) => ExpectRule::Ignore,
        Some(ExpectMode::After(a)) => {
            ExpectRule::After(std::time::Duration::from_millis(a.continue_after_ms))
        }
    };

    let matcher = compile_matcher(cx, &route.request, &at.key("request"));

    let answers = match (&route.response, &route.responses) {
        (Some(r), None) => {
            let p = at.key("response");
            if r.repeat.is_some() {
                cx.error(
                    &p.key("repeat"),
                    "repeat only applies inside a \"responses\" script",
                );
            }
            response::compile(cx, r, &p).map(Answers::One)
        }
        (None, Some(list)) => {
            let p = at.key("responses");
            if list.is_empty() {
                cx.error(&p, "responses needs at least one response");
            }
            let mut steps = Vec::with_capacity(list.len());
            let mut ends = Vec::with_capacity(list.len());
            let mut total = 0u64;
            for (i, r) in list.iter().enumerate() {
                if r.repeat == Some(0) {
                    cx.error(&p.index(i).key("repeat"), "repeat must be at least 1");
                }
                total += u64::from(r.repeat.unwrap_or(1).max(1));
                ends.push(total);
                if let Some(step) = response::compile(cx, r, &p.index(i)) {
                    steps.push(step);
                }
            }
            (steps.len() == list.len() && !list.is_empty()).then(|| Answers::Script {
                steps,
                ends,
                after_last: route.after_last.unwrap_or(AfterLast::RepeatLast),
            })
        }
        (Some(_), Some(_)) => {
            cx.error(
                at,
                "a route has either \"response\" or \"responses\", not both",
            );
            None
        }
        (None, None) => {
            cx.error(
                at,
                "a route needs a \"response\" (or a \"responses\" script)",
            );
            None
        }
    };

    Some(CompiledRoute {
        full_name: format!("{scenario}/{id}"),
        id,
        index,
        priority: route.priority,
        matcher: matcher?,
        when_state: route.when_state.as_ref().map(|s| s.as_slice().to_vec()),
        set_state: route.set_state.clone(),
        answers: answers?,
        expect,
    })
}

/// Parses and compiles a standalone request matcher (the admin API's request count), with
/// the same rules and diagnostics as a route's `request`.
pub fn compile_request_matcher(
    display: &Path,
    text: &str,
) -> Result<RequestMatcher, Vec<Diagnostic>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed: Result<model::RequestMatcher, _> = serde_path_to_error::deserialize(&mut de);
    let matcher = match parsed.map_err(|err| (err.path().to_string(), err.into_inner())) {
        Ok(m) => m,
        Err((path, inner)) => {
            let message = inner.to_string();
            let message = message
                .rsplit_once(" at line ")
                .map_or(message.clone(), |(m, _)| m.to_owned());
            return Err(vec![Diagnostic {
                file: display.to_path_buf(),
                line: Some(inner.line().max(1)),
                column: Some(inner.column().max(1)),
                path: if path.is_empty() || path == "." {
                    "$".into()
                } else {
                    path.replace(".?", "").replace('?', "")
                },
                message,
            }]);
        }
    };
    let cwd = PathBuf::from(".");
    let origin = Origin {
        display,
        source: text,
        root: &cwd,
        dir: &cwd,
        default_name: String::new(),
        relative: None,
    };
    let mut cx = Ctx {
        origin: &origin,
        diags: Vec::new(),
    };
    match compile_matcher(&mut cx, &matcher, &JsonPath::root()) {
        Some(m) if cx.diags.is_empty() => Ok(m),
        _ => Err(cx.diags),
    }
}

fn compile_matcher(
    cx: &mut Ctx<'_>,
    req: &model::RequestMatcher,
    at: &JsonPath,
) -> Option<RequestMatcher> {
    let before = cx.diags.len();
    let method = req
        .method
        .as_deref()
        .and_then(|m| cx.regex(m, &at.key("method"), true))
        .map(MethodMatcher::new);
    let path = req
        .path
        .as_deref()
        .and_then(|p| cx.regex(p, &at.key("path"), true));
    let mut query = Vec::new();
    for (name, pattern) in req.query.iter().flatten() {
        let re = pattern
            .as_deref()
            .and_then(|p| cx.regex(p, &at.key("query").key(name), true));
        query.push((name.clone(), re));
    }
    let mut headers = Vec::new();
    for (name, pattern) in req.headers.iter().flatten() {
        let p = at.key("headers").key(name);
        let Ok(header) = actix_http::header::HeaderName::from_bytes(name.as_bytes()) else {
            cx.error(&p, format!("{name:?} is not a valid header name"));
            continue;
        };
        let re = pattern.as_deref().and_then(|pat| cx.regex(pat, &p, true));
        headers.push((header, re));
    }
    let body = req
        .body
        .as_deref()
        .and_then(|b| cx.regex(b, &at.key("body"), false));
    if cx.diags.len() > before {
        return None;
    }
    Some(RequestMatcher {
        method,
        path,
        path_source: req.path.clone(),
        query,
        headers,
        body,
        json: req.json.clone(),
    })
}
