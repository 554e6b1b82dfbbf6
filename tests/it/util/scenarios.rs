//! Temporary scenarios directories and small scenario documents.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// A fresh temporary folder holding a `scenarios/` directory; the folder around it is
/// "outside" the scenarios directory (for confinement tests).
pub struct Scenarios {
    tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scenarios {
    /// An empty scenarios directory in its own temp folder.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("create temp dir");
        let dir = tmp.path().join("scenarios");
        std::fs::create_dir(&dir).expect("create scenarios dir");
        Scenarios { tmp, dir }
    }

    /// The scenarios directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The temp folder that contains the scenarios directory (outside of it).
    pub fn outside(&self) -> &Path {
        self.tmp.path()
    }

    /// Writes `text` to `rel` inside the scenarios directory (creating folders); returns the
    /// full path.
    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        self.write_bytes(rel, text.as_bytes())
    }

    /// Writes raw bytes to `rel` inside the scenarios directory; returns the full path.
    pub fn write_bytes(&self, rel: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, bytes).expect("write scenario file");
        path
    }

    /// Writes a JSON document (pretty-printed) to `rel`; returns the full path.
    pub fn write_json(&self, rel: &str, doc: &Value) -> PathBuf {
        self.write(rel, &pretty(doc))
    }
}

/// Pretty-printed JSON text of `doc`.
pub fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).expect("serialize JSON")
}

/// A scenario with one route `GET path` answering `response`.
pub fn answering(path: &str, response: Value) -> Value {
    json!({ "routes": [ { "request": { "method": "GET", "path": path }, "response": response } ] })
}

/// A minimal scenario with one route `GET path` answering `200` with `body`.
pub fn one_route(path: &str, body: &str) -> Value {
    answering(path, json!({ "status": 200, "body": body }))
}
