//! The admin API endpoints: scenarios (list, get, put, delete, state, reset), reset, reload,
//! unknown paths and the admin token on every endpoint.

use serde_json::{Value, json};

use crate::util::{
    Scenarios, Server, admin_post, client, fetch, fetch_json, get, is_rfc3339, journal, one_route,
    scenario, scenario_list, scenario_state, set_state,
};

/// The entries of `GET /__admin/scenarios` named `name`.
fn entries_named<'a>(list: &'a Value, name: &str) -> Vec<&'a Value> {
    list.as_array()
        .expect("scenario list is an array")
        .iter()
        .filter(|s| s["name"] == name)
        .collect()
}

/// `PUT /__admin/scenarios/{name}` with `doc`: status and body.
async fn put_scenario(server: &Server, name: &str, doc: &Value) -> (u16, Value) {
    fetch_json(
        client()
            .put(server.url(&format!("/__admin/scenarios/{name}")))
            .json(doc),
    )
    .await
}

/// A scenario named `name` with one route `GET path` answering `200` with `body`.
fn named_route(name: &str, path: &str, body: &str) -> Value {
    json!({
        "name": name,
        "routes": [
            { "id": "only", "request": { "method": "GET", "path": path }, "response": { "status": 200, "body": body } }
        ]
    })
}

#[tokio::test]
async fn scenario_list_shows_file_scenarios_with_their_status() {
    // Arrange: a good scenario in a subfolder and a file with a bad status.
    let dir = Scenarios::new();
    dir.write_json(
        "shop/cart.json",
        &json!({
            "description": "the cart",
            "routes": [
                { "id": "get", "request": { "path": "/cart" }, "response": { "status": 200 } },
                { "id": "add", "request": { "method": "POST", "path": "/cart" }, "response": { "status": 201 } }
            ]
        }),
    );
    dir.write_json(
        "broken.json",
        &json!({ "routes": [ { "response": { "status": 99 } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let list = scenario_list(&server).await;

    // Assert
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list:#}");
    let cart = entries_named(&list, "shop/cart");
    assert_eq!(cart.len(), 1, "{list:#}");
    let cart = cart[0];
    assert_eq!(cart["file"], "shop/cart.json");
    assert_eq!(cart["source"], "file");
    assert_eq!(cart["description"], "the cart");
    assert_eq!(cart["routes"], 2);
    assert_eq!(cart["state"], "start");
    assert_eq!(cart["status"], "ok");
    assert_eq!(cart["errors"], json!([]));
    assert_eq!(cart["active"], true);
    let loaded_at = cart["loadedAt"].as_str().expect("loadedAt string");
    assert!(is_rfc3339(loaded_at), "loadedAt {loaded_at:?}");

    let broken = entries_named(&list, "broken");
    assert_eq!(broken.len(), 1, "{list:#}");
    let broken = broken[0];
    assert_eq!(broken["file"], "broken.json");
    assert_eq!(broken["status"], "error");
    assert_eq!(broken["active"], false);
    let errors = broken["errors"].as_array().expect("errors array");
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.contains("routes[0].response.status"))),
        "the error names the JSON path: {errors:?}"
    );
}

#[tokio::test]
async fn get_scenario_by_a_name_with_slashes_shows_route_names_and_document() {
    // Arrange: the default name of `team/payments.json` is `team/payments`.
    let dir = Scenarios::new();
    let doc = json!({
        "routes": [
            { "id": "charge", "request": { "method": "POST", "path": "/charges" }, "response": { "status": 201 } },
            { "request": { "path": "/refunds" }, "response": { "status": 200 } }
        ]
    });
    dir.write_json("team/payments.json", &doc);
    let server = Server::start(dir.path());

    // Act
    let (status, body) = scenario(&server, "team/payments").await;

    // Assert
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["name"], "team/payments");
    assert_eq!(body["file"], "team/payments.json");
    assert_eq!(body["source"], "file");
    assert_eq!(body["routes"], 2);
    assert_eq!(body["state"], "start");
    assert_eq!(
        body["routeNames"],
        json!(["team/payments/charge", "team/payments/1"])
    );
    assert_eq!(body["document"], doc);
}

#[tokio::test]
async fn get_unknown_scenario_is_a_json_404() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("known.json", &one_route("/k", "k"));
    let server = Server::start(dir.path());

    // Act
    let (status, body) = scenario(&server, "unknown").await;

    // Assert
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body:#}");
}

