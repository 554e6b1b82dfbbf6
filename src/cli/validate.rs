//! `understudy validate PATH...`: load each scenario file or directory as `serve` would, print
//! every problem and warning as `FILE:LINE:COL: at JSON.PATH: message`, and sum up on stderr.
//! Exit 0 when there is no problem (warnings allowed), 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use understudy::ScenarioLimits;

/// Checks `paths`, printing one line per problem or warning.
pub fn run(paths: &[PathBuf], limits: &ScenarioLimits) -> ExitCode {
    let mut files = 0;
    let mut problems = 0;
    let mut warnings = 0;
    for path in paths {
        let reports = match understudy::validate(path, limits) {
            Ok(r) => r,
            Err(err) => {
                println!("{}: at $: {err}", path.display());
                problems += 1;
                continue;
            }
        };
        for report in reports {
            files += 1;
            problems += report.errors.len();
            warnings += report.warnings.len();
            for d in report.errors.iter().chain(&report.warnings) {
                println!("{d}");
            }
        }
    }
    let warned = match warnings {
        0 => String::new(),
        n => format!(" ({n} warning(s))"),
    };
    if problems == 0 {
        eprintln!("{files} scenario file(s) valid{warned}");
        ExitCode::SUCCESS
    } else {
        eprintln!("{problems} problem(s){warned} in {files} scenario file(s) checked");
        ExitCode::from(1)
    }
}
