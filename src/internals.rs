//! understudy's insides: every module but the public API. Public only for understudy's own
//! benchmarks and fuzz targets, hidden from the docs, with no stability promise. Inside the
//! crate they are `crate::http`, `crate::scenario` and so on (see `lib.rs`).

#[path = "http/mod.rs"]
pub mod http;
#[path = "journal.rs"]
pub mod journal;
#[path = "matching.rs"]
pub mod matching;
#[path = "recent.rs"]
pub mod recent;
#[path = "scenario/mod.rs"]
pub mod scenario;
#[path = "shared.rs"]
pub mod shared;
#[path = "state.rs"]
pub mod state;
#[path = "store.rs"]
pub mod store;
#[path = "watch.rs"]
pub mod watch;
#[path = "wire/mod.rs"]
pub mod wire;
