//! Raw HTTP over a socket, for what a client library would hide: exact bytes, interim
//! responses, framing and connection handling. Every read is bounded by [`HANG_GUARD`].

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::HANG_GUARD;

/// A response read off a raw socket.
#[derive(Debug)]
pub struct RawResponse {
    /// Everything the server sent until it closed the connection.
    pub bytes: Vec<u8>,
    /// The first line, without CRLF.
    pub status_line: String,
    /// Header lines in wire order, names as sent.
    pub headers: Vec<(String, String)>,
    /// Every byte after the blank line that ends the head.
    pub body: Vec<u8>,
}

impl RawResponse {
    /// Values of every header line named `name` (case-insensitive), in wire order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The single value of header `name`, if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).first().copied()
    }

    /// The status code on the status line (panics when there is none).
    pub fn status(&self) -> u16 {
        self.status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("status line {:?}", self.status_line))
    }

    /// The `Content-Length` header as a number (panics when it is missing or not a number).
    pub fn content_length(&self) -> usize {
        self.header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("content-length in {:?}", self.headers))
    }
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
}

/// Sends `request` as-is (it should carry `Connection: close`) and reads until the server
/// closes the connection.
pub fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = connect(addr);
    send(&mut stream, request);
    parse_raw(read_to_close(&mut stream))
}

/// Where the head ends in `bytes`: the index just past its `\r\n\r\n`, if it is there.
pub fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Splits a raw response into status line, headers and body.
pub fn parse_raw(bytes: Vec<u8>) -> RawResponse {
    let end = head_end(&bytes).unwrap_or_else(|| panic!("no end of head in {:?}", text(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or((l, ""));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let body = bytes[end..].to_vec();
    RawResponse {
        bytes,
        status_line,
        headers,
        body,
    }
}

/// Connects with the hang-guard read timeout and no Nagle delay (a test that writes one byte
/// at a time means one segment per byte).
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(HANG_GUARD))
        .expect("set read timeout");
    stream.set_nodelay(true).expect("set nodelay");
    stream
}

/// Writes `bytes` and flushes.
pub fn send(stream: &mut TcpStream, bytes: &[u8]) {
    stream.write_all(bytes).expect("write to server");
    stream.flush().expect("flush");
}

/// Reads until the bytes received so far contain the end of a head (`\r\n\r\n`); returns
/// everything read (which may run past that head only if the server sent more at once).
pub fn read_head(stream: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    while head_end(&got).is_none() {
        match stream.read(&mut buf) {
            Ok(0) => panic!(
                "connection closed before a complete head; got {:?}",
                text(&got)
            ),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) => panic!("reading a head failed ({err}); got so far {:?}", text(&got)),
        }
    }
    got
}

/// Reads one response off a kept-alive connection: its head, then exactly `Content-Length`
/// body bytes, leaving the connection open for the next request.
pub fn read_response(stream: &mut TcpStream) -> RawResponse {
    let mut got = read_head(stream);
    let end = head_end(&got).expect("read_head stops after a head");
    let len = parse_raw(got[..end].to_vec()).content_length();
    if got.len() < end + len {
        got.extend(read_exact_n(stream, end + len - got.len()));
    }
    assert_eq!(
        got.len(),
        end + len,
        "bytes past the response: {:?}",
        text(&got)
    );
    parse_raw(got)
}

/// Reads until EOF or an error: the bytes read and how reading ended.
pub fn read_until_end(stream: &mut TcpStream) -> (Vec<u8>, std::io::Result<()>) {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (bytes, Ok(())),
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(err) if err.kind() == ErrorKind::Interrupted => {}
            Err(err) => return (bytes, Err(err)),
        }
    }
}

/// Reads until the server closes the connection (a clean EOF); panics on any read error.
pub fn read_to_close(stream: &mut TcpStream) -> Vec<u8> {
    let (got, end) = read_until_end(stream);
    if let Err(err) = end {
        panic!(
            "reading until close failed ({err}); got so far {:?}",
            text(&got)
        );
    }
    got
}

/// Reads until the server closes or resets the connection; what arrived before. Panics on
/// any other read error (such as the hang guard running out).
pub fn read_to_close_or_reset(stream: &mut TcpStream) -> Vec<u8> {
    let (got, end) = read_until_end(stream);
    match end {
        Ok(()) => got,
        Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::BrokenPipe) => got,
        Err(e) => panic!("connection not closed ({e}); got so far: {:?}", text(&got)),
    }
}

/// Reads exactly `n` bytes.
pub fn read_exact_n(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0u8; n];
    stream
        .read_exact(&mut got)
        .unwrap_or_else(|err| panic!("reading {n} bytes failed ({err})"));
    got
}

/// Whatever the server sends within `window` (empty when it stays silent); restores the
/// hang-guard timeout afterwards.
pub fn read_within(stream: &mut TcpStream, window: Duration) -> Vec<u8> {
    stream
        .set_read_timeout(Some(window))
        .expect("set short timeout");
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    let deadline = Instant::now() + window;
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break;
            }
            Err(err) => panic!("read failed: {err}"),
        }
    }
    stream
        .set_read_timeout(Some(HANG_GUARD))
        .expect("restore timeout");
    got
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// Lossy text of some bytes, for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
