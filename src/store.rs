//! The loaded scenario set: an immutable [`Snapshot`] swapped atomically, plus per-file status.
//!
//! Requests read the current snapshot without locking (`arc-swap`); a request in flight keeps
//! the snapshot it started with. Loading builds a whole new snapshot off the request path and
//! publishes it in one store. A file that fails to load keeps serving its last good version
//! (when there was one) and reports its diagnostics until it is fixed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::matching::RouteIndex;
use crate::scenario::load::{FileOutcome, load_dir};
use crate::scenario::{CompiledScenario, Diagnostic};

/// Everything a request needs, frozen.
pub struct Snapshot {
    /// Routes in answer order with their prefilter.
    pub index: RouteIndex,
}

impl Snapshot {
    /// A snapshot serving `scenarios`.
    pub fn new(scenarios: Vec<Arc<CompiledScenario>>) -> Self {
        Snapshot {
            index: RouteIndex::new(scenarios),
        }
    }
}

/// Load status of one scenario file.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// The file relative to the scenarios directory.
    pub relative: PathBuf,
    /// The version that serves, if any version of the file ever loaded.
    pub serving: Option<Arc<CompiledScenario>>,
    /// Problems of the current version on disk (empty when it loaded).
    pub errors: Vec<Diagnostic>,
    /// When the serving version was loaded.
    pub loaded_at: Option<SystemTime>,
}

/// The scenario set of a running server.
pub struct Store {
    dir: Option<PathBuf>,
    current: ArcSwap<Snapshot>,
    files: Mutex<Vec<FileStatus>>,
}

impl Store {
    /// An empty store reading from `dir` (nothing is loaded until [`Store::reload`]).
    pub fn new(dir: Option<PathBuf>) -> Self {
        Store {
            dir,
            current: ArcSwap::from_pointee(Snapshot::new(Vec::new())),
            files: Mutex::new(Vec::new()),
        }
    }

    /// The scenarios directory, if the store reads from one.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The snapshot requests are answered from right now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// A copy of the per-file status.
    pub fn files(&self) -> Vec<FileStatus> {
        self.files.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of files whose current version failed to load.
    pub fn error_count(&self) -> usize {
        self.files().iter().filter(|f| !f.errors.is_empty()).count()
    }

    /// Rescans the directory, compiles every file and publishes a new snapshot.
    ///
    /// Returns the diagnostics of the files that failed. A file that fails keeps its last
    /// good version; a file that is gone loses its routes.
    pub fn reload(&self) -> std::io::Result<Vec<Diagnostic>> {
        let Some(dir) = &self.dir else {
            return Ok(Vec::new());
        };
        let outcomes = load_dir(dir)?;
        let now = SystemTime::now();
        let mut files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        let previous = std::mem::take(&mut *files);
        let mut problems = Vec::new();
        for FileOutcome {
            relative, result, ..
        } in outcomes
        {
            let before = previous.iter().find(|f| f.relative == relative);
            let status = match result {
                Ok(scenario) => FileStatus {
                    relative,
                    serving: Some(Arc::new(scenario)),
                    errors: Vec::new(),
                    loaded_at: Some(now),
                },
                Err(errors) => {
                    problems.extend(errors.iter().cloned());
                    FileStatus {
                        relative,
                        serving: before.and_then(|b| b.serving.clone()),
                        errors,
                        loaded_at: before.and_then(|b| b.loaded_at),
                    }
                }
            };
            files.push(status);
        }
        let scenarios = files.iter().filter_map(|f| f.serving.clone()).collect();
        self.current.store(Arc::new(Snapshot::new(scenarios)));
        Ok(problems)
    }
}
