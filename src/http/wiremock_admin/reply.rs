//! What the endpoints share to answer: WireMock's error bodies for a bad UUID, a bad JSON body or
//! a stub that does not compile, and its empty `{}`.

use actix_web::HttpResponse;
use serde_json::Value;

use crate::http::wiremock_json as wj;
use crate::scenario::Diagnostic;

/// A value, or the error answer to send instead.
pub(super) type Answer<T> = Result<T, Box<HttpResponse>>;

/// A UUID path segment, or WireMock's 400.
pub(super) fn parse_uuid(text: &str) -> Answer<uuid::Uuid> {
    uuid::Uuid::parse_str(text).map_err(|_| {
        Box::new(
            HttpResponse::BadRequest()
                .json(wj::Errors::one(10, format!("{text} is not a valid UUID"))),
        )
    })
}

/// A JSON body, or WireMock's 422.
pub(super) fn json_body(body: &[u8]) -> Answer<Value> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        body
    };
    serde_json::from_slice(text).map_err(|err| {
        Box::new(HttpResponse::UnprocessableEntity().json(wj::Errors {
            errors: vec![wj::ErrorItem {
                code: 10,
                source: Some(wj::ErrorSource {
                    pointer: "/".into(),
                }),
                title: "Error parsing JSON".into(),
                detail: Some(err.to_string()),
            }],
        }))
    })
}

pub(super) fn unprocessable(diags: &[Diagnostic]) -> HttpResponse {
    HttpResponse::UnprocessableEntity().json(wj::Errors::parsing(diags))
}

pub(super) fn empty() -> HttpResponse {
    HttpResponse::Ok().json(wj::Empty {})
}
