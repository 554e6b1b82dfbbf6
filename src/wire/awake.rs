//! Keeping a worker's event loop awake for a moment after each request (embedded servers).
//!
//! A test sends a request, checks the answer and, a few microseconds later, sends the next one
//! or drops the server and starts the next test on it. A worker that has gone to sleep in
//! `epoll_wait` in between is woken by the kernel when the next request arrives, and on most
//! machines that wake-up takes longer than answering the request: about half of an embedded
//! test's round trip (`docs/benchmarks.md`, "A `MockServer` per test").
//!
//! [`Awake`] keeps each worker polling its sockets (without blocking) for a short window after
//! every request arrives and is answered, and after a test takes the server, instead of
//! sleeping: the next request is read as soon as it arrives. It gives way to everything else:
//! - each poll offers the CPU to any other thread (`sched_yield`), and a yield that let another
//!   thread run ends the window: the CPU is wanted;
//! - at most all CPUs but one have a polling worker at a time, process-wide (none on a single
//!   CPU): a suite running many servers in parallel keeps its CPUs for its tests;
//! - the window ends on its own, and an idle server sleeps as any other.
//!
//! The command line's server leaves this off: it serves many clients, not one test at a time,
//! and must cost nothing while idle.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `sched_yield` that takes longer than this gave the CPU to another thread.
const WANTED: Duration = Duration::from_micros(20);

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

    /// Keeps the workers awake for the window from now: a request came or was answered, or a
    /// test took the server. From another thread this wakes a sleeping worker (one write to
    /// its eventfd).
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
            let Some(_slot) = Slot::take() else {
                continue;
            };
            while self.open() {
                // A yield that took long let another thread run: this CPU is wanted, and the
                // window ends (until the next stir).
                let yielded = Instant::now();
                std::thread::yield_now();
                if yielded.elapsed() > WANTED {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
}

/// Workers of this process polling now; at most [`Slot::most`].
static POLLING: AtomicUsize = AtomicUsize::new(0);

/// One of the few places for a polling worker. Without a bound, a suite running many servers
/// in parallel would have every CPU taken by polling workers and none left for its tests.
struct Slot;

impl Slot {
    /// All CPUs this process may use but one: none on a single CPU, where the test's own
    /// thread needs it to send the request.
    fn most() -> usize {
        static MOST: OnceLock<usize> = OnceLock::new();
        *MOST.get_or_init(|| {
            std::thread::available_parallelism().map_or(0, |n| n.get().saturating_sub(1))
        })
    }

    fn take() -> Option<Slot> {
        POLLING
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < Slot::most()).then_some(n + 1)
            })
            .ok()
            .map(|_| Slot)
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        POLLING.fetch_sub(1, Ordering::AcqRel);
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

    #[test]
    fn all_cpus_but_one_may_have_a_polling_worker() {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        assert_eq!(Slot::most(), cpus - 1);
        let slots: Vec<Slot> = std::iter::from_fn(Slot::take).take(cpus + 1).collect();
        assert_eq!(slots.len(), cpus - 1);
        assert!(Slot::take().is_none());
        drop(slots);
        assert_eq!(POLLING.load(Ordering::Acquire), 0);
    }
}
