//! A route's path regex: checked when its scenario loads, built when a request first needs it.
//!
//! A built `regex::Regex` costs several kilobytes (its automata and prefilters) and tens of
//! microseconds; a large route set (thousands of stubs, a big spec) holds thousands of path
//! patterns of which a test run touches a few. So a pattern is parsed once at load — which
//! finds every syntax error, with its position — and built on its first match. Patterns that
//! could exceed the compiled-size bound (long counted repetitions of large classes, such as
//! `\w{100}`) are built at load instead, so that error is still reported when the file loads.
//!
//! The parse also yields the complete literal segments the pattern starts with
//! ([`PathRegex::segments`]), which file the route in the matching index without parsing the
//! pattern again whenever the index is rebuilt.

use std::sync::OnceLock;

use regex::{Regex, RegexBuilder};
use regex_syntax::hir::{Hir, HirKind, Look};

/// Upper bound on the compiled size of one regex (bytes of automaton).
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Above this many class ranges (counted through repetitions), a pattern is built at load:
/// it might not fit [`REGEX_SIZE_LIMIT`], and that must be a load error.
const BUILD_AT_LOAD_WEIGHT: u64 = 4_096;

/// What an anchored path pattern (`^(?:…)$`) is: the one text it matches, or a regex.
pub enum PathPattern {
    /// The pattern matches one text, such as `/api/users/42`: compared as a string, so
    /// neither loading the route nor its first match builds a regex.
    Literal(Box<str>),
    /// Any other pattern.
    Regex(PathRegex),
}

impl PathPattern {
    /// Parses an anchored pattern once: `Err` is the regex crate's error for it.
    pub fn check(anchored: &str) -> Result<PathPattern, regex::Error> {
        // Most paths have no regex syntax at all: no parse needed to know what they match.
        if let Some(plain) = anchored
            .strip_prefix("^(?:")
            .and_then(|p| p.strip_suffix(")$"))
            .filter(|p| !p.is_empty() && !p.chars().any(regex_syntax::is_meta_character))
        {
            return Ok(PathPattern::Literal(plain.into()));
        }
        let hir = parse(anchored)?;
        match whole_literal(&hir) {
            Some(text) => Ok(PathPattern::Literal(text)),
            None => PathRegex::from_hir(anchored, &hir).map(PathPattern::Regex),
        }
    }
}

/// The one text a parsed anchored pattern matches, when it is a plain literal.
fn whole_literal(hir: &Hir) -> Option<Box<str>> {
    let HirKind::Concat(parts) = hir.kind() else {
        return None;
    };
    match parts.as_slice() {
        [start, literal, end]
            if start.kind() == &HirKind::Look(Look::Start)
                && end.kind() == &HirKind::Look(Look::End) =>
        {
            match literal.kind() {
                HirKind::Literal(lit) => std::str::from_utf8(&lit.0).ok().map(Box::from),
                _ => None,
            }
        }
        _ => None,
    }
}

fn parse(anchored: &str) -> Result<Hir, regex::Error> {
    regex_syntax::Parser::new()
        .parse(anchored)
        .map_err(|err| regex::Error::Syntax(err.to_string()))
}

/// An anchored path pattern (`^(?:…)$`), built on first use.
#[derive(Debug, Clone)]
pub struct PathRegex {
    anchored: Box<str>,
    segments: Box<[Box<str>]>,
    built: OnceLock<Option<Regex>>,
}

impl PathRegex {
    /// Checks an anchored pattern: `Err` is the regex crate's error for it. Builds it now only
    /// when its size is in doubt.
    pub fn check(anchored: &str) -> Result<PathRegex, regex::Error> {
        PathRegex::from_hir(anchored, &parse(anchored)?)
    }

    fn from_hir(anchored: &str, hir: &Hir) -> Result<PathRegex, regex::Error> {
        let built = OnceLock::new();
        if weight(hir) > BUILD_AT_LOAD_WEIGHT {
            let _ = built.set(Some(build(anchored)?));
        }
        Ok(PathRegex {
            anchored: anchored.into(),
            segments: literal_segments(hir),
            built,
        })
    }

    /// A regex already built (by a compiler that needs it at once).
    pub fn built(re: Regex) -> PathRegex {
        let segments = regex_syntax::Parser::new()
            .parse(re.as_str())
            .map(|hir| literal_segments(&hir))
            .unwrap_or_default();
        PathRegex {
            anchored: re.as_str().into(),
            segments,
            built: OnceLock::from(Some(re)),
        }
    }

    /// The regex, built now if this is its first use (`None` only if building fails, which a
    /// checked pattern does not).
    pub fn get(&self) -> Option<&Regex> {
        self.built
            .get_or_init(|| match build(&self.anchored) {
                Ok(re) => Some(re),
                Err(err) => {
                    tracing::error!("path pattern {:?} cannot be built: {err}", self.anchored);
                    None
                }
            })
            .as_ref()
    }

    /// Whether `path` matches.
    pub fn is_match(&self, path: &str) -> bool {
        self.get().is_some_and(|re| re.is_match(path))
    }

    /// The anchored pattern.
    pub fn as_str(&self) -> &str {
        &self.anchored
    }

    /// The complete literal path segments every match starts with (see [`literal_segments`]).
    pub fn segments(&self) -> &[Box<str>] {
        &self.segments
    }
}

fn build(anchored: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(anchored)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
}

