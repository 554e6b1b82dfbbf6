//! WireMock's admin API at `/__admin/` in `wiremock` mode: mappings CRUD, import, save,
//! metadata, the journal as serve events, count/find/remove, near misses, scenarios,
//! health, version, settings, reset and shutdown — with WireMock 3.13.2's shapes and
//! status codes, key by key. The native API stays at `/__understudy/admin/`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch, fetch_json, get};

/// A WireMock root (`mappings/` at the top, so it starts in `wiremock` mode) with `files`.
fn root(files: &[(&str, Value)]) -> Scenarios {
    let dir = Scenarios::new();
    std::fs::create_dir_all(dir.path().join("mappings")).expect("mkdir mappings");
    for (name, doc) in files {
        dir.write_json(&format!("mappings/{name}"), doc);
    }
    dir
}

const FILE_STUB: &str = "11111111-1111-4111-8111-111111111111";

fn file_stub() -> Value {
    json!({ "id": FILE_STUB, "request": { "method": "GET", "url": "/hello" },
            "response": { "status": 200, "body": "from file" } })
}

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn mappings_crud_with_wiremock_shapes_and_status_codes() {
    // Arrange
    let dir = root(&[("hello.json", file_stub())]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);

    // Act and assert: the file stub is listed with id and uuid.
    let (status, list) = fetch_json(http.get(url("/__admin/mappings"))).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&list), sorted(&["mappings", "meta"]));
    assert_eq!(list["meta"], json!({ "total": 1 }));
    assert_eq!(list["mappings"][0]["id"], FILE_STUB);
    assert_eq!(list["mappings"][0]["uuid"], FILE_STUB);

    // POST: 201 with the stub plus id/uuid.
    let stub = json!({ "request": { "method": "GET", "url": "/api" },
                       "response": { "status": 202, "body": "made" }, "metadata": { "suite": "a" } });
    let (status, created) = fetch_json(http.post(url("/__admin/mappings")).json(&stub)).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert_eq!(created["uuid"], id.as_str());
    assert_eq!(
        keys(&created),
        sorted(&["id", "uuid", "request", "response", "metadata"])
    );
    assert_eq!(created["response"], stub["response"]);
    assert_eq!(get(url("/api")).await, (202, "made".into()));

    // GET one, list with limit/offset.
    let (status, one) = fetch_json(http.get(url(&format!("/__admin/mappings/{id}")))).await;
    assert_eq!((status, &one), (200, &created));
    let (_, page) = fetch_json(http.get(url("/__admin/mappings?limit=1&offset=1"))).await;
    assert_eq!(page["meta"]["total"], 2);
    assert_eq!(page["mappings"].as_array().expect("array").len(), 1);

    // PUT replaces.
    let (status, put) = fetch_json(
        http.put(url(&format!("/__admin/mappings/{id}"))).json(
            &json!({ "request": { "method": "GET", "url": "/api" }, "response": { "status": 200, "body": "changed" } }),
        ),
    )
    .await;
    assert_eq!(status, 200, "{put}");
    assert_eq!(put["id"], id.as_str());
    assert_eq!(get(url("/api")).await, (200, "changed".into()));

    // Invalid → 422 with WireMock's error shape.
    let (status, bad) = fetch_json(
        http.post(url("/__admin/mappings"))
            .json(&json!({ "request": { "bogus": 1 }, "response": {} })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");
    let err = &bad["errors"][0];
    assert_eq!(keys(err), sorted(&["code", "source", "title", "detail"]));
    assert_eq!(err["code"], 10);
    assert_eq!(err["source"], json!({ "pointer": "/request/bogus" }));
    assert_eq!(err["title"], "Error parsing JSON");

    // Unknown id → 404 empty; malformed → 400.
    let unknown = "22222222-2222-4222-8222-222222222222";
    let (status, body) = fetch(http.get(url(&format!("/__admin/mappings/{unknown}")))).await;
    assert_eq!((status, body.as_str()), (404, ""));
    let (status, body) = fetch(http.delete(url(&format!("/__admin/mappings/{unknown}")))).await;
    assert_eq!((status, body.as_str()), (404, ""));
    let (status, bad) = fetch_json(http.get(url("/__admin/mappings/nope"))).await;
    assert_eq!(status, 400);
    assert_eq!(
        bad,
        json!({ "errors": [{ "code": 10, "title": "nope is not a valid UUID" }] })
    );

    // DELETE one (an API stub), then a file stub.
    let (status, body) = fetch_json(http.delete(url(&format!("/__admin/mappings/{id}")))).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/api")).await.0, 404);
    let (status, _) = fetch_json(http.delete(url(&format!("/__admin/mappings/{FILE_STUB}")))).await;
    assert_eq!(status, 200);
    assert_eq!(get(url("/hello")).await.0, 404);

    // mappings/reset brings the files back; DELETE all empties.
    let (status, body) = fetch_json(http.post(url("/__admin/mappings/reset"))).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/hello")).await, (200, "from file".into()));
    let (status, body) = fetch_json(http.delete(url("/__admin/mappings"))).await;
    assert_eq!((status, body), (200, json!({})));
    let (_, list) = fetch_json(http.get(url("/__admin/mappings"))).await;
    assert_eq!(list, json!({ "mappings": [], "meta": { "total": 0 } }));
    assert_eq!(get(url("/hello")).await.0, 404);
}

#[tokio::test]
async fn a_stub_posted_later_beats_a_file_stub_of_equal_priority() {
    // Arrange
    let dir = root(&[("hello.json", file_stub())]);
    let server = Server::start(dir.path());
    assert_eq!(get(server.url("/hello")).await, (200, "from file".into()));

    // Act
    let (status, _) = fetch_json(client().post(server.url("/__admin/mappings")).json(
        &json!({ "request": { "method": "GET", "url": "/hello" }, "response": { "body": "from api" } }),
    ))
    .await;

    // Assert
    assert_eq!(status, 201);
    assert_eq!(get(server.url("/hello")).await, (200, "from api".into()));
    let (_, list) = fetch_json(client().get(server.url("/__admin/mappings"))).await;
    assert_eq!(list["meta"]["total"], 2);
    assert_eq!(
        list["mappings"][0]["response"]["body"], "from api",
        "newest first"
    );
    let (status, _) = fetch_json(client().post(server.url("/__admin/reset"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        get(server.url("/hello")).await,
        (200, "from file".into()),
        "reset drops API stubs"
    );
}

#[tokio::test]
async fn import_remove_and_metadata() {
    // Arrange
    let dir = root(&[]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);
    let a = "33333333-3333-4333-8333-333333333333";
    let b = "44444444-4444-4444-8444-444444444444";
    let import = json!({ "mappings": [
        { "id": a, "request": { "url": "/a" }, "response": { "body": "a" }, "metadata": { "suite": "a" } },
        { "id": b, "request": { "url": "/b" }, "response": { "body": "b" }, "metadata": { "suite": "b" } }
    ], "importOptions": { "duplicatePolicy": "IGNORE", "deleteAllNotInImport": false } });

    // Act and assert: import.
    let (status, body) = fetch_json(http.post(url("/__admin/mappings/import")).json(&import)).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/a")).await, (200, "a".into()));
    // IGNORE keeps the existing stub.
    let again = json!({ "mappings": [ { "id": a, "request": { "url": "/a" }, "response": { "body": "a2" } } ],
                        "importOptions": { "duplicatePolicy": "IGNORE" } });
    fetch_json(http.post(url("/__admin/mappings/import")).json(&again)).await;
    assert_eq!(get(url("/a")).await, (200, "a".into()));
    // OVERWRITE replaces it.
    let again = json!({ "mappings": [ { "id": a, "request": { "url": "/a" }, "response": { "body": "a2" } } ],
                        "importOptions": { "duplicatePolicy": "OVERWRITE" } });
    fetch_json(http.post(url("/__admin/mappings/import")).json(&again)).await;
    assert_eq!(get(url("/a")).await, (200, "a2".into()));

    // find-by-metadata and remove-by-metadata.
    let pattern = json!({ "matchesJsonPath": { "expression": "$.suite", "equalTo": "b" } });
    let (status, found) = fetch_json(
        http.post(url("/__admin/mappings/find-by-metadata"))
            .json(&pattern),
    )
    .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["meta"]["total"], 1);
    assert_eq!(found["mappings"][0]["id"], b);
    let (status, body) = fetch_json(
        http.post(url("/__admin/mappings/remove-by-metadata"))
            .json(&pattern),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/b")).await.0, 404);

    // remove by stub.
    let (status, body) = fetch_json(
        http.post(url("/__admin/mappings/remove"))
            .json(&json!({ "id": a, "request": { "url": "/a" }, "response": {} })),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/a")).await.0, 404);

    // deleteAllNotInImport.
    let c = "55555555-5555-4555-8555-555555555555";
    fetch_json(
        http.post(url("/__admin/mappings"))
            .json(&json!({ "request": { "url": "/old" }, "response": { "body": "old" } })),
    )
    .await;
    let only = json!({ "mappings": [ { "id": c, "request": { "url": "/c" }, "response": { "body": "c" } } ],
                       "importOptions": { "deleteAllNotInImport": true } });
    fetch_json(http.post(url("/__admin/mappings/import")).json(&only)).await;
    let (_, list) = fetch_json(http.get(url("/__admin/mappings"))).await;
    assert_eq!(list["meta"]["total"], 1, "{list}");
    assert_eq!(list["mappings"][0]["id"], c);
}

#[tokio::test]
async fn save_writes_mapping_files_that_load_again() {
    // Arrange
    let dir = root(&[]);
    let server = Server::start(dir.path());
    let id = "66666666-6666-4666-8666-666666666666";
    fetch_json(client().post(server.url("/__admin/mappings")).json(
        &json!({ "id": id, "request": { "url": "/saved" }, "response": { "body": "kept" } }),
    ))
    .await;

    // Act
    let (status, body) = fetch_json(client().post(server.url("/__admin/mappings/save"))).await;

    // Assert
    assert_eq!((status, body), (200, json!({})));
    let file = dir.path().join(format!("mappings/{id}.json"));
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("saved file")).expect("JSON");
    assert_eq!(saved["id"], id);
    drop(server);
    let again = Server::start(dir.path());
    assert_eq!(get(again.url("/saved")).await, (200, "kept".into()));
    let (_, list) = fetch_json(client().get(again.url("/__admin/mappings"))).await;
    assert_eq!(list["meta"]["total"], 1);
}

#[tokio::test]
async fn a_persistent_stub_is_written_when_created_and_deleted_with_its_file() {
    // Arrange
    let dir = root(&[]);
    let server = Server::start(dir.path());
    let http = client();
    let id = "67676767-6767-4767-8767-676767676767";
    let file = dir.path().join(format!("mappings/{id}.json"));

    // Act
    let (status, _) = fetch_json(http.post(server.url("/__admin/mappings")).json(&json!({
        "id": id, "persistent": true,
        "request": { "url": "/kept" }, "response": { "body": "on disk" }
    })))
    .await;

    // Assert: on disk at once, served once (not twice), gone with its stub.
    assert_eq!(status, 201);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("written file")).expect("JSON");
    assert_eq!(saved["request"]["url"], "/kept");
    assert_eq!(get(server.url("/kept")).await, (200, "on disk".into()));
    let (_, list) = fetch_json(http.get(server.url("/__admin/mappings"))).await;
    assert_eq!(list["meta"]["total"], 1, "{list:#}");
    let (status, _) = fetch(http.delete(server.url(&format!("/__admin/mappings/{id}")))).await;
    assert_eq!(status, 200);
    assert!(
        !file.exists(),
        "the file of a removed persistent stub stays"
    );
    assert_eq!(get(server.url("/kept")).await.0, 404);
}

#[tokio::test]
async fn the_journal_as_serve_events() {
    // Arrange
    let dir = root(&[("hello.json", file_stub())]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);
    get(url("/hello")).await;
    let (status, _) = fetch(http.post(url("/nothing?x=1")).body("payload")).await;
    assert_eq!(status, 404);

    // Act
    let (status, all) = fetch_json(http.get(url("/__admin/requests"))).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(
        keys(&all),
        sorted(&["requests", "meta", "requestJournalDisabled"])
    );
    assert_eq!(all["meta"]["total"], 2);
    assert_eq!(all["requestJournalDisabled"], false);
    let newest = &all["requests"][0];
    let matched = &all["requests"][1];
    assert_eq!(
        keys(matched),
        sorted(&[
            "id",
            "request",
            "responseDefinition",
            "response",
            "wasMatched",
            "stubMapping",
            "timing",
            "subEvents"
        ])
    );
    assert_eq!(newest["wasMatched"], false);
    // WireMock names a stand-in `ANY` stub for an unmatched request.
    assert_eq!(newest["stubMapping"]["request"], json!({ "method": "ANY" }));
    assert_eq!(
        newest["responseDefinition"],
        json!({ "status": 404, "fromConfiguredStub": false })
    );
    assert_eq!(newest["request"]["body"], "payload");
    assert_eq!(newest["request"]["method"], "POST");
    assert_eq!(matched["wasMatched"], true);
    assert_eq!(matched["stubMapping"]["id"], FILE_STUB);
    assert_eq!(matched["response"]["status"], 200);
    let request = &matched["request"];
    assert_eq!(
        keys(request),
        sorted(&[
            "url",
            "absoluteUrl",
            "method",
            "clientIp",
            "headers",
            "cookies",
            "browserProxyRequest",
            "loggedDate",
            "loggedDateString",
            "body",
            "bodyAsBase64",
            "protocol",
            "scheme",
            "host",
            "port",
            "queryParams",
            "formParams"
        ])
    );
    assert_eq!(request["url"], "/hello");
    assert_eq!(
        newest["request"]["absoluteUrl"],
        format!("http://{}/nothing?x=1", server.addr)
    );
    assert_eq!(request["port"], server.addr.port());
    assert_eq!(
        newest["request"]["queryParams"],
        json!({ "x": { "key": "x", "values": ["1"] } })
    );
    assert!(request["loggedDate"].is_u64());
    assert_eq!(
        keys(&matched["timing"]),
        sorted(&[
            "addedDelay",
            "processTime",
            "responseSendTime",
            "serveTime",
            "totalTime"
        ])
    );

    // limit; one by id; delete by id.
    let (_, one) = fetch_json(http.get(url("/__admin/requests?limit=1"))).await;
    assert_eq!(one["requests"].as_array().expect("array").len(), 1);
    assert_eq!(one["meta"]["total"], 2);
    let id = matched["id"].as_str().expect("id");
    let (status, by_id) = fetch_json(http.get(url(&format!("/__admin/requests/{id}")))).await;
    assert_eq!(status, 200);
    assert_eq!(by_id["request"]["url"], "/hello");
    let (status, _) = fetch(http.get(url("/__admin/requests/nope"))).await;
    assert_eq!(status, 400);
    let (status, body) = fetch_json(http.delete(url(&format!("/__admin/requests/{id}")))).await;
    assert_eq!((status, body), (200, json!({})));
    let (status, _) = fetch(http.get(url(&format!("/__admin/requests/{id}")))).await;
    assert_eq!(status, 404);

    // DELETE and POST reset.
    let (status, body) = fetch_json(http.delete(url("/__admin/requests"))).await;
    assert_eq!((status, body), (200, json!({})));
    get(url("/hello")).await;
    let (status, body) = fetch_json(http.post(url("/__admin/requests/reset"))).await;
    assert_eq!((status, body), (200, json!({})));
    let (_, all) = fetch_json(http.get(url("/__admin/requests"))).await;
    assert_eq!(all["meta"]["total"], 0);
}

#[tokio::test]
async fn count_find_remove_unmatched_and_near_misses() {
    // Arrange
    let dir = root(&[("hello.json", file_stub())]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);
    get(url("/hello")).await;
    get(url("/hello")).await;
    get(url("/hellp")).await;
    let pattern = json!({ "method": "GET", "url": "/hello" });

    // Act and assert
    let (status, count) =
        fetch_json(http.post(url("/__admin/requests/count")).json(&pattern)).await;
    assert_eq!(status, 200);
    assert_eq!(
        count,
        json!({ "count": 2, "requestJournalDisabled": false })
    );
    let (status, bad) = fetch_json(
        http.post(url("/__admin/requests/count"))
            .json(&json!({ "bogus": 1 })),
    )
    .await;
    assert_eq!(status, 422, "{bad}");

    let (status, found) = fetch_json(http.post(url("/__admin/requests/find")).json(&pattern)).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&found),
        sorted(&["requests", "requestJournalDisabled"])
    );
    assert_eq!(found["requests"].as_array().expect("array").len(), 2);
    assert_eq!(found["requests"][0]["url"], "/hello");

    let (status, unmatched) = fetch_json(http.get(url("/__admin/requests/unmatched"))).await;
    assert_eq!(status, 200);
    assert_eq!(unmatched["requests"][0]["url"], "/hellp");

    let (status, misses) =
        fetch_json(http.get(url("/__admin/requests/unmatched/near-misses"))).await;
    assert_eq!(status, 200, "{misses}");
    let miss = &misses["nearMisses"][0];
    assert_eq!(
        keys(miss),
        sorted(&["request", "stubMapping", "matchResult"])
    );
    assert_eq!(miss["stubMapping"]["id"], FILE_STUB);
    assert!(miss["matchResult"]["distance"].as_f64().expect("distance") > 0.0);

    let (status, misses) = fetch_json(
        http.post(url("/__admin/near-misses/request"))
            .json(&json!({ "url": "/hellp", "method": "GET" })),
    )
    .await;
    assert_eq!(status, 200, "{misses}");
    assert_eq!(misses["nearMisses"][0]["stubMapping"]["id"], FILE_STUB);

    let (status, misses) = fetch_json(
        http.post(url("/__admin/near-misses/request-pattern"))
            .json(&json!({ "method": "GET", "url": "/hellq" })),
    )
    .await;
    assert_eq!(status, 200, "{misses}");
    let miss = &misses["nearMisses"][0];
    assert_eq!(
        keys(miss),
        sorted(&["request", "requestPattern", "matchResult"])
    );
    assert_eq!(miss["requestPattern"]["url"], "/hellq");

    let (status, removed) =
        fetch_json(http.post(url("/__admin/requests/remove")).json(&pattern)).await;
    assert_eq!(status, 200, "{removed}");
    let (_, count) = fetch_json(http.post(url("/__admin/requests/count")).json(&pattern)).await;
    assert_eq!(count["count"], 0);
    let (_, all) = fetch_json(http.get(url("/__admin/requests"))).await;
    assert_eq!(all["meta"]["total"], 1);
}

