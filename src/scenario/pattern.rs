//! Value patterns and the request conditions built from them: WireMock's matcher vocabulary
//! (`equalTo`, `contains`, `matches`, `equalToJson`, `matchesJsonPath`, `and`, `or`, …) as
//! compiled, immutable runtime types.
//!
//! A WireMock stub compiles into the same route model as a native route; what the native
//! matchers cannot say is carried here as [`Condition`]s, checked by the same matching code
//! (`crate::matching`) and reported in near misses by their WireMock names. Nothing here
//! parses at request time except the request's own JSON body (once, cached by the caller).

use actix_http::header::HeaderName;
use serde_json::Value;

/// A regex matched against a whole value. Java-only syntax (look-around, back-references)
/// compiles with `fancy-regex`; everything else with `regex`, which never backtracks.
#[derive(Debug, Clone)]
pub enum WholeRegex {
    /// The linear-time engine.
    Std(regex::Regex),
    /// The backtracking engine, only for patterns that need it.
    Fancy(fancy_regex::Regex),
}

impl WholeRegex {
    /// Compiles `pattern` anchored to the whole value.
    pub fn new(pattern: &str, size_limit: usize) -> Result<WholeRegex, String> {
        let anchored = format!("^(?:{pattern})$");
        match regex::RegexBuilder::new(&anchored)
            .size_limit(size_limit)
            .build()
        {
            Ok(re) => Ok(WholeRegex::Std(re)),
            Err(std_err) => fancy_regex::RegexBuilder::new(&anchored)
                .delegate_size_limit(size_limit)
                .backtrack_limit(100_000)
                .build()
                .map(WholeRegex::Fancy)
                .map_err(|_| std_err.to_string()),
        }
    }

    /// Whether the whole `value` matches (a backtracking search that runs out of steps
    /// does not match).
    pub fn is_match(&self, value: &str) -> bool {
        match self {
            WholeRegex::Std(re) => re.is_match(value),
            WholeRegex::Fancy(re) => re.is_match(value).unwrap_or(false),
        }
    }
}

/// A pattern over one value (a header, a query parameter, a cookie, the body, the URL).
#[derive(Debug, Clone)]
pub enum ValuePattern {
    /// Equal, optionally ignoring case.
    EqualTo {
        /// The expected value.
        value: String,
        /// Compare ignoring case.
        case_insensitive: bool,
    },
    /// Contains the text.
    Contains(String),
    /// Does not contain the text.
    DoesNotContain(String),
    /// The whole value matches.
    Matches(WholeRegex),
    /// The whole value does not match.
    DoesNotMatch(WholeRegex),
    /// The value is not there.
    Absent,
    /// The value parses as JSON equal to this.
    EqualToJson {
        /// The expected document.
        value: Value,
        /// Arrays compare as multisets.
        ignore_array_order: bool,
        /// Objects in the value may have more members.
        ignore_extra_elements: bool,
        /// The `${json-unit.regex}` placeholders of `value`, compiled.
        placeholders: Placeholders,
    },
    /// A JSONPath finds something in the value (parsed as JSON), and what it finds passes
    /// the pattern when there is one.
    MatchesJsonPath {
        /// The expression as written.
        expression: String,
        /// The compiled expression.
        path: serde_json_path::JsonPath,
        /// What the found value must pass.
        then: Option<Box<ValuePattern>>,
    },
    /// The value's bytes equal these.
    BinaryEqualTo(Vec<u8>),
    /// Every pattern passes.
    And(Vec<ValuePattern>),
    /// Any pattern passes.
    Or(Vec<ValuePattern>),
    /// A query parameter or header given several times: its values are exactly as many as
    /// the patterns, each pattern passed by one of them and each passing one (any order).
    HasExactly(Vec<ValuePattern>),
    /// A query parameter or header given several times: each pattern passed by one of its
    /// values.
    Includes(Vec<ValuePattern>),
}

impl ValuePattern {
    /// Whether a multi-valued pattern (`hasExactly`, `includes`).
    pub fn is_multi(&self) -> bool {
        matches!(
            self,
            ValuePattern::HasExactly(_) | ValuePattern::Includes(_)
        )
    }

