//! The `now`, `date` and `parseDate` helpers: their `format`, `timezone` and `offset` options.

use handlebars::{Helper, RenderError};
use jiff::Timestamp;
use serde_json::Value as Json;

use super::date_parse::{parse_default, parse_with_pattern};
use super::dates::{DateValue, shift, time_zone};
use super::error::fail;
use super::values::{arg_string, hash_str};

pub(super) fn date_helper(context: Option<DateValue>, h: &Helper<'_>) -> Result<Json, RenderError> {
    let format = hash_str(h, "format");
    let offset = hash_str(h, "offset");
    let timezone = hash_str(h, "timezone");
    let (mut millis, timezone) = match context {
        Some(d) => (d.millis, d.timezone),
        None => (Timestamp::now().as_millisecond(), timezone),
    };
    if let Some(tz) = &timezone {
        time_zone(tz)?;
    }
    if let Some(o) = offset {
        millis = shift(millis, &o)?;
    }
    Ok(DateValue {
        millis,
        format,
        timezone,
    }
    .to_json())
}

pub(super) fn parse_date_helper(h: &Helper<'_>) -> Result<Json, RenderError> {
    let text = h.param(0).map(arg_string).unwrap_or_default();
    let parsed = match hash_str(h, "format") {
        Some(f) if f.eq_ignore_ascii_case("epoch") || f.eq_ignore_ascii_case("unix") => {
            let n: i64 = text
                .trim()
                .parse()
                .map_err(|_| fail(format!("For input string: \"{text}\"")))?;
            let millis = if f.eq_ignore_ascii_case("unix") {
                n.saturating_mul(1000)
            } else {
                n
            };
            Some(DateValue {
                millis,
                format: None,
                timezone: None,
            })
        }
        Some(f) => parse_with_pattern(&f, &text)?,
        None => parse_default(&text)?,
    };
    Ok(parsed.map_or(Json::Null, |d| d.to_json()))
}

#[cfg(test)]
mod tests {
    use super::super::HbsTemplate;
    use super::super::test_support::{Req, r};

    #[test]
    fn dates() {
        let iso = r("{{now}}");
        assert!(
            iso.len() == 20 && iso.ends_with('Z') && iso.as_bytes()[10] == b'T',
            "{iso}"
        );
        let epoch: i64 = r("{{now format='epoch'}}").parse().unwrap_or(0);
        let unix: i64 = r("{{now format='unix'}}").parse().unwrap_or(0);
        assert!(epoch > 1_600_000_000_000 && (epoch / 1000 - unix).abs() <= 1);
        let later: i64 = r("{{now offset='3 days' format='unix'}}")
            .parse()
            .unwrap_or(0);
        assert!((later - unix - 3 * 86_400).abs() <= 1);
        let earlier: i64 = r("{{now offset='now -10 seconds' format='unix'}}")
            .parse()
            .unwrap_or(0);
        assert!((unix - earlier - 10).abs() <= 1);
        assert_eq!(r("{{now format='yyyy'}}").len(), 4);
        assert_eq!(
            r(
                "{{date (parseDate '2021-06-14T10:20:30Z') format='yyyy-MM-dd HH:mm:ss.SSS EEE MMM a Z'}}"
            ),
            "2021-06-14 10:20:30.000 Mon Jun AM +0000"
        );
        assert_eq!(
            r("{{parseDate '2021-06-14T10:20:30Z'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '2021-06-14T10:20:30+01:00'}}"),
            "2021-06-14T10:20:30+01:00"
        );
        assert_eq!(
            r("{{parseDate 'Mon, 14 Jun 2021 10:20:30 GMT'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate 'Monday, 14-Jun-21 10:20:30 GMT'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate 'Mon Jun 14 10:20:30 2021'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '14/06/2021' format='dd/MM/yyyy'}}"),
            "2021-06-14T00:00:00Z"
        );
        assert_eq!(
            r("{{parseDate '1623666030' format='unix'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r("{{parseDate '1623666030000' format='epoch'}}"),
            "2021-06-14T10:20:30Z"
        );
        assert_eq!(
            r(
                "{{date (parseDate '2021-06-14T10:20:30Z') offset='1 months' format='dd MMMM yyyy'}}"
            ),
            "14 July 2021"
        );
        assert_eq!(
            r("{{date (parseDate '2021-06-14T10:20:30Z') format='epoch'}}"),
            "1623666030000"
        );
        // A parsed date keeps the zone it was parsed with; `timezone` applies to `now`.
        assert_eq!(
            r("{{date (parseDate '2021-06-14T10:20:30+02:00') format='HH:mm XXX'}}"),
            "10:20 +02:00"
        );
        let sydney = r("{{now timezone='Australia/Sydney' format='Z'}}");
        assert!(sydney == "+1000" || sydney == "+1100", "{sydney}");
        let zoned = r("{{now timezone='Europe/Paris'}}");
        assert!(
            zoned.ends_with("+01:00") || zoned.ends_with("+02:00"),
            "{zoned}"
        );
        assert_eq!(r("{{parseDate 'garbage'}}"), "");
        let t =
            HbsTemplate::parse("{{now timezone='Nowhere/Land'}}").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.render(&Req::new().as_req(), 100).is_err());
    }
}
