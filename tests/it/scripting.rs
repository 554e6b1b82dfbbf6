//! Scripted behaviour: response sequences (`responses`, `repeat`, `afterLast`), scenario
//! states (`initialState`, `whenState`, `setState`) and response templates.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

use crate::util::{
    HANG_GUARD, Scenarios, Server, admin_post, client, client_with_timeout, diags_for, fetch,
    fetch_json, get, is_rfc3339, line_col_of, logged_diag, mismatches_of, scenario_state,
    stdout_of, unmatched, validate,
};

/// `GET url` → status only.
async fn status_of(url: String) -> u16 {
    get(url).await.0
}

/// `GET path` `n` times, one after the other → each status and body.
async fn get_times(server: &Server, path: &str, n: usize) -> Vec<(u16, String)> {
    let mut answers = Vec::new();
    for _ in 0..n {
        answers.push(get(server.url(path)).await);
    }
    answers
}

/// `(status, body)` pairs as [`get`] returns them.
fn owned(answers: &[(u16, &str)]) -> Vec<(u16, String)> {
    answers.iter().map(|&(s, b)| (s, b.to_owned())).collect()
}

/// A scenario `name` with one templated `GET path` route answering `200` with text `body`.
fn text_template(name: &str, path: &str, body: &str) -> Value {
    json!({
        "name": name,
        "routes": [
            { "id": "t", "request": { "path": path },
              "response": { "status": 200, "body": body, "template": true } }
        ]
    })
}

