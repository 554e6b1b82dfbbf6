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
use super::path_regex::PathPattern;
use super::response;

/// Validates and compiles one parsed scenario document.
pub fn compile(
    file: &ScenarioFile,
    origin: &Origin<'_>,
) -> Result<CompiledScenario, Vec<Diagnostic>> {
    match compile_file(file, origin) {
        Ok(result) => result,
        // A parsed route always parses.
        Err(Unparsed) => Err(Vec::new()),
    }
}

/// A route of a file whose routes are still text did not parse: the file is parsed again
/// whole, strictly, for the error's position and JSON path.
pub struct Unparsed;

/// A route as the file holds it: parsed already, or still its JSON text (a large file is
/// compiled route by route, each parsed just before it is compiled and dropped after, so
/// loading never holds the parsed form of every route at once).
pub trait RouteText {
    /// The route's parsed form.
    fn route(&self) -> Result<std::borrow::Cow<'_, model::Route>, Unparsed>;
}

impl RouteText for model::Route {
    fn route(&self) -> Result<std::borrow::Cow<'_, model::Route>, Unparsed> {
        Ok(std::borrow::Cow::Borrowed(self))
    }
}

impl RouteText for &serde_json::value::RawValue {
    fn route(&self) -> Result<std::borrow::Cow<'_, model::Route>, Unparsed> {
        serde_json::from_str(self.get())
            .map(std::borrow::Cow::Owned)
            .map_err(|_| Unparsed)
    }
}

/// [`compile`] for a file whose routes may still be text; `Err(Unparsed)` when one of them
/// does not parse.
pub fn compile_file<R: RouteText>(
    file: &ScenarioFile<R>,
    origin: &Origin<'_>,
) -> Result<Result<CompiledScenario, Vec<Diagnostic>>, Unparsed> {
    let mut cx = Ctx::new(origin);
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
        return Ok(Err(cx.diags));
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

    // One thread: compiling a large file on every core was measured faster to start (20,000
    // routes ready in 81 ms instead of 110 ms on two cores) but each thread's allocator arena
    // kept 6 MB more resident (docs/benchmarks.md, "Big route sets").
    let Routes {
        routes,
        states,
        ids,
    } = compile_routes(&mut cx, &file.routes, &name)?;
    check_unique_ids(&mut cx, &ids);

    check_states(&mut cx, &states, &name, &initial_state);

    Ok(if cx.diags.is_empty() {
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
    })
}

/// What compiling a file's routes yields, in route order.
struct Routes {
    routes: Vec<CompiledRoute>,
    states: Vec<RouteStates>,
    /// Each route's id, and whether the file names it (otherwise it is the index).
    ids: Vec<(String, bool)>,
}

/// Compiles the file's routes, parsing each just before it is compiled.
fn compile_routes<R: RouteText>(
    cx: &mut Ctx<'_>,
    texts: &[R],
    name: &str,
) -> Result<Routes, Unparsed> {
    let mut out = Routes {
        routes: Vec::with_capacity(texts.len()),
        states: Vec::with_capacity(texts.len()),
        ids: Vec::with_capacity(texts.len()),
    };
    let list = JsonPath::root().key("routes");
    for (i, text) in texts.iter().enumerate() {
        let route = text.route()?;
        let route = &*route;
        out.states.push(RouteStates {
            when: route.when_state.clone(),
            set: route.set_state.clone(),
        });
        let at = list.index(i);
        let id = route.id.clone().unwrap_or_else(|| i.to_string());
        if route.id.as_deref().is_some_and(|s| s.trim().is_empty()) {
            cx.error(&at.key("id"), "route id must not be empty");
        }
        out.ids.push((id.clone(), route.id.is_some()));
        if let Some(compiled) = compile_route(cx, route, &at, name, id, i) {
            out.routes.push(compiled);
        }
    }
    Ok(out)
}

/// Reports each route whose id an earlier route already has.
fn check_unique_ids(cx: &mut Ctx<'_>, ids: &[(String, bool)]) {
    let list = JsonPath::root().key("routes");
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(ids.len());
    for (i, (id, named)) in ids.iter().enumerate() {
        if let Some(first) = seen.get(id.as_str()) {
            let how = if *named {
                ""
            } else {
                " (a route without \"id\" is named after its index)"
            };
            cx.error(
                &list.index(i).key("id"),
                format!(
                    "duplicate route id {id:?}: routes[{first}] already uses it{how}; ids are \
                     unique within a file"
                ),
            );
        } else {
            seen.insert(id, i);
        }
    }
}

/// The states a route waits for and enters.
struct RouteStates {
    when: Option<model::OneOrMany>,
    set: Option<String>,
}

/// Warns about states no route can reach and `setState` values that look like typos.
///
/// States are free-form (the admin API may set any state), so neither is an error: a route
/// waiting for a state nothing in the file enters can still match after
/// `PUT /__admin/scenarios/NAME/state`, and a state no route waits for is a legitimate end
/// state. Only a `setState` close to a `whenState` spelling is flagged as a likely typo.
fn check_states(cx: &mut Ctx<'_>, routes: &[RouteStates], name: &str, initial: &str) {
    let entered: Vec<&str> = std::iter::once(initial)
        .chain(routes.iter().filter_map(|r| r.set.as_deref()))
        .collect();
    let awaited: HashSet<&str> = routes
        .iter()
        .filter_map(|r| r.when.as_ref())
        .flat_map(|w| w.as_slice().iter().map(String::as_str))
        .collect();
    let root = JsonPath::root();
    for (i, route) in routes.iter().enumerate() {
        let at = root.key("routes").index(i);
        if let Some(states) = &route.when {
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
        if let Some(state) = &route.set
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
        id_at: scenario.len() + 1,
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
    let mut cx = Ctx::new(&origin);
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
        match PathPattern::check(&anchored) {
            Ok(PathPattern::Literal(path)) => Some(PathMatcher::Literal(path)),
            Ok(PathPattern::Regex(re)) => Some(PathMatcher::Regex(Box::new(re))),
            Err(err) => {
                cx.regex_error(p, &at.key("path"), &err);
                None
            }
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
        query,
        headers,
        body,
        json: req.json.clone(),
        conditions: Vec::new(),
        exact_method: false,
    })
}
