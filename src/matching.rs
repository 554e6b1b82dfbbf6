//! Route matching: which route answers a request, and why the others did not.
//!
//! A [`RouteIndex`] is built once per snapshot. Routes are kept in answer order (priority,
//! then the newest where the format says so, then scenario name, then position) and filed in
//! a trie by the literal path segments their patterns start with, so a request only looks at
//! the routes that share its path's prefix, however many routes are loaded; an unmatched
//! request's near misses are ranked without reading every route. This
//! module knows nothing about sockets: it sees a [`RequestView`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use actix_http::header::{HeaderMap, HeaderName};
use regex::RegexSet;
use serde::Serialize;
use serde_json::Value;
use smallvec::SmallVec;

use crate::recent::Recent;
use crate::scenario::compiled::{
    CompiledResponse, CompiledRoute, CompiledScenario, PathMatcher, RequestMatcher,
};
use crate::scenario::pattern::{Condition, Subject};
use crate::state::LiveScenario;

/// How many near misses an unmatched request reports.
pub const NEAR_MISS_LIMIT: usize = 5;

/// The parts of a request that matchers look at.
pub struct RequestView<'a> {
    /// Method as sent.
    pub method: &'a str,
    /// Path as sent, without the query string.
    pub path: &'a str,
    /// The undecoded query string.
    pub raw_query: &'a str,
    query: std::cell::OnceCell<Vec<(String, String)>>,
    /// Request headers.
    pub headers: &'a HeaderMap,
    /// The body.
    pub body: &'a [u8],
    /// Match on the head alone: body and JSON matchers are skipped (the `Expect` decision).
    pub head_only: bool,
    json: std::cell::OnceCell<Option<Value>>,
}

impl<'a> RequestView<'a> {
    /// A view over a request; `raw_query` is the undecoded query string.
    pub fn new(
        method: &'a str,
        path: &'a str,
        raw_query: &'a str,
        headers: &'a HeaderMap,
        body: &'a [u8],
    ) -> Self {
        RequestView {
            method,
            path,
            raw_query,
            query: Default::default(),
            headers,
            body,
            head_only: false,
            json: Default::default(),
        }
    }

    /// Decoded query pairs in order (parsed on first use).
    pub fn query(&self) -> &[(String, String)] {
        self.query.get_or_init(|| {
            form_urlencoded::parse(self.raw_query.as_bytes())
                .into_owned()
                .collect()
        })
    }

    /// The body parsed as JSON, once.
    pub fn json(&self) -> Option<&Value> {
        self.json
            .get_or_init(|| serde_json::from_slice(self.body).ok())
            .as_ref()
    }
}

/// A route of the snapshot, addressed by scenario and position.
#[derive(Debug, Clone, Copy)]
struct Slot {
    scenario: usize,
    route: usize,
}

/// One route that almost matched.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct NearMiss {
    /// `scenario/id`.
    pub route: Arc<str>,
    /// The matchers that failed: `method`, `path`, `query.NAME`, `headers.NAME`, `body`, `json`,
    /// and `state`.
    pub mismatches: Vec<Cow<'static, str>>,
}

/// The route chosen for a request and the answer it gives.
pub struct Selection<'a> {
    /// The route's scenario.
    pub scenario: &'a Arc<LiveScenario>,
    /// The route.
    pub route: &'a CompiledRoute,
    /// The answer (for a script, the step this request got).
    pub response: &'a CompiledResponse,
    /// The scenario's state when the request arrived, when the answer is a template.
    pub state_before: Option<String>,
}

/// Routes in answer order, filed by the literal path segments their patterns start with.
///
/// A pattern such as `/api/r7/items/[0-9]+` can only match paths under `/api/r7/items/`, so
/// it is filed under the trie node `api → r7 → items`. A request walks the trie along its own
/// path segments and only the routes filed on that walk are candidates; the others cannot
/// match its path. The cost of a request therefore follows the length of its path and the
/// number of routes that share its prefix, not the number of routes loaded.
pub struct RouteIndex {
    scenarios: Vec<Arc<LiveScenario>>,
    layout: Arc<Layout>,
}