#[tokio::test]
async fn put_creates_then_replaces_an_api_scenario() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let created = put_scenario(
        &server,
        "flaky",
        &named_route("flaky", "/pay", "first version"),
    )
    .await;
    let first = get(server.url("/pay")).await;
    let replaced = put_scenario(
        &server,
        "flaky",
        &named_route("flaky", "/pay", "second version"),
    )
    .await;
    let second = get(server.url("/pay")).await;
    let list = scenario_list(&server).await;

    // Assert
    assert_eq!(created.0, 201, "{:#}", created.1);
    assert_eq!(created.1["name"], "flaky");
    assert_eq!(created.1["source"], "api");
    assert_eq!(created.1["file"], Value::Null);
    assert_eq!(first, (200, "first version".to_owned()));
    assert_eq!(replaced.0, 200, "{:#}", replaced.1);
    assert_eq!(second, (200, "second version".to_owned()));
    let entries = entries_named(&list, "flaky");
    assert_eq!(entries.len(), 1, "replaced, not added: {list:#}");
    assert_eq!(entries[0]["source"], "api");
    assert_eq!(entries[0]["file"], Value::Null);
    assert_eq!(entries[0]["status"], "ok");
    assert_eq!(entries[0]["active"], true);
}

#[tokio::test]
async fn put_without_a_name_takes_the_name_from_the_url() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let doc = json!({ "routes": [ { "id": "r", "request": { "path": "/nested" }, "response": { "status": 202 } } ] });

    // Act
    let (status, body) = put_scenario(&server, "team/api", &doc).await;
    let (get_status, got) = scenario(&server, "team/api").await;
    let answer = get(server.url("/nested")).await;

    // Assert
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(get_status, 200, "{got:#}");
    assert_eq!(got["routeNames"], json!(["team/api/r"]));
    assert_eq!(got["source"], "api");
    assert_eq!(answer.0, 202);
}

#[tokio::test]
async fn put_invalid_scenario_is_400_with_json_paths_and_positions() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let doc = json!({
        "routes": [
            { "request": { "path": "/ok" }, "response": { "status": 99 } }
        ]
    });

    // Act
    let (status, body) = put_scenario(&server, "bad", &doc).await;
    let (after, _) = scenario(&server, "bad").await;

    // Assert
    assert_eq!(status, 400, "{body:#}");
    assert!(body["error"].is_string(), "{body:#}");
    let errors = body["errors"].as_array().expect("errors array");
    assert!(
        errors.iter().any(|e| e
            .as_str()
            .is_some_and(|e| e.starts_with("routes[0].response.status: "))),
        "{errors:?}"
    );
    let details = body["details"].as_array().expect("details array");
    let detail = details
        .iter()
        .find(|d| d["path"] == "routes[0].response.status")
        .unwrap_or_else(|| panic!("no detail for the status: {body:#}"));
    assert!(detail["line"].as_u64().is_some_and(|l| l >= 1), "{detail}");
    assert!(
        detail["column"].as_u64().is_some_and(|c| c >= 1),
        "{detail}"
    );
    assert!(detail["message"].is_string(), "{detail}");
    assert_eq!(after, 404, "an invalid document is not stored");
}

