//! WireMock mapping files served as scenarios: URL matchers, value patterns, body patterns,
//! priority and newest-first order, scenarios shared by name across files, `__files` bodies,
//! response keys, faults, hot reload and `validate` positions.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch, get, poll, stdout_of, validate};

/// A scenarios directory laid out as WireMock's root: `mappings/NAME` holds `doc`.
fn root_with(name: &str, doc: &Value) -> Scenarios {
    let dir = Scenarios::new();
    dir.write_json(&format!("mappings/{name}"), doc);
    dir
}

async fn status_of(request: reqwest::RequestBuilder) -> u16 {
    fetch(request).await.0
}

#[tokio::test]
async fn url_matchers_compare_what_wiremock_compares() {
    // Arrange
    let dir = root_with(
        "urls.json",
        &json!({ "mappings": [
            { "request": { "method": "GET", "url": "/exact?a=1" }, "response": { "status": 200, "body": "url" } },
            { "request": { "method": "GET", "urlPattern": "/pattern/[0-9]+\\?q=.*" }, "response": { "status": 200, "body": "urlPattern" } },
            { "request": { "method": "GET", "urlPath": "/path" }, "response": { "status": 200, "body": "urlPath" } },
            { "request": { "method": "GET", "urlPathPattern": "/items/[a-z]+" }, "response": { "status": 200, "body": "urlPathPattern" } },
            { "request": { "method": "GET", "urlPathTemplate": "/users/{id}/orders/{order}",
                           "pathParameters": { "id": { "matches": "[0-9]+" } } },
              "response": { "status": 200, "body": "urlPathTemplate" } },
            { "request": { "method": "ANY", "urlPath": "/any" }, "response": { "status": 200, "body": "any" } }
        ]}),
    );
    let server = Server::start(dir.path());

    // Act and assert: each matcher, and a near variant it must refuse.
    assert_eq!(get(server.url("/exact?a=1")).await, (200, "url".into()));
    assert_eq!(get(server.url("/exact?a=2")).await.0, 404);
    assert_eq!(get(server.url("/exact")).await.0, 404);
    assert_eq!(
        get(server.url("/pattern/12?q=x")).await,
        (200, "urlPattern".into())
    );
    assert_eq!(get(server.url("/pattern/12")).await.0, 404);
    assert_eq!(
        get(server.url("/path?any=thing")).await,
        (200, "urlPath".into())
    );
    assert_eq!(get(server.url("/path/more")).await.0, 404);
    assert_eq!(
        get(server.url("/items/abc")).await,
        (200, "urlPathPattern".into())
    );
    assert_eq!(get(server.url("/items/ABC")).await.0, 404);
    assert_eq!(
        get(server.url("/users/42/orders/x9")).await,
        (200, "urlPathTemplate".into())
    );
    assert_eq!(get(server.url("/users/ada/orders/x9")).await.0, 404);
    let any = fetch(client().delete(server.url("/any"))).await;
    assert_eq!(any, (200, "any".into()));
}

