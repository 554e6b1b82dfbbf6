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
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use crate::matching::RouteIndex;
use crate::recent::Recent;
use crate::scenario::ctx::Origin;
use crate::scenario::load::{
    Limits, compile_source, content_hash, load_bytes, read_scenario, scan,
};
use crate::scenario::{CompiledScenario, Diagnostic};
use crate::state::{LiveScenario, NamedStates};

/// Everything a request needs, frozen.
pub struct Snapshot {
    /// Routes in answer order with their prefilter.
    pub index: RouteIndex,
}

impl Snapshot {
    /// A snapshot serving `scenarios`.
    pub fn new(scenarios: Vec<Arc<LiveScenario>>) -> Self {
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
    pub serving: Option<Arc<LiveScenario>>,
    /// Problems of the current version on disk (empty when it loaded).
    pub errors: Vec<Diagnostic>,
    /// When the serving version was loaded.
    pub loaded_at: Option<SystemTime>,
    /// Hash of the content last read.
    pub hash: u64,
    /// Size and modification time last seen (`None` when unknown or too recent to trust).
    pub fingerprint: Option<Fingerprint>,
    /// Other files the serving version was compiled from (an OpenAPI spec's `$ref`ed
    /// files) and their fingerprints then: a change to one reloads the file.
    pub deps: Vec<(PathBuf, Option<Fingerprint>)>,
}

/// What one reload found and did.
#[derive(Debug, Default)]
pub struct ReloadReport {
    /// Diagnostics of every file currently failing (changed or not).
    pub problems: Vec<Diagnostic>,
    /// The files that changed, were added or were removed.
    pub changes: Vec<FileChange>,
    /// Time the reload took.
    pub elapsed: Duration,
}

/// How one file changed in a reload.
#[derive(Debug, Clone)]
pub struct FileChange {
    /// The file as shown in diagnostics.
    pub display: PathBuf,
    /// What happened to the file.
    pub kind: ChangeKind,
    /// Route ids added, removed and changed.
    pub routes_added: usize,
    /// Route ids that disappeared.
    pub routes_removed: usize,
    /// Route ids whose definition changed.
    pub routes_changed: usize,
    /// The new version's problems, for `failed`.
    pub errors: Vec<Diagnostic>,
}

/// What a reload did to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// A new file loaded.
    Added,
    /// A new version loaded.
    Changed,
    /// The file is gone, and its routes with it.
    Removed,
    /// The new version has errors; the last good version (if any) keeps serving.
    Failed,
}

impl std::fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChangeKind::Added => "added",
            ChangeKind::Changed => "changed",
            ChangeKind::Removed => "removed",
            ChangeKind::Failed => "failed",
        })
    }
}

impl FileChange {
    fn describe(before: Option<&FileStatus>, after: &FileStatus) -> Self {
        let old = before.and_then(|b| b.serving.as_ref());
        let (added, removed, changed) = match (&after.serving, after.errors.is_empty()) {
            (Some(new), true) => route_diff(old.map(|o| &***o), new),
            _ => (0, 0, 0),
        };
        let kind = if !after.errors.is_empty() {
            ChangeKind::Failed
        } else if before.is_none() {
            ChangeKind::Added
        } else {
            ChangeKind::Changed
        };
        FileChange {
            display: after.display.clone(),
            kind,
            routes_added: added,
            routes_removed: removed,
            routes_changed: changed,
            errors: after.errors.clone(),
        }
    }

    fn removed(gone: &FileStatus) -> Self {
        FileChange {
            display: gone.display.clone(),
            kind: ChangeKind::Removed,
            routes_added: 0,
            routes_removed: gone.serving.as_ref().map_or(0, |s| s.routes.len()),
            routes_changed: 0,
            errors: Vec::new(),
        }
    }
}