#[tokio::test]
async fn put_invalid_regex_and_unknown_key_name_their_paths() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let bad_regex =
        json!({ "routes": [ { "request": { "path": "/x(" }, "response": { "status": 200 } } ] });
    let typo =
        json!({ "routes": [ { "request": { "pth": "/x" }, "response": { "status": 200 } } ] });

    // Act
    let regex_answer = put_scenario(&server, "regex", &bad_regex).await;
    let typo_answer = put_scenario(&server, "typo", &typo).await;

    // Assert
    assert_eq!(regex_answer.0, 400, "{:#}", regex_answer.1);
    assert!(
        regex_answer.1["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e
                .as_str()
                .is_some_and(|e| e.starts_with("routes[0].request.path: "))),
        "{:#}",
        regex_answer.1
    );
    assert_eq!(typo_answer.0, 400, "{:#}", typo_answer.1);
    assert!(
        typo_answer.1["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.contains("pth"))),
        "{:#}",
        typo_answer.1
    );
}

#[tokio::test]
async fn put_with_a_name_different_from_the_url_is_400() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let (status, body) = put_scenario(&server, "in-url", &named_route("in-doc", "/x", "x")).await;
    let (in_url, _) = scenario(&server, "in-url").await;
    let (in_doc, _) = scenario(&server, "in-doc").await;

    // Assert
    assert_eq!(status, 400, "{body:#}");
    assert!(
        body["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .any(|e| e.as_str().is_some_and(|e| e.starts_with("name: "))),
        "{body:#}"
    );
    assert_eq!((in_url, in_doc), (404, 404), "nothing was stored");
}

#[tokio::test]
async fn put_request_delete_then_the_route_is_gone() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let http = client();
    let url = server.url("/__admin/scenarios/temp");

    // Act
    let (put_status, _) =
        put_scenario(&server, "temp", &named_route("temp", "/temp", "here")).await;
    let while_there = get(server.url("/temp")).await;
    let (delete_status, deleted) = fetch_json(http.delete(&url)).await;
    let after = http.get(server.url("/temp")).send().await.expect("request");
    let after_status = after.status().as_u16();
    let marker = after.headers().get("x-understudy-unmatched").cloned();
    let (again_status, again) = fetch_json(http.delete(&url)).await;
    let (get_status, _) = scenario(&server, "temp").await;

    // Assert
    assert_eq!(put_status, 201);
    assert_eq!(while_there, (200, "here".to_owned()));
    assert_eq!(delete_status, 200, "{deleted:#}");
    assert_eq!(after_status, 404);
    assert!(marker.is_some(), "an unmatched 404 after the delete");
    assert_eq!(again_status, 404, "deleting twice: {again:#}");
    assert!(again["error"].is_string(), "{again:#}");
    assert_eq!(get_status, 404);
}

#[tokio::test]
async fn api_scenario_shadows_a_file_scenario_until_deleted() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("shop.json", &named_route("shop", "/shop", "from file"));
    let server = Server::start(dir.path());

    // Act
    let before = get(server.url("/shop")).await;
    let (put_status, _) =
        put_scenario(&server, "shop", &named_route("shop", "/shop", "from api")).await;
    let shadowed = get(server.url("/shop")).await;
    let list = scenario_list(&server).await;
    let (got_status, got) = scenario(&server, "shop").await;
    let (delete_status, _) =
        fetch_json(client().delete(server.url("/__admin/scenarios/shop"))).await;
    let after = get(server.url("/shop")).await;
    let list_after = scenario_list(&server).await;

    // Assert
    assert_eq!(before, (200, "from file".to_owned()));
    assert_eq!(put_status, 201);
    assert_eq!(shadowed, (200, "from api".to_owned()));
    let entries = entries_named(&list, "shop");
    assert_eq!(entries.len(), 2, "{list:#}");
    let file = entries
        .iter()
        .find(|e| e["source"] == "file")
        .expect("file entry");
    let api = entries
        .iter()
        .find(|e| e["source"] == "api")
        .expect("api entry");
    assert_eq!(file["active"], false);
    assert_eq!(file["file"], "shop.json");
    assert_eq!(api["active"], true);
    assert_eq!(api["file"], Value::Null);
    assert_eq!(got_status, 200);
    assert_eq!(got["source"], "api", "GET shows the serving version");
    assert_eq!(delete_status, 200);
    assert_eq!(
        after,
        (200, "from file".to_owned()),
        "the file scenario serves again"
    );
    let entries = entries_named(&list_after, "shop");
    assert_eq!(entries.len(), 1, "{list_after:#}");
    assert_eq!(entries[0]["source"], "file");
    assert_eq!(entries[0]["active"], true);
}

