//! Pipelined requests on one connection, read off a raw socket and parsed strictly: each
//! answer in order with its own framing (`HEAD` answers without a body, `connection: close`
//! only where the connection really closes), whatever bodies (`Content-Length`, chunked with
//! extensions and trailers) come in between, in one write or one byte per write; and nothing
//! answered after an answer that closes the connection (RFC 9112 §9.6).
//!
//! Every read is bounded by a hang guard, so a regression fails instead of hanging.

use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;

use crate::util::{Scenarios, Server, connect, read_to_close_or_reset};

/// The size of `/big`'s answer: more than the socket buffers hold while the client does not
/// read.
const BIG: usize = 8 << 20;

/// `/p/N` answers `rN`; `/b/N` answers `bN=` and the body it read; `/slow/N` answers `sN`
/// after 300 ms; `/tunnel` switches to the raw `echo-proto`; `/reject` refuses
/// `Expect: 100-continue` with `417` (`/reject-big` with [`BIG`] bytes); `/big` answers
/// [`BIG`] bytes.
fn scenarios() -> Scenarios {
    let dir = Scenarios::new();
    dir.write_json(
        "pipe.json",
        &json!({
            "routes": [
                { "id": "plain", "request": { "path": "/p/(?<n>[0-9]+)" },
                  "response": { "status": 200, "template": true, "body": "r{{ path.n }}" } },
                { "id": "body", "request": { "method": "POST", "path": "/b/(?<n>[0-9]+)" },
                  "response": { "status": 200, "template": true,
                                "body": "b{{ path.n }}={{ request.body }}" } },
                { "id": "reject", "expect": "reject", "request": { "path": "/reject" },
                  "response": { "status": 417, "body": "no" } },
                { "id": "reject-big", "expect": "reject", "request": { "path": "/reject-big" },
                  "response": { "status": 417, "file": "big.txt" } },
                { "id": "slow", "request": { "path": "/slow/(?<n>[0-9]+)" },
                  "response": { "status": 200, "template": true, "body": "s{{ path.n }}",
                                "delayMs": 300 } },
                { "id": "tunnel", "request": { "path": "/tunnel" },
                  "response": { "status": 101, "upgrade": { "protocol": "echo-proto" } } },
                { "id": "big", "request": { "path": "/big" },
                  "response": { "status": 200, "file": "big.txt" } }
            ]
        }),
    );
    dir.write_bytes("big.txt", &vec![b'x'; BIG]);
    dir
}

/// One answer, parsed strictly.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// Header names lower-cased, values trimmed, in wire order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether its `connection` field has the `close` option.
    fn closes(&self) -> bool {
        self.header("connection").is_some_and(|v| {
            v.split(',')
                .any(|option| option.trim().eq_ignore_ascii_case("close"))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// `bytes` as text for a failure message, long runs of one byte shortened.
fn preview(bytes: &[u8]) -> String {
    let mut out = String::new();
    for run in bytes.chunk_by(|a, b| a == b) {
        if run.len() > 64 {
            out.push_str(&format!("[{} x {:?}]", run.len(), run[0] as char));
        } else {
            out.push_str(&String::from_utf8_lossy(run));
        }
    }
    out
}

/// Splits `bytes` into exactly `heads.len()` answers (`heads[i]`: answer `i` answers a
/// `HEAD`, so has no body whatever its `content-length`); panics on anything else: a
/// malformed status line or header, a body without framing, bytes left over.
fn parse_answers(bytes: &[u8], heads: &[bool]) -> Vec<Answer> {
    let all = preview(bytes);
    let mut rest = bytes;
    let mut out = Vec::new();
    for (i, &head_only) in heads.iter().enumerate() {
        let end = memchr::memmem::find(rest, b"\r\n\r\n")
            .unwrap_or_else(|| panic!("answer {i}: no complete head; all bytes: {all:?}"));
        let head = std::str::from_utf8(&rest[..end])
            .unwrap_or_else(|_| panic!("answer {i}: head is not UTF-8; all bytes: {all:?}"));
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let status = status_line
            .strip_prefix("HTTP/1.1 ")
            .and_then(|s| s.get(..3))
            .and_then(|s| s.parse::<u16>().ok())
            .unwrap_or_else(|| panic!("answer {i}: bad status line {status_line:?}; all: {all:?}"));
        assert!(
            status_line.len() == 12 || status_line.as_bytes().get(12) == Some(&b' '),
            "answer {i}: bad status line {status_line:?}"
        );
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (n, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("answer {i}: bad header line {l:?}; all: {all:?}"));
                assert!(
                    !n.is_empty() && !n.contains([' ', '\t']),
                    "answer {i}: bad header name {n:?}"
                );
                (n.to_ascii_lowercase(), v.trim().to_owned())
            })
            .collect();
        rest = &rest[end + 4..];
        let mut answer = Answer {
            status,
            headers,
            body: Vec::new(),
        };
        let lengths: Vec<&str> = answer
            .headers
            .iter()
            .filter(|(n, _)| n == "content-length")
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(lengths.len() <= 1, "answer {i}: {lengths:?}; all: {all:?}");
        assert!(
            answer.header("transfer-encoding").is_none(),
            "answer {i}: unexpected transfer-encoding; all: {all:?}"
        );
        if !head_only {
            let len: usize = lengths
                .first()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("answer {i}: no content-length; all: {all:?}"));
            assert!(
                rest.len() >= len,
                "answer {i}: body cut short ({} of {len} bytes); all: {all:?}",
                rest.len()
            );
            answer.body = rest[..len].to_vec();
            rest = &rest[len..];
        }
        out.push(answer);
    }
    assert!(
        rest.is_empty(),
        "bytes after answer {}: {:?}; all: {all:?}",
        heads.len(),
        preview(rest)
    );
    out
}