/// Each route's text as written: `routes` of a native document, `mappings` of a WireMock
/// mapping file, or the one stub a mapping file is. Spans of the source, found without
/// building a JSON tree.
fn route_texts(source: &str) -> Vec<&str> {
    #[derive(serde::Deserialize)]
    struct Doc<'a> {
        #[serde(borrow)]
        routes: Option<Vec<&'a serde_json::value::RawValue>>,
        #[serde(borrow)]
        mappings: Option<Vec<&'a serde_json::value::RawValue>>,
        request: Option<serde::de::IgnoredAny>,
    }
    match serde_json::from_str::<Doc<'_>>(source) {
        Ok(doc) => match doc.routes.or(doc.mappings) {
            Some(routes) => routes.into_iter().map(|r| r.get()).collect(),
            None if doc.request.is_some() => vec![source.trim()],
            None => Vec::new(),
        },
        Err(_) => Vec::new(),
    }
}

/// Whether two route texts define the same route: the same text, or the same JSON.
fn same_route(old: Option<&str>, new: Option<&str>) -> bool {
    match (old, new) {
        (Some(a), Some(b)) if a == b => true,
        (Some(a), Some(b)) => {
            let parse = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
            parse(a) == parse(b)
        }
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// Route ids added, removed and changed between two versions of a scenario: linear in the
/// routes (ids looked up by hash, route texts compared in place), so a reload of a file with
/// thousands of routes is not held up by its own report.
fn route_diff(old: Option<&CompiledScenario>, new: &CompiledScenario) -> (usize, usize, usize) {
    let Some(old) = old else {
        return (new.routes.len(), 0, 0);
    };
    let (old_texts, new_texts) = (route_texts(&old.source), route_texts(&new.source));
    let old_ids: HashMap<&str, usize> = old
        .routes
        .iter()
        .enumerate()
        .map(|(j, o)| (o.id(), j))
        .collect();
    let mut added = 0;
    let mut changed = 0;
    for (i, r) in new.routes.iter().enumerate() {
        match old_ids.get(r.id()) {
            None => added += 1,
            Some(&j) if !same_route(old_texts.get(j).copied(), new_texts.get(i).copied()) => {
                changed += 1;
            }
            Some(_) => {}
        }
    }
    let new_ids: std::collections::HashSet<&str> = new.routes.iter().map(|r| r.id()).collect();
    let removed = old
        .routes
        .iter()
        .filter(|o| !new_ids.contains(o.id()))
        .count();
    (added, removed, changed)
}

/// Size and mtime of `path`, or `None` when the mtime is too recent to rule out a same-size
/// rewrite within one timestamp tick (then the content is hashed instead).
fn fingerprint(path: &Path, now: SystemTime) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let age = now.duration_since(modified).unwrap_or_default();
    #[cfg(unix)]
    let (inode, changed) = {
        use std::os::unix::fs::MetadataExt as _;
        // ctime moves on every write and metadata change and cannot be set back, so a copy
        // that preserves mtime (`cp -p`, `rsync -a`) still counts as a change.
        (meta.ino(), (meta.ctime(), meta.ctime_nsec()))
    };
    #[cfg(not(unix))]
    let (inode, changed) = (0, (0, 0));
    (age > Duration::from_secs(2)).then_some(Fingerprint {
        len: meta.len(),
        modified,
        inode,
        changed,
    })
}

/// What identifies a file's version without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    len: u64,
    modified: SystemTime,
    inode: u64,
    changed: (i64, i64),
}

