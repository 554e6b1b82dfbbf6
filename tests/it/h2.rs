//! HTTP/2 on the same port as HTTP/1.1: prior knowledge (h2c) and ALPN over TLS, every
//! answer kind over h2, interim `HEADERS` (`103`, `100`), each fault's frames (`RST_STREAM`,
//! `GOAWAY`, invalid frames, `DATA` then `RST_STREAM`, one silent stream while others are
//! served), `426` for switching routes, the limits (concurrent streams, header list size),
//! `--http2 off`, and hostile HTTP/2 clients (rapid reset, CONTINUATION floods, oversized
//! header lists, many idle streams) while another client keeps being served.
//!
//! Clients: the `h2` crate (frames as a client sees them), reqwest (prior knowledge), curl
//! (`--http2-prior-knowledge`, `--http2` over TLS; skipped when curl lacks HTTP/2), and
//! Python's httpx and h2 (from `.ci/h2-tools.sh`; skipped unless installed or
//! `UNDERSTUDY_REQUIRE_H2TOOLS=1`).

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::Reason;
use h2::client::SendRequest;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::util::{
    HANG_GUARD, Scenarios, Server, curl, entries, get_request, journal, run, text, wait_until,
};

/// Routes for every HTTP/2 test.
fn scenario() -> Value {
    json!({
        "name": "h2",
        "routes": [
            { "id": "hello", "request": { "method": "GET", "path": "/hello" },
              "response": { "status": 200, "headers": { "x-multi": ["one", "two"] }, "body": "hi" } },
            { "id": "teapot", "request": { "path": "/teapot" },
              "response": { "status": 418, "reason": "Short And Stout", "body": "tea" } },
            { "id": "late", "request": { "path": "/late" },
              "response": { "status": 599, "body": "late" } },
            { "id": "echo", "request": { "method": "POST", "path": "/echo" },
              "response": { "status": 201, "template": true, "body": "got {{ request.body }}" } },
            { "id": "seq", "request": { "path": "/seq" },
              "responses": [ { "status": 200, "body": "first" }, { "status": 200, "body": "second" } ] },
            { "id": "hints", "request": { "path": "/hints" },
              "response": { "status": 200, "body": "page", "informational": [
                  { "status": 103, "headers": { "link": "</app.css>; rel=preload" } } ] } },
            { "id": "slow-hints", "request": { "path": "/slow-hints" },
              "response": { "status": 200, "body": "page", "delayMs": 400, "informational": [
                  { "status": 103, "headers": { "link": "</app.css>; rel=preload" } } ] } },
            { "id": "chunks", "request": { "path": "/chunks" },
              "response": { "status": 200, "body": "abcdefghij",
                            "chunks": { "size": 2, "intervalMs": 30 } } },
            { "id": "reset", "request": { "path": "/reset" },
              "response": { "status": 200, "body": "never", "fault": "connection_reset" } },
            { "id": "empty", "request": { "path": "/empty" },
              "response": { "status": 200, "fault": "empty_response" } },
            { "id": "malformed", "request": { "path": "/malformed" },
              "response": { "status": 200, "fault": "malformed_response" } },
            { "id": "truncated", "request": { "path": "/truncated" },
              "response": { "status": 200, "body": "0123456789", "fault": "truncated_body" } },
            { "id": "silent", "request": { "path": "/silent" },
              "response": { "status": 200, "fault": "no_response" } },
            { "id": "ws", "request": { "path": "/ws" },
              "response": { "status": 101, "websocket": { "echo": true } } },
            { "id": "reject", "expect": "reject", "request": { "method": "PUT", "path": "/reject" },
              "response": { "status": 413, "body": "too big" } },
            { "id": "upload", "request": { "method": "PUT", "path": "/upload" },
              "response": { "status": 201, "body": "stored" } }
        ]
    })
}

fn server_with(extra: &[&str]) -> (Scenarios, Server) {
    let dir = Scenarios::new();
    dir.write_json("h2.json", &scenario());
    let server = Server::start_with(dir.path(), extra);
    (dir, server)
}

fn server() -> (Scenarios, Server) {
    server_with(&[])
}

/// An HTTP/2 connection with prior knowledge; its driver runs on the test's runtime.
async fn connect_h2(addr: SocketAddr) -> SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let (send, conn) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    send
}

