//! The compile context: where a document came from, the bounds it must respect, and the
//! diagnostics collected while it is compiled. Shared by every compiler of the scenario format
//! (routes, responses, 1xx keys), so each of them reports problems the same way.

use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};

use super::diag::{Diagnostic, JsonPath, locate};
use super::messages::shorten;

/// Default of `--max-scenario-file-bytes`: 16 MiB.
pub const DEFAULT_MAX_SCENARIO_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Default of `--max-routes-per-file`.
pub const DEFAULT_MAX_ROUTES_PER_FILE: usize = 10_000;

/// Bounds on one scenario file, so a runaway generator or a wrong file cannot exhaust memory,
/// and on the work its templates may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest scenario file read, in bytes (larger files are an error, not read at all).
    pub max_file_bytes: u64,
    /// Most routes one file may hold.
    pub max_routes: usize,
    /// Fuel per render of the file's templates (`--template-fuel`), response and WebSocket
    /// alike; each server (each [`crate::store::Store`]) has its own.
    pub template_fuel: u64,
    /// Every WireMock stub's response is a template, as with WireMock's
    /// `--global-response-templating`.
    pub global_templating: bool,
    /// OpenAPI specs validate requests (`--openapi-validate`, on by default).
    pub openapi_validate: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: DEFAULT_MAX_SCENARIO_FILE_BYTES,
            max_routes: DEFAULT_MAX_ROUTES_PER_FILE,
            template_fuel: super::template::FUEL,
            global_templating: false,
            openapi_validate: true,
        }
    }
}

use super::path_regex::REGEX_SIZE_LIMIT;

/// Where a scenario document came from, for error positions and `file` confinement.
pub struct Origin<'a> {
    /// The file as shown in diagnostics.
    pub display: &'a Path,
    /// The JSON text, to recover positions.
    pub source: &'a str,
    /// Canonical scenarios directory; `file` bodies must resolve inside it. `None`: `dir`
    /// itself, canonicalized only when a `file` body is read.
    pub root: Option<&'a Path>,
    /// Folder that `file` paths are relative to.
    pub dir: &'a Path,
    /// Name used when the document has none.
    pub default_name: String,
    /// The file relative to the scenarios directory.
    pub relative: Option<PathBuf>,
    /// Bounds on what the file may hold.
    pub limits: Limits,
}

/// Collects diagnostics for one document.
pub(crate) struct Ctx<'a> {
    pub(crate) origin: &'a Origin<'a>,
    pub(crate) diags: Vec<Diagnostic>,
    pub(crate) warnings: Vec<Diagnostic>,
    /// Whether a `file` body was read (the result then depends on more than the text).
    pub(crate) read_files: bool,
}

impl Ctx<'_> {
    fn at(&self, path: &JsonPath, message: String) -> Diagnostic {
        let pos = locate(self.origin.source, path);
        Diagnostic {
            file: self.origin.display.to_path_buf(),
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
            path: path.to_string(),
            message,
        }
    }

    /// Records a problem at `path`.
    pub(crate) fn error(&mut self, path: &JsonPath, message: impl Into<String>) {
        let d = self.at(path, message.into());
        self.diags.push(d);
    }

    /// Records a problem with the key that ends `path` (such as a bad header name), at the
    /// key's position.
    pub(crate) fn error_at_key(&mut self, path: &JsonPath, message: impl Into<String>) {
        let mut d = self.at(path, message.into());
        if let Some((line, column)) = super::diag::locate_key(self.origin.source, path) {
            d.line = Some(line);
            d.column = Some(column);
        }
        self.diags.push(d);
    }

    /// Records something that loads but is probably not what the author meant.
    pub(crate) fn warn(&mut self, path: &JsonPath, message: impl Into<String>) {
        let d = self.at(path, format!("warning: {}", message.into()));
        self.warnings.push(d);
    }

    /// Compiles a user regex; `anchored` wraps it as `^(?:…)$` for whole-value matching.
    pub(crate) fn regex(
        &mut self,
        pattern: &str,
        path: &JsonPath,
        anchored: bool,
    ) -> Option<Regex> {
        let full = if anchored {
            format!("^(?:{pattern})$")
        } else {
            pattern.to_owned()
        };
        match RegexBuilder::new(&full)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
        {
            Ok(re) => Some(re),
            Err(err) => {
                self.error(path, regex_message(pattern, &err));
                None
            }
        }
    }
}

