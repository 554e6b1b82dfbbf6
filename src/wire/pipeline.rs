//! Pipelined requests, one at a time.
//!
//! actix-http decodes every request already in its read buffer before answering the first,
//! and its encoder then takes a pipelined request's `Connection` and `HEAD`-ness from the last
//! request decoded, not from the one it answers: a `HEAD` answered with a body, `connection:
//! close` on responses after which the connection stays open. The connection seam avoids that
//! by handing actix one request at a time: the bytes after a complete request (head and body)
//! are kept back until that request has been answered.
//!
//! [`HeadScan`] finds where each request ends, following the byte stream from the
//! connection's start across reads, with actix's own framing rules (RFC 9112 §6):
//!
//! - a head ends at its blank line (blank lines before a request line are skipped);
//! - `Transfer-Encoding: chunked`: chunk-size lines (hex size, optional whitespace and
//!   `;extensions`, CRLF), chunk data and its CRLF, up to the last chunk `0`, trailer fields
//!   and the final CRLF;
//! - otherwise `Content-Length: N`: N body bytes, skipped by arithmetic;
//! - otherwise no body.
//!
//! It keeps no more of a head than the first bytes of its current line, and looks only at the
//! header fields that frame a body. When the framing is not one it follows, it stops for the
//! rest of the connection and every byte goes to actix as it comes: malformed framing (a bad
//! chunk or `Content-Length`, both `Content-Length` and `Transfer-Encoding`, a coding other
//! than `chunked`; actix answers `400` and closes), a WebSocket upgrade or `CONNECT` (actix
//! takes every later byte as the request's stream). A request with any other `Upgrade` is
//! framed like any other: if the handler switches protocols, the connection seam stops the
//! scan itself. The rules mirror actix's decoder, and on a doubt the scan stops rather than
//! guesses: stopping only costs the one-at-a-time order, while a wrong end could keep back
//! bytes actix waits for.

use memchr::memchr;

/// Where a connection's byte stream stands, seen from the request framing.
#[derive(Debug)]
pub struct HeadScan {
    /// The part of a request the next byte belongs to.
    at: At,
    /// What the current head says about its body.
    head: Head,
    /// The current head line's first bytes (enough for the header fields that matter).
    line: [u8; LINE_KEEP],
    /// How many of `line` are filled.
    kept: usize,
    /// The current head line's length so far.
    line_len: usize,
}

impl Default for HeadScan {
    fn default() -> Self {
        HeadScan {
            at: At::Head,
            head: Head::default(),
            line: [0; LINE_KEEP],
            kept: 0,
            line_len: 0,
        }
    }
}

/// What [`HeadScan::feed`] found in the bytes fed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Where a complete request ends inside the bytes, when more bytes follow it (the caller
    /// keeps those back).
    pub cut: Option<usize>,
    /// A request head ended inside the bytes.
    pub head: bool,
}

/// The part of a request the next byte belongs to.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum At {
    /// A head (or blank lines before one).
    #[default]
    Head,
    /// A `Content-Length` body, with this many bytes left.
    Body(u64),
    /// A chunk-size line: its part, and the size so far.
    Size(SizePart, u64),
    /// Chunk data, with this many bytes left.
    Data(u64),
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// The start of a trailer field line, or the CR of the final CRLF.
    TrailerStart,
    /// Inside a trailer field line (up to its CR).
    Trailer,
    /// The LF ending a trailer field line.
    TrailerLf,
    /// The LF of the final CRLF.
    EndLf,
    /// Scanning stopped for the rest of the connection.
    Off,
}

/// The parts of a chunk-size line (`1a;ext=v\r\n`), as actix reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SizePart {
    /// The first hex digit.
    First,
    /// More hex digits, whitespace, `;` or CR.
    Digits,
    /// Whitespace after the size: more of it, `;` or CR.
    Space,
    /// A chunk extension, up to CR.
    Ext,
    /// The LF ending the line.
    Lf,
}

/// What the current head says about its body.
#[derive(Debug, Default)]
struct Head {
    /// The request line has been seen.
    started: bool,
    /// Its `Content-Length`.
    length: Option<u64>,
    /// `Transfer-Encoding` seen.
    coded: bool,
    /// `Transfer-Encoding: chunked`.
    chunked: bool,
    /// A framing the scan does not follow: stop at the end of the head.
    unknown: bool,
}

