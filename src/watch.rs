//! Hot reload: watch the scenarios directory (and the folders of `--openapi` specs and of
//! scenario files served beside the directory, such as a recording's file outside it) and
//! refresh the store when anything changes.
//!
//! The directory is watched recursively, never single files: editors save by rename, by
//! truncate-and-write or through temp files, and Kubernetes swaps a `..data` symlink without
//! touching the names users see. Every event is therefore only a hint that "something changed
//! here"; the store rescans, and only files whose content changed are compiled. Events are
//! debounced briefly so a burst of writes (one save is often three events) costs one reload.
//! All of it runs on a watcher thread, off the request path.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use notify::event::{AccessKind, AccessMode};
use notify::{EventKind, RecursiveMode};

use crate::store::{ChangeKind, ReloadReport, Source, Store};

/// How file changes are noticed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    /// Native events; in a container on a mount that may not deliver them, say how to switch.
    Auto,
    /// Native file-system events (inotify, FSEvents, ReadDirectoryChangesW).
    Native,
    /// Rescan every poll interval (Docker Desktop bind mounts, network file systems).
    Poll,
    /// No watching; `POST /__admin/reload` still works.
    Off,
}

/// Quiet time after the last event before a reload starts.
const DEBOUNCE: Duration = Duration::from_millis(15);
/// Longest a stream of events can postpone a reload.
const MAX_DELAY: Duration = Duration::from_millis(100);

/// A running watcher; dropping it stops watching and joins its thread.
pub struct WatchHandle {
    /// What ends the thread when dropped; taken in `Drop`, before the join.
    stop: Option<Stop>,
    thread: Option<JoinHandle<()>>,
}

/// What keeps a watcher thread running: dropping it ends the thread.
#[allow(dead_code)] // the fields are held only to be dropped
enum Stop {
    /// Native events: dropping the watcher closes the event channel, and `run` returns (the
    /// store's listener for files added later holds it weakly).
    Native(Arc<Mutex<Box<dyn notify::Watcher + Send>>>),
    /// Polling: dropping the sender disconnects the channel the poll loop waits on.
    Poll(mpsc::Sender<()>),
}

impl WatchHandle {
    /// How changes are noticed: [`WatchMode::Native`] or [`WatchMode::Poll`] (`None` only
    /// while the handle is being dropped).
    pub fn mode(&self) -> Option<WatchMode> {
        match self.stop {
            Some(Stop::Native(_)) => Some(WatchMode::Native),
            Some(Stop::Poll(_)) => Some(WatchMode::Poll),
            None => None,
        }
    }
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts watching the store's files; `Ok(None)` for `Off` or a store without files.
/// `poll_interval` is the rescan interval of [`WatchMode::Poll`].
pub fn spawn(
    store: Arc<Store>,
    mode: WatchMode,
    poll_interval: Duration,
) -> notify::Result<Option<WatchHandle>> {
    let (target, recursive) = match store.source() {
        Source::None => match store.specs().first() {
            Some(spec) => (Some(parent(spec)), RecursiveMode::NonRecursive),
            // Nothing yet: files added beside the source (a recording's) are watched when
            // they come.
            None => (None, RecursiveMode::NonRecursive),
        },
        Source::Dir(dir) => (Some(dir.clone()), RecursiveMode::Recursive),
        Source::File(file) => (Some(parent(file)), RecursiveMode::NonRecursive),
    };
    let (tx, rx) = mpsc::channel::<()>();
    let handler = move |event: notify::Result<notify::Event>| match event {
        // Reads are noise; a closed writer is the one access that means "content is complete".
        Ok(e) if matches!(e.kind, EventKind::Access(a) if a != AccessKind::Close(AccessMode::Write)) =>
            {}
        Ok(_) => {
            let _ = tx.send(());
        }
        Err(err) => tracing::warn!("file watcher: {err}"),
    };
    let shown = target
        .as_deref()
        .map_or_else(|| "scenario files".to_owned(), |t| t.display().to_string());
    let (mut watcher, name): (Box<dyn notify::Watcher + Send>, &'static str) = match mode {
        WatchMode::Off => return Ok(None),
        // Polling rescans the store, files beside the source included.
        WatchMode::Poll => return Ok(Some(spawn_poll(store, &shown, poll_interval)?)),
        WatchMode::Native | WatchMode::Auto => {
            if mode == WatchMode::Auto
                && let Some(target) = &target
            {
                container_hint(target);
            }
            (Box::new(notify::recommended_watcher(handler)?), "native")
        }
    };
    if let Some(target) = &target {
        watcher.watch(target, recursive)?;
    }
    // `--openapi` specs and files served beside the directory: their folders too.
    let mut folders: Vec<PathBuf> = target.iter().cloned().collect();
    let beside: Vec<PathBuf> = store
        .specs()
        .iter()
        .cloned()
        .chain(store.extra_files())
        .collect();
    for file in &beside {
        watch_folder(&mut *watcher, &mut folders, parent(file));
    }
    let watcher = Arc::new(Mutex::new(watcher));
    let later = Arc::downgrade(&watcher);
    let watched = Mutex::new(folders);
    store.on_extra_file(Box::new(move |file: &Path| {
        if let Some(watcher) = later.upgrade() {
            let mut watcher = watcher.lock().unwrap_or_else(|p| p.into_inner());
            let mut folders = watched.lock().unwrap_or_else(|p| p.into_inner());
            watch_folder(&mut **watcher, &mut folders, parent(file));
        }
    }));
    let thread = std::thread::Builder::new()
        .name("understudy-watch".into())
        .spawn(move || run(store, rx))
        .map_err(|err| notify::Error::generic(&err.to_string()))?;
    tracing::info!("watching {shown} for changes ({name})");
    Ok(Some(WatchHandle {
        stop: Some(Stop::Native(watcher)),
        thread: Some(thread),
    }))
}

/// Watches `folder` (not recursively) unless it is watched already.
fn watch_folder(watcher: &mut dyn notify::Watcher, watched: &mut Vec<PathBuf>, folder: PathBuf) {
    if watched.contains(&folder) {
        return;
    }
    match watcher.watch(&folder, RecursiveMode::NonRecursive) {
        Ok(()) => tracing::info!("watching {} for changes", folder.display()),
        Err(err) => tracing::warn!("cannot watch {}: {err}", folder.display()),
    }
    watched.push(folder);
}

/// Poll mode: rescan every `interval`. The store's rescan compares each file's size, mtime,
/// inode and ctime and reads only what changed (or changed too recently to tell), so a scan of
/// an unchanged directory costs one `stat` per file. (notify's `PollWatcher` compares mtimes in
/// whole seconds, and comparing contents would read every file on every scan.)
fn spawn_poll(store: Arc<Store>, shown: &str, interval: Duration) -> notify::Result<WatchHandle> {
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("understudy-poll".into())
        .spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                match store.refresh() {
                    Ok(report) => log_report(&report),
                    Err(err) => {
                        tracing::error!("reload failed, still serving the previous version: {err}")
                    }
                }
            }
        })
        .map_err(|err| notify::Error::generic(&err.to_string()))?;
    tracing::info!(
        "watching {shown} for changes (poll every {} ms)",
        interval.as_millis()
    );
    Ok(WatchHandle {
        stop: Some(Stop::Poll(stop)),
        thread: Some(thread),
    })
}

