//! The `understudy` binary's command line, one file per concern: `args` (what clap parses),
//! `config` (the `serve` flags turned into a [`ServeConfig`](understudy::ServeConfig), once),
//! `logging`, and one module per subcommand: `serve` (also `record`: the same server,
//! recording), `validate`, `schema`, `health`, `openapi`.
//! `main.rs` only parses and dispatches here.

pub mod args;
mod config;
pub mod health;
mod logging;
pub mod openapi;
pub mod schema;
pub mod serve;
pub mod validate;