/// Where each route of a snapshot sits: its answer position and trie node. It follows from
/// the compiled routes alone (never from states or positions), so a snapshot of one scenario
/// shares the layout of every earlier snapshot of the same compiled scenario (see
/// [`Layout::of_one`]).
struct Layout {
    order: Vec<Slot>,
    trie: Vec<Node>,
    /// `filed[pos]`: the node answer position `pos` is filed under.
    filed: Vec<usize>,
    /// Some route streams request bodies upstream (most snapshots have none: the answer
    /// path then skips the look at the head that asks).
    streams_upstream: bool,
}

/// Layouts of recent one-scenario snapshots, by compiled scenario: an embedded server handed
/// to test after test with the same scenario, or a harness that puts its mock again, builds
/// the index once. Held weakly: a compiled scenario nothing serves any more is dropped
/// (together with its layout) when it is pushed out. The last 8 are kept.
static RECENT_LAYOUTS: Recent<(std::sync::Weak<CompiledScenario>, Arc<Layout>)> = Recent::new(8);

/// Layouts with at most this many routes are remembered (big files reload rarely, and their
/// layouts are big).
const RECENT_LAYOUT_ROUTES: usize = 64;

/// One trie node: its children by literal segment and the routes filed here.
#[derive(Default)]
struct Node {
    /// Keyed by the scenario's own segments, looked up once per request segment: a fast
    /// hash (`foldhash`) rather than SipHash.
    children: HashMap<Box<str>, usize, foldhash::fast::RandomState>,
    /// Answer positions, ascending. Routes without a path matcher live in the root.
    routes: Vec<usize>,
    /// When many patterns share this node, one `RegexSet` over them narrows the candidates
    /// in a single pass; `set_pos[i]` is the answer position of pattern `i`.
    set: Option<(RegexSet, Vec<usize>)>,
}

/// Patterns sharing one node beyond which a `RegexSet` narrows them.
const SET_THRESHOLD: usize = 16;

/// Candidate answer positions for one request (most requests have one or two).
type Candidates = SmallVec<[Candidate; 8]>;

/// A route worth checking, and whether its path is already known to match.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    pos: usize,
    path_matched: bool,
}

impl Layout {
    /// Orders the routes of `scenarios` and files them by literal path prefix.
    fn build(scenarios: &[Arc<LiveScenario>]) -> Self {
        let mut order: Vec<Slot> = scenarios
            .iter()
            .enumerate()
            .flat_map(|(s, sc)| {
                (0..sc.routes.len()).map(move |r| Slot {
                    scenario: s,
                    route: r,
                })
            })
            .collect();
        order.sort_by(|a, b| {
            let (ra, rb) = (
                &scenarios[a.scenario].routes[a.route],
                &scenarios[b.scenario].routes[b.route],
            );
            rb.priority
                .cmp(&ra.priority)
                .then_with(|| rb.added.cmp(&ra.added))
                .then_with(|| scenarios[a.scenario].name.cmp(&scenarios[b.scenario].name))
                .then_with(|| a.route.cmp(&b.route))
        });
        let mut trie = vec![Node::default()];
        let mut filed = Vec::with_capacity(order.len());
        for (pos, slot) in order.iter().enumerate() {
            let route = &scenarios[slot.scenario].routes[slot.route];
            let mut node = 0;
            if let Some(re) = &route.matcher.path {
                for segment in path_segments(re) {
                    node = match trie[node].children.get(segment) {
                        Some(&child) => child,
                        None => {
                            trie.push(Node::default());
                            let child = trie.len() - 1;
                            trie[node].children.insert(segment.into(), child);
                            child
                        }
                    };
                }
            }
            trie[node].routes.push(pos);
            filed.push(node);
        }
        for node in &mut trie {
            let patterned: Vec<usize> = node
                .routes
                .iter()
                .copied()
                .filter(|&pos| route_at(scenarios, &order, pos).matcher.path.is_some())
                .collect();
            if patterned.len() < SET_THRESHOLD {
                continue;
            }
            let patterns: Vec<std::borrow::Cow<'_, str>> = patterned
                .iter()
                .map(|&pos| {
                    let route = route_at(scenarios, &order, pos);
                    route
                        .matcher
                        .path
                        .as_ref()
                        .map_or(std::borrow::Cow::Borrowed(""), |re| re.as_str())
                })
                .collect();
            // Each pattern compiled alone already; should the set exceed its size limit,
            // the node's routes are simply checked one by one. The lazy DFA's cache (grown
            // only as needed, per worker) must hold the states of one search over thousands
            // of patterns, or every search starts over: 1.2 ms instead of 13 µs at 10,000.
            if let Ok(set) = regex::RegexSetBuilder::new(patterns)
                .size_limit(usize::MAX >> 4)
                .dfa_size_limit(16 << 20)
                .build()
            {
                node.set = Some((set, patterned));
            }
        }
        // Kept until the next reload: no spare capacity from growing.
        trie.shrink_to_fit();
        let streams_upstream =
            (0..order.len()).any(|pos| route_at(scenarios, &order, pos).streams_upstream());
        Layout {
            order,
            trie,
            filed,
            streams_upstream,
        }
    }