#[test]
fn pipelined_after_a_body_each_answer_has_its_own_framing_and_connection() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"POST /p/0 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello\
              HEAD /p/3 HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /p/4 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .expect("write");
    let answers = parse_answers(&read_to_close_or_reset(&mut stream), &[false, true, false]);
    assert_eq!(answers[0].status, 200, "{:?}", answers[0]);
    assert_eq!(answers[0].text(), "r0");
    assert!(
        !answers[0].closes(),
        "the connection stays open: {:?}",
        answers[0]
    );
    assert_eq!(answers[1].status, 200, "{:?}", answers[1]);
    assert_eq!(
        answers[1].header("content-length"),
        Some("2"),
        "{:?}",
        answers[1]
    );
    assert!(!answers[1].closes(), "{:?}", answers[1]);
    assert_eq!(answers[2].text(), "r4");
    assert!(
        answers[2].closes(),
        "the last answer closes: {:?}",
        answers[2]
    );
}

/// Sends `bytes` in one write and returns everything the server sends until it closes.
fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    stream.write_all(bytes).expect("write");
    read_to_close_or_reset(&mut stream)
}

/// Like [`exchange`] behind a `GET /big`, reading only after a pause: the answers after the
/// big one are made while the socket is still full, so they are still being written when
/// the server could read on.
fn exchange_behind_a_big_answer(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = connect(addr);
    let mut all = b"GET /big HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    all.extend_from_slice(bytes);
    stream.write_all(&all).expect("write");
    std::thread::sleep(Duration::from_millis(300));
    read_to_close_or_reset(&mut stream)
}

/// `request` then `GET /p/1`, alone and behind a big answer: the answer to `request` must
/// be the last, saying `connection: close`; returns it.
fn assert_last_answer(addr: SocketAddr, request: &[u8]) -> Answer {
    let mut bytes = request.to_vec();
    bytes.extend_from_slice(b"GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    let shown = String::from_utf8_lossy(request);
    let mut alone = parse_answers(&exchange(addr, &bytes), &[false]);
    let behind = parse_answers(&exchange_behind_a_big_answer(addr, &bytes), &[false, false]);
    assert_eq!(behind[0].body.len(), BIG, "{shown:?}");
    assert!(!behind[0].closes(), "{shown:?}: {:?}", behind[0].headers);
    for answer in [&alone[0], &behind[1]] {
        assert!(answer.closes(), "{shown:?}: {answer:?}");
        assert_eq!(answer.status, alone[0].status, "{shown:?}");
        assert_eq!(answer.body, alone[0].body, "{shown:?}");
    }
    alone.remove(0)
}

#[test]
fn expect_reject_with_the_body_and_a_next_request_in_one_write_answers_once() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let answer = assert_last_answer(
        server.addr,
        b"POST /reject HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(answer.status, 417, "{answer:?}");
    assert_eq!(answer.text(), "no");
    // The refusal is still being written when the next request could be read.
    let answer = assert_last_answer(
        server.addr,
        b"POST /reject-big HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!((answer.status, answer.body.len()), (417, BIG));
}

#[test]
fn a_body_over_the_limit_gets_413_and_nothing_after_it_is_answered() {
    let dir = scenarios();
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "16"]);
    let chunked = b"POST /b/1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
                    10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n0\r\n\r\n";
    let sized = b"POST /b/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 32\r\n\r\n\
                  0123456789abcdef0123456789abcdef";
    for request in [&chunked[..], &sized[..]] {
        let answer = assert_last_answer(server.addr, request);
        assert_eq!(answer.status, 413, "{answer:?}");
    }
}

