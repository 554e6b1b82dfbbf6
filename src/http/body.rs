//! Reading a request body, bounded in size (`--max-body-bytes`) and in time
//! (`--body-timeout-ms`).
//!
//! A body over the limit is refused as soon as that is known: from its declared
//! `Content-Length` before any byte is read (also at the `Expect: 100-continue` decision, so
//! the client never sends it), or once the bytes read pass the limit (chunked bodies). What
//! was read is handed back for the journal either way.

use std::time::Duration;

use actix_http::RequestHead;
use actix_http::header::CONTENT_LENGTH;
use actix_web::http::StatusCode;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt as _;

/// Why a body was not read to its end: the status, the message, and the bytes read so far.
pub struct Refused {
    /// `413`, `408` or `400`.
    pub status: StatusCode,
    /// Says which limit or what went wrong, naming the flag that sets it.
    pub message: String,
    /// The part of the body read before it was refused.
    pub partial: Bytes,
}

/// The body length a head declares, if it declares one.
fn declared(head: &RequestHead) -> Option<usize> {
    head.headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// The `413` for a head whose declared body is over `limit`, before any byte is read.
pub fn refuse_declared(head: &RequestHead, limit: usize) -> Option<Refused> {
    declared(head)
        .is_some_and(|n| n > limit)
        .then(|| too_large(limit, Bytes::new()))
}

fn too_large(limit: usize, partial: Bytes) -> Refused {
    Refused {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("request body exceeds the limit of {limit} bytes (--max-body-bytes)"),
        partial,
    }
}

/// Reads the whole body: at most `limit` bytes, within `timeout` when one is set.
pub async fn read(
    head: &RequestHead,
    mut payload: actix_http::Payload,
    limit: usize,
    timeout: Option<Duration>,
) -> Result<Bytes, Refused> {
    if let Some(refused) = refuse_declared(head, limit) {
        return Err(refused);
    }
    let mut body = BytesMut::with_capacity(declared(head).unwrap_or(0));
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    loop {
        let next = match deadline {
            None => payload.next().await,
            Some(at) => match tokio::time::timeout_at(at, payload.next()).await {
                Ok(next) => next,
                Err(_) => {
                    return Err(Refused {
                        status: StatusCode::REQUEST_TIMEOUT,
                        message: format!(
                            "request body not complete within {} ms (--body-timeout-ms)",
                            timeout.unwrap_or_default().as_millis()
                        ),
                        partial: body.freeze(),
                    });
                }
            },
        };
        let Some(chunk) = next else {
            break;
        };
        let chunk = match chunk {
            Ok(c) => c,
            Err(err) => {
                return Err(Refused {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("cannot read request body: {err}"),
                    partial: body.freeze(),
                });
            }
        };
        if body.len() + chunk.len() > limit {
            return Err(too_large(limit, body.freeze()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