    /// Whether the values of a query parameter or header (none: not present) pass: a
    /// multi-valued pattern looks at them all, another passes when one of them does.
    pub fn matches_values(&self, values: &[&[u8]]) -> bool {
        let passed_by_one = |p: &ValuePattern| values.iter().any(|v| p.matches(Some(v)));
        match self {
            ValuePattern::HasExactly(all) => {
                values.len() == all.len()
                    && all.iter().all(passed_by_one)
                    && values
                        .iter()
                        .all(|v| all.iter().any(|p| p.matches(Some(v))))
            }
            ValuePattern::Includes(all) => !values.is_empty() && all.iter().all(passed_by_one),
            _ if values.is_empty() => self.matches(None),
            other => passed_by_one(other),
        }
    }

    /// Whether `value` (`None`: not present) passes.
    pub fn matches(&self, value: Option<&[u8]>) -> bool {
        let text = || value.map(String::from_utf8_lossy);
        match self {
            ValuePattern::HasExactly(_) | ValuePattern::Includes(_) => {
                self.matches_values(value.as_slice())
            }
            ValuePattern::Absent => value.is_none(),
            ValuePattern::And(all) => all.iter().all(|p| p.matches(value)),
            ValuePattern::Or(any) => any.iter().any(|p| p.matches(value)),
            ValuePattern::BinaryEqualTo(want) => value == Some(want.as_slice()),
            ValuePattern::EqualTo {
                value: want,
                case_insensitive,
            } => text().is_some_and(|have| match case_insensitive {
                true => have.to_lowercase() == want.to_lowercase(),
                false => *have == **want,
            }),
            ValuePattern::Contains(part) => text().is_some_and(|have| have.contains(part.as_str())),
            ValuePattern::DoesNotContain(part) => {
                text().is_some_and(|have| !have.contains(part.as_str()))
            }
            ValuePattern::Matches(re) => text().is_some_and(|have| re.is_match(&have)),
            ValuePattern::DoesNotMatch(re) => text().is_some_and(|have| !re.is_match(&have)),
            ValuePattern::EqualToJson { .. } | ValuePattern::MatchesJsonPath { .. } => value
                .and_then(|v| serde_json::from_slice::<Value>(v).ok())
                .is_some_and(|have| self.matches_json(&have)),
        }
    }

    /// Whether a value already parsed as JSON passes (the body, parsed once per request).
    pub fn matches_json(&self, have: &Value) -> bool {
        match self {
            ValuePattern::EqualToJson {
                value,
                ignore_array_order,
                ignore_extra_elements,
                placeholders,
            } => JsonEq {
                any_order: *ignore_array_order,
                extra: *ignore_extra_elements,
                placeholders,
            }
            .equal(have, value),
            ValuePattern::MatchesJsonPath { path, then, .. } => {
                let found = path.query(have).all();
                if found.is_empty() {
                    return false;
                }
                let Some(then) = then else {
                    return true;
                };
                // One value found is compared as itself (a string without quotes); several
                // as the JSON array of them.
                let found = match found.as_slice() {
                    [one] => (*one).clone(),
                    many => Value::Array(many.iter().map(|v| (*v).clone()).collect()),
                };
                match then.as_ref() {
                    ValuePattern::EqualToJson { .. } | ValuePattern::MatchesJsonPath { .. } => {
                        then.matches_json(&found)
                    }
                    other => {
                        let text = match &found {
                            Value::String(s) => s.clone(),
                            v => v.to_string(),
                        };
                        other.matches(Some(text.as_bytes()))
                    }
                }
            }
            ValuePattern::And(all) => all.iter().all(|p| p.matches_json(have)),
            ValuePattern::Or(any) => any.iter().any(|p| p.matches_json(have)),
            other => {
                let text = have.to_string();
                other.matches(Some(text.as_bytes()))
            }
        }
    }

    /// Whether this pattern needs the value parsed as JSON.
    pub fn wants_json(&self) -> bool {
        match self {
            ValuePattern::EqualToJson { .. } | ValuePattern::MatchesJsonPath { .. } => true,
            ValuePattern::And(all) | ValuePattern::Or(all) => all.iter().any(Self::wants_json),
            _ => false,
        }
    }
}

/// The `${json-unit.regex}PATTERN` placeholders of an expected document, compiled once.
#[derive(Debug, Clone, Default)]
pub struct Placeholders(Vec<(String, regex::Regex)>);

