//! Recording: `understudy record` and the admin API's `recordings/*` against a real upstream
//! on loopback (JSON, gzip, chunked, binary, slow, a counter, an echo), the written file
//! replayed by a plain `serve` once the upstream is gone, merging on re-recording, redaction,
//! `--keep-latency`, and a file outside the scenarios directory.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

use crate::util::{
    Hits, Scenarios, Server, Upstream, client, next_request, read_head_end, understudy,
};

const PNG: &[u8] = &[
    0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff, 0xfe, 0x01,
];
const SECRET_COOKIE: &str = "sid=upstream-session-4711";
const SECRET_TOKEN: &str = "tok-98765-secret";

/// One connection to the recording tests' upstream: HTTP/1.1 keep-alive, `Content-Length`
/// request bodies, each request counted by path.
async fn connection(mut sock: TcpStream, hits: Hits) {
    let mut buf = Vec::new();
    while let Some((req, n)) = next_request(&mut sock, &mut buf, &hits).await {
        let reply = answer(&req.method, &req.target, &req.path, n, &req.body).await;
        if sock.write_all(&reply).await.is_err() {
            return;
        }
    }
}

fn sized(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n");
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n");
    out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).expect("gzip");
    gz.finish().expect("gzip")
}

async fn answer(method: &str, target: &str, path: &str, n: usize, body: &[u8]) -> Vec<u8> {
    let json = [("Content-Type", "application/json")];
    match path {
        "/json" => {
            let text = json!({ "path": target, "items": [1, 2, 3] }).to_string();
            sized(
                "200 OK",
                &[
                    ("Content-Type", "application/json"),
                    ("Set-Cookie", SECRET_COOKIE),
                    ("X-Auth-Token", SECRET_TOKEN),
                    ("X-Upstream", "real"),
                ],
                text.as_bytes(),
            )
        }
        "/counter" => sized("200 OK", &json, json!({ "n": n }).to_string().as_bytes()),
        "/gzip" => sized(
            "200 OK",
            &[
                ("Content-Type", "application/json"),
                ("Content-Encoding", "gzip"),
            ],
            &gzip(br#"{"compressed":true,"text":"aaaaaaaaaaaaaaaaaaaaaaaa"}"#),
        ),
        "/chunked" => b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\
            Transfer-Encoding: chunked\r\n\r\n6\r\nchunk \r\n4\r\none \r\n3\r\ntwo\r\n0\r\n\r\n"
            .to_vec(),
        "/binary" => sized("200 OK", &[("Content-Type", "image/png")], PNG),
        "/slow" => {
            tokio::time::sleep(Duration::from_millis(300)).await;
            sized("200 OK", &[("Content-Type", "text/plain")], b"slow")
        }
        "/echo" if method == "POST" => {
            let mut got: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
            got["echoed"] = json!(true);
            sized("201 Created", &json, got.to_string().as_bytes())
        }
        "/empty" => sized("204 No Content", &[("X-Empty", "yes")], b""),
        _ => sized(
            "404 Not Found",
            &[("Content-Type", "text/plain")],
            b"upstream 404",
        ),
    }
}

/// `understudy record` over `dir`, into `into`, with `extra` flags.
fn record(dir: &Path, upstream: &Upstream, into: &Path, extra: &[&str]) -> Server {
    let mut cmd = understudy();
    cmd.args([
        "record",
        "--bind",
        "127.0.0.1:0",
        "--watch",
        "off",
        "--target",
        &upstream.url(),
        "--scenarios",
    ])
    .arg(dir)
    .arg("--into")
    .arg(into)
    .args(extra);
    Server::spawn(cmd)
}

/// Status, selected headers and body bytes.
async fn call(req: reqwest::RequestBuilder) -> (u16, HashMap<String, String>, Vec<u8>) {
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    (status, headers, resp.bytes().await.expect("body").to_vec())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).expect("read recording")).expect("JSON")
}

fn routes(doc: &Value) -> &Vec<Value> {
    doc["routes"].as_array().expect("routes")
}

