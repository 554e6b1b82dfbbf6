//! Proxy answers: the request forwarded to an upstream server, and its answer sent back.
//!
//! The client is awc (actix's own), one per worker thread: an actix worker is one thread
//! with its own runtime, and a pooled connection belongs to the runtime that opened it.
//! `https://` upstreams are checked against the system's trust store (rustls with ring;
//! `SSL_CERT_FILE` / `SSL_CERT_DIR` replace it, as for OpenSSL's tools), plus the
//! certificates of `--proxy-ca` ([`trust_ca`]).
//!
//! Recording (`http/record/`) uses the same [`send`], then streams the body through its
//! capture with [`UpstreamHead::reply`].
//!
//! `answer()` calls [`forward`] once a route whose answer is a `proxy` is selected (and its
//! delay, if any, has passed). The request goes upstream with its method, path (after
//! `stripPrefix`, behind the upstream URL's own path), raw query, headers and the body
//! `answer()` already read. On the way, both ways, the hop-by-hop headers of RFC 9110 §7.6.1
//! are removed (`Connection` and the headers it names, `Keep-Alive`, `Proxy-Connection`,
//! `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`, `Proxy-Authenticate`,
//! `Proxy-Authorization`); the request's `Host` becomes the upstream's and
//! `X-Forwarded-For` / `-Proto` / `-Host` say where it came from; then `removeHeaders` and
//! `addHeaders` apply. The upstream's body is streamed into the response as it arrives (never
//! held whole in memory), with its `Content-Length` when it gave one.
//!
//! An upstream that cannot be reached (refused, unknown host, TLS failure) answers `502`, one
//! that has not answered its head within `timeoutMs` answers `504`, both with understudy's
//! JSON error body saying why. `timeoutMs` covers the whole exchange up to the head,
//! connecting included: a connect that hangs (a dropped SYN, a full backlog) is a `504` after
//! `timeoutMs`, whatever its value.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_http::RequestHead;
use actix_http::header::{self, HeaderMap, HeaderName};
use actix_web::body::{BodyStream, SizedStream};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, HttpResponseBuilder};
use bytes::Bytes;

use super::respond;
use crate::scenario::compiled::Proxy;

thread_local! {
    static CLIENT: awc::Client = client();
}

/// Certificates trusted for `https://` upstreams beside the system's (`--proxy-ca`), read
/// before the server starts: each worker's client is built on its first proxy answer.
static EXTRA_ROOTS: std::sync::RwLock<Vec<rustls_pki_types::CertificateDer<'static>>> =
    std::sync::RwLock::new(Vec::new());

/// Trusts the certificates of the PEM file `path` for `https://` upstreams (proxy answers and
/// recording), besides the system's trust store; how many it holds.
pub fn trust_ca(path: &std::path::Path) -> Result<usize, String> {
    use rustls_pki_types::pem::PemObject as _;
    let certs: Vec<rustls_pki_types::CertificateDer<'static>> =
        rustls_pki_types::CertificateDer::pem_file_iter(path)
            .map_err(|err| format!("cannot read {}: {err}", path.display()))?
            .collect::<Result<_, _>>()
            .map_err(|err| format!("{}: {err}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no PEM certificate", path.display()));
    }
    let n = certs.len();
    EXTRA_ROOTS
        .write()
        .unwrap_or_else(|p| p.into_inner())
        .extend(certs);
    Ok(n)
}

/// How long the connector itself lets a TCP connect or a TLS handshake take: longer than
/// any `timeoutMs`, so the route's timeout (the request's own, which covers connecting)
/// always decides, rather than awc's default of 5 s.
const CONNECTOR_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// A client that follows no redirects, adds no headers of its own, decodes nothing, speaks
/// HTTP/1.1 and checks `https://` upstreams against the system's trust store (rustls, ring).
/// Connections are pooled per worker; connecting is bounded by each request's `timeoutMs`.
fn client() -> awc::Client {
    // `max_http_version` rebuilds the TLS settings: the config goes in after it.
    let connector = awc::Connector::new()
        .max_http_version(awc::http::Version::HTTP_11)
        .rustls_0_23(std::sync::Arc::new(tls_config()))
        .timeout(CONNECTOR_TIMEOUT)
        .handshake_timeout(CONNECTOR_TIMEOUT)
        .limit(0);
    awc::Client::builder()
        .connector(connector)
        .disable_redirects()
        .no_default_headers()
        .disable_timeout()
        .finish()
}