/// How many bytes of a head line are kept: the longest well-formed `Content-Length`,
/// `Transfer-Encoding: chunked` or `Upgrade` line the scan reads whole, with some room for
/// whitespace. A longer line of those fields stops the scan.
const LINE_KEEP: usize = 64;

impl HeadScan {
    /// Feeds bytes handed to actix (the caller hands only those up to [`Fed::cut`] and feeds
    /// the rest again once it hands it over).
    pub fn feed(&mut self, bytes: &[u8]) -> Fed {
        let mut fed = Fed::default();
        let mut at = 0;
        while at < bytes.len() {
            let rest = &bytes[at..];
            // Whether a request ends with the bytes just consumed.
            let ended = match self.at {
                At::Off => break,
                At::Head => {
                    let Some(nl) = memchr(b'\n', rest) else {
                        self.take(rest);
                        break;
                    };
                    self.take(&rest[..nl]);
                    at += nl + 1;
                    let head_end = self.end_line();
                    fed.head |= head_end;
                    head_end && self.at == At::Head
                }
                At::Body(left) => {
                    let n = left.min(rest.len() as u64);
                    at += n as usize;
                    self.at = if n == left {
                        At::Head
                    } else {
                        At::Body(left - n)
                    };
                    n == left
                }
                At::Data(left) => {
                    let n = left.min(rest.len() as u64);
                    at += n as usize;
                    self.at = if n == left {
                        At::DataCr
                    } else {
                        At::Data(left - n)
                    };
                    false
                }
                At::Size(SizePart::Ext, size) => {
                    match memchr(b'\r', rest) {
                        Some(cr) => {
                            at += cr + 1;
                            self.at = At::Size(SizePart::Lf, size);
                        }
                        None => at = bytes.len(),
                    }
                    false
                }
                At::Trailer => {
                    match memchr(b'\r', rest) {
                        Some(cr) => {
                            at += cr + 1;
                            self.at = At::TrailerLf;
                        }
                        None => at = bytes.len(),
                    }
                    false
                }
                state => {
                    at += 1;
                    self.at = step(state, rest[0]);
                    self.at == At::Head
                }
            };
            if ended && at < bytes.len() {
                fed.cut = Some(at);
                break;
            }
        }
        fed
    }

    /// Adds part of the current head line (its first bytes are kept).
    fn take(&mut self, part: &[u8]) {
        let n = (LINE_KEEP - self.kept).min(part.len());
        self.line[self.kept..self.kept + n].copy_from_slice(&part[..n]);
        self.kept += n;
        self.line_len += part.len();
    }

    /// Handles the end of a head line; returns whether it ended the head.
    fn end_line(&mut self) -> bool {
        let whole = self.kept == self.line_len;
        let mut line = &self.line[..self.kept];
        if whole && let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let blank = whole && line.is_empty();
        if !blank && !self.head.started {
            self.head.started = true;
            // actix reads a `CONNECT` request's stream until the connection closes.
            if line.len() >= 8 && line[..8].eq_ignore_ascii_case(b"CONNECT ") {
                self.head.unknown = true;
            }
        } else if !blank {
            self.head.field(line, whole);
        }
        self.kept = 0;
        self.line_len = 0;
        if !(blank && self.head.started) {
            // A head line, or a blank line before a request line.
            return false;
        }
        self.at = self.head.body();
        self.head = Head::default();
        true
    }

    /// Whether everything fed so far is whole requests: no head or body is half read.
    pub fn between_heads(&self) -> bool {
        self.at == At::Head && !self.head.started && self.line_len == 0
    }

    /// Stops scanning for the rest of the connection.
    pub fn stop(&mut self) {
        self.at = At::Off;
    }
}

