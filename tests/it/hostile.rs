//! Hostile clients against the real server, and the limits that hold them: slowloris heads,
//! oversized heads and targets, oversized bodies, malformed requests, pipelining, thousands of
//! idle connections, abrupt resets, WebSocket message size and template fuel.
//!
//! Every attack is bounded in time and count, and is followed by a normal request that must
//! still be answered. Memory checks read the server's `VmRSS` and open descriptors from
//! `/proc` and allow a generous margin; nothing here asserts a timing.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::json;

use crate::util::{
    HANG_GUARD, Scenarios, Server, connect, entries, get_request, head_end, journal_raw, next_msg,
    parse_raw, raw, read_to_close_or_reset, wait_until, ws_connect,
};

/// How far above its baseline the server's memory may stay after an attack is over. The
/// allocator keeps freed memory for reuse, so RSS settles above the baseline (about 40 MiB
/// after rounds of 2,000 idle connections, flat from then on); a leak keeps growing.
const RSS_MARGIN_KIB: u64 = 64 * 1024;

/// A scenarios dir with `GET /hello` → `hi`, `/echo?n=` templated, a dribbled large body
/// and a WebSocket echo.
fn scenarios() -> Scenarios {
    let dir = Scenarios::new();
    dir.write_json(
        "hostile.json",
        &json!({
            "routes": [
                { "id": "hello", "request": { "method": "GET", "path": "/hello" },
                  "response": { "status": 200, "body": "hi" } },
                { "id": "echo", "request": { "path": "/echo" },
                  "response": { "status": 200, "template": true, "body": "n={{ request.query.n }}" } },
                { "id": "upload", "request": { "method": "POST", "path": "/upload" },
                  "response": { "status": 201, "body": "stored" } },
                { "id": "slow", "request": { "path": "/slow" },
                  "response": { "status": 200, "body": "x".repeat(200_000),
                                "chunks": { "size": 1000, "intervalMs": 5 } } },
                { "id": "ws", "request": { "path": "/ws" },
                  "response": { "status": 101, "websocket": { "echo": true } } },
                { "id": "spin", "request": { "path": "/spin" },
                  "response": { "status": 200, "template": true,
                                "body": "{% for i in range(20000) %}x{% endfor %}" } }
            ]
        }),
    );
    dir
}

/// A normal request must still be answered.
fn assert_serves(server: &Server) {
    let resp = server.raw(&get_request("/hello"));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK", "{resp:?}");
    assert_eq!(resp.body, b"hi");
}

/// Warms the server up (one of each request kind) and returns its resident memory.
fn baseline_rss(server: &Server) -> u64 {
    for _ in 0..20 {
        assert_serves(server);
    }
    let _ = server.raw(&get_request("/slow"));
    server.rss_kib()
}

/// Waits until the server is back within the margin of its baseline memory and, when given,
/// its baseline descriptor count; panics with the numbers otherwise.
fn assert_back_to_baseline(server: &Server, rss: u64, fds: Option<usize>) {
    let ok = wait_until(HANG_GUARD, Duration::from_millis(100), || {
        server.rss_kib() <= rss + RSS_MARGIN_KIB && fds.is_none_or(|f| server.open_fds() <= f + 2)
    });
    assert!(
        ok,
        "server did not return to baseline: RSS {} KiB (baseline {rss} KiB), fds {} (baseline {fds:?})",
        server.rss_kib(),
        server.open_fds()
    );
}

/// Sends `bytes` one at a time, `gap` apart, until the server closes the connection; returns
/// how many bytes went out and what the server sent. Panics if the whole head went out.
fn dribble(stream: &mut TcpStream, bytes: &[u8], gap: Duration) -> (usize, Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_millis(1)))
        .expect("timeout");
    let mut got = Vec::new();
    for (sent, byte) in bytes.iter().enumerate() {
        if stream.write_all(&[*byte]).is_err() {
            return (sent, got);
        }
        std::thread::sleep(gap);
        let mut buf = [0u8; 1024];
        match stream.read(&mut buf) {
            Ok(0) => return (sent + 1, got),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return (sent + 1, got),
        }
    }
    panic!(
        "the server never cut off a head sent one byte per {gap:?}; it sent {:?}",
        String::from_utf8_lossy(&got)
    );
}

