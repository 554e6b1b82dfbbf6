//! Keeping a worker's event loop awake for a moment after each request (embedded servers).
//!
//! A test sends a request, checks the answer and, a few microseconds later, sends the next one
//! or drops the server and starts the next test on it. A worker that has gone to sleep in
//! `epoll_wait` in between is woken by the kernel when the next request arrives, and on most
//! machines that wake-up takes longer than answering the request: about half of an embedded
//! test's round trip (`docs/benchmarks.md`, "A `MockServer` per test").
//!
//! [`Awake`] keeps each worker polling its sockets (without blocking) for a short window after
//! every request and after a test takes the server, instead of sleeping: the next request is
//! read as soon as it arrives. Each poll also offers the CPU to any other thread that wants it
//! (`sched_yield`), so a busy machine's other work goes first; the window ends on its own, and
//! an idle server sleeps as any other. The command line's server leaves this off: it serves
//! many clients, not one test at a time, and must cost nothing while idle.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A server's "stay awake until" mark, shared by its workers and whoever stirs it.
#[derive(Debug)]
pub struct Awake {
    /// How long each stir keeps the workers awake.
    window: Duration,
    /// The end of the current window, in nanoseconds after [`epoch`].
    until: AtomicU64,
    /// Wakes a sleeping worker's keeper when a window opens.
    stirred: tokio::sync::Notify,
}

/// The clock's origin for [`Awake::until`].
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Nanoseconds since [`epoch`].
fn now() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

impl Awake {
    /// Workers kept awake for `window` after each stir.
    pub fn new(window: Duration) -> Arc<Awake> {
        Arc::new(Awake {
            window,
            until: AtomicU64::new(0),
            stirred: tokio::sync::Notify::new(),
        })
    }

    /// Keeps the workers awake for the window from now: a request came, or a test took the
    /// server. From another thread this wakes a sleeping worker (one write to its eventfd).
    pub fn stir(&self) {
        let window = u64::try_from(self.window.as_nanos()).unwrap_or(u64::MAX);
        self.until
            .store(now().saturating_add(window), Ordering::Relaxed);
        self.stirred.notify_one();
    }

    /// Whether the current window is still open.
    fn open(&self) -> bool {
        now() < self.until.load(Ordering::Relaxed)
    }

    /// The keeper, spawned on each worker: after every stir, yields to the worker's event
    /// loop (which then polls its sockets without blocking) until the window closes, then
    /// waits for the next stir. It ends with the worker.
    pub async fn keep(self: Arc<Self>) {
        loop {
            self.stirred.notified().await;
            while self.open() {
                std::thread::yield_now();
                tokio::task::yield_now().await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stir_opens_a_window_of_its_length() {
        let awake = Awake::new(Duration::from_secs(3600));
        assert!(!awake.open());
        awake.stir();
        assert!(awake.open());
        let closed = Awake::new(Duration::ZERO);
        closed.stir();
        assert!(!closed.open());
    }
}