impl Head {
    /// Reads a header field line (`line`: its kept bytes, without CR when `whole`).
    fn field(&mut self, line: &[u8], whole: bool) {
        let Some(colon) = memchr(b':', line) else {
            return;
        };
        let name = &line[..colon];
        let field = if name.eq_ignore_ascii_case(b"content-length") {
            Field::Length
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            Field::Coding
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            Field::Upgrade
        } else {
            return;
        };
        if !whole {
            // A value too long to read: not one the scan follows.
            self.unknown = true;
            return;
        }
        let value = line[colon + 1..].trim_ascii();
        match field {
            Field::Length => match (self.length, parse_length(value)) {
                (None, Some(n)) => self.length = Some(n),
                _ => self.unknown = true,
            },
            Field::Coding => {
                // actix refuses a second `Transfer-Encoding` and any coding but `chunked`.
                self.unknown |= self.coded || !value.eq_ignore_ascii_case(b"chunked");
                self.coded = true;
                self.chunked = true;
            }
            Field::Upgrade => {
                // actix reads a WebSocket upgrade's stream until the connection closes (the
                // scan over-matches: a doubt only ever stops it).
                if value
                    .windows(9)
                    .any(|w| w.eq_ignore_ascii_case(b"websocket"))
                {
                    self.unknown = true;
                }
            }
        }
    }

    /// Where the bytes after this (complete) head belong.
    fn body(&self) -> At {
        let head = self;
        if head.unknown || (head.chunked && head.length.is_some()) {
            At::Off
        } else if head.chunked {
            At::Size(SizePart::First, 0)
        } else {
            match head.length {
                Some(n) if n > 0 => At::Body(n),
                _ => At::Head,
            }
        }
    }
}

/// The header fields that frame a body.
enum Field {
    Length,
    Coding,
    Upgrade,
}

/// A `Content-Length` value as actix accepts it: decimal digits only.
fn parse_length(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(digit))
    })
}

/// One byte of chunked framing outside chunk data, extensions and trailer lines, as actix
/// reads it; [`At::Off`] on a byte actix refuses.
fn step(state: At, b: u8) -> At {
    match (state, b) {
        (At::Size(SizePart::First, _), _) => {
            hex(b).map_or(At::Off, |d| At::Size(SizePart::Digits, d))
        }
        (At::Size(SizePart::Digits | SizePart::Space, size), b'\t' | b' ') => {
            At::Size(SizePart::Space, size)
        }
        (At::Size(SizePart::Digits | SizePart::Space, size), b';') => At::Size(SizePart::Ext, size),
        (At::Size(SizePart::Digits | SizePart::Space, size), b'\r') => At::Size(SizePart::Lf, size),
        (At::Size(SizePart::Digits, size), _) => hex(b)
            .and_then(|d| size.checked_mul(16)?.checked_add(d))
            .map_or(At::Off, |size| At::Size(SizePart::Digits, size)),
        (At::Size(SizePart::Lf, 0), b'\n') => At::TrailerStart,
        (At::Size(SizePart::Lf, size), b'\n') => At::Data(size),
        (At::DataCr, b'\r') => At::DataLf,
        (At::DataLf, b'\n') => At::Size(SizePart::First, 0),
        (At::TrailerStart, b'\r') => At::EndLf,
        (At::TrailerStart, _) => At::Trailer,
        (At::TrailerLf, b'\n') => At::TrailerStart,
        (At::EndLf, b'\n') => At::Head,
        _ => At::Off,
    }
}

/// The value of a hex digit.
fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

#[cfg(test)]
mod tests {
    use super::HeadScan;

    /// Requests of every framing the scan follows, and where each ends.
    fn requests() -> (Vec<u8>, Vec<usize>) {
        let long = format!("X-Long: {}\r\n", "v".repeat(300));
        let parts: Vec<Vec<u8>> = vec![
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
            b"POST /c HTTP/1.1\r\nHost: x\r\ntransfer-encoding:  Chunked \r\n\r\n\
              4;name=value\r\nWiki\r\n5 ;x=\"a;b\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n\
              0\r\nX-Trailer: yes\r\nY: 2\r\n\r\n"
                .to_vec(),
            b"HEAD /d HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            b"POST /e HTTP/1.1\r\nHost: x\r\nUpgrade: echo-proto\r\nContent-Length: 2\r\n\r\nhi"
                .to_vec(),
            b"POST /f HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".to_vec(),
            b"GET /g HTTP/1.1\nHost: x\n\n".to_vec(),
            format!("GET /h HTTP/1.1\r\nHost: x\r\n{long}\r\n").into_bytes(),
            b"POST /i HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec(),
            b"PUT /j HTTP/1.1\r\nHost: x\r\nContent-Length:007\r\n\r\n1234567".to_vec(),
        ];
        let mut stream = Vec::new();
        let mut ends = Vec::new();
        for part in parts {
            stream.extend_from_slice(&part);
            ends.push(stream.len());
        }
        (stream, ends)
    }