#[test]
fn slowloris_heads_are_timed_out_while_others_are_served() {
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--header-timeout-ms", "1500"]);
    // A head that would take about 30 s at this pace; the server gives it 1.5 s.
    let head = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
        "a".repeat(80)
    );
    let gap = Duration::from_millis(250);

    // On a fresh connection, and on a keep-alive connection after one honest request (where
    // actix-http's own head timer no longer runs).
    let attackers: Vec<_> = [false, true]
        .into_iter()
        .map(|honest_first| {
            let addr = server.addr;
            let head = head.clone();
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                if honest_first {
                    stream
                        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                        .expect("write");
                    let mut buf = [0u8; 1024];
                    let n = stream.read(&mut buf).expect("first answer");
                    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
                }
                dribble(&mut stream, head.as_bytes(), gap)
            })
        })
        .collect();

    // Meanwhile, normal clients are served.
    for _ in 0..5 {
        assert_serves(&server);
        std::thread::sleep(Duration::from_millis(100));
    }
    for attacker in attackers {
        let (sent, got) = attacker.join().expect("attacker thread");
        assert!(sent < head.len(), "sent the whole head ({sent} bytes)");
        let text = String::from_utf8_lossy(&got);
        assert!(
            got.is_empty() || text.starts_with("HTTP/1.1 408 Request Timeout"),
            "{text:?}"
        );
    }
    assert_serves(&server);
}

#[test]
fn a_silent_connection_gets_408_and_is_closed() {
    let dir = scenarios();
    // Long enough that the follow-up request's head always arrives in time, even on a machine
    // loaded by the tests running beside this one (500 ms was seen to be too short there).
    let server = Server::start_with(dir.path(), &["--header-timeout-ms", "2000"]);
    let mut stream = connect(server.addr);
    let got = read_to_close_or_reset(&mut stream);
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 Request Timeout"), "{text:?}");
    assert_serves(&server);
}

#[test]
fn oversized_header_fields_get_431_and_the_connection_closes() {
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--max-header-bytes", "4096"]);
    let big = "b".repeat(5000);
    let resp = server.raw(&format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
    ));
    assert_eq!(
        resp.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_eq!(resp.header("connection"), Some("close"));
    let body: serde_json::Value = serde_json::from_slice(&resp.body).expect("JSON error");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("--max-header-bytes")),
        "{body}"
    );
    // Just under the limit is fine.
    let small = "s".repeat(3000);
    let resp = server.raw(&format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Small: {small}\r\nConnection: close\r\n\r\n"
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");

    // With Expect: 100-continue the 431 comes instead of 100 Continue.
    let resp = server.raw(&format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    ));
    assert_eq!(
        resp.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    // More header lines than the parser takes: 431 too.
    let many: String = (0..120).map(|i| format!("X-H{i}: v\r\n")).collect();
    let resp = server.raw(&format!("GET /hello HTTP/1.1\r\nHost: x\r\n{many}\r\n"));
    assert_eq!(
        resp.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_serves(&server);

    // The refusals are in the journal.
    let journal = journal_raw(&server);
    let statuses: Vec<_> = entries(&journal)
        .iter()
        .map(|e| e["status"].as_u64())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == Some(431)).count(),
        2,
        "{journal}"
    );
}

#[test]
fn default_header_limit_refuses_70_kib_of_headers() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let big = "b".repeat(70 * 1024);
    let resp = server.raw(&format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {big}\r\n\r\n"
    ));
    assert_eq!(
        resp.status_line,
        "HTTP/1.1 431 Request Header Fields Too Large"
    );
    assert_serves(&server);
}

