//! The Rust embedding API: `understudy::MockServer` in-process, from a plain `#[test]` and
//! from `#[tokio::test]`, on scenarios from a directory, a file or inline JSON.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::json;
use understudy::JournalLimits;
use understudy::{Error, MockServer};

use crate::util::{Scenarios, client, fetch, get_request, raw, text};

/// A blocking `GET path` over a raw socket → status code and body text.
fn raw_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let resp = raw(addr, get_request(path).as_bytes());
    (resp.status(), text(&resp.body))
}

/// Whether a server at `addr` still answers HTTP: `false` when connecting is refused, or when
/// the connection is reset or closed without a single response byte.
fn answers_http(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return false;
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("set timeout");
    let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut bytes = Vec::new();
    let _ = stream.read_to_end(&mut bytes);
    bytes.starts_with(b"HTTP/")
}

#[test]
fn plain_test_serves_a_directory_and_records_requests() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "users.json",
        &json!({
            "name": "users",
            "routes": [ { "id": "ada", "request": { "method": "GET", "path": "/users/[0-9]+" },
                          "response": { "status": 200, "json": { "name": "Ada" } } } ]
        }),
    );
    let server = MockServer::from_dir(dir.path()).expect("start");
    let addr = server.addr();

    // Act
    let (status, body) = raw_get(addr, "/users/42");
    let (missing, _) = raw_get(addr, "/nobody");
    let requests = server.requests();
    let counted = server
        .count(json!({ "path": "/users/[0-9]+" }))
        .expect("count");
    drop(server);

    // Assert
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).expect("JSON"),
        json!({ "name": "Ada" })
    );
    assert_eq!(missing, 404);
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/users/42");
    assert_eq!(requests[0].route.as_deref(), Some("users/ada"));
    assert_eq!(requests[0].status, 200);
    assert_eq!(requests[0].header("HOST"), Some("x"));
    assert_eq!(requests[1].route, None);
    assert_eq!(requests[1].status, 404);
    assert!(requests[0].id < requests[1].id);
    assert_eq!(counted, 1);
    assert!(!answers_http(addr), "dropping the MockServer stops it");
}

#[tokio::test]
async fn tokio_test_serves_a_file_and_stops_on_drop() {
    // Arrange
    let dir = Scenarios::new();
    let file = dir.write_json(
        "health.json",
        &json!({ "routes": [ { "id": "up", "request": { "path": "/up" }, "response": { "status": 200, "body": "up" } } ] }),
    );
    let server = MockServer::from_file(&file).expect("start");
    let url = server.url();
    let http = client();

    // Act
    let answer = fetch(
        http.post(format!("{url}/up"))
            .header("X-Probe", "1")
            .body("ping"),
    )
    .await;
    let requests = server.requests();
    drop(server);
    let after = client().get(format!("{url}/up")).send().await;

    // Assert
    assert_eq!(answer, (200, "up".to_owned()));
    assert_eq!(requests.len(), 1, "{requests:?}");
    assert_eq!(requests[0].method, "POST");
    assert_eq!(requests[0].route.as_deref(), Some("health/up"));
    assert_eq!(requests[0].header("x-probe"), Some("1"));
    assert_eq!(requests[0].body_text(), "ping");
    // Refused, or (while the listening socket closes) reset before any answer.
    let err = after.expect_err("the server is gone after drop");
    assert!(err.status().is_none(), "no HTTP answer at all: {err:?}");
    assert!(
        err.is_connect() || err.is_request(),
        "a transport error: {err:?}"
    );
}

#[test]
fn url_and_addr_name_the_same_loopback_port() {
    // Arrange + Act
    let server = MockServer::builder().start().expect("start");

    // Assert
    let addr = server.addr();
    assert!(addr.ip().is_loopback(), "{addr}");
    assert_ne!(addr.port(), 0, "a real port was picked");
    assert_eq!(server.url(), format!("http://{addr}"));
}