/// The system's trust store (or `SSL_CERT_FILE` / `SSL_CERT_DIR`, when set), read once per
/// process: reading it opens a file per certificate and takes about 10 ms, which each
/// worker's first proxy answer would otherwise wait for.
static SYSTEM_ROOTS: std::sync::OnceLock<rustls::RootCertStore> = std::sync::OnceLock::new();

fn system_roots() -> rustls::RootCertStore {
    SYSTEM_ROOTS
        .get_or_init(|| {
            let mut roots = rustls::RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            for err in &native.errors {
                tracing::debug!("system trust store: {err}");
            }
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            tracing::debug!(
                added,
                ignored,
                "system trust store read for https upstreams"
            );
            roots
        })
        .clone()
}

/// rustls with ring, the system's trust store ([`system_roots`]) and the `--proxy-ca`
/// certificates.
fn tls_config() -> rustls::ClientConfig {
    let mut roots = system_roots();
    let extra = EXTRA_ROOTS
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if !extra.is_empty() {
        let (added, ignored) = roots.add_parsable_certificates(extra);
        tracing::debug!(added, ignored, "--proxy-ca certificates trusted");
    }
    let provider = crate::wire::tls::provider();
    let mut config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // ring offers the default versions: this does not happen.
        Err(err) => {
            tracing::warn!("https upstreams: {err}");
            rustls::ClientConfig::builder()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth()
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}

/// The hop-by-hop headers (RFC 9110 §7.6.1), besides those a `Connection` header names.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "proxy-authenticate",
    "proxy-authorization",
];

/// The request's path as forwarded: `stripPrefix` removed (only at a segment boundary),
/// behind the upstream's base path, with the raw query.
fn target(proxy: &Proxy, head: &RequestHead) -> String {
    let path = head.uri.path();
    let rest = match proxy.strip_prefix.as_deref() {
        Some(prefix) => match path.strip_prefix(prefix) {
            Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
            _ => path,
        },
        None => path,
    };
    let query = head.uri.query();
    let mut url = String::with_capacity(
        proxy.scheme.len()
            + 3
            + proxy.authority.len()
            + proxy.base_path.len()
            + rest.len()
            + 2
            + query.map_or(0, str::len),
    );
    url.push_str(&proxy.scheme);
    url.push_str("://");
    url.push_str(&proxy.authority);
    url.push_str(&proxy.base_path);
    url.push_str(rest);
    if proxy.base_path.is_empty() && rest.is_empty() {
        url.push('/');
    }
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// Names a `Connection` header lists (its hop-by-hop options), lower-case.
fn connection_options(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(header::CONNECTION)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

fn is_hop_by_hop(name: &str, options: &[String]) -> bool {
    HOP_BY_HOP.contains(&name) || options.iter().any(|o| o == name)
}

/// The forwarded request's headers.
fn request_headers(
    proxy: &Proxy,
    head: &RequestHead,
    peer: Option<SocketAddr>,
    scheme: &str,
) -> HeaderMap {
    const XFF: HeaderName = HeaderName::from_static("x-forwarded-for");
    const XFP: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const XFH: HeaderName = HeaderName::from_static("x-forwarded-host");
    let mut out = HeaderMap::with_capacity(head.headers.len() + 3);
    let options = connection_options(&head.headers);
    let mut forwarded_for = Vec::new();
    for (name, value) in head.headers.iter() {
        if is_hop_by_hop(name.as_str(), &options)
            || *name == header::HOST
            || *name == header::CONTENT_LENGTH
            || proxy.remove_headers.contains(name)
        {
            continue;
        }
        if *name == XFF {
            forwarded_for.extend_from_slice(value.as_bytes());
            forwarded_for.extend_from_slice(b", ");
            continue;
        }
        if *name == XFP || *name == XFH {
            continue;
        }
        // The request's own names and values: shared, not copied.
        out.append(name.clone(), value.clone());
    }
    if let Some(peer) = peer {
        push_ip(&mut forwarded_for, peer.ip());
    } else if forwarded_for.ends_with(b", ") {
        forwarded_for.truncate(forwarded_for.len() - 2);
    }
    if !forwarded_for.is_empty()
        && !proxy.remove_headers.contains(&XFF)
        && let Ok(v) = header::HeaderValue::from_bytes(&forwarded_for)
    {
        out.append(XFF, v);
    }
    if !proxy.remove_headers.contains(&XFP)
        && let Ok(v) = header::HeaderValue::from_str(scheme)
    {
        out.append(XFP, v);
    }
    if let Some(host) = head.headers.get(header::HOST)
        && !proxy.remove_headers.contains(&XFH)
    {
        out.append(XFH, host.clone());
    }
    for (name, value) in &proxy.add_headers {
        out.insert(name.clone(), value.clone());
    }
    out
}

/// Writes `ip` as text: IPv4 (every loopback and most LAN clients) digit by digit, which costs
/// a tenth of `Display`; IPv6 through `Display`.
fn push_ip(out: &mut Vec<u8>, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push(b'.');
                }
                if octet >= 100 {
                    out.push(b'0' + octet / 100);
                }
                if octet >= 10 {
                    out.push(b'0' + octet / 10 % 10);
                }
                out.push(b'0' + octet % 10);
            }
        }
        std::net::IpAddr::V6(_) => out.extend_from_slice(ip.to_string().as_bytes()),
    }
}