    /// The layout of a snapshot of `scenario` alone: remembered, or built and remembered.
    fn of_one(scenario: &Arc<LiveScenario>) -> Arc<Layout> {
        let compiled = scenario.compiled();
        if let Some(layout) = RECENT_LAYOUTS.find(
            |(c, _)| std::ptr::eq(c.as_ptr(), Arc::as_ptr(compiled)),
            |(_, layout)| layout.clone(),
        ) {
            return layout;
        }
        let layout = Arc::new(Layout::build(std::slice::from_ref(scenario)));
        if compiled.routes.len() <= RECENT_LAYOUT_ROUTES {
            RECENT_LAYOUTS.remember((Arc::downgrade(compiled), layout.clone()));
        }
        layout
    }
}

impl RouteIndex {
    /// Orders the routes of `scenarios` and files them by literal path prefix.
    pub fn new(scenarios: Vec<Arc<LiveScenario>>) -> Self {
        let layout = match scenarios.as_slice() {
            [one] => Layout::of_one(one),
            _ => Arc::new(Layout::build(&scenarios)),
        };
        RouteIndex { scenarios, layout }
    }

    /// The scenarios in the snapshot.
    pub fn scenarios(&self) -> &[Arc<LiveScenario>] {
        &self.scenarios
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.layout.order.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.layout.order.is_empty()
    }

    /// Whether any route may send a request's body upstream as it arrives
    /// ([`CompiledRoute::streams_upstream`]).
    pub fn any_streams_upstream(&self) -> bool {
        self.layout.streams_upstream
    }

    fn route(&self, pos: usize) -> &CompiledRoute {
        route_at(&self.scenarios, &self.layout.order, pos)
    }

    /// The routes that may match `path`, in answer order.
    fn candidates(&self, path: &str) -> Candidates {
        let mut out = Candidates::new();
        let mut node = 0;
        let mut segments = path.strip_prefix('/').map(|rest| rest.split('/'));
        loop {
            let here = &self.layout.trie[node];
            match &here.set {
                None => out.extend(here.routes.iter().map(|&pos| Candidate {
                    pos,
                    path_matched: false,
                })),
                Some((set, set_pos)) => {
                    // Routes without a path matcher (root only) plus the patterns that matched.
                    out.extend(
                        here.routes
                            .iter()
                            .filter(|&&pos| self.route(pos).matcher.path.is_none())
                            .map(|&pos| Candidate {
                                pos,
                                path_matched: false,
                            }),
                    );
                    out.extend(set.matches(path).iter().map(|i| Candidate {
                        pos: set_pos[i],
                        path_matched: true,
                    }));
                }
            }
            let next = segments
                .as_mut()
                .and_then(|s| s.next())
                .and_then(|segment| here.children.get(segment));
            match next {
                Some(&child) => node = child,
                None => break,
            }
        }
        out.sort_unstable_by_key(|c| c.pos);
        out
    }

