//! The loaded scenario set: an immutable [`Snapshot`] swapped atomically, plus per-file status.
//!
//! Requests read the current snapshot without locking (`arc-swap`); a request in flight keeps
//! the snapshot it started with. Loading builds a whole new snapshot off the request path and
//! publishes it in one store. A file that fails to load keeps serving its last good version
//! (when there was one) and reports its diagnostics until it is fixed.
//!
//! Scenarios put through the admin API live in memory beside the files. One with the same
//! name as a file scenario takes its place until it is deleted; a file change never removes
//! an API scenario. Deleting a file scenario through the API hides it until its file changes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use arc_swap::ArcSwap;

use crate::matching::RouteIndex;
use crate::scenario::compile::Origin;
use crate::scenario::load::{FileOutcome, compile_source, load_dir, load_file};
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

/// Where file scenarios come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// No files: only scenarios put through the API.
    None,
    /// A scenarios directory, scanned recursively.
    Dir(PathBuf),
    /// One scenario file (its folder bounds `file` bodies).
    File(PathBuf),
}

/// Load status of one scenario file.
#[derive(Debug, Clone)]
pub struct FileStatus {
    /// The file as shown in diagnostics.
    pub display: PathBuf,
    /// The file relative to the scenarios directory.
    pub relative: PathBuf,
    /// The version that serves, if any version of the file ever loaded.
    pub serving: Option<Arc<CompiledScenario>>,
    /// Problems of the current version on disk (empty when it loaded).
    pub errors: Vec<Diagnostic>,
    /// When the serving version was loaded.
    pub loaded_at: Option<SystemTime>,
    /// Hash of the content last read.
    pub hash: u64,
}

/// A scenario put through the admin API.
#[derive(Debug, Clone)]
pub struct ApiScenario {
    /// The compiled scenario.
    pub scenario: Arc<CompiledScenario>,
    /// When it was put.
    pub loaded_at: SystemTime,
}

/// Where a listed scenario comes from and whether it serves.
#[derive(Debug, Clone)]
pub struct ScenarioInfo {
    /// Scenario name (for a file that never loaded, the name its path implies).
    pub name: String,
    /// The file, relative to the scenarios directory (`None` for API scenarios).
    pub file: Option<PathBuf>,
    /// The serving version, if any.
    pub scenario: Option<Arc<CompiledScenario>>,
    /// Problems of the current file version.
    pub errors: Vec<Diagnostic>,
    /// When the serving version was loaded.
    pub loaded_at: Option<SystemTime>,
    /// Whether its routes are in the snapshot (false when shadowed by an API scenario of the
    /// same name, deleted through the API, or never loaded).
    pub active: bool,
}

#[derive(Default)]
struct Inner {
    files: Vec<FileStatus>,
    api: Vec<ApiScenario>,
    /// Files deleted through the API, with the content hash they had then.
    hidden: HashMap<PathBuf, u64>,
}

/// What `delete` removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// An API scenario (a file scenario of the same name, if any, serves again).
    Api,
    /// A file scenario, hidden until its file changes.
    File,
}

/// The scenario set of a running server.
pub struct Store {
    source: Source,
    current: ArcSwap<Snapshot>,
    inner: Mutex<Inner>,
    reloading: Mutex<()>,
}

impl Store {
    /// An empty store reading from `source` (nothing is loaded until [`Store::reload`]).
    pub fn new(source: Source) -> Self {
        Store {
            source,
            current: ArcSwap::from_pointee(Snapshot::new(Vec::new())),
            inner: Mutex::new(Inner::default()),
            reloading: Mutex::new(()),
        }
    }

    /// Where file scenarios come from.
    pub fn source(&self) -> &Source {
        &self.source
    }

    /// The directory `file` bodies of API scenarios are confined to.
    fn root(&self) -> PathBuf {
        match &self.source {
            Source::Dir(dir) => dir.clone(),
            Source::File(file) => parent_of(file),
            Source::None => PathBuf::from("."),
        }
    }

    /// The snapshot requests are answered from right now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// A copy of the per-file status.
    pub fn files(&self) -> Vec<FileStatus> {
        self.lock().files.clone()
    }

    /// Number of files whose current version failed to load.
    pub fn error_count(&self) -> usize {
        self.lock()
            .files
            .iter()
            .filter(|f| !f.errors.is_empty())
            .count()
    }

