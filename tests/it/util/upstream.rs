//! A real upstream server on loopback for proxy and recording tests: it accepts connections
//! and hands each to a test's own connection handler, with a shared count of the requests each
//! path got; dropping it stops it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

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