fn request(method: &str, path: &str) -> http::Request<()> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"))
        .body(())
        .expect("request")
}

/// A whole exchange on `send`: the head and the body, or the error the stream ended with.
async fn exchange(
    send: &SendRequest<Bytes>,
    req: http::Request<()>,
    body: Option<&'static [u8]>,
) -> Result<(http::response::Parts, Bytes), h2::Error> {
    let mut send = send.clone().ready().await?;
    let (resp, mut stream) = send.send_request(req, body.is_none())?;
    if let Some(body) = body {
        stream.send_data(Bytes::from_static(body), true)?;
    }
    let (parts, mut recv) = resp.await?.into_parts();
    let mut out = BytesMut::new();
    while let Some(chunk) = recv.data().await {
        let chunk = chunk?;
        let _ = recv.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    Ok((parts, out.freeze()))
}

async fn get(
    send: &SendRequest<Bytes>,
    path: &str,
) -> Result<(http::response::Parts, Bytes), h2::Error> {
    tokio::time::timeout(HANG_GUARD, exchange(send, request("GET", path), None))
        .await
        .expect("the exchange ended")
}

/// Another client, on its own connection, is still answered.
async fn assert_serves(server: &Server) {
    let send = connect_h2(server.addr).await;
    let (parts, body) = get(&send, "/hello").await.expect("GET /hello over h2");
    assert_eq!(parts.status, 200);
    assert_eq!(&body[..], b"hi");
    let resp = server.raw(&get_request("/hello"));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK", "{resp:?}");
}

#[tokio::test]
async fn prior_knowledge_and_http11_share_the_port_with_the_same_answers_and_journal() {
    // Arrange
    let (_dir, server) = server();
    let h2c = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let h1 = reqwest::Client::builder()
        .http1_only()
        .build()
        .expect("client");

    // Act
    let over_h2 = h2c
        .get(server.url("/hello"))
        .send()
        .await
        .expect("h2c request");
    let over_h1 = h1
        .get(server.url("/hello"))
        .send()
        .await
        .expect("h1 request");

    // Assert
    assert_eq!(over_h2.version(), reqwest::Version::HTTP_2);
    assert_eq!(over_h1.version(), reqwest::Version::HTTP_11);
    let multi: Vec<_> = over_h2.headers().get_all("x-multi").iter().collect();
    assert_eq!(
        multi,
        ["one", "two"],
        "both values of a multi-valued header"
    );
    assert_eq!(over_h2.status(), 200);
    assert_eq!(over_h2.text().await.expect("body"), "hi");
    assert_eq!(over_h1.text().await.expect("body"), "hi");
    let listed = journal(&server, "").await;
    let versions: Vec<&str> = entries(&listed)
        .iter()
        .map(|e| e["httpVersion"].as_str().expect("httpVersion"))
        .collect();
    assert_eq!(versions, ["2", "1.1"], "{listed:#}");
    let first = &entries(&listed)[0];
    assert_eq!(first["route"], "h2/hello");
    assert_eq!(
        first["headers"]["host"],
        server.addr.to_string(),
        "host comes from :authority"
    );
}

#[tokio::test]
async fn statuses_bodies_scripts_templates_and_the_admin_api_work_over_h2() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act
    let teapot = get(&send, "/teapot").await.expect("teapot");
    let late = get(&send, "/late").await.expect("599");
    let first = get(&send, "/seq").await.expect("seq");
    let second = get(&send, "/seq").await.expect("seq");
    let echo = tokio::time::timeout(
        HANG_GUARD,
        exchange(&send, request("POST", "/echo"), Some(b"ping")),
    )
    .await
    .expect("ended")
    .expect("echo");
    let admin = get(&send, "/__understudy/admin/requests")
        .await
        .expect("admin");
    let unmatched = get(&send, "/nowhere").await.expect("unmatched");

    // Assert
    assert_eq!(
        teapot.0.status, 418,
        "HTTP/2 carries the status; reason phrases do not exist"
    );
    assert_eq!(&teapot.1[..], b"tea");
    assert_eq!(late.0.status, 599);
    assert_eq!(
        (&first.1[..], &second.1[..]),
        (&b"first"[..], &b"second"[..])
    );
    assert_eq!(echo.0.status, 201);
    assert_eq!(&echo.1[..], b"got ping");
    assert_eq!(admin.0.status, 200);
    let listed: Value = serde_json::from_slice(&admin.1).expect("admin JSON");
    assert_eq!(entries(&listed).len(), 5, "{listed:#}");
    assert!(entries(&listed).iter().all(|e| e["httpVersion"] == "2"));
    assert_eq!(unmatched.0.status, 404);
    assert_eq!(unmatched.0.headers["x-understudy-unmatched"], "1");
}