fn route<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    routes(doc)
        .iter()
        .find(|r| r["request"]["method"] == method && r["request"]["path"] == path)
        .unwrap_or_else(|| panic!("no route for {method} {path} in {doc:#}"))
}

fn assert_no_duplicate_routes(doc: &Value) {
    let mut keys: Vec<String> = routes(doc)
        .iter()
        .map(|r| r["request"].to_string())
        .collect();
    let mut ids: Vec<String> = routes(doc).iter().map(|r| r["id"].to_string()).collect();
    let (k, i) = (keys.len(), ids.len());
    keys.sort();
    keys.dedup();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (keys.len(), ids.len()),
        (k, i),
        "duplicate routes in {doc:#}"
    );
}

/// The session every replay test sends: (method, path, body).
fn session() -> Vec<(&'static str, &'static str, Option<&'static str>)> {
    vec![
        ("GET", "/json", None),
        ("GET", "/json?page=2", None),
        ("GET", "/gzip", None),
        ("GET", "/chunked", None),
        ("GET", "/binary", None),
        ("POST", "/echo", Some(r#"{"x":1}"#)),
        ("POST", "/echo", Some(r#"{"x":2}"#)),
        ("GET", "/empty", None),
        ("GET", "/missing", None),
        ("GET", "/local", None),
    ]
}

fn request(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> reqwest::RequestBuilder {
    let req = client()
        .request(method.parse().expect("method"), server.url(path))
        .header("Authorization", "Bearer client-secret-123")
        .header("Cookie", "client=cookie-abc");
    match body {
        Some(b) => req
            .header("Content-Type", "application/json")
            .body(b.to_owned()),
        None => req,
    }
}

/// The body as the client means it: gzip decoded.
fn decoded(headers: &HashMap<String, String>, body: &[u8]) -> Vec<u8> {
    if headers.get("content-encoding").is_some_and(|e| e == "gzip") {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut out)
            .expect("gunzip");
        out
    } else {
        body.to_vec()
    }
}

fn local_scenario(dir: &Scenarios) {
    dir.write_json(
        "local.json",
        &json!({ "routes": [ { "request": { "path": "/local" },
                               "response": { "status": 200, "body": "local answer" } } ] }),
    );
}

#[tokio::test]
async fn on_miss_recording_replays_from_the_file_alone_once_the_upstream_is_gone() {
    // Arrange
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    local_scenario(&dir);
    let into = dir.path().join("recorded/api.json");
    let server = record(dir.path(), &upstream, &into, &[]);

    // Act: the session, then the same requests again.
    let mut first = Vec::new();
    for (method, path, body) in session() {
        let (status, headers, bytes) = call(request(&server, method, path, body)).await;
        first.push((status, decoded(&headers, &bytes)));
    }
    for (i, (method, path, body)) in session().into_iter().enumerate() {
        let (status, headers, bytes) = call(request(&server, method, path, body)).await;
        assert_eq!(
            (status, decoded(&headers, &bytes)),
            first[i],
            "{method} {path} answered again while recording"
        );
    }

    // Assert: each key went upstream once; the local route never did.
    assert_eq!(
        upstream.hits("/json"),
        2,
        "/json and /json?page=2, once each"
    );
    assert_eq!(upstream.hits("/echo"), 2, "two bodies, two keys");
    for path in ["/gzip", "/chunked", "/binary", "/empty", "/missing"] {
        assert_eq!(
            upstream.hits(path),
            1,
            "{path} recorded once, then answered from the file"
        );
    }
    assert_eq!(upstream.hits("/local"), 0, "a route answered it");
    assert_eq!(first[0].0, 200);
    assert_eq!(first[9], (200, b"local answer".to_vec()));
    assert_eq!(first[4].1, PNG);
    assert_eq!(first[3].1, b"chunk one two");

    let doc = read_json(&into);
    assert_eq!(routes(&doc).len(), 9, "{doc:#}");
    assert_no_duplicate_routes(&doc);
    let text = std::fs::read_to_string(&into).expect("text");
    for secret in [
        "client-secret-123",
        "cookie-abc",
        SECRET_COOKIE,
        SECRET_TOKEN,
    ] {
        assert!(!text.contains(secret), "{secret} reached the file:\n{text}");
    }
    for r in routes(&doc) {
        let names: Vec<String> = r["request"]["headers"]
            .as_object()
            .map(|h| h.keys().map(|k| k.to_ascii_lowercase()).collect())
            .unwrap_or_default();
        assert!(
            !names.iter().any(|n| n == "authorization" || n == "cookie"),
            "{r:#}"
        );
    }
    let json_route = route(&doc, "GET", "/json");
    assert_eq!(
        json_route["response"]["headers"]["set-cookie"],
        "<redacted>"
    );
    assert_eq!(
        json_route["response"]["headers"]["x-auth-token"],
        "<redacted>"
    );
    assert_eq!(json_route["response"]["json"]["items"], json!([1, 2, 3]));
    assert!(json_route["response"]["headers"].get("date").is_none());
    let gz = &route(&doc, "GET", "/gzip")["response"];
    assert_eq!(gz["json"]["compressed"], true, "stored decoded: {gz:#}");
    let gz_headers = gz["headers"].as_object().expect("headers");
    assert!(
        !gz_headers.contains_key("content-encoding") && !gz_headers.contains_key("content-length"),
        "{gz:#}"
    );
    let bin = &route(&doc, "GET", "/binary")["response"];
    let file = bin["file"].as_str().expect("a file body");
    assert_eq!(
        std::fs::read(into.parent().expect("folder").join(file)).expect("body file"),
        PNG
    );
    let chunked = &route(&doc, "GET", "/chunked")["response"];
    assert_eq!(chunked["body"], "chunk one two");
    assert!(chunked["headers"].get("transfer-encoding").is_none());

    // Act: the upstream and the recorder gone, a plain serve replays.
    drop(server);
    drop(upstream);
    let replay = Server::start(dir.path());
    for (i, (method, path, body)) in session().into_iter().enumerate() {
        let (status, headers, bytes) = call(request(&replay, method, path, body)).await;
        assert_eq!(
            (status, decoded(&headers, &bytes)),
            first[i],
            "{method} {path} replayed"
        );
    }
}

#[tokio::test]
async fn always_mode_scripts_repeated_keys_in_order_and_re_recording_merges() {
    // Arrange
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    local_scenario(&dir);
    let into = dir.path().join("always.json");

    // Act: always mode takes even the requests a route answers.
    let server = record(dir.path(), &upstream, &into, &["--mode", "always"]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let (status, _, body) = call(client().get(server.url("/counter"))).await;
        assert_eq!(status, 200);
        seen.push(serde_json::from_slice::<Value>(&body).expect("json")["n"].clone());
    }
    let (_, _, local) = call(client().get(server.url("/local"))).await;
    drop(server);

    // Assert
    assert_eq!(seen, vec![json!(1), json!(2), json!(3)]);
    assert_eq!(
        upstream.hits("/local"),
        1,
        "always mode sends everything upstream"
    );
    assert_eq!(local, b"upstream 404");
    let doc = read_json(&into);
    assert_eq!(routes(&doc).len(), 2, "{doc:#}");
    let counter = route(&doc, "GET", "/counter");
    let script: Vec<Value> = counter["responses"]
        .as_array()
        .expect("a responses script")
        .iter()
        .map(|r| r["json"]["n"].clone())
        .collect();
    assert_eq!(script, vec![json!(1), json!(2), json!(3)]);

    // Replay: the script in order, and a higher priority than nothing else needed.
    let replay = Server::start(dir.path());
    let mut replayed = Vec::new();
    for _ in 0..3 {
        let (_, _, body) = call(client().get(replay.url("/counter"))).await;
        replayed.push(serde_json::from_slice::<Value>(&body).expect("json")["n"].clone());
    }
    assert_eq!(replayed, seen);
    drop(replay);

    // Act: recording again into the same file, both modes.
    let server = record(dir.path(), &upstream, &into, &["--mode", "always"]);
    for _ in 0..2 {
        call(client().get(server.url("/counter"))).await;
    }
    drop(server);
    let server = record(dir.path(), &upstream, &into, &[]);
    let (_, _, body) = call(client().get(server.url("/counter"))).await;
    call(client().get(server.url("/json"))).await;
    drop(server);

    // Assert: no duplicates; the always session replaced the script; on-miss answered
    // /counter from the file and added /json.
    let doc = read_json(&into);
    assert_no_duplicate_routes(&doc);
    assert_eq!(routes(&doc).len(), 3, "{doc:#}");
    let script: Vec<Value> = route(&doc, "GET", "/counter")["responses"]
        .as_array()
        .expect("script")
        .iter()
        .map(|r| r["json"]["n"].clone())
        .collect();
    assert_eq!(script, vec![json!(4), json!(5)]);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("json")["n"],
        4
    );
    assert_eq!(upstream.hits("/counter"), 5);
    assert_eq!(upstream.hits("/json"), 1);
}

#[tokio::test]
async fn keep_latency_writes_the_upstream_delay_and_a_file_outside_the_directory_serves() {
    // Arrange
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    let into: PathBuf = dir.outside().join("elsewhere/slow.json");
    let server = record(dir.path(), &upstream, &into, &["--keep-latency"]);

    // Act
    let (status, _, body) = call(client().get(server.url("/slow"))).await;
    let started = std::time::Instant::now();
    let (again, _, again_body) = call(client().get(server.url("/slow"))).await;
    let took = started.elapsed();

    // Assert
    assert_eq!((status, body.as_slice()), (200, &b"slow"[..]));
    assert_eq!((again, again_body.as_slice()), (200, &b"slow"[..]));
    assert_eq!(
        upstream.hits("/slow"),
        1,
        "the file outside the directory answered"
    );
    assert!(
        took >= Duration::from_millis(250),
        "replayed with its delay: {took:?}"
    );
    let doc = read_json(&into);
    let delay = route(&doc, "GET", "/slow")["response"]["delayMs"]
        .as_u64()
        .expect("delayMs");
    assert!((250..5000).contains(&delay), "delayMs {delay}");
}

#[tokio::test]
async fn the_admin_api_starts_reports_and_stops_a_recording() {
    // Arrange
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let admin = |p: &str| server.url(&format!("/__understudy/admin/recordings/{p}"));
    let status = || async {
        let resp = client().get(admin("status")).send().await.expect("status");
        resp.json::<Value>().await.expect("json")["status"].clone()
    };

    // Act / Assert
    assert_eq!(status().await, "stopped");
    let before = call(client().get(server.url("/counter"))).await;
    assert_eq!(before.0, 404, "not recording: unmatched");
    let started = client()
        .post(admin("start"))
        .json(
            &json!({ "target": upstream.url(), "into": "admin/rec.json", "mode": "on-miss",
                       "match": "method,path" }),
        )
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), 200);
    assert_eq!(status().await, "recording");
    let again = client()
        .post(admin("start"))
        .json(&json!({ "target": upstream.url(), "into": "other.json" }))
        .send()
        .await
        .expect("start again");
    assert_eq!(again.status(), 409, "one recording at a time");
    let (code, _, body) = call(client().get(server.url("/counter?x=1"))).await;
    assert_eq!((code, body.as_slice()), (200, &br#"{"n":1}"#[..]));
    let (_, _, body) = call(client().get(server.url("/counter?x=2"))).await;
    assert_eq!(
        body, br#"{"n":1}"#,
        "the key is method and path: answered from the file"
    );
    let stopped = client().post(admin("stop")).send().await.expect("stop");
    assert_eq!(stopped.status(), 200);
    let stopped: Value = stopped.json().await.expect("json");
    let written = stopped["routes"].as_array().expect("routes written");
    assert_eq!(written.len(), 1, "{stopped:#}");
    assert_eq!(
        written[0]["request"],
        json!({ "method": "GET", "path": "/counter" })
    );
    assert_eq!(status().await, "stopped");
    let stop_again = client().post(admin("stop")).send().await.expect("stop");
    assert_eq!(stop_again.status(), 409);
    assert!(dir.path().join("admin/rec.json").is_file());
    let (_, _, body) = call(client().get(server.url("/counter"))).await;
    assert_eq!(
        body, br#"{"n":1}"#,
        "served from the file after the recording"
    );
    assert_eq!(upstream.hits("/counter"), 1);
}

#[tokio::test]
async fn a_dead_upstream_is_a_502_and_nothing_is_recorded() {
    // Arrange: a port nothing listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let dir = Scenarios::new();
    let into = dir.path().join("dead.json");
    let mut cmd = understudy();
    cmd.args([
        "record",
        "--bind",
        "127.0.0.1:0",
        "--watch",
        "off",
        "--target",
    ])
    .arg(format!("http://127.0.0.1:{port}"))
    .arg("--scenarios")
    .arg(dir.path())
    .arg("--into")
    .arg(&into);
    let server = Server::spawn(cmd);

    // Act
    let (status, _, _) = call(client().get(server.url("/anything"))).await;

    // Assert
    assert_eq!(status, 502);
    assert!(routes(&read_json(&into)).is_empty());
}

#[test]
fn bad_record_flags_are_refused_with_a_reason() {
    let dir = Scenarios::new();
    let run = |extra: &[&str]| {
        let out = understudy()
            .args(["record", "--bind", "127.0.0.1:0", "--scenarios"])
            .arg(dir.path())
            .args(extra)
            .output()
            .expect("run");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let into = dir.path().join("r.json");
    let into = into.to_str().expect("utf-8");
    let (code, err) = run(&[
        "--target",
        "http://127.0.0.1:1",
        "--into",
        into,
        "--match",
        "header:Authorization",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("redacted"), "{err}");
    let (code, err) = run(&["--target", "ftp://x", "--into", into]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("ftp"), "{err}");
    let (code, err) = run(&[
        "--target",
        "http://127.0.0.1:1",
        "--into",
        into,
        "--mode",
        "sometimes",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("on-miss"), "{err}");
}

#[tokio::test]
async fn wiremock_mode_records_through_wiremocks_recordings_endpoints() {
    // Arrange
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    std::fs::create_dir(dir.path().join("mappings")).expect("mappings/");
    let server = Server::start_with(dir.path(), &["--admin-api", "wiremock"]);
    let admin = |p: &str| server.url(&format!("/__admin/recordings/{p}"));
    let status = || async {
        let resp = client().get(admin("status")).send().await.expect("status");
        resp.json::<Value>().await.expect("json")["status"].clone()
    };

    // Act
    assert_eq!(status().await, "NeverStarted");
    let started = client()
        .post(admin("start"))
        .json(&json!({ "targetBaseUrl": upstream.url(), "persist": true }))
        .send()
        .await
        .expect("start");
    assert_eq!(started.status(), 200);
    assert_eq!(status().await, "Recording");
    for _ in 0..2 {
        call(client().get(server.url("/counter"))).await;
    }
    let snapshot: Value = client()
        .post(admin("snapshot"))
        .json(&json!({}))
        .send()
        .await
        .expect("snapshot")
        .json()
        .await
        .expect("json");
    let stopped: Value = client()
        .post(admin("stop"))
        .send()
        .await
        .expect("stop")
        .json()
        .await
        .expect("json");

    // Assert: one route with a two-step script, as a WireMock scenario of two stubs.
    assert_eq!(status().await, "Stopped");
    let stubs = stopped["mappings"].as_array().expect("mappings");
    assert_eq!(stubs.len(), 2, "{stopped:#}");
    assert_eq!(snapshot["mappings"].as_array().map(Vec::len), Some(2));
    assert_eq!(stubs[0]["request"]["method"], "GET");
    assert_eq!(stubs[0]["request"]["urlPathPattern"], "/counter");
    assert_eq!(stubs[0]["response"]["jsonBody"], json!({ "n": 1 }));
    assert_eq!(stubs[0]["requiredScenarioState"], "Started");
    assert_eq!(stubs[1]["response"]["jsonBody"], json!({ "n": 2 }));
    let (_, _, body) = call(client().get(server.url("/counter"))).await;
    assert_eq!(body, br#"{"n":1}"#, "answered from the recording");
    assert_eq!(upstream.hits("/counter"), 2);
}

#[tokio::test]
async fn proxy_ca_lets_a_recording_trust_a_self_signed_https_upstream() {
    // Arrange: a self-signed https upstream (another understudy) and its certificate.
    let up_dir = Scenarios::new();
    up_dir.write_json("up.json", &crate::util::one_route("/secure", "tls ok"));
    let cert = up_dir.outside().join("cert.pem");
    let upstream = Server::spawn({
        let mut cmd = crate::util::serve_command(up_dir.path());
        cmd.arg("--tls-self-signed")
            .arg("--tls-cert-out")
            .arg(&cert);
        cmd
    });
    let dir = Scenarios::new();
    let into = dir.path().join("tls.json");
    let recorder = |with_ca: bool| {
        let mut cmd = understudy();
        cmd.env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .args([
                "record",
                "--bind",
                "127.0.0.1:0",
                "--watch",
                "off",
                "--target",
            ])
            .arg(format!("https://localhost:{}", upstream.addr.port()))
            .arg("--scenarios")
            .arg(dir.path())
            .arg("--into")
            .arg(&into);
        if with_ca {
            cmd.arg("--proxy-ca").arg(&cert);
        }
        Server::spawn(cmd)
    };

    // Act
    let untrusting = recorder(false);
    let (refused, _, _) = call(client().get(untrusting.url("/secure"))).await;
    drop(untrusting);
    let trusting = recorder(true);
    let (status, _, body) = call(client().get(trusting.url("/secure"))).await;

    // Assert
    assert_eq!(refused, 502, "the system's store alone does not trust it");
    assert_eq!((status, body.as_slice()), (200, &b"tls ok"[..]));
    assert_eq!(
        route(&read_json(&into), "GET", "/secure")["response"]["body"],
        "tls ok"
    );
}

/// Size of the large bodies the big upstream sends (decoded).
const BIG: usize = 100 * 1024 * 1024 + 12_345;

/// Byte `i` of the large bodies: a pattern that is not a short cycle.
fn big_block(at: usize, len: usize) -> Vec<u8> {
    (at..at + len)
        .map(|i| ((i % 251) ^ (i / 4099 % 256)) as u8)
        .collect()
}

/// An upstream that streams a [`BIG`]-byte body (`/big`, with `Content-Length`), or the same
/// bytes gzip-encoded in members of 1 MiB (`/big.gz`, chunked), generated as it writes.
async fn big_upstream() -> (u16, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                while let Some(end) = read_head_end(&mut sock, &mut buf).await {
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end + 4);
                    let gz = head.starts_with("GET /big.gz ");
                    let start = if gz {
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                         Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
                            .to_owned()
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                             Content-Length: {BIG}\r\n\r\n"
                        )
                    };
                    if sock.write_all(start.as_bytes()).await.is_err() {
                        return;
                    }
                    let step = 1024 * 1024;
                    let mut at = 0;
                    while at < BIG {
                        let block = big_block(at, step.min(BIG - at));
                        at += block.len();
                        let bytes = if gz {
                            // Stored (not compressed) members: cheap to make, and the
                            // encoded body is as large as the decoded one.
                            let mut member = flate2::write::GzEncoder::new(
                                Vec::new(),
                                flate2::Compression::none(),
                            );
                            member.write_all(&block).expect("gzip");
                            let member = member.finish().expect("gzip");
                            let mut chunk = format!("{:x}\r\n", member.len()).into_bytes();
                            chunk.extend_from_slice(&member);
                            chunk.extend_from_slice(b"\r\n");
                            chunk
                        } else {
                            block
                        };
                        if sock.write_all(&bytes).await.is_err() {
                            return;
                        }
                    }
                    if gz && sock.write_all(b"0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, task)
}

/// Whether `bytes` are the large body's, from its first byte, whole.
fn is_big(bytes: &[u8]) -> bool {
    bytes.len() == BIG
        && bytes
            .chunks(1024 * 1024)
            .enumerate()
            .all(|(n, chunk)| chunk == big_block(n * 1024 * 1024, chunk.len()).as_slice())
}

/// A response body read as it streams, checked against the large body chunk by chunk; its
/// length, or `None` at the first byte that differs.
async fn streamed_big(mut resp: reqwest::Response) -> Option<usize> {
    let mut len = 0;
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        if chunk.as_ref() != big_block(len, chunk.len()).as_slice() {
            return None;
        }
        len += chunk.len();
    }
    Some(len)
}

#[tokio::test]
async fn a_100_mb_download_is_recorded_to_disk_and_replayed_with_bounded_memory() {
    // Arrange
    let (port, task) = big_upstream().await;
    let dir = Scenarios::new();
    let into = dir.path().join("big.json");
    let mut cmd = understudy();
    cmd.args(["record", "--bind", "127.0.0.1:0", "--watch", "off"])
        .arg("--target")
        .arg(format!("http://127.0.0.1:{port}"))
        .arg("--scenarios")
        .arg(dir.path())
        .arg("--into")
        .arg(&into);
    let server = Server::spawn(cmd);
    let slow = crate::util::client_with_timeout(Duration::from_secs(120));

    // Act: recorded while streamed (plain, then gzip-encoded), then replayed from the file.
    let plain = streamed_big(slow.get(server.url("/big")).send().await.expect("big")).await;
    let gz = slow
        .get(server.url("/big.gz"))
        .send()
        .await
        .expect("big.gz");
    let gz_status = gz.status().as_u16();
    let _ = gz.bytes().await.expect("big.gz body");
    task.abort();
    let replayed = slow.get(server.url("/big")).send().await.expect("replay");
    let replayed_status = replayed.status().as_u16();
    let replayed_length = replayed.content_length();
    let replayed = streamed_big(replayed).await;
    let peak_kib = server.peak_rss_kib();

    // Assert
    assert_eq!(plain, Some(BIG));
    assert_eq!(gz_status, 200);
    assert_eq!(replayed_status, 200);
    assert_eq!(replayed_length, Some(BIG as u64));
    assert_eq!(replayed, Some(BIG), "replayed from disk");
    let doc = read_json(&into);
    for path in ["/big", "/big\\.gz"] {
        let response = &route(&doc, "GET", path)["response"];
        let file = response["file"].as_str().expect("a file body");
        assert!(
            response["headers"].get("content-encoding").is_none(),
            "{response:#}"
        );
        let bytes = std::fs::read(dir.path().join(file)).expect("body file");
        assert!(is_big(&bytes), "{path}: the file holds the decoded body");
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert!(
        peak_kib < 48 * 1024,
        "understudy's peak RSS was {peak_kib} KiB for a {BIG}-byte body"
    );
}

#[tokio::test]
async fn a_hand_edit_of_a_recording_outside_the_directory_is_served_and_kept() {
    // Arrange: recording into a file outside the scenarios directory, watched natively.
    let upstream = Upstream::start(connection).await;
    let dir = Scenarios::new();
    let into: PathBuf = dir.outside().join("edited/rec.json");
    let mut cmd = understudy();
    cmd.args(["record", "--bind", "127.0.0.1:0", "--watch", "native"])
        .arg("--target")
        .arg(upstream.url())
        .arg("--scenarios")
        .arg(dir.path())
        .arg("--into")
        .arg(&into);
    let server = Server::spawn(cmd);
    let (status, _, _) = call(client().get(server.url("/json"))).await;
    assert_eq!(status, 200);
    let recorded = std::fs::read_to_string(&into).expect("recording");
    let edit = |doc: &mut Value, response: Value| {
        let routes = doc["routes"].as_array_mut().expect("routes");
        let at = routes
            .iter()
            .position(|r| r["request"]["path"] == "/json")
            .expect("the /json route");
        routes[at]["response"] = response;
    };

    // Act 1: a hand edit of the recorded answer.
    let mut doc: Value = serde_json::from_str(&recorded).expect("JSON");
    edit(&mut doc, json!({ "status": 200, "json": { "edited": 1 } }));
    std::fs::write(&into, serde_json::to_string_pretty(&doc).expect("text")).expect("edit");
    let served = served_json(&server, json!({ "edited": 1 })).await;

    // Act 2: a bad edit; then a capture after a good one.
    edit(
        &mut doc,
        json!({ "status": "two hundred", "json": { "edited": 2 } }),
    );
    let bad = serde_json::to_string_pretty(&doc).expect("text");
    std::fs::write(&into, &bad).expect("bad edit");
    let (line, _) = crate::util::line_col_of(&bad, "\"two hundred\"");
    let reported =
        crate::util::wait_until(Duration::from_secs(5), Duration::from_millis(50), || {
            crate::util::logged_diags(&server.logs(), &into)
                .iter()
                .any(|d| d.line == line && d.path.ends_with("response.status"))
        });
    let during_bad = json_of(&server).await;
    edit(&mut doc, json!({ "status": 200, "json": { "edited": 3 } }));
    std::fs::write(&into, serde_json::to_string_pretty(&doc).expect("text")).expect("fix");
    let fixed = served_json(&server, json!({ "edited": 3 })).await;
    let (counter, _, _) = call(client().get(server.url("/counter"))).await;

    // Assert
    assert_eq!(served, (200, json!({ "edited": 1 })), "the hand edit");
    assert!(
        reported,
        "no FILE:LINE:COL error for the bad edit: {:#?}",
        server.logs()
    );
    assert_eq!(
        during_bad,
        (200, json!({ "edited": 1 })),
        "the last good version"
    );
    assert_eq!(fixed, (200, json!({ "edited": 3 })), "the fixed edit");
    assert_eq!(counter, 200);
    assert_eq!(upstream.hits("/json"), 1, "answered from the file");
    let doc = read_json(&into);
    assert_eq!(
        route(&doc, "GET", "/json")["response"]["json"],
        json!({ "edited": 3 })
    );
    assert_eq!(
        route(&doc, "GET", "/counter")["response"]["json"],
        json!({ "n": 1 })
    );
}

/// Status and JSON body of `GET /json`.
async fn json_of(server: &Server) -> (u16, Value) {
    let (status, _, body) = call(client().get(server.url("/json"))).await;
    (
        status,
        serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null),
    )
}

/// `GET /json` polled until it answers `want` (5 s at most); the last answer.
async fn served_json(server: &Server, want: Value) -> (u16, Value) {
    crate::util::poll(
        Duration::from_secs(5),
        Duration::from_millis(50),
        async || json_of(server).await,
        |got| *got == (200, want.clone()),
    )
    .await
}

#[tokio::test]
async fn wiremock_recordings_stop_names_a_large_body_instead_of_holding_it() {
    // Arrange
    let (port, task) = big_upstream().await;
    let dir = Scenarios::new();
    std::fs::create_dir(dir.path().join("mappings")).expect("mappings/");
    let server = Server::start_with(dir.path(), &["--admin-api", "wiremock"]);
    let admin = |p: &str| server.url(&format!("/__admin/recordings/{p}"));
    let slow = crate::util::client_with_timeout(Duration::from_secs(120));

    // Act
    let started = client()
        .post(admin("start"))
        .json(&json!({ "targetBaseUrl": format!("http://127.0.0.1:{port}") }))
        .send()
        .await
        .expect("start");
    let got = streamed_big(slow.get(server.url("/big")).send().await.expect("big")).await;
    task.abort();
    let stopped: Value = client()
        .post(admin("stop"))
        .send()
        .await
        .expect("stop")
        .json()
        .await
        .expect("json");
    let peak_kib = server.peak_rss_kib();

    // Assert
    assert_eq!(started.status(), 200);
    assert_eq!(got, Some(BIG));
    let stubs = stopped["mappings"].as_array().expect("mappings");
    assert_eq!(stubs.len(), 1, "{stopped:#}");
    assert!(stubs[0]["response"].get("base64Body").is_none());
    let file = stubs[0]["metadata"]["understudyFile"]
        .as_str()
        .expect("the body's file is named");
    assert!(is_big(&std::fs::read(file).expect("body file")));
    assert!(
        peak_kib < 48 * 1024,
        "understudy's peak RSS was {peak_kib} KiB for a {BIG}-byte body"
    );
}
