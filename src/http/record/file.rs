//! The recording's scenario file: read when a recording starts (so recording again merges),
//! one route per match key, written whole and atomically (a temporary file beside it, then a
//! rename) after each capture, its `file` bodies in a hidden folder beside it.
//!
//! Merging: a key already in the file keeps its route. In `on-miss` mode the route is left as
//! it is (that request is answered from the file). In `always` mode the first capture of a
//! key in a session replaces the route's answers and later captures append to its
//! `responses` script, so recording the same session again gives the same file rather than a
//! longer one. New routes go before the first route with a less specific key (fewer query,
//! header and body matchers), so no route takes another's requests.

use std::collections::HashSet;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::Mode;
use super::capture::Captured;
use super::key::{Key, specificity};
use super::spool::Spooled;

/// The document being recorded into and what this session did to it.
pub struct RecordFile {
    path: PathBuf,
    /// The document; its `routes` are in `routes` (and put back in place when written).
    doc: Map<String, Value>,
    routes: Vec<Value>,
    /// The key text of each route, in file order.
    keys: Vec<String>,
    /// Keys whose answers this session captured (in `always` mode, replaced then appended).
    seen: HashSet<String>,
    /// Ids of the routes this session added or changed, in the order first written.
    written: Vec<String>,
    /// Length and modification time of the file as last read or written: a hand edit since
    /// is read back before the next capture is added.
    stamp: Option<(u64, std::time::SystemTime)>,
}

