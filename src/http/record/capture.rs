//! An upstream's answer as a native `response`: its body decoded (`gzip`, `deflate`, `br`),
//! its headers cleaned and redacted, its body written as `json`, `body` or a `file` beside the
//! recording.
//!
//! Nothing here trusts the upstream: a body that does not decode is kept as sent (with its
//! `Content-Encoding`), decoding stops at [`MAX_BODY`], and header values that are not text
//! are read as lossy UTF-8. Decoding streams: from the kept body (in memory or spooled to a
//! temporary file) through the decoders into another [`Spool`], so a large body never sits
//! whole in memory. Runs on the blocking pool.

use std::io::{BufRead as _, Read};
use std::path::Path;
use std::time::Duration;

use actix_http::header::{HeaderName, HeaderValue};
use actix_web::http::StatusCode;
use indexmap::IndexMap;
use serde_json::{Map, Value};

use super::key::is_redacted;
use super::spool::{Spool, Spooled};

/// Largest body recorded, as sent and decoded, in bytes (bodies past
/// [`spool::IN_MEMORY`](super::spool::IN_MEMORY) are kept on disk): a bound on the disk a
/// decompression bomb can fill.
pub const MAX_BODY: u64 = 4 * 1024 * 1024 * 1024;

/// Largest body written inline (`json` or `body`) rather than as a `file`.
const INLINE_BYTES: usize = 64 * 1024;

/// What a redacted header's value is written as.
pub const REDACTED: &str = "<redacted>";

/// Headers never written: the body is stored decoded and whole, and the date is the replay's.
const DROPPED: [&str; 5] = [
    "content-encoding",
    "content-length",
    "transfer-encoding",
    "connection",
    "date",
];

/// An upstream's answer, whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Spooled,
    /// How long its head took (written as `delayMs` with `--keep-latency`).
    pub took: Duration,
}

/// An answer as a native response, and the bytes of its `file` body when it has one (the
/// response's `file` key is set when the file is named, see [`Captured::name_file`]).
pub struct Captured {
    pub response: Map<String, Value>,
    pub file: Option<BodyFile>,
}

/// A body to write beside the recording.
pub struct BodyFile {
    pub body: Spooled,
    /// The extension the file gets (its type on replay comes from the recorded
    /// `Content-Type`).
    pub extension: String,
}

impl Captured {
    /// Points the response at its `file` body, written at `relative` (to the recording's
    /// folder).
    pub fn name_file(&mut self, relative: &str) {
        self.response
            .insert("file".into(), Value::String(relative.to_owned()));
    }
}

/// The native response for `answer`; a decoded body that needs a temporary file gets it in
/// `dir` (the recording's folder).
pub fn capture(answer: Answer, keep_latency: bool, dir: &Path) -> Captured {
    let encodings = content_encodings(&answer.headers);
    let decoded = if encodings.is_empty() {
        Ok(None)
    } else {
        decode(&answer.body, &encodings, dir).map(Some)
    };
    let (body, decoded) = match decoded {
        Ok(Some(body)) => (body, true),
        Ok(None) => (answer.body, true),
        Err(why) => {
            tracing::warn!(
                "recording: the body stays as sent ({}): {why}",
                encodings.join(", ")
            );
            (answer.body, false)
        }
    };
    let mut headers: IndexMap<String, Vec<String>> = IndexMap::new();
    for (name, value) in &answer.headers {
        let lower = name.as_str();
        if DROPPED.contains(&lower) && (lower != "content-encoding" || decoded) {
            continue;
        }
        let text = if is_redacted(lower) {
            REDACTED.to_owned()
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        headers.entry(lower.to_owned()).or_default().push(text);
    }
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.first())
        .map(|v| v.to_ascii_lowercase());
    let mut response = Map::new();
    response.insert("status".into(), Value::from(answer.status.as_u16()));
    if !headers.is_empty() {
        let map: Map<String, Value> = headers
            .into_iter()
            .map(|(k, mut v)| {
                let value = match v.len() {
                    1 => Value::String(v.remove(0)),
                    _ => Value::from(v),
                };
                (k, value)
            })
            .collect();
        response.insert("headers".into(), Value::Object(map));
    }
    if keep_latency {
        let ms = u64::try_from(answer.took.as_millis()).unwrap_or(u64::MAX);
        response.insert("delayMs".into(), Value::from(ms));
    }
    let no_body = answer.status.is_informational()
        || answer.status == StatusCode::NO_CONTENT
        || answer.status == StatusCode::NOT_MODIFIED;
    let mut file = None;
    if !no_body && !body.is_empty() {
        // A body still encoded is bytes, whatever its type.
        let inline = match body.in_memory() {
            Some(bytes) if decoded => inline(bytes, content_type.as_deref()),
            _ => None,
        };
        match inline {
            Some((key, value)) => {
                response.insert(key.into(), value);
            }
            None => {
                file = Some(BodyFile {
                    body,
                    extension: extension(content_type.as_deref()),
                })
            }
        }
    }
    Captured { response, file }
}