    /// Feeds `stream` as the connection seam would, arriving `piece` bytes at a time: what
    /// follows a cut is fed again. Returns every position where the scan stood between
    /// requests.
    fn ends_seen(stream: &[u8], piece: usize) -> Vec<usize> {
        let mut scan = HeadScan::default();
        let mut ends = Vec::new();
        let (mut received, mut handed) = (0, 0);
        while received < stream.len() {
            received = (received + piece).min(stream.len());
            while handed < received {
                let fed = scan.feed(&stream[handed..received]);
                match fed.cut {
                    Some(cut) => {
                        assert!(cut > 0, "empty cut at {handed}");
                        handed += cut;
                        ends.push(handed);
                    }
                    None => {
                        handed = received;
                        if scan.between_heads() {
                            ends.push(handed);
                        }
                    }
                }
            }
        }
        ends
    }

    #[test]
    fn finds_every_request_end_whatever_the_reads() {
        let (stream, ends) = requests();
        for piece in 1..=stream.len() {
            assert_eq!(ends_seen(&stream, piece), ends, "{piece} bytes per read");
        }
    }

    #[test]
    fn finds_every_request_end_with_a_read_split_anywhere() {
        let (stream, ends) = requests();
        for split in 1..stream.len() {
            let mut scan = HeadScan::default();
            let mut seen = Vec::new();
            let mut handed = 0;
            for received in [split, stream.len()] {
                while handed < received {
                    match scan.feed(&stream[handed..received]).cut {
                        Some(cut) => {
                            handed += cut;
                            seen.push(handed);
                        }
                        None => {
                            handed = received;
                            if scan.between_heads() {
                                seen.push(handed);
                            }
                        }
                    }
                }
            }
            assert_eq!(seen, ends, "split at {split}");
        }
    }

    #[test]
    fn cuts_after_a_bodyless_head_followed_by_more() {
        let mut scan = HeadScan::default();
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let fed = scan.feed(two);
        assert!(fed.head);
        let cut = fed.cut.expect("cut after the first head");
        assert_eq!(&two[cut..], b"GET /b HTTP/1.1\r\n\r\n");
        // The rest is scanned when it is handed over: one head, nothing after it.
        let fed = scan.feed(&two[cut..]);
        assert_eq!((fed.cut, fed.head), (None, true));
        assert!(scan.between_heads());
    }

    #[test]
    fn follows_heads_across_reads() {
        let mut scan = HeadScan::default();
        assert_eq!(scan.feed(b"\r\nGET /a HTTP/1.1\r\nHo").cut, None);
        assert!(!scan.between_heads());
        assert_eq!(scan.feed(b"st: x\r\n\r").cut, None);
        let fed = scan.feed(b"\nGET");
        assert_eq!((fed.cut, fed.head), (Some(1), true));
    }

    #[test]
    fn skips_a_content_length_body_and_cuts_after_it() {
        let mut scan = HeadScan::default();
        let fed = scan.feed(b"POST /a HTTP/1.1\r\nContent-Length: 10\r\n\r\nhel");
        assert_eq!((fed.cut, fed.head), (None, true));
        assert!(!scan.between_heads(), "half a body");
        let fed = scan.feed(b"lo, ");
        assert_eq!((fed.cut, fed.head), (None, false));
        assert_eq!(scan.feed(b"youGET /b").cut, Some(3));
    }

    #[test]
    fn follows_a_chunked_body_to_its_last_chunk_and_trailers() {
        let body = b"3;ext\r\nabc\r\n0\r\nTrailer: x\r\n\r\n";
        let head = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for end in 0..body.len() {
            let mut scan = HeadScan::default();
            assert_eq!(scan.feed(head).cut, None);
            assert_eq!(scan.feed(&body[..end]).cut, None, "up to {end}");
            assert!(!scan.between_heads(), "up to {end}");
            let mut rest = body[end..].to_vec();
            rest.extend_from_slice(b"GET /b");
            assert_eq!(scan.feed(&rest).cut, Some(body.len() - end), "from {end}");
        }
    }

    #[test]
    fn blank_lines_between_requests_go_with_the_next_one() {
        let mut scan = HeadScan::default();
        let bytes = b"GET /a HTTP/1.1\r\n\r\n\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        assert_eq!(scan.feed(bytes).cut, Some(19));
        let fed = scan.feed(&bytes[19..]);
        assert_eq!((fed.cut, fed.head), (None, true));
        assert!(scan.between_heads());
    }

