//! The `understudy` command line: `serve` (the default), `record`, `validate`, `schema`,
//! `health`, `openapi import`.
//!
//! This file parses the arguments and dispatches; the work is in the [`cli`] module.

mod cli;

use std::process::ExitCode;

use clap::Parser as _;
use cli::args::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => cli::serve::run(cli.serve),
        Some(Command::Serve(args)) => cli::serve::run(args),
        Some(Command::Validate { paths, limits }) => {
            Ok(cli::validate::run(&paths, &limits.limits()))
        }
        Some(Command::Schema) => Ok(cli::schema::run()),
        Some(Command::Openapi { command }) => Ok(cli::openapi::run(command)),
        Some(Command::Health(args)) => cli::health::run(args),
        Some(Command::Record(args)) => cli::serve::record(args),
    };
    result.unwrap_or_else(|err| {
        eprintln!("understudy: {err:#}");
        ExitCode::from(2)
    })
}