impl Placeholders {
    /// Finds and compiles the regex placeholders in `doc`; a pattern that does not compile
    /// is returned as an error naming it.
    pub fn of(doc: &Value) -> Result<Placeholders, String> {
        fn walk(v: &Value, out: &mut Vec<(String, regex::Regex)>) -> Result<(), String> {
            match v {
                Value::String(s) => {
                    if let Some(pattern) = s.strip_prefix(REGEX_PLACEHOLDER) {
                        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                            .map_err(|err| format!("{s:?} is not a valid regex: {err}"))?;
                        out.push((s.clone(), re));
                    }
                }
                Value::Array(items) => items.iter().try_for_each(|i| walk(i, out))?,
                Value::Object(map) => map.values().try_for_each(|i| walk(i, out))?,
                _ => {}
            }
            Ok(())
        }
        let mut out = Vec::new();
        walk(doc, &mut out)?;
        Ok(Placeholders(out))
    }

    fn regex(&self, placeholder: &str) -> Option<&regex::Regex> {
        self.0
            .iter()
            .find(|(p, _)| p == placeholder)
            .map(|(_, re)| re)
    }
}

/// The prefix of a regex placeholder.
const REGEX_PLACEHOLDER: &str = "${json-unit.regex}";

/// JSON equality with WireMock's `ignoreArrayOrder` and `ignoreExtraElements`, and the
/// JsonUnit placeholders WireMock enables in expected documents (`${json-unit.any-string}`,
/// `${json-unit.any-number}`, `${json-unit.any-boolean}`, `${json-unit.ignore}`,
/// `${json-unit.regex}PATTERN`).
struct JsonEq<'p> {
    any_order: bool,
    extra: bool,
    placeholders: &'p Placeholders,
}

impl JsonEq<'_> {
    fn equal(&self, have: &Value, want: &Value) -> bool {
        if let Value::String(w) = want
            && w.starts_with("${json-unit.")
        {
            return match w.as_str() {
                "${json-unit.ignore}" | "${json-unit.ignore-element}" => true,
                "${json-unit.any-string}" => have.is_string(),
                "${json-unit.any-number}" => have.is_number(),
                "${json-unit.any-boolean}" => have.is_boolean(),
                p => match self.placeholders.regex(p) {
                    Some(re) => have.as_str().is_some_and(|h| re.is_match(h)),
                    None => have == want,
                },
            };
        }
        match (have, want) {
            (Value::Object(h), Value::Object(w)) => {
                (self.extra || h.len() == w.len())
                    && w.iter()
                        .all(|(k, wv)| h.get(k).is_some_and(|hv| self.equal(hv, wv)))
            }
            (Value::Array(h), Value::Array(w)) => {
                if h.len() != w.len() {
                    return false;
                }
                if !self.any_order {
                    return h.iter().zip(w).all(|(hv, wv)| self.equal(hv, wv));
                }
                let mut used = vec![false; h.len()];
                w.iter().all(|wv| {
                    let found = h
                        .iter()
                        .enumerate()
                        .find(|(i, hv)| !used[*i] && self.equal(hv, wv));
                    match found {
                        Some((i, _)) => {
                            used[i] = true;
                            true
                        }
                        None => false,
                    }
                })
            }
            (Value::Number(h), Value::Number(w)) => h.as_f64() == w.as_f64(),
            _ => have == want,
        }
    }
}

/// What a condition looks at.
#[derive(Debug, Clone)]
pub enum Subject {
    /// Path and query as sent.
    Url,
    /// The path as sent (a `urlPathPattern` only a backtracking regex can express).
    Path,
    /// A query parameter (any of its values may pass; absent when there is none).
    Query(String),
    /// A header (any of its values).
    Header(HeaderName),
    /// A cookie.
    Cookie(String),
    /// A parameter of the route's path template.
    PathParam(String),
    /// The body; `index` is the pattern's place in `bodyPatterns`.
    Body(usize),
}

/// One check a request must pass beyond the native matchers.
#[derive(Debug, Clone)]
pub struct Condition {
    /// What is checked.
    pub subject: Subject,
    /// How.
    pub pattern: ValuePattern,
}