/// `json` for a JSON body, `body` for short text; `None`: a `file`.
fn inline(body: &[u8], content_type: Option<&str>) -> Option<(&'static str, Value)> {
    if body.len() > INLINE_BYTES {
        return None;
    }
    let is_json = content_type.is_some_and(|t| {
        let essence = t.split(';').next().unwrap_or_default().trim();
        essence == "application/json" || essence.ends_with("+json")
    });
    if is_json && let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Some(("json", value));
    }
    let textual = content_type.is_none_or(|t| {
        t.starts_with("text/")
            || [
                "json",
                "xml",
                "javascript",
                "x-www-form-urlencoded",
                "yaml",
                "csv",
            ]
            .iter()
            .any(|k| t.contains(k))
    });
    match std::str::from_utf8(body) {
        Ok(text) if textual => Some(("body", Value::String(text.to_owned()))),
        _ => None,
    }
}

/// The extension for a `file` body of this type (`bin` when none is known).
fn extension(content_type: Option<&str>) -> String {
    content_type
        .and_then(|t| t.split(';').next())
        .and_then(|t| mime_guess::get_mime_extensions_str(t.trim()))
        .and_then(|exts| exts.first())
        .map_or_else(|| "bin".to_owned(), |e| (*e).to_owned())
}

/// The codings of `Content-Encoding`, in the order applied, lower-case.
fn content_encodings(headers: &[(HeaderName, HeaderValue)]) -> Vec<String> {
    headers
        .iter()
        .filter(|(n, _)| n == actix_http::header::CONTENT_ENCODING)
        .filter_map(|(_, v)| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| !c.is_empty() && c != "identity")
        .collect()
}

/// The body with its codings undone (last applied first), within [`MAX_BODY`], streamed
/// from `body` through the decoders into a new spool in `dir`.
fn decode(body: &Spooled, encodings: &[String], dir: &Path) -> Result<Spooled, String> {
    let mut reader = body
        .reader()
        .map_err(|err| format!("cannot read the kept body: {err}"))?;
    for coding in encodings.iter().rev() {
        reader = decoder(coding, reader)?;
    }
    let mut out = Spool::new(dir);
    std::io::copy(&mut reader.take(MAX_BODY + 1), &mut out)
        .map_err(|err| format!("it does not decode: {err}"))?;
    if out.len() > MAX_BODY {
        return Err(format!("decoded, it is over {MAX_BODY} bytes"));
    }
    out.finish()
        .map_err(|err| format!("cannot keep the decoded body: {err}"))
}

