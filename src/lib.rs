//! understudy: an HTTP test double that answers from JSON scenario files.
//!
//! The crate is both the `understudy` binary and a library. Its moving parts:
//!
//! - [`scenario`]: the file format (serde model), validation and compilation, diagnostics.
//! - [`matching`]: the route index and near-miss reports.
//! - [`store`]: the current snapshot of compiled scenarios, swapped atomically.
//! - [`http`]: how a request is answered: the catch-all handler, responding, upgrades, the admin API.
//! - [`watch`]: hot reload (native events or polling), off the request path.
//! - [`wire`]: the actix-server/actix-http assembly around it.
//! - [`server`]: start a server from a [`ServeConfig`].
//! - [`MockServer`]: the embedding API for Rust tests (in-process, random port, journal access).

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod embed;
pub mod http;
pub mod journal;
pub mod matching;
pub mod scenario;
pub mod server;
pub mod state;
pub mod store;
pub mod watch;
pub mod wire;

pub use embed::{Error, MockServer, MockServerBuilder, RecordedRequest};
pub use server::{Running, ServeConfig};