    /// The routes whose matchers `req` passes (the state aside), in answer order, with
    /// their scenario.
    pub fn matching<'s>(
        &'s self,
        req: &RequestView<'_>,
    ) -> impl Iterator<Item = (&'s Arc<LiveScenario>, &'s CompiledRoute)> {
        self.candidates(req.path)
            .into_iter()
            .filter_map(move |candidate| {
                let slot = self.layout.order[candidate.pos];
                let scenario = &self.scenarios[slot.scenario];
                let route = &scenario.routes[slot.route];
                matches_with(&route.matcher, req, candidate.path_matched)
                    .then_some((scenario, route))
            })
    }

    /// The first route, in answer order, that matches every matcher and the scenario's
    /// state, with the answer it gives. Taking the answer advances the route's script and
    /// applies its `setState`, atomically with the state check.
    pub fn select(&self, req: &RequestView<'_>) -> Option<Selection<'_>> {
        for (scenario, route) in self.matching(req) {
            let state = &scenario.state;
            let named = scenario.state_of(route);
            let taken = if route.is_stateful() {
                named.with_locked(|current| {
                    if let Some(allowed) = &route.when_state
                        && !allowed.iter().any(|s| s == current)
                    {
                        return None;
                    }
                    let response = state.next_answer(route)?;
                    let before = response.template.is_some().then(|| current.clone());
                    if let Some(next) = &route.set_state {
                        current.clone_from(next);
                    }
                    Some((response, before))
                })
            } else {
                state
                    .next_answer(route)
                    .map(|r| (r, r.template.is_some().then(|| named.get())))
            };
            if let Some((response, state_before)) = taken {
                return Some(Selection {
                    scenario,
                    route,
                    response,
                    state_before,
                });
            }
        }
        None
    }

    /// The route `select` would pick, without taking its answer (no script advance, no
    /// state change): the `Expect: 100-continue` decision, made on the head alone.
    pub fn peek(&self, req: &RequestView<'_>) -> Option<&CompiledRoute> {
        for (scenario, route) in self.matching(req) {
            if let Some(allowed) = &route.when_state
                && !allowed.contains(&scenario.state_of(route).get())
            {
                continue;
            }
            if scenario.state.exhausted(route) {
                continue;
            }
            return Some(route);
        }
        None
    }

    /// The routes closest to matching, fewest failed matchers first; among equals a route
    /// whose path matched (the path is what users mean to hit), then answer order.
    ///
    /// Only the candidates of the path can have a matching path; every other route fails
    /// at least its path, so once `limit` routes ranked better than "only the path failed"
    /// are found, the rest cannot enter the report and are not looked at.
    pub fn near_misses(&self, req: &RequestView<'_>, limit: usize) -> Vec<NearMiss> {
        if limit == 0 {
            return Vec::new();
        }
        // (failed matchers, path failed, answer position), best first.
        let mut best: SmallVec<[(usize, bool, usize); 8]> = SmallVec::new();
        let offer = |best: &mut SmallVec<[(usize, bool, usize); 8]>, key: (usize, bool, usize)| {
            if key.0 == 0 {
                return;
            }
            let at = best.partition_point(|k| *k < key);
            if at < limit {
                best.insert(at, key);
                best.truncate(limit);
            }
        };
        let candidates = self.candidates(req.path);
        for c in &candidates {
            let (failed, path_failed) = self.failures(c.pos, req, c.path_matched.then_some(true));
            offer(&mut best, (failed, path_failed, c.pos));
        }
        let mut next_candidate = candidates.iter().map(|c| c.pos).peekable();
        for pos in 0..self.layout.order.len() {
            if next_candidate.next_if_eq(&pos).is_some() {
                continue;
            }
            // Not a candidate: the route has a path matcher and it fails.
            if best.len() == limit && best[limit - 1] < (1, true, pos) {
                break;
            }
            let (failed, path_failed) = self.failures(pos, req, Some(false));
            offer(&mut best, (failed, path_failed, pos));
        }
        best.iter()
            .map(|&(_, _, pos)| {
                let route = self.route(pos);
                let mut failed = mismatches(&route.matcher, req, false);
                if self.state_fails(pos) {
                    failed.push("state".into());
                }
                NearMiss {
                    route: route.full_name.clone(),
                    mismatches: failed,
                }
            })
            .collect()
    }

    /// How many matchers (and the state) the route at `pos` fails, and whether its path is
    /// one of them. `path` is the path verdict when already known.
    fn failures(&self, pos: usize, req: &RequestView<'_>, path: Option<bool>) -> (usize, bool) {
        let mut failed = 0;
        let mut path_failed = false;
        each_mismatch(&self.route(pos).matcher, req, path, |m| {
            failed += 1;
            path_failed |= matches!(m, Mismatch::Path);
            ControlFlow::Continue(())
        });
        (failed + usize::from(self.state_fails(pos)), path_failed)
    }

    fn state_fails(&self, pos: usize) -> bool {
        let route = self.route(pos);
        let scenario = &self.scenarios[self.layout.order[pos].scenario];
        route
            .when_state
            .as_ref()
            .is_some_and(|allowed| !allowed.contains(&scenario.state_of(route).get()))
    }

    /// Number of trie nodes (for tests and benchmarks of the index's shape).
    #[doc(hidden)]
    pub fn node_count(&self) -> usize {
        debug_assert_eq!(self.layout.filed.len(), self.layout.order.len());
        self.layout.trie.len()
    }
}