#[test]
fn a_request_asking_to_close_is_the_last_one_answered() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    for request in [
        &b"GET /p/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"[..],
        b"POST /b/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi",
    ] {
        let answer = assert_last_answer(server.addr, request);
        assert_eq!(answer.status, 200, "{answer:?}");
    }
}

/// What one answer of [`mixed_batch`] must be.
struct Expected {
    /// It answers a `HEAD`: no body, `content-length` of the body a `GET` would get.
    head: bool,
    /// The body (for a `HEAD`, the body a `GET` would get).
    body: String,
}

/// 50 requests: `GET`, `HEAD`, `POST` with `Content-Length` and `POST` with a chunked body
/// (several chunks, chunk extensions, a trailer field), the last one closing the connection;
/// and what each answer must be.
fn mixed_batch() -> (Vec<u8>, Vec<Expected>) {
    let mut bytes = Vec::new();
    let mut expected = Vec::new();
    for i in 0..50 {
        let close = if i == 49 { "Connection: close\r\n" } else { "" };
        let (request, head, body) = match i % 4 {
            0 => (
                format!("GET /p/{i} HTTP/1.1\r\nHost: x\r\n{close}\r\n"),
                false,
                format!("r{i}"),
            ),
            1 => (
                format!("HEAD /p/{i} HTTP/1.1\r\nHost: x\r\n{close}\r\n"),
                true,
                format!("r{i}"),
            ),
            2 => {
                let sent = format!("body-{i}");
                (
                    format!(
                        "POST /b/{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n{close}\r\n{sent}",
                        sent.len()
                    ),
                    false,
                    format!("b{i}={sent}"),
                )
            }
            _ => {
                let last = format!("-{i}");
                (
                    format!(
                        "POST /b/{i} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{close}\r\n\
                         2\r\nch\r\n4;ext=\"a;b\"\r\nunk-\r\n{:x} ; n=v\r\n{last}\r\n\
                         0\r\nX-Trailer: t{i}\r\n\r\n",
                        last.len()
                    ),
                    false,
                    format!("b{i}=chunk-{last}"),
                )
            }
        };
        bytes.extend_from_slice(request.as_bytes());
        expected.push(Expected { head, body });
    }
    (bytes, expected)
}

/// Checks the answers to [`mixed_batch`], read until the server closed.
fn assert_mixed_answers(got: &[u8], expected: &[Expected]) {
    let heads: Vec<bool> = expected.iter().map(|e| e.head).collect();
    let answers = parse_answers(got, &heads);
    for (i, (answer, want)) in answers.iter().zip(expected).enumerate() {
        assert_eq!(answer.status, 200, "answer {i}: {answer:?}");
        if want.head {
            assert!(answer.body.is_empty(), "answer {i}: {answer:?}");
            assert_eq!(
                answer.header("content-length"),
                Some(want.body.len().to_string().as_str()),
                "answer {i}: {answer:?}"
            );
        } else {
            assert_eq!(answer.text(), want.body, "answer {i}");
        }
        assert_eq!(answer.closes(), i == 49, "answer {i}: {:?}", answer.headers);
    }
}

#[test]
fn fifty_pipelined_requests_of_every_framing_in_one_write_are_answered_in_order() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let (batch, expected) = mixed_batch();
    assert_mixed_answers(&exchange(server.addr, &batch), &expected);
}

