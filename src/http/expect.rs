//! The `Expect: 100-continue` decision, made on the request head before any body is sent.
//!
//! actix-http asks this for HTTP/1.1 requests carrying `Expect: 100-continue` (through the
//! hook in [`crate::wire`]), and `crate::wire::http2` for HTTP/2 ones; `Ok` makes it write `100 Continue` and go on to the app, `Err`
//! makes the error the final answer without reading the body. The route is chosen on the head
//! alone (body matchers skipped):
//!
//! - a head over `--max-uri-bytes` or `--max-header-bytes`: `414` or `431` at once;
//! - a declared body over `--max-body-bytes`: `413` at once;
//! - `continue` (default) or no route: `100 Continue` at once;
//! - `{"continueAfterMs": N}`: `100 Continue` after N ms;
//! - `ignore`: no `100` at all (the connection seam swallows it; over HTTP/2 the stream sends
//!   none); the client sends its body after its own timeout;
//! - `reject`: the route's answer (through [`super::answer::answer`], like any other answer:
//!   its script advances, its templates render) is the final answer, sent without `100` and
//!   without reading the body; the connection then closes.

use actix_http::body::BoxBody;
use actix_http::{HttpMessage as _, Request, Response};
use actix_web::web;

use super::AppState;
use super::answer::{self, Incoming};
use crate::matching::RequestView;
use crate::scenario::compiled::ExpectRule;
use crate::wire::http2::H2Stream;
use crate::wire::io::ConnControl;

/// Decides what happens to a request that asked for `100 Continue`.
pub async fn decide(
    state: web::Data<AppState>,
    req: Request,
) -> Result<Request, Response<BoxBody>> {
    if let Some(resp) = answer::refuse_head(&state, req.head()) {
        return Err(resp.into());
    }
    if let Some(resp) = answer::refuse_body(&state, req.head()) {
        return Err(resp.into());
    }
    // Recording every request: the body goes to the target, whatever the routes say.
    if state.recorder.takes_all() {
        return Ok(req);
    }
    let rule = {
        let snapshot = state.store.snapshot();
        let mut view = RequestView::new(
            req.method().as_str(),
            req.uri().path(),
            req.uri().query().unwrap_or(""),
            req.headers(),
            &[],
        );
        view.head_only = true;
        snapshot.index.peek(&view).map(|r| r.expect)
    };
    match rule {
        None | Some(ExpectRule::Continue) => Ok(req),
        Some(ExpectRule::After(wait)) => {
            actix_web::rt::time::sleep(wait).await;
            Ok(req)
        }
        Some(ExpectRule::Ignore) => {
            if let Some(ctl) = req.conn_data::<ConnControl>() {
                ctl.swallow_continue();
            } else if let Some(stream) = req.extensions().get::<H2Stream>() {
                stream.skip_continue();
            }
            Ok(req)
        }
        Some(ExpectRule::Reject) => {
            Err(answer::answer(&state, Incoming::expect(&req)).await.into())
        }
    }
}
