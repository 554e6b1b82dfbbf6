//! A running embedded server (its own thread and actix runtime) and the pool of idle ones.
//!
//! Starting a server costs a thread, an actix system, a bound port and actix-server's accept
//! and worker threads; stopping one joins them all. A test suite that starts a server per test
//! pays that thousands of times, so servers started for inline scenarios (no scenario files,
//! the default address and settings) are not stopped when their `MockServer` drops: they go
//! back to a small pool, emptied (no scenario, a new journal whose ids start at 1), and the next
//! such `MockServer` takes one instead of starting a thread. A server goes back only when no
//! request is in flight on it; otherwise, or when the pool is full, it is stopped.
//!
//! A server left in the pool unused for [`POOL_IDLE`] is stopped by the pool's reaper, a
//! thread that runs only while the pool is in use and ends once it has been empty for as
//! long: a suite that is done starting servers keeps none of their threads, ports or
//! descriptors a moment later. The reaper sleeps until the next server's time is up; the
//! servers and their requests never wait for it.
//!
//! An embedded server's worker stays awake for [`AWAKE`] after each request and after a test
//! takes it from the pool ([`crate::wire::awake`]): a test's next request is read as it
//! arrives instead of after the kernel wakes the worker, which was half a test's time.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Error;
use crate::journal::{Journal, JournalLimits};
use crate::server::{self, ServeConfig};
use crate::store::Store;
use crate::wire::awake::Awake;

/// Most idle servers kept for reuse; more are stopped.
pub const POOL_SIZE: usize = 8;

/// How long a server stays in the pool unused before it is stopped.
pub const POOL_IDLE: Duration = Duration::from_secs(1);

/// How long an embedded server's worker keeps polling after a request or after a test takes
/// it ([`Awake`]): longer than a test takes between two requests, short enough that a server
/// left alone sleeps a moment later.
pub const AWAKE: Duration = Duration::from_micros(500);

/// What makes two servers interchangeable: servers are pooled per settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolKey {
    pub journal: JournalLimits,
    pub admin_token: Option<String>,
    pub template_fuel: u64,
}

/// A server on its own thread.
pub struct Instance {
    pub addr: SocketAddr,
    /// `http://ADDR`, formatted once for every test the server serves.
    pub url: String,
    pub store: Arc<Store>,
    pub journal: Arc<Journal>,
    handle: actix_server::ServerHandle,
    thread: Option<JoinHandle<()>>,
    /// Set when the server may go back to the pool.
    pub key: Option<PoolKey>,
    /// What keeps its worker awake after a request; stirred when a test takes the server.
    awake: Option<Arc<Awake>>,
}

/// The idle servers, and whether the reaper runs.
struct Pool {
    /// Each with the time it went back.
    idle: Vec<(Instance, Instant)>,
    /// When a server last went back (the reaper ends when that is [`POOL_IDLE`] ago and
    /// the pool is empty).
    last_release: Option<Instant>,
    /// Whether the reaper thread runs.
    reaping: bool,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    idle: Vec::new(),
    last_release: None,
    reaping: false,
});

fn pool() -> std::sync::MutexGuard<'static, Pool> {
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

/// The reaper: stops servers idle for [`POOL_IDLE`], sleeping until the next one's time is
/// up; ends when the pool has been empty for as long.
fn reap() {
    loop {
        let now = Instant::now();
        let (expired, wake) = {
            let mut pool = pool();
            let mut expired = Vec::new();
            let mut at = 0;
            while at < pool.idle.len() {
                if now.duration_since(pool.idle[at].1) >= POOL_IDLE {
                    expired.push(pool.idle.swap_remove(at).0);
                } else {
                    at += 1;
                }
            }
            let next = pool.idle.iter().map(|(_, since)| *since + POOL_IDLE).min();
            let quiet = pool
                .last_release
                .is_none_or(|last| now.duration_since(last) >= POOL_IDLE);
            if next.is_none() && quiet {
                pool.reaping = false;
            }
            let keep_on = pool.reaping;
            (expired, keep_on.then(|| next.unwrap_or(now + POOL_IDLE)))
        };
        for instance in expired {
            instance.stop();
        }
        match wake {
            Some(at) => std::thread::sleep(at.saturating_duration_since(Instant::now())),
            None => return,
        }
    }
}