/// The request's body as it goes upstream.
pub(super) enum RequestBody {
    /// Read already (a route that matched on it, or a recording that keeps it).
    Read(Bytes),
    /// Still arriving: sent on as it comes, with the client's `Content-Length` when it gave
    /// one (chunked otherwise), never held whole.
    Streaming(actix_http::Payload),
}

impl From<Bytes> for RequestBody {
    fn from(bytes: Bytes) -> Self {
        RequestBody::Read(bytes)
    }
}

/// Forwards the request and streams the upstream's answer back; the time the upstream took
/// to send its answer's head, when it did. With `keep` (a bound in bytes), the upstream's
/// answer is also kept for the journal: its head at once, its body once it has streamed whole
/// within the bound.
pub(super) async fn forward(
    proxy: &Proxy,
    head: &RequestHead,
    scheme: &str,
    body: RequestBody,
    keep: Option<usize>,
) -> (
    HttpResponse,
    Option<Duration>,
    Option<Arc<crate::journal::Upstream>>,
) {
    match send(proxy, head, scheme, body).await {
        Ok(upstream) => {
            let took = upstream.took;
            let (answer, body) = upstream.split();
            match keep {
                None => (answer.reply(body), Some(took), None),
                Some(bound) => {
                    let kept = kept_head(&answer, bound);
                    let stream = keeping(body, kept.clone(), bound);
                    (answer.reply(stream), Some(took), Some(kept))
                }
            }
        }
        Err(failed) => (failed, None, None),
    }
}

/// The journal's copy of an answer with this head, its body still to come (at most `bound`
/// bytes of it are kept).
pub(super) fn kept_head(answer: &UpstreamHead, bound: usize) -> Arc<crate::journal::Upstream> {
    Arc::new(crate::journal::Upstream {
        headers: answer.headers.clone(),
        body: std::sync::OnceLock::new(),
        reserved: answer
            .length
            .map_or(bound, |len| usize::try_from(len).unwrap_or(bound))
            .min(bound),
    })
}

/// `body` passed on as it arrives, a copy kept into `kept` when it ends within `bound` bytes.
fn keeping(
    body: UpstreamBody,
    kept: Arc<crate::journal::Upstream>,
    bound: usize,
) -> impl futures_util::Stream<Item = Result<Bytes, awc::error::PayloadError>> {
    use futures_util::StreamExt as _;
    futures_util::stream::unfold(
        Some((body, Some(Vec::new()), kept)),
        move |state| async move {
            let (mut body, mut copy, kept) = state?;
            match body.next().await {
                Some(Ok(chunk)) => {
                    if let Some(bytes) = &mut copy {
                        if bytes.len() + chunk.len() > bound {
                            copy = None;
                        } else {
                            bytes.extend_from_slice(&chunk);
                        }
                    }
                    Some((Ok(chunk), Some((body, copy, kept))))
                }
                Some(Err(err)) => Some((Err(err), None)),
                None => {
                    if let Some(bytes) = copy {
                        let _ = kept.body.set(Bytes::from(bytes));
                    }
                    None
                }
            }
        },
    )
}