/// The file's length and modification time, when it exists.
fn stamp_of(path: &Path) -> Option<(u64, std::time::SystemTime)> {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

impl RecordFile {
    /// The file at `path`, or a new empty scenario when there is none yet.
    pub fn open(path: &Path) -> Result<Self, String> {
        let doc = match std::fs::read(path) {
            Ok(bytes) => {
                let value: Value = serde_json::from_slice(&bytes).map_err(|err| {
                    format!(
                        "{} is not JSON ({err}); record into a new file or fix it",
                        path.display()
                    )
                })?;
                match value {
                    Value::Object(doc) if doc.get("routes").is_some_and(Value::is_array) => doc,
                    _ => {
                        return Err(format!(
                            "{} is not a native scenario file (an object with \"routes\"); \
                             record into a new file",
                            path.display()
                        ));
                    }
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                let mut doc = Map::new();
                doc.insert(
                    "description".into(),
                    Value::String("Recorded by understudy record".into()),
                );
                doc.insert("routes".into(), Value::Array(Vec::new()));
                doc
            }
            Err(err) => return Err(format!("cannot read {}: {err}", path.display())),
        };
        let mut doc = doc;
        let routes = match doc.insert("routes".into(), Value::Null) {
            Some(Value::Array(routes)) => routes,
            _ => Vec::new(),
        };
        let mut file = RecordFile {
            path: path.to_path_buf(),
            doc,
            routes,
            keys: Vec::new(),
            seen: HashSet::new(),
            written: Vec::new(),
            stamp: stamp_of(path),
        };
        file.keys = file
            .routes()
            .iter()
            .map(|r| r.get("request").cloned().unwrap_or_default().to_string())
            .map(|k| if k == "null" { "{}".to_owned() } else { k })
            .collect();
        Ok(file)
    }

    /// Reads the file again when it changed on disk since this session last read or wrote
    /// it (a hand edit while recording), keeping what this session captured; an edit that is
    /// not a native scenario file is an error (nothing is written over it).
    pub fn catch_up(&mut self) -> Result<(), String> {
        if stamp_of(&self.path) == self.stamp {
            return Ok(());
        }
        let fresh = RecordFile::open(&self.path).map_err(|err| {
            format!("the recording was edited by hand and cannot be read back: {err}")
        })?;
        self.doc = fresh.doc;
        self.routes = fresh.routes;
        self.keys = fresh.keys;
        self.stamp = fresh.stamp;
        Ok(())
    }

    /// The file's key texts.
    pub fn keys(&self) -> &[String] {
        &self.keys
    }

    /// The route ids, in file order.
    pub fn ids(&self) -> Vec<String> {
        self.routes()
            .iter()
            .enumerate()
            .map(|(i, r)| route_id(r, i))
            .collect()
    }

    /// The scenario name the file gives itself, if any.
    pub fn name(&self) -> Option<&str> {
        self.doc.get("name").and_then(Value::as_str)
    }

    fn routes(&self) -> &[Value] {
        &self.routes
    }

    /// Adds a captured answer for `key` (see the module docs); `false` when the file does
    /// not change (`on-miss`, key already recorded). A `file` body is written first, into
    /// the hidden folder beside the file.
    pub fn add(
        &mut self,
        mode: Mode,
        key: &Key,
        method: &str,
        path: &str,
        mut captured: Captured,
    ) -> Result<bool, String> {
        let at = self.keys.iter().position(|k| *k == key.text);
        if at.is_some() && mode == Mode::OnMiss {
            return Ok(false);
        }
        let id = match at {
            Some(i) => route_id(&self.routes()[i], i),
            None => self.fresh_id(method, path),
        };
        if let Some(body) = captured.file.take() {
            let relative = self.write_body(&id, body.body, &body.extension)?;
            captured.name_file(&relative);
        }
        let response = Value::Object(captured.response);
        match at {
            Some(i) => {
                let first = self.seen.insert(key.text.clone());
                let route = &mut self.routes[i];
                if let Value::Object(route) = route {
                    if first {
                        route.remove("responses");
                        route.remove("afterLast");
                        route.insert("response".into(), response);
                    } else {
                        append(route, response);
                    }
                }
            }
            None => {
                self.seen.insert(key.text.clone());
                let mut route = Map::new();
                route.insert("id".into(), Value::String(id.clone()));
                route.insert("request".into(), key.matcher.clone());
                route.insert("response".into(), response);
                let rank = specificity(&key.matcher);
                let before = self
                    .routes()
                    .iter()
                    .position(|r| specificity(r.get("request").unwrap_or(&Value::Null)) < rank)
                    .unwrap_or(self.keys.len());
                self.routes.insert(before, Value::Object(route));
                self.keys.insert(before, key.text.clone());
            }
        }
        if !self.written.contains(&id) {
            self.written.push(id);
        }
        Ok(true)
    }

    /// The routes this session added or changed, as they are in the file now.
    pub fn written(&self) -> Vec<Value> {
        let ids = self.ids();
        self.written
            .iter()
            .filter_map(|id| ids.iter().position(|i| i == id))
            .map(|i| self.routes()[i].clone())
            .collect()
    }

    /// Writes the document: a temporary file beside it (hidden and `.tmp`, so a scan never
    /// loads it), then a rename over the file.
    pub fn write(&mut self) -> Result<(), String> {
        let mut doc = self.doc.clone();
        doc.insert("routes".into(), Value::Array(self.routes.clone()));
        let mut text = serde_json::to_string_pretty(&Value::Object(doc))
            .map_err(|err| format!("cannot serialize the recording: {err}"))?;
        text.push('\n');
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = self
            .path
            .with_file_name(format!(".{name}.{}.tmp", std::process::id()));
        let written = std::fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        });
        if let Err(err) = written.and_then(|()| std::fs::rename(&tmp, &self.path)) {
            let _ = std::fs::remove_file(&tmp);
            return Err(format!("cannot write {}: {err}", self.path.display()));
        }
        self.stamp = stamp_of(&self.path);
        Ok(())
    }

    /// The hidden folder of this file's bodies, relative to the file's folder:
    /// `.NAME.bodies` (the scenario search skips hidden folders).
    fn bodies_dir(&self) -> String {
        let stem = self
            .path
            .file_stem()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!(".{stem}.bodies")
    }

    /// Writes a body file (a body spooled to disk is moved into place); its path relative to
    /// the recording's folder.
    fn write_body(&self, id: &str, body: Spooled, extension: &str) -> Result<String, String> {
        let folder = self.path.parent().unwrap_or(Path::new("."));
        let dir = folder.join(self.bodies_dir());
        std::fs::create_dir_all(&dir)
            .map_err(|err| format!("cannot create {}: {err}", dir.display()))?;
        let unique = uuid::Uuid::new_v4().simple().to_string();
        let name = format!("{id}-{}.{extension}", &unique[..8]);
        let path = dir.join(&name);
        body.persist(&path)
            .map_err(|err| format!("cannot write {}: {err}", path.display()))?;
        Ok(format!("{}/{name}", self.bodies_dir()))
    }

    /// An id from the method and path not yet used in the file (`get-users-42`, then
    /// `get-users-42-2`, …).
    fn fresh_id(&self, method: &str, path: &str) -> String {
        let mut slug = String::new();
        for c in format!("{method} {path}").chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
            if slug.len() >= 60 {
                break;
            }
        }
        let base = slug.trim_matches('-').to_owned();
        let base = if base.is_empty() {
            "route".to_owned()
        } else {
            base
        };
        let ids = self.ids();
        if !ids.contains(&base) {
            return base;
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|id| !ids.contains(id))
            .unwrap_or(base)
    }
}