impl Instance {
    /// An idle pooled server with these settings, if there is one.
    pub fn take(key: &PoolKey) -> Option<Instance> {
        let mut pool = pool();
        let at = pool
            .idle
            .iter()
            .position(|(i, _)| i.key.as_ref() == Some(key))?;
        let instance = pool.idle.swap_remove(at).0;
        drop(pool);
        // The test's first request comes in a moment: its worker is woken now, meanwhile.
        if let Some(awake) = &instance.awake {
            awake.stir();
        }
        Some(instance)
    }

    /// Starts a server for `store` on its own thread and waits until it listens.
    pub fn start(
        config: ServeConfig,
        store: Arc<Store>,
        key: Option<PoolKey>,
    ) -> Result<Instance, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = spawn(config, store.clone(), move |started| {
            let _ = tx.send(started);
        })?;
        Instance::listening(rx.recv().ok(), thread, store, key)
    }

    /// Like [`Instance::start`], awaiting the server without blocking the caller's thread.
    pub async fn start_async(
        config: ServeConfig,
        store: Arc<Store>,
        key: Option<PoolKey>,
    ) -> Result<Instance, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread = spawn(config, store.clone(), move |started| {
            let _ = tx.send(started);
        })?;
        Instance::listening(rx.await.ok(), thread, store, key)
    }

    /// The instance once its thread reported (`None`: the thread ended before it could).
    fn listening(
        started: Option<Started>,
        thread: JoinHandle<()>,
        store: Arc<Store>,
        key: Option<PoolKey>,
    ) -> Result<Instance, Error> {
        let (addr, journal, handle, awake) = started
            .ok_or_else(|| Error::Thread("the server thread ended before it started".into()))??;
        Ok(Instance {
            addr,
            url: format!("http://{addr}"),
            store,
            journal,
            handle,
            thread: Some(thread),
            key,
            awake,
        })
    }

    /// Hands the server back to the pool when it may go (settings poolable, nothing in
    /// flight, room left), emptied; stops it otherwise.
    pub fn release(self) {
        if self.key.is_some() && self.journal.in_flight() == 0 {
            self.store.clear_api();
            self.journal.renew();
            let mut pool = pool();
            if pool.idle.len() < POOL_SIZE {
                let now = Instant::now();
                pool.idle.push((self, now));
                pool.last_release = Some(now);
                if !pool.reaping {
                    // Without a reaper the server simply stays pooled.
                    pool.reaping = std::thread::Builder::new()
                        .name("understudy-pool".into())
                        .spawn(reap)
                        .is_ok();
                }
                return;
            }
        }
        self.stop();
    }

    /// Stops the server, joins its thread and waits (bounded) until its port refuses
    /// connections, so a test that stopped it sees it gone.
    pub fn stop(mut self) {
        // `stop` sends the command at once; the thread ends when the server has stopped.
        drop(self.handle.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
            // actix-server closes its listening socket on its accept thread, a moment after
            // the server future ends.
            let deadline = Instant::now() + Duration::from_secs(2);
            while Instant::now() < deadline {
                match std::net::TcpStream::connect_timeout(&self.addr, Duration::from_millis(50)) {
                    Err(_) => return,
                    Ok(conn) => {
                        drop(conn);
                        std::thread::sleep(Duration::from_micros(500));
                    }
                }
            }
        }
    }
}

/// What a server thread reports once it listens (or why it could not).
type Started = Result<
    (
        SocketAddr,
        Arc<Journal>,
        actix_server::ServerHandle,
        Option<Arc<Awake>>,
    ),
    Error,
>;

/// Starts the server thread; `started` is called once the server listens or failed to.
fn spawn(
    config: ServeConfig,
    store: Arc<Store>,
    started: impl FnOnce(Started) + Send + 'static,
) -> Result<JoinHandle<()>, Error> {
    std::thread::Builder::new()
        .name("understudy-server".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                match server::start_with(config, store) {
                    Ok(running) => {
                        let handle = running.server.handle();
                        started(Ok((
                            running.addr,
                            running.journal,
                            handle,
                            running.awake.clone(),
                        )));
                        let _ = running.server.await;
                    }
                    Err(err) => started(Err(err.into())),
                }
            });
        })
        .map_err(|err| Error::Thread(err.to_string()))
}
