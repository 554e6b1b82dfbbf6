//! WireMock's file fallback: a `GET` that no route matches is answered from the `__files`
//! directory at the top of the scenarios directory when a file sits at its path.
//!
//! WireMock 3 does this for every root it serves (`ROOT/__files/**`): `GET /data.json`
//! answers `__files/data.json`, a directory answers its `index.html`, the query is ignored,
//! and other methods (`HEAD` included) get the usual `404`. The exchange stays unmatched in
//! the journal, as in WireMock (`wasMatched: false`). Content types follow the file's
//! extension; a file without a known one is sent as `application/json` and a directory's
//! `index.html` as `text/html;charset=utf-8`, WireMock's choices.
//!
//! The path is percent-decoded and confined to `__files` on its canonical form, so neither
//! `..` nor a symbolic link leads out of it. Only the unmatched path pays for the lookup.

use std::path::{Path, PathBuf};

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue, HttpDate};
use bytes::Bytes;

use crate::journal::SentResponse;
use crate::store::Source;

/// The largest file answered this way; bigger ones are left to the `404`.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The file under the scenarios directory's `__files` at `path`, if there is one (read off
/// the worker's event loop).
pub(super) async fn lookup(state: &super::AppState, path: &str) -> Option<Found> {
    let files = root(state.store.source())?;
    let path = path.to_owned();
    actix_web::web::block(move || find(&files, &path))
        .await
        .ok()
        .flatten()
}

/// The `__files` directory of a scenarios directory, if it has one.
fn root(source: &Source) -> Option<PathBuf> {
    match source {
        Source::Dir(dir) => {
            let files = dir.join("__files");
            files.is_dir().then_some(files)
        }
        Source::File(_) | Source::None => None,
    }
}

/// A file found for a request path.
pub(super) struct Found {
    bytes: Bytes,
    content_type: &'static str,
    modified: Option<std::time::SystemTime>,
}

/// Looks `path` (the request's, still percent-encoded) up under `files`: the file itself, or a
/// directory's `index.html`. Blocking: run it off the worker's event loop.
fn find(files: &Path, path: &str) -> Option<Found> {
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .ok()?;
    let rel = decoded.trim_start_matches('/');
    if rel.split('/').any(|part| part == "..") || rel.contains('\\') || rel.contains('\0') {
        return None;
    }
    let root = files.canonicalize().ok()?;
    let mut target = root.join(rel).canonicalize().ok()?;
    if !target.starts_with(&root) {
        return None;
    }
    let mut content_type = None;
    if target.is_dir() {
        target.push("index.html");
        content_type = Some("text/html;charset=utf-8");
    }
    let meta = std::fs::metadata(&target).ok()?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        return None;
    }
    let bytes = std::fs::read(&target).ok()?;
    let content_type = content_type.unwrap_or_else(|| {
        mime_guess::from_path(&target)
            .first_raw()
            .unwrap_or("application/json")
    });
    Some(Found {
        bytes: Bytes::from(bytes),
        content_type,
        modified: meta.modified().ok(),
    })
}

impl Found {
    /// `200` with the file, its type, `Last-Modified` and `Accept-Ranges`, as WireMock sends
    /// it, and what the journal keeps of it.
    pub(super) fn into_response(self) -> (HttpResponse, SentResponse) {
        let mut headers = vec![(
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        )];
        if let Some(modified) = self.modified
            && let Ok(value) = HeaderValue::from_str(&HttpDate::from(modified).to_string())
        {
            headers.push((header::LAST_MODIFIED, value));
        }
        headers.push((header::ACCEPT_RANGES, HeaderValue::from_static("bytes")));
        let mut resp = HttpResponse::build(StatusCode::OK);
        for (name, value) in &headers {
            resp.insert_header((name.clone(), value.clone()));
        }
        let resp = resp.body(self.bytes.clone());
        (
            resp,
            SentResponse {
                headers,
                body: self.bytes,
            },
        )
    }
}
