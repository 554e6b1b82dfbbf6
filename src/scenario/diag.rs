//! Diagnostics for scenario files: `FILE:LINE:COL: at JSON.PATH: message`.
//!
//! Every problem found in a scenario file, whether the JSON parser or the validator found it,
//! becomes a [`Diagnostic`] that names the file, the position and the JSON path of the bad
//! value. Positions for problems found after parsing are recovered by walking the source text
//! along the JSON path ([`locate`]), so a bad regex points at the regex, not at the file.

use std::fmt;
use std::path::{Path, PathBuf};

use jsonc_parser::ast::Value as Node;
use jsonc_parser::common::Ranged;

/// One problem in one scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, as the user named it (scenarios dir joined with the relative path).
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// 1-based column, when known.
    pub column: Option<usize>,
    /// JSON path of the bad value, e.g. `routes[0].response.status` (`$` for the document).
    pub path: String,
    /// What is wrong, quoting the bad input where that helps.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let (Some(line), Some(col)) = (self.line, self.column) {
            write!(f, ":{line}:{col}")?;
        }
        write!(f, ": at {}: {}", self.path, self.message)
    }
}

impl Diagnostic {
    /// A problem with the file as a whole (unreadable, not UTF-8), with no position.
    pub fn file_level(file: &Path, message: impl Into<String>) -> Self {
        Diagnostic {
            file: file.to_path_buf(),
            line: None,
            column: None,
            path: "$".into(),
            message: message.into(),
        }
    }
}

/// One step of a JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    /// An object key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// A JSON path built while walking a document, displayed as `routes[0].request.headers.accept`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JsonPath(Vec<Seg>);

impl JsonPath {
    /// The document root.
    pub fn root() -> Self {
        JsonPath(Vec::new())
    }

    /// This path extended by an object key.
    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_owned()));
        JsonPath(segs)
    }

    /// This path extended by an array index.
    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        JsonPath(segs)
    }

    /// The steps of the path.
    pub fn segments(&self) -> &[Seg] {
        &self.0
    }
}

impl JsonPath {
    /// The path serde_path_to_error recorded; steps it could not name (inside a syntax
    /// error) are dropped.
    pub fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment;
        JsonPath(
            path.iter()
                .filter_map(|seg| match seg {
                    Segment::Seq { index } => Some(Seg::Index(*index)),
                    Segment::Map { key } => Some(Seg::Key(key.clone())),
                    Segment::Enum { variant } => Some(Seg::Key(variant.clone())),
                    Segment::Unknown => None,
                })
                .collect(),
        )
    }

    /// This path without its last `n` steps.
    pub fn truncated(&self, len: usize) -> Self {
        JsonPath(self.0[..len.min(self.0.len())].to_vec())
    }
}

/// Whether a key can be shown as `.key` (anything else is shown as `["key"]`, escaped, so
/// a path never holds a space, a line break or a dot that is not a separator).
fn is_plain_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("$");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if !is_plain_key(k) => {
                    // JSON string syntax; a space is escaped too, so a path is one word
                    // and `FILE:LINE:COL: at PATH: message` splits at the first space.
                    let quoted = serde_json::to_string(k).map_err(|_| fmt::Error)?;
                    write!(f, "[{}]", quoted.replace(' ', "\\u0020"))?;
                }
                Seg::Key(k) if i == 0 => f.write_str(k)?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Finds the 1-based (line, column) of the value at `path` in `source`.
///
/// When the path leads to a key the document does not hold, the position of the deepest
/// value found on the way is returned; `None` only when the source does not parse.
///
/// A source that is not JSON is read as a YAML block document (an OpenAPI spec), best
/// effort: keys are found by their indentation ([`locate_yaml`]).
pub fn locate(source: &str, path: &JsonPath) -> Option<(usize, usize)> {
    match walk(source, path) {
        Some(w) => Some(line_col(source, w.offset)),
        None => locate_yaml(source, path),
    }
}

