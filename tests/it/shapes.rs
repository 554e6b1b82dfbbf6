//! The JSON shapes of the admin API and of understudy's own answers hold as documented in
//! `docs/admin-api.md` and the contract: every endpoint answers with exactly these keys (no
//! key missing, none extra), with the documented JSON types.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch_json};

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("expected an object, found {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

const SCENARIO_KEYS: &[&str] = &[
    "name",
    "file",
    "source",
    "description",
    "routes",
    "state",
    "status",
    "errors",
    "loadedAt",
    "active",
];

const ENTRY_KEYS: &[&str] = &[
    "id",
    "time",
    "method",
    "httpVersion",
    "path",
    "query",
    "headers",
    "body",
    "bodyEncoding",
    "bodyTruncated",
    "route",
    "status",
    "durationMs",
    "response",
];

fn users() -> Value {
    json!({
        "description": "A user that exists",
        "routes": [
            { "id": "ada", "request": { "method": "GET", "path": "/users/42" },
              "response": { "status": 200, "json": { "id": 42, "name": "Ada" } } },
            { "id": "gone", "request": { "path": "/gone" },
              "response": { "status": 200, "fault": "empty_response" } }
        ]
    })
}

#[tokio::test]
async fn every_admin_answer_has_exactly_the_documented_keys() {
    let dir = Scenarios::new();
    dir.write_json("users.json", &users());
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);

    let (status, health) = fetch_json(http.get(url("/__admin/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&health),
        set(&["status", "scenarios", "routes", "errors"])
    );
    assert_eq!(health["status"], "ok");
    assert!(health["errors"].is_u64());

    let (_, list) = fetch_json(http.get(url("/__admin/scenarios"))).await;
    let first = &list.as_array().expect("an array")[0];
    assert_eq!(keys(first), set(SCENARIO_KEYS));
    assert_eq!(first["source"], "file");
    assert_eq!(first["status"], "ok");
    assert!(first["errors"].is_array() && first["routes"].is_u64());

    let (_, one) = fetch_json(http.get(url("/__admin/scenarios/users"))).await;
    let mut with_document = set(SCENARIO_KEYS);
    with_document.extend(["routeNames", "document"]);
    assert_eq!(keys(&one), with_document);
    assert_eq!(one["routeNames"], json!(["users/ada", "users/gone"]));
    assert_eq!(one["document"], users());

    let doc =
        json!({ "routes": [{ "request": { "path": "/extra" }, "response": { "status": 204 } }] });
    let (status, put) = fetch_json(http.put(url("/__admin/scenarios/extra")).json(&doc)).await;
    assert_eq!(status, 201);
    assert_eq!(keys(&put), set(SCENARIO_KEYS));
    assert_eq!(put["source"], "api");
    assert_eq!(put["file"], Value::Null);

    let bad = json!({ "routes": [{ "response": { "status": 700 } }] });
    let (status, invalid) = fetch_json(http.put(url("/__admin/scenarios/bad")).json(&bad)).await;
    assert_eq!(status, 400);
    assert_eq!(keys(&invalid), set(&["error", "errors", "details"]));
    assert_eq!(
        keys(&invalid["details"][0]),
        set(&["path", "line", "column", "message"])
    );

    let (_, state) = fetch_json(
        http.put(url("/__admin/scenarios/users/state"))
            .json(&json!({ "state": "x" })),
    )
    .await;
    assert_eq!(keys(&state), set(&["name", "state"]));
    let (_, reset_one) = fetch_json(http.post(url("/__admin/scenarios/users/reset"))).await;
    assert_eq!(keys(&reset_one), set(&["name", "state"]));

    // Journal entries: a matched request, an unmatched one, a fault.
    http.get(url("/users/42")).send().await.expect("send");
    http.get(url("/nope")).send().await.expect("send");
    let _ = http.get(url("/gone")).send().await;
    let (_, requests) = fetch_json(http.get(url("/__admin/requests"))).await;
    assert_eq!(keys(&requests), set(&["requests", "evicted"]));
    let entries = requests["requests"].as_array().expect("an array");
    assert_eq!(entries.len(), 3, "{requests}");
    assert_eq!(keys(&entries[0]), set(ENTRY_KEYS));
    assert_eq!(entries[0]["bodyEncoding"], "utf8");
    assert_eq!(
        keys(&entries[0]["response"]),
        set(&["status", "headers", "body", "bodyEncoding", "bodyTruncated"])
    );
    assert_eq!(keys(&entries[1]), set(ENTRY_KEYS));
    assert_eq!(entries[1]["route"], Value::Null);
    let mut with_fault = set(ENTRY_KEYS);
    with_fault.insert("fault");
    assert_eq!(keys(&entries[2]), with_fault);
    assert_eq!(entries[2]["fault"], "empty_response");

    let (_, unmatched) = fetch_json(http.get(url("/__admin/requests/unmatched"))).await;
    let entry = &unmatched["requests"][0];
    let mut with_misses = set(ENTRY_KEYS);
    with_misses.insert("nearMisses");
    assert_eq!(keys(entry), with_misses);
    assert_eq!(keys(&entry["nearMisses"][0]), set(&["route", "mismatches"]));

    let (_, count) = fetch_json(
        http.post(url("/__admin/requests/count"))
            .json(&json!({ "path": "/nope" })),
    )
    .await;
    assert_eq!(count, json!({ "count": 1 }));

    let (_, reload) = fetch_json(http.post(url("/__admin/reload"))).await;
    assert_eq!(keys(&reload), set(&["scenarios", "routes", "errors"]));

    let (_, cleared) = fetch_json(http.delete(url("/__admin/requests"))).await;
    assert_eq!(keys(&cleared), set(&["deleted"]));

    let (_, deleted_api) = fetch_json(http.delete(url("/__admin/scenarios/extra"))).await;
    assert_eq!(deleted_api, json!({ "deleted": "extra", "source": "api" }));
    let (_, deleted_file) = fetch_json(http.delete(url("/__admin/scenarios/users"))).await;
    assert_eq!(
        deleted_file,
        json!({ "deleted": "users", "source": "file", "note": "hidden until its file changes" })
    );

    let (_, reset) = fetch_json(http.post(url("/__admin/reset"))).await;
    assert_eq!(reset, json!({ "status": "reset" }));

    let (status, missing) = fetch_json(http.get(url("/__admin/nothing-here"))).await;
    assert_eq!(status, 404);
    assert_eq!(keys(&missing), set(&["error"]));
}

#[tokio::test]
async fn the_unmatched_answer_has_exactly_the_contract_keys() {
    let dir = Scenarios::new();
    dir.write_json("users.json", &users());
    let server = Server::start(dir.path());
    let (status, body) = fetch_json(client().post(server.url("/users/42"))).await;
    assert_eq!(status, 404);
    assert_eq!(keys(&body), set(&["error", "request", "nearMisses"]));
    assert_eq!(body["error"], "no route matched");
    assert_eq!(
        body["request"],
        json!({ "method": "POST", "path": "/users/42" })
    );
    assert_eq!(
        body["nearMisses"][0],
        json!({ "route": "users/ada", "mismatches": ["method"] })
    );
}
