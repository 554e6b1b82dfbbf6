//! Checking scenario files without serving them: what `understudy validate` prints, for Rust
//! callers (a test that the scenarios a project ships are valid, say).

use std::io;
use std::path::{Path, PathBuf};

use crate::scenario::Diagnostic;
use crate::scenario::load::{FileOutcome, Limits, load_dir, load_file};

/// What checking one scenario file found.
#[derive(Debug, Clone)]
pub struct FileReport {
    /// The file, as shown in diagnostics.
    pub file: PathBuf,
    /// Problems: the file would not load (a server keeps its last good version, if any).
    pub errors: Vec<Diagnostic>,
    /// Things that load but are probably mistakes.
    pub warnings: Vec<Diagnostic>,
}

impl FileReport {
    /// Whether the file loads (warnings allowed).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks the scenario file at `path`, or every scenario file under it when it is a
/// directory, exactly as `understudy serve` would load them (`limits` as its flags set them).
///
/// ```
/// let dir = std::env::temp_dir().join(format!("understudy-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// std::fs::write(dir.join("bad.json"), r#"{"routes": [{"response": {"status": 700}}]}"#)?;
/// let reports = understudy::validate(&dir, &Default::default())?;
/// assert!(!reports[0].is_valid());
/// assert_eq!(reports[0].errors[0].path, "routes[0].response.status");
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn validate(path: &Path, limits: &Limits) -> io::Result<Vec<FileReport>> {
    let outcomes = if path.is_dir() {
        load_dir(path, limits)?
    } else {
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let canonical = parent.canonicalize()?;
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        std::fs::metadata(path)?;
        vec![load_file(&parent, &canonical, &name, limits)]
    };
    Ok(outcomes.into_iter().map(report).collect())
}

fn report(outcome: FileOutcome) -> FileReport {
    let (errors, warnings) = match outcome.result {
        Ok(scenario) => (Vec::new(), scenario.warnings),
        Err(errors) => (errors, Vec::new()),
    };
    FileReport {
        file: outcome.display,
        errors,
        warnings,
    }
}
