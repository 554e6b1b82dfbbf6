//! The live journal page at `/__understudy/ui`: one self-contained HTML file (inline CSS and
//! script, no external fetch) served with a strict `Content-Security-Policy`, and the
//! journal's event stream it reads (`stream`, mounted in the native admin API as
//! `…/requests/stream`).
//!
//! The page itself holds no data and needs no token: everything it shows comes from the
//! native admin API under `/__understudy/admin/`, called with `fetch` and, when the server
//! has an admin token, `Authorization: Bearer` (the page asks for the token and keeps it in
//! memory only). `docs/ui.md` describes the page.

use std::sync::OnceLock;

use actix_web::HttpResponse;
use actix_web::http::header;
use base64::Engine as _;

pub mod stream;

/// Where the page is served.
pub const PATH: &str = "/__understudy/ui";

/// The page: HTML, CSS and script in one file.
const PAGE: &str = include_str!("page.html");

/// `GET /__understudy/ui`: the page, never cached.
pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, csp()))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .body(PAGE)
}

/// The policy: nothing but the page's own inline style and script (by hash) and fetches to
/// this server.
fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; \
             img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            source_hash(PAGE, "<style>", "</style>"),
            source_hash(PAGE, "<script>", "</script>"),
        )
    })
}

/// `'sha256-…'` of the text between `open` and `close` in `page`; `'none'` when absent.
fn source_hash(page: &str, open: &str, close: &str) -> String {
    use sha2::{Digest as _, Sha256};
    let Some((_, rest)) = page.split_once(open) else {
        return "'none'".into();
    };
    let Some((inline, _)) = rest.split_once(close) else {
        return "'none'".into();
    };
    let digest = Sha256::digest(inline.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

#[cfg(test)]
mod tests {
    use super::{PAGE, csp};

    #[test]
    fn the_policy_names_one_hash_for_the_style_and_one_for_the_script() {
        let policy = csp();
        assert_eq!(policy.matches("'sha256-").count(), 2, "{policy}");
        assert_eq!(PAGE.matches("<script>").count(), 1);
        assert_eq!(PAGE.matches("<style>").count(), 1);
    }

    #[test]
    fn the_page_fetches_nothing_from_elsewhere() {
        for outside in ["http://", "https://", "//cdn", "src=\"http"] {
            assert!(!PAGE.contains(outside), "{outside}");
        }
    }
}
