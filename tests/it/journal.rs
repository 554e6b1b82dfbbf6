//! The request journal: entry fields, multi-valued query and headers, binary bodies, the
//! entry and byte bounds with their eviction count, body truncation, filters, count and the
//! unmatched listing with near misses.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::util::{
    Scenarios, Server, client, entries, fetch_json, get, is_rfc3339, journal, one_route,
};

/// The `path` of every entry, in order.
fn paths(answer: &Value) -> Vec<String> {
    entries(answer)
        .iter()
        .map(|e| e["path"].as_str().expect("path string").to_owned())
        .collect()
}

/// `POST /__admin/requests/count` with `matcher` → status and body.
async fn count(server: &Server, matcher: &Value) -> (u16, Value) {
    fetch_json(
        client()
            .post(server.url("/__admin/requests/count"))
            .json(matcher),
    )
    .await
}

/// The count for a matcher that must be valid.
async fn count_ok(server: &Server, matcher: Value) -> u64 {
    let (status, body) = count(server, &matcher).await;
    assert_eq!(status, 200, "count {matcher}: {body:#}");
    body["count"]
        .as_u64()
        .unwrap_or_else(|| panic!("count {matcher}: {body:#}"))
}

/// A raw `POST path` with `body`, `Connection: close`, and only Host and Content-Length
/// besides (so the journal's byte accounting is predictable).
fn raw_post(server: &Server, path: &str, body: &[u8]) -> crate::util::RawResponse {
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    crate::util::raw(server.addr, &request)
}

#[tokio::test]
async fn an_entry_records_the_request_and_its_outcome() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "orders.json",
        &json!({
            "name": "orders",
            "routes": [ { "id": "create", "request": { "method": "POST", "path": "/orders" },
                          "response": { "status": 201, "body": "created" } } ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, _) = crate::util::fetch(
        client()
            .post(server.url("/orders?dry=1"))
            .header("X-Request-Tag", "Alpha")
            .body("{\"qty\":2}"),
    )
    .await;
    let answer = journal(&server, "").await;

    // Assert
    assert_eq!(status, 201);
    assert_eq!(answer["evicted"], 0);
    let list = entries(&answer);
    assert_eq!(list.len(), 1, "{answer:#}");
    let e = &list[0];
    assert!(e["id"].is_u64() || e["id"].is_string(), "id: {e:#}");
    let time = e["time"].as_str().expect("time string");
    assert!(is_rfc3339(time), "time {time:?}");
    assert_eq!(e["method"], "POST");
    assert_eq!(e["path"], "/orders");
    assert_eq!(e["query"], json!({ "dry": "1" }));
    assert_eq!(
        e["headers"]["x-request-tag"], "Alpha",
        "header names are lower-case: {e:#}"
    );
    assert!(e["headers"].get("X-Request-Tag").is_none(), "{e:#}");
    assert_eq!(e["body"], "{\"qty\":2}");
    assert_ne!(e["bodyEncoding"], "base64");
    assert_eq!(e["bodyTruncated"], false);
    assert_eq!(e["route"], "orders/create");
    assert_eq!(e["status"], 201);
    assert!(
        e["durationMs"].as_f64().is_some_and(|d| d >= 0.0),
        "durationMs: {e:#}"
    );
}

#[tokio::test]
async fn unmatched_requests_are_journaled_with_a_null_route() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let (status, _) = get(server.url("/nowhere")).await;
    let answer = journal(&server, "").await;

    // Assert
    assert_eq!(status, 404);
    let list = entries(&answer);
    assert_eq!(list.len(), 1, "{answer:#}");
    assert_eq!(list[0]["route"], Value::Null);
    assert_eq!(list[0]["status"], 404);
    assert_eq!(list[0]["path"], "/nowhere");
}

#[tokio::test]
async fn repeated_query_names_and_headers_become_arrays() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let request = "GET /multi?tag=a&one=1&tag=b&tag=c&sp=x%20y HTTP/1.1\r\n\
                   Host: x\r\n\
                   X-Multi: first\r\n\
                   X-Single: only\r\n\
                   X-Multi: second\r\n\
                   Connection: close\r\n\r\n";

    // Act
    let resp = server.raw(request);
    let answer = journal(&server, "").await;

    // Assert
    assert!(resp.status_line.contains(" 404 "), "{}", resp.status_line);
    let e = &entries(&answer)[0];
    assert_eq!(
        e["query"],
        json!({ "tag": ["a", "b", "c"], "one": "1", "sp": "x y" }),
        "{e:#}"
    );
    assert_eq!(e["headers"]["x-multi"], json!(["first", "second"]), "{e:#}");
    assert_eq!(e["headers"]["x-single"], "only");
}