#[tokio::test]
async fn deleting_a_file_scenario_hides_it_until_its_file_changes() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("disk.json", &named_route("disk", "/disk", "v1"));
    let server = Server::start(dir.path());

    // Act
    let before = get(server.url("/disk")).await;
    let (delete_status, _) =
        fetch_json(client().delete(server.url("/__admin/scenarios/disk"))).await;
    let hidden = get(server.url("/disk")).await;
    let (reload_same, _) = admin_post(&server, "reload").await;
    let still_hidden = get(server.url("/disk")).await;
    let list = scenario_list(&server).await;
    dir.write_json("disk.json", &named_route("disk", "/disk", "v2"));
    let (reload_changed, _) = admin_post(&server, "reload").await;
    let back = get(server.url("/disk")).await;

    // Assert
    assert_eq!(before, (200, "v1".to_owned()));
    assert_eq!(delete_status, 200);
    assert_eq!(hidden.0, 404, "{hidden:?}");
    assert_eq!(reload_same, 200);
    assert_eq!(still_hidden.0, 404, "an unchanged file stays hidden");
    let entries = entries_named(&list, "disk");
    assert_eq!(entries.len(), 1, "{list:#}");
    assert_eq!(entries[0]["active"], false);
    assert_eq!(reload_changed, 200);
    assert_eq!(back, (200, "v2".to_owned()), "a changed file serves again");
}

#[tokio::test]
async fn delete_unknown_scenario_is_404() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());

    // Act
    let (status, body) = fetch_json(client().delete(server.url("/__admin/scenarios/nobody"))).await;

    // Assert
    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body:#}");
}