#[tokio::test]
async fn inline_json_value_and_text_scenarios_serve_side_by_side() {
    // Arrange: one named scenario as a value, one unnamed as text.
    let server = MockServer::builder()
        .json(json!({
            "name": "value",
            "routes": [ { "request": { "path": "/value" }, "response": { "status": 201, "body": "from value" } } ]
        }))
        .json_str(r#"{ "routes": [ { "request": { "path": "/text" }, "response": { "status": 202, "body": "from text" } } ] }"#)
        .start()
        .expect("start");
    let http = client();

    // Act
    let value = fetch(http.get(format!("{}/value", server.url()))).await;
    let text = fetch(http.get(format!("{}/text", server.url()))).await;
    let routes: Vec<Option<String>> = server.requests().into_iter().map(|r| r.route).collect();

    // Assert
    assert_eq!(value, (201, "from value".to_owned()));
    assert_eq!(text, (202, "from text".to_owned()));
    assert_eq!(routes.len(), 2);
    assert_eq!(routes[0].as_deref(), Some("value/0"));
    assert!(
        routes[1].is_some(),
        "the unnamed scenario matched: {routes:?}"
    );
    assert_eq!(server.state("value").as_deref(), Some("start"));
}

#[test]
fn from_json_and_from_json_str_start_servers() {
    // Arrange
    let from_value = MockServer::from_json(json!({
        "routes": [ { "response": { "status": 503, "headers": { "Retry-After": "1" } } } ]
    }))
    .expect("from_json");
    let from_text = MockServer::from_json_str(
        r#"{ "name": "teapot", "routes": [ { "response": { "status": 418, "body": "short and stout" } } ] }"#,
    )
    .expect("from_json_str");

    // Act
    let busy = raw(from_value.addr(), get_request("/anything").as_bytes());
    let teapot = raw_get(from_text.addr(), "/kettle");

    // Assert
    assert!(busy.status_line.contains(" 503"), "{}", busy.status_line);
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert_eq!(teapot, (418, "short and stout".to_owned()));
    assert_ne!(from_value.addr(), from_text.addr(), "each on its own port");
}

#[test]
fn invalid_inline_json_is_an_error_naming_the_json_path() {
    // Arrange
    let bad_status = r#"{ "routes": [ { "response": { "status": 99 } } ] }"#;
    let bad_regex =
        json!({ "routes": [ { "request": { "path": "/x(" }, "response": { "status": 200 } } ] });

    // Act
    let status_err = MockServer::from_json_str(bad_status).expect_err("status 99 is invalid");
    let regex_err = MockServer::from_json(bad_regex).expect_err("bad regex is invalid");

    // Assert
    let message = status_err.to_string();
    match status_err {
        Error::Invalid(diags) => {
            assert!(
                diags.iter().any(|d| d.path == "routes[0].response.status"),
                "{diags:?}"
            );
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
    assert!(
        message.contains("routes[0].response.status"),
        "the error text names the path: {message}"
    );
    match regex_err {
        Error::Invalid(diags) => {
            assert!(
                diags.iter().any(|d| d.path == "routes[0].request.path"),
                "{diags:?}"
            );
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn malformed_inline_json_text_is_an_invalid_error() {
    // Arrange
    let text = r#"{ "routes": [ { "response": { "status": 200 } } "#;

    // Act
    let result = MockServer::from_json_str(text);

    // Assert
    match result {
        Err(Error::Invalid(diags)) => assert!(!diags.is_empty()),
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn a_directory_with_an_invalid_file_does_not_start() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("good.json", &crate::util::one_route("/good", "good"));
    let bad = dir.write_json(
        "bad.json",
        &json!({ "routes": [ { "request": { "method": "(" }, "response": { "status": 200 } } ] }),
    );

    // Act
    let result = MockServer::from_dir(dir.path());

    // Assert
    match result {
        Err(Error::Invalid(diags)) => {
            assert!(
                diags
                    .iter()
                    .any(|d| d.file == bad && d.path == "routes[0].request.method"),
                "{diags:?}"
            );
        }
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn scenarios_can_be_put_moved_reset_and_deleted() {
    // Arrange
    let server = MockServer::builder().start().expect("start");
    let addr = server.addr();

    // Act
    server
        .put_scenario(
            "flaky",
            json!({ "routes": [ { "request": { "path": "/pay" }, "response": { "status": 502 } } ] }),
        )
        .expect("put");
    let (first, _) = raw_get(addr, "/pay");
    let initial = server.state("flaky");
    server.set_state("flaky", "stormy").expect("set_state");
    let moved = server.state("flaky");
    let unknown = server.set_state("nobody", "x");
    let before_reset = server.requests().len();
    server.reset();
    let after_reset = server.state("flaky");
    let journal_after_reset = server.requests().len();
    let deleted = server.delete_scenario("flaky");
    let deleted_again = server.delete_scenario("flaky");
    let (gone, _) = raw_get(addr, "/pay");

    // Assert
    assert_eq!(first, 502);
    assert_eq!(initial.as_deref(), Some("start"));
    assert_eq!(moved.as_deref(), Some("stormy"));
    assert!(
        matches!(unknown, Err(Error::NoScenario(ref n)) if n == "nobody"),
        "{unknown:?}"
    );
    assert_eq!(before_reset, 1);
    assert_eq!(after_reset.as_deref(), Some("start"));
    assert_eq!(journal_after_reset, 0, "reset clears the journal");
    assert!(deleted);
    assert!(!deleted_again);
    assert_eq!(gone, 404);
    assert_eq!(server.state("flaky"), None);
}

#[test]
fn put_scenario_rejects_an_invalid_document() {
    // Arrange
    let server = MockServer::builder().start().expect("start");

    // Act
    let result = server.put_scenario(
        "broken",
        json!({ "routes": [ { "response": { "status": 600 } } ] }),
    );

    // Assert
    match result {
        Err(Error::Invalid(diags)) => assert!(
            diags.iter().any(|d| d.path == "routes[0].response.status"),
            "{diags:?}"
        ),
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
    assert_eq!(server.state("broken"), None);
}

#[test]
fn count_matches_like_a_route_and_rejects_a_bad_matcher() {
    // Arrange
    let server = MockServer::from_json(json!({ "routes": [ { "response": { "status": 200 } } ] }))
        .expect("start");
    let addr = server.addr();
    let post = |path: &str, body: &str| {
        raw(
            addr,
            format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    post("/orders", r#"{"qty":1,"sku":"a"}"#);
    post("/orders", r#"{"qty":2}"#);
    raw_get(addr, "/orders?page=3");

    // Act
    let by_json = server
        .count(json!({ "json": { "qty": 1 } }))
        .expect("count");
    let by_method = server
        .count(json!({ "method": "POST", "path": "/orders" }))
        .expect("count");
    let by_query = server
        .count(json!({ "query": { "page": "3" } }))
        .expect("count");
    let by_header = server
        .count(json!({ "headers": { "content-type": "application/json" } }))
        .expect("count");
    let bad = server.count(json!({ "path": "((" }));

    // Assert
    assert_eq!((by_json, by_method, by_query, by_header), (1, 2, 1, 2));
    match bad {
        Err(Error::Invalid(diags)) => assert!(diags.iter().any(|d| d.path == "path"), "{diags:?}"),
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

#[test]
fn journal_limits_bound_the_journal_and_count_evictions() {
    // Arrange
    let server = MockServer::builder()
        .json(json!({ "routes": [ { "response": { "status": 200 } } ] }))
        .journal_limits(JournalLimits {
            max_entries: 2,
            max_body_bytes: 4,
            ..JournalLimits::default()
        })
        .start()
        .expect("start");
    let addr = server.addr();

    // Act
    for i in 1..=4 {
        raw_get(addr, &format!("/j/{i}"));
    }
    raw(
        addr,
        b"POST /j/body HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n0123456789",
    );
    let requests = server.requests();

    // Assert
    let paths: Vec<&str> = requests.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, vec!["/j/4", "/j/body"]);
    assert_eq!(server.evicted(), 3);
    assert_eq!(
        requests[1].body,
        b"0123".to_vec(),
        "bodies are cut to 4 bytes"
    );
}

#[test]
fn reload_picks_up_a_new_file_and_keeps_put_scenarios() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("first.json", &crate::util::one_route("/first", "first"));
    let server = MockServer::from_dir(dir.path()).expect("start");
    server
        .put_scenario(
            "mem",
            json!({ "routes": [ { "request": { "path": "/mem" }, "response": { "status": 200, "body": "mem" } } ] }),
        )
        .expect("put");
    let (before, _) = raw_get(server.addr(), "/second");
    dir.write_json("second.json", &crate::util::one_route("/second", "second"));

    // Act
    let problems = server.reload().expect("reload");
    let second = raw_get(server.addr(), "/second");
    let mem = raw_get(server.addr(), "/mem");

    // Assert
    assert_eq!(before, 404);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(second, (200, "second".to_owned()));
    assert_eq!(mem, (200, "mem".to_owned()));
}

#[test]
fn reload_reports_a_broken_file_and_keeps_serving_its_last_version() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("svc.json", &crate::util::one_route("/svc", "v1"));
    let server = MockServer::from_dir(dir.path()).expect("start");
    dir.write("svc.json", "{ \"routes\": [ ");

    // Act
    let problems = server.reload().expect("reload");
    let svc = raw_get(server.addr(), "/svc");

    // Assert
    assert!(!problems.is_empty(), "the broken file is reported");
    assert_eq!(svc, (200, "v1".to_owned()), "the last good version serves");
}

#[tokio::test]
async fn admin_token_guards_the_embedded_admin_api() {
    // Arrange
    let server = MockServer::builder()
        .json(json!({ "routes": [ { "request": { "path": "/open" }, "response": { "status": 200 } } ] }))
        .admin_token("emb3d")
        .start()
        .expect("start");
    let http = client();
    let health = format!("{}/__admin/health", server.url());

    // Act
    let without = fetch(http.get(&health)).await;
    let with = fetch(http.get(&health).bearer_auth("emb3d")).await;
    let mock = fetch(http.get(format!("{}/open", server.url()))).await;

    // Assert
    assert_eq!(without.0, 401);
    assert_eq!(with.0, 200);
    assert_eq!(mock.0, 200);
}

#[test]
fn shutdown_stops_the_server() {
    // Arrange
    let server = MockServer::from_json(json!({ "routes": [ { "response": { "status": 200 } } ] }))
        .expect("start");
    let addr = server.addr();
    let (before, _) = raw_get(addr, "/");

    // Act
    server.shutdown();

    // Assert
    assert_eq!(before, 200);
    assert!(!answers_http(addr), "no answer after shutdown");
}