/// Appends `response` to a route's script, turning a single `response` into `responses`;
/// the same answer twice in a row becomes one step with `repeat`.
fn append(route: &mut Map<String, Value>, response: Value) {
    let mut steps = match (route.remove("responses"), route.remove("response")) {
        (Some(Value::Array(steps)), _) => steps,
        (_, Some(one)) => vec![one],
        _ => Vec::new(),
    };
    let same_as_last = steps.last().is_some_and(|last| {
        let mut last = last.clone();
        if let Value::Object(l) = &mut last {
            l.remove("repeat");
        }
        last == response
    });
    match steps.last_mut() {
        Some(Value::Object(last)) if same_as_last => {
            let n = last.get("repeat").and_then(Value::as_u64).unwrap_or(1);
            last.insert("repeat".into(), Value::from(n + 1));
        }
        _ => steps.push(response),
    }
    route.insert("responses".into(), Value::Array(steps));
}

/// A route's id as the loader sees it: its `id`, or its index.
fn route_id(route: &Value, index: usize) -> String {
    route
        .get("id")
        .and_then(Value::as_str)
        .map_or_else(|| index.to_string(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::record::capture::Captured;

    fn captured(status: u16) -> Captured {
        let mut response = Map::new();
        response.insert("status".into(), Value::from(status));
        Captured {
            response,
            file: None,
        }
    }

    fn key(matcher: Value) -> Key {
        Key {
            text: matcher.to_string(),
            matcher,
        }
    }

    #[test]
    fn always_mode_scripts_a_repeated_key_and_a_new_session_replaces_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rec.json");
        let k = key(serde_json::json!({"method": "GET", "path": "/n"}));
        let mut file = RecordFile::open(&path).expect("new");
        for status in [200, 200, 503] {
            assert!(
                file.add(Mode::Always, &k, "GET", "/n", captured(status))
                    .expect("adds")
            );
        }
        file.write().expect("writes");
        let routes = file.written();
        assert_eq!(routes.len(), 1);
        assert_eq!(
            routes[0]["responses"],
            serde_json::json!([{"status": 200, "repeat": 2}, {"status": 503}])
        );
        let mut again = RecordFile::open(&path).expect("reads");
        assert!(
            !again
                .add(Mode::OnMiss, &k, "GET", "/n", captured(201))
                .expect("no change")
        );
        again
            .add(Mode::Always, &k, "GET", "/n", captured(201))
            .expect("replaces");
        assert_eq!(again.written()[0]["response"]["status"], 201);
        assert_eq!(again.ids(), vec!["get-n".to_owned()]);
    }

    #[test]
    fn more_specific_keys_go_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut file = RecordFile::open(&dir.path().join("r.json")).expect("new");
        let plain = key(serde_json::json!({"method": "GET", "path": "/s"}));
        let with_query =
            key(serde_json::json!({"method": "GET", "path": "/s", "query": {"q": "a"}}));
        file.add(Mode::OnMiss, &plain, "GET", "/s", captured(200))
            .expect("adds");
        file.add(Mode::OnMiss, &with_query, "GET", "/s", captured(200))
            .expect("adds");
        assert_eq!(file.ids(), vec!["get-s-2".to_owned(), "get-s".to_owned()]);
        assert_eq!(file.keys()[0], with_query.text);
    }
}
