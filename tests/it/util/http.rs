//! HTTP through reqwest: the shared client and one-call requests.

use std::time::Duration;

use serde_json::Value;

/// A reqwest client that never goes through a proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("build reqwest client")
}

/// A reqwest client that never goes through a proxy and gives up on a request after
/// `timeout`.
pub fn client_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .expect("build reqwest client")
}

/// Sends a request and returns its status and body text.
pub async fn fetch(request: reqwest::RequestBuilder) -> (u16, String) {
    let resp = request.send().await.expect("send request");
    let status = resp.status().as_u16();
    (status, resp.text().await.expect("read body"))
}

/// `GET url` → status and body text.
pub async fn get(url: String) -> (u16, String) {
    fetch(client().get(url)).await
}

/// Sends `request` and returns its status and its body parsed as JSON (panics, showing the
/// text, when the body is not JSON).
pub async fn fetch_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = request.send().await.expect("send request");
    let status = resp.status().as_u16();
    let text = resp.text().await.expect("read body");
    let body = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("status {status}: body is not JSON ({err}): {text:?}"));
    (status, body)
}