impl<'a> Ctx<'a> {
    /// A context for compiling the document `origin` describes, with nothing reported yet.
    pub(crate) fn new(origin: &'a Origin<'a>) -> Self {
        Ctx {
            origin,
            diags: Vec::new(),
            warnings: Vec::new(),
            read_files: false,
        }
    }
}

impl Ctx<'_> {
    /// Reports `err`, the regex crate's error for the user pattern `pattern`, at `path`.
    pub(crate) fn regex_error(&mut self, pattern: &str, path: &JsonPath, err: &regex::Error) {
        self.error(path, regex_message(pattern, err));
    }
}

/// One line describing a regex error, with a hint for habits from other regex engines.
fn regex_message(pattern: &str, err: &regex::Error) -> String {
    let detail = match err {
        regex::Error::Syntax(text) => text
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("error: "))
            .unwrap_or(text)
            .to_owned(),
        regex::Error::CompiledTooBig(limit) => {
            format!("compiled regex exceeds the size limit of {limit} bytes")
        }
        other => other.to_string(),
    };
    let shown = shorten(pattern, 60);
    let mut msg = format!("invalid regex {shown:?}: {detail}");
    let hint = if detail.contains("look-around") || detail.contains("backreferences") {
        " (hint: understudy uses Rust regex syntax, which matches in linear time and has no \
         look-around or backreferences; match the wider text instead, or split the route)"
    } else if pattern.contains("(?>") {
        " (hint: atomic groups `(?>…)` do not exist in Rust regex syntax and are not needed: \
         Rust regexes never backtrack; use `(?:…)`)"
    } else if detail.contains("repetition operator missing expression") {
        " (hint: `*`, `+` and `?` repeat what comes before them; to match one literally \
         escape it, e.g. \"\\\\*/\\\\*\", and to match anything use \".*\")"
    } else if matches!(err, regex::Error::CompiledTooBig(_)) {
        " (Rust regexes match in linear time, so there is no catastrophic backtracking, but \
         large counted repetitions such as \\w{100} build a large automaton: lower the \
         counts, or use an ASCII class like [a-z0-9_] instead of the Unicode-aware \\w)"
    } else if detail.contains("nested") {
        " (hint: simplify the pattern; nesting is limited to keep matching fast)"
    } else {
        ""
    };
    msg.push_str(hint);
    msg
}

/// Why `name` cannot be a header name, if it cannot: names are RFC 9110 tokens.
pub(crate) fn header_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a header name must not be empty".to_owned());
    }
    if name.contains(['\r', '\n']) {
        return Some(format!(
            "header name {name:?} must not contain CR or LF (it would split the header)"
        ));
    }
    let bad = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(*c)))?;
    Some(format!(
        "header name {name:?} contains {bad:?}; a header name is a token of letters, digits \
         and !#$%&'*+-.^_`|~ (no spaces or colons)"
    ))
}

/// Why `value` cannot be a header value, if it cannot.
pub(crate) fn header_value_problem(value: &str) -> Option<String> {
    if value.contains(['\r', '\n']) {
        return Some(format!(
            "header value {value:?} must not contain CR or LF (it would split the header)"
        ));
    }
    value
        .chars()
        .any(|c| (c.is_ascii_control() && c != '\t') || c == '\u{7f}')
        .then(|| format!("header value {value:?} must not contain control characters"))
}

#[cfg(test)]
mod tests {
    use super::{header_name_problem, header_value_problem};

    #[test]
    fn header_names_are_tokens_and_values_have_no_controls() {
        assert!(header_name_problem("X-Request-Id").is_none());
        assert!(header_name_problem("X Trace").is_some());
        assert!(header_name_problem("X-A:").is_some());
        assert!(header_name_problem("X\r\nY").is_some());
        assert!(header_name_problem("").is_some());
        assert!(header_value_problem("text/html; q=0.9\tx").is_none());
        assert!(header_value_problem("a\nb").is_some());
        assert!(header_value_problem("a\u{0}b").is_some());
    }
}