fn route_at<'s>(
    scenarios: &'s [Arc<LiveScenario>],
    order: &[Slot],
    pos: usize,
) -> &'s CompiledRoute {
    let slot = order[pos];
    &scenarios[slot.scenario].routes[slot.route]
}

/// The complete literal path segments of a route's path matcher (see
/// [`literal_segments`](crate::scenario::path_regex::literal_segments)).
fn path_segments(matcher: &PathMatcher) -> Vec<&str> {
    match matcher {
        PathMatcher::Literal(path) => match path.strip_prefix('/') {
            Some(rest) => rest.split('/').collect(),
            None => Vec::new(),
        },
        PathMatcher::Regex(re) => re.segments().iter().map(|s| &**s).collect(),
        PathMatcher::Template(t) => t.literal_prefix(),
    }
}

/// One matcher a request fails.
#[derive(Debug, Clone, Copy)]
enum Mismatch<'m> {
    Method,
    Path,
    Query(&'m str),
    Header(&'m HeaderName),
    Body,
    Json,
    Condition(&'m Condition),
}

impl Mismatch<'_> {
    fn name(self) -> Cow<'static, str> {
        match self {
            Mismatch::Method => "method".into(),
            Mismatch::Path => "path".into(),
            Mismatch::Query(name) => format!("query.{name}").into(),
            Mismatch::Header(name) => format!("headers.{name}").into(),
            Mismatch::Body => "body".into(),
            Mismatch::Json => "json".into(),
            Mismatch::Condition(c) => c.name().into(),
        }
    }
}

/// Calls `f` for each matcher of `m` that `req` fails, in a fixed order, until `f` breaks.
/// `path` is the path verdict when the caller already knows it.
fn each_mismatch<'m>(
    m: &'m RequestMatcher,
    req: &RequestView<'_>,
    path: Option<bool>,
    mut f: impl FnMut(Mismatch<'m>) -> ControlFlow<()>,
) {
    macro_rules! fail {
        ($m:expr) => {
            if f($m).is_break() {
                return;
            }
        };
    }
    if let Some(method) = &m.method {
        let ok = method.is_match(req.method)
            || (!m.exact_method && req.method == "HEAD" && method.is_match("GET"));
        if !ok {
            fail!(Mismatch::Method);
        }
    }
    if let Some(re) = &m.path
        && !path.unwrap_or_else(|| re.is_match(req.path))
    {
        fail!(Mismatch::Path);
    }
    for (name, want) in &m.query {
        let mut values = req
            .query()
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        let ok = match want {
            None => values.next().is_none(),
            Some(re) => values.any(|v| re.is_match(v)),
        };
        if !ok {
            fail!(Mismatch::Query(name));
        }
    }
    for (name, want) in &m.headers {
        let mut values = req.headers.get_all(name);
        let ok = match want {
            None => values.next().is_none(),
            Some(re) => values.any(|v| re.is_match(&String::from_utf8_lossy(v.as_bytes()))),
        };
        if !ok {
            fail!(Mismatch::Header(name));
        }
    }
    if req.head_only {
        return;
    }
    if let Some(re) = &m.body
        && !re.is_match(&String::from_utf8_lossy(req.body))
    {
        fail!(Mismatch::Body);
    }
    if let Some(want) = &m.json
        && !req.json().is_some_and(|have| json_contains(have, want))
    {
        fail!(Mismatch::Json);
    }
    for condition in &m.conditions {
        if !passes(m, condition, req) {
            fail!(Mismatch::Condition(condition));
        }
    }
}