#[tokio::test]
async fn early_hints_arrive_as_a_103_headers_frame_before_the_final_one() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;
    let mut send = send.ready().await.expect("ready");

    // Act
    let (mut resp, _) = send
        .send_request(request("GET", "/slow-hints"), true)
        .expect("send");
    let interim = tokio::time::timeout(
        HANG_GUARD,
        std::future::poll_fn(|cx| resp.poll_informational(cx)),
    )
    .await
    .expect("an interim response came")
    .expect("interim")
    .expect("interim head");
    let final_resp = tokio::time::timeout(HANG_GUARD, resp)
        .await
        .expect("final")
        .expect("final");

    // Assert
    assert_eq!(interim.status(), 103);
    assert_eq!(interim.headers()["link"], "</app.css>; rel=preload");
    assert_eq!(final_resp.status(), 200);
}

#[tokio::test]
async fn chunked_pacing_arrives_as_several_data_frames() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;
    let mut send = send.ready().await.expect("ready");

    // Act
    let (resp, _) = send
        .send_request(request("GET", "/chunks"), true)
        .expect("send");
    let resp = tokio::time::timeout(HANG_GUARD, resp)
        .await
        .expect("head")
        .expect("head");
    let mut body = resp.into_body();
    let mut frames = Vec::new();
    while let Some(chunk) = tokio::time::timeout(HANG_GUARD, body.data())
        .await
        .expect("data")
    {
        let chunk = chunk.expect("chunk");
        let _ = body.flow_control().release_capacity(chunk.len());
        frames.push(chunk);
    }

    // Assert
    let whole: Vec<u8> = frames.iter().flat_map(|c| c.to_vec()).collect();
    assert_eq!(whole, b"abcdefghij");
    assert!(
        frames.len() >= 3,
        "paced as several DATA frames: {frames:?}"
    );
}

#[tokio::test]
async fn connection_reset_is_rst_stream_and_the_connection_keeps_serving() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act
    let reset = get(&send, "/reset").await;
    let after = get(&send, "/hello").await;

    // Assert
    let err = reset.expect_err("the stream is reset");
    assert!(err.is_reset(), "{err:?}");
    assert_eq!(err.reason(), Some(Reason::INTERNAL_ERROR));
    assert_eq!(after.expect("same connection").0.status, 200);
    let listed = journal(&server, "").await;
    assert_eq!(entries(&listed)[0]["fault"], "connection_reset");
}

#[tokio::test]
async fn truncated_body_sends_the_full_length_head_half_the_body_then_rst_stream() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;
    let mut ready = send.clone().ready().await.expect("ready");

    // Act
    let (resp, _) = ready
        .send_request(request("GET", "/truncated"), true)
        .expect("send");
    let resp = tokio::time::timeout(HANG_GUARD, resp)
        .await
        .expect("head")
        .expect("head");
    let length = resp.headers()["content-length"].clone();
    let mut body = resp.into_body();
    let mut got = Vec::new();
    let mut ended = None;
    while let Some(chunk) = tokio::time::timeout(HANG_GUARD, body.data())
        .await
        .expect("data")
    {
        match chunk {
            Ok(c) => got.extend_from_slice(&c),
            Err(err) => {
                ended = Some(err);
                break;
            }
        }
    }

    // Assert
    assert_eq!(length, "10");
    assert_eq!(got, b"01234");
    let err = ended.expect("the body ends with a reset, not END_STREAM");
    assert!(err.is_reset(), "{err:?}");
    assert_eq!(
        get(&send, "/hello")
            .await
            .expect("same connection")
            .0
            .status,
        200
    );
}

#[tokio::test]
async fn empty_response_is_goaway_then_close() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act
    let err = get(&send, "/empty").await.expect_err("no answer");

    // Assert
    assert!(
        err.is_go_away() || err.is_io(),
        "GOAWAY, then the connection closes: {err:?}"
    );
    let ready = tokio::time::timeout(HANG_GUARD, send.clone().ready())
        .await
        .expect("ended");
    assert!(ready.is_err(), "the connection is gone");
    assert_serves(&server).await;
}

