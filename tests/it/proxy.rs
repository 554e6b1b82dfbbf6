//! Proxy answers: requests forwarded to a real upstream on loopback (a raw one that records
//! what it got, or a second understudy), hop-by-hop headers, `X-Forwarded-*`, `stripPrefix`,
//! `502`/`504`, a large body streamed through, the journal flag, WireMock's `proxyBaseUrl`,
//! `https://` upstreams, and the load errors of a bad `proxy`.

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::util::{Scenarios, Server, client, entries, get, journal, stdout_of, validate};

/// A one-shot raw upstream: accepts one connection, reads one request (head and
/// `Content-Length` body), answers `reply` and closes; the request it got comes back lower-cased
/// in its head.
async fn raw_upstream(reply: impl Into<Vec<u8>>) -> (u16, tokio::task::JoinHandle<String>) {
    let reply: Vec<u8> = reply.into();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let task = tokio::spawn(async move {
        let (mut sock, _) = listener.accept().await.expect("accept");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = sock.read(&mut buf).await.expect("read");
            got.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&got).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let len = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().expect("length"))
                    })
                    .unwrap_or(0);
                if got.len() >= end + 4 + len {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        sock.write_all(&reply).await.expect("write");
        sock.shutdown().await.ok();
        String::from_utf8_lossy(&got).into_owned()
    });
    (port, task)
}

/// A raw HTTP/1.1 exchange with understudy, read to the close.
async fn raw_exchange(server: &Server, request: &str) -> String {
    let mut sock = TcpStream::connect(server.addr).await.expect("connect");
    sock.write_all(request.as_bytes()).await.expect("write");
    let mut out = Vec::new();
    sock.read_to_end(&mut out).await.expect("read");
    String::from_utf8_lossy(&out).into_owned()
}

fn proxy_route(path: &str, proxy: Value) -> Value {
    json!({ "routes": [ { "request": { "path": path }, "response": { "proxy": proxy } } ] })
}

fn header_lines(head: &str) -> Vec<String> {
    head.split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .lines()
        .skip(1)
        .map(|l| l.to_ascii_lowercase())
        .collect()
}

#[tokio::test]
async fn forwards_method_path_query_headers_and_body_without_hop_by_hop_headers() {
    // Arrange
    let (port, upstream) = raw_upstream(
        "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nConnection: close, x-up-hop\r\n\
         X-Up-Hop: 1\r\nKeep-Alive: timeout=1\r\nX-Up: kept\r\nContent-Length: 4\r\n\r\ndone",
    )
    .await;
    let dir = Scenarios::new();
    dir.write_json(
        "proxy.json",
        &proxy_route(
            "/api/.*",
            json!({ "to": format!("http://127.0.0.1:{port}"), "stripPrefix": "/api",
                    "addHeaders": { "x-added": "yes" }, "removeHeaders": ["X-Drop"] }),
        ),
    );
    let server = Server::start(dir.path());

    // Act
    let answer = raw_exchange(
        &server,
        "POST /api/items?a=1&b=two HTTP/1.1\r\nHost: front.example\r\n\
         Connection: close, x-private\r\nX-Private: secret\r\nKeep-Alive: timeout=5\r\n\
         TE: trailers\r\nProxy-Authorization: Basic abc\r\nX-Forwarded-For: 10.0.0.1\r\n\
         X-Drop: 1\r\nX-Kept: 1\r\nContent-Length: 5\r\n\r\nhello",
    )
    .await;
    let got = upstream.await.expect("upstream");

    // Assert: what the upstream got.
    assert!(
        got.starts_with("POST /items?a=1&b=two HTTP/1.1\r\n"),
        "{got}"
    );
    let lines = header_lines(&got);
    let has = |line: &str| lines.iter().any(|l| l == line);
    let named = |name: &str| lines.iter().any(|l| l.starts_with(&format!("{name}:")));
    assert!(has(&format!("host: 127.0.0.1:{port}")), "{got}");
    assert!(has("x-forwarded-for: 10.0.0.1, 127.0.0.1"), "{got}");
    assert!(has("x-forwarded-proto: http"), "{got}");
    assert!(has("x-forwarded-host: front.example"), "{got}");
    assert!(has("x-added: yes") && has("x-kept: 1"), "{got}");
    for gone in [
        "x-private",
        "keep-alive",
        "te",
        "proxy-authorization",
        "x-drop",
        "transfer-encoding",
    ] {
        assert!(!named(gone), "{gone} was forwarded: {got}");
    }
    assert!(got.ends_with("\r\n\r\nhello"), "{got}");

    // Assert: what the client got.
    assert!(answer.starts_with("HTTP/1.1 201 Created\r\n"), "{answer}");
    let lines = header_lines(&answer);
    assert!(lines.iter().any(|l| l == "x-up: kept"), "{answer}");
    assert!(lines.iter().any(|l| l == "content-length: 4"), "{answer}");
    assert!(
        !lines.iter().any(|l| l.starts_with("x-up-hop:")),
        "{answer}"
    );
    assert!(
        !lines.iter().any(|l| l.starts_with("keep-alive:")),
        "{answer}"
    );
    assert!(answer.ends_with("\r\n\r\ndone"), "{answer}");
}

