//! Answers on the wire: status lines and reason phrases, repeated headers, default
//! Content-Types per body kind, HEAD from GET routes, and the default `100 Continue`.

use base64::Engine as _;
use reqwest::header::CONTENT_TYPE;
use serde_json::json;

use crate::util::{Scenarios, Server, answering, client, curl, get_request, run};

fn get_raw(server: &Server, path: &str) -> crate::util::RawResponse {
    server.raw(&get_request(path))
}

#[test]
fn custom_reason_phrase_is_sent_on_the_status_line() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "r.json",
        &answering(
            "/r",
            json!({ "status": 599, "reason": "Custom Reason", "body": "x" }),
        ),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = get_raw(&server, "/r");

    // Assert
    assert!(
        resp.bytes.starts_with(b"HTTP/1.1 599 Custom Reason\r\n"),
        "status line was {:?}",
        resp.status_line
    );
}

#[test]
fn unregistered_status_without_reason_gets_a_sensible_phrase() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "codes.json",
        &json!({
            "routes": [
                { "request": { "path": "/299" }, "response": { "status": 299 } },
                { "request": { "path": "/499" }, "response": { "status": 499 } },
                { "request": { "path": "/599" }, "response": { "status": 599 } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    for code in ["299", "499", "599"] {
        // Act
        let resp = get_raw(&server, &format!("/{code}"));

        // Assert
        let prefix = format!("HTTP/1.1 {code} ");
        let reason = resp.status_line.strip_prefix(&prefix).unwrap_or_else(|| {
            panic!(
                "status line {:?} should start with {prefix:?}",
                resp.status_line
            )
        });
        assert!(
            !reason.trim().is_empty(),
            "status {code} needs a reason phrase"
        );
        assert!(
            reason.chars().all(|c| c.is_ascii_alphabetic() || c == ' '),
            "reason phrase for {code} should be plain words, got {reason:?}"
        );
        assert!(
            !reason.to_ascii_lowercase().contains("unknown"),
            "reason phrase for {code} must not be an `unknown status` placeholder: {reason:?}"
        );
    }
}

#[test]
fn registered_status_gets_its_canonical_phrase() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "teapot.json",
        &answering("/tea", json!({ "status": 418, "body": "short and stout" })),
    );
    let server = Server::start(dir.path());
    let canonical = reqwest::StatusCode::IM_A_TEAPOT
        .canonical_reason()
        .expect("418 has a canonical reason");

    // Act
    let resp = get_raw(&server, "/tea");

    // Assert
    assert_eq!(resp.status_line, format!("HTTP/1.1 418 {canonical}"));
    assert_eq!(resp.body, b"short and stout");
}

#[test]
fn header_with_several_values_is_sent_as_several_lines() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "cookies.json",
        &answering("/login", json!({ "status": 200, "headers": { "Set-Cookie": ["a=1", "b=2"], "X-One": "single" }, "body": "in" })),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = get_raw(&server, "/login");

    // Assert
    let head = String::from_utf8_lossy(&resp.bytes).to_ascii_lowercase();
    let cookie_lines = head
        .split("\r\n")
        .filter(|l| l.starts_with("set-cookie:"))
        .count();
    assert_eq!(cookie_lines, 2, "two Set-Cookie lines expected in {head:?}");
    assert_eq!(
        resp.header_all("set-cookie"),
        vec!["a=1", "b=2"],
        "values in the order written"
    );
    assert_eq!(resp.header_all("x-one"), vec!["single"]);
}

#[tokio::test]
async fn text_body_defaults_to_text_plain_utf8() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "text.json",
        &answering("/text", json!({ "status": 200, "body": "héllo wörld" })),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/text"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "text/plain; charset=utf-8");
    assert_eq!(resp.text().await.expect("body"), "héllo wörld");
}

#[tokio::test]
async fn json_body_defaults_to_application_json() {
    // Arrange
    let value = json!({ "id": 7, "tags": ["a", "b"], "nested": { "ok": true, "none": null } });
    let dir = Scenarios::new();
    dir.write_json(
        "json.json",
        &answering("/json", json!({ "status": 201, "json": value })),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/json"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 201);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/json");
    let got: serde_json::Value = resp.json().await.expect("JSON body");
    assert_eq!(got, value);
}

#[tokio::test]
async fn base64_body_is_decoded_and_defaults_to_octet_stream() {
    // Arrange
    let bytes: Vec<u8> = vec![0x00, 0xff, 0x10, 0x80, b'\r', b'\n', 0x7f, 0xfe];
    let encoded = base64::engine::general_purpose::STANDARD.encode(&bytes);
    let dir = Scenarios::new();
    dir.write_json(
        "bin.json",
        &answering("/bin", json!({ "status": 200, "base64": encoded })),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/bin"))
        .send()
        .await
        .expect("request");

    // Assert
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_TYPE], "application/octet-stream");
    assert_eq!(resp.bytes().await.expect("body").as_ref(), bytes.as_slice());
}