#[tokio::test]
async fn malformed_response_is_an_invalid_frame_then_close() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act
    let err = get(&send, "/malformed").await.expect_err("no answer");

    // Assert
    assert_eq!(err.reason(), Some(Reason::PROTOCOL_ERROR), "{err:?}");
    assert_serves(&server).await;
}

#[tokio::test]
async fn no_response_keeps_one_stream_silent_while_others_on_the_connection_answer() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;
    let mut ready = send.clone().ready().await.expect("ready");
    let (silent, mut silent_stream) = ready
        .send_request(request("GET", "/silent"), true)
        .expect("send");

    // Act
    let other = get(&send, "/hello").await.expect("another stream answers");
    let still = tokio::time::timeout(Duration::from_millis(500), silent).await;
    silent_stream.send_reset(Reason::CANCEL);
    let after = get(&send, "/hello").await.expect("after the reset");

    // Assert
    assert_eq!(other.0.status, 200);
    assert!(still.is_err(), "the silent stream got nothing");
    assert_eq!(after.0.status, 200);
    let listed = journal(&server, "").await;
    let faults: Vec<&Value> = entries(&listed).iter().map(|e| &e["fault"]).collect();
    assert!(faults.contains(&&json!("no_response")), "{listed:#}");
}

#[tokio::test]
async fn websocket_routes_answer_426_over_h2() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act
    let (parts, body) = get(&send, "/ws").await.expect("answer");

    // Assert
    assert_eq!(parts.status, 426);
    assert!(
        !parts.headers.contains_key("upgrade"),
        "HTTP/2 has no Upgrade field"
    );
    assert!(text(&body).contains("HTTP/1.1"), "{}", text(&body));
}

#[tokio::test]
async fn expect_100_continue_sends_100_or_the_rejection_before_any_body() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;
    let expecting = |path: &str| {
        http::Request::builder()
            .method("PUT")
            .uri(format!("http://localhost{path}"))
            .header("expect", "100-continue")
            .header("content-length", "4")
            .body(())
            .expect("request")
    };

    // Act: continue
    let mut ready = send.clone().ready().await.expect("ready");
    let (mut resp, mut body) = ready
        .send_request(expecting("/upload"), false)
        .expect("send");
    let interim = tokio::time::timeout(
        HANG_GUARD,
        std::future::poll_fn(|cx| resp.poll_informational(cx)),
    )
    .await
    .expect("100 came")
    .expect("interim")
    .expect("head");
    body.send_data(Bytes::from_static(b"data"), true)
        .expect("body");
    let upload = tokio::time::timeout(HANG_GUARD, resp)
        .await
        .expect("final")
        .expect("final");

    // Act: reject
    let mut ready = send.clone().ready().await.expect("ready");
    let (resp, _body) = ready
        .send_request(expecting("/reject"), false)
        .expect("send");
    let rejected = tokio::time::timeout(HANG_GUARD, resp)
        .await
        .expect("final")
        .expect("final");

    // Assert
    assert_eq!(interim.status(), 100);
    assert_eq!(upload.status(), 201);
    assert_eq!(
        rejected.status(),
        413,
        "the route's answer, without waiting for the body"
    );
}

#[tokio::test]
async fn settings_advertise_256_streams_and_the_header_limit() {
    // Arrange
    let (_dir, server) = server_with(&["--max-header-bytes", "4096"]);
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let (send, mut conn) = h2::client::handshake(tcp).await.expect("handshake");
    // Settings arrive with the server's first frames: drive the connection until they apply.
    let _ = tokio::time::timeout(Duration::from_millis(300), &mut conn).await;
    let streams = conn.max_concurrent_send_streams();
    tokio::spawn(async move {
        let _ = conn.await;
    });

    // Act: a header list over 4096 bytes
    let mut big = request("GET", "/hello");
    big.headers_mut().insert(
        "x-big",
        http::HeaderValue::from_str(&"a".repeat(5000)).expect("value"),
    );
    let refused = tokio::time::timeout(HANG_GUARD, exchange(&send, big, None))
        .await
        .expect("ended");

    // Assert
    assert_eq!(streams, 256);
    match refused {
        Ok((parts, _)) => assert_eq!(parts.status, 431),
        Err(err) => assert!(err.is_reset() || err.is_go_away(), "{err:?}"),
    }
    assert_serves(&server).await;
}