/// Marks freshly compiled files (indexes `fresh`) that claim a scenario name another file
/// already serves; the file that was already serving keeps the name.
fn check_unique_names(files: &mut [FileStatus], fresh: &[usize]) {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for (i, f) in files.iter().enumerate() {
        if !fresh.contains(&i)
            && let Some(s) = &f.serving
        {
            seen.entry(s.name.clone())
                .or_insert_with(|| f.display.clone());
        }
    }
    for &i in fresh {
        let f = &mut files[i];
        let Some(s) = f.serving.clone() else { continue };
        if !f.errors.is_empty() {
            continue;
        }
        match seen.get(&s.name) {
            Some(first) if *first != f.display => {
                let source = std::fs::read_to_string(&f.display).unwrap_or_default();
                let at = crate::scenario::diag::JsonPath::root().key("name");
                let pos = crate::scenario::diag::locate(&source, &at);
                f.errors = vec![Diagnostic {
                    file: f.display.clone(),
                    line: pos.map(|p| p.0),
                    column: pos.map(|p| p.1),
                    path: at.to_string(),
                    message: format!(
                        "scenario name {:?} is already used by {}",
                        s.name,
                        first.display()
                    ),
                }];
                f.serving = None;
            }
            _ => {
                seen.insert(s.name.clone(), f.display.clone());
            }
        }
    }
}

/// A scenario put through the admin API.
#[derive(Debug, Clone)]
pub struct ApiScenario {
    /// The compiled scenario.
    pub scenario: Arc<LiveScenario>,
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
    pub scenario: Option<Arc<LiveScenario>>,
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
    /// Files deleted through the API (as displayed), with the content hash they had then.
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
    /// OpenAPI specs served beside the scenarios (`--openapi`).
    specs: Vec<PathBuf>,
    limits: Limits,
    current: ArcSwap<Snapshot>,
    /// The snapshot of nothing, built once: an emptied pooled server publishes it.
    empty: Arc<Snapshot>,
    /// States shared by name across scenarios (WireMock's `scenarioName`).
    named: NamedStates,
    inner: Mutex<Inner>,
    /// Single scenario files served beside the source (a recording's file outside the
    /// scenarios directory), each bounding its own `file` bodies.
    extra: Mutex<Vec<PathBuf>>,
    /// Told of each file added to `extra` (the watcher, which then watches its folder).
    on_extra: Mutex<Option<ExtraListener>>,
    reloading: Mutex<()>,
    /// Scenarios recently put, compiled: putting the same text again (a harness resetting
    /// its mock, a test suite starting each test's server with the same scenario) skips the
    /// compile. Only results that depend on the text alone are kept (no `file` bodies).
    recent: Recent<Arc<CompiledScenario>>,
}

/// What is told of a file served beside the source when it is added.
pub type ExtraListener = Box<dyn Fn(&Path) + Send + Sync>;

/// Most compiled scenarios [`Store::put`] remembers.
const RECENT_PUTS: usize = 16;

/// Largest scenario text [`Store::put`] remembers compiled, in bytes.
const RECENT_PUT_BYTES: usize = 64 << 10;

impl Store {
    /// An empty store reading from `source` (nothing is loaded until [`Store::reload`]).
    pub fn new(source: Source) -> Self {
        let empty = Arc::new(Snapshot::new(Vec::new()));
        Store {
            source,
            specs: Vec::new(),
            limits: Limits::default(),
            current: ArcSwap::new(empty.clone()),
            empty,
            named: NamedStates::default(),
            inner: Mutex::new(Inner::default()),
            extra: Mutex::new(Vec::new()),
            on_extra: Mutex::new(None),
            reloading: Mutex::new(()),
            recent: Recent::new(RECENT_PUTS),
        }
    }

    /// This store with other bounds on scenario files (size, routes per file).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// This store also serving the OpenAPI specs at `specs` (`--openapi`).
    pub fn with_specs(mut self, specs: Vec<PathBuf>) -> Self {
        self.specs = specs;
        self
    }

