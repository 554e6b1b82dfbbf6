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

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("$");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
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
pub fn locate(source: &str, path: &JsonPath) -> Option<(usize, usize)> {
    let parsed =
        jsonc_parser::parse_to_ast(source, &Default::default(), &Default::default()).ok()?;
    let mut node = parsed.value?;
    let mut offset = node.start();
    for seg in path.segments() {
        let next = match (seg, node) {
            (Seg::Key(k), Node::Object(obj)) => obj
                .properties
                .into_iter()
                .find(|p| p.name.as_str() == k)
                .map(|p| p.value),
            (Seg::Index(n), Node::Array(arr)) => arr.elements.into_iter().nth(*n),
            _ => None,
        };
        match next {
            Some(value) => {
                offset = value.start();
                node = value;
            }
            None => break,
        }
    }
    Some(line_col(source, offset))
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
    fn missing_key_falls_back_to_parent() {
        let src = "{\"routes\": []}";
        let path = JsonPath::root().key("routes").index(3);
        assert_eq!(locate(src, &path), Some((1, 12)));
    }
}
