//! WireMock's `POST /__admin/recordings/snapshot`: the same proxied traffic sent through
//! understudy (`--admin-api wiremock`) and the real WireMock 3.13.2, each proxying to its own
//! upstream, and the stubs each builds from its journal compared (ids aside); the stubs then
//! serve; filters, `repeatsAsScenarios`, `outputFormat` and `persist`.
//!
//! Needs `WIREMOCK_JAR` (`.ci/wiremock-tools.sh`); skipped without it unless
//! `UNDERSTUDY_REQUIRE_WIREMOCK=1` (as in CI).

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::util::{
    Hits, Scenarios, Server, Upstream, WireMockRef, client_with_timeout, next_request,
};

/// One connection to the snapshot tests' upstream, whose answers depend only on the request
/// and how many times its path was asked: `/text` is text, `/bin` bytes, the rest JSON naming
/// the request.
async fn serve(mut sock: TcpStream, hits: Hits) {
    let mut buf = Vec::new();
    while let Some((req, n)) = next_request(&mut sock, &mut buf, &hits).await {
        let (method, target, path) = (req.method, req.target, req.path);
        let body = String::from_utf8_lossy(&req.body).into_owned();
        let (content_type, out): (&str, Vec<u8>) = match path.as_str() {
            "/text" => ("text/plain", format!("plain text {n}").into_bytes()),
            "/bin" => ("application/octet-stream", vec![0, 1, 2, 0xff, n as u8]),
            _ => (
                "application/json",
                json!({ "method": method, "target": target, "n": n, "got": body })
                    .to_string()
                    .into_bytes(),
            ),
        };
        let mut reply = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nX-Up: yes\r\n\
             Content-Length: {}\r\n\r\n",
            out.len()
        )
        .into_bytes();
        reply.extend_from_slice(&out);
        if sock.write_all(&reply).await.is_err() {
            return;
        }
    }
}

/// A server under test: its base URL and its upstream.
struct Side {
    base: String,
    upstream: Upstream,
}

/// One request of the traffic: method, target, content type, body, extra header.
type Request = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// The traffic both sides get.
const TRAFFIC: [Request; 8] = [
    ("GET", "/a", "", "", None),
    ("GET", "/a", "", "", None),
    ("GET", "/b?x=1&y=2", "", "", Some(("X-Trace", "t-1"))),
    ("GET", "/multi?x=1&x=2", "", "", None),
    ("POST", "/c", "application/json", r#"{"k":1}"#, None),
    ("POST", "/note", "text/plain", "hello", None),
    ("GET", "/text", "", "", None),
    ("GET", "/bin", "", "", None),
];

async fn send_traffic(http: &reqwest::Client, side: &Side) {
    for (method, target, content_type, body, header) in TRAFFIC {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = http.request(method, format!("{}{target}", side.base));
        if !content_type.is_empty() {
            req = req.header("Content-Type", content_type).body(body);
        }
        if let Some((name, value)) = header {
            req = req.header(name, value);
        }
        let resp = req.send().await.expect("proxied");
        assert_eq!(resp.status(), 200, "{target} through {}", side.base);
    }
}

async fn admin(http: &reqwest::Client, side: &Side, path: &str, body: Value) -> (u16, Value) {
    let resp = http
        .post(format!("{}/__admin/{path}", side.base))
        .json(&body)
        .send()
        .await
        .expect("admin");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Stubs as compared: without `id`/`uuid`, header names lower-case.
fn comparable(answer: &Value) -> Vec<Value> {
    answer["mappings"]
        .as_array()
        .unwrap_or_else(|| panic!("no mappings in {answer:#}"))
        .iter()
        .map(|stub| {
            let mut stub = stub.as_object().expect("stub").clone();
            stub.remove("id");
            stub.remove("uuid");
            if let Some(Value::Object(headers)) =
                stub.get_mut("response").and_then(|r| r.get_mut("headers"))
            {
                let lower: Map<String, Value> = headers
                    .iter()
                    .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
                    .collect();
                *headers = lower;
            }
            Value::Object(stub)
        })
        .collect()
}

fn mapping_files(dir: &Path) -> usize {
    std::fs::read_dir(dir.join("mappings"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn snapshot_builds_the_same_stubs_as_wiremock_from_the_proxied_journal() {
    // Arrange: each server proxies everything to its own upstream.
    let wm_dir = Scenarios::new();
    std::fs::create_dir(wm_dir.path().join("mappings")).expect("mappings/");
    let Some(wiremock) = WireMockRef::start(wm_dir.path()) else {
        return;
    };
    let us_dir = Scenarios::new();
    std::fs::create_dir(us_dir.path().join("mappings")).expect("mappings/");
    let server = Server::start_with(us_dir.path(), &["--admin-api", "wiremock"]);
    let http = client_with_timeout(Duration::from_secs(10));
    let sides = [
        Side {
            base: wiremock.base(),
            upstream: Upstream::start(serve).await,
        },
        Side {
            base: server.base(),
            upstream: Upstream::start(serve).await,
        },
    ];
    for side in &sides {
        let proxy = json!({ "request": { "urlPattern": ".*" },
                            "response": { "proxyBaseUrl": side.upstream.url() } });
        assert_eq!(admin(&http, side, "mappings", proxy).await.0, 201);
        send_traffic(&http, side).await;
    }

    // Act
    let mut seen = Vec::new();
    for side in &sides {
        let full = admin(
            &http,
            side,
            "recordings/snapshot",
            json!({ "persist": false, "captureHeaders": { "X-Trace": {} } }),
        )
        .await;
        // The snapshot's stubs serve: /a's two answers in order, the last one staying.
        let mut replays = Vec::new();
        for _ in 0..3 {
            let resp = http
                .get(format!("{}/a", side.base))
                .send()
                .await
                .expect("a");
            replays.push(resp.json::<Value>().await.expect("json")["n"].clone());
        }
        let filtered = admin(
            &http,
            side,
            "recordings/snapshot",
            json!({ "persist": false, "repeatsAsScenarios": false,
                    "filters": { "urlPattern": "/(a|b\\?.*)", "method": "GET" } }),
        )
        .await;
        let ids = admin(
            &http,
            side,
            "recordings/snapshot",
            json!({ "outputFormat": "IDS", "filters": { "urlPattern": "/text" } }),
        )
        .await;
        seen.push((full, replays, filtered, ids, side.upstream.hits("/a")));
    }

    // Assert
    let (wm, us) = (&seen[0], &seen[1]);
    assert_eq!(us.0.0, 200, "{:#}", us.0.1);
    let (wm_full, us_full) = (comparable(&wm.0.1), comparable(&us.0.1));
    assert_eq!(us_full.len(), 8, "{us_full:#?}");
    assert_eq!(
        us_full, wm_full,
        "understudy's stubs (left) and WireMock's (right)"
    );
    assert_eq!(
        us.1,
        vec![json!(1), json!(2), json!(2)],
        "replayed from the stubs"
    );
    assert_eq!(us.1, wm.1);
    assert_eq!(us.4, 2, "/a was not proxied again");
    assert_eq!(comparable(&us.2.1), comparable(&wm.2.1));
    assert_eq!(
        comparable(&us.2.1).len(),
        2,
        "one stub each for /a and /b: {:#}",
        us.2.1
    );
    let us_ids = us.3.1["ids"].as_array().expect("ids").len();
    assert_eq!(us_ids, wm.3.1["ids"].as_array().expect("ids").len());
    assert_eq!(us_ids, 1);
    assert_eq!(mapping_files(us_dir.path()), 1, "persisted by default");
    assert_eq!(mapping_files(wm_dir.path()), 1);
}
