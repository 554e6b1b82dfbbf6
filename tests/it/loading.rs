//! Scenario loading in `serve` and `validate`: a broken file never takes the good ones down,
//! editor leftovers and hidden folders are ignored, default names, unknown keys, the BOM,
//! `$schema`, and duplicate route ids and scenario names.

use serde_json::json;

use crate::util::{
    Scenarios, Server, client, diags_for, get, line_col_of, logged_diag, logged_diags, one_route,
    parse_diag, stdout_of, validate,
};

#[tokio::test]
async fn broken_file_never_takes_the_good_ones_down() {
    // Arrange: one file with a bad status, one that is not even JSON, one good one.
    let dir = Scenarios::new();
    let bad_status_text = "{\n  \"routes\": [\n    { \"request\": { \"path\": \"/bad\" },\n      \"response\": { \"status\": 700 } }\n  ]\n}\n";
    let bad_status = dir.write("bad-status.json", bad_status_text);
    let (line, col) = line_col_of(bad_status_text, "700");
    let not_json = dir.write(
        "not-json.json",
        "{ \"routes\": [ { \"response\": { \"status\": 200 } }, ] ",
    );
    dir.write_json("good.json", &one_route("/good", "good answer"));

    // Act
    let server = Server::start(dir.path());
    let good = get(server.url("/good")).await;
    let bad = get(server.url("/bad")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(good, (200, "good answer".to_owned()));
    assert_eq!(bad.0, 404, "the broken file's routes do not serve");
    let logs = server.logs();
    let expected = format!(
        "{}:{line}:{col}: at routes[0].response.status: ",
        bad_status.display()
    );
    assert!(
        logs.iter().any(|l| l.contains(&expected)),
        "expected a log line containing {expected:?} in {logs:#?}"
    );
    let not_json_line = logs
        .iter()
        .find_map(|l| l.find(&not_json.display().to_string()).map(|i| &l[i..]))
        .unwrap_or_else(|| panic!("no log line for {} in {logs:#?}", not_json.display()));
    assert!(
        parse_diag(not_json_line).is_some(),
        "not FILE:LINE:COL: at PATH: message: {not_json_line:?}"
    );
    assert_eq!(health["errors"], 2);
    assert_eq!(health["scenarios"], 1);
}

#[tokio::test]
async fn editor_temp_files_and_hidden_directories_are_ignored() {
    // Arrange: valid scenarios under ignored names (they would serve if loaded) and broken
    // content in editor leftovers (they would count as errors if loaded).
    let dir = Scenarios::new();
    dir.write_json("real.json", &one_route("/real", "real"));
    dir.write_json(".hidden-file.json", &one_route("/dotfile", "dotfile"));
    dir.write_json(".git/objects.json", &one_route("/hidden-dir", "hidden dir"));
    dir.write_json(
        "nested/.cache/cached.json",
        &one_route("/nested-hidden-dir", "nested hidden dir"),
    );
    dir.write(".real.json.swp", "\u{0}binary swap junk");
    dir.write("real.json~", "{ broken backup");
    dir.write("real.json.swp", "{ broken swap");
    dir.write("real.json.tmp", "{ broken temp");
    dir.write("other.json.tmp", "{\"routes\": [}");

    // Act
    let server = Server::start(dir.path());
    let real = get(server.url("/real")).await;
    let dotfile = get(server.url("/dotfile")).await;
    let hidden_dir = get(server.url("/hidden-dir")).await;
    let nested_hidden_dir = get(server.url("/nested-hidden-dir")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(real, (200, "real".to_owned()));
    assert_eq!(
        dotfile.0, 404,
        "a file whose name starts with `.` is ignored"
    );
    assert_eq!(hidden_dir.0, 404, "files in hidden directories are ignored");
    assert_eq!(
        nested_hidden_dir.0, 404,
        "files in nested hidden directories are ignored"
    );
    assert_eq!(health["scenarios"], 1, "{health}");
    assert_eq!(
        health["errors"],
        0,
        "editor temp files must not be loaded: {:#?}",
        server.logs()
    );
}

#[tokio::test]
async fn files_in_subdirectories_load_with_their_relative_path_as_default_name() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "sub/dir/file.json",
        &json!({ "routes": [ { "request": { "method": "GET", "path": "/deep" }, "response": { "status": 200, "body": "deep" } } ] }),
    );

    // Act
    let server = Server::start(dir.path());
    let deep = get(server.url("/deep")).await;
    let miss: serde_json::Value = client()
        .post(server.url("/deep"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON report");

    // Assert
    assert_eq!(deep, (200, "deep".to_owned()));
    assert_eq!(miss["nearMisses"][0]["route"], "sub/dir/file/0", "{miss:#}");
}

#[tokio::test]
async fn unknown_keys_are_errors() {
    // Arrange: a typo in a route key and an unknown key in a matcher.
    let dir = Scenarios::new();
    let typo = dir.write_json(
        "typo.json",
        &json!({ "routes": [ { "request": { "path": "/typo" }, "reponse": { "status": 200 } } ] }),
    );
    let matcher = dir.write_json(
        "matcher.json",
        &json!({ "routes": [ { "request": { "path": "/m", "cookies": { "a": "1" } }, "response": { "status": 200 } } ] }),
    );
    dir.write_json("good.json", &one_route("/good", "good"));

    // Act
    let out = validate(dir.path());
    let server = Server::start(dir.path());
    let typo_route = get(server.url("/typo")).await;
    let good = get(server.url("/good")).await;

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let typo_diags = diags_for(&stdout, &typo);
    assert!(
        typo_diags.iter().any(|d| d.message.contains("reponse")),
        "{stdout}"
    );
    let matcher_diags = diags_for(&stdout, &matcher);
    assert!(
        matcher_diags.iter().any(|d| d.message.contains("cookies")),
        "{stdout}"
    );
    assert_eq!(
        typo_route.0, 404,
        "the file with an unknown key does not serve"
    );
    assert_eq!(good, (200, "good".to_owned()));
    assert_eq!(server.health().await["errors"], 2);
}

#[tokio::test]
async fn every_key_of_the_format_loads() {
    // Arrange: the 1xx, scripting and pacing keys that earlier versions refused.
    let dir = Scenarios::new();
    let all = dir.write_json(
        "all.json",
        &json!({
            "initialState": "a",
            "routes": [
                { "id": "hints", "request": { "path": "/h" },
                  "response": { "status": 200, "informational": [ { "status": 103, "headers": { "Link": "</x.css>; rel=preload" } } ] } },
                { "id": "ws", "request": { "path": "/ws" },
                  "response": { "status": 101, "websocket": { "echo": true, "onOpen": [ { "text": "hi" } ] } } },
                { "id": "raw", "request": { "path": "/raw" },
                  "response": { "status": 101, "upgrade": { "protocol": "echo" } } },
                { "id": "reject", "request": { "path": "/r" }, "expect": "reject",
                  "response": { "status": 417 } },
                { "id": "script", "request": { "path": "/s" }, "whenState": "a", "setState": "b",
                  "afterLast": "cycle", "responses": [ { "status": 503, "repeat": 2, "delayMs": 1 }, { "status": 200, "body": "{{ state }}", "template": true, "chunks": { "size": 1, "intervalMs": 1 } } ] },
                { "id": "fault", "request": { "path": "/f" }, "response": { "status": 200, "fault": "empty_response" } }
            ]
        }),
    );
    let template_off = dir.write_json(
        "template-off.json",
        &json!({ "routes": [ { "request": { "path": "/off" }, "response": { "status": 200, "body": "{{ raw }}", "template": false } } ] }),
    );

    // Act
    let out = validate(dir.path());
    let server = Server::start(dir.path());
    let off = get(server.url("/off")).await;
    let plain_ws = get(server.url("/ws")).await;

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}");
    assert!(diags_for(&stdout, &all).is_empty(), "{stdout}");
    assert!(diags_for(&stdout, &template_off).is_empty(), "{stdout}");
    assert_eq!(
        off,
        (200, "{{ raw }}".to_owned()),
        "without template the body is sent as written"
    );
    assert_eq!(
        plain_ws.0, 426,
        "a plain GET to a websocket route asks for the upgrade"
    );
}

#[test]
fn byte_order_mark_is_skipped_and_empty_files_are_errors() {
    // Arrange: RFC 8259 lets parsers ignore a UTF-8 BOM, which some Windows editors write.
    let dir = Scenarios::new();
    let good = serde_json::to_vec(&one_route("/x", "x")).expect("JSON");
    let mut bom_bytes = vec![0xEF, 0xBB, 0xBF];
    bom_bytes.extend_from_slice(&good);
    let bom = dir.write_bytes("bom.json", &bom_bytes);
    let empty = dir.write("empty.json", "");
    let blank = dir.write("blank.json", "  \n\n");

    // Act
    let out = validate(dir.path());

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    assert!(diags_for(&stdout, &bom).is_empty(), "BOM refused: {stdout}");
    for file in [&empty, &blank] {
        assert!(
            !diags_for(&stdout, file).is_empty(),
            "no diagnostic line for {}: {stdout}",
            file.display()
        );
    }
}

#[tokio::test]
async fn schema_key_is_accepted_and_ignored() {
    // Arrange
    let dir = Scenarios::new();
    let file = dir.write_json(
        "with-schema.json",
        &json!({
            "$schema": "https://example.com/understudy.schema.json",
            "routes": [ { "request": { "path": "/s" }, "response": { "status": 200, "body": "schema ok" } } ]
        }),
    );

    // Act
    let out = validate(&file);
    let server = Server::start(dir.path());
    let s = get(server.url("/s")).await;

    // Assert
    assert_eq!(out.status.code(), Some(0), "stdout: {}", stdout_of(&out));
    assert_eq!(s, (200, "schema ok".to_owned()));
}

#[tokio::test]
async fn duplicate_route_ids_in_a_file_are_an_error() {
    // Arrange
    let dir = Scenarios::new();
    let dup = dir.write_json(
        "dup.json",
        &json!({
            "routes": [
                { "id": "same", "request": { "path": "/one" }, "response": { "status": 200 } },
                { "id": "same", "request": { "path": "/two" }, "response": { "status": 200 } }
            ]
        }),
    );

    // Act
    let out = validate(&dup);
    let server = Server::start(dir.path());
    let one = get(server.url("/one")).await;

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &dup);
    assert!(
        diags
            .iter()
            .any(|d| d.path.starts_with("routes[1]") && d.message.contains("same")),
        "expected a diagnostic on routes[1] naming the id: {stdout}"
    );
    assert_eq!(one.0, 404, "the file with duplicate ids does not serve");
    let logs = server.logs();
    assert!(
        logged_diags(&logs, &dup)
            .iter()
            .any(|d| d.path.starts_with("routes[1]")),
        "serve logs the duplicate id: {logs:#?}"
    );
}