/// The 1-based (line, column) of the value at `path` in a YAML block document, or of the
/// deepest key found on the way; keys are matched by indentation, line by line (flow
/// collections are not entered).
pub fn locate_yaml(source: &str, path: &JsonPath) -> Option<(usize, usize)> {
    let lines: Vec<&str> = source.lines().collect();
    fn content(line: &str) -> Option<(usize, usize, &str, bool)> {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed == "---" {
            return None;
        }
        let indent = line.len() - trimmed.len();
        let body = trimmed.strip_prefix("- ").unwrap_or(trimmed);
        Some((
            indent,
            indent + trimmed.len() - body.len(),
            body,
            body.len() != trimmed.len(),
        ))
    }
    let mut start = 0usize;
    let mut parent: isize = -1;
    let mut found = None;
    for seg in path.segments() {
        let mut child = None;
        let mut hit = None;
        let mut items = 0usize;
        for (i, line) in lines.iter().enumerate().skip(start) {
            let Some((indent, body_indent, body, dash)) = content(line) else {
                continue;
            };
            if i != start && indent as isize <= parent {
                break;
            }
            let want = *child.get_or_insert(match seg {
                Seg::Key(_) => body_indent,
                Seg::Index(_) => indent,
            });
            match seg {
                Seg::Key(k) => {
                    if body_indent != want {
                        continue;
                    }
                    let quoted = [format!("{k}:"), format!("\"{k}\":"), format!("'{k}':")];
                    if quoted.iter().any(|q| body.starts_with(q.as_str())) {
                        hit = Some((i, body_indent, body_indent as isize, i + 1));
                        break;
                    }
                }
                Seg::Index(n) => {
                    if indent != want || !dash {
                        continue;
                    }
                    if items == *n {
                        hit = Some((i, body_indent, indent as isize, i));
                        break;
                    }
                    items += 1;
                }
            }
        }
        let Some((line, column, indent, next)) = hit else {
            break;
        };
        found = Some((line + 1, column + 1));
        parent = indent;
        start = next;
    }
    found
}

/// Like [`locate`], but only when the whole path exists in `source`.
pub fn locate_exact(source: &str, path: &JsonPath) -> Option<(usize, usize)> {
    walk(source, path)
        .filter(|w| w.complete)
        .map(|w| line_col(source, w.offset))
}

/// The 1-based (line, column) of the *key* that ends `path` (an object member's name), for
/// problems with the key itself, such as an unknown key.
pub fn locate_key(source: &str, path: &JsonPath) -> Option<(usize, usize)> {
    let walked = walk(source, path)?;
    walked.key.map(|offset| line_col(source, offset))
}

struct Walked {
    /// Start of the deepest value reached.
    offset: usize,
    /// Start of the key of the last step, when the last step is a key that exists.
    key: Option<usize>,
    /// Whether every step was found.
    complete: bool,
}

fn walk(source: &str, path: &JsonPath) -> Option<Walked> {
    let parsed =
        jsonc_parser::parse_to_ast(source, &Default::default(), &Default::default()).ok()?;
    let mut node = parsed.value?;
    let mut walked = Walked {
        offset: node.start(),
        key: None,
        complete: true,
    };
    for seg in path.segments() {
        let next = match (seg, node) {
            (Seg::Key(k), Node::Object(obj)) => obj
                .properties
                .into_iter()
                .find(|p| p.name.as_str() == k)
                .map(|p| (Some(p.name.start()), p.value)),
            (Seg::Index(n), Node::Array(arr)) => {
                arr.elements.into_iter().nth(*n).map(|v| (None, v))
            }
            _ => None,
        };
        match next {
            Some((key, value)) => {
                walked.offset = value.start();
                walked.key = key;
                node = value;
            }
            None => {
                walked.complete = false;
                walked.key = None;
                break;
            }
        }
    }
    Some(walked)
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset.min(source.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_nested_values() {
        let src = "{\n  \"routes\": [\n    {\"response\": {\"status\": 700}}\n  ]\n}";
        let path = JsonPath::root()
            .key("routes")
            .index(0)
            .key("response")
            .key("status");
        assert_eq!(path.to_string(), "routes[0].response.status");
        assert_eq!(locate(src, &path), Some((3, 29)));
    }

    #[test]
    fn keys_that_are_not_plain_are_quoted() {
        let path = JsonPath::root()
            .key("routes")
            .index(0)
            .key("headers")
            .key("X-Evil\r\nSet-Cookie");
        assert_eq!(
            path.to_string(),
            r#"routes[0].headers["X-Evil\r\nSet-Cookie"]"#
        );
        assert_eq!(
            JsonPath::root().key("content type").to_string(),
            r#"["content\u0020type"]"#
        );
    }

    #[test]
    fn locates_keys() {
        let src = "{\n  \"routes\": [],\n  \"rotues\": []\n}";
        assert_eq!(
            locate_key(src, &JsonPath::root().key("rotues")),
            Some((3, 3))
        );
        assert_eq!(locate_key(src, &JsonPath::root().key("nope")), None);
    }

    #[test]
    fn missing_key_falls_back_to_parent() {
        let src = "{\"routes\": []}";
        let path = JsonPath::root().key("routes").index(3);
        assert_eq!(locate(src, &path), Some((1, 12)));
    }
}
