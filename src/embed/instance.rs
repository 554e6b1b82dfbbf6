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
//! An idle server left in the pool for [`POOL_IDLE`] stops by itself (a timer on its own
//! runtime), so a suite that has finished starting servers is left with no thread and no
//! descriptor of theirs a moment later.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Error;
use crate::journal::{Journal, JournalLimits};
use crate::server::{self, ServeConfig};
use crate::store::Store;

/// Most idle servers kept for reuse; more are stopped.
pub const POOL_SIZE: usize = 8;

/// How long a server stays in the pool unused before it stops.
pub const POOL_IDLE: Duration = Duration::from_secs(1);

/// How often an idle pooled server checks whether its time is up.
const POOL_IDLE_CHECK: Duration = Duration::from_millis(100);

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
    pub store: Arc<Store>,
    pub journal: Arc<Journal>,
    handle: actix_server::ServerHandle,
    thread: Option<JoinHandle<()>>,
    /// Set when the server may go back to the pool.
    pub key: Option<PoolKey>,
    /// When it went back to the pool (set while it is there).
    idle_since: Option<Instant>,
}

static POOL: Mutex<Vec<Instance>> = Mutex::new(Vec::new());

fn pool() -> std::sync::MutexGuard<'static, Vec<Instance>> {
    POOL.lock().unwrap_or_else(|p| p.into_inner())
}

impl Instance {
    /// An idle pooled server with these settings, if there is one.
    pub fn take(key: &PoolKey) -> Option<Instance> {
        let mut idle = pool();
        let at = idle.iter().position(|i| i.key.as_ref() == Some(key))?;
        let mut taken = idle.swap_remove(at);
        taken.idle_since = None;
        Some(taken)
    }

    /// Starts a server for `store` on its own thread and waits until it listens.
    pub fn start(
        config: ServeConfig,
        store: Arc<Store>,
        key: Option<PoolKey>,
    ) -> Result<Instance, Error> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = spawn(config, store.clone(), key.is_some(), move |started| {
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
        let thread = spawn(config, store.clone(), key.is_some(), move |started| {
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
        let (addr, journal, handle) = started
            .ok_or_else(|| Error::Thread("the server thread ended before it started".into()))??;
        Ok(Instance {
            addr,
            store,
            journal,
            handle,
            thread: Some(thread),
            key,
            idle_since: None,
        })
    }

    /// Hands the server back to the pool when it may go (settings poolable, nothing in
    /// flight, room left), emptied; stops it otherwise.
    pub fn release(self) {
        if self.key.is_some() && self.journal.in_flight() == 0 {
            self.store.clear_api();
            self.journal.renew();
            let mut idle = pool();
            if idle.len() < POOL_SIZE {
                let mut idle_one = self;
                idle_one.idle_since = Some(Instant::now());
                idle.push(idle_one);
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

/// Stops the server at `addr` if it has sat in the pool for [`POOL_IDLE`]; whether it did.
/// Runs on the server's own thread, so it cannot join it: the thread ends by itself once
/// the server has stopped.
fn expire_if_idle(addr: SocketAddr) -> bool {
    let expired = {
        let mut idle = pool();
        idle.iter()
            .position(|i| {
                i.addr == addr
                    && i.idle_since
                        .is_some_and(|since| since.elapsed() >= POOL_IDLE)
            })
            .map(|at| idle.swap_remove(at))
    };
    match expired {
        Some(mut instance) => {
            drop(instance.handle.stop(false));
            drop(instance.thread.take());
            true
        }
        None => false,
    }
}

/// What a server thread reports once it listens (or why it could not).
type Started = Result<(SocketAddr, Arc<Journal>, actix_server::ServerHandle), Error>;

/// Starts the server thread; `started` is called once the server listens or failed to.
fn spawn(
    config: ServeConfig,
    store: Arc<Store>,
    poolable: bool,
    started: impl FnOnce(Started) + Send + 'static,
) -> Result<JoinHandle<()>, Error> {
    std::thread::Builder::new()
        .name("understudy-server".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                match server::start_with(config, store) {
                    Ok(running) => {
                        let handle = running.server.handle();
                        let addr = running.addr;
                        started(Ok((addr, running.journal, handle)));
                        if poolable {
                            actix_rt::spawn(async move {
                                loop {
                                    actix_rt::time::sleep(POOL_IDLE_CHECK).await;
                                    if expire_if_idle(addr) {
                                        break;
                                    }
                                }
                            });
                        }
                        let _ = running.server.await;
                    }
                    Err(err) => started(Err(err.into())),
                }
            });
        })
        .map_err(|err| Error::Thread(err.to_string()))
}