#[test]
fn long_request_targets_get_414_and_the_connection_closes() {
    let dir = scenarios();
    // Through the env twin of `--max-uri-bytes`.
    let mut cmd = crate::util::serve_command(dir.path());
    cmd.env("UNDERSTUDY_MAX_URI_BYTES", "1024");
    let server = Server::spawn(cmd);
    let resp = server.raw(&format!(
        "GET /hello?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q".repeat(2000)
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 414 URI Too Long");
    assert_eq!(resp.header("connection"), Some("close"));
    let resp = server.raw(&format!(
        "GET /hello?q={} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "q".repeat(900)
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");

    // The default limit (16 KiB) with a 20 KiB target.
    let dir2 = scenarios();
    let defaults = Server::start(dir2.path());
    let resp = defaults.raw(&format!(
        "GET /hello?q={} HTTP/1.1\r\nHost: x\r\n\r\n",
        "q".repeat(20 * 1024)
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 414 URI Too Long");
    assert_serves(&server);
    assert_serves(&defaults);
}

#[test]
fn bodies_over_the_limit_get_413_with_and_without_expect() {
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "1000"]);
    let body = "z".repeat(5000);

    // Declared and sent.
    let resp = server.raw(&format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n{body}"
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(resp.header("connection"), Some("close"));

    // Expect: 100-continue: the 413 comes at once, no 100 Continue, body never sent.
    let resp = server.raw(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n",
    );
    assert_eq!(resp.status_line, "HTTP/1.1 413 Payload Too Large");
    assert!(!String::from_utf8_lossy(&resp.bytes).contains("100 Continue"));

    // Chunked, no length declared: refused once the limit is passed, and the connection
    // (which still holds the unread rest of the body) is closed by the server.
    let chunked = format!("{:x}\r\n{body}\r\n0\r\n\r\n", body.len());
    let resp = server.raw(&format!(
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{chunked}"
    ));
    assert_eq!(resp.status_line, "HTTP/1.1 413 Payload Too Large");
    assert_eq!(resp.header("connection"), Some("close"));

    // A large body pushed regardless (8 MiB against 1000 bytes): the client reads the 413.
    let mut stream = connect(server.addr);
    let writer = {
        let mut stream = stream.try_clone().expect("clone");
        std::thread::spawn(move || {
            let _ = stream
                .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 8388608\r\n\r\n");
            let chunk = vec![b'z'; 64 * 1024];
            for _ in 0..128 {
                if stream.write_all(&chunk).is_err() {
                    break;
                }
            }
        })
    };
    let got = read_to_close_or_reset(&mut stream);
    writer.join().expect("writer");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 413 Payload Too Large"),
        "{text:?}"
    );

    // Under the limit is fine.
    let resp = server.raw(
        "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert_eq!(resp.status_line, "HTTP/1.1 201 Created");
    assert_serves(&server);
}

#[test]
fn malformed_requests_get_400_and_the_connection_closes() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let cases: &[(&str, &[u8])] = &[
        ("garbage", b"GARBAGE\r\n\r\n"),
        ("extra token", b"GET /hello HTTP/1.1 extra\r\nHost: x\r\n\r\n"),
        ("binary", b"\x00\x01\x02\x03\r\n\r\n"),
        ("header without colon", b"GET /hello HTTP/1.1\r\nNoColonHere\r\n\r\n"),
        ("bad version", b"GET /hello HTTP/7.5\r\nHost: x\r\n\r\n"),
        (
            "bad chunk size",
            b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
        ),
        (
            "chunk longer than its size",
            b"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
        ),
        (
            "two content lengths",
            b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        ),
    ];
    for (what, request) in cases {
        // `raw` reads until the server closes: a kept-open connection fails the test.
        let resp = raw(server.addr, request);
        assert!(
            resp.status_line.starts_with("HTTP/1.1 400"),
            "{what}: {:?}",
            resp.status_line
        );
    }
    assert_serves(&server);
}

/// Splits back-to-back responses; `head_only[i]` says response `i` answers a HEAD.
fn split_responses(mut bytes: &[u8], head_only: &[bool]) -> Vec<crate::util::RawResponse> {
    let mut out = Vec::new();
    for &head in head_only {
        let end = head_end(bytes)
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(bytes)));
        let len = if head {
            0
        } else {
            parse_raw(bytes[..end].to_vec()).content_length()
        };
        out.push(parse_raw(bytes[..end + len].to_vec()));
        bytes = &bytes[end + len..];
    }
    assert!(
        bytes.is_empty(),
        "bytes after the last response: {:?}",
        String::from_utf8_lossy(bytes)
    );
    out
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    // 20 requests in one write, a HEAD among them, the last one closing.
    let mut batch = String::new();
    let mut head_only = Vec::new();
    for n in 0..20 {
        let method = if n == 7 { "HEAD" } else { "GET" };
        let close = if n == 19 { "Connection: close\r\n" } else { "" };
        batch.push_str(&format!(
            "{method} /echo?n={n} HTTP/1.1\r\nHost: x\r\n{close}\r\n"
        ));
        head_only.push(n == 7);
    }
    let resp = raw(server.addr, batch.as_bytes());
    let responses = split_responses(&resp.bytes, &head_only);
    for (n, r) in responses.iter().enumerate() {
        assert_eq!(r.status_line, "HTTP/1.1 200 OK", "response {n}");
        let expected = if n == 7 {
            String::new()
        } else {
            format!("n={n}")
        };
        assert_eq!(String::from_utf8_lossy(&r.body), expected, "response {n}");
        let close = r.header("connection") == Some("close");
        assert_eq!(close, n == 19, "response {n}: connection header");
    }

    // A request with a body in the middle of a pipeline.
    let resp = raw(
        server.addr,
        b"GET /echo?n=a HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
          GET /echo?n=b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let responses = split_responses(&resp.bytes, &[false, false, false]);
    let bodies: Vec<_> = responses
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(bodies, ["n=a", "stored", "n=b"]);
    assert_serves(&server);
}

/// Raises this test process's open files limit to at least `n` (bounded by the hard limit).
fn ensure_open_files(n: u64) -> u64 {
    rlimit::increase_nofile_limit(n).expect("raise RLIMIT_NOFILE")
}

#[test]
fn thousands_of_idle_connections_then_memory_returns_to_baseline() {
    const IDLE: usize = 2000;
    let limit = ensure_open_files(IDLE as u64 + 512);
    assert!(
        limit >= IDLE as u64 + 256,
        "open files limit {limit} too low for {IDLE} connections"
    );
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--header-timeout-ms", "120000"]);
    let rss = baseline_rss(&server);
    // The warm-up's connections may still be closing: the baseline is the fewest seen.
    let fds = (0..10)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(50));
            server.open_fds()
        })
        .min()
        .unwrap_or_default();

    // Rounds: the allocator keeps some freed memory for reuse, a leak would pile up.
    for round in 1..=3 {
        let mut idle = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            idle.push(TcpStream::connect(server.addr).expect("idle connection"));
        }
        // The server holds them all (accepted, one descriptor each) and still answers.
        assert!(
            wait_until(HANG_GUARD, Duration::from_millis(100), || server.open_fds()
                >= fds + IDLE),
            "server holds {} descriptors, expected {} more than {fds}",
            server.open_fds(),
            IDLE
        );
        assert_serves(&server);
        let loaded = server.rss_kib();
        drop(idle);
        assert_back_to_baseline(&server, rss, Some(fds));
        eprintln!(
            "idle connections, round {round}: RSS baseline {rss} KiB, with {IDLE} idle {loaded} KiB, after closing {} KiB",
            server.rss_kib()
        );
    }
    assert_serves(&server);
}