#[tokio::test]
async fn http2_off_keeps_the_port_http11_only() {
    // Arrange
    let (_dir, server) = server_with(&["--http2", "off"]);

    // Act
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let h2 = tokio::time::timeout(HANG_GUARD, async {
        let (send, conn) = h2::client::handshake(tcp).await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        exchange(&send, request("GET", "/hello"), None).await
    })
    .await
    .expect("ended");

    // Assert
    assert!(h2.is_err(), "no HTTP/2 with --http2 off: {h2:?}");
    let resp = server.raw(&get_request("/hello"));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
}

// ----- curl -----

/// Whether this curl speaks HTTP/2; panics instead when `UNDERSTUDY_REQUIRE_H2TOOLS=1`.
fn curl_has_http2() -> bool {
    let out = Command::new("curl").arg("--version").output();
    let has = out.is_ok_and(|o| text(&o.stdout).contains("HTTP2"));
    if !has && require_tools() {
        panic!("UNDERSTUDY_REQUIRE_H2TOOLS=1 but curl lacks HTTP/2");
    }
    has
}

fn require_tools() -> bool {
    std::env::var("UNDERSTUDY_REQUIRE_H2TOOLS").as_deref() == Ok("1")
}

#[test]
fn curl_prior_knowledge_shows_the_103_before_the_200() {
    if !curl_has_http2() {
        eprintln!("skipped: curl without HTTP/2");
        return;
    }
    // Arrange
    let (_dir, server) = server();

    // Act
    let out = run(curl()
        .arg("--http2-prior-knowledge")
        .arg(server.url("/hints")));

    // Assert
    let trace = text(&out.stderr);
    assert!(out.status.success(), "{trace}");
    let hints = trace
        .find("< HTTP/2 103")
        .unwrap_or_else(|| panic!("{trace}"));
    let last = trace
        .find("< HTTP/2 200")
        .unwrap_or_else(|| panic!("{trace}"));
    assert!(hints < last, "{trace}");
    assert_eq!(text(&out.stdout), "page");
}

#[test]
fn curl_http2_over_tls_negotiates_h2_through_alpn_and_http11_when_off() {
    if !curl_has_http2() {
        eprintln!("skipped: curl without HTTP/2");
        return;
    }
    for (flags, alpn, line) in [
        (&[][..], "ALPN: server accepted h2", "< HTTP/2 200"),
        (
            &["--http2", "off"][..],
            "ALPN: server accepted http/1.1",
            "< HTTP/1.1 200",
        ),
    ] {
        // Arrange
        let dir = Scenarios::new();
        dir.write_json("h2.json", &scenario());
        let cert = dir.outside().join("cert.pem");
        let mut args: Vec<&OsStr> = vec![
            OsStr::new("--tls-self-signed"),
            OsStr::new("--tls-cert-out"),
            cert.as_os_str(),
        ];
        args.extend(flags.iter().map(OsStr::new));
        let mut cmd = crate::util::serve_command(dir.path());
        cmd.args(&args);
        let server = Server::spawn(cmd);
        let port = server.addr.port();

        // Act
        let out = run(curl()
            .args(["--http2", "--resolve"])
            .arg(format!("localhost:{port}:127.0.0.1"))
            .arg("--cacert")
            .arg(&cert)
            .arg(format!("https://localhost:{port}/hello")));

        // Assert
        let trace = text(&out.stderr);
        assert!(out.status.success(), "{trace}");
        assert!(trace.contains(alpn), "{alpn}: {trace}");
        assert!(trace.contains(line), "{line}: {trace}");
        assert_eq!(text(&out.stdout), "hi");
    }
}

// ----- Python httpx and h2 -----

/// The venv python with httpx and h2: `H2_PYTHON` (from `.ci/h2-tools.sh`), else
/// `target/h2-tools/venv/bin/python`; `None` (skip) unless `UNDERSTUDY_REQUIRE_H2TOOLS=1`.
fn h2_python() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("H2_PYTHON").map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/h2-tools/venv/bin/python")),
    ];
    let found = candidates.into_iter().flatten().find(|p| {
        p.is_file()
            && Command::new(p)
                .args(["-c", "import httpx, h2"])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    });
    if found.is_none() && require_tools() {
        panic!("UNDERSTUDY_REQUIRE_H2TOOLS=1 but httpx/h2 are missing: run .ci/h2-tools.sh");
    }
    found
}