#[tokio::test]
async fn a_chunked_gzip_answer_comes_back_byte_for_byte() {
    // Arrange: binary bytes labelled gzip, sent chunked (no Content-Length).
    let body: Vec<u8> = (0..5000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
        Content-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    for part in body.chunks(1500) {
        reply.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        reply.extend_from_slice(part);
        reply.extend_from_slice(b"\r\n");
    }
    reply.extend_from_slice(b"0\r\n\r\n");
    let (port, upstream) = raw_upstream(reply).await;
    let dir = Scenarios::new();
    dir.write_json(
        "proxy.json",
        &proxy_route("/data", json!({ "to": format!("http://127.0.0.1:{port}") })),
    );
    let server = Server::start(dir.path());

    // Act
    let resp = client()
        .get(server.url("/data"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("get");
    let status = resp.status().as_u16();
    let encoding = resp.headers().get("content-encoding").cloned();
    let got = resp.bytes().await.expect("body");
    let request = upstream.await.expect("upstream");

    // Assert: the encoding went up as sent and the body came back untouched.
    assert!(
        header_lines(&request)
            .iter()
            .any(|l| l == "accept-encoding: gzip"),
        "{request}"
    );
    assert_eq!(status, 200);
    assert_eq!(encoding.as_ref().map(|v| v.as_bytes()), Some(&b"gzip"[..]));
    assert!(got[..] == body[..], "body differs: {} bytes", got.len());
}

#[tokio::test]
async fn answers_come_from_an_understudy_upstream_and_the_journal_marks_them() {
    // Arrange: the upstream, with a 20 MB body, a POST that echoes and a base path.
    let big: Vec<u8> = (0..20 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let up_dir = Scenarios::new();
    up_dir.write_bytes("big.bin", &big);
    up_dir.write_json(
        "up.json",
        &json!({ "routes": [
            { "request": { "path": "/base/big" }, "response": { "status": 200, "file": "big.bin" } },
            { "request": { "method": "POST", "path": "/base/echo", "query": { "q": "1" } },
              "response": { "status": 202, "template": true,
                            "body": "{{ request.method }} {{ request.body }}" } }
        ] }),
    );
    let upstream = Server::start(up_dir.path());
    let dir = Scenarios::new();
    dir.write_json(
        "front.json",
        &json!({ "routes": [
            { "id": "local", "request": { "path": "/local" }, "response": { "status": 200, "body": "here" } },
            { "id": "rest", "priority": -1, "request": {},
              "response": { "proxy": { "to": upstream.url("/base/") } } }
        ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let post = client()
        .post(server.url("/echo?q=1"))
        .body("payload")
        .send()
        .await
        .expect("post");
    let post = (post.status().as_u16(), post.text().await.expect("text"));
    let big_resp = client().get(server.url("/big")).send().await.expect("get");
    let big_status = big_resp.status().as_u16();
    let big_len = big_resp.content_length();
    let body = big_resp.bytes().await.expect("big body");
    let local = get(server.url("/local")).await;

    // Assert
    assert_eq!(post, (202, "POST payload".to_owned()));
    assert_eq!((big_status, big_len), (200, Some(big.len() as u64)));
    assert!(body[..] == big[..], "20 MB body differs");
    assert_eq!(local, (200, "here".to_owned()));
    let answer = journal(&server, "").await;
    let list = entries(&answer);
    assert_eq!(list.len(), 3, "{answer:#}");
    assert_eq!(list[0]["proxied"], true);
    assert_eq!(list[0]["status"], 202);
    assert!(list[0]["upstreamMs"].as_f64().is_some(), "{:#}", list[0]);
    assert_eq!(list[1]["proxied"], true);
    assert!(list[2].get("proxied").is_none(), "{:#}", list[2]);
    assert!(list[2].get("upstreamMs").is_none(), "{:#}", list[2]);
}

#[tokio::test]
async fn an_unreachable_upstream_is_502_and_a_slow_one_504() {
    // Arrange
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let up_dir = Scenarios::new();
    up_dir.write_json(
        "slow.json",
        &json!({ "routes": [ { "request": { "path": "/slow" },
                               "response": { "status": 200, "delayMs": 3000, "body": "late" } } ] }),
    );
    let upstream = Server::start(up_dir.path());
    let dir = Scenarios::new();
    dir.write_json(
        "front.json",
        &json!({ "routes": [
            { "request": { "path": "/dead" },
              "response": { "proxy": { "to": format!("http://127.0.0.1:{closed_port}") } } },
            { "request": { "path": "/slow" },
              "response": { "proxy": { "to": upstream.url(""), "timeoutMs": 300 } } }
        ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let dead = client()
        .get(server.url("/dead"))
        .send()
        .await
        .expect("dead");
    let dead = (
        dead.status().as_u16(),
        dead.json::<Value>().await.expect("json"),
    );
    let started = std::time::Instant::now();
    let slow = client()
        .get(server.url("/slow"))
        .send()
        .await
        .expect("slow");
    let waited = started.elapsed();
    let slow = (
        slow.status().as_u16(),
        slow.json::<Value>().await.expect("json"),
    );

    // Assert
    assert_eq!(dead.0, 502, "{:#}", dead.1);
    let reason = dead.1["error"]
        .as_str()
        .expect("error")
        .to_ascii_lowercase();
    assert!(
        reason.contains(&format!("127.0.0.1:{closed_port}")),
        "{reason}"
    );
    assert!(
        reason.contains("refused") || reason.contains("connect"),
        "{reason}"
    );
    assert_eq!(slow.0, 504, "{:#}", slow.1);
    assert!(
        slow.1["error"]
            .as_str()
            .expect("error")
            .contains("timeoutMs")
    );
    assert!(
        waited < std::time::Duration::from_millis(2500),
        "{waited:?}"
    );
    let answer = journal(&server, "").await;
    assert!(
        entries(&answer)
            .iter()
            .all(|e| e["proxied"] == true && e.get("upstreamMs").is_none()),
        "{answer:#}"
    );
}

#[tokio::test]
async fn wiremock_proxy_base_url_stubs_forward() {
    // Arrange
    let up_dir = Scenarios::new();
    up_dir.write_json(
        "up.json",
        &json!({ "routes": [ { "request": { "path": "/hello", "headers": { "x-wm": "1" } },
                               "response": { "status": 200, "body": "hi from upstream" } } ] }),
    );
    let upstream = Server::start(up_dir.path());
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/proxy.json",
        &json!({ "request": { "urlPathPattern": "/wm/.*" },
                 "response": { "proxyBaseUrl": upstream.url(""), "proxyUrlPrefixToRemove": "/wm",
                               "additionalProxyRequestHeaders": { "x-wm": "1" } } }),
    );
    let server = Server::start(dir.path());

    // Act and assert
    assert_eq!(
        get(server.url("/wm/hello")).await,
        (200, "hi from upstream".to_owned())
    );
}

#[test]
fn a_bad_proxy_is_a_load_error() {
    let dir = Scenarios::new();
    let cases = [
        (
            json!({ "proxy": { "to": "localhost:8080" } }),
            "routes[0].response.proxy.to",
        ),
        (
            json!({ "proxy": { "to": "http://user:secret@example.com" } }),
            "routes[0].response.proxy.to",
        ),
        (
            json!({ "proxy": { "to": "ftp://example.com" } }),
            "routes[0].response.proxy.to",
        ),
        (
            json!({ "status": 200, "proxy": { "to": "http://127.0.0.1:1" } }),
            "routes[0].response.status",
        ),
        (
            json!({ "body": "x", "proxy": { "to": "http://127.0.0.1:1" } }),
            "routes[0].response.body",
        ),
        (json!({ "body": "no status" }), "routes[0].response"),
    ];
    for (i, (response, at)) in cases.into_iter().enumerate() {
        let file = dir.write_json(
            &format!("bad{i}.json"),
            &json!({ "routes": [ { "request": { "path": "/x" }, "response": response } ] }),
        );
        let out = validate(&file);
        let text = format!(
            "{}{}",
            stdout_of(&out),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.status.success(), "case {i} loads: {text}");
        assert!(text.contains(&format!("at {at}:")), "case {i}: {text}");
    }
}

#[tokio::test]
async fn https_upstreams_are_checked_against_the_system_trust_store() {
    // Arrange: a self-signed upstream, and two front servers: one trusting its certificate
    // through `SSL_CERT_FILE` (read with the system trust store), one not.
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
    dir.write_json(
        "front.json",
        &proxy_route(
            "/secure",
            json!({ "to": format!("https://localhost:{}", upstream.addr.port()) }),
        ),
    );
    let trusting = Server::spawn({
        let mut cmd = crate::util::serve_command(dir.path());
        cmd.env("SSL_CERT_FILE", &cert).env_remove("SSL_CERT_DIR");
        cmd
    });
    let untrusting = Server::spawn({
        let mut cmd = crate::util::serve_command(dir.path());
        cmd.env_remove("SSL_CERT_FILE").env_remove("SSL_CERT_DIR");
        cmd
    });

    // Act
    let trusted = get(trusting.url("/secure")).await;
    let refused = client()
        .get(untrusting.url("/secure"))
        .send()
        .await
        .expect("get");
    let refused = (
        refused.status().as_u16(),
        refused.json::<Value>().await.expect("json"),
    );

    // Assert
    assert_eq!(trusted, (200, "tls ok".to_owned()));
    assert_eq!(refused.0, 502, "{:#}", refused.1);
    let reason = refused.1["error"]
        .as_str()
        .expect("error")
        .to_ascii_lowercase();
    assert!(reason.contains("certificate"), "{reason}");
}

/// An upstream that counts the body of each request it gets (`Content-Length` or chunked)
/// without keeping it, and answers `got N`.
async fn counting_upstream() -> u16 {
    use tokio::io::{AsyncBufReadExt, BufReader};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut sock = BufReader::new(sock);
                loop {
                    let mut head = Vec::new();
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if sock.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if line == "\r\n" {
                            break;
                        }
                        head.push(line.to_ascii_lowercase());
                    }
                    let length = head.iter().find_map(|l| {
                        l.strip_prefix("content-length:")
                            .and_then(|v| v.trim().parse::<u64>().ok())
                    });
                    let chunked = head.iter().any(|l| l.contains("chunked"));
                    let mut count: u64 = 0;
                    let mut buf = vec![0u8; 64 * 1024];
                    if let Some(len) = length {
                        let mut left = len;
                        while left > 0 {
                            let want = usize::try_from(left.min(buf.len() as u64)).expect("size");
                            let n = sock.read(&mut buf[..want]).await.expect("read body");
                            assert!(n > 0, "body ended early");
                            left -= n as u64;
                            count += n as u64;
                        }
                    } else if chunked {
                        loop {
                            line.clear();
                            sock.read_line(&mut line).await.expect("chunk size");
                            let size = u64::from_str_radix(line.trim(), 16).expect("hex size");
                            let mut left = size + 2;
                            while left > 0 {
                                let want =
                                    usize::try_from(left.min(buf.len() as u64)).expect("size");
                                let n = sock.read(&mut buf[..want]).await.expect("read chunk");
                                assert!(n > 0, "chunk ended early");
                                left -= n as u64;
                            }
                            if size == 0 {
                                break;
                            }
                            count += size;
                        }
                    }
                    let body = format!("got {count}");
                    let reply = format!(
                        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    if sock.get_mut().write_all(reply.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test]
async fn a_large_upload_is_streamed_upstream_past_the_body_limit() {
    // Arrange: a 1 MiB body limit, a proxy route chosen on the head, and one that matches on
    // the body (which must still be read, so the limit holds there).
    let port = counting_upstream().await;
    let to = format!("http://127.0.0.1:{port}");
    let dir = Scenarios::new();
    dir.write_json(
        "proxy.json",
        &json!({ "routes": [
            { "request": { "path": "/matched", "json": { "kind": "x" } },
              "response": { "proxy": { "to": to } } },
            { "request": { "path": "/upload" }, "response": { "proxy": { "to": to } } }
        ]}),
    );
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "1048576"]);
    let http = client();
    let big = vec![b'u'; 24 * 1024 * 1024];

    // Act and assert: a sized upload, 24 times the limit, arrives whole.
    let resp = http
        .post(server.url("/upload"))
        .body(big.clone())
        .send()
        .await
        .expect("sized upload");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.text().await.expect("body"),
        format!("got {}", big.len())
    );

    // A chunked one too (no Content-Length: the stream is sent on chunked).
    let mut sock = TcpStream::connect(server.addr).await.expect("connect");
    sock.write_all(
        b"PUT /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    .await
    .expect("head");
    let chunk = vec![b'c'; 128 * 1024];
    for _ in 0..64 {
        sock.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
            .await
            .expect("size");
        sock.write_all(&chunk).await.expect("chunk");
        sock.write_all(b"\r\n").await.expect("crlf");
    }
    sock.write_all(b"0\r\n\r\n").await.expect("last chunk");
    let mut answer = Vec::new();
    sock.read_to_end(&mut answer).await.expect("answer");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(
        answer.ends_with(&format!("got {}", 64 * 128 * 1024)),
        "{answer}"
    );

    // A route that matches on the body reads it, within the limit.
    let resp = http
        .post(server.url("/matched"))
        .body(big)
        .send()
        .await
        .expect("over-limit upload");
    assert_eq!(resp.status(), 413);
    let small = http
        .post(server.url("/matched"))
        .json(&json!({ "kind": "x" }))
        .send()
        .await
        .expect("small upload");
    assert_eq!(small.status(), 200);
    assert_eq!(small.text().await.expect("body"), "got 12");
}

/// An upstream that answers one request per connection, then keeps the connection open a
/// moment without reading and closes it: as an HTTP/1.0 server (`HTTP/1.0`, no keep-alive) or
/// as an HTTP/1.1 one closing an idle connection it had not announced closing. The count of
/// connections it accepted comes back through the returned counter.
async fn one_answer_per_connection(
    version: &'static str,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = std::sync::Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 1024];
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(k) => got.extend_from_slice(&buf[..k]),
                    }
                }
                let body = format!("answer {n}");
                let reply = format!(
                    "{version} 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
                tokio::time::sleep(std::time::Duration::from_millis(400)).await;
            });
        }
    });
    (port, accepted)
}

#[tokio::test]
async fn upstreams_that_close_after_each_answer_are_never_answered_502() {
    // Arrange: an HTTP/1.0 upstream and an HTTP/1.1 one that closes without saying so.
    let (old, old_accepted) = one_answer_per_connection("HTTP/1.0").await;
    let (closing, closing_accepted) = one_answer_per_connection("HTTP/1.1").await;
    let dir = Scenarios::new();
    dir.write_json(
        "proxy.json",
        &json!({ "routes": [
            { "request": { "path": "/old/.*" },
              "response": { "proxy": { "to": format!("http://127.0.0.1:{old}"), "stripPrefix": "/old" } } },
            { "request": { "path": "/closing/.*" },
              "response": { "proxy": { "to": format!("http://127.0.0.1:{closing}"), "stripPrefix": "/closing" } } },
        ]}),
    );
    // One worker: one upstream connection pool.
    let server = Server::start_with(dir.path(), &["--workers", "1"]);

    // Act: requests one after the other, each sent while the connection of the one before
    // is still open upstream (it closes 400 ms after its answer, unread).
    let mut old_answers = Vec::new();
    let mut closing_answers = Vec::new();
    for _ in 0..3 {
        old_answers.push(get(server.url("/old/x")).await);
        closing_answers.push(get(server.url("/closing/x")).await);
    }
    let post = client()
        .post(server.url("/closing/x"))
        .body("not idempotent")
        .send()
        .await
        .expect("post");
    let post_status = post.status().as_u16();

    // Assert: the HTTP/1.0 upstream's connections are never reused, so each request has its
    // own; the HTTP/1.1 upstream's dead connection is found out and a GET is sent again on a
    // new one. A POST is not sent twice: it is answered 502.
    let expected: Vec<(u16, String)> = (1..=3).map(|n| (200, format!("answer {n}"))).collect();
    assert_eq!(old_answers, expected);
    assert_eq!(old_accepted.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(closing_answers, expected);
    assert_eq!(
        closing_accepted.load(std::sync::atomic::Ordering::SeqCst),
        3
    );
    assert_eq!(post_status, 502);
}

/// A listener on loopback whose accept queue is full and never drained: a connect to it
/// hangs (its SYNs are dropped). The connections that filled it are kept open with it.
fn blackhole() -> (socket2::Socket, Vec<std::net::TcpStream>, u16) {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    let addr: std::net::SocketAddr = "127.0.0.1:0".parse().expect("addr");
    socket.bind(&addr.into()).expect("bind");
    socket.listen(0).expect("listen");
    let port = socket
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("ip")
        .port();
    let target: std::net::SocketAddr = ([127, 0, 0, 1], port).into();
    let mut filled = Vec::new();
    for _ in 0..64 {
        match std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(300)) {
            Ok(conn) => filled.push(conn),
            Err(_) => return (socket, filled, port),
        }
    }
    panic!("the backlog of 127.0.0.1:{port} never filled");
}

#[tokio::test]
async fn a_connect_that_hangs_is_504_after_timeout_ms_whatever_its_value() {
    // Arrange: connects to the upstream hang; one route gives up sooner than awc's own 5 s
    // connect timeout, one later.
    let (_listener, _filled, port) = blackhole();
    let dir = Scenarios::new();
    let to = format!("http://127.0.0.1:{port}");
    dir.write_json(
        "front.json",
        &json!({ "routes": [
            { "request": { "path": "/short" },
              "response": { "proxy": { "to": to, "timeoutMs": 300 } } },
            { "request": { "path": "/long" },
              "response": { "proxy": { "to": to, "timeoutMs": 6500 } } }
        ] }),
    );
    let server = Server::start(dir.path());

    // Act
    let mut answers = Vec::new();
    for path in ["/short", "/long"] {
        let started = std::time::Instant::now();
        let response = client().get(server.url(path)).send().await.expect(path);
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.expect("json");
        answers.push((status, body, started.elapsed()));
    }

    // Assert
    let (status, body, waited) = &answers[0];
    assert_eq!(*status, 504, "{body:#}");
    assert!(
        body["error"].as_str().expect("error").contains("timeoutMs"),
        "{body:#}"
    );
    assert!(
        *waited < std::time::Duration::from_millis(1500),
        "{waited:?}"
    );
    let (status, body, waited) = &answers[1];
    assert_eq!(*status, 504, "{body:#}");
    assert!(
        *waited >= std::time::Duration::from_millis(6400)
            && *waited < std::time::Duration::from_millis(9000),
        "{waited:?}"
    );
}