/// The upstream's answer head (hop-by-hop headers removed) and its body, still to stream.
pub(super) struct Upstream {
    /// The answer's head.
    pub head: UpstreamHead,
    /// How long the upstream took to send the head.
    pub took: Duration,
    body: UpstreamBody,
}

/// What the upstream answered, before its body.
pub(super) struct UpstreamHead {
    /// Its status.
    pub status: StatusCode,
    /// Its headers, hop-by-hop ones and `Content-Length` removed.
    pub headers: Vec<(HeaderName, header::HeaderValue)>,
    /// Its `Content-Length`, when it sent one.
    pub length: Option<u64>,
}

/// The upstream's body as it arrives.
pub(super) struct UpstreamBody {
    /// Bytes still to come before the body ends without reading on, for an upstream that
    /// closes its connection after the answer.
    remaining: Option<u64>,
    /// awc's response; dropped at that end, which closes its connection.
    response: Option<awc::ClientResponse>,
}

impl futures_util::Stream for UpstreamBody {
    type Item = Result<Bytes, awc::error::PayloadError>;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        use std::task::Poll;
        let this = &mut *self;
        if this.remaining == Some(0) {
            this.response = None;
            return Poll::Ready(None);
        }
        let Some(response) = this.response.as_mut() else {
            return Poll::Ready(None);
        };
        let item = futures_util::ready!(std::pin::Pin::new(response).poll_next(cx));
        if let (Some(Ok(chunk)), Some(left)) = (&item, this.remaining.as_mut()) {
            *left = left.saturating_sub(chunk.len() as u64);
        }
        Poll::Ready(item)
    }
}

impl Upstream {
    /// The head, and the body to stream.
    pub fn split(self) -> (UpstreamHead, UpstreamBody) {
        (self.head, self.body)
    }
}

impl UpstreamHead {
    /// The response sent to the client: this head and `body` streamed as it arrives (with
    /// the upstream's `Content-Length` when it gave one, else chunked).
    pub fn reply<S, E>(&self, body: S) -> HttpResponse
    where
        S: futures_util::Stream<Item = Result<Bytes, E>> + 'static,
        E: Into<Box<dyn std::error::Error>> + 'static,
    {
        let mut builder = HttpResponseBuilder::new(self.status);
        for (name, value) in &self.headers {
            builder.append_header((name.clone(), value.clone()));
        }
        match self.length {
            Some(len) => builder.body(SizedStream::new(len, body)),
            None => builder.body(BodyStream::new(body)),
        }
    }
}