/// A rough size of the automaton `hir` compiles to: class ranges and literal bytes, times
/// repetition counts.
fn weight(hir: &Hir) -> u64 {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => 1,
        HirKind::Literal(lit) => lit.0.len() as u64,
        HirKind::Class(regex_syntax::hir::Class::Unicode(c)) => c.ranges().len() as u64 * 4,
        HirKind::Class(regex_syntax::hir::Class::Bytes(c)) => c.ranges().len() as u64,
        HirKind::Repetition(rep) => {
            let times = u64::from(rep.max.unwrap_or(rep.min).max(1));
            weight(&rep.sub).saturating_mul(times)
        }
        HirKind::Capture(cap) => weight(&cap.sub),
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            parts.iter().map(weight).fold(0, u64::saturating_add)
        }
    }
}

/// The complete literal path segments an anchored pattern (`^(?:…)$`) starts with: every path
/// it matches begins with `/` + these segments joined by `/`. A segment only counts when the
/// pattern fixes it entirely (it is followed by a literal `/`, or ends the pattern).
pub fn literal_segments(hir: &Hir) -> Box<[Box<str>]> {
    let parts: &[Hir] = match hir.kind() {
        HirKind::Concat(parts) => parts,
        _ => return Box::default(),
    };
    let mut prefix = Vec::new();
    let mut exact = false;
    let mut started = false;
    for part in parts {
        match part.kind() {
            HirKind::Look(Look::Start) if !started => {}
            HirKind::Literal(lit) => {
                started = true;
                prefix.extend_from_slice(&lit.0);
            }
            HirKind::Look(Look::End) => {
                exact = true;
                break;
            }
            _ => break,
        }
    }
    let Ok(prefix) = String::from_utf8(prefix) else {
        return Box::default();
    };
    let Some(rest) = prefix.strip_prefix('/') else {
        return Box::default();
    };
    let mut segments: Vec<Box<str>> = rest.split('/').map(Box::from).collect();
    if !exact {
        // The last piece may continue with whatever the pattern says next.
        segments.pop();
    }
    segments.into_boxed_slice()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(pattern: &str) -> Vec<String> {
        let re = PathRegex::check(&format!("^(?:{pattern})$")).expect("pattern");
        re.segments().iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn literal_segments_only_count_what_the_pattern_fixes() {
        assert_eq!(segments("/api/r7/items/[0-9]+"), ["api", "r7", "items"]);
        assert_eq!(segments("/api/users/42"), ["api", "users", "42"]);
        assert_eq!(segments("/api/users/"), ["api", "users", ""]);
        assert_eq!(segments("/api/users?"), ["api"]);
        assert_eq!(segments("/api/users/4+"), ["api", "users"]);
        assert_eq!(segments("/api/user/(?P<id>[^/]+)/x"), ["api", "user"]);
        // Alternation, case folding, a leading wildcard or no leading slash: nothing fixed.
        assert_eq!(segments("/a/b|/c/d"), Vec::<String>::new());
        assert_eq!(segments("(?i)/api/x"), Vec::<String>::new());
        assert_eq!(segments("/(?i)api/x"), Vec::<String>::new());
        assert_eq!(segments(".*/x"), Vec::<String>::new());
        assert_eq!(segments("api/x"), Vec::<String>::new());
        assert_eq!(segments("/api\\.v1/x"), ["api.v1", "x"]);
        assert_eq!(segments("/(?:api)/x/.*"), ["api", "x"]);
    }

    #[test]
    fn only_patterns_that_match_one_text_are_literals() {
        let lit = |p: &str| match PathPattern::check(&format!("^(?:{p})$")) {
            Ok(PathPattern::Literal(text)) => Some(text.to_string()),
            _ => None,
        };
        assert_eq!(lit("/api/users/42").as_deref(), Some("/api/users/42"));
        assert_eq!(lit(r"/api\.v1/x").as_deref(), Some("/api.v1/x"));
        assert_eq!(lit("/"), Some("/".to_owned()));
        // Literal through the parser: escapes and characters `is_meta_character` lists.
        assert_eq!(lit("/a-b/c~d").as_deref(), Some("/a-b/c~d"));
        assert_eq!(lit("/caf\u{e9} x").as_deref(), Some("/caf\u{e9} x"));
        for pattern in ["/users/[0-9]+", "(?i)/x", "/a|/b", "/x/?", "/(?<id>x)", ""] {
            assert_eq!(lit(pattern), None, "{pattern}");
        }
    }

    #[test]
    fn a_pattern_is_built_on_first_use_unless_its_size_is_in_doubt() {
        let lazy = PathRegex::check("^(?:/api/r7/items/[0-9]+)$").expect("pattern");
        assert!(lazy.built.get().is_none());
        assert!(lazy.is_match("/api/r7/items/12"));
        assert!(!lazy.is_match("/api/r7/items/x"));
        assert!(lazy.built.get().is_some());

        let big = PathRegex::check(r"^(?:/x/\w{20})$").expect("pattern");
        assert!(
            big.built.get().is_some(),
            "a large pattern is built at load"
        );
        let too_big = PathRegex::check(r"^(?:/x/\w{1000}\w{1000})$");
        assert!(
            matches!(too_big, Err(regex::Error::CompiledTooBig(_))),
            "{too_big:?}"
        );
        let broken = PathRegex::check("^(?:/x/(unclosed)$");
        assert!(matches!(broken, Err(regex::Error::Syntax(_))), "{broken:?}");
    }
}
