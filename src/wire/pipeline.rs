//! Pipelined requests, one at a time.
//!
//! actix-http decodes every request already in its read buffer before answering the first,
//! and its encoder then takes a pipelined request's `Connection` and `HEAD`-ness from the last
//! request decoded, not from the one it answers: a `HEAD` answered with a body, `connection:
//! close` on responses after which the connection stays open. The connection seam avoids that
//! by handing actix one request at a time: when a request head without a body (no
//! `Content-Length`, `Transfer-Encoding` or `Upgrade`) is followed by more bytes, those bytes
//! are kept back until that request has been answered.
//!
//! The scan follows heads from the connection's start. Once a request carries a body it
//! stops for the rest of the connection (finding where a body ends is actix's job): bytes are
//! only ever kept back behind a head actix agrees has no body, so nothing actix needs for the
//! request it is serving is held.

/// Where a connection's byte stream stands, seen from the request heads.
#[derive(Debug, Default)]
pub struct HeadScan {
    /// The scan gave up (a request with a body, or an upgrade, came by).
    off: bool,
    /// The request line has been seen (blank lines before it are allowed and skipped).
    started: bool,
    /// The current head announces a body or an upgrade.
    has_body: bool,
    /// The current line's first bytes, lower-cased (enough to recognise header names).
    line: [u8; NAME_PREFIX],
    /// How many of `line` are filled.
    kept: usize,
    /// The current line's length so far.
    line_len: usize,
}

/// How many bytes of a line are kept to recognise the header names that matter.
const NAME_PREFIX: usize = 24;

impl HeadScan {
    /// Feeds bytes handed to actix; returns where a bodyless head ends inside them when more
    /// bytes follow it (the caller keeps those back). Gives up for good on a head with a body.
    pub fn feed(&mut self, bytes: &[u8]) -> Option<usize> {
        if self.off {
            return None;
        }
        let mut at = 0;
        while at < bytes.len() {
            let Some(nl) = memchr::memchr(b'\n', &bytes[at..]) else {
                self.take(&bytes[at..]);
                return None;
            };
            self.take(&bytes[at..at + nl]);
            at += nl + 1;
            let blank = self.line_len == 0 || (self.line_len == 1 && self.line[0] == b'\r');
            if blank && self.started {
                // End of a head.
                if self.has_body {
                    self.off = true;
                    return None;
                }
                *self = HeadScan::default();
                if at < bytes.len() {
                    return Some(at);
                }
                continue;
            }
            if !blank {
                if self.started && announces_body(&self.line[..self.kept]) {
                    self.has_body = true;
                }
                self.started = true;
            }
            self.kept = 0;
            self.line_len = 0;
        }
        None
    }

    /// Adds part of the current line (its first bytes are kept, lower-cased).
    fn take(&mut self, part: &[u8]) {
        let n = (NAME_PREFIX - self.kept).min(part.len());
        for (kept, b) in self.line[self.kept..self.kept + n].iter_mut().zip(part) {
            *kept = b.to_ascii_lowercase();
        }
        self.kept += n;
        self.line_len += part.len();
    }

    /// Whether everything fed so far is whole bodyless heads: no head is half read.
    pub fn between_heads(&self) -> bool {
        !self.off && !self.started && self.line_len == 0
    }

    /// Stops scanning for the rest of the connection.
    pub fn stop(&mut self) {
        self.off = true;
    }
}

/// Whether a header line (lower-cased prefix) may give its request a body or an upgrade.
/// Over-matching only turns the one-at-a-time handling off, never on.
fn announces_body(line: &[u8]) -> bool {
    line.starts_with(b"content-length")
        || line.starts_with(b"transfer-encoding")
        || line.starts_with(b"upgrade")
}

#[cfg(test)]
mod tests {
    use super::HeadScan;

    #[test]
    fn cuts_after_a_bodyless_head_followed_by_more() {
        let mut scan = HeadScan::default();
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        let cut = scan.feed(two).expect("cut after the first head");
        assert_eq!(&two[cut..], b"GET /b HTTP/1.1\r\n\r\n");
        // The rest is scanned when it is handed over: one head, nothing after it.
        assert_eq!(scan.feed(&two[cut..]), None);
    }

    #[test]
    fn follows_heads_across_reads() {
        let mut scan = HeadScan::default();
        assert_eq!(scan.feed(b"\r\nGET /a HTTP/1.1\r\nHo"), None);
        assert_eq!(scan.feed(b"st: x\r\n\r"), None);
        assert_eq!(scan.feed(b"\nGET"), Some(1));
    }

    #[test]
    fn gives_up_on_a_request_with_a_body() {
        let mut scan = HeadScan::default();
        let req = b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nhiGET /b HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\n\r\n";
        assert_eq!(scan.feed(req), None);
        assert_eq!(
            scan.feed(b"GET /d HTTP/1.1\r\n\r\nGET /e HTTP/1.1\r\n\r\n"),
            None
        );
    }

    #[test]
    fn gives_up_on_chunked_and_upgrades() {
        for header in ["Transfer-Encoding: chunked", "upgrade: websocket"] {
            let mut scan = HeadScan::default();
            let req = format!("GET /a HTTP/1.1\r\n{header}\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
            assert_eq!(scan.feed(req.as_bytes()), None, "{header}");
        }
    }
}