#[test]
fn max_connections_holds_extra_clients_until_one_closes() {
    let dir = scenarios();
    let server = Server::start_with(
        dir.path(),
        &[
            "--max-connections",
            "2",
            "--workers",
            "1",
            "--header-timeout-ms",
            "120000",
        ],
    );
    let fds = server.open_fds();
    let first = TcpStream::connect(server.addr).expect("first");
    let _second = TcpStream::connect(server.addr).expect("second");
    assert!(wait_until(
        HANG_GUARD,
        Duration::from_millis(100),
        || server.open_fds() >= fds + 2
    ));

    // The third connects (the kernel's backlog) but is not served while two are open.
    let mut third = connect(server.addr);
    third
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    third
        .set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    let mut buf = [0u8; 16];
    match third.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("third connection was served past --max-connections: {other:?}"),
    }

    // Once one closes, the third is accepted and answered.
    drop(first);
    third.set_read_timeout(Some(HANG_GUARD)).expect("timeout");
    let got = read_to_close_or_reset(&mut third);
    let resp = parse_raw(got);
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body, b"hi");
}

/// Sends `bytes` and resets the connection (RST, no FIN).
fn reset_after(addr: SocketAddr, bytes: &[u8], read_first: usize) {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("write");
    if read_first > 0 {
        let mut got = 0;
        let mut buf = vec![0u8; read_first];
        while got < read_first {
            match stream.read(&mut buf[got..]) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        assert!(got > 0, "no response bytes before the reset");
    }
    socket2::SockRef::from(&stream)
        .set_linger(Some(Duration::ZERO))
        .expect("SO_LINGER 0");
    drop(stream);
}

#[test]
fn abrupt_resets_mid_request_and_mid_response_leave_nothing_behind() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let rss = baseline_rss(&server);
    let fds = server.open_fds();

    for round in 1..=2 {
        for i in 0..150 {
            // Mid-request: the head and half of a declared body, then RST.
            let mut partial =
                b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".to_vec();
            partial.extend(std::iter::repeat_n(b'p', 50_000));
            reset_after(server.addr, &partial, 0);
            // Mid-head.
            reset_after(server.addr, b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Cut: ", 0);
            // Mid-response: a dribbled 200 KB body, reset after its first bytes.
            reset_after(
                server.addr,
                b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n",
                if i % 2 == 0 { 2000 } else { 10 },
            );
        }
        assert_serves(&server);
        assert_back_to_baseline(&server, rss, Some(fds));
        eprintln!(
            "resets, round {round}: RSS baseline {rss} KiB, after 450 resets {} KiB",
            server.rss_kib()
        );
    }
}

#[tokio::test]
async fn websocket_messages_over_the_limit_close_with_1009() {
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::tungstenite::Message;
    use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--ws-max-message-bytes", "1024"]);
    let url = format!("ws://{}/ws", server.addr);
    let (mut ws, _) = ws_connect(url).await;
    ws.send(Message::text("a".repeat(1000)))
        .await
        .expect("send");
    let echo = next_msg(&mut ws).await;
    assert_eq!(echo, Message::text("a".repeat(1000)));

    ws.send(Message::text("b".repeat(2000)))
        .await
        .expect("send");
    let close = match tokio::time::timeout(HANG_GUARD, ws.next())
        .await
        .expect("close in time")
    {
        Some(Ok(Message::Close(frame))) => frame,
        Some(Ok(other)) => panic!("expected a close frame, got {other:?}"),
        Some(Err(err)) => panic!("expected a close frame, got {err}"),
        None => panic!("closed without a close frame"),
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Size));
    let resp = tokio::task::spawn_blocking(move || {
        assert_serves(&server);
    })
    .await;
    resp.expect("normal request after the WebSocket");
}

