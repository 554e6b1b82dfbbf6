//! The admin API's ground rules: health counts, the admin token (admin calls only, never mock
//! routes) and the reserved `/__admin/` prefix no scenario can answer.

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch, get, one_route};

#[tokio::test]
async fn health_reports_scenario_route_and_error_counts() {
    // Arrange: 2 good scenarios with 3 routes in all, 2 files that fail to load.
    let dir = Scenarios::new();
    dir.write_json("one.json", &one_route("/one", "1"));
    dir.write_json(
        "nested/two.json",
        &json!({ "routes": [
            { "request": { "path": "/two-a" }, "response": { "status": 200 } },
            { "request": { "path": "/two-b" }, "response": { "status": 200 } }
        ] }),
    );
    dir.write("broken.json", "{ \"routes\": ");
    dir.write_json(
        "invalid.json",
        &json!({ "routes": [ { "response": { "status": 99 } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/__admin/health"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 200);
    let content_type = resp.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "got {content_type:?}"
    );
    let body: Value = resp.json().await.expect("JSON");
    assert_eq!(
        body,
        json!({ "status": "ok", "scenarios": 2, "routes": 3, "errors": 2 })
    );
}

#[tokio::test]
async fn health_of_an_empty_directory_counts_nothing() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let body = server.health().await;

    // Assert
    assert_eq!(
        body,
        json!({ "status": "ok", "scenarios": 0, "routes": 0, "errors": 0 })
    );
}

#[tokio::test]
async fn admin_token_guards_the_admin_api_but_not_mock_routes() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("open.json", &one_route("/open", "no token needed"));
    let server = Server::start_with(dir.path(), &["--admin-token", "s3cret"]);
    let http = client();
    let health = server.url("/__admin/health");

    // Act
    let without = fetch(http.get(&health)).await;
    let wrong = fetch(http.get(&health).bearer_auth("nope")).await;
    let not_bearer = fetch(http.get(&health).header("Authorization", "s3cret")).await;
    let with = fetch(http.get(&health).bearer_auth("s3cret")).await;
    let unknown_admin_path = fetch(http.get(server.url("/__admin/whatever"))).await;
    let mock = fetch(http.get(server.url("/open"))).await;
    let mock_with_bad_token = fetch(http.get(server.url("/open")).bearer_auth("nope")).await;

    // Assert
    assert_eq!(without.0, 401);
    assert_eq!(wrong.0, 401);
    assert_eq!(not_bearer.0, 401);
    assert_eq!(with.0, 200);
    let body: Value = serde_json::from_str(&with.1).expect("JSON");
    assert_eq!(body["status"], "ok");
    assert_eq!(
        unknown_admin_path.0, 401,
        "every admin call needs the token"
    );
    assert_eq!(mock, (200, "no token needed".to_owned()));
    assert_eq!(mock_with_bad_token, (200, "no token needed".to_owned()));
}

#[tokio::test]
async fn admin_prefix_is_reserved_and_never_answered_by_scenarios() {
    // Arrange: routes that try to claim admin paths, plus a catch-all.
    let dir = Scenarios::new();
    dir.write_json(
        "hijack.json",
        &json!({ "routes": [
            { "priority": 100, "request": { "path": "/__admin/health" }, "response": { "status": 299, "body": "hijacked health" } },
            { "priority": 100, "request": { "path": "/__admin/.*" }, "response": { "status": 299, "body": "hijacked admin" } }
        ] }),
    );
    dir.write_json(
        "catch-all.json",
        &json!({ "routes": [ { "priority": -100, "response": { "status": 298, "body": "catch-all" } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let health = get(server.url("/__admin/health")).await;
    let other_admin = get(server.url("/__admin/not-an-endpoint")).await;
    let outside = get(server.url("/__administrator")).await;

    // Assert
    assert_eq!(health.0, 200, "{health:?}");
    let body: Value = serde_json::from_str(&health.1).expect("health JSON");
    assert_eq!(body["status"], "ok");
    assert_ne!(other_admin.0, 299, "{other_admin:?}");
    assert_ne!(other_admin.0, 298, "{other_admin:?}");
    assert!(!other_admin.1.contains("hijacked") && !other_admin.1.contains("catch-all"));
    assert_eq!(
        outside,
        (298, "catch-all".to_owned()),
        "only the /__admin/ prefix is reserved"
    );
}