#[tokio::test]
async fn a_large_file_compiles_the_same_and_reports_problems_in_place() {
    // Arrange: enough routes for the file to compile on several threads, a duplicate id far
    // from its first use, a bad status near the end, and a typo in a middle route.
    let dir = Scenarios::new();
    let mut routes: Vec<serde_json::Value> = (0..5_000)
        .map(|i| {
            json!({ "id": format!("r{i}"), "request": { "path": format!("/big/{i}/[0-9]+") },
                    "response": { "status": 200, "body": format!("route {i}") } })
        })
        .collect();
    routes[4_100]["id"] = json!("r7");
    routes[4_999]["response"]["status"] = json!(42);
    routes[2_600]["request"]["methd"] = json!("GET");
    let bad = dir.write_json("big.json", &json!({ "routes": routes.clone() }));

    // Act
    let out = validate(&bad);

    // Assert: every problem, at its own route, in file order.
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let paths: Vec<String> = diags_for(&stdout, &bad)
        .into_iter()
        .map(|d| d.path)
        .collect();
    assert_eq!(
        paths,
        ["routes[2600].request.methd"],
        "a route that does not parse is reported alone, as before: {stdout}"
    );
    routes[2_600]["request"]
        .as_object_mut()
        .expect("request")
        .remove("methd");
    let bad = dir.write_json("big.json", &json!({ "routes": routes.clone() }));
    let out = validate(&bad);
    let stdout = stdout_of(&out);
    let diags = diags_for(&stdout, &bad);
    let paths: Vec<&str> = diags.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "routes[4100].id",
            "routes[4999].response.status",
            "routes[4999].response.body"
        ],
        "{stdout}"
    );
    assert!(
        diags[0].message.contains("routes[7] already uses it"),
        "{stdout}"
    );

    // And a good large file serves every route as written.
    routes[4_100]["id"] = json!("r4100");
    routes[4_999]["response"]["status"] = json!(200);
    dir.write_json("big.json", &json!({ "routes": routes }));
    let server = Server::start(dir.path());
    for i in [0, 1_249, 1_250, 2_500, 3_750, 4_999] {
        assert_eq!(
            get(server.url(&format!("/big/{i}/7"))).await,
            (200, format!("route {i}"))
        );
    }
}

#[tokio::test]
async fn duplicate_scenario_name_fails_the_second_file_only() {
    // Arrange
    let dir = Scenarios::new();
    let first = dir.write_json(
        "a-first.json",
        &json!({ "name": "shared", "routes": [ { "request": { "path": "/a" }, "response": { "status": 200, "body": "first" } } ] }),
    );
    let second = dir.write_json(
        "b-second.json",
        &json!({ "name": "shared", "routes": [ { "request": { "path": "/b" }, "response": { "status": 200, "body": "second" } } ] }),
    );

    // Act
    let server = Server::start(dir.path());
    let a = get(server.url("/a")).await;
    let b = get(server.url("/b")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(a, (200, "first".to_owned()));
    assert_eq!(b.0, 404, "the second file with the same name does not load");
    let logs = server.logs();
    assert!(
        logged_diag(&logs, &second, "name").is_some(),
        "expected a diagnostic at `name` for {} in {logs:#?}",
        second.display()
    );
    assert!(
        logged_diag(&logs, &first, "name").is_none(),
        "the first file is fine: {logs:#?}"
    );
    assert_eq!(health["errors"], 1);
    assert_eq!(health["scenarios"], 1);
}
