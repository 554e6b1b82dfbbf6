//! `randomValue` and `pickRandom`.

use handlebars::{Helper, RenderError};
use serde_json::Value as Json;

use super::error::{fail, wm_error};
use super::fuel::{bytes_units, charge};
use super::values::{as_i64, hash_bool, hash_str};

pub(super) fn random_value(h: &Helper<'_>) -> Result<Json, RenderError> {
    let length = h
        .hash_get("length")
        .and_then(|p| as_i64(p.value()))
        .unwrap_or(36)
        .max(0) as usize;
    let uppercase = hash_bool(h, "uppercase").unwrap_or(false);
    let kind = hash_str(h, "type").unwrap_or_else(|| "ALPHANUMERIC".to_owned());
    let pick = |alphabet: &[u8]| -> String {
        (0..length)
            .map(|_| char::from(alphabet[fastrand::usize(..alphabet.len())]))
            .collect()
    };
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const DIGITS: &[u8] = b"0123456789";
    let raw = if kind == "UUID" {
        uuid::Uuid::new_v4().to_string()
    } else {
        charge(bytes_units(length))?;
        match kind.as_str() {
            "ALPHANUMERIC" => pick(&[LETTERS, DIGITS].concat()),
            "ALPHABETIC" => pick(LETTERS),
            "NUMERIC" => pick(DIGITS),
            "ALPHANUMERIC_AND_SYMBOLS" => pick(&(33u8..126).collect::<Vec<u8>>()),
            "HEXADECIMAL" => pick(b"ABCDEF0123456789"),
            _ => pick(&(32u8..127).collect::<Vec<u8>>()),
        }
    };
    Ok(Json::String(if uppercase {
        raw.to_uppercase()
    } else {
        raw.to_lowercase()
    }))
}

pub(super) fn pick_random(h: &Helper<'_>) -> Result<Json, RenderError> {
    let Some(first) = h.param(0).filter(|p| !p.value().is_null()) else {
        return Ok(wm_error(
            "Must specify either a single list argument or a set of single value arguments.",
        ));
    };
    let mut values: Vec<Json> = match first.value() {
        Json::Array(a) => a.clone(),
        _ => h.params().iter().map(|p| p.value().clone()).collect(),
    };
    if values.is_empty() {
        return Err(fail("pickRandom: nothing to pick from"));
    }
    if let Some(count) = h.hash_get("count").and_then(|p| as_i64(p.value()))
        && count > 0
    {
        let n = values.len().min(count as usize);
        for i in 0..n {
            let j = fastrand::usize(i..values.len());
            values.swap(i, j);
        }
        values.truncate(n);
        return Ok(Json::Array(values));
    }
    let i = fastrand::usize(..values.len());
    Ok(values.swap_remove(i))
}

#[cfg(test)]
mod tests {
    use super::super::HbsTemplate;
    use super::super::test_support::{Req, r};

    #[test]
    fn random_values() {
        let v = r("{{randomValue length=33 type='ALPHANUMERIC'}}");
        assert_eq!(v.len(), 33);
        assert!(
            v.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let v = r("{{randomValue length=12 type='ALPHABETIC' uppercase=true}}");
        assert!(v.len() == 12 && v.chars().all(|c| c.is_ascii_uppercase()));
        let v = r("{{randomValue length=8 type='NUMERIC'}}");
        assert!(v.len() == 8 && v.chars().all(|c| c.is_ascii_digit()));
        let v = r("{{randomValue length=10 type='HEXADECIMAL'}}");
        assert!(
            v.len() == 10
                && v.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        let v = r("{{randomValue length=40 type='ALPHANUMERIC_AND_SYMBOLS' uppercase=true}}");
        assert!(v.len() == 40 && v.bytes().all(|b| (33..126).contains(&b)));
        let v = r("{{randomValue type='UUID'}}");
        assert!(uuid::Uuid::parse_str(&v).is_ok() && v == v.to_lowercase());
        assert_eq!(r("{{randomValue}}").len(), 36);
        let n: i64 = r("{{randomInt lower=5 upper=9}}").parse().unwrap_or(-1);
        assert!((5..9).contains(&n));
        let n: i64 = r("{{randomInt upper=3}}").parse().unwrap_or(i64::MAX);
        assert!(n < 3);
        let t =
            HbsTemplate::parse("{{randomInt lower=5 upper=5}}").unwrap_or_else(|e| panic!("{e}"));
        assert!(t.render(&Req::new().as_req(), 100).is_err());
        let p = r("{{pickRandom 'a' 'b' 'c'}}");
        assert!(["a", "b", "c"].contains(&p.as_str()));
        let p = r("{{pickRandom (jsonPath request.body '$.items[*].id')}}");
        assert!(p == "1" || p == "2");
        let p = r("{{pickRandom request.query.id}}");
        assert!(p == "1" || p == "2");
        let p = r("{{pickRandom 'a' 'b' 'c' count=2}}");
        assert!(p.starts_with('[') && p.matches(", ").count() == 1, "{p}");
        assert_eq!(r("{{size (pickRandom 1 2 3 count=5)}}"), "3");
    }
}