#[tokio::test]
async fn scenarios_list_reset_and_set_state() {
    // Arrange
    let dir = root(&[(
        "door.json",
        json!({ "mappings": [
            { "scenarioName": "door", "requiredScenarioState": "Started", "newScenarioState": "open",
              "request": { "method": "POST", "url": "/door" }, "response": { "body": "opening" } },
            { "scenarioName": "door", "requiredScenarioState": "open",
              "request": { "method": "GET", "url": "/door" }, "response": { "body": "it is open" } }
        ]}),
    )]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);

    // Act and assert
    let (status, list) = fetch_json(http.get(url("/__admin/scenarios"))).await;
    assert_eq!(status, 200);
    let door = &list["scenarios"][0];
    assert_eq!(
        keys(door),
        sorted(&["id", "name", "state", "possibleStates", "mappings"])
    );
    assert_eq!(door["name"], "door");
    assert_eq!(door["state"], "Started");
    assert_eq!(door["possibleStates"], json!(["Started", "open"]));
    assert_eq!(door["mappings"].as_array().expect("array").len(), 2);

    let (status, body) = fetch_json(
        http.put(url("/__admin/scenarios/door/state"))
            .json(&json!({ "state": "open" })),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/door")).await, (200, "it is open".into()));
    let (_, list) = fetch_json(http.get(url("/__admin/scenarios"))).await;
    assert_eq!(list["scenarios"][0]["state"], "open");

    let (status, body) = fetch_json(http.post(url("/__admin/scenarios/reset"))).await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(get(url("/door")).await.0, 404);

    let (status, body) = fetch_json(
        http.put(url("/__admin/scenarios/zz/state"))
            .json(&json!({ "state": "x" })),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        body,
        json!({ "errors": [{ "code": 404, "title": "Scenario zz does not exist" }] })
    );
}

#[tokio::test]
async fn health_version_settings_reset_and_shutdown() {
    // Arrange
    let dir = root(&[]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);

    // Act and assert
    let (status, health) = fetch_json(http.get(url("/__admin/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        keys(&health),
        sorted(&[
            "status",
            "message",
            "version",
            "uptimeInSeconds",
            "timestamp"
        ])
    );
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["message"], "Wiremock is ok");
    assert_eq!(health["version"], "3.13.2");
    let (status, version) = fetch_json(http.get(url("/__admin/version"))).await;
    assert_eq!((status, version), (200, json!({ "version": "3.13.2" })));

    let (status, settings) = fetch_json(http.get(url("/__admin/settings"))).await;
    assert_eq!(status, 200);
    assert_eq!(keys(&settings), vec!["settings".to_owned()]);
    let (status, _) = fetch_json(
        http.post(url("/__admin/settings"))
            .json(&json!({ "fixedDelay": 5 })),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = fetch_json(
        http.put(url("/__admin/settings"))
            .json(&json!({ "settings": { "proxyPassThrough": false } })),
    )
    .await;
    assert_eq!(status, 200);
    let (_, settings) = fetch_json(http.get(url("/__admin/settings"))).await;
    assert_eq!(settings["settings"]["fixedDelay"], 5);
    assert_eq!(settings["settings"]["proxyPassThrough"], false);

    get(url("/x")).await;
    let (status, body) = fetch_json(http.post(url("/__admin/reset"))).await;
    assert_eq!((status, body), (200, json!({})));
    let (_, all) = fetch_json(http.get(url("/__admin/requests"))).await;
    assert_eq!(all["meta"]["total"], 0);

    let (status, body) = fetch_json(http.post(url("/__admin/shutdown"))).await;
    assert_eq!((status, body), (200, json!({})));
    let mut stopped = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if http.get(url("/__admin/health")).send().await.is_err() {
            stopped = true;
            break;
        }
    }
    assert!(stopped, "the server still answers after shutdown");
}

#[tokio::test]
async fn the_native_api_stays_at_understudy_admin_and_the_prefix_is_reserved() {
    // Arrange: wiremock mode by layout, then native mode forced.
    let dir = root(&[("hello.json", file_stub())]);
    let wiremock = Server::start(dir.path());
    let native = Server::start_with(dir.path(), &["--admin-api", "native"]);

    // Act and assert
    let (status, health) =
        fetch_json(client().get(wiremock.url("/__understudy/admin/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok");
    let (status, list) =
        fetch_json(client().get(wiremock.url("/__understudy/admin/scenarios"))).await;
    assert_eq!(status, 200);
    assert!(list.is_array());
    let (status, body) = fetch_json(client().get(wiremock.url("/__understudy/nothing"))).await;
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "understudy's own 404: {body}");

    let (status, health) = fetch_json(client().get(native.url("/__admin/health"))).await;
    assert_eq!(status, 200);
    assert_eq!(health["status"], "ok", "native /__admin/ unchanged");
    let (status, _) = fetch(client().get(native.url("/__admin/mappings"))).await;
    assert_eq!(status, 404);
    let (status, health) = fetch_json(client().get(native.url("/__understudy/admin/health"))).await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
}

#[tokio::test]
async fn the_admin_token_guards_the_wiremock_dialect() {
    // Arrange
    let dir = root(&[]);
    let server = Server::start_with(dir.path(), &["--admin-token", "s3cret"]);

    // Act and assert
    let (status, _) = fetch(client().get(server.url("/__admin/mappings"))).await;
    assert_eq!(status, 401);
    let (status, _) = fetch(
        client()
            .get(server.url("/__admin/mappings"))
            .bearer_auth("s3cret"),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = fetch(client().get(server.url("/__understudy/admin/health"))).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_env_twin_selects_the_dialect() {
    // Arrange: a plain directory is native unless asked.
    let dir = Scenarios::new();
    let mut cmd = crate::util::serve_command(dir.path());
    cmd.env("UNDERSTUDY_ADMIN_API", "wiremock");
    let server = Server::spawn(cmd);

    // Act
    let (status, list) = fetch_json(client().get(server.url("/__admin/mappings"))).await;

    // Assert
    assert_eq!(status, 200);
    assert_eq!(list, json!({ "mappings": [], "meta": { "total": 0 } }));
}

#[tokio::test]
async fn what_the_wiremock_clients_rely_on() {
    // Arrange: an empty WireMock root, two API stubs with metadata.
    let dir = root(&[]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);
    let stub = |u: &str, suite: &str| {
        json!({ "request": { "method": "GET", "url": u }, "response": { "body": u },
                "metadata": { "suite": suite } })
    };
    let (_, a) = fetch_json(http.post(url("/__admin/mappings")).json(&stub("/a", "x"))).await;
    let (_, _b) = fetch_json(http.post(url("/__admin/mappings")).json(&stub("/b", "y"))).await;
    let a_id = a["id"].as_str().expect("id").to_owned();
    for path in ["/a", "/a", "/b", "/nothing"] {
        http.get(url(path))
            .header("X-Team", "blue")
            .send()
            .await
            .expect("call");
    }

    // Act and assert: the journal filtered by `unmatched` and `matchingStub`, total after filter.
    let (status, only) = fetch_json(http.get(url(&format!(
        "/__admin/requests?matchingStub={a_id}&limit=1"
    ))))
    .await;
    assert_eq!(status, 200);
    assert_eq!(only["meta"]["total"], 2);
    assert_eq!(only["requests"].as_array().map(Vec::len), Some(1));
    // Header names in canonical case, as clients look them up.
    assert_eq!(only["requests"][0]["request"]["headers"]["X-Team"], "blue");
    let (status, missed) = fetch_json(http.get(url("/__admin/requests?unmatched=true"))).await;
    assert_eq!(status, 200);
    assert_eq!(missed["meta"]["total"], 1);
    let event = &missed["requests"][0];
    assert_eq!(event["request"]["url"], "/nothing");
    assert_eq!(event["wasMatched"], false);
    // The Java client reads `wasMatched` from `fromConfiguredStub` (true when absent).
    assert_eq!(event["responseDefinition"]["fromConfiguredStub"], false);
    let (status, _) = fetch_json(http.get(url("/__admin/requests?matchingStub=bogus"))).await;
    assert_eq!(status, 400);

    // The serve events of the stubs whose metadata passes.
    let (status, removed) = fetch_json(
        http.post(url("/__admin/requests/remove-by-metadata"))
            .json(&json!({ "matchesJsonPath": { "expression": "$.suite", "equalTo": "x" } })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(removed["serveEvents"].as_array().map(Vec::len), Some(2));
    let (_, left) = fetch_json(http.get(url("/__admin/requests"))).await;
    assert_eq!(left["meta"]["total"], 2);

    // `mappings/remove`: an id no stub has falls back to the request (the Java client's
    // `removeStub(MappingBuilder)` sends a random one).
    let (status, _) = fetch_json(http.post(url("/__admin/mappings/remove")).json(&json!({
        "id": "99999999-1111-4111-8111-111111111111",
        "request": { "method": "GET", "url": "/b" }, "response": {} })))
    .await;
    assert_eq!(status, 200);
    assert_eq!(get(url("/b")).await.0, 404);

    // Saved stubs are persistent: deleting all deletes their files, so a reset finds none.
    let (status, _) = fetch_json(http.post(url("/__admin/mappings/save"))).await;
    assert_eq!(status, 200);
    let saved = dir.path().join(format!("mappings/{a_id}.json"));
    let text = std::fs::read_to_string(&saved).expect("saved stub file");
    let doc: Value = serde_json::from_str(&text).expect("saved JSON");
    assert_eq!(doc["persistent"], true);
    let (status, _) = fetch_json(http.delete(url("/__admin/mappings"))).await;
    assert_eq!(status, 200);
    assert!(!saved.exists(), "{} still there", saved.display());
    let (_, _) = fetch_json(http.post(url("/__admin/mappings/reset"))).await;
    let (_, list) = fetch_json(http.get(url("/__admin/mappings"))).await;
    assert_eq!(list["meta"]["total"], 0, "{list}");
}

#[tokio::test]
async fn a_serve_event_shows_the_response_sent() {
    // Arrange: a stub with a header and a body, and one unmatched request.
    let dir = root(&[(
        "sent.json",
        json!({ "request": { "method": "GET", "url": "/sent" },
                "response": { "status": 201, "body": "made", "headers": { "X-Made": ["a", "b"] } } }),
    )]);
    let server = Server::start(dir.path());
    assert_eq!(get(server.url("/sent")).await, (201, "made".into()));
    assert_eq!(get(server.url("/missing")).await.0, 404);

    // Act
    let (status, events) = fetch_json(client().get(server.url("/__admin/requests"))).await;

    // Assert: newest first; the matched one carries what WireMock's LoggedResponse has.
    assert_eq!(status, 200);
    let matched = &events["requests"][1]["response"];
    assert_eq!(
        keys(matched),
        sorted(&["status", "headers", "body", "bodyAsBase64"])
    );
    assert_eq!(matched["status"], 201);
    assert_eq!(matched["body"], "made");
    assert_eq!(matched["bodyAsBase64"], "bWFkZQ==");
    assert_eq!(matched["headers"]["X-Made"], json!(["a", "b"]));
    assert!(
        matched["headers"]["Matched-Stub-Id"].is_string(),
        "{matched}"
    );
    assert_eq!(events["requests"][0]["response"]["status"], 404);
}

#[tokio::test]
async fn the_global_fixed_delay_setting_delays_stubs_without_their_own() {
    // Arrange
    let dir = root(&[
        ("hello.json", file_stub()),
        (
            "quick.json",
            json!({ "request": { "method": "GET", "url": "/own" },
                    "response": { "status": 200, "body": "own", "fixedDelayMilliseconds": 1 } }),
        ),
    ]);
    let server = Server::start(dir.path());
    let http = client();
    let url = |p: &str| server.url(p);
    let took = |started: std::time::Instant| started.elapsed();

    // Act: a global delay far above what an answer takes, then none again.
    let (status, _) = fetch_json(
        http.post(url("/__admin/settings"))
            .json(&json!({ "fixedDelay": 700 })),
    )
    .await;
    assert_eq!(status, 200);
    let started = std::time::Instant::now();
    assert_eq!(get(url("/hello")).await.0, 200);
    let delayed = took(started);
    let started = std::time::Instant::now();
    assert_eq!(get(url("/own")).await.0, 200);
    let own = took(started);
    fetch_json(
        http.post(url("/__admin/settings"))
            .json(&json!({ "fixedDelay": null })),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(get(url("/hello")).await.0, 200);
    let undelayed = took(started);

    // Assert: a lower bound (the delay happened) and an order, not a timing budget.
    assert!(delayed >= Duration::from_millis(700), "{delayed:?}");
    assert!(own < delayed, "own delay {own:?} vs global {delayed:?}");
    assert!(
        undelayed < delayed,
        "after removal {undelayed:?} vs {delayed:?}"
    );
}
