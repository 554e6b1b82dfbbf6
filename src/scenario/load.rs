//! Finding, reading and parsing scenario files; one bad file never hides the good ones.
//!
//! [`load_dir`] scans a scenarios directory recursively, parses each `*.json` file strictly,
//! compiles it, and reports per file: the compiled scenario or its diagnostics. Set-wide rules
//! (scenario names are unique) are applied in path order, so the outcome is deterministic.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::error::Category;

use super::compile::{Origin, compile};
use super::compiled::CompiledScenario;
use super::diag::{Diagnostic, JsonPath, locate};
use super::model::ScenarioFile;

/// What became of one scenario file.
#[derive(Debug)]
pub struct FileOutcome {
    /// The file as shown in diagnostics (scenarios dir joined with `relative`).
    pub display: PathBuf,
    /// The file relative to the scenarios directory.
    pub relative: PathBuf,
    /// The compiled scenario, or every problem found in the file.
    pub result: Result<CompiledScenario, Vec<Diagnostic>>,
    /// Hash of the bytes read (0 when the file could not be read).
    pub hash: u64,
}

/// Whether a directory entry is an editor temp or hidden file that the contract says to skip.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.') || name.ends_with('~') || name.ends_with(".swp") || name.ends_with(".tmp")
}

/// Scenario files under `root`, relative to it, in sorted order.
///
/// Symlinks are followed (Kubernetes ConfigMaps are symlink farms); hidden directories such as
/// a ConfigMap's `..data` are skipped so each file is seen once, under the name the user sees.
pub fn scan(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_ignored_name(&e.file_name().to_string_lossy()));
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) if err.depth() == 0 => return Err(err.into()),
            Err(err) => {
                tracing::warn!("skipping unreadable entry in {}: {err}", root.display());
                continue;
            }
        };
        if entry.file_type().is_file() && entry.file_name().to_string_lossy().ends_with(".json") {
            let rel = entry
                .path()
                .strip_prefix(root)
                .unwrap_or(entry.path())
                .to_path_buf();
            files.push(rel);
        }
    }
    Ok(files)
}

/// Loads every scenario file under `root`.
pub fn load_dir(root: &Path) -> std::io::Result<Vec<FileOutcome>> {
    let canonical = root.canonicalize()?;
    let files = scan(root)?;
    let mut outcomes: Vec<FileOutcome> = files
        .into_iter()
        .map(|rel| load_file(root, &canonical, &rel))
        .collect();
    check_unique_names(&mut outcomes);
    Ok(outcomes)
}

/// Reads, parses and compiles one file given relative to `root` (`canonical` is `root`
/// resolved, for `file` confinement).
pub fn load_file(root: &Path, canonical: &Path, relative: &Path) -> FileOutcome {
    let bytes = fs::read(root.join(relative));

    load_bytes(root, canonical, relative, bytes)
}

/// Parses and compiles a file's bytes already read (or the error reading them).
pub fn load_bytes(
    root: &Path,
    canonical: &Path,
    relative: &Path,
    bytes: std::io::Result<Vec<u8>>,
) -> FileOutcome {
    // `validate x.json` shows `x.json`, not `./x.json`.
    let display = if root == Path::new(".") {
        relative.to_path_buf()
    } else {
        root.join(relative)
    };
    let hash = bytes.as_ref().map_or(0, |b| content_hash(b));
    let result = bytes
        .map_err(|err| {
            vec![Diagnostic::file_level(
                &display,
                format!("cannot read file: {err}"),
            )]
        })
        .and_then(|bytes| decode(&display, bytes))
        .and_then(|source| {
            let dir = display.parent().unwrap_or(root).to_path_buf();
            let origin = Origin {
                display: &display,
                source: &source,
                root: canonical,
                dir: &dir,
                default_name: default_name(relative),
                relative: Some(relative.to_path_buf()),
            };
            compile_source(&origin)
        });
    FileOutcome {
        display,
        relative: relative.to_path_buf(),
        result,
        hash,
    }
}

/// A stable hash of file content, to tell a real change from a touch.
pub fn content_hash(bytes: &[u8]) -> u64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    h.finish()
}