#[test]
fn template_fuel_stops_runaway_templates() {
    let dir = scenarios();
    let starved = Server::start_with(dir.path(), &["--template-fuel", "1000"]);
    let resp = starved.raw(&get_request("/spin"));
    assert_eq!(resp.status_line, "HTTP/1.1 500 Internal Server Error");
    assert!(
        String::from_utf8_lossy(&resp.body).contains("fuel"),
        "{:?}",
        String::from_utf8_lossy(&resp.body)
    );
    assert_serves(&starved);

    // The default fuel renders it.
    let fed = Server::start(dir.path());
    let resp = fed.raw(&get_request("/spin"));
    assert_eq!(resp.status_line, "HTTP/1.1 200 OK");
    assert_eq!(resp.body.len(), 20_000);
}

#[test]
fn limit_flags_refuse_values_the_parser_cannot_honour() {
    for (flag, value, hint) in [
        ("--max-header-bytes", "200000", "131072"),
        ("--max-uri-bytes", "70000", "65534"),
        ("--max-connections", "0", "at least 1"),
    ] {
        let out = crate::util::run_cli(["serve", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(hint), "{flag} {value}: {err}");
    }
}

#[test]
fn slow_bodies_are_timed_out_with_408_while_others_are_served() {
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--body-timeout-ms", "1000"]);
    // The head arrives at once; the 100-byte body would take 25 s at this pace.
    let mut stream = connect(server.addr);
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        .expect("write head");
    let body = [b'z'; 100];
    let attacker =
        std::thread::spawn(move || dribble(&mut stream, &body, Duration::from_millis(250)));
    for _ in 0..5 {
        assert_serves(&server);
        std::thread::sleep(Duration::from_millis(100));
    }
    let (sent, got) = attacker.join().expect("attacker thread");
    assert!(sent < body.len(), "sent the whole body ({sent} bytes)");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408 Request Timeout"), "{text:?}");
    assert!(text.contains("--body-timeout-ms"), "{text:?}");
    assert_serves(&server);
}
