//! Request matching: whole-path regexes on the raw path, method alternation, query, header,
//! body and JSON matchers (absence with `null`, several values), and route priority.

use reqwest::Method;
use serde_json::json;

use crate::util::{Scenarios, Server, client, fetch, get, one_route};

#[tokio::test]
async fn path_regex_matches_the_whole_path_only() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("users.json", &one_route("/users", "user list"));
    let server = Server::start(dir.path());

    // Act
    let exact = get(server.url("/users")).await;
    let longer = get(server.url("/users/1")).await;
    let prefixed = get(server.url("/api/users")).await;
    let trailing_slash = get(server.url("/users/")).await;

    // Assert
    assert_eq!(exact, (200, "user list".to_owned()));
    assert_eq!(longer.0, 404, "`/users` must not match `/users/1`");
    assert_eq!(prefixed.0, 404, "`/users` must not match `/api/users`");
    assert_eq!(trailing_slash.0, 404, "`/users` must not match `/users/`");
}

#[tokio::test]
async fn path_is_matched_without_the_query_string() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("users.json", &one_route("/users", "user list"));
    dir.write_json(
        "query_in_pattern.json",
        &one_route(r"/search\?q=x", "never"),
    );
    let server = Server::start(dir.path());

    // Act
    let with_query = get(server.url("/users?page=2&sort=name")).await;
    let pattern_with_query = get(server.url("/search?q=x")).await;

    // Assert
    assert_eq!(with_query, (200, "user list".to_owned()));
    assert_eq!(
        pattern_with_query.0, 404,
        "a path pattern must never see the query string"
    );
}