/// httpx over h2c prior knowledge and over TLS (ALPN), and raw h2 frames: the 103 before the
/// final HEADERS, RST_STREAM, GOAWAY, and a silent stream beside an answered one.
const PY_CLIENTS: &str = r#"
import json, socket, ssl, sys, httpx, h2.config, h2.connection, h2.events
port, tls_port, cert = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
out = {}
with httpx.Client(http1=False, http2=True) as c:
    r = c.get(f"http://127.0.0.1:{port}/hello")
    out["h2c"] = [r.http_version, r.status_code, r.text, r.headers.get_list("x-multi")]
with httpx.Client(http2=True, verify=ssl.create_default_context(cafile=cert)) as c:
    r = c.get(f"https://localhost:{tls_port}/hello")
    out["tls"] = [r.http_version, r.status_code, r.text]

def frames(paths, last=None, quiet=None):
    # Reads events until the connection closes, or until `last` is seen; then, when `quiet`
    # is given, for that many more seconds ("quiet" when nothing more came). A slow machine
    # gets 20 seconds for the frames that must come.
    s = socket.create_connection(("127.0.0.1", port)); s.settimeout(20)
    c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    c.initiate_connection()
    for i, p in enumerate(paths):
        c.send_headers(1 + 2 * i, [(":method", "GET"), (":path", p), (":scheme", "http"), (":authority", "x")], end_stream=True)
    s.sendall(c.data_to_send())
    seen = []
    try:
        while True:
            d = s.recv(65535)
            if not d:
                seen.append(["closed"]); break
            for e in c.receive_data(d):
                if isinstance(e, h2.events.InformationalResponseReceived):
                    seen.append(["informational", e.stream_id, dict(e.headers)[b":status"].decode()])
                elif isinstance(e, h2.events.ResponseReceived):
                    seen.append(["response", e.stream_id, dict(e.headers)[b":status"].decode()])
                elif isinstance(e, h2.events.StreamReset):
                    seen.append(["reset", e.stream_id, int(e.error_code)])
                elif isinstance(e, h2.events.ConnectionTerminated):
                    seen.append(["goaway", int(e.error_code)])
                elif isinstance(e, h2.events.StreamEnded):
                    seen.append(["ended", e.stream_id])
            s.sendall(c.data_to_send())
            if last is not None and last in seen:
                if quiet is None:
                    break
                s.settimeout(quiet); last = None
    except socket.timeout:
        seen.append(["quiet"])
    except Exception as e:
        seen.append(["error", type(e).__name__])
    s.close()
    return seen
out["hints"] = frames(["/hints"], last=["ended", 1])
out["reset"] = frames(["/reset"], last=["reset", 1, 2])
out["empty"] = frames(["/empty"])
out["silent"] = frames(["/silent", "/hello"], last=["ended", 3], quiet=1.5)
print(json.dumps(out))
"#;

#[test]
fn python_httpx_and_h2_see_the_contract_frames() {
    let Some(python) = h2_python() else {
        eprintln!("skipped: httpx/h2 not installed (.ci/h2-tools.sh)");
        return;
    };
    // Arrange
    let (dir, plain) = server();
    let cert = dir.outside().join("cert.pem");
    let mut cmd = crate::util::serve_command(dir.path());
    cmd.args([
        OsStr::new("--tls-self-signed"),
        OsStr::new("--tls-cert-out"),
        cert.as_os_str(),
    ]);
    let tls = Server::spawn(cmd);

    // Act
    let out = run(Command::new(python)
        .args(["-c", PY_CLIENTS])
        .arg(plain.addr.port().to_string())
        .arg(tls.addr.port().to_string())
        .arg(&cert));

    // Assert
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        got["h2c"],
        json!(["HTTP/2", 200, "hi", ["one", "two"]]),
        "{got:#}"
    );
    assert_eq!(got["tls"], json!(["HTTP/2", 200, "hi"]), "{got:#}");
    let hints = got["hints"].as_array().expect("list");
    assert_eq!(hints[0], json!(["informational", 1, "103"]), "{got:#}");
    assert_eq!(hints[1], json!(["response", 1, "200"]), "{got:#}");
    assert_eq!(
        got["reset"][0],
        json!(["reset", 1, 2]),
        "RST_STREAM INTERNAL_ERROR: {got:#}"
    );
    assert_eq!(
        got["empty"],
        json!([["goaway", 0], ["closed"]]),
        "GOAWAY, then a FIN and no reset, though the client still writes: {got:#}"
    );
    let silent = got["silent"].as_array().expect("list");
    assert!(silent.contains(&json!(["response", 3, "200"])), "{got:#}");
    assert!(silent.contains(&json!(["ended", 3])), "{got:#}");
    assert!(
        !silent.iter().any(|e| e[1] == 1),
        "stream 1 stays silent: {got:#}"
    );
    assert_eq!(silent.last(), Some(&json!(["quiet"])), "{got:#}");
}