    /// The OpenAPI specs served beside the scenarios.
    pub fn specs(&self) -> &[PathBuf] {
        &self.specs
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

    /// Serves the scenario file `file` beside the source from the next reload on, unless the
    /// source already covers it (a file inside the scenarios directory). Its folder bounds
    /// its `file` bodies, as for [`Source::File`].
    pub fn add_file(&self, file: &Path) {
        let covered = match &self.source {
            Source::Dir(dir) => match (dir.canonicalize(), canonical_file(file)) {
                (Ok(dir), Some(file)) => file.starts_with(dir),
                _ => false,
            },
            Source::File(own) => canonical_file(own) == canonical_file(file),
            Source::None => false,
        };
        let mut extra = self.extra.lock().unwrap_or_else(|p| p.into_inner());
        if !covered && !extra.iter().any(|e| e == file) {
            extra.push(file.to_path_buf());
            drop(extra);
            if let Some(listener) = &*self.on_extra.lock().unwrap_or_else(|p| p.into_inner()) {
                listener(file);
            }
        }
    }

    /// The scenario files served beside the source ([`Store::add_file`]).
    pub fn extra_files(&self) -> Vec<PathBuf> {
        self.extra.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Tells `listener` of every file [`Store::add_file`] adds from now on (replacing the
    /// previous listener).
    pub fn on_extra_file(&self, listener: ExtraListener) {
        *self.on_extra.lock().unwrap_or_else(|p| p.into_inner()) = Some(listener);
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

    /// Rescans the files, compiles what changed and publishes a new snapshot.
    ///
    /// Returns the diagnostics of every file currently failing. A file that fails keeps its
    /// last good version; a file that is gone loses its routes; an unchanged file keeps its
    /// compiled version and its runtime state.
    pub fn reload(&self) -> std::io::Result<Vec<Diagnostic>> {
        self.refresh().map(|report| report.problems)
    }

    /// Like [`Store::reload`], reporting what changed and how long it took.
    ///
    /// Only files whose content changed are read in full and compiled: a file whose size and
    /// modification time are unchanged (and not recent enough to hide a same-size rewrite in
    /// the same timestamp tick) is skipped without being read; one read and found identical
    /// (same hash) is not compiled.
    pub fn refresh(&self) -> std::io::Result<ReloadReport> {
        let started = Instant::now();
        let _one_at_a_time = self.reloading.lock().unwrap_or_else(|p| p.into_inner());
        // (root, canonical root, file relative to the root): the scenario files, the files a
        // recording writes outside the directory, then the `--openapi` specs.
        let mut listed: Vec<(Arc<Path>, Arc<Path>, PathBuf)> = Vec::new();
        match &self.source {
            Source::None => {}
            Source::Dir(dir) => {
                let (root, canonical): (Arc<Path>, Arc<Path>) =
                    (dir.as_path().into(), dir.canonicalize()?.into());
                for relative in scan(dir)? {
                    listed.push((root.clone(), canonical.clone(), relative));
                }
            }
            Source::File(file) => listed.extend(single(file)?),
        }
        let extra = self.extra.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for file in &extra {
            listed.extend(single(file)?);
        }
        let scanned: std::collections::HashSet<PathBuf> = if self.specs.is_empty() {
            Default::default()
        } else {
            listed
                .iter()
                .filter_map(|(root, _, rel)| root.join(rel).canonicalize().ok())
                .collect()
        };
        for spec in &self.specs {
            if std::fs::metadata(spec).is_err() {
                tracing::warn!("OpenAPI spec {} is missing", spec.display());
                continue;
            }
            if spec.canonicalize().is_ok_and(|c| scanned.contains(&c)) {
                // Already loaded from the scenarios directory.
                continue;
            }
            listed.extend(single(spec)?);
        }
        let previous = self.lock().files.clone();
        let by_path: HashMap<&Path, &FileStatus> =
            previous.iter().map(|f| (f.display.as_path(), f)).collect();
        let now = SystemTime::now();

        let mut next = Vec::with_capacity(listed.len());
        let mut fresh = Vec::new(); // indexes into `next` of files compiled this time
        let mut changes = Vec::new();
        for (root, canonical, relative) in listed {
            let display = root.join(&relative);
            let print = fingerprint(&display, now);
            let before = by_path.get(display.as_path()).copied();
            let deps_same = |b: &FileStatus| {
                b.deps
                    .iter()
                    .all(|(p, f)| f.is_some() && fingerprint(p, now) == *f)
            };
            if let Some(b) = before
                && print.is_some()
                && b.fingerprint == print
                && deps_same(b)
            {
                next.push(b.clone());
                continue;
            }
            let bytes = read_scenario(&display, &self.limits);
            let hash = bytes.as_ref().map_or(0, |b| content_hash(b));
            if let Some(b) = before
                && bytes.is_ok()
                && b.hash == hash
                && deps_same(b)
            {
                let mut kept = b.clone();
                kept.fingerprint = print;
                next.push(kept);
                continue;
            }
            let outcome = load_bytes(&root, &canonical, &relative, bytes, &self.limits);
            for warning in outcome.result.iter().flat_map(|s| &s.warnings) {
                tracing::warn!("{warning}");
            }
            let status = match outcome.result {
                Ok(scenario) => FileStatus {
                    display,
                    relative,
                    deps: scenario
                        .depends_on
                        .iter()
                        .map(|p| (p.clone(), fingerprint(p, now)))
                        .collect(),
                    serving: Some(Arc::new(LiveScenario::sharing(scenario, &self.named))),
                    errors: Vec::new(),
                    loaded_at: Some(now),
                    hash,
                    fingerprint: print,
                },
                Err(errors) => FileStatus {
                    display,
                    relative,
                    serving: before.and_then(|b| b.serving.clone()),
                    deps: before.map(|b| b.deps.clone()).unwrap_or_default(),
                    errors,
                    loaded_at: before.and_then(|b| b.loaded_at),
                    hash,
                    fingerprint: print,
                },
            };
            fresh.push(next.len());
            next.push(status);
        }
        check_unique_names(&mut next, &fresh);
        let listed: std::collections::HashSet<PathBuf> =
            next.iter().map(|n| n.display.clone()).collect();

        let gone: Vec<&FileStatus> = previous
            .iter()
            .filter(|p| !listed.contains(&p.display))
            .collect();
        // What the report says of each file is worked out after publishing: an edit is
        // served without waiting for its own description.
        let described: Vec<FileStatus> = fresh.iter().map(|&i| next[i].clone()).collect();

        let mut inner = self.lock();
        for status in &next {
            if inner
                .hidden
                .get(&status.display)
                .is_some_and(|h| *h != status.hash)
            {
                inner.hidden.remove(&status.display);
            }
        }
        inner.hidden.retain(|rel, _| listed.contains(rel));
        inner.files = next;
        let problems = inner
            .files
            .iter()
            .flat_map(|f| f.errors.iter().cloned())
            .collect();
        if !described.is_empty() || !gone.is_empty() || previous.is_empty() {
            self.publish(&inner);
        }
        drop(inner);
        for status in &described {
            let before = by_path.get(status.display.as_path()).copied();
            changes.push(FileChange::describe(before, status));
        }
        changes.extend(gone.into_iter().map(FileChange::removed));
        Ok(ReloadReport {
            problems,
            changes,
            elapsed: started.elapsed(),
        })
    }

    /// Compiles `text` as the API scenario `name` and publishes it; `Ok(true)` when it is new.
    pub fn put(
        &self,
        name: &str,
        text: &str,
    ) -> Result<(bool, Arc<LiveScenario>), Vec<Diagnostic>> {
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
        let scenario = match self.recall(name, text) {
            Some(compiled) => compiled,
            None => {
                let root = self.root();
                let origin = Origin {
                    display: &display,
                    source: text,
                    root: None,
                    dir: &root,
                    default_name: name.to_owned(),
                    relative: None,
                    limits: self.limits,
                };
                let scenario = compile_source(&origin)?;
                if scenario.name != name {
                    return Err(vec![at_name(format!(
                        "the document is named {:?} but was put as {name:?}",
                        scenario.name
                    ))]);
                }
                self.remember(scenario)
            }
        };
        let scenario = Arc::new(LiveScenario::sharing(scenario, &self.named));
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

    /// The compiled form of `text` put as `name` before, if it is remembered.
    fn recall(&self, name: &str, text: &str) -> Option<Arc<CompiledScenario>> {
        self.recent
            .find(|c| c.name == name && *c.source == *text, Arc::clone)
    }

    /// Remembers `compiled` for [`Store::recall`] when it depends on its text alone.
    fn remember(&self, compiled: CompiledScenario) -> Arc<CompiledScenario> {
        let compiled = Arc::new(compiled);
        if !compiled.reads_files && compiled.source.len() <= RECENT_PUT_BYTES {
            self.recent.remember(compiled.clone());
        }
        compiled
    }

    /// Removes every API scenario and un-hides every file scenario: the store as it was
    /// loaded (for a server handed to another test).
    pub fn clear_api(&self) {
        let mut inner = self.lock();
        inner.api.clear();
        inner.hidden.clear();
        self.publish(&inner);
    }

    /// Removes the API scenarios whose name `pick` chooses (returns how many) and, with
    /// `unhide`, un-hides every file scenario deleted through the API; publishes once.
    pub fn remove_api(&self, pick: impl Fn(&str) -> bool, unhide: bool) -> usize {
        let mut inner = self.lock();
        let before = inner.api.len();
        inner.api.retain(|a| !pick(&a.scenario.name));
        let removed = before - inner.api.len();
        if unhide {
            inner.hidden.clear();
        }
        self.publish(&inner);
        removed
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
                    && !inner.hidden.contains_key(&f.display)
            })
            .map(|f| (f.display.clone(), f.hash))?;
        inner.hidden.insert(file.0, file.1);
        self.publish(&inner);
        Some(Deleted::File)
    }

    /// The serving scenario called `name`.
    pub fn get(&self, name: &str) -> Option<Arc<LiveScenario>> {
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
                active: f.serving.is_some() && !shadowed && !inner.hidden.contains_key(&f.display),
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

    /// Resets every serving scenario's state and sequence positions, and every named state.
    pub fn reset_all(&self) {
        for s in self.snapshot().index.scenarios() {
            s.state.reset();
        }
        self.named.reset();
    }

    /// The states shared by name (WireMock scenarios).
    pub fn named_states(&self) -> &NamedStates {
        &self.named
    }

    fn publish(&self, inner: &Inner) {
        let mut scenarios: Vec<Arc<LiveScenario>> = inner
            .files
            .iter()
            .filter(|f| !inner.hidden.contains_key(&f.display))
            .filter_map(|f| f.serving.clone())
            .filter(|s| !inner.api.iter().any(|a| a.scenario.name == s.name))
            .collect();
        scenarios.extend(inner.api.iter().map(|a| a.scenario.clone()));
        self.current.store(match scenarios.is_empty() {
            true => self.empty.clone(),
            false => Arc::new(Snapshot::new(scenarios)),
        });
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A single scenario file as a listing entry (none while it does not exist).
#[allow(clippy::type_complexity)]
fn single(file: &Path) -> std::io::Result<Option<(Arc<Path>, Arc<Path>, PathBuf)>> {
    let name = file.file_name().map(PathBuf::from).unwrap_or_default();
    if std::fs::metadata(file).is_err() {
        return Ok(None);
    }
    let root = parent_of(file);
    let canonical = root.canonicalize()?;
    Ok(Some((root.into(), canonical.into(), name)))
}

/// `file` resolved, or its folder resolved and its name when it does not exist yet.
fn canonical_file(file: &Path) -> Option<PathBuf> {
    file.canonicalize().ok().or_else(|| {
        let name = file.file_name()?;
        Some(parent_of(file).canonicalize().ok()?.join(name))
    })
}

fn parent_of(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}
