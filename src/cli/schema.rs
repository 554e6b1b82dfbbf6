//! `understudy schema`: print the JSON Schema (draft 2020-12) of a scenario file, as kept in
//! docs/scenario.schema.json.

use std::process::ExitCode;

/// Prints the schema to stdout.
pub fn run() -> ExitCode {
    print!("{}", understudy::json_schema());
    ExitCode::SUCCESS
}
