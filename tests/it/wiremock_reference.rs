//! The real WireMock 3.13.2 as a reference: proof that the harness (`util::WireMockRef`,
//! `util::both`) starts it over a mapping tree written to a temp dir, and the facts a WireMock
//! mapping compiler must reproduce, each one asserted here against the real server.
//!
//! Observed with WireMock 3.13.2 (standalone jar from npm `wiremock@3.13.2`, OpenJDK 17),
//! requests from reqwest without `Accept-Encoding`:
//!
//! - **Stub answers** (`body`, `bodyFileName`, `jsonBody` alike) are
//!   `Transfer-Encoding: chunked` with no `Content-Length`, no `Date`, no `Server`, and **no
//!   `Content-Type` unless the stub's `headers` set one** — `jsonBody` included.
//! - They carry `Matched-Stub-Id: <the stub's id>`: the file's `id` (or `uuid`) when it has
//!   one, else a random lowercase UUID (`8b87b5e1-4ede-438c-be48-87de872f003c`) made anew at
//!   every start. A named stub adds `Matched-Stub-Name: <name>`.
//! - **Unmatched:** `404`, `Content-Type: text/plain;charset=UTF-8`, no `Matched-Stub-Id`; the
//!   body's first line is empty, the second is `Request was not matched` indented by 47
//!   spaces, the third is 23 `=` at the same indent, then a table (`Closest stub` | `Request`)
//!   with the closest stub's lines and `<<<<< URL does not match` or
//!   `<<<<< HTTP method does not match` beside the line that differs.
//! - `GET /__admin/health` → `200`, `Content-Type: application/json`,
//!   `{"status":"healthy","message":"Wiremock is ok","version":"3.13.2","uptimeInSeconds":N,"timestamp":"…Z"}`
//!   (pretty-printed with ` : `).
//! - Without any stub for it, `GET /NAME` answers a file `__files/NAME` as a static file: `200`,
//!   `Content-Type` from the extension (`text/plain` for `.txt`), `Content-Length`,
//!   `Last-Modified`, `Accept-Ranges: bytes`, no `Matched-Stub-Id`.
//! - With `--port 0` it prints `port:` followed by spaces and the port on stdout (the harness
//!   reads it); healthy about 0.7–1.4 s after `java` starts.
//!
//! What understudy answers to the same trees is compared in `wiremock_differential.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Scenarios, WireMockRef, both, client_with_timeout};

/// Bounds every request to a reference server (a hang guard, not a timing assertion).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The `id` of the `GET /hello` stub in [`hello_tree`].
const HELLO_ID: &str = "0b7e0b7e-1111-4222-8333-444455556666";

/// The body file the `GET /hello` stub serves.
const HELLO_BODY: &str = "hello from a file\n";

/// A WireMock root: `mappings/hello.json` (`GET /hello` → 200, `X-Hello: world`, body from
/// `__files/hello.txt`, with an `id`), `mappings/json.json` (a named `GET /json` stub with a
/// `jsonBody`, no `id`) and `__files/hello.txt`.
fn hello_tree() -> Scenarios {
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/hello.json",
        &json!({
            "id": HELLO_ID,
            "request": { "method": "GET", "url": "/hello" },
            "response": {
                "status": 200,
                "bodyFileName": "hello.txt",
                "headers": { "X-Hello": "world" }
            }
        }),
    );
    dir.write_json(
        "mappings/json.json",
        &json!({
            "name": "json one",
            "request": { "method": "GET", "urlPath": "/json" },
            "response": { "status": 200, "jsonBody": { "a": 1, "b": [true, null] } }
        }),
    );
    dir.write("__files/hello.txt", HELLO_BODY);
    dir
}

/// `GET url` → the response (bounded by [`REQUEST_TIMEOUT`]).
async fn get(url: String) -> reqwest::Response {
    client_with_timeout(REQUEST_TIMEOUT)
        .get(&url)
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"))
}

/// The value of header `name` as text, if present.
fn header(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .map(|v| v.to_str().expect("ASCII header").to_owned())
}

/// Whether `text` looks like a lowercase hyphenated UUID (8-4-4-4-12 hex digits).
fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.iter().map(|g| g.len()).eq([8, 4, 4, 4, 12])
        && groups.iter().all(|g| {
            g.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

#[tokio::test]
async fn a_file_stub_answers_with_its_body_file_its_header_and_its_id() {
    // Arrange
    let dir = hello_tree();
    let Some(wiremock) = WireMockRef::start(dir.path()) else {
        return;
    };

    // Act
    let resp = get(wiremock.url("/hello")).await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "x-hello").as_deref(), Some("world"));
    assert_eq!(header(&resp, "matched-stub-id").as_deref(), Some(HELLO_ID));
    assert_eq!(header(&resp, "matched-stub-name"), None, "unnamed stub");
    assert_eq!(
        header(&resp, "content-type"),
        None,
        "no Content-Type unless set"
    );
    assert_eq!(
        header(&resp, "transfer-encoding").as_deref(),
        Some("chunked")
    );
    assert_eq!(header(&resp, "content-length"), None);
    assert_eq!(header(&resp, "date"), None);
    assert_eq!(header(&resp, "server"), None);
    assert_eq!(resp.text().await.expect("body"), HELLO_BODY);
}

