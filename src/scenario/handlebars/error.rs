//! How the dialect's errors are made and shown: an error that fails the render, WireMock's
//! in-place `[ERROR: …]`, and the message a failed render returns.

use std::fmt;

use handlebars::{RenderError, RenderErrorReason};
use serde_json::Value as Json;

/// WireMock's in-place helper error: `[ERROR: message]`, rendered as the helper's output.
pub(super) fn wm_error(msg: impl fmt::Display) -> Json {
    Json::String(format!("[ERROR: {msg}]"))
}

/// An error that fails the render.
pub(super) fn fail(msg: impl Into<String>) -> RenderError {
    RenderErrorReason::Other(msg.into()).into()
}

/// The message of a failed render, with its position when the template gives one.
pub(super) fn render_error_message(e: &RenderError) -> String {
    let reason = match e.reason() {
        RenderErrorReason::Other(m) => m.clone(),
        RenderErrorReason::NestedError(inner) => inner.to_string(),
        other => other.to_string(),
    };
    match (e.line_no, e.column_no) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: {reason}"),
        _ => reason,
    }
}
