//! serde_json's parse errors in the words of the scenario format.
//!
//! serde speaks Rust (`expected u16`, `invalid type: map`, `struct Route`); users write JSON.
//! [`explain`] turns one parse error into a [`Diagnostic`]: JSON words, the bad input quoted,
//! the position of the bad value (or key) rather than where the parser gave up, and a hint
//! for the usual mistakes (quoted numbers, comments, single quotes, typos in keys).

use std::path::Path;

use serde_json::error::Category;

use super::diag::{Diagnostic, JsonPath, Seg, line_col, locate, locate_exact, locate_key};

/// Keys whose value is one object (the model's structs).
const OBJECT_KEYS: &[&str] = &["request", "response", "websocket", "upgrade", "chunks"];
/// Keys whose value is an array of objects.
const OBJECT_LIST_KEYS: &[&str] = &[
    "routes",
    "responses",
    "informational",
    "onOpen",
    "onMessage",
    "do",
];

/// The diagnostic for a document that serde_json could not read into the model.
pub(crate) fn explain(
    display: &Path,
    source: &str,
    path: JsonPath,
    err: &serde_json::Error,
) -> Diagnostic {
    let raw = strip_position(&err.to_string());
    let serde_pos = (err.line().max(1), err.column().max(1));
    let (path, pos, message) = match err.classify() {
        Category::Eof if source.trim().is_empty() => (
            JsonPath::root(),
            (1, 1),
            "the file is empty; a scenario needs at least {\"routes\": []}".to_owned(),
        ),
        Category::Eof => (
            path,
            serde_pos,
            format!("{raw} (the file ends too early: was it cut short mid-write?)"),
        ),
        Category::Syntax | Category::Io if raw.starts_with("control character") => {
            // serde stops after the raw line break or tab; point at the end of the line the
            // unfinished string is on.
            let (line, column) = serde_pos;
            let pos = match (
                column,
                line.checked_sub(2).and_then(|l| source.lines().nth(l)),
            ) {
                (1, Some(prev)) => (line - 1, prev.chars().count() + 1),
                _ => serde_pos,
            };
            let message = "a string runs into a raw line break or control character: close it \
                           with \" on this line, or write a line break as \\n and a tab as \\t"
                .to_owned();
            (path, pos, message)
        }
        Category::Syntax | Category::Io => {
            let message = syntax(source, serde_pos, &raw);
            (path, serde_pos, message)
        }
        Category::Data => data(source, path, serde_pos, &raw),
    };
    Diagnostic {
        file: display.to_path_buf(),
        line: Some(pos.0),
        column: Some(pos.1),
        path: path.to_string(),
        message,
    }
}

/// A syntax error: what was found there, and a hint for the usual non-JSON habits.
fn syntax(source: &str, (line, column): (usize, usize), raw: &str) -> String {
    let found = token_at(source, line, column);
    let mut msg = raw.to_owned();
    if raw == "trailing characters" {
        msg = "unexpected text after the end of the scenario object".to_owned();
    }
    if raw == "expected value" {
        msg = "expected a JSON value".to_owned();
    }
    if let Some(tok) = &found
        && raw != "invalid escape"
        && raw != "invalid number"
    {
        msg.push_str(&format!(", found `{tok}`"));
    }
    let hint = match (raw, found.as_deref()) {
        (_, Some(t)) if t.starts_with("//") || t.starts_with("/*") => {
            " (JSON has no comments; put notes in \"description\")"
        }
        (_, Some(t)) if t.starts_with('\'') => " (JSON strings and keys use double quotes)",
        ("key must be a string", Some(_)) => " (JSON keys are in double quotes)",
        ("expected a JSON value", Some("NaN" | "Infinity" | "undefined")) => {
            " (JSON numbers are finite; write a number or a string)"
        }
        ("invalid number", _) => {
            " (JSON numbers have no leading zeros, no leading +, and digits after a dot)"
        }
        ("trailing comma", _) => " (JSON allows no comma after the last element)",
        (r, Some(t)) if r.starts_with("expected `,`") && t.starts_with('"') => {
            " (is a comma missing before it?)"
        }
        ("invalid escape", _) => {
            " (a backslash starts an escape such as \\n or \\\"; write a literal backslash as \\\\)"
        }
        _ => "",
    };
    msg.push_str(hint);
    msg
}

/// The token starting at a 1-based line and column, shortened, for "found `…`".
fn token_at(source: &str, line: usize, column: usize) -> Option<String> {
    let text = source.lines().nth(line.checked_sub(1)?)?;
    let rest: String = text.chars().skip(column.checked_sub(1)?).collect();
    let rest = rest.trim_end();
    let first = rest.chars().next()?;
    let tok: String = if first.is_alphanumeric() || first == '-' {
        rest.chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .collect()
    } else if rest.starts_with("//") || rest.starts_with("/*") {
        rest[..2].to_owned()
    } else if first == '"' || first == '\'' {
        // The quoted string, up to its closing quote.
        let close = rest[1..].find(first).map_or(rest.len(), |i| i + 2);
        rest[..close].to_owned()
    } else {
        first.to_string()
    };
    Some(shorten(&tok, 24))
}

