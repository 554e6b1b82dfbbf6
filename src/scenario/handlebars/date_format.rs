//! `java.text.SimpleDateFormat` patterns (US locale): their tokens, and formatting a date
//! with one.

use handlebars::RenderError;
use jiff::ZonedDateTime;

use super::error::fail;

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub(super) enum Token {
    Field(char, usize),
    Literal(String),
}

pub(super) fn tokenize(pattern: &str) -> Result<Vec<Token>, RenderError> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                tokens.push(Token::Literal("'".to_owned()));
                i += 2;
                continue;
            }
            let mut lit = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err(fail(format!("Unterminated quote in {pattern}"))),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        lit.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&ch) => {
                        lit.push(ch);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Literal(lit));
        } else if c.is_ascii_alphabetic() {
            let mut n = 1;
            while chars.get(i + n) == Some(&c) {
                n += 1;
            }
            tokens.push(Token::Field(c, n));
            i += n;
        } else {
            tokens.push(Token::Literal(c.to_string()));
            i += 1;
        }
    }
    Ok(tokens)
}

/// `java.text.SimpleDateFormat` (US locale).
pub(super) fn simple_date_format(pattern: &str, z: &ZonedDateTime) -> Result<String, RenderError> {
    let mut out = String::new();
    let pad = |v: i64, n: usize| format!("{v:0n$}");
    for token in tokenize(pattern)? {
        let (c, n) = match token {
            Token::Literal(l) => {
                out.push_str(&l);
                continue;
            }
            Token::Field(c, n) => (c, n),
        };
        let month = usize::try_from(z.month() - 1).unwrap_or(0);
        let weekday = usize::try_from(z.weekday().to_monday_zero_offset()).unwrap_or(0);
        let hour = i64::from(z.hour());
        let text = match c {
            'G' => "AD".to_owned(),
            'u' => pad(weekday as i64 + 1, n),
            'y' | 'Y' if n == 2 => pad(i64::from(z.year()).rem_euclid(100), 2),
            'y' | 'Y' => pad(i64::from(z.year()), n),
            'M' | 'L' => match n {
                1 | 2 => pad(i64::from(z.month()), n),
                3 => MONTHS[month][..3].to_owned(),
                _ => MONTHS[month].to_owned(),
            },
            'd' => pad(i64::from(z.day()), n),
            'D' => pad(i64::from(z.day_of_year()), n),
            'E' => {
                if n <= 3 {
                    DAYS[weekday][..3].to_owned()
                } else {
                    DAYS[weekday].to_owned()
                }
            }
            'a' => (if hour < 12 { "AM" } else { "PM" }).to_owned(),
            'H' => pad(hour, n),
            'k' => pad(if hour == 0 { 24 } else { hour }, n),
            'K' => pad(hour % 12, n),
            'h' => pad(if hour % 12 == 0 { 12 } else { hour % 12 }, n),
            'm' => pad(i64::from(z.minute()), n),
            's' => pad(i64::from(z.second()), n),
            'S' => pad(i64::from(z.millisecond()), n),
            'z' => z
                .time_zone()
                .to_offset_info(z.timestamp())
                .abbreviation()
                .to_owned(),
            'Z' => format_offset(z.offset().seconds(), false),
            'X' => {
                let off = z.offset().seconds();
                if off == 0 {
                    "Z".to_owned()
                } else {
                    match n {
                        1 => format_offset(off, false)[..3].to_owned(),
                        2 => format_offset(off, false),
                        _ => format_offset(off, true),
                    }
                }
            }
            'w' => pad(i64::from(z.date().iso_week_date().week()), n),
            other => return Err(fail(format!("Illegal pattern character '{other}'"))),
        };
        out.push_str(&text);
    }
    Ok(out)
}

pub(super) fn format_offset(seconds: i32, colon: bool) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    let (h, m) = (s / 3600, (s % 3600) / 60);
    if colon {
        format!("{sign}{h:02}:{m:02}")
    } else {
        format!("{sign}{h:02}{m:02}")
    }
}
