//! Parsing dates: with a `DateTimeFormatter`-style pattern, or with WireMock's default zoned
//! parsers (ISO, RFC 1123, RFC 1036, asctime).

use handlebars::RenderError;
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime};

use super::date_format::{DAYS, MONTHS, Token, format_offset, tokenize};
use super::dates::{DateValue, time_zone};
use super::error::fail;

/// What a `DateTimeFormatter` pattern parse found.
#[derive(Default)]
struct Parsed {
    year: Option<i16>,
    month: Option<i8>,
    day: Option<i8>,
    hour: Option<i8>,
    pm: Option<bool>,
    minute: i8,
    second: i8,
    nanos: i32,
    zone: Option<(TimeZone, String)>,
}

fn take_digits(s: &mut &str, min: usize, max: usize) -> Option<i64> {
    let len = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if len < min {
        return None;
    }
    let v = s[..len].parse().ok()?;
    *s = &s[len..];
    Some(v)
}

fn take_name(s: &mut &str, names: &[&str], short: bool) -> Option<usize> {
    for (i, name) in names.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name) {
            *s = &s[name.len()..];
            return Some(i);
        }
    }
    None
}

fn take_offset(s: &mut &str) -> Option<(TimeZone, String)> {
    if let Some(rest) = s.strip_prefix('Z') {
        *s = rest;
        return Some((TimeZone::UTC, "Z".to_owned()));
    }
    let negative = s.starts_with('-');
    let rest = s.strip_prefix(['+', '-'])?;
    let mut r = rest;
    let h = take_digits(&mut r, 2, 2)?;
    let r2 = r.strip_prefix(':').unwrap_or(r);
    let mut r3 = r2;
    let m = take_digits(&mut r3, 2, 2);
    let m = match m {
        Some(m) => {
            r = r3;
            m
        }
        None => 0,
    };
    *s = r;
    let secs = i32::try_from((h * 3600 + m * 60) * if negative { -1 } else { 1 }).ok()?;
    let off = jiff::tz::Offset::from_seconds(secs).ok()?;
    let label = if secs == 0 {
        "Z".to_owned()
    } else {
        format_offset(secs, true)
    };
    Some((TimeZone::fixed(off), label))
}

