//! Shared helpers, one file a topic, all re-exported here (tests write `crate::util::NAME`):
//!
//! - `scenarios`: temporary scenarios directories and small scenario documents;
//! - `server`: the real `understudy` binary, as a `serve` child process and as the CLI;
//! - `http`: requests through reqwest;
//! - `admin`: the admin API calls tests share, and the unmatched report;
//! - `wire`: raw HTTP over a socket;
//! - `curl_client`: curl as a second client;
//! - `ws`: WebSocket clients;
//! - `wait`: hang guards, silence windows and bounded polling;
//! - `upstream`: a real upstream server on loopback for proxy and recording tests;
//! - `wiremock_ref`: the real WireMock 3.13.2 as a reference server (skipped or failed without
//!   `WIREMOCK_JAR`, see `wiremock_jar`);
//! - `diag`: diagnostic lines, source positions and time formats.

mod admin;
mod curl_client;
mod diag;
mod http;
mod scenarios;
mod server;
mod upstream;
mod wait;
mod wire;
mod wiremock_ref;
mod ws;

pub use admin::*;
pub use curl_client::*;
pub use diag::*;
pub use http::*;
pub use scenarios::*;
pub use server::*;
pub use upstream::*;
pub use wait::*;
pub use wire::*;
pub use wiremock_ref::*;
pub use ws::*;
