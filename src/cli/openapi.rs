//! `understudy openapi import SPEC`: print the spec's routes as an editable native scenario
//! file on stdout (problems on stderr as `FILE:LINE:COL: at JSON.PATH: message`, exit 1).

use std::process::ExitCode;

use super::args::OpenapiCommand;

/// Runs an `openapi` subcommand.
pub fn run(command: OpenapiCommand) -> ExitCode {
    match command {
        OpenapiCommand::Import { spec } => match understudy::import_openapi(&spec) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(problems) => {
                for p in problems {
                    eprintln!("{p}");
                }
                ExitCode::from(1)
            }
        },
    }
}