/// The watcher thread: wait for an event, let the burst settle, reload, log.
fn run(store: Arc<Store>, rx: mpsc::Receiver<()>) {
    while rx.recv().is_ok() {
        let first = Instant::now();
        loop {
            match rx.recv_timeout(DEBOUNCE) {
                Ok(()) if first.elapsed() < MAX_DELAY => continue,
                Ok(()) | Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => return,
            }
        }
        match store.refresh() {
            Ok(report) => log_report(&report),
            Err(err) => tracing::error!("reload failed, still serving the previous version: {err}"),
        }
    }
}

/// One line per changed file: what changed and how long the reload took.
pub fn log_report(report: &ReloadReport) {
    let ms = report.elapsed.as_secs_f64() * 1000.0;
    for c in &report.changes {
        if c.kind == ChangeKind::Failed {
            for e in &c.errors {
                tracing::error!("{e}");
            }
            tracing::warn!(
                "reload of {} failed in {ms:.1} ms; its last good version (if any) keeps serving",
                c.display.display()
            );
        } else {
            tracing::info!(
                "reloaded {} ({}) in {ms:.1} ms: routes +{} -{} ~{}",
                c.display.display(),
                c.kind,
                c.routes_added,
                c.routes_removed,
                c.routes_changed
            );
        }
    }
}

/// In a container, says whether native events may not arrive for this directory's mount.
fn container_hint(dir: &Path) {
    let in_container = Path::new("/.dockerenv").exists()
        || Path::new("/run/.containerenv").exists()
        || std::fs::read_to_string("/proc/1/cgroup").is_ok_and(|c| {
            c.contains("docker") || c.contains("kubepods") || c.contains("containerd")
        });
    if !in_container {
        return;
    }
    let fstype = mount_fstype(dir).unwrap_or_else(|| "unknown".into());
    let unreliable = [
        "fuse",
        "grpcfuse",
        "osxfs",
        "virtiofs",
        "9p",
        "fakeowner",
        "nfs",
        "cifs",
        "smb",
    ];
    if unreliable.iter().any(|t| fstype.contains(t)) {
        tracing::warn!(
            "{} is on a {fstype} mount inside a container: file events from the host may never \
             arrive (Docker Desktop on macOS/Windows); if edits are not picked up, use --watch poll \
             (UNDERSTUDY_WATCH=poll)",
            dir.display()
        );
    } else {
        tracing::info!(
            "running in a container ({} is on {fstype}); if edits made outside the container are \
             not picked up, use --watch poll (UNDERSTUDY_WATCH=poll)",
            dir.display()
        );
    }
}

/// File-system type of the mount holding `dir`, from `/proc/self/mountinfo`.
fn mount_fstype(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(' ').collect();
            let mount_point = fields.get(4)?;
            let sep = fields.iter().position(|f| *f == "-")?;
            let fstype = fields.get(sep + 1)?;
            dir.starts_with(mount_point)
                .then(|| (mount_point.len(), (*fstype).to_owned()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, t)| t)
}

fn parent(file: &Path) -> PathBuf {
    match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Dropping a handle stops its thread at once, whatever the poll interval.
    #[test]
    fn dropping_a_handle_stops_and_joins_its_thread() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::new(Source::Dir(dir.path().to_path_buf())));
        for mode in [WatchMode::Poll, WatchMode::Native] {
            let handle = spawn(store.clone(), mode, Duration::from_secs(3600))
                .expect("start watching")
                .expect("a directory is watched");
            assert_eq!(handle.mode(), Some(mode));
            let started = Instant::now();
            drop(handle);
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "{mode:?}: drop took too long"
            );
        }
        // Both threads are gone: only the test's own reference to the store is left.
        assert_eq!(Arc::strong_count(&store), 1);
        assert!(
            spawn(store, WatchMode::Off, Duration::from_secs(1))
                .expect("off")
                .is_none()
        );
    }
}