impl Condition {
    /// The name near misses show: `url`, `queryParameters.X`, `headers.X`, `cookies.X`,
    /// `pathParameters.X`, `bodyPatterns[N]`.
    pub fn name(&self) -> String {
        match &self.subject {
            Subject::Url => "url".into(),
            Subject::Path => "urlPath".into(),
            Subject::Query(n) => format!("queryParameters.{n}"),
            Subject::Header(n) => format!("headers.{n}"),
            Subject::Cookie(n) => format!("cookies.{n}"),
            Subject::PathParam(n) => format!("pathParameters.{n}"),
            Subject::Body(i) => format!("bodyPatterns[{i}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn equal(v: &str) -> ValuePattern {
        ValuePattern::EqualTo {
            value: v.into(),
            case_insensitive: false,
        }
    }

    #[test]
    fn has_exactly_wants_every_value_and_no_other_while_includes_allows_more() {
        let exactly = ValuePattern::HasExactly(vec![equal("1"), equal("2")]);
        let includes = ValuePattern::Includes(vec![equal("1")]);
        assert!(exactly.matches_values(&[b"2", b"1"]));
        assert!(!exactly.matches_values(&[b"1"]));
        assert!(!exactly.matches_values(&[b"1", b"2", b"3"]));
        assert!(!exactly.matches_values(&[]));
        assert!(includes.matches_values(&[b"3", b"1"]));
        assert!(!includes.matches_values(&[b"3"]));
        assert!(!includes.matches(None));
        assert!(equal("1").matches_values(&[b"0", b"1"]));
    }

    fn re(p: &str) -> WholeRegex {
        WholeRegex::new(p, 1 << 20).expect("regex")
    }

    #[test]
    fn java_only_regex_syntax_uses_the_backtracking_engine() {
        assert!(matches!(re("[a-z]+"), WholeRegex::Std(_)));
        let look = re("(?!admin).*");
        assert!(matches!(look, WholeRegex::Fancy(_)));
        assert!(look.is_match("user") && !look.is_match("admin"));
        let back = re(r"(a+)b\1");
        assert!(back.is_match("aabaa") && !back.is_match("aaba"));
    }

    #[test]
    fn value_patterns_follow_wiremock() {
        let eq = ValuePattern::EqualTo {
            value: "Hello".into(),
            case_insensitive: true,
        };
        assert!(eq.matches(Some(b"hELLO")) && !eq.matches(None));
        assert!(ValuePattern::Absent.matches(None) && !ValuePattern::Absent.matches(Some(b"")));
        assert!(!ValuePattern::DoesNotContain("x".into()).matches(None));
        let any = ValuePattern::Or(vec![
            ValuePattern::Contains("a".into()),
            ValuePattern::Absent,
        ]);
        assert!(any.matches(None) && any.matches(Some(b"cat")) && !any.matches(Some(b"dog")));
    }

    #[test]
    fn json_patterns() {
        let eq = ValuePattern::EqualToJson {
            value: json!({"a": [1, 2], "b": "x"}),
            ignore_array_order: true,
            ignore_extra_elements: true,
            placeholders: Placeholders::default(),
        };
        assert!(eq.matches(Some(br#"{"b":"x","a":[2,1.0],"c":true}"#)));
        assert!(!eq.matches(Some(br#"{"a":[2,1]}"#)));
        let strict = ValuePattern::EqualToJson {
            value: json!({"a": [1, 2]}),
            ignore_array_order: false,
            ignore_extra_elements: false,
            placeholders: Placeholders::default(),
        };
        assert!(!strict.matches(Some(br#"{"a":[2,1]}"#)));
        let doc = json!({"id": "${json-unit.any-number}", "name": "${json-unit.regex}[A-Z][a-z]+",
                         "at": "${json-unit.ignore}", "ok": "${json-unit.any-boolean}"});
        let placeholders = ValuePattern::EqualToJson {
            placeholders: Placeholders::of(&doc).expect("placeholders"),
            value: doc,
            ignore_array_order: false,
            ignore_extra_elements: false,
        };
        assert!(placeholders.matches(Some(br#"{"id":7,"name":"Ada","at":[1],"ok":true}"#)));
        assert!(!placeholders.matches(Some(br#"{"id":"7","name":"Ada","at":1,"ok":true}"#)));
        assert!(!placeholders.matches(Some(br#"{"id":7,"name":"ada","at":1,"ok":true}"#)));
        let path = |e: &str, then: Option<ValuePattern>| ValuePattern::MatchesJsonPath {
            expression: e.into(),
            path: serde_json_path::JsonPath::parse(e).expect("path"),
            then: then.map(Box::new),
        };
        let body = br#"{"user":{"name":"ada","tags":["x","y"]}}"#;
        assert!(path("$.user.name", None).matches(Some(body)));
        assert!(!path("$.user.age", None).matches(Some(body)));
        let named = path(
            "$.user.name",
            Some(ValuePattern::EqualTo {
                value: "ada".into(),
                case_insensitive: false,
            }),
        );
        assert!(named.matches(Some(body)));
        assert!(path("$.user.tags[?@ == 'y']", None).matches(Some(body)));
    }
}