/// Parses and compiles a document whose text and origin are known.
pub fn compile_source(origin: &Origin<'_>) -> Result<CompiledScenario, Vec<Diagnostic>> {
    let file = parse(origin.display, origin.source).map_err(|d| vec![d])?;
    let source: serde_json::Value = serde_json::from_str(origin.source).unwrap_or_default();
    compile(&file, source, origin)
}

/// `a/b.json` → `a/b`, with `/` separators on every platform.
pub fn default_name(relative: &Path) -> String {
    let s = relative
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/");
    s.trim_start_matches("./").to_owned()
}

fn decode(display: &Path, bytes: Vec<u8>) -> Result<String, Vec<Diagnostic>> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        let mut d = Diagnostic::file_level(
            display,
            "file starts with a UTF-8 byte order mark (BOM); save it as UTF-8 without BOM",
        );
        d.line = Some(1);
        d.column = Some(1);
        return Err(vec![d]);
    }
    String::from_utf8(bytes).map_err(|err| {
        let (line, column) = {
            let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
            let text = std::str::from_utf8(valid).unwrap_or_default();
            super::diag::line_col(text, text.len())
        };
        let mut d = Diagnostic::file_level(display, "file is not valid UTF-8");
        d.line = Some(line);
        d.column = Some(column);
        vec![d]
    })
}

/// Strict parse of a scenario document into the model.
pub fn parse(display: &Path, source: &str) -> Result<ScenarioFile, Diagnostic> {
    let mut de = serde_json::Deserializer::from_str(source);
    let (path, inner) = match serde_path_to_error::deserialize::<_, ScenarioFile>(&mut de) {
        Ok(file) => match de.end() {
            Ok(()) => return Ok(file),
            Err(err) => ("$".to_owned(), err),
        },
        Err(err) => (err.path().to_string(), err.into_inner()),
    };
    let mut message = strip_position(&inner.to_string());
    if inner.classify() == Category::Eof {
        message = if source.trim().is_empty() {
            "the document is empty; a scenario needs at least {\"routes\": []}".to_owned()
        } else {
            format!("{message} (the file ends too early: was it cut short mid-write?)")
        };
    }
    if let Some(hint) = unknown_field_hint(&message) {
        message.push_str(&hint);
    }
    // serde_path_to_error writes `?` for a step it could not name (inside a syntax error).
    let path = path.replace(".?", "").replace('?', "");
    let path = if path == "." || path.is_empty() {
        "$".to_owned()
    } else {
        path
    };
    Err(Diagnostic {
        file: display.to_path_buf(),
        line: Some(inner.line().max(1)),
        column: Some(inner.column().max(1)),
        path,
        message,
    })
}

/// serde_json's messages end with " at line L column C"; the diagnostic prints those itself.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// "did you mean" for serde's `unknown field `x`, expected one of `a`, `b``.
fn unknown_field_hint(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    let (field, expected) = rest.split_once('`')?;
    let best = expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| {
            (
                strsim::damerau_levenshtein(&field.to_lowercase(), &cand.to_lowercase()),
                cand,
            )
        })
        .filter(|(d, cand)| *d <= 2.max(cand.len() / 3))
        .min_by_key(|(d, _)| *d)?;
    Some(format!(" (did you mean `{}`?)", best.1))
}

/// Marks all but the first file (in path order) that claim the same scenario name.
fn check_unique_names(outcomes: &mut [FileOutcome]) {
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for outcome in outcomes.iter_mut() {
        let Ok(scenario) = &outcome.result else {
            continue;
        };
        if let Some(first) = seen.get(&scenario.name) {
            let message = format!(
                "scenario name {:?} is already used by {}",
                scenario.name,
                first.display()
            );
            let source = fs::read_to_string(&outcome.display).unwrap_or_default();
            let at = JsonPath::root().key("name");
            let pos = locate(&source, &at);
            outcome.result = Err(vec![Diagnostic {
                file: outcome.display.clone(),
                line: pos.map(|p| p.0),
                column: pos.map(|p| p.1),
                path: at.to_string(),
                message,
            }]);
        } else {
            seen.insert(scenario.name.clone(), outcome.display.clone());
        }
    }
}
