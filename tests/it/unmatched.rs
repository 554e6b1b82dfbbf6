//! Requests no route matches: the 404 report with its marker header, near misses ordered
//! by how many matchers failed, and the capped log lines for unmatched requests.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch, mismatches_of, one_route, poll, unmatched};

/// The `route` names of a report's near misses, in order.
fn near_miss_routes(body: &Value) -> Vec<String> {
    body["nearMisses"]
        .as_array()
        .expect("nearMisses array")
        .iter()
        .map(|m| m["route"].as_str().expect("route string").to_owned())
        .collect()
}

#[tokio::test]
async fn unmatched_request_gets_a_404_report_with_the_marker_header() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("users.json", &one_route("/users", "user list"));
    let server = Server::start(dir.path());

    // Act
    let (status, marker, body) = unmatched(client().delete(server.url("/nothing/here"))).await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(marker.as_deref(), Some("1"));
    assert_eq!(body["error"], "no route matched");
    assert_eq!(body["request"]["method"], "DELETE");
    assert_eq!(body["request"]["path"], "/nothing/here");
    assert!(
        body["nearMisses"].is_array(),
        "nearMisses must be an array: {body:#}"
    );
}

#[tokio::test]
async fn unmatched_request_with_no_routes_has_no_near_misses() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let (status, marker, body) = unmatched(client().get(server.url("/x"))).await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(marker.as_deref(), Some("1"));
    assert_eq!(body["nearMisses"], json!([]));
}

#[tokio::test]
async fn matched_404_from_a_scenario_has_no_unmatched_marker() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "gone.json",
        &json!({ "routes": [ { "request": { "path": "/gone" }, "response": { "status": 404, "body": "scripted" } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/gone"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 404);
    assert!(resp.headers().get("x-understudy-unmatched").is_none());
    assert_eq!(resp.text().await.expect("body"), "scripted");
}

#[tokio::test]
async fn near_misses_come_fewest_mismatches_first() {
    // Arrange: written worst-first, so file order cannot explain the report's order.
    let dir = Scenarios::new();
    dir.write_json(
        "shop.json",
        &json!({
            "name": "shop",
            "routes": [
                { "id": "three", "request": { "method": "PUT", "path": "/orders", "query": { "page": "[0-9]+" } },
                  "response": { "status": 200 } },
                { "id": "two", "request": { "method": "POST", "path": "/carts" }, "response": { "status": 200 } },
                { "id": "one", "request": { "method": "POST", "path": "/items" }, "response": { "status": 200 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, _, body) = unmatched(client().get(server.url("/items"))).await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(
        near_miss_routes(&body),
        vec!["shop/one", "shop/two", "shop/three"],
        "{body:#}"
    );
    assert_eq!(mismatches_of(&body, "shop/one"), vec!["method"]);
    let mut two = mismatches_of(&body, "shop/two");
    two.sort();
    assert_eq!(two, vec!["method", "path"]);
    let mut three = mismatches_of(&body, "shop/three");
    three.sort();
    assert_eq!(three, vec!["method", "path", "query.page"]);
}

#[tokio::test]
async fn near_misses_name_every_failed_matcher() {
    // Arrange: one route per matcher kind that fails alone, plus one that fails them all.
    let dir = Scenarios::new();
    dir.write_json(
        "api.json",
        &json!({
            "name": "api",
            "routes": [
                { "id": "all", "request": {
                    "method": "PUT", "path": "/elsewhere", "query": { "page": "[0-9]+" },
                    "headers": { "x-token": "secret" }, "body": "needle", "json": { "kind": "widget" } },
                  "response": { "status": 200 } },
                { "id": "by-query", "request": { "path": "/things", "query": { "page": "[0-9]+" } }, "response": { "status": 200 } },
                { "id": "by-header", "request": { "path": "/things", "headers": { "x-token": "secret" } }, "response": { "status": 200 } },
                { "id": "by-body", "request": { "path": "/things", "body": "needle" }, "response": { "status": 200 } },
                { "id": "by-json", "request": { "path": "/things", "json": { "kind": "widget" } }, "response": { "status": 200 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let request = client()
        .post(server.url("/things?page=first"))
        .header("x-token", "wrong")
        .body(r#"{"kind": "gadget"}"#);
    let (status, _, body) = unmatched(request).await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(mismatches_of(&body, "api/by-query"), vec!["query.page"]);
    assert_eq!(
        mismatches_of(&body, "api/by-header"),
        vec!["headers.x-token"]
    );
    assert_eq!(mismatches_of(&body, "api/by-body"), vec!["body"]);
    assert_eq!(mismatches_of(&body, "api/by-json"), vec!["json"]);
    let mut all = mismatches_of(&body, "api/all");
    all.sort();
    assert_eq!(
        all,
        vec![
            "body",
            "headers.x-token",
            "json",
            "method",
            "path",
            "query.page"
        ]
    );
    assert_eq!(
        near_miss_routes(&body).last().map(String::as_str),
        Some("api/all"),
        "the route with the most failures comes last: {body:#}"
    );
}

#[tokio::test]
async fn near_miss_route_names_use_default_ids_and_names() {
    // Arrange: no scenario name, no route ids.
    let dir = Scenarios::new();
    dir.write_json(
        "billing.json",
        &json!({
            "routes": [
                { "request": { "method": "GET", "path": "/invoices" }, "response": { "status": 200 } },
                { "request": { "method": "POST", "path": "/invoices" }, "response": { "status": 200 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, _, body) = unmatched(client().patch(server.url("/invoices"))).await;

    // Assert
    assert_eq!(status, 404);
    assert_eq!(near_miss_routes(&body), vec!["billing/0", "billing/1"]);
}

/// Unmatched requests are logged one line each up to 20 a second; the rest of that second
/// are counted in one line, written when the next unmatched request comes. Every request is
/// accounted for, one way or the other.
#[tokio::test]
async fn unmatched_log_lines_are_capped_and_the_rest_counted() {
    let dir = Scenarios::new();
    dir.write_json("a.json", &one_route("/known", "hi"));
    let server = Server::start(dir.path());
    let http = client();
    // A burst far above 20 a second: whatever second boundaries it straddles, one second
    // gets more than 20 of them.
    for _ in 0..100 {
        assert_eq!(fetch(http.get(server.url("/nowhere"))).await.0, 404);
    }
    // The next unmatched request, a second later, writes the count of the last burst second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(fetch(http.get(server.url("/nowhere"))).await.0, 404);

    let tally = |logs: &[String]| {
        let lines = logs
            .iter()
            .filter(|l| l.contains("no route matched"))
            .count();
        let counted: usize = logs
            .iter()
            .filter_map(|l| {
                let (before, _) = l.split_once(" more requests matched no route")?;
                before.rsplit(' ').next()?.parse::<usize>().ok()
            })
            .sum();
        (lines, counted)
    };
    let (lines, counted) = poll(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || tally(&server.logs()),
        |(lines, counted)| lines + counted >= 101,
    )
    .await;
    assert_eq!(lines + counted, 101, "{lines} lines + {counted} counted");
    assert!(counted > 0, "nothing was counted: {lines} lines");
    assert!(lines <= 61, "{lines} one-line entries for 101 requests");
}
