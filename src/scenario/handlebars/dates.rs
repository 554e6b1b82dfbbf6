//! WireMock's `RenderableDate` (an instant with an optional format and time zone, carried
//! through the context as a tagged JSON object), Java's time zone names, and WireMock's
//! `DateTimeOffset` (`3 days`, `now +5 years`).

use handlebars::RenderError;
use jiff::tz::TimeZone;
use jiff::{Span, Timestamp, ZonedDateTime};
use serde_json::{Map, Value as Json};

use super::date_format::{format_offset, simple_date_format};
use super::error::fail;

const DATE_KEY: &str = "__wm_date__";

/// WireMock's `RenderableDate`: an instant with an optional format and time zone.
pub(super) struct DateValue {
    pub(super) millis: i64,
    pub(super) format: Option<String>,
    pub(super) timezone: Option<String>,
}

impl DateValue {
    pub(super) fn to_json(&self) -> Json {
        let mut m = Map::new();
        m.insert(DATE_KEY.into(), Json::from(self.millis));
        m.insert(
            "format".into(),
            self.format.clone().map_or(Json::Null, Json::String),
        );
        m.insert(
            "timezone".into(),
            self.timezone.clone().map_or(Json::Null, Json::String),
        );
        Json::Object(m)
    }

    pub(super) fn from_json(v: &Json) -> Option<DateValue> {
        let m = v.as_object()?;
        let millis = m.get(DATE_KEY)?.as_i64()?;
        let s = |k: &str| m.get(k).and_then(Json::as_str).map(str::to_owned);
        Some(DateValue {
            millis,
            format: s("format"),
            timezone: s("timezone"),
        })
    }

    pub(super) fn zoned(&self) -> Result<ZonedDateTime, RenderError> {
        let ts = Timestamp::from_millisecond(self.millis).map_err(|e| fail(e.to_string()))?;
        let tz = match &self.timezone {
            Some(name) => time_zone(name)?,
            None => TimeZone::UTC,
        };
        Ok(ts.to_zoned_datetime(tz))
    }

    pub(super) fn render(&self) -> Result<String, RenderError> {
        match self.format.as_deref() {
            Some("epoch") => Ok(self.millis.to_string()),
            Some("unix") => Ok(self.millis.div_euclid(1000).to_string()),
            Some(f) => simple_date_format(f, &self.zoned()?),
            None => {
                let z = self.zoned()?;
                let off = z.offset().seconds();
                let tz = if off == 0 {
                    "Z".to_owned()
                } else {
                    format_offset(off, true)
                };
                Ok(format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{tz}",
                    z.year(),
                    z.month(),
                    z.day(),
                    z.hour(),
                    z.minute(),
                    z.second()
                ))
            }
        }
    }
}

/// Java's `ZoneId.of`: `Z`, `UTC`, `GMT`, offsets like `+01:00`, `UTC+2`, and IANA names.
pub(super) fn time_zone(name: &str) -> Result<TimeZone, RenderError> {
    let bad = || fail(format!("Unknown time-zone ID: {name}"));
    if matches!(name, "Z" | "UTC" | "GMT" | "UT") {
        return Ok(TimeZone::UTC);
    }
    let offset_text = ["UTC", "GMT", "UT"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name);
    if let Some(rest) = offset_text.strip_prefix(['+', '-']) {
        let negative = offset_text.starts_with('-');
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        let (h, m) = match digits.len() {
            1 | 2 => (digits.parse::<i32>().map_err(|_| bad())?, 0),
            4 => (
                digits[..2].parse::<i32>().map_err(|_| bad())?,
                digits[2..].parse::<i32>().map_err(|_| bad())?,
            ),
            _ => return Err(bad()),
        };
        let secs = (h * 3600 + m * 60) * if negative { -1 } else { 1 };
        let off = jiff::tz::Offset::from_seconds(secs).map_err(|_| bad())?;
        return Ok(TimeZone::fixed(off));
    }
    TimeZone::get(name).map_err(|_| bad())
}

/// WireMock's `DateTimeOffset`: `3 days`, `-10 seconds`, `now +5 years`, `now`.
pub(super) fn shift(millis: i64, offset: &str) -> Result<i64, RenderError> {
    if offset.eq_ignore_ascii_case("now") {
        return Ok(millis);
    }
    let parts: Vec<&str> = offset.split(' ').collect();
    let (amount, unit) = match parts.as_slice() {
        [a, u] | [_, a, u] => (*a, *u),
        _ => {
            return Err(fail(
                "Offset can be of the short form <amount> <unit> e.g. 8 seconds or long form now +/-<amount> <unit> e.g. now +5 years",
            ));
        }
    };
    let amount: i64 = amount
        .strip_prefix('+')
        .unwrap_or(amount)
        .parse()
        .map_err(|_| fail(format!("invalid offset amount {amount}")))?;
    let span = match unit.to_ascii_uppercase().as_str() {
        "SECONDS" => Span::new().try_seconds(amount),
        "MINUTES" => Span::new().try_minutes(amount),
        "HOURS" => Span::new().try_hours(amount),
        "DAYS" => Span::new().try_days(amount),
        "MONTHS" => Span::new().try_months(amount),
        "YEARS" => Span::new().try_years(amount),
        _ => return Err(fail(format!("No enum constant DateTimeUnit.{unit}"))),
    }
    .map_err(|e| fail(e.to_string()))?;
    let ts = Timestamp::from_millisecond(millis).map_err(|e| fail(e.to_string()))?;
    let shifted = ts
        .to_zoned_datetime(TimeZone::UTC)
        .checked_add(span)
        .map_err(|e| fail(e.to_string()))?;
    Ok(shifted.timestamp().as_millisecond())
}