// ----- hostile clients -----

/// The server's resident memory after a few answers on both protocols.
async fn baseline_rss(server: &Server) -> u64 {
    for _ in 0..10 {
        assert_serves(server).await;
    }
    server.rss_kib()
}

/// How far above its baseline the server's memory may be after an attack.
const RSS_MARGIN_KIB: u64 = 64 * 1024;

fn assert_rss_bounded(server: &Server, baseline: u64) {
    let ok = wait_until(HANG_GUARD, Duration::from_millis(100), || {
        server.rss_kib() <= baseline + RSS_MARGIN_KIB
    });
    assert!(ok, "RSS {} KiB, baseline {baseline} KiB", server.rss_kib());
}

#[tokio::test]
async fn rapid_reset_does_not_stop_others_being_served_and_memory_stays_bounded() {
    // Arrange
    let (_dir, server) = server();
    let baseline = baseline_rss(&server).await;

    // Act: the CVE-2023-44487 pattern, HEADERS then RST_STREAM at once, many times over on
    // a few connections.
    for _ in 0..4 {
        let send = connect_h2(server.addr).await;
        for _ in 0..2_000 {
            let Ok(mut ready) = send.clone().ready().await else {
                break; // the server ended the connection (GOAWAY): fine
            };
            let Ok((_, mut stream)) = ready.send_request(request("GET", "/silent"), true) else {
                break;
            };
            stream.send_reset(Reason::CANCEL);
        }
        assert_serves(&server).await;
    }

    // Assert
    assert_serves(&server).await;
    assert_rss_bounded(&server, baseline);
}

/// A frame header: length, type, flags, stream id.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend_from_slice(&[kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A raw client: the preface and empty SETTINGS, then `attack`; reads what the server sends
/// until it closes (or 5 seconds pass) and returns it.
async fn raw_h2(addr: SocketAddr, attack: Vec<u8>) -> Vec<u8> {
    raw_h2_for(addr, attack, Duration::from_secs(5)).await
}

/// Like [`raw_h2`], reading for at most `wait`.
async fn raw_h2_for(addr: SocketAddr, attack: Vec<u8>, wait: Duration) -> Vec<u8> {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut hello = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    hello.extend(frame(4, 0, 0, &[]));
    tcp.write_all(&hello).await.expect("preface");
    let (mut rd, mut wr) = tcp.into_split();
    let writer = tokio::spawn(async move {
        for part in attack.chunks(16 * 1024) {
            if wr.write_all(part).await.is_err() {
                break;
            }
        }
        wr
    });
    let mut got = Vec::new();
    let _ = tokio::time::timeout(wait, read_into(&mut rd, &mut got)).await;
    drop(writer);
    got
}

/// Reads into `got` until the end of the stream (kept when the caller's timeout cuts it).
async fn read_into(rd: &mut tokio::net::tcp::OwnedReadHalf, got: &mut Vec<u8>) {
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = rd.read(&mut buf).await {
        if n == 0 {
            return;
        }
        got.extend_from_slice(&buf[..n]);
    }
}

/// Whether `bytes` (server frames after its preface) hold a GOAWAY frame.
fn has_goaway(bytes: &[u8]) -> bool {
    frames_of(bytes).any(|(kind, _, _)| kind == 7)
}

