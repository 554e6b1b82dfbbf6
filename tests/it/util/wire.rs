//! Raw HTTP over a socket, for what a client library would hide: exact bytes, interim
//! responses, framing and connection handling.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a raw socket read may block before the test gives up (a hang guard).
const IO_TIMEOUT: Duration = Duration::from_secs(30);

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
}

/// Sends `request` as-is (it should carry `Connection: close`) and reads until the server
/// closes the connection.
pub fn raw(addr: SocketAddr, request: &[u8]) -> RawResponse {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(IO_TIMEOUT))
        .expect("set timeout");
    stream.write_all(request).expect("write request");
    stream.flush().expect("flush");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).unwrap_or_else(|err| {
        panic!(
            "reading response failed ({err}); got so far: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    });
    parse_raw(bytes)
}

/// Splits a raw response into status line, headers and body.
pub fn parse_raw(bytes: Vec<u8>) -> RawResponse {
    let end = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no end of head in {:?}", String::from_utf8_lossy(&bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap_or((l, ""));
            (n.to_owned(), v.trim().to_owned())
        })
        .collect();
    let body = bytes[end + 4..].to_vec();
    RawResponse {
        bytes,
        status_line,
        headers,
        body,
    }
}