#[tokio::test]
async fn value_patterns_on_query_headers_cookies_and_basic_auth() {
    // Arrange
    let dir = root_with(
        "patterns.json",
        &json!({ "mappings": [
            { "request": { "method": "GET", "urlPath": "/q",
                           "queryParameters": {
                               "name": { "equalTo": "ADA", "caseInsensitive": true },
                               "tag": { "or": [ { "matches": "a[0-9]" }, { "absent": true } ] },
                               "debug": { "absent": true } } },
              "response": { "status": 200, "body": "query" } },
            { "request": { "method": "GET", "urlPath": "/h",
                           "headers": { "X-Trace": { "doesNotContain": "bad" },
                                        "Accept": { "contains": "json" } },
                           "cookies": { "session": { "matches": "s-[0-9]+" } } },
              "response": { "status": 200, "body": "headers" } },
            { "request": { "method": "GET", "urlPath": "/auth",
                           "basicAuthCredentials": { "username": "ada", "password": "pw" } },
              "response": { "status": 200, "body": "auth" } },
            { "request": { "method": "GET", "urlPath": "/lookaround",
                           "headers": { "X-User": { "matches": "(?!admin).+" } } },
              "response": { "status": 200, "body": "not admin" } }
        ]}),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Query parameters.
    assert_eq!(get(server.url("/q?name=ada")).await, (200, "query".into()));
    assert_eq!(get(server.url("/q?name=ada&tag=a1")).await.0, 200);
    assert_eq!(get(server.url("/q?name=ada&tag=b1")).await.0, 404);
    assert_eq!(get(server.url("/q?name=ada&debug=1")).await.0, 404);
    assert_eq!(get(server.url("/q?name=bob")).await.0, 404);

    // Headers and cookies.
    let h = |trace: &str, cookie: &str| {
        http.get(server.url("/h"))
            .header("Accept", "application/json")
            .header("X-Trace", trace.to_owned())
            .header("Cookie", cookie.to_owned())
    };
    assert_eq!(status_of(h("ok", "a=b; session=s-12")).await, 200);
    assert_eq!(status_of(h("a bad one", "session=s-12")).await, 404);
    assert_eq!(status_of(h("ok", "session=x")).await, 404);

    // Basic auth.
    let auth = |user: &str, pw: &str| http.get(server.url("/auth")).basic_auth(user, Some(pw));
    assert_eq!(fetch(auth("ada", "pw")).await, (200, "auth".into()));
    assert_eq!(status_of(auth("ada", "nope")).await, 404);

    // Look-around, a Java regex feature.
    let who = |user: &str| http.get(server.url("/lookaround")).header("X-User", user);
    assert_eq!(status_of(who("ada")).await, 200);
    assert_eq!(status_of(who("admin")).await, 404);
}

#[tokio::test]
async fn body_patterns_all_have_to_pass() {
    // Arrange
    let dir = root_with(
        "bodies.json",
        &json!({ "mappings": [
            { "request": { "method": "POST", "urlPath": "/orders",
                           "bodyPatterns": [
                               { "matchesJsonPath": "$.items[?(@.qty > 1)]" },
                               { "matchesJsonPath": { "expression": "$.customer", "equalTo": "ada" } },
                               { "equalToJson": { "customer": "ada" }, "ignoreExtraElements": true } ] },
              "response": { "status": 201, "body": "order" } },
            { "request": { "method": "POST", "urlPath": "/exact-json",
                           "bodyPatterns": [ { "equalToJson": "{\"b\": [1, 2], \"a\": 1}", "ignoreArrayOrder": true } ] },
              "response": { "status": 200, "body": "json" } },
            { "request": { "method": "POST", "urlPath": "/binary",
                           "bodyPatterns": [ { "binaryEqualTo": "AAEC" } ] },
              "response": { "status": 200, "body": "binary" } }
        ]}),
    );
    let server = Server::start(dir.path());
    let http = client();
    let post = |path: &str, body: &'static str| http.post(server.url(path)).body(body);

    // Act and assert
    let order = r#"{"customer":"ada","items":[{"qty":1},{"qty":3}]}"#;
    assert_eq!(fetch(post("/orders", order)).await, (201, "order".into()));
    let small = r#"{"customer":"ada","items":[{"qty":1}]}"#;
    assert_eq!(status_of(post("/orders", small)).await, 404);
    let other = r#"{"customer":"bob","items":[{"qty":3}]}"#;
    assert_eq!(status_of(post("/orders", other)).await, 404);
    assert_eq!(
        status_of(post("/exact-json", r#"{"a":1,"b":[2,1]}"#)).await,
        200
    );
    assert_eq!(
        status_of(post("/exact-json", r#"{"a":1,"b":[2,1],"c":0}"#)).await,
        404
    );
    let bytes = http.post(server.url("/binary")).body(vec![0u8, 1, 2]);
    assert_eq!(fetch(bytes).await, (200, "binary".into()));
    let other = http.post(server.url("/binary")).body(vec![0u8, 1, 3]);
    assert_eq!(status_of(other).await, 404);
}

#[tokio::test]
async fn lowest_priority_number_first_then_the_newest_stub() {
    // Arrange: three stubs that all match /p; within one file the later stub is newer.
    let dir = root_with(
        "order.json",
        &json!({ "mappings": [
            { "request": { "urlPath": "/p" }, "response": { "status": 200, "body": "older" } },
            { "request": { "urlPath": "/p" }, "response": { "status": 200, "body": "newer" } },
            { "priority": 9, "request": { "urlPath": "/q" }, "response": { "status": 200, "body": "low" } },
            { "priority": 1, "request": { "urlPath": "/q" }, "response": { "status": 200, "body": "high" } },
            { "request": { "urlPath": "/q" }, "response": { "status": 200, "body": "default" } }
        ]}),
    );
    let server = Server::start(dir.path());

    // Act and assert
    assert_eq!(get(server.url("/p")).await, (200, "newer".into()));
    assert_eq!(get(server.url("/q")).await, (200, "high".into()));
}

#[tokio::test]
async fn a_scenario_name_is_one_state_across_files_starting_at_started() {
    // Arrange: the `door` scenario spans two files.
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/a.json",
        &json!({ "scenarioName": "door", "requiredScenarioState": "Started", "newScenarioState": "open",
                 "request": { "method": "POST", "url": "/door" }, "response": { "status": 200, "body": "opening" } }),
    );
    dir.write_json(
        "mappings/b.json",
        &json!({ "mappings": [
            { "scenarioName": "door", "requiredScenarioState": "open", "newScenarioState": "Started",
              "request": { "method": "POST", "url": "/door" }, "response": { "status": 200, "body": "closing" } },
            { "scenarioName": "door", "requiredScenarioState": "open",
              "request": { "method": "GET", "url": "/door" }, "response": { "status": 200, "body": "it is open" } }
        ]}),
    );
    let server = Server::start(dir.path());
    let http = client();
    let door = || http.post(server.url("/door"));

    // Act and assert
    assert_eq!(
        get(server.url("/door")).await.0,
        404,
        "closed: no GET stub yet"
    );
    assert_eq!(fetch(door()).await, (200, "opening".into()));
    assert_eq!(get(server.url("/door")).await, (200, "it is open".into()));
    assert_eq!(fetch(door()).await, (200, "closing".into()));
    assert_eq!(fetch(door()).await, (200, "opening".into()));
    let reset = http.post(server.url("/__admin/reset"));
    assert_eq!(fetch(reset).await.0, 200);
    assert_eq!(
        get(server.url("/door")).await.0,
        404,
        "reset: back to Started"
    );
}

#[tokio::test]
async fn response_keys_as_wiremock_sends_them() {
    // Arrange
    let dir = Scenarios::new();
    dir.write("__files/greeting.txt", "hello from __files");
    dir.write(
        "__files/not-a-mapping.json",
        r#"{ "request": { "url": "/from-files-dir" }, "response": { "status": 200 } }"#,
    );
    dir.write_json(
        "mappings/deep/responses.json",
        &json!({ "mappings": [
            { "id": "8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7", "name": "greeting",
              "request": { "urlPath": "/file" },
              "response": { "status": 200, "bodyFileName": "greeting.txt" } },
            { "request": { "urlPath": "/json" }, "response": { "status": 200, "jsonBody": { "a": [1, 2] } } },
            { "request": { "urlPath": "/b64" }, "response": { "status": 200, "base64Body": "aGk=" } },
            { "request": { "urlPath": "/teapot" },
              "response": { "status": 418, "statusMessage": "Short and stout",
                            "headers": { "X-Many": ["a", "b"], "Content-Type": "text/x-tea" }, "body": "tea" } }
        ]}),
    );
    let server = Server::start(dir.path());

    // Act
    let file = server.raw(&crate::util::get_request("/file"));
    let json = server.raw(&crate::util::get_request("/json"));
    let b64 = server.raw(&crate::util::get_request("/b64"));
    let teapot = server.raw(&crate::util::get_request("/teapot"));
    let not_scanned = get(server.url("/from-files-dir")).await;

    // Assert
    assert_eq!(file.status(), 200);
    assert_eq!(file.body, b"hello from __files");
    assert_eq!(
        file.header("matched-stub-id"),
        Some("8c5db8b0-2db4-4ad7-a99f-38c9b00da3f7")
    );
    assert_eq!(file.header("matched-stub-name"), Some("greeting"));
    assert_eq!(
        file.header("content-type"),
        None,
        "no Content-Type unless named"
    );
    let parsed: Value = serde_json::from_slice(&json.body).expect("json body");
    assert_eq!(parsed, json!({ "a": [1, 2] }));
    assert_eq!(json.header("content-type"), None);
    assert!(json.header("matched-stub-id").is_some());
    assert_eq!(b64.body, b"hi");
    assert_eq!(teapot.status_line, "HTTP/1.1 418 Short and stout");
    assert_eq!(teapot.header_all("x-many"), ["a", "b"]);
    assert_eq!(teapot.header("content-type"), Some("text/x-tea"));
    assert_eq!(not_scanned.0, 404, "__files is never scanned for mappings");
}

#[tokio::test]
async fn faults_map_to_the_wire() {
    // Arrange
    let dir = root_with(
        "faults.json",
        &json!({ "mappings": [
            { "request": { "url": "/reset" }, "response": { "fault": "CONNECTION_RESET_BY_PEER" } },
            { "request": { "url": "/empty" }, "response": { "fault": "EMPTY_RESPONSE" } },
            { "request": { "url": "/chunk" }, "response": { "status": 200, "fault": "MALFORMED_RESPONSE_CHUNK" } }
        ]}),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act and assert: every one fails the client, and the chunked head comes first.
    for path in ["/reset", "/empty", "/chunk"] {
        let outcome = async {
            let response = http.get(server.url(path)).send().await?;
            response.bytes().await
        }
        .await;
        assert!(outcome.is_err(), "{path}: {outcome:?}");
    }
    let chunk = server.raw(&crate::util::get_request("/chunk"));
    assert_eq!(chunk.status(), 200);
    assert_eq!(chunk.header("transfer-encoding"), Some("chunked"));
}

#[tokio::test]
async fn an_edited_mapping_file_is_served_at_once() {
    // Arrange
    let dir = root_with(
        "live.json",
        &json!({ "request": { "url": "/live" }, "response": { "status": 200, "body": "one" } }),
    );
    let mut cmd = crate::util::understudy();
    cmd.args([
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--watch",
        "auto",
        "--scenarios",
    ])
    .arg(dir.path());
    let server = Server::spawn(cmd);
    assert_eq!(get(server.url("/live")).await, (200, "one".into()));

    // Act
    dir.write_json(
        "mappings/live.json",
        &json!({ "request": { "url": "/live" }, "response": { "status": 200, "body": "two" } }),
    );

    // Assert
    let url = server.url("/live");
    let seen = poll(
        Duration::from_secs(10),
        Duration::from_millis(50),
        async || get(url.clone()).await,
        |answer| answer.1 == "two",
    )
    .await;
    assert_eq!(seen, (200, "two".to_owned()), "the edit was not served");
}

#[test]
fn validate_names_unknown_and_unsupported_keys_with_positions() {
    // Arrange
    let dir = Scenarios::new();
    dir.write(
        "mappings/unknown.json",
        "{\n  \"request\": { \"url\": \"/x\", \"bogus\": 1 },\n  \"response\": { \"status\": 200 }\n}\n",
    );
    dir.write(
        "mappings/later.json",
        "{\n  \"request\": { \"url\": \"/x\",\n    \"bodyPatterns\": [ { \"matchesXPath\": \"/a\" } ] },\n  \"response\": { \"status\": 200 }\n}\n",
    );
    dir.write(
        "mappings/webhook.json",
        "{ \"request\": { \"url\": \"/x\" }, \"response\": { \"status\": 200 },\n  \"postServeActions\": [] }\n",
    );
    dir.write_json(
        "mappings/good.json",
        &json!({ "request": { "url": "/ok" }, "response": { "status": 200 } }),
    );

    // Act
    let out = validate(dir.path());
    let text = stdout_of(&out);

    // Assert
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("mappings/unknown.json:2:29: at request.bogus: unknown key \"bogus\""),
        "{text}"
    );
    assert!(
        text.contains(
            "mappings/later.json:3:25: at request.bodyPatterns[0].matchesXPath: matchesXPath is a \
             WireMock matcher understudy does not support yet"
        ),
        "{text}"
    );
    assert!(
        text.contains("mappings/webhook.json:2:3: at postServeActions: postServeActions is a WireMock feature understudy does not support yet"),
        "{text}"
    );
    assert!(!text.contains("good.json"), "{text}");
}

#[tokio::test]
async fn mapping_files_and_native_scenarios_live_in_one_tree() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/wm.json",
        &json!({ "request": { "method": "GET", "url": "/wiremock" }, "response": { "status": 200, "body": "wm" } }),
    );
    dir.write_json("native.json", &crate::util::one_route("/native", "native"));
    let server = Server::start(dir.path());

    // Act and assert
    assert_eq!(get(server.url("/wiremock")).await, (200, "wm".into()));
    assert_eq!(get(server.url("/native")).await, (200, "native".into()));
    // A WireMock root speaks WireMock's admin API at /__admin/; the native one stays here.
    let (status, health) =
        crate::util::fetch_json(client().get(server.url("/__understudy/admin/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(health["errors"], 0, "{health}");
    assert_eq!(health["routes"], 2, "{health}");
}

#[tokio::test]
async fn response_templates_render_wiremock_handlebars() {
    // Arrange
    let dir = root_with(
        "templates.json",
        &json!({ "mappings": [
            { "request": { "method": "POST", "urlPathTemplate": "/users/{id}" },
              "response": { "status": 200, "transformers": ["response-template"],
                            "headers": { "X-Method": "{{request.method}}" },
                            "body": "id={{request.path.id}} seg={{request.pathSegments.[0]}} q={{request.query.q}} name={{jsonPath request.body '$.name'}} len={{size request.query.q}}" } },
            { "request": { "method": "GET", "urlPath": "/plain" },
              "response": { "status": 200, "body": "{{request.method}}" } }
        ]}),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let templated = http
        .post(server.url("/users/42?q=abc"))
        .body(r#"{"name":"Ada"}"#)
        .send()
        .await
        .expect("send");
    let method = templated.headers().get("x-method").cloned();
    let body = templated.text().await.expect("body");
    let plain = get(server.url("/plain")).await;

    // Assert
    assert_eq!(method.as_ref().and_then(|v| v.to_str().ok()), Some("POST"));
    assert_eq!(
        body, "id=42 seg=users q=abc name=Ada len=1",
        "size counts the values of a query parameter"
    );
    assert_eq!(
        plain,
        (200, "{{request.method}}".into()),
        "not templated without the transformer"
    );
}

#[test]
fn a_template_that_does_not_parse_is_a_load_error_at_its_key() {
    let dir = Scenarios::new();
    dir.write(
        "mappings/broken.json",
        "{ \"request\": { \"url\": \"/t\" },\n  \"response\": { \"transformers\": [\"response-template\"], \"body\": \"{{#if}}\" } }\n",
    );
    let out = validate(dir.path());
    let text = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("mappings/broken.json:2:64: at response.body: template does not parse"),
        "{text}"
    );
}

#[tokio::test]
async fn wiremocks_command_line_starts_understudy() {
    // Arrange: a WireMock root and WireMock's own flags, no understudy flag at all.
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/hello.json",
        &json!({ "request": { "url": "/hello?name=ada" },
                 "response": { "status": 200, "body": "hello {{request.query.name}}" } }),
    );
    let mut cmd = crate::util::understudy();
    cmd.args(["--port", "0", "--bind-address", "127.0.0.1", "--root-dir"])
        .arg(dir.path())
        .args([
            "--global-response-templating",
            "--verbose",
            "--disable-banner",
            "--no-request-journal",
        ]);
    let server = Server::spawn(cmd);

    // Act
    let hello = get(server.url("/hello?name=ada")).await;
    let health = crate::util::fetch_json(client().get(server.url("/__admin/health"))).await;
    let journal = crate::util::fetch_json(client().get(server.url("/__admin/requests"))).await;

    // Assert: templated without a transformer, WireMock's admin API, no journal.
    assert_eq!(hello, (200, "hello ada".into()));
    assert_eq!(health.1["status"], "healthy", "{}", health.1);
    assert_eq!(journal.1["requests"], json!([]), "{}", journal.1);
}

#[tokio::test]
async fn framing_headers_of_recorded_stubs_are_computed_not_refused() {
    // Arrange: a stub as WireMock's recorder writes it, with Content-Length and
    // Transfer-Encoding among its headers.
    let dir = root_with(
        "recorded.json",
        &json!({ "request": { "method": "GET", "url": "/recorded" },
                 "response": { "status": 200, "body": "hello",
                               "headers": { "Content-Length": "999", "Transfer-Encoding": "chunked",
                                            "Content-Type": "text/plain" } } }),
    );
    let server = Server::start(dir.path());

    // Act
    let raw = server.raw(&crate::util::get_request("/recorded"));

    // Assert
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.body, b"hello");
    assert_eq!(raw.header("content-length"), Some("5"));
    assert_eq!(raw.header("content-type"), Some("text/plain"));
}

#[tokio::test]
async fn an_unmatched_get_is_answered_from_files_and_only_from_there() {
    // Arrange: a WireMock root with body files, a secret beside it and a link leading out.
    let dir = root_with(
        "one.json",
        &json!({ "request": { "method": "GET", "urlPath": "/stubbed" },
                 "response": { "status": 200, "body": "stub" } }),
    );
    dir.write("__files/docs/readme.txt", "read me\n");
    dir.write("__files/app/index.html", "<p>app</p>");
    std::fs::write(dir.outside().join("secret.txt"), "classified words").expect("write secret");
    #[cfg(unix)]
    std::os::unix::fs::symlink(dir.outside(), dir.path().join("__files/out")).expect("symlink");
    let server = Server::start(dir.path());
    let http = client();

    // Act and assert: files by path and a directory's index; the query is ignored.
    let resp = http
        .get(server.url("/docs/readme.txt?x=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/plain");
    assert!(resp.headers().contains_key("last-modified"));
    assert_eq!(resp.text().await.expect("body"), "read me\n");
    assert_eq!(get(server.url("/app/")).await, (200, "<p>app</p>".into()));
    assert_eq!(get(server.url("/stubbed")).await, (200, "stub".into()));

    // Nothing leaves `__files`: not by `..` (raw, encoded) nor by a link.
    for target in [
        "/../secret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/docs/..%2f..%2fsecret.txt",
        "/out/secret.txt",
    ] {
        let raw = server.raw(&format!(
            "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        ));
        assert!(
            raw.status_line.starts_with("HTTP/1.1 404 "),
            "{target}: {}",
            raw.status_line
        );
        assert!(
            !String::from_utf8_lossy(&raw.body).contains("classified"),
            "{target}"
        );
    }
    // Only GET: other methods get the usual 404.
    assert_eq!(
        status_of(http.post(server.url("/docs/readme.txt"))).await,
        404
    );

    // The journal keeps a file answer as unmatched, with what was sent.
    let (status, journal) = crate::util::fetch_json(
        http.get(server.url("/__understudy/admin/requests?unmatched=true")),
    )
    .await;
    assert_eq!(status, 200, "{journal:#}");
    let served = crate::util::entries(&journal)
        .iter()
        .find(|e| e["path"] == "/docs/readme.txt")
        .unwrap_or_else(|| panic!("no unmatched entry for the file: {journal:#}"));
    assert_eq!(served["status"], 200, "{served:#}");
}
