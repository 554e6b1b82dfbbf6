//! `jsonPath` (Jayway's semantics, on `serde_json_path`) and `parseJson`.

use handlebars::{Context, Handlebars, Helper, RenderContext, RenderError, Renderable};
use serde_json::{Map, Value as Json};

use super::error::{fail, wm_error};
use super::fuel::{VarKind, bytes_units, charge, set_var};
use super::model::is_list_or_single;
use super::values::arg_string;

pub(super) fn json_path(h: &Helper<'_>) -> Result<Json, RenderError> {
    let Some(input) = h.param(0) else {
        return Ok(Json::String(String::new()));
    };
    if input.value().is_null() || input.value() == &Json::String(String::new()) {
        return Ok(Json::String(String::new()));
    }
    let Some(path_param) = h.param(1).filter(|p| !p.value().is_null()) else {
        return Ok(wm_error("The JSONPath cannot be empty"));
    };
    let raw_path = arg_string(path_param);
    let doc: Json = match input.value() {
        Json::String(s) => match serde_json::from_str(s) {
            Ok(v) => v,
            Err(_) => return Ok(wm_error(format!("{s} is not valid JSON"))),
        },
        Json::Array(_) if input.context_path().is_some_and(|cp| is_list_or_single(cp)) => {
            let s = arg_string(input);
            match serde_json::from_str(&s) {
                Ok(v) => v,
                Err(_) => return Ok(wm_error(format!("{s} is not valid JSON"))),
            }
        }
        other => other.clone(),
    };
    charge(bytes_units(doc.to_string().len()) / 4)?;
    let default = h.hash_get("default").map(|p| p.value().clone());
    let mut path = raw_path.trim().to_owned();
    if !path.starts_with('$') && !path.starts_with('@') {
        path = if path.starts_with('[') {
            format!("${path}")
        } else {
            format!("$.{path}")
        };
    }
    let mut length_fn = false;
    for suffix in [".length()", ".size()"] {
        if let Some(stripped) = path.strip_suffix(suffix) {
            path = stripped.to_owned();
            length_fn = true;
        }
    }
    let compiled = match serde_json_path::JsonPath::parse(&path) {
        Ok(p) => p,
        Err(_) => {
            return Ok(wm_error(format!(
                "{raw_path} is not a valid JSONPath expression"
            )));
        }
    };
    let nodes = compiled.query(&doc).all();
    let definite = is_definite(&path);
    let mut value = if definite {
        nodes.first().map(|v| (*v).clone())
    } else {
        Some(Json::Array(nodes.into_iter().cloned().collect()))
    };
    if length_fn {
        value = value.and_then(|v| match v {
            Json::Array(a) => Some(Json::from(a.len())),
            Json::Object(m) => Some(Json::from(m.len())),
            Json::String(s) => Some(Json::from(s.encode_utf16().count())),
            _ => None,
        });
    }
    Ok(match value {
        Some(Json::Null) | None => default.unwrap_or(Json::String(String::new())),
        Some(v) => v,
    })
}

/// Jayway's "definite path": no deep scan, wildcard, filter, union or slice.
fn is_definite(path: &str) -> bool {
    let mut in_quote: Option<char> = None;
    let mut prev = '\0';
    for c in path.chars() {
        match in_quote {
            Some(q) if c == q => in_quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => in_quote = Some(c),
                '*' | '?' | ',' | ':' => return false,
                '.' if prev == '.' => return false,
                _ => {}
            },
        }
        prev = c;
    }
    true
}