/// A type or value error, a missing, unknown or duplicate key.
fn data(
    source: &str,
    path: JsonPath,
    serde_pos: (usize, usize),
    raw: &str,
) -> (JsonPath, (usize, usize), String) {
    if let Some(cut) = array_for_object(&path) {
        let at = path.truncated(cut);
        let pos = locate(source, &at).unwrap_or(serde_pos);
        let what = describe_slot(&at);
        return (at, pos, format!("expected {what}, found an array"));
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let pos = locate_key(source, &path).unwrap_or(serde_pos);
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let mut msg = format!(
            "unknown key \"{field}\"; expected one of {}",
            expected.trim_start_matches(", expected one of ")
        );
        if let Some(best) = closest(field, expected) {
            msg.push_str(&format!(" (did you mean `{best}`?)"));
        }
        return (path, pos, msg);
    }
    if let Some(rest) = raw.strip_prefix("unknown variant `") {
        let pos = locate_exact(source, &path).unwrap_or(serde_pos);
        let (value, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let mut msg = format!(
            "unknown value \"{value}\"; expected one of {}",
            expected.trim_start_matches(", expected one of ")
        );
        if let Some(best) = closest(value, expected) {
            msg.push_str(&format!(" (did you mean `{best}`?)"));
        }
        return (path, pos, msg);
    }
    if let Some(rest) = raw.strip_prefix("missing field `") {
        let field = rest.trim_end_matches('`');
        let pos = locate_exact(source, &path).unwrap_or(serde_pos);
        let msg = match field {
            "routes" => {
                "missing required key \"routes\" (a scenario needs at least {\"routes\": []})"
                    .to_owned()
            }
            "status" => "missing required key \"status\" (e.g. \"status\": 200)".to_owned(),
            other => format!("missing required key \"{other}\""),
        };
        return (path, pos, msg);
    }
    if let Some(rest) = raw.strip_prefix("duplicate field `") {
        let field = rest.trim_end_matches('`');
        let at = path.key(field);
        return (
            at,
            serde_pos,
            format!("key \"{field}\" appears twice in the same object; keep one"),
        );
    }
    let pos = locate_exact(source, &path).unwrap_or(serde_pos);
    let message = if let Some((found, expected)) = split_invalid(raw) {
        let found = json_words(found);
        let expected = expected_words(&path, expected);
        let mut msg = format!("expected {expected}, found {found}");
        msg.push_str(type_hint(&path, &found));
        msg
    } else {
        raw.to_owned()
    };
    (path, pos, message)
}

/// `invalid type: X, expected Y` / `invalid value: X, expected Y` → (X, Y).
fn split_invalid(raw: &str) -> Option<(&str, &str)> {
    let rest = raw
        .strip_prefix("invalid type: ")
        .or_else(|| raw.strip_prefix("invalid value: "))
        .or_else(|| raw.strip_prefix("invalid length "))?;
    rest.split_once(", expected ")
}

/// serde's name for what it found, in JSON words.
fn json_words(found: &str) -> String {
    if let Some(rest) = found
        .strip_prefix("integer `")
        .or_else(|| found.strip_prefix("floating point `"))
    {
        return format!("the number {}", rest.trim_end_matches('`'));
    }
    if let Some(rest) = found.strip_prefix("string ") {
        return format!("the string {rest}");
    }
    if let Some(rest) = found.strip_prefix("boolean `") {
        return format!("`{}`", rest.trim_end_matches('`'));
    }
    match found {
        "map" => "an object".to_owned(),
        "sequence" => "an array".to_owned(),
        "unit value" | "null" => "null".to_owned(),
        other => other.to_owned(),
    }
}

/// serde's name for what it expected, in JSON words (with the format's meaning where the
/// key says it).
fn expected_words(path: &JsonPath, expected: &str) -> String {
    let last = match path.segments().last() {
        Some(Seg::Key(k)) => k.as_str(),
        _ => "",
    };
    if last == "status" {
        return "an integer status code from 100 to 599".to_owned();
    }
    if let Some(name) = expected.strip_prefix("struct ") {
        return match name {
            "ScenarioFile" => "a scenario object like {\"routes\": […]}",
            "Route" => "a route object like {\"request\": {…}, \"response\": {…}}",
            "RequestMatcher" => "an object like {\"method\": \"GET\", \"path\": \"/x\"}",
            "Response" => "a response object like {\"status\": 200}",
            "Chunks" => "an object like {\"size\": BYTES, \"intervalMs\": N}",
            "Upgrade" => "an object like {\"protocol\": \"NAME\"}",
            "WebSocket" => "an object like {\"onOpen\": […], \"onMessage\": […]}",
            "WsAction" => "an action object like {\"text\": \"…\"}",
            "WsRule" => "an object like {\"match\": REGEX, \"do\": […]}",
            "Informational" => "an object like {\"status\": 103, \"headers\": {…}}",
            "DelayRange" => "an object like {\"min\": A, \"max\": B}",
            "ContinueAfter" => "an object like {\"continueAfterMs\": N}",
            _ => "an object",
        }
        .to_owned();
    }
    match expected {
        "u16" | "u32" | "u64" | "usize" => "a non-negative integer".to_owned(),
        "i64" | "i32" => "an integer".to_owned(),
        "a map" => "an object".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a boolean" => "true or false".to_owned(),
        other => other.to_owned(),
    }
}

/// A hint for the usual wrong types.
fn type_hint(path: &JsonPath, found: &str) -> &'static str {
    let keys: Vec<&str> = path
        .segments()
        .iter()
        .filter_map(|s| match s {
            Seg::Key(k) => Some(k.as_str()),
            Seg::Index(_) => None,
        })
        .collect();
    let last = keys.last().copied().unwrap_or("");
    let parent = keys.len().checked_sub(2).map_or("", |i| keys[i]);
    let quoted_number = found.starts_with("the string \"")
        && found[12..].trim_end_matches('"').parse::<f64>().is_ok();
    match (parent, last) {
        (_, "status" | "priority" | "repeat" | "delayMs") if quoted_number => {
            " (write the number without quotes)"
        }
        ("request", "method") if found == "an array" => {
            " (one regex matches several methods, e.g. \"GET|POST\")"
        }
        ("request", "body") if found == "an object" || found == "an array" => {
            " (\"body\" is a regex searched in the body; to match JSON use \"json\")"
        }
        ("response", "body") if found != "null" => {
            " (\"body\" is text; for a JSON body use \"json\")"
        }
        (_, "id" | "whenState" | "setState" | "initialState" | "name")
            if found.starts_with("the number") =>
        {
            " (write it in quotes)"
        }
        ("response", "template") if found.starts_with("the string") => {
            " (write true or false without quotes)"
        }
        _ => "",
    }
}

