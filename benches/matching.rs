//! Hot paths of understudy measured in-process: route selection against 10, 500 and
//! 10,000 regex routes (hit first, hit last, miss), near-miss reports, template rendering.
//!
//! `cargo bench --bench matching`; numbers and method in `docs/benchmarks.md`.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use serde_json::json;
use understudy::internals::http::respond::render_template;
use understudy::internals::matching::{NEAR_MISS_LIMIT, RequestView, RouteIndex};
use understudy::internals::scenario::CompiledScenario;
use understudy::internals::scenario::ctx::Origin;
use understudy::internals::scenario::load::compile_source;
use understudy::internals::scenario::template::Context;

const SIZES: [usize; 3] = [10, 500, 10_000];

/// Compiles one scenario document the way a file under `scenarios/` would be.
fn compile(name: &str, doc: serde_json::Value) -> CompiledScenario {
    let text = doc.to_string();
    let root = PathBuf::from(".");
    let display = PathBuf::from(format!("{name}.json"));
    let origin = Origin {
        display: &display,
        source: &text,
        root: Some(&root),
        dir: Path::new("."),
        default_name: name.to_owned(),
        relative: Some(display.clone()),
        limits: Default::default(),
    };
    compile_source(&origin).unwrap_or_else(|d| panic!("bench scenario does not compile: {d:?}"))
}

/// `n` routes `^/api/rN/items/[0-9]+$`, laid out like the peer harness's workload B.
fn regex_routes(n: usize) -> RouteIndex {
    routes_like(n, |i| format!("/api/r{i}/items/[0-9]+"))
}

/// `n` routes whose patterns fix no leading path segment (`^/(api|v2)/rN/items/[0-9]+$`):
/// the index cannot file them apart, so one `RegexSet` pass over all of them picks the
/// candidates. The worst case of the index.
fn unprefixed_routes(n: usize) -> RouteIndex {
    routes_like(n, |i| format!("/(api|v2)/r{i}/items/[0-9]+"))
}

fn routes_like(n: usize, path: impl Fn(usize) -> String) -> RouteIndex {
    let routes: Vec<_> = (0..n)
        .map(|i| {
            json!({
                "id": format!("r{i}"),
                "request": {"method": "GET", "path": path(i)},
                "response": {"status": 200, "json": {"route": i}}
            })
        })
        .collect();
    let scenario = compile("bench", json!({"name": "bench", "routes": routes}));
    RouteIndex::new(vec![Arc::new(
        understudy::internals::state::LiveScenario::new(scenario),
    )])
}

fn view<'a>(path: &'a str, headers: &'a HeaderMap) -> RequestView<'a> {
    RequestView::new("GET", path, "", headers, b"")
}

fn select(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("select");
    for n in SIZES {
        let index = regex_routes(n);
        let last = format!("/api/r{}/items/7", n - 1);
        for (case, path) in [
            ("hit_first", "/api/r0/items/7"),
            ("hit_last", last.as_str()),
            ("miss", "/api/none/items/7"),
        ] {
            let hit = case != "miss";
            assert_eq!(index.select(&view(path, &headers)).is_some(), hit);
            group.bench_with_input(BenchmarkId::new(case, n), &path, |b, path| {
                b.iter(|| black_box(index.select(&view(black_box(path), &headers)).is_some()))
            });
        }
    }
    group.finish();
}

fn select_unprefixed(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("select_unprefixed");
    for n in SIZES {
        let index = unprefixed_routes(n);
        let last = format!("/api/r{}/items/7", n - 1);
        for (case, path) in [("hit_last", last.as_str()), ("miss", "/api/none/items/7")] {
            assert_eq!(
                index.select(&view(path, &headers)).is_some(),
                case != "miss"
            );
            group.bench_with_input(BenchmarkId::new(case, n), &path, |b, path| {
                b.iter(|| black_box(index.select(&view(black_box(path), &headers)).is_some()))
            });
        }
    }
    group.finish();
}

fn near_misses(c: &mut Criterion) {
    let headers = HeaderMap::new();
    let mut group = c.benchmark_group("near_misses");
    for n in SIZES {
        let index = regex_routes(n);
        let path = "/api/none/items/7";
        assert_eq!(
            index
                .near_misses(&view(path, &headers), NEAR_MISS_LIMIT)
                .len(),
            NEAR_MISS_LIMIT.min(n)
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, path| {
            b.iter(|| {
                black_box(index.near_misses(&view(black_box(path), &headers), NEAR_MISS_LIMIT))
            })
        });
    }
    group.finish();
}

fn template(c: &mut Criterion) {
    let scenario = compile(
        "tmpl",
        json!({"name": "tmpl", "routes": [{
            "id": "order",
            "request": {"method": "POST", "path": "/orders/(?P<id>[0-9]+)"},
            "response": {
                "status": 201,
                "template": true,
                "headers": {"Location": "/orders/{{ path.id }}"},
                "json": {
                    "id": "{{ path.id }}",
                    "customer": "{{ request.json.customer | upper }}",
                    "items": "{{ request.json.items | length }}",
                    "trace": "{{ request.headers['x-trace'] }}"
                }
            }
        }]}),
    );
    let route = &scenario.routes[0];
    let response = match &route.answers {
        understudy::internals::scenario::compiled::Answers::One(r) => r,
        understudy::internals::scenario::compiled::Answers::Script { .. } => unreachable!(),
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        HeaderName::from_static("x-trace"),
        HeaderValue::from_static("abc-123"),
    );
    let body = br#"{"customer":"ada","items":[1,2,3]}"#;
    let json = serde_json::from_slice(body).ok();
    let mut params = serde_json::Map::new();
    params.insert("id".into(), json!("42"));
    let ctx = Context {
        method: "POST",
        path: "/orders/42",
        query: &[],
        headers: &headers,
        body,
        json: json.as_ref(),
        path_params: params,
        state: "started".into(),
    };
    let rendered = render_template(response, &ctx).expect("template renders");
    black_box(&rendered);
    c.bench_function("template/render_json_body", |b| {
        b.iter(|| black_box(render_template(response, black_box(&ctx)).is_ok()))
    });
}

criterion_group!(benches, select, select_unprefixed, near_misses, template);
criterion_main!(benches);
