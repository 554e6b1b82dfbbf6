//! Route matching: which route answers a request, and why the others did not.
//!
//! A [`RouteIndex`] is built once per snapshot. Routes are kept in answer order (priority,
//! then scenario name, then position). Path patterns go into one `RegexSet`, so a request
//! costs one pass over its path no matter how many routes there are; only the routes whose
//! path matched (and those with no path matcher) have their other matchers checked. This
//! module knows nothing about sockets: it sees a [`RequestView`].

use std::sync::Arc;

use actix_http::header::HeaderMap;
use regex::RegexSet;
use serde::Serialize;
use serde_json::Value;

use crate::scenario::compiled::{
    CompiledResponse, CompiledRoute, CompiledScenario, RequestMatcher,
};

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
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NearMiss {
    /// `scenario/id`.
    pub route: String,
    /// The matchers that failed: `method`, `path`, `query.NAME`, `headers.NAME`, `body`, `json`.
    pub mismatches: Vec<String>,
}

/// The route chosen for a request and the answer it gives.
pub struct Selection<'a> {
    /// The route's scenario.
    pub scenario: &'a Arc<CompiledScenario>,
    /// The route.
    pub route: &'a CompiledRoute,
    /// The answer (for a script, the step this request got).
    pub response: &'a CompiledResponse,
    /// The scenario's state when the request arrived, when the answer is a template.
    pub state_before: Option<String>,
}

/// Routes in answer order with a path prefilter.
pub struct RouteIndex {
    scenarios: Vec<Arc<CompiledScenario>>,
    order: Vec<Slot>,
    /// Answer positions (into `order`) of routes without a path matcher.
    pathless: Vec<usize>,
    /// `RegexSet` over path patterns; pattern `i` belongs to answer position `path_pos[i]`.
    paths: RegexSet,
    path_pos: Vec<usize>,
}