#[tokio::test]
async fn a_continuation_flood_ends_that_connection_only() {
    // Arrange
    let (_dir, server) = server();
    let baseline = baseline_rss(&server).await;
    // HEADERS without END_HEADERS (a literal header, then endless CONTINUATION frames).
    let mut attack = frame(1, 0x1, 1, &[0x82, 0x86, 0x84]);
    for _ in 0..20_000 {
        attack.extend(frame(9, 0, 1, &[b'a'; 64]));
    }

    // Act
    let got = raw_h2(server.addr, attack).await;

    // Assert
    assert!(
        has_goaway(&got),
        "the server ends the connection with GOAWAY: {} bytes",
        got.len()
    );
    assert_serves(&server).await;
    assert_rss_bounded(&server, baseline);
}

#[tokio::test]
async fn many_idle_streams_past_256_are_refused_and_others_are_served() {
    // Arrange
    let (_dir, server) = server();
    let baseline = baseline_rss(&server).await;
    // 300 streams opened at once whose bodies never come (GET / without END_STREAM), after
    // acknowledging the server's SETTINGS (the limit holds from then on).
    let mut attack = frame(4, 0x1, 0, &[]);
    for i in 0..300u32 {
        attack.extend(frame(1, 0x4, 1 + 2 * i, &[0x82, 0x86, 0x84]));
    }

    // Act
    let got = raw_h2_for(server.addr, attack, Duration::from_secs(2)).await;

    // Assert
    let refused = frames_of(&got)
        .filter(|(kind, _, payload)| *kind == 3 && payload[..] == [0, 0, 0, 7])
        .count();
    assert_eq!(
        refused,
        300 - 256,
        "streams past 256 get RST_STREAM (REFUSED_STREAM)"
    );
    assert_serves(&server).await;
    assert_rss_bounded(&server, baseline);
}

/// The frames in `bytes` (server frames after its preface): type, stream id, payload.
fn frames_of(mut bytes: &[u8]) -> impl Iterator<Item = (u8, u32, Vec<u8>)> + '_ {
    std::iter::from_fn(move || {
        if bytes.len() < 9 {
            return None;
        }
        let len = u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]) as usize;
        let kind = bytes[3];
        let stream = u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & 0x7fff_ffff;
        let end = (9 + len).min(bytes.len());
        let payload = bytes[9..end].to_vec();
        bytes = &bytes[end..];
        Some((kind, stream, payload))
    })
}

#[tokio::test]
async fn oversized_header_lists_are_refused_and_others_are_served() {
    // Arrange
    let (_dir, server) = server();
    let send = connect_h2(server.addr).await;

    // Act: 20 requests of ~200 KiB header lists
    let mut outcomes = Vec::new();
    for _ in 0..20 {
        let mut big = request("GET", "/hello");
        for i in 0..50 {
            big.headers_mut().insert(
                http::HeaderName::from_bytes(format!("x-big-{i}").as_bytes()).expect("name"),
                http::HeaderValue::from_str(&"b".repeat(4000)).expect("value"),
            );
        }
        let got = tokio::time::timeout(HANG_GUARD, exchange(&send, big, None))
            .await
            .expect("ended");
        outcomes.push(got.map(|(parts, _)| parts.status.as_u16()));
    }

    // Assert
    for got in &outcomes {
        match got {
            Ok(status) => assert_eq!(*status, 431),
            Err(err) => assert!(err.is_reset() || err.is_go_away() || err.is_io(), "{err:?}"),
        }
    }
    assert_serves(&server).await;
}

#[tokio::test]
async fn an_idle_connection_gets_goaway_and_is_closed() {
    // Arrange
    let (_dir, server) = server();

    // Act: the preface and a SETTINGS ack, then nothing (the idle time is 5 s)
    let started = std::time::Instant::now();
    let got = raw_h2_for(server.addr, frame(4, 0x1, 0, &[]), Duration::from_secs(15)).await;

    // Assert
    assert!(has_goaway(&got), "GOAWAY before the close: {got:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the server closed the connection"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_on_its_stream_only() {
    // Arrange
    let (_dir, server) = server_with(&["--max-body-bytes", "16"]);
    let send = connect_h2(server.addr).await;

    // Act
    let big = tokio::time::timeout(
        HANG_GUARD,
        exchange(&send, request("POST", "/echo"), Some(&[b'x'; 100])),
    )
    .await
    .expect("ended");
    let after = get(&send, "/hello").await;

    // Assert
    let (parts, _) = big.expect("an answer");
    assert_eq!(parts.status, 413);
    assert_eq!(after.expect("same connection").0.status, 200);
}
