//! Finding, reading and parsing scenario files; one bad file never hides the good ones.
//!
//! [`load_dir`] scans a scenarios directory recursively, parses each `*.json` file strictly
//! (and each `*.openapi.yaml|yml|json` OpenAPI spec: `compile_source` picks the compiler by
//! the document's kind), compiles it, and reports per file: the compiled scenario or its diagnostics. Set-wide rules
//! (scenario names are unique) are applied in path order, so the outcome is deterministic.

use std::collections::HashMap;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::value::RawValue;

use super::compile::{compile, compile_file};
use super::compiled::CompiledScenario;
use super::ctx::Origin;
use super::diag::{Diagnostic, JsonPath, locate};
use super::messages;
use super::model::ScenarioFile;

pub use super::ctx::{DEFAULT_MAX_ROUTES_PER_FILE, DEFAULT_MAX_SCENARIO_FILE_BYTES, Limits};

/// The error [`read_scenario`] gives for a file over the size limit.
#[derive(Debug, thiserror::Error)]
#[error(
    "the file is {len} bytes; scenario files are limited to {max} bytes \
     (--max-scenario-file-bytes)"
)]
pub struct TooLarge {
    /// Size found (at least).
    pub len: u64,
    /// The limit.
    pub max: u64,
}

/// Reads a scenario file, refusing (without reading it) one larger than the limit.
pub fn read_scenario(path: &Path, limits: &Limits) -> std::io::Result<Vec<u8>> {
    let too_large = |len| {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            TooLarge {
                len,
                max: limits.max_file_bytes,
            },
        )
    };
    let file = fs::File::open(path)?;
    let len = file.metadata()?.len();
    if len > limits.max_file_bytes {
        return Err(too_large(len));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // The file may grow between the size check and the read.
    file.take(limits.max_file_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limits.max_file_bytes {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

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
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            // WireMock's body files live in `__files`: never scenarios.
            e.depth() == 0
                || !(is_ignored_name(&name) || (name == "__files" && e.file_type().is_dir()))
        });
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(err) if err.depth() == 0 => return Err(err.into()),
            Err(err) => {
                tracing::warn!("skipping unreadable entry in {}: {err}", root.display());
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file()
            && (name.ends_with(".json") || super::openapi::is_spec_name(&name))
        {
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
pub fn load_dir(root: &Path, limits: &Limits) -> std::io::Result<Vec<FileOutcome>> {
    let canonical = root.canonicalize()?;
    let files = scan(root)?;
    let mut outcomes: Vec<FileOutcome> = files
        .into_iter()
        .map(|rel| load_file(root, &canonical, &rel, limits))
        .collect();
    check_unique_names(&mut outcomes);
    Ok(outcomes)
}

/// Reads, parses and compiles one file given relative to `root` (`canonical` is `root`
/// resolved, for `file` confinement).
pub fn load_file(root: &Path, canonical: &Path, relative: &Path, limits: &Limits) -> FileOutcome {
    let bytes = read_scenario(&root.join(relative), limits);
    load_bytes(root, canonical, relative, bytes, limits)
}

/// Parses and compiles a file's bytes already read (or the error reading them).
pub fn load_bytes(
    root: &Path,
    canonical: &Path,
    relative: &Path,
    bytes: std::io::Result<Vec<u8>>,
    limits: &Limits,
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
            let too_large = err.get_ref().and_then(|e| e.downcast_ref::<TooLarge>());
            vec![match too_large {
                Some(too_large) => Diagnostic {
                    line: Some(1),
                    column: Some(1),
                    ..Diagnostic::file_level(&display, too_large.to_string())
                },
                None => Diagnostic::file_level(&display, format!("cannot read file: {err}")),
            }]
        })
        .and_then(|bytes| decode(&display, bytes))
        .and_then(|source| {
            let dir = display.parent().unwrap_or(root).to_path_buf();
            let origin = Origin {
                display: &display,
                source: &source,
                root: Some(canonical),
                dir: &dir,
                default_name: default_name(relative),
                relative: Some(relative.to_path_buf()),
                limits: *limits,
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
    if super::openapi::is_openapi_document(origin.display, origin.source) {
        return super::openapi::compile_source(origin);
    }
    if super::wiremock::is_mapping_file(origin.source) {
        return super::wiremock::compile_source(origin);
    }
    // Route by route first: only the route being compiled is held parsed. A file that does
    // not parse that way is parsed whole, strictly, for its error's position and path.
    if let Ok(file) = serde_json::from_str::<ScenarioFile<&RawValue>>(origin.source)
        && let Ok(result) = compile_file(&file, origin)
    {
        return result;
    }
    let file = parse(origin.display, origin.source).map_err(|d| vec![d])?;
    compile(&file, origin)
}

/// `a/b.json` → `a/b`, with `/` separators on every platform.
pub fn default_name(relative: &Path) -> String {
    let name = relative
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let relative = if super::openapi::is_spec_name(&name) {
        // `petstore.openapi.yaml` → `petstore`
        relative.with_extension("")
    } else {
        relative.to_path_buf()
    };
    let s = relative
        .with_extension("")
        .to_string_lossy()
        .replace('\\', "/");
    s.trim_start_matches("./").to_owned()
}

/// UTF-8 text of a file. A UTF-8 byte order mark, which some Windows editors write, is
/// skipped (RFC 8259 lets parsers ignore it); positions count from the character after it.
fn decode(display: &Path, mut bytes: Vec<u8>) -> Result<String, Vec<Diagnostic>> {
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    String::from_utf8(bytes).map_err(|err| {
        let valid_up_to = err.utf8_error().valid_up_to();
        let (line, column) = {
            let valid = &err.as_bytes()[..valid_up_to];
            let text = std::str::from_utf8(valid).unwrap_or_default();
            super::diag::line_col(text, text.len())
        };
        let byte = err.as_bytes().get(valid_up_to).copied().unwrap_or_default();
        let mut d = Diagnostic::file_level(
            display,
            format!(
                "file is not valid UTF-8: byte 0x{byte:02X} here is not UTF-8 (Latin-1 or \
                 Windows-1252 text?); save the file as UTF-8"
            ),
        );
        d.line = Some(line);
        d.column = Some(column);
        vec![d]
    })
}

/// Strict parse of a scenario document into the model.
pub fn parse(display: &Path, source: &str) -> Result<ScenarioFile, Diagnostic> {
    if source.trim_start().starts_with('[') {
        let (line, column) = messages::document_start(source);
        return Err(Diagnostic {
            file: display.to_path_buf(),
            line: Some(line),
            column: Some(column),
            path: "$".into(),
            message: "expected the scenario as one JSON object like {\"routes\": […]}, found an \
                      array (one file holds one scenario)"
                .into(),
        });
    }
    // A good file parses once, without tracking where the parser is; only a bad one is
    // parsed again to find the JSON path of its error.
    if let Ok(file) = serde_json::from_str::<ScenarioFile>(source) {
        return Ok(file);
    }
    let mut de = serde_json::Deserializer::from_str(source);
    let (path, inner) = match serde_path_to_error::deserialize::<_, ScenarioFile>(&mut de) {
        Ok(file) => match de.end() {
            Ok(()) => return Ok(file),
            Err(err) => (JsonPath::root(), err),
        },
        Err(err) => (JsonPath::from_serde(err.path()), err.into_inner()),
    };
    Err(messages::explain(display, source, path, &inner))
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
