//! Text helpers: `regexExtract`, `math` (as `java.math.BigDecimal`), and `urlEncode`'s
//! decoding.

use handlebars::{Helper, RenderError};
use serde_json::Value as Json;

use super::error::{fail, wm_error};
use super::fuel::{VarKind, bytes_units, charge, set_var};
use super::values::arg_string;

pub(super) fn regex_extract(h: &Helper<'_>) -> Result<Json, RenderError> {
    let input = h.param(0).map(arg_string).unwrap_or_default();
    let pattern = h.param(1).map(arg_string).unwrap_or_default();
    let Ok(re) = regex::Regex::new(&pattern) else {
        return Ok(wm_error(format!("Invalid regex string {pattern}")));
    };
    charge(bytes_units(input.len()))?;
    if h.params().len() == 2
        && let Some(m) = re.find(&input)
    {
        return Ok(Json::String(m.as_str().to_owned()));
    }
    let mut groups = Vec::new();
    if h.params().len() != 2 {
        for caps in re.captures_iter(&input) {
            for i in 1..caps.len() {
                groups.push(
                    caps.get(i)
                        .map_or(Json::Null, |m| Json::String(m.as_str().to_owned())),
                );
            }
        }
    }
    if groups.is_empty() {
        return Ok(match h.hash_get("default") {
            Some(d) if !d.value().is_null() => d.value().clone(),
            _ => wm_error(format!("Nothing matched {pattern}")),
        });
    }
    let name = h.param(2).map(arg_string).unwrap_or_default();
    set_var(name, VarKind::List, Json::Array(groups));
    Ok(Json::Null)
}

/// A `java.math.BigDecimal`: `mantissa / 10^scale`.
#[derive(Clone, Copy, Debug)]
struct Decimal {
    mantissa: i128,
    scale: u32,
}

impl Decimal {
    fn parse(s: &str) -> Option<Decimal> {
        let s = s.trim();
        let (int, frac) = s.split_once('.').unwrap_or((s, ""));
        if frac.contains(['e', 'E']) || int.contains(['e', 'E']) {
            return None;
        }
        let digits = format!("{int}{frac}");
        let mantissa: i128 = digits.parse().ok()?;
        Some(Decimal {
            mantissa,
            scale: u32::try_from(frac.len()).ok()?,
        })
    }

    fn from_json(v: &Json, text: impl FnOnce() -> String) -> Decimal {
        let zero = Decimal {
            mantissa: 0,
            scale: 0,
        };
        match v {
            Json::Number(n) if n.is_f64() => {
                let f = n.as_f64().unwrap_or(0.0);
                let s = if f.fract() == 0.0 && f.abs() < 1e7 {
                    format!("{f:.1}")
                } else {
                    format!("{f}")
                };
                Decimal::parse(&s).unwrap_or(zero)
            }
            Json::Number(n) => Decimal::parse(&n.to_string()).unwrap_or(zero),
            _ => Decimal::parse(&text()).unwrap_or(zero),
        }
    }

    fn rescale(self, scale: u32) -> Option<i128> {
        self.mantissa
            .checked_mul(10i128.checked_pow(scale - self.scale)?)
    }

    fn to_json(self) -> Json {
        if self.scale == 0
            && let Ok(i) = i64::try_from(self.mantissa)
        {
            return Json::from(i);
        }
        let f = self.mantissa as f64 / 10f64.powi(self.scale as i32);
        serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

pub(super) fn math(h: &Helper<'_>) -> Result<Json, RenderError> {
    if h.params().len() != 3 {
        return Ok(wm_error(
            "All maths functions require two operands and an operator as parameters e.g. 3 '+' 2",
        ));
    }
    let operand = |i: usize| {
        let p = &h.params()[i];
        Decimal::from_json(p.value(), || arg_string(p))
    };
    let left = operand(0);
    let right = operand(2);
    let op = arg_string(&h.params()[1]);
    let overflow = || fail("math: overflow");
    let scale = left.scale.max(right.scale);
    let result = match op.as_str() {
        "+" | "-" => {
            let (a, b) = (
                left.rescale(scale).ok_or_else(overflow)?,
                right.rescale(scale).ok_or_else(overflow)?,
            );
            let m = if op == "+" {
                a.checked_add(b)
            } else {
                a.checked_sub(b)
            };
            Decimal {
                mantissa: m.ok_or_else(overflow)?,
                scale,
            }
        }
        "*" | "x" => Decimal {
            mantissa: left
                .mantissa
                .checked_mul(right.mantissa)
                .ok_or_else(overflow)?,
            scale: left.scale + right.scale,
        },
        "/" => {
            if right.mantissa == 0 {
                return Err(fail("math: division by zero"));
            }
            // BigDecimal.divide(right, HALF_UP): the result keeps the left operand's scale.
            let num = left
                .mantissa
                .checked_mul(10i128.checked_pow(right.scale).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
            let (q, r) = (num / right.mantissa, num % right.mantissa);
            let round = if r.abs() * 2 >= right.mantissa.abs() {
                if (num < 0) == (right.mantissa < 0) {
                    1
                } else {
                    -1
                }
            } else {
                0
            };
            Decimal {
                mantissa: q + round,
                scale: left.scale,
            }
        }
        "%" => {
            if right.mantissa == 0 {
                return Err(fail("math: division by zero"));
            }
            let (a, b) = (
                left.rescale(scale).ok_or_else(overflow)?,
                right.rescale(scale).ok_or_else(overflow)?,
            );
            Decimal {
                mantissa: a % b,
                scale,
            }
        }
        other => {
            return Ok(wm_error(format!(
                "{other} is not a valid mathematical operator"
            )));
        }
    };
    Ok(result.to_json())
}

/// `java.net.URLDecoder.decode(s, "utf-8")`.
pub(super) fn url_decode(s: &str) -> Result<String, RenderError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| fail(format!("urlEncode: illegal escape in {s}")))?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Req, r, r_with};