    /// Rescans the files, compiles them and publishes a new snapshot.
    ///
    /// Returns the diagnostics of the files that failed. A file that fails keeps its last
    /// good version; a file that is gone loses its routes; an unchanged file keeps its
    /// compiled version and its runtime state.
    pub fn reload(&self) -> std::io::Result<Vec<Diagnostic>> {
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        let outcomes = match &self.source {
            Source::None => Vec::new(),
            Source::Dir(dir) => load_dir(dir)?,
            Source::File(file) => {
                let parent = parent_of(file);
                let canonical = parent.canonicalize()?;
                std::fs::metadata(file)?;
                let name = file.file_name().map(PathBuf::from).unwrap_or_default();
                vec![load_file(&parent, &canonical, &name)]
            }
        };
        let now = SystemTime::now();
        let mut inner = self.lock();
        let previous = std::mem::take(&mut inner.files);
        let mut problems = Vec::new();
        for FileOutcome {
            display,
            relative,
            result,
            hash,
        } in outcomes
        {
            let before = previous.iter().find(|f| f.relative == relative);
            if inner.hidden.get(&relative).is_some_and(|h| *h != hash) {
                inner.hidden.remove(&relative);
            }
            let status = match result {
                // Same bytes as the serving version: keep it, and its state.
                Ok(_) if before.is_some_and(|b| b.hash == hash && b.errors.is_empty()) => {
                    before.cloned().expect("checked above")
                }
                Ok(scenario) => FileStatus {
                    display,
                    relative,
                    serving: Some(Arc::new(scenario)),
                    errors: Vec::new(),
                    loaded_at: Some(now),
                    hash,
                },
                Err(errors) => {
                    problems.extend(errors.iter().cloned());
                    FileStatus {
                        display,
                        relative,
                        serving: before.and_then(|b| b.serving.clone()),
                        errors,
                        loaded_at: before.and_then(|b| b.loaded_at),
                        hash,
                    }
                }
            };
            inner.files.push(status);
        }
        let files: Vec<PathBuf> = inner.files.iter().map(|f| f.relative.clone()).collect();
        inner.hidden.retain(|rel, _| files.contains(rel));
        self.publish(&inner);
        Ok(problems)
    }

    /// Compiles `text` as the API scenario `name` and publishes it; `Ok(true)` when it is new.
    pub fn put(
        &self,
        name: &str,
        text: &str,
    ) -> Result<(bool, Arc<CompiledScenario>), Vec<Diagnostic>> {
        let display = PathBuf::from(format!("<admin:{name}>"));
        let at_name = |message: String| Diagnostic {
            file: display.clone(),
            line: None,
            column: None,
            path: "name".into(),
            message,
        };
        if name.trim().is_empty() {
            return Err(vec![at_name("scenario name must not be empty".into())]);
        }
        let root = self.root();
        let canonical = root.canonicalize().map_err(|err| {
            vec![Diagnostic::file_level(
                &display,
                format!("cannot read {}: {err}", root.display()),
            )]
        })?;
        let origin = Origin {
            display: &display,
            source: text,
            root: &canonical,
            dir: &root,
            default_name: name.to_owned(),
            relative: None,
        };
        let scenario = compile_source(&origin)?;
        if scenario.name != name {
            return Err(vec![at_name(format!(
                "the document is named {:?} but was put as {name:?}",
                scenario.name
            ))]);
        }
        let scenario = Arc::new(scenario);
        let mut inner = self.lock();
        let entry = ApiScenario {
            scenario: scenario.clone(),
            loaded_at: SystemTime::now(),
        };
        let created = match inner.api.iter_mut().find(|a| a.scenario.name == name) {
            Some(existing) => {
                *existing = entry;
                false
            }
            None => {
                inner.api.push(entry);
                true
            }
        };
        self.publish(&inner);
        Ok((created, scenario))
    }

    /// Deletes the active scenario called `name`; `None` when there is none.
    pub fn delete(&self, name: &str) -> Option<Deleted> {
        let mut inner = self.lock();
        if let Some(i) = inner.api.iter().position(|a| a.scenario.name == name) {
            inner.api.remove(i);
            self.publish(&inner);
            return Some(Deleted::Api);
        }
        let file = inner
            .files
            .iter()
            .find(|f| {
                f.serving.as_ref().is_some_and(|s| s.name == name)
                    && !inner.hidden.contains_key(&f.relative)
            })
            .map(|f| (f.relative.clone(), f.hash))?;
        inner.hidden.insert(file.0, file.1);
        self.publish(&inner);
        Some(Deleted::File)
    }

    /// The serving scenario called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<CompiledScenario>> {
        self.snapshot()
            .index
            .scenarios()
            .iter()
            .find(|s| s.name == name)
            .cloned()
    }

    /// Every scenario: files in path order (loaded or not), then API scenarios.
    pub fn list(&self) -> Vec<ScenarioInfo> {
        let inner = self.lock();
        let mut out = Vec::new();
        for f in &inner.files {
            let name = f.serving.as_ref().map_or_else(
                || crate::scenario::load::default_name(&f.relative),
                |s| s.name.clone(),
            );
            let shadowed = inner.api.iter().any(|a| a.scenario.name == name);
            out.push(ScenarioInfo {
                active: f.serving.is_some() && !shadowed && !inner.hidden.contains_key(&f.relative),
                name,
                file: Some(f.relative.clone()),
                scenario: f.serving.clone(),
                errors: f.errors.clone(),
                loaded_at: f.loaded_at,
            });
        }
        for a in &inner.api {
            out.push(ScenarioInfo {
                name: a.scenario.name.clone(),
                file: None,
                scenario: Some(a.scenario.clone()),
                errors: Vec::new(),
                loaded_at: Some(a.loaded_at),
                active: true,
            });
        }
        out
    }

    /// Resets every serving scenario's state and sequence positions.
    pub fn reset_all(&self) {
        for s in self.snapshot().index.scenarios() {
            s.state.reset();
        }
    }

    fn publish(&self, inner: &Inner) {
        let mut scenarios: Vec<Arc<CompiledScenario>> = inner
            .files
            .iter()
            .filter(|f| !inner.hidden.contains_key(&f.relative))
            .filter_map(|f| f.serving.clone())
            .filter(|s| !inner.api.iter().any(|a| a.scenario.name == s.name))
            .collect();
        scenarios.extend(inner.api.iter().map(|a| a.scenario.clone()));
        self.current.store(Arc::new(Snapshot::new(scenarios)));
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