impl RouteIndex {
    /// Orders the routes of `scenarios` and builds the path prefilter.
    pub fn new(scenarios: Vec<Arc<CompiledScenario>>) -> Self {
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
                .then_with(|| scenarios[a.scenario].name.cmp(&scenarios[b.scenario].name))
                .then_with(|| a.route.cmp(&b.route))
        });
        let mut pathless = Vec::new();
        let mut patterns = Vec::new();
        let mut path_pos = Vec::new();
        for (pos, slot) in order.iter().enumerate() {
            let route = &scenarios[slot.scenario].routes[slot.route];
            match &route.matcher.path {
                Some(re) => {
                    patterns.push(re.as_str().to_owned());
                    path_pos.push(pos);
                }
                None => pathless.push(pos),
            }
        }
        // Each pattern compiled alone already; the set only fails on its total size limit,
        // in which case every route is checked one by one instead.
        let paths = regex::RegexSetBuilder::new(&patterns)
            .size_limit(usize::MAX >> 4)
            .build()
            .unwrap_or_else(|_| RegexSet::empty());
        if paths.len() != patterns.len() {
            pathless = (0..order.len()).collect();
            path_pos.clear();
        }
        RouteIndex {
            scenarios,
            order,
            pathless,
            paths,
            path_pos,
        }
    }

    /// The scenarios in the snapshot.
    pub fn scenarios(&self) -> &[Arc<CompiledScenario>] {
        &self.scenarios
    }

    /// Number of routes.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether there are no routes.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    fn route(&self, pos: usize) -> &CompiledRoute {
        let slot = self.order[pos];
        &self.scenarios[slot.scenario].routes[slot.route]
    }

    /// The first route, in answer order, that matches every matcher and the scenario's
    /// state, with the answer it gives. Taking the answer advances the route's script and
    /// applies its `setState`, atomically with the state check.
    pub fn select(&self, req: &RequestView<'_>) -> Option<Selection<'_>> {
        let hits = self.paths.matches(req.path);
        let mut by_path = hits.iter().map(|i| self.path_pos[i]).peekable();
        let mut pathless = self.pathless.iter().copied().peekable();
        loop {
            let pos = match (by_path.peek(), pathless.peek()) {
                (Some(&a), Some(&b)) if a < b => by_path.next(),
                (Some(_), Some(_)) | (None, Some(_)) => pathless.next(),
                (Some(_), None) => by_path.next(),
                (None, None) => return None,
            }?;
            let slot = self.order[pos];
            let scenario = &self.scenarios[slot.scenario];
            let route = &scenario.routes[slot.route];
            if !mismatches(&route.matcher, req, true).is_empty() {
                continue;
            }
            let state = &scenario.state;
            let taken = if route.is_stateful() {
                state.with_locked(|current| {
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
                    .map(|r| (r, r.template.is_some().then(|| state.get())))
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
    }

    /// The route `select` would pick, without taking its answer (no script advance, no
    /// state change): the `Expect: 100-continue` decision, made on the head alone.
    pub fn peek(&self, req: &RequestView<'_>) -> Option<&CompiledRoute> {
        for pos in 0..self.order.len() {
            let slot = self.order[pos];
            let scenario = &self.scenarios[slot.scenario];
            let route = &scenario.routes[slot.route];
            if !mismatches(&route.matcher, req, true).is_empty() {
                continue;
            }
            if let Some(allowed) = &route.when_state
                && !allowed.contains(&scenario.state.get())
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

    /// The routes closest to matching, fewest failed matchers first, then answer order.
    pub fn near_misses(&self, req: &RequestView<'_>, limit: usize) -> Vec<NearMiss> {
        let mut all: Vec<(usize, NearMiss)> = (0..self.order.len())
            .map(|pos| {
                let route = self.route(pos);
                let mut failed = mismatches(&route.matcher, req, false);
                let scenario = &self.scenarios[self.order[pos].scenario];
                if let Some(allowed) = &route.when_state {
                    let current = scenario.state.get();
                    if !allowed.contains(&current) {
                        failed.push("state".to_owned());
                    }
                }
                (
                    pos,
                    NearMiss {
                        route: route.full_name.clone(),
                        mismatches: failed,
                    },
                )
            })
            .filter(|(_, m)| !m.mismatches.is_empty())
            .collect();
        // Fewest failed matchers first; among equals, a route whose path matched is closer
        // than one whose path did not (the path is what users mean to hit), then answer order.
        all.sort_by_key(|(pos, m)| {
            let path_failed = m.mismatches.iter().any(|f| f == "path");
            (m.mismatches.len(), path_failed, *pos)
        });
        all.into_iter().take(limit).map(|(_, m)| m).collect()
    }
}

/// The matchers of `m` that `req` fails, in a fixed order. With `first_only`, stops at the
/// first failure (enough to reject a route).
pub fn mismatches(m: &RequestMatcher, req: &RequestView<'_>, first_only: bool) -> Vec<String> {
    let mut failed = Vec::new();
    macro_rules! fail {
        ($name:expr) => {{
            failed.push($name);
            if first_only {
                return failed;
            }
        }};
    }
    if let Some(method) = &m.method {
        let ok = method.is_match(req.method) || (req.method == "HEAD" && method.is_match("GET"));
        if !ok {
            fail!("method".to_owned());
        }
    }
    if let Some(path) = &m.path
        && !path.is_match(req.path)
    {
        fail!("path".to_owned());
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
            fail!(format!("query.{name}"));
        }
    }
    for (name, want) in &m.headers {
        let mut values = req.headers.get_all(name);
        let ok = match want {
            None => values.next().is_none(),
            Some(re) => values.any(|v| re.is_match(&String::from_utf8_lossy(v.as_bytes()))),
        };
        if !ok {
            fail!(format!("headers.{name}"));
        }
    }
    if req.head_only {
        return failed;
    }
    if let Some(re) = &m.body
        && !re.is_match(&String::from_utf8_lossy(req.body))
    {
        fail!("body".to_owned());
    }
    if let Some(want) = &m.json
        && !req.json().is_some_and(|have| json_contains(have, want))
    {
        fail!("json".to_owned());
    }
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