#[tokio::test]
async fn set_state_moves_a_scenario_and_its_reset_restores_the_initial_state() {
    // Arrange: two scenarios, one with a name containing a slash.
    let dir = Scenarios::new();
    dir.write_json(
        "door.json",
        &json!({ "routes": [ { "response": { "status": 200 } } ] }),
    );
    dir.write_json(
        "team/lamp.json",
        &json!({ "routes": [ { "response": { "status": 200 } } ] }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let (door_status, door) = fetch_json(
        http.put(server.url("/__admin/scenarios/door/state"))
            .json(&json!({ "state": "open" })),
    )
    .await;
    let (lamp_status, _) = fetch_json(
        http.put(server.url("/__admin/scenarios/team/lamp/state"))
            .json(&json!({ "state": "on" })),
    )
    .await;
    let door_moved = scenario_state(&server, "door").await;
    let lamp_moved = scenario_state(&server, "team/lamp").await;
    let (reset_status, reset) = admin_post(&server, "scenarios/door/reset").await;
    let door_after = scenario_state(&server, "door").await;
    let lamp_after = scenario_state(&server, "team/lamp").await;

    // Assert
    assert_eq!(door_status, 200, "{door:#}");
    assert_eq!(door["state"], "open");
    assert_eq!(lamp_status, 200);
    assert_eq!(door_moved, "open");
    assert_eq!(lamp_moved, "on");
    assert_eq!(reset_status, 200, "{reset:#}");
    assert_eq!(door_after, "start", "reset goes back to the initial state");
    assert_eq!(lamp_after, "on", "resetting one scenario leaves the others");
}

#[tokio::test]
async fn set_state_rejects_bad_bodies_and_unknown_scenarios() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("door.json", &one_route("/door", "door"));
    let server = Server::start(dir.path());
    let http = client();
    let url = server.url("/__admin/scenarios/door/state");

    // Act
    let empty = fetch_json(http.put(&url).json(&json!({ "state": "" }))).await;
    let not_json = fetch_json(http.put(&url).body("state=open")).await;
    let wrong_type = fetch_json(http.put(&url).json(&json!({ "state": 3 }))).await;
    let missing = fetch_json(http.put(&url).json(&json!({}))).await;
    let unknown = fetch_json(
        http.put(server.url("/__admin/scenarios/nobody/state"))
            .json(&json!({ "state": "x" })),
    )
    .await;
    let reset_unknown = admin_post(&server, "scenarios/nobody/reset").await;
    let state = scenario_state(&server, "door").await;

    // Assert
    assert_eq!(empty.0, 400, "{:#}", empty.1);
    assert_eq!(not_json.0, 400, "{:#}", not_json.1);
    assert_eq!(wrong_type.0, 400, "{:#}", wrong_type.1);
    assert_eq!(missing.0, 400, "{:#}", missing.1);
    assert!(empty.1["error"].is_string());
    assert_eq!(unknown.0, 404, "{:#}", unknown.1);
    assert_eq!(reset_unknown.0, 404, "{:#}", reset_unknown.1);
    assert_eq!(state, "start", "rejected calls changed nothing");
}

#[tokio::test]
async fn reset_all_restores_every_state_and_empties_the_journal() {
    // Arrange: a journal of 1 entry, so 3 requests evict 2.
    let dir = Scenarios::new();
    dir.write_json(
        "a.json",
        &json!({ "routes": [ { "request": { "path": "/a" }, "response": { "status": 200 } } ] }),
    );
    dir.write_json(
        "b.json",
        &json!({ "routes": [ { "request": { "path": "/b" }, "response": { "status": 200 } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--journal-size", "1"]);
    for name in ["a", "b"] {
        set_state(&server, name, "moved").await;
    }
    for path in ["/a", "/b", "/a"] {
        assert_eq!(get(server.url(path)).await.0, 200);
    }
    let before = journal(&server, "").await;
    let a_before = scenario_state(&server, "a").await;

    // Act
    let (status, _) = admin_post(&server, "reset").await;
    let after = journal(&server, "").await;
    let a = scenario_state(&server, "a").await;
    let b = scenario_state(&server, "b").await;

    // Assert
    assert_eq!(before["evicted"], 2, "{before:#}");
    assert_eq!(a_before, "moved");
    assert_eq!(status, 200);
    assert_eq!(after, json!({ "requests": [], "evicted": 0 }));
    assert_eq!((a, b), (json!("start"), json!("start")));
}

#[tokio::test]
async fn reload_picks_up_a_new_file_and_keeps_api_scenarios() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("old.json", &one_route("/old", "old"));
    let server = Server::start(dir.path());
    let (put_status, _) = put_scenario(&server, "mem", &named_route("mem", "/mem", "mem")).await;
    let before = get(server.url("/new")).await;
    dir.write_json("new.json", &one_route("/new", "new"));

    // Act
    let (status, body) = admin_post(&server, "reload").await;
    let new = get(server.url("/new")).await;
    let mem = get(server.url("/mem")).await;
    let old = get(server.url("/old")).await;
    let list = scenario_list(&server).await;
    let health = server.health().await;

    // Assert
    assert_eq!(put_status, 201);
    assert_eq!(before.0, 404, "not there before the reload");
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["scenarios"], 3, "{body:#}");
    assert_eq!(body["routes"], 3, "{body:#}");
    assert_eq!(body["errors"], json!([]));
    assert_eq!(new, (200, "new".to_owned()));
    assert_eq!(
        mem,
        (200, "mem".to_owned()),
        "API scenarios survive a reload"
    );
    assert_eq!(old, (200, "old".to_owned()));
    let new_entry = entries_named(&list, "new");
    assert_eq!(new_entry.len(), 1, "{list:#}");
    assert_eq!(new_entry[0]["source"], "file");
    let mem_entry = entries_named(&list, "mem");
    assert_eq!(mem_entry.len(), 1, "{list:#}");
    assert_eq!(mem_entry[0]["source"], "api");
    assert_eq!(health["scenarios"], 3);
}

#[tokio::test]
async fn reload_reports_broken_files_and_keeps_the_good_ones() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("good.json", &one_route("/good", "good"));
    let server = Server::start(dir.path());
    dir.write_json(
        "bad.json",
        &json!({ "routes": [ { "response": { "status": 1000 } } ] }),
    );

    // Act
    let (status, body) = admin_post(&server, "reload").await;
    let good = get(server.url("/good")).await;

    // Assert
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body["scenarios"], 1, "{body:#}");
    let errors = body["errors"].as_array().expect("errors array");
    assert!(
        errors.iter().any(|e| e.as_str().is_some_and(|e| {
            e.contains("bad.json") && e.contains("routes[0].response.status")
        })),
        "{errors:?}"
    );
    assert_eq!(good, (200, "good".to_owned()));
}

#[tokio::test]
async fn unknown_admin_path_is_a_json_404() {
    // Arrange: a catch-all route must not answer under the admin prefix.
    let dir = Scenarios::new();
    dir.write_json(
        "all.json",
        &json!({ "routes": [ { "response": { "status": 200, "body": "catch-all" } } ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/__admin/no/such/endpoint"))
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned());
    let body: Value = resp.json().await.expect("JSON body");

    // Assert
    assert_eq!(status, 404);
    assert!(
        content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json")),
        "{content_type:?}"
    );
    assert!(body["error"].is_string(), "{body:#}");
}

#[tokio::test]
async fn admin_token_is_required_on_every_endpoint() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("open.json", &named_route("open", "/open", "open"));
    let server = Server::start_with(dir.path(), &["--admin-token", "t0ken"]);
    let http = client();
    let calls: Vec<(reqwest::Method, &str, Option<Value>, u16)> = vec![
        (reqwest::Method::GET, "/__admin/health", None, 200),
        (reqwest::Method::GET, "/__admin/scenarios", None, 200),
        (reqwest::Method::GET, "/__admin/scenarios/open", None, 200),
        (
            reqwest::Method::PUT,
            "/__admin/scenarios/guarded",
            Some(named_route("guarded", "/guarded", "g")),
            201,
        ),
        (
            reqwest::Method::PUT,
            "/__admin/scenarios/open/state",
            Some(json!({ "state": "x" })),
            200,
        ),
        (
            reqwest::Method::POST,
            "/__admin/scenarios/open/reset",
            None,
            200,
        ),
        (reqwest::Method::POST, "/__admin/reload", None, 200),
        (reqwest::Method::GET, "/__admin/requests", None, 200),
        (
            reqwest::Method::GET,
            "/__admin/requests/unmatched",
            None,
            200,
        ),
        (
            reqwest::Method::POST,
            "/__admin/requests/count",
            Some(json!({ "method": "GET" })),
            200,
        ),
        (reqwest::Method::DELETE, "/__admin/requests", None, 200),
        (reqwest::Method::POST, "/__admin/reset", None, 200),
        (
            reqwest::Method::DELETE,
            "/__admin/scenarios/guarded",
            None,
            200,
        ),
        (reqwest::Method::GET, "/__admin/unknown", None, 404),
    ];
    let request = |method: &reqwest::Method, path: &str, body: &Option<Value>| {
        let builder = http.request(method.clone(), server.url(path));
        match body {
            Some(doc) => builder.json(doc),
            None => builder,
        }
    };

    for (method, path, body, with_token) in &calls {
        // Act
        let without = request(method, path, body).send().await.expect("request");
        let without_status = without.status().as_u16();
        let challenge = without
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().expect("ascii").to_owned());
        let wrong = fetch(request(method, path, body).bearer_auth("wrong")).await;
        let right = fetch(request(method, path, body).bearer_auth("t0ken")).await;

        // Assert
        assert_eq!(without_status, 401, "{method} {path} without a token");
        assert!(
            challenge
                .as_deref()
                .is_some_and(|c| c.starts_with("Bearer")),
            "{method} {path}: WWW-Authenticate {challenge:?}"
        );
        assert_eq!(wrong.0, 401, "{method} {path} with a wrong token");
        assert_eq!(
            right.0, *with_token,
            "{method} {path} with the token: {}",
            right.1
        );
    }
    let mock = get(server.url("/open")).await;
    assert_eq!(mock, (200, "open".to_owned()), "mock routes need no token");
}

#[tokio::test]
async fn refused_admin_calls_change_nothing() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start_with(dir.path(), &["--admin-token", "t0ken"]);
    let http = client();

    // Act
    let put = fetch(
        http.put(server.url("/__admin/scenarios/sneaky"))
            .json(&named_route("sneaky", "/sneaky", "sneaky")),
    )
    .await;
    let sneaky = get(server.url("/sneaky")).await;
    let (status, list) = fetch_json(
        http.get(server.url("/__admin/scenarios"))
            .bearer_auth("t0ken"),
    )
    .await;

    // Assert
    assert_eq!(put.0, 401);
    assert_eq!(sneaky.0, 404, "the refused PUT did not create a route");
    assert_eq!(status, 200);
    assert_eq!(list, json!([]));
}

#[tokio::test]
async fn putting_the_same_scenario_again_starts_it_afresh() {
    // Arrange: a script and a state change, put, used, then put again with the same text.
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let doc = json!({
        "name": "again",
        "initialState": "start",
        "routes": [
            { "id": "step", "request": { "path": "/again" }, "setState": "moved",
              "responses": [ { "status": 200, "body": "one" }, { "status": 200, "body": "two" } ] }
        ]
    });
    assert_eq!(put_scenario(&server, "again", &doc).await.0, 201);
    assert_eq!(get(server.url("/again")).await, (200, "one".to_owned()));
    assert_eq!(scenario_state(&server, "again").await, "moved");

    // Act
    let (status, _) = put_scenario(&server, "again", &doc).await;
    let state = scenario_state(&server, "again").await;
    let first = get(server.url("/again")).await;
    let second = get(server.url("/again")).await;

    // Assert: the script starts over and the state is the initial one again.
    assert_eq!(status, 200);
    assert_eq!(state, "start");
    assert_eq!(first, (200, "one".to_owned()));
    assert_eq!(second, (200, "two".to_owned()));
    let (_, shown) = scenario(&server, "again").await;
    assert_eq!(shown["document"], doc, "the document shown is the one put");
}

#[tokio::test]
async fn putting_a_scenario_with_a_file_body_again_reads_the_file_again() {
    // Arrange
    let dir = Scenarios::new();
    dir.write("data/greeting.txt", "hello");
    let server = Server::start(dir.path());
    let doc = json!({
        "name": "greeting",
        "routes": [ { "request": { "path": "/greeting" }, "response": { "status": 200, "file": "data/greeting.txt" } } ]
    });
    assert_eq!(put_scenario(&server, "greeting", &doc).await.0, 201);
    let before = get(server.url("/greeting")).await;

    // Act: the file changes, the same text is put again.
    dir.write("data/greeting.txt", "hello again");
    let (status, _) = put_scenario(&server, "greeting", &doc).await;
    let after = get(server.url("/greeting")).await;

    // Assert
    assert_eq!(before, (200, "hello".to_owned()));
    assert_eq!(status, 200);
    assert_eq!(after, (200, "hello again".to_owned()));
}