pub(super) fn parse_json<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
) -> Result<Json, RenderError> {
    let (text, var) = if h.is_block() {
        let text = match h.template() {
            Some(t) => t.renders(r, ctx, rc)?,
            None => String::new(),
        };
        (text, h.param(0).map(arg_string))
    } else {
        let Some(p) = h.param(0) else {
            return Ok(wm_error("Missing required JSON string parameter"));
        };
        if p.value().is_null() {
            return Ok(Json::Object(Map::new()));
        }
        (arg_string(p), h.param(1).map(arg_string))
    };
    let trimmed = text.trim();
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let value = if compact.is_empty() || compact == "{}" {
        Json::Object(Map::new())
    } else {
        charge(bytes_units(trimmed.len()) / 4)?;
        let parsed: Json = serde_json::from_str(trimmed)
            .map_err(|e| fail(format!("parseJson: {trimmed} is not valid JSON: {e}")))?;
        let is_list = trimmed.starts_with('[') && trimmed.ends_with(']');
        match (&parsed, is_list) {
            (Json::Array(_), true) | (Json::Object(_), false) => parsed,
            _ => {
                return Err(fail(format!(
                    "parseJson: {trimmed} is not a JSON object or array"
                )));
            }
        }
    };
    match var {
        Some(name) => {
            set_var(name, VarKind::Value, value);
            Ok(Json::Null)
        }
        None => Ok(value),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{Req, r, r_with};

    #[test]
    fn json_path() {
        assert_eq!(r("{{jsonPath request.body '$.name'}}"), "Ann");
        assert_eq!(r("{{jsonPath request.body '$.n'}}"), "7");
        assert_eq!(r("{{jsonPath request.body '$.items[1].id'}}"), "2");
        assert_eq!(r("{{jsonPath request.body 'name'}}"), "Ann");
        assert_eq!(r("{{jsonPath request.body '$.missing'}}"), "");
        assert_eq!(
            r("{{jsonPath request.body '$.missing' default='dflt'}}"),
            "dflt"
        );
        assert_eq!(r("{{jsonPath request.body '$.items[*].id'}}"), "[1,2]");
        assert_eq!(
            r("{{jsonPath request.body '$.items[*].tag'}}"),
            r#"["a\/b","c"]"#
        );
        assert_eq!(
            r("{{jsonPath request.body '$.o'}}"),
            "{\n  \"k\" : \"v\",\n  \"l\" : [ 1, 2 ]\n}"
        );
        assert_eq!(r("{{jsonPath request.body '$.items.length()'}}"), "2");
        assert_eq!(
            r("{{#each (jsonPath request.body '$.items')}}{{id}},{{/each}}"),
            "1,2,"
        );
        assert_eq!(r("{{size (jsonPath request.body '$.items')}}"), "2");
        assert_eq!(
            r("{{jsonPath request.body '$.items[?(@.id > 1)].tag'}}"),
            r#"["c"]"#
        );
        assert_eq!(
            r_with("{{jsonPath request.body '$.a'}}", &Req::new().body("nope")),
            "[ERROR: nope is not valid JSON]"
        );
        assert_eq!(
            r("{{jsonPath request.body '$[[['}}"),
            "[ERROR: $[[[ is not a valid JSONPath expression]"
        );
        assert_eq!(
            r_with("{{jsonPath request.body '$.a'}}", &Req::new().body("")),
            ""
        );
    }

    #[test]
    fn parse_json_and_to_json() {
        assert_eq!(
            r("{{#with (parseJson request.body)}}{{name}} {{n}} {{items.[1].tag}}{{/with}}"),
            "Ann 7 c"
        );
        assert_eq!(
            r("{{parseJson request.body 'doc'}}{{doc.name}}-{{doc.items.[0].id}}"),
            "Ann-1"
        );
        assert_eq!(
            r(
                "{{#parseJson 'cfg'}}{\"a\": [1, 2], \"m\": \"{{request.method}}\"}{{/parseJson}}{{cfg.m}} {{cfg.a}}"
            ),
            "POST [1, 2]"
        );
        assert_eq!(r("{{parseJson '{\"a\":{\"b\":1}}'}}"), "{a={b=1}}");
        assert_eq!(
            r("{{toJson (parseJson '{\"a\":[1,2]}')}}"),
            "{\n  \"a\" : [ 1, 2 ]\n}"
        );
        assert_eq!(r("{{toJson 'x'}}"), "\"x\"");
        assert_eq!(r("{{toJson request.query.name}}"), "\"bob\"");
        assert_eq!(r("{{toJson request.query.id}}"), "[ \"1\", \"2\" ]");
        assert_eq!(
            r("{{#assign 'who'}} {{request.query.name}} {{/assign}}[{{who}}]"),
            "[bob]"
        );
    }
}