/// `DateTimeFormatter.ofPattern(pattern)` parsing, to WireMock's `RenderableDate`.
pub(super) fn parse_with_pattern(
    pattern: &str,
    input: &str,
) -> Result<Option<DateValue>, RenderError> {
    let mut p = Parsed::default();
    let mut s = input;
    for token in tokenize(pattern)? {
        let ok = match token {
            Token::Literal(l) => match s.strip_prefix(l.as_str()) {
                Some(rest) => {
                    s = rest;
                    true
                }
                None => false,
            },
            Token::Field(c, n) => {
                let exact = |n: usize| if n == 1 { (1, 2) } else { (n, n) };
                match c {
                    'y' | 'u' => if n == 2 {
                        take_digits(&mut s, 2, 2).map(|v| p.year = Some(2000 + v as i16))
                    } else {
                        take_digits(&mut s, n.max(1), 9).map(|v| p.year = Some(v as i16))
                    }
                    .is_some(),
                    'M' | 'L' => match n {
                        1 | 2 => {
                            let (a, b) = exact(n);
                            take_digits(&mut s, a, b)
                                .map(|v| p.month = Some(v as i8))
                                .is_some()
                        }
                        _ => take_name(&mut s, &MONTHS, n == 3)
                            .map(|i| p.month = Some(i as i8 + 1))
                            .is_some(),
                    },
                    'd' | 'H' | 'h' | 'k' | 'K' | 'm' | 's' => {
                        let (a, b) = exact(n);
                        match take_digits(&mut s, a, b) {
                            Some(v) => {
                                let v = v as i8;
                                match c {
                                    'd' => p.day = Some(v),
                                    'H' | 'k' | 'K' | 'h' => p.hour = Some(v),
                                    'm' => p.minute = v,
                                    _ => p.second = v,
                                }
                                true
                            }
                            None => false,
                        }
                    }
                    'S' => match take_digits(&mut s, n, n) {
                        Some(v) => {
                            p.nanos = (v * 10i64.pow(9 - n.min(9) as u32)) as i32;
                            true
                        }
                        None => false,
                    },
                    'a' => take_name(&mut s, &["AM", "PM"], false)
                        .map(|i| p.pm = Some(i == 1))
                        .is_some(),
                    'E' => take_name(&mut s, &DAYS, n <= 3).is_some(),
                    'X' | 'x' | 'Z' => take_offset(&mut s).map(|z| p.zone = Some(z)).is_some(),
                    'z' | 'V' | 'O' => {
                        let len = s
                            .find(|ch: char| !(ch.is_ascii_alphanumeric() || "/_+-:".contains(ch)))
                            .unwrap_or(s.len());
                        let name = &s[..len];
                        s = &s[len..];
                        time_zone(name)
                            .ok()
                            .map(|tz| p.zone = Some((tz, name.to_owned())))
                            .is_some()
                    }
                    other => return Err(fail(format!("Unknown pattern letter: {other}"))),
                }
            }
        };
        if !ok {
            return Ok(None);
        }
    }
    if !s.is_empty() {
        return Ok(None);
    }
    let Some(year) = p.year else {
        return Ok(None);
    };
    let mut hour = p.hour.unwrap_or(0);
    if let Some(pm) = p.pm {
        hour = hour % 12 + if pm { 12 } else { 0 };
    }
    let dt = jiff::civil::DateTime::new(
        year,
        p.month.unwrap_or(1),
        p.day.unwrap_or(1),
        hour,
        p.minute,
        p.second,
        p.nanos,
    );
    let Ok(dt) = dt else {
        return Ok(None);
    };
    let (tz, label) = match p.zone {
        Some((tz, label)) => (tz, Some(label)),
        None => (TimeZone::UTC, None),
    };
    let Ok(z) = dt.to_zoned_datetime(tz) else {
        return Ok(None);
    };
    Ok(Some(DateValue {
        millis: z.timestamp().as_millisecond(),
        format: None,
        timezone: label,
    }))
}

/// WireMock's zoned parsers: ISO zoned date-time, RFC 1123, RFC 1036, asctime.
pub(super) fn parse_default(text: &str) -> Result<Option<DateValue>, RenderError> {
    if let Ok(z) = text.parse::<ZonedDateTime>() {
        let name = z.time_zone().iana_name().map(str::to_owned);
        return Ok(Some(DateValue {
            millis: z.timestamp().as_millisecond(),
            format: None,
            timezone: name.or_else(|| Some(format_offset(z.offset().seconds(), true))),
        }));
    }
    if text.contains('T')
        && let Ok(ts) = text.parse::<Timestamp>()
    {
        let label = if text.ends_with(['Z', 'z']) {
            "Z".to_owned()
        } else {
            let tail = &text[text.len().saturating_sub(6)..];
            let mut t = tail;
            take_offset(&mut t).map_or_else(|| "Z".to_owned(), |(_, l)| l)
        };
        return Ok(Some(DateValue {
            millis: ts.as_millisecond(),
            format: None,
            timezone: Some(label),
        }));
    }
    if let Ok(z) = jiff::fmt::rfc2822::parse(text) {
        let off = z.offset().seconds();
        return Ok(Some(DateValue {
            millis: z.timestamp().as_millisecond(),
            format: None,
            timezone: Some(if off == 0 {
                "Z".to_owned()
            } else {
                format_offset(off, true)
            }),
        }));
    }
    for pattern in [
        "EEEE, dd-MMM-yy HH:mm:ss zzz",
        "EEE MMM dd HH:mm:ss yyyy",
        "EEE MMM  d HH:mm:ss yyyy",
    ] {
        if let Some(d) = parse_with_pattern(pattern, text)? {
            return Ok(Some(d));
        }
    }
    Ok(None)
}