#[tokio::test]
async fn file_body_is_served_with_a_content_type_guessed_from_its_extension() {
    // Arrange: bodies live next to the scenario file, which sits in a subfolder.
    let html = "<!doctype html><title>t</title><p>hi</p>";
    let png: Vec<u8> = vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13, 0xde, 0xad,
    ];
    let dir = Scenarios::new();
    dir.write("site/assets/page.html", html);
    dir.write_bytes("site/assets/logo.png", &png);
    dir.write_json(
        "site/pages.json",
        &json!({
            "routes": [
                { "request": { "path": "/page" }, "response": { "status": 200, "file": "assets/page.html" } },
                { "request": { "path": "/logo" }, "response": { "status": 200, "file": "assets/logo.png" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let page = http.get(server.url("/page")).send().await.expect("request");
    let logo = http.get(server.url("/logo")).send().await.expect("request");

    // Assert
    assert_eq!(page.status(), 200);
    let page_type = page.headers()[CONTENT_TYPE]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(page_type.starts_with("text/html"), "got {page_type:?}");
    assert_eq!(page.text().await.expect("body"), html);
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()[CONTENT_TYPE], "image/png");
    assert_eq!(logo.bytes().await.expect("body").as_ref(), png.as_slice());
}

#[tokio::test]
async fn configured_content_type_wins_whatever_its_case() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "types.json",
        &json!({
            "routes": [
                { "request": { "path": "/vendor" },
                  "response": { "status": 200, "headers": { "content-TYPE": "application/vnd.acme+json" }, "json": { "a": 1 } } },
                { "request": { "path": "/html" },
                  "response": { "status": 200, "headers": { "Content-Type": "text/html; charset=utf-8" }, "body": "<b>x</b>" } }
            ]
        }),
    );
    let server = Server::start(dir.path());
    let http = client();

    // Act
    let vendor = http
        .get(server.url("/vendor"))
        .send()
        .await
        .expect("request");
    let html = http.get(server.url("/html")).send().await.expect("request");

    // Assert
    let vendor_types: Vec<_> = vendor.headers().get_all(CONTENT_TYPE).iter().collect();
    assert_eq!(
        vendor_types,
        vec!["application/vnd.acme+json"],
        "exactly one Content-Type, the configured one"
    );
    let html_types: Vec<_> = html.headers().get_all(CONTENT_TYPE).iter().collect();
    assert_eq!(html_types, vec!["text/html; charset=utf-8"]);
    assert_eq!(html.text().await.expect("body"), "<b>x</b>");
}

#[test]
fn head_answers_from_a_get_route_with_the_same_head_and_no_body() {
    // Arrange
    let body = "hello, head request";
    let dir = Scenarios::new();
    dir.write_json(
        "page.json",
        &json!({
            "routes": [
                { "request": { "method": "GET", "path": "/page" },
                  "response": { "status": 203, "headers": { "X-Thing": "yes" }, "body": body } },
                { "request": { "method": "POST", "path": "/post-only" }, "response": { "status": 200, "body": "posted" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let get = get_raw(&server, "/page");
    let head = server.raw("HEAD /page HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    let head_post_only =
        server.raw("HEAD /post-only HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");

    // Assert
    assert_eq!(get.body, body.as_bytes());
    assert_eq!(head.status_line, get.status_line);
    assert!(
        head.status_line.starts_with("HTTP/1.1 203 "),
        "{}",
        head.status_line
    );
    assert_eq!(head.header("x-thing"), Some("yes"));
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(
        head.header("content-length"),
        Some(body.len().to_string().as_str()),
        "HEAD keeps the Content-Length of the GET body"
    );
    assert!(
        head.body.is_empty(),
        "no body bytes may follow a HEAD response head: {:?}",
        head.body
    );
    assert!(
        head_post_only.status_line.starts_with("HTTP/1.1 404 "),
        "HEAD only borrows GET routes: {}",
        head_post_only.status_line
    );
    assert!(
        head_post_only.body.is_empty(),
        "the 404 to a HEAD request has no body either"
    );
}

#[test]
fn expect_100_continue_gets_an_interim_100_by_default() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "upload.json",
        &json!({
            "routes": [
                { "request": { "method": "PUT", "path": "/upload", "body": "payload" },
                  "response": { "status": 201, "body": "stored" } }
            ]
        }),
    );
    let server = Server::start(dir.path());

    // Act: curl waits for the interim response before it sends the body.
    let out = run(curl()
        .args(["-X", "PUT"])
        .args(["-H", "Expect: 100-continue", "--data-binary", "the payload"])
        .arg(server.url("/upload")));

    // Assert
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    assert!(
        stderr.contains("< HTTP/1.1 100 Continue"),
        "no 100 Continue in: {stderr}"
    );
    assert!(
        stderr.contains("< HTTP/1.1 201 "),
        "no final 201 in: {stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "stored",
        "the body was read and matched"
    );
}
