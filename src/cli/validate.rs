//! `understudy validate PATH...`: load each scenario file or directory as `serve` would, print
//! every problem and warning as `FILE:LINE:COL: at JSON.PATH: message`, and sum up on stderr.
//! Exit 0 when there is no problem (warnings allowed), 1 otherwise.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use understudy::scenario::load::{FileOutcome, Limits, load_dir, load_file};

/// Checks `paths`, printing one line per problem or warning.
pub fn run(paths: &[PathBuf], limits: &Limits) -> ExitCode {
    let mut files = 0;
    let mut problems = 0;
    let mut warnings = 0;
    for path in paths {
        let outcomes = match validate_path(path, limits) {
            Ok(o) => o,
            Err(err) => {
                println!("{}: at $: {err}", path.display());
                problems += 1;
                continue;
            }
        };
        for outcome in outcomes {
            files += 1;
            let diags = match outcome.result {
                Ok(scenario) => {
                    warnings += scenario.warnings.len();
                    scenario.warnings
                }
                Err(diags) => {
                    problems += diags.len();
                    diags
                }
            };
            for d in diags {
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

fn validate_path(path: &Path, limits: &Limits) -> std::io::Result<Vec<FileOutcome>> {
    if path.is_dir() {
        return load_dir(path, limits);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let canonical = parent.canonicalize()?;
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let _ = std::fs::metadata(path)?;
    Ok(vec![load_file(&parent, &canonical, &name, limits)])
}
