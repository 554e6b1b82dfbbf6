//! A real upstream server on loopback for proxy and recording tests: it accepts connections
//! and hands each to a test's own connection handler, with a shared count of the requests each
//! path got; dropping it stops it. Handlers read requests with [`next_request`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpStream};

/// Requests seen per path, kept by the connection handler.
pub type Hits = Arc<Mutex<HashMap<String, usize>>>;

/// An upstream on a free loopback port.
pub struct Upstream {
    pub port: u16,
    hits: Hits,
    task: tokio::task::JoinHandle<()>,
}

impl Upstream {
    /// Listens on a free port and serves each connection with `serve`.
    pub async fn start<F, Fut>(serve: F) -> Upstream
    where
        F: Fn(TcpStream, Hits) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits: Hits = Arc::default();
        let counter = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                tokio::spawn(serve(sock, counter.clone()));
            }
        });
        Upstream { port, hits, task }
    }

    /// Its base URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// How many requests `path` got.
    pub fn hits(&self, path: &str) -> usize {
        self.hits
            .lock()
            .expect("hits")
            .get(path)
            .copied()
            .unwrap_or(0)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A request an upstream handler read.
pub struct UpRequest {
    pub method: String,
    /// The request target as sent (path and query).
    pub target: String,
    /// The target's path.
    pub path: String,
    pub body: Vec<u8>,
}

/// The next request on a keep-alive connection (`Content-Length` bodies), counted in `hits`
/// under its path with the count it makes; `None` once the client is gone. `buf` keeps what
/// was read past it.
pub async fn next_request(
    sock: &mut TcpStream,
    buf: &mut Vec<u8>,
    hits: &Hits,
) -> Option<(UpRequest, usize)> {
    let end = read_head_end(sock, buf).await?;
    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        })
        .unwrap_or(0);
    while buf.len() < end + 4 + len {
        let mut chunk = [0u8; 4096];
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = buf[end + 4..end + 4 + len].to_vec();
    buf.drain(..end + 4 + len);
    let mut line = head.lines().next().unwrap_or_default().split(' ');
    let method = line.next().unwrap_or_default().to_owned();
    let target = line.next().unwrap_or_default().to_owned();
    let path = target.split('?').next().unwrap_or_default().to_owned();
    let n = {
        let mut hits = hits.lock().expect("hits");
        let n = hits.entry(path.clone()).or_default();
        *n += 1;
        *n
    };
    let request = UpRequest {
        method,
        target,
        path,
        body,
    };
    Some((request, n))
}

/// Reads until `buf` holds a whole request head; its length (without the blank line), or
/// `None` once the client is gone.
pub async fn read_head_end(sock: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(end);
        }
        let mut chunk = [0u8; 4096];
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}
