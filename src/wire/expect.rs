//! The `Expect: 100-continue` hook's plumbing.
//!
//! actix-http calls the hook for HTTP/1.1 requests carrying `Expect: 100-continue`; `Ok`
//! makes it write `100 Continue` and go on to the app, `Err` makes the error the final answer
//! without reading the body (actix then closes the connection). The decision itself belongs
//! to the HTTP layer ([`crate::http`]); this side marks the connection busy while it is made,
//! so the seam's head timeout does not fire on a request that has arrived, and reports a
//! final answer that closes the connection to the seam, which then hands actix nothing more
//! of the connection (see [`super::io`]).

use std::future::Future;

use actix_http::body::BoxBody;
use actix_http::{Request, Response};

use super::io::ConnControl;

/// Runs `decide` on `req` with the connection marked busy.
pub fn hook<X, XF>(
    decide: &X,
    req: Request,
) -> impl Future<Output = Result<Request, Response<BoxBody>>> + use<X, XF>
where
    X: Fn(Request) -> XF,
    XF: Future<Output = Result<Request, Response<BoxBody>>>,
{
    // The head has arrived: the seam's head timeout stops while the decision is made.
    let ctl = req.conn_data::<ConnControl>().cloned();
    let busy = ctl.as_ref().map(ConnControl::busy);
    let decision = decide(req);
    async move {
        let decided = decision.await;
        if let (Err(resp), Some(ctl)) = (&decided, ctl) {
            ctl.answered(resp.head());
        }
        drop(busy);
        decided
    }
}
