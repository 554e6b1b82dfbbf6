//! Time in tests: hang guards and silence windows. No test asserts a timing with these; they
//! only bound how long a test may wait.

use std::time::Duration;

/// How long a read or a wait that should finish may block before the test gives up (a hang
/// guard, not a timing assertion).
pub const HANG_GUARD: Duration = Duration::from_secs(30);

/// How long the server must stay silent where no bytes are expected.
pub const SILENCE: Duration = Duration::from_secs(1);
