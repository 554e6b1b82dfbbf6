//! The admin API calls tests share: the request journal, the scenario list, scenario
//! states, admin `POST`s, and the report an unmatched request gets.

use serde_json::{Value, json};

use super::{Server, client, fetch_json, text};

/// `GET /__admin/requests{query}` → the whole answer (asserts `200`).
pub async fn journal(server: &Server, query: &str) -> Value {
    let (status, body) =
        fetch_json(client().get(server.url(&format!("/__admin/requests{query}")))).await;
    assert_eq!(status, 200, "{body:#}");
    body
}

/// `GET /__admin/requests` over a raw socket, for tests without a runtime → the whole answer
/// (asserts `200`).
pub fn journal_raw(server: &Server) -> Value {
    let resp = server.raw("GET /__admin/requests HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert!(
        resp.status_line.starts_with("HTTP/1.1 200 "),
        "journal status: {}",
        resp.status_line
    );
    serde_json::from_slice(&resp.body)
        .unwrap_or_else(|err| panic!("journal is not JSON ({err}): {:?}", text(&resp.body)))
}

/// The `requests` array of a journal answer.
pub fn entries(answer: &Value) -> &Vec<Value> {
    answer["requests"].as_array().expect("requests array")
}

/// `GET /__admin/scenarios` (no token) → the list (asserts `200`).
pub async fn scenario_list(server: &Server) -> Value {
    let (status, body) = fetch_json(client().get(server.url("/__admin/scenarios"))).await;
    assert_eq!(status, 200, "GET /__admin/scenarios: {body:#}");
    body
}

/// `GET /__admin/scenarios/{name}` (no token) → status and body.
pub async fn scenario(server: &Server, name: &str) -> (u16, Value) {
    fetch_json(client().get(server.url(&format!("/__admin/scenarios/{name}")))).await
}

/// `GET /__admin/scenarios/{name}` → its `state` (asserts `200`).
pub async fn scenario_state(server: &Server, name: &str) -> Value {
    let (status, body) = scenario(server, name).await;
    assert_eq!(status, 200, "GET /__admin/scenarios/{name}: {body:#}");
    body["state"].clone()
}

/// `PUT /__admin/scenarios/{name}/state` with `{"state": state}` (asserts `200` and the
/// state it answers).
pub async fn set_state(server: &Server, name: &str, state: &str) {
    let url = server.url(&format!("/__admin/scenarios/{name}/state"));
    let (status, body) = fetch_json(client().put(url).json(&json!({ "state": state }))).await;
    assert_eq!(status, 200, "PUT /__admin/scenarios/{name}/state: {body}");
    assert_eq!(body["state"], state, "state set for {name}");
}

/// `POST /__admin/{path}` with no body (no token) → status and body.
pub async fn admin_post(server: &Server, path: &str) -> (u16, Value) {
    fetch_json(client().post(server.url(&format!("/__admin/{path}")))).await
}

/// Sends a request no route should match → status, the `x-understudy-unmatched` marker
/// header and the JSON report.
pub async fn unmatched(request: reqwest::RequestBuilder) -> (u16, Option<String>, Value) {
    let resp = request.send().await.expect("request");
    let status = resp.status().as_u16();
    let marker = resp
        .headers()
        .get("x-understudy-unmatched")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body = resp.json().await.expect("JSON body");
    (status, marker, body)
}

/// The mismatches an unmatched report lists for `route` (panics when `route` is not among
/// its near misses).
pub fn mismatches_of(report: &Value, route: &str) -> Vec<String> {
    let miss = report["nearMisses"]
        .as_array()
        .expect("nearMisses array")
        .iter()
        .find(|m| m["route"] == route)
        .unwrap_or_else(|| panic!("{route} not among the near misses: {report:#}"));
    miss["mismatches"]
        .as_array()
        .expect("mismatches array")
        .iter()
        .map(|v| v.as_str().expect("mismatch string").to_owned())
        .collect()
}