/// The cookies a request sends, as `(name, value)` pairs in order (every `Cookie` header).
pub fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (&str, &str)> {
    headers
        .get_all(actix_http::header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
}

/// Whether `req` passes one condition of `m` (body conditions pass on the head alone: the
/// body is checked once it is read).
fn passes(m: &RequestMatcher, condition: &Condition, req: &RequestView<'_>) -> bool {
    let pattern = &condition.pattern;
    match &condition.subject {
        Subject::Url => {
            let url = match req.raw_query {
                "" => Cow::Borrowed(req.path),
                q => Cow::Owned(format!("{}?{q}", req.path)),
            };
            pattern.matches(Some(url.as_bytes()))
        }
        Subject::Path => pattern.matches(Some(req.path.as_bytes())),
        Subject::Query(name) if pattern.is_multi() => {
            let query = req.query();
            let values: Vec<&[u8]> = query
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_bytes())
                .collect();
            pattern.matches_values(&values)
        }
        Subject::Query(name) => {
            let mut values = req.query().iter().filter(|(k, _)| k == name).peekable();
            match values.peek() {
                None => pattern.matches(None),
                Some(_) => values.any(|(_, v)| pattern.matches(Some(v.as_bytes()))),
            }
        }
        Subject::Header(name) if pattern.is_multi() => {
            let values: Vec<&[u8]> = req.headers.get_all(name).map(|v| v.as_bytes()).collect();
            pattern.matches_values(&values)
        }
        Subject::Header(name) => {
            let mut values = req.headers.get_all(name).peekable();
            match values.peek() {
                None => pattern.matches(None),
                Some(_) => values.any(|v| pattern.matches(Some(v.as_bytes()))),
            }
        }
        Subject::Cookie(name) => {
            let value = cookies(req.headers)
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_bytes());
            pattern.matches(value)
        }
        Subject::PathParam(name) => {
            let value = m
                .path
                .as_ref()
                .and_then(|p| p.regex())
                .and_then(|re| re.captures(req.path))
                .and_then(|caps| caps.name(name))
                .map(|c| c.as_str().as_bytes());
            pattern.matches(value)
        }
        Subject::Body(_) if req.head_only => true,
        Subject::Body(_) if pattern.wants_json() => {
            req.json().is_some_and(|have| pattern.matches_json(have))
        }
        Subject::Body(_) => pattern.matches(Some(req.body)),
    }
}

/// Whether `req` passes every matcher of `m` (the state aside).
pub fn matches(m: &RequestMatcher, req: &RequestView<'_>) -> bool {
    matches_with(m, req, false)
}

fn matches_with(m: &RequestMatcher, req: &RequestView<'_>, path_matched: bool) -> bool {
    let mut ok = true;
    each_mismatch(m, req, path_matched.then_some(true), |_| {
        ok = false;
        ControlFlow::Break(())
    });
    ok
}

/// The matchers of `m` that `req` fails, in a fixed order. With `first_only`, stops at the
/// first failure (enough to reject a route).
pub fn mismatches(
    m: &RequestMatcher,
    req: &RequestView<'_>,
    first_only: bool,
) -> Vec<Cow<'static, str>> {
    let mut failed = Vec::new();
    each_mismatch(m, req, None, |mismatch| {
        failed.push(mismatch.name());
        if first_only {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    failed
}

/// Whether `have` contains `want`: objects may hold extra keys; arrays and scalars are equal.
pub fn json_contains(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Object(h), Value::Object(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| json_contains(hv, wv))),
        (Value::Array(h), Value::Array(w)) => {
            h.len() == w.len() && h.iter().zip(w).all(|(a, b)| json_equal(a, b))
        }
        _ => json_equal(have, want),
    }
}