#[tokio::test]
async fn a_non_utf8_body_is_recorded_as_base64() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "upload.json",
        &json!({ "routes": [ { "request": { "path": "/upload" }, "response": { "status": 204 } } ] }),
    );
    let server = Server::start(dir.path());
    let bytes: Vec<u8> = vec![0xff, 0xfe, 0x00, 0x80, b'o', b'k', 0xc3];

    // Act
    let resp = raw_post(&server, "/upload", &bytes);
    let answer = journal(&server, "").await;

    // Assert
    assert!(resp.status_line.contains(" 204 "), "{}", resp.status_line);
    let e = &entries(&answer)[0];
    assert_eq!(e["bodyEncoding"], "base64", "{e:#}");
    let encoded = e["body"].as_str().expect("body string");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("valid base64");
    assert_eq!(decoded, bytes);
    assert_eq!(e["bodyTruncated"], false);
}

#[tokio::test]
async fn the_entry_bound_keeps_the_newest_and_counts_the_evicted() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "all.json",
        &json!({ "routes": [ { "response": { "status": 200 } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--journal-size", "3"]);

    // Act
    for i in 1..=5 {
        assert_eq!(get(server.url(&format!("/r/{i}"))).await.0, 200);
    }
    let answer = journal(&server, "").await;

    // Assert
    assert_eq!(paths(&answer), vec!["/r/3", "/r/4", "/r/5"], "{answer:#}");
    assert_eq!(answer["evicted"], 2);
}

#[tokio::test]
async fn the_byte_bound_evicts_the_oldest_and_counts_them() {
    // Arrange: each entry holds a 1 KiB body plus ~400 bytes of head and overhead, so 3500
    // bytes hold 2 entries but not 3.
    let dir = Scenarios::new();
    dir.write_json(
        "bulk.json",
        &json!({ "routes": [ { "request": { "path": "/b/.*" }, "response": { "status": 200 } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--journal-max-bytes", "3500"]);
    let body = vec![b'k'; 1024];

    // Act
    for i in 1..=5 {
        let resp = raw_post(&server, &format!("/b/{i}"), &body);
        assert!(resp.status_line.contains(" 200 "), "{}", resp.status_line);
    }
    let answer = journal(&server, "").await;

    // Assert
    assert_eq!(paths(&answer), vec!["/b/4", "/b/5"], "{answer:#}");
    assert_eq!(answer["evicted"], 3);
    for e in entries(&answer) {
        assert_eq!(
            e["body"].as_str().map(str::len),
            Some(1024),
            "kept entries are whole"
        );
        assert_eq!(e["bodyTruncated"], false);
    }
}

#[tokio::test]
async fn bodies_past_the_per_entry_limit_are_cut_and_flagged() {
    // Arrange: the route matches text at the end of the body, past the journal's cut.
    let dir = Scenarios::new();
    dir.write_json(
        "tail.json",
        &json!({ "name": "tail", "routes": [ { "id": "end", "request": { "body": "THE-END" }, "response": { "status": 200 } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--journal-body-bytes", "10"]);

    // Act
    let long = raw_post(&server, "/long", b"0123456789abcdefTHE-END");
    let short = raw_post(&server, "/short", b"THE-END");
    let answer = journal(&server, "").await;

    // Assert
    assert!(long.status_line.contains(" 200 "), "{}", long.status_line);
    assert!(short.status_line.contains(" 200 "), "{}", short.status_line);
    let list = entries(&answer);
    assert_eq!(list.len(), 2, "{answer:#}");
    assert_eq!(list[0]["body"], "0123456789");
    assert_eq!(list[0]["bodyTruncated"], true);
    assert_eq!(list[0]["route"], "tail/end", "matching saw the whole body");
    assert_eq!(list[1]["body"], "THE-END");
    assert_eq!(list[1]["bodyTruncated"], false);
}

#[tokio::test]
async fn a_request_refused_with_413_is_journaled() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "all.json",
        &json!({ "routes": [ { "response": { "status": 200 } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "16"]);

    // Act
    let resp = raw_post(&server, "/too-big", &[b'x'; 100]);
    let answer = journal(&server, "").await;

    // Assert
    assert!(resp.status_line.contains(" 413 "), "{}", resp.status_line);
    let list = entries(&answer);
    assert_eq!(list.len(), 1, "{answer:#}");
    assert_eq!(list[0]["status"], 413);
    assert_eq!(list[0]["path"], "/too-big");
    assert_eq!(list[0]["method"], "POST");
    assert_eq!(list[0]["route"], Value::Null);
}

#[tokio::test]
async fn admin_calls_are_not_journaled() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("ping.json", &one_route("/ping", "pong"));
    let server = Server::start(dir.path());
    let http = client();

    // Act
    assert_eq!(get(server.url("/ping")).await.0, 200);
    let _ = server.health().await;
    let _ = fetch_json(http.get(server.url("/__admin/scenarios"))).await;
    let _ = fetch_json(http.post(server.url("/__admin/reload"))).await;
    let _ = fetch_json(http.get(server.url("/__admin/nope"))).await;
    let _ = fetch_json(
        http.post(server.url("/__admin/requests/count"))
            .json(&json!({})),
    )
    .await;
    let answer = journal(&server, "").await;
    let counted = count_ok(&server, json!({})).await;

    // Assert
    assert_eq!(paths(&answer), vec!["/ping"], "{answer:#}");
    assert_eq!(counted, 1);
}

#[tokio::test]
async fn limit_returns_the_newest_n_oldest_first() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    for i in 1..=5 {
        let _ = get(server.url(&format!("/n/{i}"))).await;
    }

    // Act
    let two = journal(&server, "?limit=2").await;
    let zero = journal(&server, "?limit=0").await;
    let many = journal(&server, "?limit=50").await;
    let bad = fetch_json(client().get(server.url("/__admin/requests?limit=abc"))).await;
    let negative = fetch_json(client().get(server.url("/__admin/requests?limit=-1"))).await;

    // Assert
    assert_eq!(paths(&two), vec!["/n/4", "/n/5"]);
    assert_eq!(paths(&zero), Vec::<String>::new());
    assert_eq!(paths(&many), vec!["/n/1", "/n/2", "/n/3", "/n/4", "/n/5"]);
    let ids: Vec<u64> = entries(&many)
        .iter()
        .map(|e| e["id"].as_u64().expect("numeric id"))
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    assert_eq!(bad.0, 400, "{:#}", bad.1);
    assert!(bad.1["error"].is_string());
    assert_eq!(negative.0, 400, "{:#}", negative.1);
}

#[tokio::test]
async fn route_filter_takes_a_full_route_name_or_a_scenario_name() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "shop.json",
        &json!({ "name": "shop", "routes": [
            { "id": "cart", "request": { "path": "/cart" }, "response": { "status": 200 } },
            { "id": "pay", "request": { "path": "/pay" }, "response": { "status": 200 } }
        ] }),
    );
    dir.write_json(
        "shopping.json",
        &json!({ "name": "shopping", "routes": [
            { "id": "list", "request": { "path": "/list" }, "response": { "status": 200 } }
        ] }),
    );
    let server = Server::start(dir.path());
    for path in ["/cart", "/pay", "/list", "/cart", "/missing"] {
        let _ = get(server.url(path)).await;
    }

    // Act
    let by_route = journal(&server, "?route=shop/cart").await;
    let by_scenario = journal(&server, "?route=shop").await;
    let limited = journal(&server, "?route=shop&limit=1").await;

    // Assert
    assert_eq!(paths(&by_route), vec!["/cart", "/cart"]);
    assert_eq!(
        paths(&by_scenario),
        vec!["/cart", "/pay", "/cart"],
        "a scenario name is not a text prefix: `shop` excludes `shopping`"
    );
    assert_eq!(paths(&limited), vec!["/cart"]);
}

#[tokio::test]
async fn unmatched_listings_carry_near_misses() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "items.json",
        &json!({ "name": "items", "routes": [
            { "id": "list", "request": { "method": "GET", "path": "/items" }, "response": { "status": 200 } }
        ] }),
    );
    let server = Server::start(dir.path());
    let http = client();
    assert_eq!(get(server.url("/items")).await.0, 200);
    let (post_status, _) = crate::util::fetch(http.post(server.url("/items"))).await;
    assert_eq!(post_status, 404);

    // Act
    let filtered = journal(&server, "?unmatched=true").await;
    let (status, unmatched) = fetch_json(http.get(server.url("/__admin/requests/unmatched"))).await;
    let bad = fetch_json(http.get(server.url("/__admin/requests?unmatched=maybe"))).await;

    // Assert
    assert_eq!(paths(&filtered), vec!["/items"]);
    assert_eq!(entries(&filtered)[0]["method"], "POST");
    assert_eq!(status, 200, "{unmatched:#}");
    assert_eq!(unmatched["evicted"], 0);
    let list = entries(&unmatched);
    assert_eq!(list.len(), 1, "{unmatched:#}");
    assert_eq!(list[0]["method"], "POST");
    assert_eq!(list[0]["route"], Value::Null);
    assert_eq!(
        list[0]["nearMisses"],
        json!([{ "route": "items/list", "mismatches": ["method"] }]),
        "{unmatched:#}"
    );
    assert_eq!(bad.0, 400, "{:#}", bad.1);
}

#[tokio::test]
async fn delete_requests_empties_the_journal_and_reports_how_many() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    for i in 1..=3 {
        let _ = get(server.url(&format!("/d/{i}"))).await;
    }

    // Act
    let (status, body) = fetch_json(client().delete(server.url("/__admin/requests"))).await;
    let emptied = journal(&server, "").await;
    let _ = get(server.url("/d/after")).await;
    let later = journal(&server, "").await;

    // Assert
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body, json!({ "deleted": 3 }));
    assert_eq!(paths(&emptied), Vec::<String>::new());
    assert_eq!(paths(&later), vec!["/d/after"], "recording goes on");
}

#[tokio::test]
async fn count_applies_every_matcher_kind() {
    // Arrange: five requests of different shapes.
    let dir = Scenarios::new();
    dir.write_json("items.json", &one_route("/items", "items"));
    let server = Server::start(dir.path());
    let http = client();
    let sent = [
        http.get(server.url("/items?page=2"))
            .header("X-Tenant", "acme"),
        http.post(server.url("/items"))
            .header("content-type", "application/json")
            .body(r#"{"sku":"A1","qty":1,"tags":["x"]}"#),
        http.post(server.url("/items"))
            .header("content-type", "application/json")
            .body(r#"{"sku":"B2","qty":3}"#),
        http.put(server.url("/items/7")).body("plain sku text"),
        http.delete(server.url("/other?page=x")),
    ];
    for request in sent {
        let _ = request.send().await.expect("request");
    }

    // Act + Assert: one count per matcher kind.
    assert_eq!(count_ok(&server, json!({})).await, 5);
    assert_eq!(count_ok(&server, json!({ "method": "POST" })).await, 2);
    assert_eq!(count_ok(&server, json!({ "method": "POST|PUT" })).await, 3);
    assert_eq!(
        count_ok(&server, json!({ "path": "/items" })).await,
        3,
        "path is matched whole"
    );
    assert_eq!(count_ok(&server, json!({ "path": "/items.*" })).await, 4);
    assert_eq!(
        count_ok(&server, json!({ "query": { "page": "[0-9]+" } })).await,
        1
    );
    assert_eq!(
        count_ok(&server, json!({ "query": { "page": null } })).await,
        3
    );
    assert_eq!(
        count_ok(&server, json!({ "headers": { "X-TENANT": "ac.*" } })).await,
        1,
        "header names are case-insensitive"
    );
    assert_eq!(
        count_ok(&server, json!({ "headers": { "x-tenant": null } })).await,
        4
    );
    assert_eq!(
        count_ok(&server, json!({ "body": "sku" })).await,
        3,
        "body is searched"
    );
    assert_eq!(count_ok(&server, json!({ "json": { "qty": 1 } })).await, 1);
    assert_eq!(
        count_ok(&server, json!({ "json": { "tags": ["x"] } })).await,
        1
    );
    assert_eq!(
        count_ok(
            &server,
            json!({ "method": "POST", "path": "/items", "json": { "sku": "B2" } })
        )
        .await,
        1
    );
    assert_eq!(count_ok(&server, json!({ "method": "PATCH" })).await, 0);
}

#[tokio::test]
async fn count_rejects_a_bad_regex_and_an_unknown_key() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let bad_regex = count(&server, &json!({ "path": "((" })).await;
    let bad_header = count(&server, &json!({ "headers": { "x-a": "[" } })).await;
    let unknown = count(&server, &json!({ "pth": "/x" })).await;

    // Assert
    for (answer, path) in [
        (&bad_regex, "path"),
        (&bad_header, "headers.x-a"),
        (&unknown, "pth"),
    ] {
        assert_eq!(answer.0, 400, "{:#}", answer.1);
        let errors = answer.1["errors"].as_array().expect("errors array");
        assert!(
            errors.iter().any(|e| e
                .as_str()
                .is_some_and(|e| e.starts_with(&format!("{path}: ")))),
            "an error at {path}: {errors:?}"
        );
    }
}
