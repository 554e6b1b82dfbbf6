//! Expectations on the requests a `MockServer` receives, checked by `verify()` and on drop.

use std::fmt;
use std::ops::{Range, RangeFrom, RangeInclusive, RangeTo};

use crate::journal::Journal;
use crate::matching::NearMiss;
use crate::scenario::compiled::RequestMatcher;

/// How many requests an expectation wants: an exact count or a range.
///
/// ```
/// use understudy::Times;
/// assert_eq!(Times::from(2), Times::Between(2, 2));
/// assert!(Times::from(1..3).contains(2) && !Times::from(1..3).contains(3));
/// assert!(Times::from(1..).contains(1_000) && Times::from(..=2u64).contains(0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Times {
    /// From the first number to the second, both included.
    Between(u64, u64),
    /// At least this many.
    AtLeast(u64),
}

impl Times {
    /// Whether `n` requests meet it.
    pub fn contains(&self, n: u64) -> bool {
        match *self {
            Times::Between(min, max) => (min..=max).contains(&n),
            Times::AtLeast(min) => n >= min,
        }
    }
}

impl fmt::Display for Times {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Times::Between(a, b) if a == b => write!(f, "exactly {a}"),
            Times::Between(0, b) => write!(f, "at most {b}"),
            Times::Between(a, b) => write!(f, "between {a} and {b}"),
            Times::AtLeast(a) => write!(f, "at least {a}"),
        }
    }
}

impl From<u64> for Times {
    fn from(n: u64) -> Self {
        Times::Between(n, n)
    }
}

impl From<Range<u64>> for Times {
    fn from(r: Range<u64>) -> Self {
        if r.start >= r.end {
            // An empty range (`3..3`) is met by no count.
            return Times::Between(1, 0);
        }
        Times::Between(r.start, r.end - 1)
    }
}

impl From<RangeInclusive<u64>> for Times {
    fn from(r: RangeInclusive<u64>) -> Self {
        Times::Between(*r.start(), *r.end())
    }
}

impl From<RangeFrom<u64>> for Times {
    fn from(r: RangeFrom<u64>) -> Self {
        Times::AtLeast(r.start)
    }
}

impl From<RangeTo<u64>> for Times {
    fn from(r: RangeTo<u64>) -> Self {
        match r.end.checked_sub(1) {
            Some(max) => Times::Between(0, max),
            // `..0`: no count meets it.
            None => Times::Between(1, 0),
        }
    }
}

impl From<std::ops::RangeToInclusive<u64>> for Times {
    fn from(r: std::ops::RangeToInclusive<u64>) -> Self {
        Times::Between(0, r.end)
    }
}

/// One expectation: requests matching `matcher`, `times` many.
pub struct Expectation {
    /// The matcher as the test wrote it, for the message.
    pub shown: String,
    /// The compiled matcher.
    pub matcher: RequestMatcher,
    /// How many are wanted.
    pub times: Times,
}

/// The failures among `expectations`, as one message naming each unmet expectation, the count
/// seen and every request received; `None` when all are met.
pub fn unmet(expectations: &[Expectation], journal: &Journal) -> Option<String> {
    let mut message = String::new();
    for e in expectations {
        let seen = journal.count(&e.matcher) as u64;
        if !e.times.contains(seen) {
            message.push_str(&format!(
                "expected {} request(s) matching {}, received {seen}\n",
                e.times, e.shown
            ));
        }
    }
    if message.is_empty() {
        return None;
    }
    let (entries, evicted) = journal.list(&Default::default());
    message.push_str(&format!("requests received ({}):\n", entries.len()));
    for entry in &entries {
        let r = &entry.record;
        let target = match r.query() {
            "" => r.path().to_owned(),
            q => format!("{}?{q}", r.path()),
        };
        match &r.route {
            Some(route) => message.push_str(&format!(
                "  {} {target} -> {route} ({})\n",
                r.method, r.status
            )),
            None => {
                message.push_str(&format!("  {} {target} -> unmatched\n", r.method));
                for miss in &r.near_misses {
                    message.push_str(&format!("      near miss {}\n", describe(miss)));
                }
            }
        }
    }
    if entries.is_empty() {
        message.push_str("  (none)\n");
    }
    if evicted > 0 {
        message.push_str(&format!(
            "  ({evicted} older requests evicted from the journal)\n"
        ));
    }
    Some(message)
}

fn describe(miss: &NearMiss) -> String {
    format!("{}: failed {}", miss.route, miss.mismatches.join(", "))
}