/// Equality with numbers compared by value (`1` equals `1.0`).
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn segments(pattern: &str) -> Vec<String> {
        let re = crate::scenario::path_regex::PathRegex::check(&format!("^(?:{pattern})$"))
            .expect("pattern");
        path_segments(&PathMatcher::Regex(Box::new(re)))
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn a_literal_path_files_under_the_segments_its_pattern_fixes() {
        for path in ["/api/users/42", "/", "/api/users/", "//x", "/a.b/c"] {
            let literal = PathMatcher::Literal(path.into());
            assert_eq!(
                path_segments(&literal),
                segments(&regex::escape(path)),
                "{path}"
            );
        }
    }

    /// The trie must choose exactly what a plain scan over every route in answer order
    /// chooses, and report the same near misses.
    #[test]
    fn index_agrees_with_a_linear_scan() {
        use std::path::{Path, PathBuf};

        let patterns = [
            "/api/users/42",
            "/api/users/[0-9]+",
            "/api/users/(?P<id>[^/]+)/orders",
            "/api/.*",
            "/api/users/",
            "(?i)/API/USERS/7",
            "/a|/api/users/9",
            "/static/.+\\.css",
            "/",
            ".*",
        ];
        let mut routes: Vec<Value> = patterns
            .iter()
            .enumerate()
            .map(|(i, p)| {
                json!({"id": format!("p{i}"), "request": {"method": "GET", "path": p},
                       "response": {"status": 200}})
            })
            .collect();
        // Enough routes on one node for its RegexSet, and a route with no path at all.
        for i in 0..(SET_THRESHOLD + 4) {
            routes.push(json!({"id": format!("s{i}"),
                "request": {"method": "POST", "path": format!("/api/s/{i}[a-z]*")},
                "response": {"status": 201}}));
        }
        routes.insert(
            3,
            json!({"id": "any-put", "request": {"method": "PUT"}, "response": {"status": 202}}),
        );
        let text = json!({"name": "idx", "routes": routes}).to_string();
        let root = PathBuf::from(".");
        let display = PathBuf::from("idx.json");
        let origin = crate::scenario::ctx::Origin {
            display: &display,
            source: &text,
            root: Some(&root),
            dir: Path::new("."),
            default_name: "idx".into(),
            relative: None,
            limits: Default::default(),
        };
        let scenario = crate::scenario::load::compile_source(&origin).expect("compiles");
        let index = RouteIndex::new(vec![Arc::new(crate::state::LiveScenario::new(scenario))]);
        let headers = HeaderMap::new();
        let paths = [
            "/api/users/42",
            "/api/users/43",
            "/api/users/x/orders",
            "/api/users/",
            "/api/users",
            "/API/USERS/7",
            "/api/users/7",
            "/a",
            "/api/users/9",
            "/static/x/y.css",
            "/",
            "",
            "/api/s/3",
            "/api/s/3abc",
            "/api/s/19",
            "/api/s/99",
            "/nothing/here",
            "//api/users/42",
        ];
        for method in ["GET", "POST", "PUT", "DELETE"] {
            for path in paths {
                let req = RequestView::new(method, path, "", &headers, b"");
                let linear = (0..index.len()).find(|&pos| matches(&index.route(pos).matcher, &req));
                let chosen = index.select(&req).map(|s| s.route.full_name.clone());
                let expected = linear.map(|pos| index.route(pos).full_name.clone());
                assert_eq!(chosen, expected, "{method} {path}");

                let mut all: Vec<(usize, bool, usize, NearMiss)> = (0..index.len())
                    .map(|pos| {
                        let route = index.route(pos);
                        let failed = mismatches(&route.matcher, &req, false);
                        let path_failed = failed.iter().any(|f| f == "path");
                        let miss = NearMiss {
                            route: route.full_name.clone(),
                            mismatches: failed,
                        };
                        (miss.mismatches.len(), path_failed, pos, miss)
                    })
                    .filter(|m| m.0 > 0)
                    .collect();
                all.sort_by_key(|m| (m.0, m.1, m.2));
                let expected: Vec<NearMiss> =
                    all.into_iter().take(NEAR_MISS_LIMIT).map(|m| m.3).collect();
                assert_eq!(
                    index.near_misses(&req, NEAR_MISS_LIMIT),
                    expected,
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn json_subset_semantics() {
        let have = json!({"a": 1, "b": {"c": [1, 2], "d": "x"}, "e": null});
        assert!(json_contains(&have, &json!({"a": 1})));
        assert!(json_contains(&have, &json!({"a": 1.0})));
        assert!(json_contains(&have, &json!({"b": {"c": [1, 2]}})));
        assert!(json_contains(&have, &json!({"e": null})));
        assert!(!json_contains(&have, &json!({"b": {"c": [1]}})));
        assert!(!json_contains(&have, &json!({"z": null})));
        assert!(!json_contains(&have, &json!({"a": "1"})));
        assert!(json_contains(&json!([1, 2]), &json!([1, 2])));
        assert!(!json_contains(
            &json!([{"a": 1, "b": 2}]),
            &json!([{"a": 1}])
        ));
    }
}