#[test]
fn fifty_pipelined_requests_sent_one_byte_per_write_are_answered_in_order() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let (batch, expected) = mixed_batch();
    let mut stream = connect(server.addr);
    for (i, byte) in batch.iter().enumerate() {
        stream.write_all(&[*byte]).expect("write");
        if i % 7 == 0 {
            // Let the server read now and then, at varying points of the framing.
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    assert_mixed_answers(&read_to_close_or_reset(&mut stream), &expected);
}

#[test]
fn a_request_arriving_while_the_one_before_is_served_waits_for_its_answer() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let mut stream = connect(server.addr);
    stream
        .write_all(b"HEAD /slow/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    // In a later write, while the HEAD is being answered.
    std::thread::sleep(Duration::from_millis(100));
    stream
        .write_all(b"GET /p/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let answers = parse_answers(&read_to_close_or_reset(&mut stream), &[true, false]);
    assert_eq!(
        answers[0].header("content-length"),
        Some("2"),
        "{:?}",
        answers[0]
    );
    assert!(!answers[0].closes(), "{:?}", answers[0]);
    assert_eq!(answers[1].text(), "r2");
    assert!(answers[1].closes(), "{:?}", answers[1]);
}

#[test]
fn expect_continue_in_a_pipeline_reads_its_body_then_answers_the_next() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let got = exchange(
        server.addr,
        b"POST /b/1 HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello\
          GET /p/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let rest = got
        .strip_prefix(b"HTTP/1.1 100 Continue\r\n\r\n".as_slice())
        .unwrap_or_else(|| panic!("a 100 Continue first: {:?}", preview(&got)));
    let answers = parse_answers(rest, &[false, false]);
    assert_eq!(answers[0].text(), "b1=hello");
    assert!(!answers[0].closes(), "{:?}", answers[0]);
    assert_eq!(answers[1].text(), "r2");
}

#[test]
fn an_upgrade_request_answered_without_switching_is_framed_like_any_other() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let next = "GET /p/2 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    // (Without `Connection: Upgrade`, which makes actix close after any answer.)
    for upgrade in [
        "GET /tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: h2c-ish\r\n\r\n",
        "POST /tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: h2c-ish\r\nContent-Length: 2\r\n\r\nhi",
        "POST /tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: h2c-ish\r\n\
         Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
    ] {
        let got = exchange(server.addr, format!("{upgrade}{next}").as_bytes());
        // `426`, then the next answer, unless the `426` closes the connection.
        let first = parse_answers(&got[..got.len().min(first_answer_len(&got))], &[false]);
        let first = &first[0];
        assert_eq!(first.status, 426, "{upgrade:?}: {first:?}");
        let heads: &[bool] = if first.closes() {
            &[false]
        } else {
            &[false, false]
        };
        let answers = parse_answers(&got, heads);
        if let Some(second) = answers.get(1) {
            assert_eq!(second.text(), "r2", "{upgrade:?}");
            assert!(second.closes(), "{upgrade:?}: {second:?}");
        }
    }
}

/// The length of the first answer in `bytes` (head and `content-length` body).
fn first_answer_len(bytes: &[u8]) -> usize {
    let end = memchr::memmem::find(bytes, b"\r\n\r\n").map_or(bytes.len(), |i| i + 4);
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    end + len
}

#[test]
fn a_pipelined_upgrade_switches_and_echoes_what_followed_its_head() {
    let dir = scenarios();
    let server = Server::start(dir.path());
    let mut stream = connect(server.addr);
    stream
        .write_all(
            b"GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n\
              GET /tunnel HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\n\
              early GET /p/3 HTTP/1.1\r\n\r\n",
        )
        .expect("write");
    stream
        .shutdown(std::net::Shutdown::Write)
        .expect("half-close");
    let got = read_to_close_or_reset(&mut stream);
    let first = first_answer_len(&got);
    let answers = parse_answers(&got[..first], &[false]);
    assert_eq!(answers[0].text(), "r1");
    let rest = &got[first..];
    let end = memchr::memmem::find(rest, b"\r\n\r\n").expect("a 101 head") + 4;
    assert!(
        rest.starts_with(b"HTTP/1.1 101 "),
        "{:?}",
        String::from_utf8_lossy(rest)
    );
    assert_eq!(
        String::from_utf8_lossy(&rest[end..]),
        "early GET /p/3 HTTP/1.1\r\n\r\n",
        "what followed the upgrade head is echoed, not answered"
    );
}
