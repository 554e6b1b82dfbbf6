//! Reading what the CLI and the server print: `FILE:LINE:COL: at JSON.PATH: message`
//! diagnostic lines, source positions and RFC 3339 times.

use std::path::Path;

/// 1-based line and column (in characters) of the first occurrence of `needle` in `text`.
pub fn line_col_of(text: &str, needle: &str) -> (usize, usize) {
    let offset = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not in {text:?}"));
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// One `FILE:LINE:COL: at JSON.PATH: message` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagLine {
    pub file: String,
    pub line: usize,
    pub col: usize,
    pub path: String,
    pub message: String,
}

/// Parses a diagnostic line of the shape `^FILE:\d+:\d+: at [^ ]+: .+$`.
pub fn parse_diag(line: &str) -> Option<DiagLine> {
    let re = regex::Regex::new(r"^(.+):(\d+):(\d+): at ([^ ]+): (.+)$").expect("valid regex");
    let c = re.captures(line)?;
    Some(DiagLine {
        file: c[1].to_owned(),
        line: c[2].parse().ok()?,
        col: c[3].parse().ok()?,
        path: c[4].to_owned(),
        message: c[5].to_owned(),
    })
}

/// The diagnostic lines in `text` that name `file`.
pub fn diags_for(text: &str, file: &Path) -> Vec<DiagLine> {
    let name = file.display().to_string();
    text.lines()
        .filter_map(parse_diag)
        .filter(|d| d.file == name)
        .collect()
}

/// Whether some log line contains `FILE:LINE:COL: at PATH: ` for `file` at `path`, and
/// returns that line.
pub fn logged_diag(logs: &[String], file: &Path, path: &str) -> Option<String> {
    let prefix = file.display().to_string();
    logs.iter()
        .find(|l| {
            l.find(&prefix).is_some_and(|i| {
                parse_diag(&l[i..]).is_some_and(|d| d.file == prefix && d.path == path)
            })
        })
        .cloned()
}

/// The diagnostic in every log line that names `file`, parsed from where the name starts.
pub fn logged_diags(logs: &[String], file: &Path) -> Vec<DiagLine> {
    let name = file.display().to_string();
    logs.iter()
        .filter_map(|l| l.find(&name).and_then(|i| parse_diag(&l[i..])))
        .collect()
}

/// Whether `text` is an RFC 3339 date-time such as `2024-05-01T12:30:00.123Z`.
pub fn is_rfc3339(text: &str) -> bool {
    let re = regex::Regex::new(
        r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$",
    )
    .expect("valid regex");
    re.is_match(text)
}