/// Where an array stands in a slot that takes an object (serde would otherwise read the
/// array as the struct's fields in order and complain about the first element): the
/// length of the path prefix naming that slot.
fn array_for_object(path: &JsonPath) -> Option<usize> {
    let segs = path.segments();
    for (i, seg) in segs.iter().enumerate() {
        if !matches!(seg, Seg::Index(_)) {
            continue;
        }
        let slot_takes_object = match (
            i.checked_sub(1).map(|j| &segs[j]),
            i.checked_sub(2).map(|j| &segs[j]),
        ) {
            (None, _) => true,
            (Some(Seg::Key(k)), _) => OBJECT_KEYS.contains(&k.as_str()),
            (Some(Seg::Index(_)), Some(Seg::Key(k))) => OBJECT_LIST_KEYS.contains(&k.as_str()),
            _ => false,
        };
        if slot_takes_object {
            return Some(i);
        }
    }
    None
}

/// What the slot at `path` holds, for "expected …, found an array".
fn describe_slot(path: &JsonPath) -> &'static str {
    match path.segments().last() {
        None => "the scenario as one JSON object like {\"routes\": […]}",
        Some(Seg::Key(k)) => match k.as_str() {
            "request" => "an object like {\"method\": \"GET\", \"path\": \"/x\"}",
            "response" => {
                "a response object like {\"status\": 200} (for a script of answers use \"responses\")"
            }
            _ => "an object",
        },
        Some(Seg::Index(_)) => "an object",
    }
}

/// The closest of serde's backquoted candidates to `word`, when close enough to be a typo.
fn closest<'a>(word: &str, candidates: &'a str) -> Option<&'a str> {
    candidates
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|cand| {
            (
                strsim::damerau_levenshtein(
                    &word.to_lowercase().replace('_', ""),
                    &cand.to_lowercase().replace('_', ""),
                ),
                cand,
            )
        })
        .filter(|(d, cand)| *d <= 2.max(cand.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, cand)| cand)
}

/// serde_json's messages end with " at line L column C"; the diagnostic prints those itself.
pub(crate) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// `text` cut to `max` characters with an ellipsis.
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(max).collect();
        cut.push('…');
        cut
    }
}

/// Position of the first non-whitespace character, for problems with the document as a whole.
pub(crate) fn document_start(source: &str) -> (usize, usize) {
    let offset = source.len() - source.trim_start().len();
    line_col(source, offset)
}