#[tokio::test]
async fn a_json_body_stub_sends_no_content_type_and_names_its_stub() {
    // Arrange
    let dir = hello_tree();
    let Some(wiremock) = WireMockRef::start(dir.path()) else {
        return;
    };

    // Act
    let resp = get(wiremock.url("/json?x=1")).await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type"), None, "jsonBody sets none");
    let id = header(&resp, "matched-stub-id").expect("Matched-Stub-Id");
    assert!(is_uuid(&id), "a generated id is a lowercase UUID: {id:?}");
    assert_eq!(
        header(&resp, "matched-stub-name").as_deref(),
        Some("json one")
    );
    let text = resp.text().await.expect("body");
    assert_eq!(text, r#"{"a":1,"b":[true,null]}"#, "compact JSON");
}

#[tokio::test]
async fn an_unmatched_request_gets_a_plain_text_404_diff() {
    // Arrange
    let dir = hello_tree();
    let Some(wiremock) = WireMockRef::start(dir.path()) else {
        return;
    };

    // Act
    let by_path = get(wiremock.url("/nope")).await;
    let by_method = client_with_timeout(REQUEST_TIMEOUT)
        .post(wiremock.url("/hello"))
        .body("x")
        .send()
        .await
        .expect("POST /hello");

    // Assert
    for (resp, marker) in [
        (by_path, "<<<<< URL does not match"),
        (by_method, "<<<<< HTTP method does not match"),
    ] {
        assert_eq!(resp.status(), 404);
        assert_eq!(
            header(&resp, "content-type").as_deref(),
            Some("text/plain;charset=UTF-8")
        );
        assert_eq!(header(&resp, "matched-stub-id"), None);
        let text = resp.text().await.expect("body");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "", "the body starts with a newline: {text}");
        assert_eq!(
            lines[1],
            format!("{}Request was not matched", " ".repeat(47)),
            "{text}"
        );
        assert_eq!(lines[2], format!("{}{}", " ".repeat(47), "=".repeat(23)));
        assert!(text.contains("| Closest stub "), "{text}");
        assert!(text.contains(marker), "{marker:?} in {text}");
    }
}

#[tokio::test]
async fn a_body_file_is_served_as_a_static_file_when_no_stub_matches() {
    // Arrange
    let dir = hello_tree();
    let Some(wiremock) = WireMockRef::start(dir.path()) else {
        return;
    };

    // Act
    let resp = get(wiremock.url("/hello.txt")).await;

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "content-type").as_deref(), Some("text/plain"));
    assert_eq!(header(&resp, "content-length").as_deref(), Some("18"));
    assert_eq!(header(&resp, "accept-ranges").as_deref(), Some("bytes"));
    assert!(header(&resp, "last-modified").is_some());
    assert_eq!(header(&resp, "matched-stub-id"), None);
    assert_eq!(resp.text().await.expect("body"), HELLO_BODY);
}

#[tokio::test]
async fn health_reports_version_3_13_2_and_the_process_dies_on_drop() {
    // Arrange
    let dir = hello_tree();
    let Some(wiremock) = WireMockRef::start(dir.path()) else {
        return;
    };
    let (pid, addr) = (wiremock.pid(), wiremock.addr);

    // Act
    let resp = get(wiremock.url("/__admin/health")).await;
    let content_type = header(&resp, "content-type");
    let health: Value = resp.json().await.expect("health JSON");
    drop(wiremock);

    // Assert
    assert_eq!(content_type.as_deref(), Some("application/json"));
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["message"], "Wiremock is ok");
    assert_eq!(health["version"], "3.13.2");
    assert!(health["uptimeInSeconds"].is_u64(), "{health:#}");
    assert!(health["timestamp"].is_string(), "{health:#}");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "java process {pid} still exists after drop"
    );
    assert!(
        std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "{addr} still accepts connections after drop"
    );
}

#[tokio::test]
async fn both_starts_understudy_and_wiremock_over_one_tree() {
    // Arrange
    let dir = hello_tree();

    // Act
    let Some((server, wiremock)) = both(dir.path()) else {
        return;
    };

    // Assert: each one is up on its own port (understudy's answers to mapping files are the
    // compiler's tests, not these).
    assert_ne!(server.addr, wiremock.addr);
    server.health().await;
    let resp = get(wiremock.url("/hello")).await;
    assert_eq!(resp.status(), 200);
}
