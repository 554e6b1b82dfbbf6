//! Time in tests: hang guards, silence windows and bounded polling. No test asserts a timing
//! with these; they only bound how long a test may wait.

use std::thread;
use std::time::{Duration, Instant};

/// How long a read or a wait that should finish may block before the test gives up (a hang
/// guard, not a timing assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// How long the server must stay silent where no bytes are expected.
pub const SILENCE: Duration = Duration::from_secs(1);

/// Polls `probe` every `tick` until it returns `true`, for at most `within` (blocking the
/// thread); whether it did.
pub fn wait_until(within: Duration, tick: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if probe() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(tick);
    }
}

/// Polls `probe` every `tick` until `done` holds for what it returns, for at most `within`;
/// returns the last value, which the caller asserts on (time may have run out).
pub async fn poll<T>(
    within: Duration,
    tick: Duration,
    mut probe: impl AsyncFnMut() -> T,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let value = probe().await;
        if done(&value) || Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(tick).await;
    }
}

/// Polls `probe` every `tick` until it returns `Ok`, for at most `within`; panics with `what`
/// and the last `Err` otherwise.
pub async fn eventually<T>(
    what: &str,
    within: Duration,
    tick: Duration,
    probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    poll(within, tick, probe, Result::is_ok)
        .await
        .unwrap_or_else(|last| panic!("waited {within:?} for {what}; last observation: {last}"))
}