    #[test]
    fn regex_extract() {
        let req = Req::new().body("abc-DEF-123");
        assert_eq!(
            r_with("{{regexExtract request.body '[A-Z]+'}}", &req),
            "DEF"
        );
        assert_eq!(
            r_with(
                "{{regexExtract request.body '([a-z]+)-([A-Z]+)-([0-9]+)' 'parts'}}{{parts.0}},{{parts.1}},{{parts.[2]}}",
                &req
            ),
            "abc,DEF,123"
        );
        assert_eq!(
            r_with(
                "{{regexExtract request.body '([a-z]+)-([A-Z]+)' 'p'}}{{p}}|{{size p}}|{{#each p}}{{this}} {{/each}}",
                &req
            ),
            "abc|2|abc DEF "
        );
        assert_eq!(
            r("{{regexExtract 'abc' '[0-9]+'}}"),
            "[ERROR: Nothing matched [0-9]+]"
        );
        assert_eq!(
            r("{{regexExtract 'abc' '[0-9]+' default='my default value'}}"),
            "my default value"
        );
        assert_eq!(r("{{regexExtract request.path.[1] '([0-9]+)'}}"), "42");
        assert_eq!(
            r("{{regexExtract 'abc' '('}}"),
            "[ERROR: Invalid regex string (]"
        );
    }

    #[test]
    fn math_as_bigdecimal() {
        assert_eq!(r("{{math 1 '+' 2}}"), "3");
        assert_eq!(r("{{math 5 '-' 7}}"), "-2");
        assert_eq!(r("{{math 6 '*' 7}} {{math 6 'x' 7}}"), "42 42");
        assert_eq!(r("{{math 10 '/' 4}}"), "3");
        assert_eq!(r("{{math 10.0 '/' 4}}"), "2.5");
        assert_eq!(r("{{math 10 '%' 3}}"), "1");
        assert_eq!(r("{{math 1.5 '+' 1.5}}"), "3.0");
        assert_eq!(r("{{math request.query.id '+' 10}}"), "11");
        assert_eq!(r("{{math 'abc' '+' 1}}"), "1");
        assert_eq!(r("{{math (jsonPath request.body '$.n') '*' 2}}"), "14");
        assert_eq!(
            r("{{math 1 '^' 2}}"),
            "[ERROR: ^ is not a valid mathematical operator]"
        );
        assert_eq!(
            r("{{math 1 2}}"),
            "[ERROR: All maths functions require two operands and an operator as parameters e.g. 3 '+' 2]"
        );
    }

    #[test]
    fn size_base64_url_trim() {
        assert_eq!(r("{{size 'abcde'}}"), "5");
        assert_eq!(r("{{size request.query.id}}"), "2");
        assert_eq!(r("{{size (parseJson request.body)}}"), "4");
        assert_eq!(r("{{base64 'hello'}}"), "aGVsbG8=");
        assert_eq!(r("{{base64 'hello' padding=false}}"), "aGVsbG8");
        assert_eq!(r("{{base64 'aGVsbG8=' decode=true}}"), "hello");
        assert_eq!(
            r("{{#base64}}hi {{request.method}}{{/base64}}"),
            "aGkgUE9TVA=="
        );
        assert_eq!(r("{{urlEncode 'a b&c/d*é'}}"), "a+b%26c%2Fd*%C3%A9");
        assert_eq!(r("{{urlEncode 'a+b%26c' decode=true}}"), "a b&c");
        assert_eq!(r("[{{trim '  padded  '}}]"), "[padded]");
        assert_eq!(
            r("[{{#trim}}\n  {{request.method}}  \n{{/trim}}]"),
            "[POST]"
        );
    }
}