/// Sends the request upstream and waits for its answer's head; a `502`/`504` when it does
/// not come.
pub(super) async fn send(
    proxy: &Proxy,
    head: &RequestHead,
    scheme: &str,
    body: impl Into<RequestBody>,
) -> Result<Upstream, HttpResponse> {
    let body = body.into();
    let url = target(proxy, head);
    let headers = request_headers(proxy, head, head.peer_addr, scheme);
    let has_body = matches!(&body, RequestBody::Read(b) if !b.is_empty())
        || head.headers.contains_key(header::CONTENT_LENGTH)
        || head.headers.contains_key(header::TRANSFER_ENCODING);
    let build = || {
        let mut request = CLIENT
            .with(|c| c.request(head.method.clone(), url.as_str()))
            .timeout(proxy.timeout);
        // The client adds no headers of its own (`no_default_headers`): the map is the
        // request's whole header set, copied without hashing each name again.
        *request.headers_mut() = headers.clone();
        request
    };
    let sent = Instant::now();
    let length = head
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let result = match body {
        RequestBody::Streaming(payload) if has_body => match length {
            Some(len) => build().send_body(SizedStream::new(len, payload)).await,
            None => build().send_stream(payload).await,
        },
        body => {
            let bytes = match body {
                RequestBody::Read(bytes) if has_body => Some(bytes),
                _ => None,
            };
            let once = |bytes: Option<Bytes>| {
                let request = build();
                async move {
                    match bytes {
                        Some(bytes) => request.send_body(bytes).await,
                        None => request.send().await,
                    }
                }
            };
            let first = once(bytes.clone()).await;
            // A pooled connection the upstream closed while it sat idle fails before any
            // answer byte; an idempotent request whose body is still at hand goes once more,
            // on a new connection (RFC 9110 §9.2.2).
            if is_idempotent(&head.method) && closed_before_answer(&first) {
                once(bytes).await
            } else {
                first
            }
        }
    };
    let upstream = match result {
        Ok(resp) => resp,
        Err(
            awc::error::SendRequestError::Timeout
            | awc::error::SendRequestError::Connect(awc::error::ConnectError::Timeout),
        ) => {
            return Err(failed(
                StatusCode::GATEWAY_TIMEOUT,
                format!(
                    "the upstream {url} did not answer within {} ms (timeoutMs)",
                    proxy.timeout.as_millis()
                ),
            ));
        }
        Err(err) => {
            return Err(failed(
                StatusCode::BAD_GATEWAY,
                format!("the upstream {url} could not be reached: {}", reason(&err)),
            ));
        }
    };
    let took = sent.elapsed();
    let options = connection_options(upstream.headers());
    let mut length = None;
    let mut headers = Vec::with_capacity(upstream.headers().len());
    for (name, value) in upstream.headers().iter() {
        if *name == header::CONTENT_LENGTH {
            length = value
                .to_str()
                .ok()
                .and_then(|v| v.trim().parse::<u64>().ok());
            continue;
        }
        if is_hop_by_hop(name.as_str(), &options) {
            continue;
        }
        headers.push((name.clone(), value.clone()));
    }
    // awc keeps a connection for reuse unless the answer said `Connection: close`, even when
    // an HTTP/1.0 upstream closes it after every answer: such a body is ended at its
    // `Content-Length`, without reading on to the end that would hand the connection back.
    let closes = upstream.version() < actix_http::Version::HTTP_11
        && !options.iter().any(|o| o == "keep-alive");
    Ok(Upstream {
        head: UpstreamHead {
            status: upstream.status(),
            headers,
            length,
        },
        took,
        body: UpstreamBody {
            remaining: length.filter(|_| closes),
            response: Some(upstream),
        },
    })
}

/// Methods a client may send again after a failure (RFC 9110 §9.2.2).
fn is_idempotent(method: &actix_http::Method) -> bool {
    use actix_http::Method;
    [
        Method::GET,
        Method::HEAD,
        Method::OPTIONS,
        Method::TRACE,
        Method::PUT,
        Method::DELETE,
    ]
    .contains(method)
}

/// Whether the exchange failed because the connection closed before any answer came.
fn closed_before_answer(
    result: &Result<awc::ClientResponse, awc::error::SendRequestError>,
) -> bool {
    use awc::error::{ConnectError, SendRequestError};
    use std::io::ErrorKind;
    let closed = |err: &std::io::Error| {
        matches!(
            err.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::ConnectionAborted
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
        )
    };
    match result {
        Err(SendRequestError::Connect(ConnectError::Disconnected)) => true,
        Err(SendRequestError::Send(err)) => closed(err),
        Err(SendRequestError::Response(actix_http::error::ParseError::Io(err))) => closed(err),
        _ => false,
    }
}

/// The error and its causes, innermost last (`connection refused`, `dns error: …`).
fn reason(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// A `502`/`504` with the reason (the upstream sent no answer).
fn failed(status: StatusCode, message: String) -> HttpResponse {
    tracing::info!(status = status.as_u16(), "proxy: {message}");
    respond::error(status, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_names_include_connection_options() {
        let options = vec!["x-secret-hop".to_owned()];
        assert!(is_hop_by_hop("x-secret-hop", &options));
        assert!(is_hop_by_hop("transfer-encoding", &options));
        assert!(!is_hop_by_hop("content-type", &options));
    }

    #[test]
    fn addresses_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.9.99.100",
            "192.168.1.255",
            "255.255.255.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut out = b"a, ".to_vec();
            push_ip(&mut out, ip);
            assert_eq!(String::from_utf8(out).unwrap(), format!("a, {ip}"));
        }
    }
}