// ---------------------------------------------------------------------------------------
// Sequences
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn script_repeats_steps_then_repeats_the_last_answer() {
    // Arrange: 503 twice, then 200 (afterLast defaults to repeat_last).
    let dir = Scenarios::new();
    dir.write_json(
        "flaky.json",
        &json!({
            "name": "flaky",
            "routes": [
                { "id": "pay", "request": { "method": "GET", "path": "/pay" },
                  "responses": [
                      { "status": 503, "repeat": 2, "body": "busy" },
                      { "status": 200, "body": "paid" }
                  ] }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let answers = get_times(&server, "/pay", 5).await;

    // Assert
    let expected = owned(&[
        (503, "busy"),
        (503, "busy"),
        (200, "paid"),
        (200, "paid"),
        (200, "paid"),
    ]);
    assert_eq!(answers, expected);
}

#[tokio::test]
async fn retry_after_header_is_sent_with_each_scripted_503() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "retry.json",
        &json!({
            "routes": [
                { "request": { "path": "/pay" },
                  "responses": [
                      { "status": 503, "repeat": 2, "headers": { "Retry-After": "1" } },
                      { "status": 200, "body": "paid" }
                  ] }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let mut seen = Vec::new();
    for _ in 0..3 {
        let resp = client()
            .get(server.url("/pay"))
            .send()
            .await
            .expect("request");
        let retry = resp
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ascii").to_owned());
        seen.push((resp.status().as_u16(), retry));
    }

    // Assert
    assert_eq!(
        seen,
        vec![
            (503, Some("1".to_owned())),
            (503, Some("1".to_owned())),
            (200, None),
        ]
    );
}

#[tokio::test]
async fn cycle_starts_the_script_again() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "cycle.json",
        &json!({
            "routes": [
                { "request": { "path": "/light" }, "afterLast": "cycle",
                  "responses": [
                      { "status": 200, "body": "green" },
                      { "status": 200, "body": "amber", "repeat": 2 },
                      { "status": 200, "body": "red" }
                  ] }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let bodies: Vec<String> = get_times(&server, "/light", 9)
        .await
        .into_iter()
        .map(|(_, body)| body)
        .collect();

    // Assert
    assert_eq!(
        bodies,
        [
            "green", "amber", "amber", "red", "green", "amber", "amber", "red", "green"
        ]
    );
}

#[tokio::test]
async fn fall_through_hands_over_to_a_later_route() {
    // Arrange: the script route comes first (file order); the fallback answers afterwards.
    let dir = Scenarios::new();
    dir.write_json(
        "ft.json",
        &json!({
            "routes": [
                { "id": "script", "request": { "path": "/job" }, "afterLast": "fall_through",
                  "responses": [ { "status": 202, "body": "queued" }, { "status": 201, "body": "done" } ] },
                { "id": "fallback", "request": { "path": "/job" },
                  "response": { "status": 200, "body": "steady" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let answers = get_times(&server, "/job", 4).await;

    // Assert
    let expected = owned(&[
        (202, "queued"),
        (201, "done"),
        (200, "steady"),
        (200, "steady"),
    ]);
    assert_eq!(answers, expected);
}

#[tokio::test]
async fn fall_through_with_no_later_route_is_unmatched_with_a_near_miss_report() {
    // Arrange: one script route and an unrelated POST route that only fails on `method`.
    let dir = Scenarios::new();
    dir.write_json(
        "once.json",
        &json!({
            "name": "once",
            "routes": [
                { "id": "token", "request": { "method": "GET", "path": "/token" },
                  "afterLast": "fall_through", "responses": [ { "status": 200, "body": "t1" } ] },
                { "id": "post-token", "request": { "method": "POST", "path": "/token" },
                  "response": { "status": 201 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let first = get(server.url("/token")).await;
    let (status, marker, report) = unmatched(client().get(server.url("/token"))).await;

    // Assert
    assert_eq!(first, (200, "t1".to_owned()));
    assert_eq!(status, 404, "{report:#}");
    assert_eq!(marker.as_deref(), Some("1"));
    assert_eq!(report["error"], "no route matched");
    assert_eq!(report["request"]["path"], "/token");
    assert_eq!(
        mismatches_of(&report, "once/post-token"),
        vec!["method".to_owned()],
        "{report:#}"
    );
    for miss in report["nearMisses"].as_array().expect("array") {
        assert_ne!(
            miss["mismatches"],
            json!([]),
            "a near miss names at least one failed matcher: {report:#}"
        );
    }
}

#[tokio::test]
async fn concurrent_requests_get_each_scripted_step_exactly_as_often_as_scripted() {
    // Arrange: 4 steps × 50, then fall through to a 410 route.
    let dir = Scenarios::new();
    dir.write_json(
        "burst.json",
        &json!({
            "name": "burst",
            "routes": [
                { "id": "script", "request": { "path": "/burst" }, "afterLast": "fall_through",
                  "responses": [
                      { "status": 200, "repeat": 50 },
                      { "status": 201, "repeat": 50 },
                      { "status": 202, "repeat": 50 },
                      { "status": 203, "repeat": 50 }
                  ] },
                { "id": "gone", "request": { "path": "/burst" }, "response": { "status": 410 } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act: 8 tasks × 25 requests, all at once.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let http = http.clone();
        let url = server.url("/burst");
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in 0..25 {
                let resp = http.get(&url).send().await.expect("request");
                statuses.push(resp.status().as_u16());
            }
            statuses
        }));
    }
    let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
    for task in tasks {
        for status in task.await.expect("task") {
            *counts.entry(status).or_default() += 1;
        }
    }
    let after = status_of(server.url("/burst")).await;

    // Assert
    let expected: BTreeMap<u16, usize> = [(200, 50), (201, 50), (202, 50), (203, 50)].into();
    assert_eq!(counts, expected, "no step handed out too often or lost");
    assert_eq!(after, 410, "the used-up script falls through");
}

#[tokio::test]
async fn admin_reset_restarts_the_script() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "flaky.json",
        &json!({
            "name": "flaky",
            "routes": [
                { "request": { "path": "/pay" },
                  "responses": [ { "status": 503, "repeat": 2 }, { "status": 200 } ] }
            ]
        }),
    );
    let server = Server::start(dir.path());
    for _ in 0..3 {
        status_of(server.url("/pay")).await;
    }
    let before_reset = status_of(server.url("/pay")).await;

    // Act
    let (reset, body) = admin_post(&server, "scenarios/flaky/reset").await;
    let mut after = Vec::new();
    for _ in 0..3 {
        after.push(status_of(server.url("/pay")).await);
    }

    // Assert
    assert_eq!(before_reset, 200);
    assert_eq!(reset, 200, "{body:#}");
    assert_eq!(after, [503, 503, 200]);
}

// ---------------------------------------------------------------------------------------
// States
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn initial_state_defaults_to_start() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "s.json",
        &json!({
            "name": "s",
            "routes": [
                { "request": { "path": "/x" }, "whenState": "other", "response": { "status": 200, "body": "other" } },
                { "request": { "path": "/x" }, "whenState": "start", "response": { "status": 200, "body": "start" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let answer = get(server.url("/x")).await;
    let state = scenario_state(&server, "s").await;

    // Assert
    assert_eq!(answer, (200, "start".to_owned()));
    assert_eq!(state, "start");
}

#[tokio::test]
async fn custom_initial_state_is_the_first_state() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "cart.json",
        &json!({
            "name": "cart",
            "initialState": "empty",
            "routes": [
                { "request": { "path": "/cart" }, "whenState": "start", "response": { "status": 200, "body": "start" } },
                { "request": { "path": "/cart" }, "whenState": "empty", "response": { "status": 200, "body": "empty" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let answer = get(server.url("/cart")).await;
    let state = scenario_state(&server, "cart").await;

    // Assert
    assert_eq!(answer, (200, "empty".to_owned()));
    assert_eq!(state, "empty");
}

#[tokio::test]
async fn when_state_array_matches_any_listed_state() {
    // Arrange: `/go/NAME` moves the scenario to NAME; `/door` answers only in a or b.
    let dir = Scenarios::new();
    let mut routes = vec![json!({
        "id": "door", "request": { "method": "GET", "path": "/door" }, "whenState": ["a", "b"],
        "response": { "status": 200, "body": "open" }
    })];
    for s in ["a", "b", "c"] {
        routes.push(json!({
            "id": format!("go-{s}"), "request": { "method": "POST", "path": format!("/go/{s}") },
            "setState": s, "response": { "status": 204 }
        }));
    }
    dir.write_json("multi.json", &json!({ "name": "multi", "routes": routes }));
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let mut seen = Vec::new();
    seen.push(("start", status_of(server.url("/door")).await));
    for s in ["a", "b", "c"] {
        let moved = http
            .post(server.url(&format!("/go/{s}")))
            .send()
            .await
            .expect("request");
        assert_eq!(moved.status(), 204);
        seen.push((s, status_of(server.url("/door")).await));
    }

    // Assert
    assert_eq!(seen, [("start", 404), ("a", 200), ("b", 200), ("c", 404)]);
}

#[tokio::test]
async fn login_then_me_flow_follows_set_state() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "auth.json",
        &json!({
            "name": "auth",
            "initialState": "anonymous",
            "routes": [
                { "id": "login", "request": { "method": "POST", "path": "/login" },
                  "setState": "logged-in", "response": { "status": 200, "json": { "token": "t" } } },
                { "id": "logout", "request": { "method": "POST", "path": "/logout" },
                  "whenState": "logged-in", "setState": "anonymous", "response": { "status": 204 } },
                { "id": "me", "request": { "method": "GET", "path": "/me" },
                  "whenState": "logged-in", "response": { "status": 200, "json": { "name": "Ann" } } },
                { "id": "me-anon", "request": { "method": "GET", "path": "/me" },
                  "response": { "status": 401, "json": { "error": "login first" } } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let before = get(server.url("/me")).await.0;
    let login = fetch(http.post(server.url("/login"))).await.0;
    let state_after_login = scenario_state(&server, "auth").await;
    let me = fetch_json(http.get(server.url("/me"))).await;
    let logout = fetch(http.post(server.url("/logout"))).await.0;
    let after = get(server.url("/me")).await.0;

    // Assert
    assert_eq!(before, 401);
    assert_eq!(login, 200);
    assert_eq!(state_after_login, "logged-in");
    assert_eq!(me, (200, json!({ "name": "Ann" })));
    assert_eq!(logout, 204);
    assert_eq!(after, 401);
}

#[tokio::test]
async fn near_miss_names_state_when_it_is_the_only_failed_matcher() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "auth.json",
        &json!({
            "name": "auth",
            "routes": [
                { "id": "me", "request": { "method": "GET", "path": "/me" },
                  "whenState": "logged-in", "response": { "status": 200 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, report) = fetch_json(client().get(server.url("/me"))).await;

    // Assert
    assert_eq!(status, 404, "{report:#}");
    assert_eq!(
        mismatches_of(&report, "auth/me"),
        vec!["state".to_owned()],
        "{report:#}"
    );
}

#[tokio::test]
async fn admin_put_state_moves_the_scenario() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "auth.json",
        &json!({
            "name": "auth",
            "routes": [
                { "id": "me", "request": { "path": "/me" }, "whenState": "logged-in",
                  "response": { "status": 200, "body": "Ann" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let before = status_of(server.url("/me")).await;

    // Act
    let (put, body) = fetch_json(
        client()
            .put(server.url("/__admin/scenarios/auth/state"))
            .json(&json!({ "state": "logged-in" })),
    )
    .await;
    let after = get(server.url("/me")).await;
    let state = scenario_state(&server, "auth").await;

    // Assert
    assert_eq!(before, 404);
    assert_eq!(put, 200, "{body:#}");
    assert_eq!(after, (200, "Ann".to_owned()));
    assert_eq!(state, "logged-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn state_check_and_set_is_atomic_under_concurrent_requests() {
    // Arrange: only the first POST in state `open` may win; the rest fall to 409. Warm
    // connections and a barrier put the 50 POSTs on the wire as close together as possible.
    let dir = Scenarios::new();
    dir.write_json(
        "lock.json",
        &json!({
            "name": "lock",
            "initialState": "open",
            "routes": [
                { "id": "take", "request": { "method": "POST", "path": "/lock" },
                  "whenState": "open", "setState": "closed", "response": { "status": 200, "body": "yours" } },
                { "id": "taken", "request": { "method": "POST", "path": "/lock" },
                  "response": { "status": 409, "body": "taken" } },
                { "id": "warm", "request": { "method": "GET", "path": "/warm" },
                  "response": { "status": 204 } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();
    let warm: Vec<_> = (0..50)
        .map(|_| tokio::spawn(http.get(server.url("/warm")).send()))
        .collect();
    for w in warm {
        assert_eq!(w.await.expect("task").expect("warm-up").status(), 204);
    }

    // Act: 5 rounds of 50 POSTs released at once, the scenario reset between rounds.
    let mut rounds = Vec::new();
    let mut states = Vec::new();
    for _ in 0..5 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (http, barrier, url) = (http.clone(), barrier.clone(), server.url("/lock"));
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                fetch(http.post(url)).await.0
            }));
        }
        let mut counts: BTreeMap<u16, usize> = BTreeMap::new();
        for task in tasks {
            *counts.entry(task.await.expect("task")).or_default() += 1;
        }
        rounds.push(counts);
        states.push(scenario_state(&server, "lock").await);
        let (reset, body) = admin_post(&server, "scenarios/lock/reset").await;
        assert_eq!(reset, 200, "{body:#}");
    }

    // Assert
    let once = BTreeMap::from([(200, 1), (409, 49)]);
    assert_eq!(rounds, vec![once; 5], "exactly one winner per round");
    assert_eq!(states, vec![json!("closed"); 5]);
}

// ---------------------------------------------------------------------------------------
// Templates
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn template_sees_method_path_params_query_headers_and_body() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "echo.json",
        &json!({
            "routes": [
                { "request": { "path": "/users/(?<id>[0-9]+)" },
                  "response": { "status": 200, "template": true,
                    "body": "{{ request.method }} {{ request.path }} id={{ path.id }} q={{ request.query.q }} user={{ request.headers['x-user'] }} upper=[{{ request.headers['X-User'] }}] body={{ request.body }}" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let answer = fetch(
        client()
            .put(server.url("/users/42?q=hello%20world&q=second"))
            .header("X-User", "Ann")
            .body("payload"),
    )
    .await;

    // Assert
    assert_eq!(
        answer,
        (
            200,
            "PUT /users/42 id=42 q=hello world user=Ann upper=[] body=payload".to_owned()
        )
    );
}

#[tokio::test]
async fn json_body_whole_expressions_keep_their_json_type_and_mixed_strings_stay_strings() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "order.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/orders" },
                  "response": { "status": 201, "template": true, "json": {
                      "qty": "{{ request.json.qty }}",
                      "item": "{{ request.json.item }}",
                      "gift": "{{ request.json.gift }}",
                      "sku": "{{ request.json.item.sku }}",
                      "label": "qty={{ request.json.qty }}",
                      "flags": "gift={{ request.json.gift }} note=[{{ request.json.note }}] tags={{ request.json.item.tags }}",
                      "nested": [ "{{ request.json.qty }}", { "deep": "x{{ request.json.qty }}" } ],
                      "fixed": 7
                  } } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, body) = fetch_json(client().post(server.url("/orders")).json(&json!({
        "qty": 3,
        "item": { "sku": "A1", "tags": ["x", "y"] },
        "gift": true,
        "note": null
    })))
    .await;

    // Assert
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(
        body,
        json!({
            "qty": 3,
            "item": { "sku": "A1", "tags": ["x", "y"] },
            "gift": true,
            "sku": "A1",
            "label": "qty=3",
            "flags": "gift=true note=[] tags=[\"x\",\"y\"]",
            "nested": [ 3, { "deep": "x3" } ],
            "fixed": 7
        })
    );
}

#[tokio::test]
async fn undefined_attributes_chain_and_render_empty() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "u.json",
        &text_template(
            "u",
            "/u",
            "[{{ request.json.missing.deeper }}][{{ request.query.nope }}][{{ path.none }}]",
        ),
    );
    let server = Server::start(dir.path());

    // Act
    let answer = get(server.url("/u")).await;

    // Assert
    assert_eq!(answer, (200, "[][][]".to_owned()));
}

#[tokio::test]
async fn template_state_is_the_state_before_set_state() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "steps.json",
        &json!({
            "name": "steps",
            "routes": [
                { "request": { "method": "POST", "path": "/advance" }, "setState": "next",
                  "response": { "status": 200, "body": "was {{ state }}", "template": true } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let first = fetch(http.post(server.url("/advance"))).await;
    let second = fetch(http.post(server.url("/advance"))).await;

    // Assert
    assert_eq!(first, (200, "was start".to_owned()));
    assert_eq!(second, (200, "was next".to_owned()));
}

#[tokio::test]
async fn now_renders_the_current_time_in_rfc3339() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("now.json", &text_template("now", "/now", "{{ now() }}"));
    let server = Server::start(dir.path());

    // Act
    let (status, text) = get(server.url("/now")).await;

    // Assert
    assert_eq!(status, 200);
    assert!(is_rfc3339(&text), "not RFC 3339: {text:?}");
    // A UTC (`Z`) time can be compared with the clock; allow minutes of skew.
    if let Ok(at) = humantime::parse_rfc3339(&text) {
        let skew = match SystemTime::now().duration_since(at) {
            Ok(d) => d,
            Err(e) => e.duration(),
        };
        assert!(
            skew < Duration::from_secs(300),
            "now() is far from the clock: {text}"
        );
    }
}

#[tokio::test]
async fn uuid_is_a_fresh_v4_uuid_per_request() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("id.json", &text_template("id", "/id", "{{ uuid() }}"));
    let server = Server::start(dir.path());
    let v4 =
        regex::Regex::new(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
            .expect("regex");

    // Act
    let a = get(server.url("/id")).await.1;
    let b = get(server.url("/id")).await.1;

    // Assert
    assert!(v4.is_match(&a), "not a v4 UUID: {a:?}");
    assert!(v4.is_match(&b), "not a v4 UUID: {b:?}");
    assert_ne!(a, b, "each request gets a new UUID");
}

#[tokio::test]
async fn random_int_stays_within_its_inclusive_bounds() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "dice.json",
        &json!({
            "routes": [
                { "request": { "path": "/dice" },
                  "response": { "status": 200, "template": true, "json": { "n": "{{ random_int(1, 3) }}" } } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let mut values = Vec::new();
    for _ in 0..40 {
        let (status, body) = fetch_json(client().get(server.url("/dice"))).await;
        assert_eq!(status, 200, "{body:#}");
        values.push(body["n"].clone());
    }

    // Assert
    for v in &values {
        let n = v.as_i64().unwrap_or_else(|| panic!("not an integer: {v}"));
        assert!((1..=3).contains(&n), "out of bounds: {n}");
    }
    let distinct: std::collections::BTreeSet<i64> =
        values.iter().filter_map(Value::as_i64).collect();
    assert!(distinct.len() > 1, "40 rolls all gave {distinct:?}");
}

#[tokio::test]
async fn header_values_are_templates() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "loc.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/carts/(?<cart>[0-9]+)/items" },
                  "response": { "status": 201, "template": true,
                    "headers": {
                        "Location": "/carts/{{ path.cart }}/items/1",
                        "X-Echo": "{{ request.headers['x-trace'] }}",
                        "Set-Cookie": ["cart={{ path.cart }}", "plain=1"]
                    },
                    "body": "ok" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .post(server.url("/carts/7/items"))
        .header("X-Trace", "abc-123")
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 201);
    let h = resp.headers();
    assert_eq!(h.get("location").expect("location"), "/carts/7/items/1");
    assert_eq!(h.get("x-echo").expect("x-echo"), "abc-123");
    let cookies: Vec<&str> = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii"))
        .collect();
    assert_eq!(cookies, ["cart=7", "plain=1"]);
}

#[tokio::test]
async fn without_template_braces_are_sent_untouched() {
    // Arrange: text broken as a template would fail to load; not a template, it is just text.
    let dir = Scenarios::new();
    dir.write_json(
        "raw.json",
        &json!({
            "routes": [
                { "request": { "path": "/off" },
                  "response": { "status": 200, "template": false, "headers": { "X-Raw": "{{ path.x }}" },
                                "body": "{{ request.path }} {% if %}" } },
                { "request": { "path": "/default" },
                  "response": { "status": 200, "json": { "v": "{{ request.json.qty }}" } } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let off = client()
        .get(server.url("/off"))
        .send()
        .await
        .expect("request");
    let raw_header = off
        .headers()
        .get("x-raw")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let off_body = off.text().await.expect("body");
    let default = fetch_json(client().get(server.url("/default"))).await;

    // Assert
    assert_eq!(raw_header.as_deref(), Some("{{ path.x }}"));
    assert_eq!(off_body, "{{ request.path }} {% if %}");
    assert_eq!(default, (200, json!({ "v": "{{ request.json.qty }}" })));
}

#[tokio::test]
async fn template_syntax_error_in_a_body_is_a_load_error_at_its_position() {
    // Arrange: an unclosed expression in a text body, and a good file beside it.
    let dir = Scenarios::new();
    let text = "{\n  \"name\": \"bad\",\n  \"routes\": [\n    {\n      \"request\": { \"path\": \"/bad\" },\n      \"response\": {\n        \"status\": 200,\n        \"template\": true,\n        \"body\": \"hello {{ request.path \"\n      }\n    }\n  ]\n}\n";
    let file = dir.write("bad.json", text);
    dir.write_json("good.json", &text_template("good", "/good", "fine"));
    let (line, col) = line_col_of(text, "\"hello {{");

    // Act
    let out = validate(dir.path());
    let server = Server::start(dir.path());
    let bad = status_of(server.url("/bad")).await;
    let good = get(server.url("/good")).await;

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &file);
    let diag = diags
        .iter()
        .find(|d| d.path == "routes[0].response.body")
        .unwrap_or_else(|| panic!("no diagnostic at routes[0].response.body: {stdout}"));
    assert_eq!((diag.line, diag.col), (line, col), "{stdout}");
    assert!(
        diag.message.to_lowercase().contains("template"),
        "the message says it is a template problem: {}",
        diag.message
    );
    assert!(
        logged_diag(&server.logs(), &file, "routes[0].response.body").is_some(),
        "serve logs the same problem: {:#?}",
        server.logs()
    );
    assert_eq!(bad, 404, "the broken file does not serve");
    assert_eq!(good, (200, "fine".to_owned()), "the good file still serves");
}

#[test]
fn template_syntax_error_in_a_header_value_names_that_header() {
    // Arrange
    let dir = Scenarios::new();
    let text = "{\n  \"routes\": [\n    {\n      \"request\": { \"path\": \"/h\" },\n      \"response\": {\n        \"status\": 200,\n        \"template\": true,\n        \"headers\": { \"X-A\": \"{{ 1 + }}\" }\n      }\n    }\n  ]\n}\n";
    let file = dir.write("header.json", text);
    let at = line_col_of(text, "\"{{ 1 + }}\"");

    // Act
    let out = validate(&file);

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &file);
    let header = diags
        .iter()
        .find(|d| d.path == "routes[0].response.headers.X-A")
        .unwrap_or_else(|| panic!("no diagnostic at the header: {stdout}"));
    assert_eq!((header.line, header.col), at, "{stdout}");
}

#[test]
fn template_syntax_error_deep_in_a_json_body_names_that_string() {
    // Arrange: the broken tag is the second item of a nested array.
    let dir = Scenarios::new();
    let text = "{\n  \"routes\": [\n    {\n      \"request\": { \"path\": \"/j\" },\n      \"response\": {\n        \"status\": 200,\n        \"template\": true,\n        \"json\": { \"outer\": { \"items\": [ \"ok\", \"{% for x in %}\" ] } }\n      }\n    }\n  ]\n}\n";
    let file = dir.write("deep.json", text);
    let at = line_col_of(text, "\"{% for x in %}\"");

    // Act
    let out = validate(&file);

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &file);
    let json = diags
        .iter()
        .find(|d| d.path == "routes[0].response.json.outer.items[1]")
        .unwrap_or_else(|| {
            panic!("no diagnostic at routes[0].response.json.outer.items[1]: {stdout}")
        });
    assert_eq!((json.line, json.col), at, "{stdout}");
}

#[tokio::test]
async fn render_errors_answer_500_and_the_server_keeps_serving() {
    // Arrange: a runaway loop, nested loops and an invalid random_int range.
    let dir = Scenarios::new();
    dir.write_json(
        "bad.json",
        &json!({
            "name": "bad",
            "routes": [
                { "id": "loop", "request": { "path": "/loop" },
                  "response": { "status": 200, "template": true,
                    "body": "{% for i in range(100000000) %}x{% endfor %}" } },
                { "id": "nested", "request": { "path": "/nested" },
                  "response": { "status": 200, "template": true,
                    "body": "{% for i in range(10000) %}{% for j in range(10000) %}x{% endfor %}{% endfor %}" } },
                { "id": "dice", "request": { "path": "/dice" },
                  "response": { "status": 200, "template": true, "json": { "n": "{{ random_int(5, 1) }}" } } },
                { "id": "ok", "request": { "path": "/ok" }, "response": { "status": 200, "body": "alive" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client_with_timeout(HANG_GUARD);

    // Act
    let mut failed = Vec::new();
    for path in ["/loop", "/nested", "/dice"] {
        let resp = http
            .get(server.url(path))
            .send()
            .await
            .unwrap_or_else(|err| panic!("{path} did not answer in {HANG_GUARD:?}: {err}"));
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        failed.push((path, status, text));
    }
    let ok = fetch(http.get(server.url("/ok"))).await;

    // Assert
    for (path, status, text) in &failed {
        assert_ne!(*status, 200, "{path} must not succeed: {text:.200}");
    }
    let (_, dice_status, dice_text) = &failed[2];
    assert_eq!(*dice_status, 500, "{dice_text}");
    let dice: Value = serde_json::from_str(dice_text).expect("JSON error body");
    assert!(dice["error"].is_string(), "{dice:#}");
    assert_eq!(ok, (200, "alive".to_owned()));
}

#[tokio::test]
async fn format_filter_with_a_non_ascii_key_from_the_request_is_a_500_not_a_panic() {
    // Regression (fuzz/template): minijinja 3.1's `format` panics on a non-ASCII `%(key)`;
    // a template that formats the request body let any client reach that panic.
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "fmt.json",
        &json!({
            "name": "fmt",
            "routes": [
                { "id": "fmt", "request": { "path": "/fmt" },
                  "response": { "status": 200, "template": true,
                    "body": "{{ request.body | format(a=1) }}" } },
                { "id": "ok", "request": { "path": "/ok" }, "response": { "status": 200, "body": "alive" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let hostile = fetch(http.post(server.url("/fmt")).body("%(\u{e9})s")).await;
    let ascii = fetch(http.post(server.url("/fmt")).body("a=%(a)s")).await;
    let ok = fetch(http.get(server.url("/ok"))).await;

    // Assert
    assert_eq!(hostile.0, 500, "{}", hostile.1);
    assert!(hostile.1.contains("must be ASCII"), "{}", hostile.1);
    assert_eq!(ascii, (200, "a=1".to_owned()));
    assert_eq!(ok, (200, "alive".to_owned()));
    assert!(
        !server.logs().iter().any(|l| l.contains("panicked")),
        "{:#?}",
        server.logs()
    );
}