    #[test]
    fn a_bodyless_request_ending_a_read_needs_nothing_kept() {
        let mut scan = HeadScan::default();
        let fed = scan.feed(b"GET /a HTTP/1.1\r\n\r\n");
        assert_eq!((fed.cut, fed.head), (None, true));
        assert!(scan.between_heads());
    }

    /// A request whose framing the scan does not follow, then a request: no cut, then or
    /// ever after.
    fn assert_stops(request: &[u8]) {
        let mut scan = HeadScan::default();
        let mut bytes = request.to_vec();
        bytes.extend_from_slice(b"GET /next HTTP/1.1\r\n\r\nGET /last HTTP/1.1\r\n\r\n");
        let shown = String::from_utf8_lossy(request);
        assert_eq!(scan.feed(&bytes).cut, None, "{shown:?}");
        assert!(!scan.between_heads(), "{shown:?}");
        assert_eq!(
            scan.feed(b"GET /d HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\n\r\n")
                .cut,
            None,
            "{shown:?}"
        );
        // Byte by byte as well.
        let mut scan = HeadScan::default();
        for b in bytes.chunks(1) {
            assert_eq!(scan.feed(b).cut, None, "{shown:?}");
        }
        assert!(!scan.between_heads(), "{shown:?}");
    }

    #[test]
    fn stops_on_framing_actix_refuses() {
        let te = "POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
        for body in [
            "zz\r\nabc\r\n0\r\n\r\n",
            " 3\r\nabc\r\n0\r\n\r\n",
            "3\nabc\r\n0\r\n\r\n",
            "3 x\r\nabc\r\n0\r\n\r\n",
            "3\r\nabcdef\r\n0\r\n\r\n",
            "3\r\nabc\n0\r\n\r\n",
            "fffffffffffffffff\r\n",
            "0\r\nTrailer: x\r\r\n\r\n",
            "0\r\n\rX",
        ] {
            assert_stops(format!("{te}{body}").as_bytes());
        }
        for fields in [
            "Content-Length: 3\r\nContent-Length: 3",
            "Content-Length: +3",
            "Content-Length: 3, 3",
            "Content-Length: ",
            "Content-Length: 99999999999999999999999",
            "Transfer-Encoding: gzip, chunked",
            "Transfer-Encoding: identity",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            "Transfer-Encoding: chunked\r\nContent-Length: 3",
            "Content-Length: 3\r\nTransfer-Encoding: chunked",
        ] {
            assert_stops(format!("POST /a HTTP/1.1\r\n{fields}\r\n\r\nabc\r\n").as_bytes());
        }
        // A framing field too long to read whole.
        let padded = format!("Content-Length:{}3", " ".repeat(80));
        assert_stops(format!("POST /a HTTP/1.1\r\n{padded}\r\n\r\nabc").as_bytes());
    }

    #[test]
    fn stops_on_websocket_upgrades_and_connect() {
        for request in [
            "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
            "GET /ws HTTP/1.1\r\nupgrade:  WebSocket \r\n\r\n",
            "GET /ws HTTP/1.1\r\nUpgrade: h2c, websocket\r\nContent-Length: 2\r\n\r\nhi",
            "CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n",
        ] {
            assert_stops(request.as_bytes());
        }
    }

    #[test]
    fn frames_other_upgrades_like_any_request() {
        let mut scan = HeadScan::default();
        let req = b"GET /t HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\nearly";
        assert_eq!(scan.feed(req).cut, Some(req.len() - b"early".len()));
        // Stopped by the seam once the handler switches: nothing is cut after that.
        scan.stop();
        assert_eq!(scan.feed(b"GET /a HTTP/1.1\r\n\r\nGET /b").cut, None);
    }

    #[test]
    fn other_long_lines_do_not_matter() {
        let mut scan = HeadScan::default();
        let req = format!(
            "GET /{} HTTP/1.1\r\nX-Content-Length-Like: {}\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            "p".repeat(500),
            "9".repeat(500)
        );
        let cut = scan.feed(req.as_bytes()).cut.expect("a cut");
        assert_eq!(&req[cut..], "GET /b HTTP/1.1\r\n\r\n");
    }
}
