//! Validation and compilation: [`model::ScenarioFile`] → [`CompiledScenario`].
//!
//! Every rule of the contract that the type system cannot express is checked here: regexes
//! compile, statuses are 100–599, bodyless statuses have no body, `file` stays inside the
//! scenarios directory, headers are legal, ids are unique. All problems of a file are
//! collected (not just the first), each with its JSON path and position. Keys whose behaviour
//! a later version implements are refused with a "not supported yet" error rather than
//! silently ignored.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::compiled::{
    AfterLast, Answers, CompiledRoute, CompiledScenario, ExpectRule, MethodMatcher, MethodPattern,
    PathMatcher, RequestMatcher,
};
use super::ctx::{Ctx, Limits, Origin, header_name_problem};
use super::diag::{Diagnostic, JsonPath};
use super::model::{self, ExpectKeyword, ExpectMode, ScenarioFile};
use super::response;

/// The one text an anchored pattern (`^(?:…)$`) matches, when it is a plain literal such as
/// `/api/users/42`: such paths are compared as strings, so neither loading the route nor its
/// first match builds a regex (each costs more than the rest of answering a request).
fn whole_literal(anchored: &str) -> Option<Box<str>> {
    use regex_syntax::hir::{HirKind, Look};
    // Most paths have no regex syntax at all: no parse needed to know what they match.
    if let Some(plain) = anchored
        .strip_prefix("^(?:")
        .and_then(|p| p.strip_suffix(")$"))
        .filter(|p| !p.is_empty() && !p.chars().any(regex_syntax::is_meta_character))
    {
        return Some(plain.into());
    }
    let hir = regex_syntax::Parser::new().parse(anchored).ok()?;
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    match parts.as_slice() {
        [start, literal, end]
            if start.kind() == &HirKind::Look(Look::Start)
                && end.kind() == &HirKind::Look(Look::End) =>
        {
            match literal.kind() {
                HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(Box::from),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Validates and compiles one parsed scenario document.
pub fn compile(
    file: &ScenarioFile,
    origin: &Origin<'_>,
) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let mut cx = Ctx {
        origin,
        diags: Vec::new(),
        warnings: Vec::new(),
        read_files: false,
    };
    let root = JsonPath::root();
    if file.routes.len() > origin.limits.max_routes {
        cx.error(
            &root.key("routes"),
            format!(
                "this file has {} routes; a file may hold at most {} \
                 (--max-routes-per-file): split it into several files",
                file.routes.len(),
                origin.limits.max_routes
            ),
        );
        return Err(cx.diags);
    }

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

    let mut ids: HashMap<String, usize> = HashMap::new();
    let mut routes = Vec::with_capacity(file.routes.len());
    for (i, route) in file.routes.iter().enumerate() {
        let at = root.key("routes").index(i);
        let id = route.id.clone().unwrap_or_else(|| i.to_string());
        if route.id.as_deref().is_some_and(|s| s.trim().is_empty()) {
            cx.error(&at.key("id"), "route id must not be empty");
        }
        if let Some(first) = ids.get(&id) {
            let how = if route.id.is_some() {
                ""
            } else {
                " (a route without \"id\" is named after its index)"
            };
            cx.error(
                &at.key("id"),
                format!(
                    "duplicate route id {id:?}: routes[{first}] already uses it{how}; ids are \
                     unique within a file"
                ),
            );
        } else {
            ids.insert(id.clone(), i);
        }
        if let Some(compiled) = compile_route(&mut cx, route, &at, &name, id, i) {
            routes.push(compiled);
        }
    }

    check_states(&mut cx, file, &name, &initial_state);

    if cx.diags.is_empty() {
        let mut warnings = cx.warnings;
        warnings.sort_by_key(|d| (d.line, d.column));
        Ok(CompiledScenario {
            warnings,
            name,
            description: file.description.clone(),
            file: origin.relative.clone(),
            initial_state,
            routes,
            source: origin.source.into(),
            reads_files: cx.read_files,
            depends_on: Vec::new(),
        })
    } else {
        let mut diags = cx.diags;
        diags.sort_by_key(|d| (d.line, d.column));
        Err(diags)
    }
}

/// Warns about states no route can reach and `setState` values that look like typos.
///
/// States are free-form (the admin API may set any state), so neither is an error: a route
/// waiting for a state nothing in the file enters can still match after
/// `PUT /__admin/scenarios/NAME/state`, and a state no route waits for is a legitimate end
/// state. Only a `setState` close to a `whenState` spelling is flagged as a likely typo.
fn check_states(cx: &mut Ctx<'_>, file: &ScenarioFile, name: &str, initial: &str) {
    let entered: Vec<&str> = std::iter::once(initial)
        .chain(file.routes.iter().filter_map(|r| r.set_state.as_deref()))
        .collect();
    let awaited: HashSet<&str> = file
        .routes
        .iter()
        .filter_map(|r| r.when_state.as_ref())
        .flat_map(|w| w.as_slice().iter().map(String::as_str))
        .collect();
    let root = JsonPath::root();
    for (i, route) in file.routes.iter().enumerate() {
        let at = root.key("routes").index(i);
        if let Some(states) = &route.when_state {
            for (j, state) in states.as_slice().iter().enumerate() {
                if state.trim().is_empty() || entered.contains(&state.as_str()) {
                    continue;
                }
                let p = match states {
                    model::OneOrMany::One(_) => at.key("whenState"),
                    model::OneOrMany::Many(_) => at.key("whenState").index(j),
                };
                let hint = closest_state(state, entered.iter().copied())
                    .map(|s| format!(" Did you mean {s:?}?"))
                    .unwrap_or_default();
                cx.warn(
                    &p,
                    format!(
                        "state {state:?} is never entered: it is not the initial state \
                         ({initial:?}) and no route sets it, so this route matches only after \
                         PUT /__admin/scenarios/{name}/state.{hint}"
                    ),
                );
            }
        }
        if let Some(state) = &route.set_state
            && state != initial
            && !awaited.contains(state.as_str())
            && let Some(close) = closest_state(state, awaited.iter().copied())
        {
            cx.warn(
                &at.key("setState"),
                format!("no route waits for state {state:?}; did you mean {close:?}?"),
            );
        }
    }
}

/// The state name closest to `state`, when close enough to be a typo.
fn closest_state<'a>(state: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    known
        .filter(|k| *k != state)
        .map(|k| (strsim::damerau_levenshtein(state, k), k))
        // A typo is a small edit of a long enough name: "has-item" for "has-items", not
        // "b" for "a".
        .filter(|(d, k)| *d <= 1.max(k.len() / 4) && d * 3 <= k.len())
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
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
        full_name: format!("{scenario}/{id}").into(),
        id,
        index,
        priority: route.priority,
        added: 0,
        matcher: matcher?,
        scope: None,
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
    let matcher = match parsed {
        Ok(m) => m,
        Err(err) => {
            let path = JsonPath::from_serde(err.path());
            return Err(vec![super::messages::explain(
                display,
                text,
                path,
                &err.into_inner(),
            )]);
        }
    };
    let cwd = PathBuf::from(".");
    let origin = Origin {
        display,
        source: text,
        root: Some(&cwd),
        dir: &cwd,
        default_name: String::new(),
        relative: None,
        limits: Limits::default(),
    };
    let mut cx = Ctx {
        origin: &origin,
        diags: Vec::new(),
        warnings: Vec::new(),
        read_files: false,
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
        .and_then(|m| {
            // A plain method name (letters, digits, `-`, `_`) is compared as is.
            if !m.is_empty()
                && m.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Some(MethodPattern::Literal(m.into()))
            } else {
                cx.regex(m, &at.key("method"), true)
                    .map(MethodPattern::Regex)
            }
        })
        .map(MethodMatcher::new);
    let path = req.path.as_deref().and_then(|p| {
        let anchored = format!("^(?:{p})$");
        match whole_literal(&anchored) {
            Some(path) => Some(PathMatcher::Literal {
                path,
                anchored: anchored.into(),
            }),
            None => cx.regex(p, &at.key("path"), true).map(PathMatcher::Regex),
        }
    });
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
        if let Some(problem) = header_name_problem(name) {
            cx.error_at_key(&p, problem);
            continue;
        }
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
        conditions: Vec::new(),
        exact_method: false,
    })
}

#[cfg(test)]
mod literal_tests {
    use super::whole_literal;

    #[test]
    fn only_patterns_that_match_one_text_are_literals() {
        let lit = |p: &str| whole_literal(&format!("^(?:{p})$")).map(String::from);
        assert_eq!(lit("/api/users/42").as_deref(), Some("/api/users/42"));
        assert_eq!(lit(r"/api\.v1/x").as_deref(), Some("/api.v1/x"));
        assert_eq!(lit("/"), Some("/".to_owned()));
        // Literal through the parser: escapes and characters `is_meta_character` lists.
        assert_eq!(lit("/a-b/c~d").as_deref(), Some("/a-b/c~d"));
        assert_eq!(lit("/caf\u{e9} x").as_deref(), Some("/caf\u{e9} x"));
        for pattern in ["/users/[0-9]+", "(?i)/x", "/a|/b", "/x/?", "/(?<id>x)", ""] {
            assert_eq!(lit(pattern), None, "{pattern}");
        }
    }
}