#[tokio::test]
async fn path_is_matched_as_sent_with_percent_encoding_kept() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "files.json",
        &json!({
            "routes": [
                { "request": { "path": "/enc/a%20b" }, "response": { "status": 200, "body": "encoded" } },
                { "request": { "path": "/dec/a b" }, "response": { "status": 200, "body": "decoded" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let encoded = get(server.url("/enc/a%20b")).await;
    let decoded_pattern = get(server.url("/dec/a%20b")).await;

    // Assert
    assert_eq!(encoded, (200, "encoded".to_owned()));
    assert_eq!(
        decoded_pattern.0, 404,
        "the path must be matched as sent (still percent-encoded), not decoded"
    );
}

#[tokio::test]
async fn method_alternation_is_anchored_as_a_whole() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "methods.json",
        &json!({
            "routes": [
                { "request": { "method": "GET|POST", "path": "/m" }, "response": { "status": 200, "body": "ok" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();
    let send = |m: &[u8]| {
        let method = Method::from_bytes(m).expect("valid method token");
        fetch(http.request(method, server.url("/m")))
    };

    // Act
    let get_ = send(b"GET").await;
    let post = send(b"POST").await;
    let put = send(b"PUT").await;
    let gets = send(b"GETS").await;
    let xpost = send(b"XPOST").await;

    // Assert
    assert_eq!(get_, (200, "ok".to_owned()));
    assert_eq!(post, (200, "ok".to_owned()));
    assert_eq!(put.0, 404);
    assert_eq!(
        gets.0, 404,
        "`GET|POST` must not match `GETS` (anchored as ^(?:GET|POST)$)"
    );
    assert_eq!(
        xpost.0, 404,
        "`GET|POST` must not match `XPOST` (anchored as ^(?:GET|POST)$)"
    );
}

#[tokio::test]
async fn query_values_are_decoded_and_matched_whole() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "search.json",
        &json!({
            "routes": [
                { "request": { "path": "/s", "query": { "q": "a b", "page": "[0-9]+" } },
                  "response": { "status": 200, "body": "found" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let decoded = get(server.url("/s?q=a%20b&page=12")).await;
    let longer_value = get(server.url("/s?q=a%20bc&page=12")).await;
    let prefixed_value = get(server.url("/s?q=xa%20b&page=12")).await;
    let partial_number = get(server.url("/s?q=a%20b&page=12x")).await;
    let missing = get(server.url("/s?page=12")).await;

    // Assert
    assert_eq!(decoded, (200, "found".to_owned()));
    assert_eq!(
        longer_value.0, 404,
        "query regex must match the whole value"
    );
    assert_eq!(
        prefixed_value.0, 404,
        "query regex must match the whole value"
    );
    assert_eq!(
        partial_number.0, 404,
        "query regex must match the whole value"
    );
    assert_eq!(
        missing.0, 404,
        "a required query parameter that is absent fails"
    );
}

#[tokio::test]
async fn query_with_several_values_matches_when_any_value_matches() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "tags.json",
        &json!({
            "routes": [
                { "request": { "path": "/t", "query": { "tag": "b" } }, "response": { "status": 200, "body": "tagged" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let second_matches = get(server.url("/t?tag=a&tag=b")).await;
    let first_matches = get(server.url("/t?tag=b&tag=c")).await;
    let none_match = get(server.url("/t?tag=a&tag=c")).await;

    // Assert
    assert_eq!(second_matches, (200, "tagged".to_owned()));
    assert_eq!(first_matches, (200, "tagged".to_owned()));
    assert_eq!(none_match.0, 404);
}

#[tokio::test]
async fn query_null_means_the_parameter_must_be_absent() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "nodebug.json",
        &json!({
            "routes": [
                { "request": { "path": "/q", "query": { "debug": null } }, "response": { "status": 200, "body": "plain" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let absent = get(server.url("/q?other=1")).await;
    let present = get(server.url("/q?debug=1")).await;
    let present_empty = get(server.url("/q?debug=")).await;

    // Assert
    assert_eq!(absent, (200, "plain".to_owned()));
    assert_eq!(present.0, 404);
    assert_eq!(present_empty.0, 404, "an empty value is still present");
}

#[tokio::test]
async fn header_names_are_case_insensitive_and_values_matched_whole() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "auth.json",
        &json!({
            "routes": [
                { "request": { "path": "/h", "headers": { "X-Api-Key": "abc" } }, "response": { "status": 200, "body": "key ok" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let lower = fetch(http.get(server.url("/h")).header("x-api-key", "abc")).await;
    let upper_on_wire =
        server.raw("GET /h HTTP/1.1\r\nHost: x\r\nX-API-KEY: abc\r\nConnection: close\r\n\r\n");
    let longer = fetch(http.get(server.url("/h")).header("x-api-key", "abcd")).await;
    let shorter = fetch(http.get(server.url("/h")).header("x-api-key", "ab")).await;
    let missing = fetch(http.get(server.url("/h"))).await;

    // Assert
    assert_eq!(lower, (200, "key ok".to_owned()));
    assert!(
        upper_on_wire.status_line.starts_with("HTTP/1.1 200 "),
        "header name sent as X-API-KEY must match `X-Api-Key`: {}",
        upper_on_wire.status_line
    );
    assert_eq!(upper_on_wire.body, b"key ok");
    assert_eq!(longer.0, 404, "header regex must match the whole value");
    assert_eq!(shorter.0, 404, "header regex must match the whole value");
    assert_eq!(missing.0, 404);
}

#[tokio::test]
async fn header_null_means_the_header_must_be_absent() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "anon.json",
        &json!({
            "routes": [
                { "request": { "path": "/anon", "headers": { "authorization": null } }, "response": { "status": 200, "body": "anonymous" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let absent = fetch(http.get(server.url("/anon"))).await;
    let present = fetch(
        http.get(server.url("/anon"))
            .header("Authorization", "Bearer x"),
    )
    .await;

    // Assert
    assert_eq!(absent, (200, "anonymous".to_owned()));
    assert_eq!(present.0, 404);
}

#[tokio::test]
async fn header_sent_several_times_matches_when_any_value_matches() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "multi.json",
        &json!({
            "routes": [
                { "request": { "path": "/multi", "headers": { "x-tag": "two" } }, "response": { "status": 200, "body": "has two" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let with_two = server.raw(
        "GET /multi HTTP/1.1\r\nHost: x\r\nX-Tag: one\r\nX-Tag: two\r\nConnection: close\r\n\r\n",
    );
    let without_two = server.raw(
        "GET /multi HTTP/1.1\r\nHost: x\r\nX-Tag: one\r\nX-Tag: three\r\nConnection: close\r\n\r\n",
    );

    // Assert
    assert!(
        with_two.status_line.starts_with("HTTP/1.1 200 "),
        "{}",
        with_two.status_line
    );
    assert_eq!(with_two.body, b"has two");
    assert!(
        without_two.status_line.starts_with("HTTP/1.1 404 "),
        "{}",
        without_two.status_line
    );
}

#[tokio::test]
async fn body_regex_is_searched_anywhere_in_the_body() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "body.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/b", "body": "\"sku\"\\s*:" }, "response": { "status": 200, "body": "has sku" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let in_the_middle = fetch(
        http.post(server.url("/b"))
            .body(r#"{"qty": 2, "sku" : "A-1", "x": true}"#),
    )
    .await;
    let absent = fetch(
        http.post(server.url("/b"))
            .body(r#"{"qty": 2, "sk": "A-1"}"#),
    )
    .await;
    let empty = fetch(http.post(server.url("/b"))).await;

    // Assert
    assert_eq!(
        in_the_middle,
        (200, "has sku".to_owned()),
        "body regex is not anchored"
    );
    assert_eq!(absent.0, 404);
    assert_eq!(empty.0, 404);
}

#[tokio::test]
async fn json_matcher_accepts_extra_object_keys_and_compares_scalars() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "order.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/order", "json": { "user": { "name": "ann" }, "qty": 1 } },
                  "response": { "status": 201, "body": "ordered" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();
    let post = |body: serde_json::Value| fetch(http.post(server.url("/order")).json(&body));

    // Act
    let exact = post(json!({ "user": { "name": "ann" }, "qty": 1 })).await;
    let extra_keys =
        post(json!({ "user": { "name": "ann", "age": 7 }, "qty": 1, "note": "x" })).await;
    let other_scalar = post(json!({ "user": { "name": "ann" }, "qty": 2 })).await;
    let scalar_type_differs = post(json!({ "user": { "name": "ann" }, "qty": "1" })).await;
    let missing_key = post(json!({ "user": { "name": "ann" } })).await;

    // Assert
    assert_eq!(exact, (201, "ordered".to_owned()));
    assert_eq!(
        extra_keys,
        (201, "ordered".to_owned()),
        "objects may hold extra keys"
    );
    assert_eq!(other_scalar.0, 404);
    assert_eq!(scalar_type_differs.0, 404, "\"1\" is not 1");
    assert_eq!(missing_key.0, 404);
}

#[tokio::test]
async fn json_matcher_requires_arrays_to_be_equal() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "tags.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/tags", "json": { "tags": ["a", "b"] } },
                  "response": { "status": 200, "body": "tags ok" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();
    let post = |body: serde_json::Value| fetch(http.post(server.url("/tags")).json(&body));

    // Act
    let equal = post(json!({ "tags": ["a", "b"], "more": 1 })).await;
    let longer = post(json!({ "tags": ["a", "b", "c"] })).await;
    let shorter = post(json!({ "tags": ["a"] })).await;
    let reordered = post(json!({ "tags": ["b", "a"] })).await;

    // Assert
    assert_eq!(equal, (200, "tags ok".to_owned()));
    assert_eq!(longer.0, 404, "arrays must be equal, not a superset");
    assert_eq!(shorter.0, 404, "arrays must be equal, not a subset");
    assert_eq!(reordered.0, 404, "arrays must be equal, order included");
}

#[tokio::test]
async fn json_matcher_never_matches_a_body_that_is_not_json() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "any_object.json",
        &json!({
            "routes": [
                { "request": { "method": "POST", "path": "/obj", "json": {} }, "response": { "status": 200, "body": "object" } },
                { "request": { "method": "POST", "path": "/str", "json": "ann" }, "response": { "status": 200, "body": "string" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let object = fetch(http.post(server.url("/obj")).body(r#"{"a": 1}"#)).await;
    let not_json = fetch(http.post(server.url("/obj")).body("a=1&b=2")).await;
    let truncated_json = fetch(http.post(server.url("/obj")).body(r#"{"a": 1"#)).await;
    let no_body = fetch(http.post(server.url("/obj"))).await;
    let same_string = fetch(http.post(server.url("/str")).body(r#""ann""#)).await;
    let other_string = fetch(http.post(server.url("/str")).body(r#""anne""#)).await;

    // Assert
    assert_eq!(object, (200, "object".to_owned()));
    assert_eq!(
        not_json.0, 404,
        "a non-JSON body never matches a json matcher"
    );
    assert_eq!(truncated_json.0, 404);
    assert_eq!(no_body.0, 404);
    assert_eq!(
        same_string,
        (200, "string".to_owned()),
        "scalars compare equal"
    );
    assert_eq!(other_string.0, 404);
}

#[tokio::test]
async fn higher_priority_is_tried_first() {
    // Arrange: the low-priority route sits in the alphabetically first scenario and comes
    // first in its file, so only priority can make the other one win.
    let dir = Scenarios::new();
    dir.write_json(
        "a.json",
        &json!({
            "routes": [
                { "request": { "path": "/p" }, "response": { "status": 200, "body": "a-default" } },
                { "priority": -1, "request": { "path": "/q" }, "response": { "status": 200, "body": "a-negative" } }
            ]
        }),
    );
    dir.write_json(
        "b.json",
        &json!({
            "routes": [
                { "request": { "path": "/q" }, "response": { "status": 200, "body": "b-default" } },
                { "priority": 5, "request": { "path": "/p" }, "response": { "status": 200, "body": "b-high" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let p = get(server.url("/p")).await;
    let q = get(server.url("/q")).await;

    // Assert
    assert_eq!(p, (200, "b-high".to_owned()));
    assert_eq!(
        q,
        (200, "b-default".to_owned()),
        "priority 0 beats priority -1"
    );
}

#[tokio::test]
async fn priority_ties_go_by_scenario_name_then_position_in_file() {
    // Arrange: file names sort the opposite way from scenario names, so the winner shows
    // which one decides.
    let dir = Scenarios::new();
    dir.write_json(
        "1-first-file.json",
        &json!({
            "name": "zulu",
            "routes": [
                { "request": { "path": "/t" }, "response": { "status": 200, "body": "zulu" } }
            ]
        }),
    );
    dir.write_json(
        "2-second-file.json",
        &json!({
            "name": "alpha",
            "routes": [
                { "id": "x", "request": { "path": "/u" }, "response": { "status": 200, "body": "alpha-first" } },
                { "id": "y", "request": { "path": "/t" }, "response": { "status": 200, "body": "alpha" } },
                { "id": "z", "request": { "path": "/u" }, "response": { "status": 200, "body": "alpha-second" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let across_files = get(server.url("/t")).await;
    let within_file = get(server.url("/u")).await;

    // Assert
    assert_eq!(
        across_files,
        (200, "alpha".to_owned()),
        "ties go by scenario name, not file name"
    );
    assert_eq!(
        within_file,
        (200, "alpha-first".to_owned()),
        "then by position in the file"
    );
}

#[tokio::test]
async fn route_without_request_matchers_matches_anything() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "catch_all.json",
        &json!({
            "routes": [
                { "request": { "path": "/specific" }, "response": { "status": 200, "body": "specific" } },
                { "priority": -10, "response": { "status": 299, "body": "fallback" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let specific = get(server.url("/specific")).await;
    let other = fetch(
        http.delete(server.url("/anything/else?x=1"))
            .body("whatever"),
    )
    .await;

    // Assert
    assert_eq!(specific, (200, "specific".to_owned()));
    assert_eq!(other, (299, "fallback".to_owned()));
}