/// A reader undoing `coding` over `inner`.
fn decoder<'a>(coding: &str, inner: Box<dyn Read + 'a>) -> Result<Box<dyn Read + 'a>, String> {
    Ok(match coding {
        "gzip" | "x-gzip" => Box::new(flate2::read::MultiGzDecoder::new(inner)),
        // RFC 9110 says zlib; some servers send raw deflate: told apart by the zlib header.
        "deflate" => {
            let mut buffered = std::io::BufReader::new(inner);
            let start = buffered
                .fill_buf()
                .map_err(|err| format!("it does not decode: {err}"))?;
            let zlib = start.len() >= 2
                && start[0] & 0x0f == 8
                && (u16::from(start[0]) << 8 | u16::from(start[1])) % 31 == 0;
            if zlib {
                Box::new(flate2::bufread::ZlibDecoder::new(buffered))
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(buffered))
            }
        }
        "br" => Box::new(brotli_decompressor::Decompressor::new(inner, 4096)),
        other => return Err(format!("the coding {other:?} is not decoded")),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    fn header(name: &'static str, value: &'static str) -> (HeaderName, HeaderValue) {
        (
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    }

    fn answer(headers: Vec<(HeaderName, HeaderValue)>, body: Vec<u8>) -> Answer {
        Answer {
            status: StatusCode::OK,
            headers,
            body: Spooled::Memory(body),
            took: Duration::from_millis(42),
        }
    }

    #[test]
    fn gzip_json_is_stored_decoded_without_transport_headers() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(br#"{"a":[1,2]}"#).expect("gzip");
        let body = gz.finish().expect("gzip");
        let got = capture(
            answer(
                vec![
                    header("content-type", "application/json"),
                    header("content-encoding", "gzip"),
                    header("date", "Mon, 01 Jan 2024 00:00:00 GMT"),
                    header("set-cookie", "sid=1"),
                    header("set-cookie", "other=2"),
                    header("x-upstream", "yes"),
                ],
                body,
            ),
            true,
            Path::new("."),
        );
        let response = Value::Object(got.response);
        assert_eq!(
            response,
            serde_json::json!({
                "status": 200,
                "headers": { "content-type": "application/json",
                             "set-cookie": ["<redacted>", "<redacted>"], "x-upstream": "yes" },
                "delayMs": 42,
                "json": { "a": [1, 2] }
            })
        );
        assert!(got.file.is_none());
    }

    #[test]
    fn binary_bodies_become_files_and_undecodable_ones_keep_their_coding() {
        let got = capture(
            answer(
                vec![header("content-type", "image/png")],
                vec![0x89, b'P', b'N', b'G', 0, 0xff],
            ),
            false,
            Path::new("."),
        );
        let file = got.file.expect("a file body");
        assert_eq!(file.extension, "png");
        assert_eq!(
            file.body.in_memory(),
            Some(&[0x89, b'P', b'N', b'G', 0, 0xff][..])
        );
        let got = capture(
            answer(
                vec![header("content-encoding", "gzip")],
                b"not gzip".to_vec(),
            ),
            false,
            Path::new("."),
        );
        assert_eq!(got.response["headers"]["content-encoding"], "gzip");
        assert!(got.file.is_some(), "kept as sent, as bytes");
    }

    #[test]
    fn brotli_and_deflate_decode() {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"hello deflate").expect("zlib");
        let zlib = z.finish().expect("zlib");
        let dir = Path::new(".");
        let decoded = |bytes: Vec<u8>, coding: &str| {
            decode(&Spooled::Memory(bytes), &[coding.to_owned()], dir)
                .expect("decodes")
                .in_memory()
                .map(<[u8]>::to_vec)
        };
        assert_eq!(
            decoded(zlib, "deflate").as_deref(),
            Some(&b"hello deflate"[..])
        );
        let mut raw = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        raw.write_all(b"hello raw deflate").expect("deflate");
        let raw = raw.finish().expect("deflate");
        assert_eq!(
            decoded(raw, "deflate").as_deref(),
            Some(&b"hello raw deflate"[..])
        );
        // "hello" compressed with brotli (quality 11).
        let br = vec![0x0b, 0x02, 0x80, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x03];
        assert_eq!(decoded(br, "br").as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn a_large_gzip_body_decodes_into_a_spooled_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let plain: Vec<u8> = (0..3 * super::super::spool::IN_MEMORY)
            .map(|i| (i % 251) as u8)
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&plain).expect("gzip");
        let body = Spooled::Memory(gz.finish().expect("gzip"));
        let out = decode(&body, &["gzip".into()], dir.path()).expect("decodes");
        assert!(out.in_memory().is_none(), "spooled to disk");
        let mut back = Vec::new();
        out.reader()
            .expect("reader")
            .read_to_end(&mut back)
            .expect("read");
        assert!(back == plain);
    }
}
