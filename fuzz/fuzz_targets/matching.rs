//! Request matching against a compiled snapshot: any request gets a route or near misses,
//! never a panic. The snapshot is the bundled `scenarios/` plus `fuzz/snapshot/` (one
//! scenario with every kind of matcher, states and scripts); it is built once and its states
//! are reset before each input, so a crash replays.
//!
//! Input format (readable, so seeds are plain requests): the first line is `METHOD TARGET`
//! (a leading `!` matches on the head alone, as for `Expect: 100-continue`), the query is
//! what follows the first `?` of TARGET, then `name: value` header lines up to an empty
//! line, then the body.
#![no_main]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use understudy::internals::matching::{NEAR_MISS_LIMIT, RequestView, RouteIndex, json_contains};
use understudy::internals::scenario::load::load_dir;

fn snapshot() -> &'static RouteIndex {
    static INDEX: OnceLock<RouteIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let here = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut scenarios = Vec::new();
        for dir in [here.join("../scenarios"), here.join("snapshot")] {
            for outcome in load_dir(&dir, &Default::default()).expect("scenario dir") {
                let scenario = outcome.result.expect("bundled scenarios are valid");
                scenarios.push(Arc::new(understudy::internals::state::LiveScenario::new(scenario)));
            }
        }
        RouteIndex::new(scenarios)
    })
}

fn split_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let index = snapshot();
    for scenario in index.scenarios() {
        scenario.state.reset();
    }
    let (first, mut rest) = split_line(data);
    let first = String::from_utf8_lossy(first);
    let (head_only, first) = match first.strip_prefix('!') {
        Some(f) => (true, f),
        None => (false, &*first),
    };
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = HeaderMap::new();
    loop {
        let (line, after) = split_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let (name, value) = (&line[..colon], line[colon + 1..].trim_ascii());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let body = rest;
    let mut view = RequestView::new(method, path, query, &headers, body);
    view.head_only = head_only;

    let peeked = index.peek(&view).map(|r| r.full_name.clone());
    // Twice: scripts advance and states move between the two.
    for _ in 0..2 {
        match index.select(&view) {
            Some(sel) => {
                let _ = sel.response.status;
                assert!(sel.route.full_name.starts_with(&sel.scenario.name));
            }
            None => {
                let misses = index.near_misses(&view, NEAR_MISS_LIMIT);
                assert!(misses.len() <= NEAR_MISS_LIMIT);
            }
        }
    }
    let _ = peeked;
    if let Some(json) = view.json() {
        assert!(json_contains(json, json), "a value contains itself");
    }
});
