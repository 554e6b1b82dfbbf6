//! The WireMock helpers: their names, the registry that holds them, and the one `HelperDef`
//! that charges fuel, computes a helper's value (dispatching to the modules beside this one)
//! and renders it in place or as a block.

use std::sync::OnceLock;

use base64::Engine as _;
use handlebars::{
    Context, Handlebars, Helper, HelperDef, HelperResult, Output, RenderContext, RenderError,
    Renderable, ScopedJson,
};
use serde_json::Value as Json;

use super::date_helpers::{date_helper, parse_date_helper};
use super::dates::DateValue;
use super::error::fail;
use super::fuel::{VarKind, charge, var_lookup, with_state};
use super::json::{json_path, parse_json};
use super::logic::{compare, json_eq, yes_no};
use super::model::is_list_or_single;
use super::random::{pick_random, random_value};
use super::text::{math, regex_extract, url_decode};
use super::values::{arg_string, as_i64, hash_bool, jackson_write, java_display, truthy};

pub(super) const OUT: &str = "__wm_out";
pub(super) const VAR: &str = "__wm_var";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Out,
    Var,
    JsonPath,
    RegexExtract,
    RandomValue,
    Now,
    Date,
    ParseDate,
    Math,
    Size,
    Base64,
    UrlEncode,
    Trim,
    ParseJson,
    ToJson,
    PickRandom,
    RandomInt,
    Assign,
    Eq,
    Neq,
    Gt,
    Gte,
    Lt,
    Lte,
    And,
    Or,
    Not,
}

const HELPERS: &[(&str, Kind)] = &[
    (OUT, Kind::Out),
    (VAR, Kind::Var),
    ("jsonPath", Kind::JsonPath),
    ("regexExtract", Kind::RegexExtract),
    ("randomValue", Kind::RandomValue),
    ("now", Kind::Now),
    ("date", Kind::Date),
    ("parseDate", Kind::ParseDate),
    ("math", Kind::Math),
    ("size", Kind::Size),
    ("base64", Kind::Base64),
    ("urlEncode", Kind::UrlEncode),
    ("trim", Kind::Trim),
    ("parseJson", Kind::ParseJson),
    ("toJson", Kind::ToJson),
    ("pickRandom", Kind::PickRandom),
    ("randomInt", Kind::RandomInt),
    ("assign", Kind::Assign),
    ("eq", Kind::Eq),
    ("neq", Kind::Neq),
    ("ne", Kind::Neq),
    ("gt", Kind::Gt),
    ("gte", Kind::Gte),
    ("lt", Kind::Lt),
    ("lte", Kind::Lte),
    ("and", Kind::And),
    ("or", Kind::Or),
    ("not", Kind::Not),
];

/// Helpers the `handlebars` crate provides that this dialect keeps.
const BUILTINS: &[&str] = &[
    "if", "unless", "each", "with", "lookup", "len", "log", "raw",
];

pub(super) fn helper_exists(name: &str) -> bool {
    BUILTINS.contains(&name) || HELPERS.iter().any(|(n, _)| *n == name)
}

pub(super) fn registry() -> &'static Handlebars<'static> {
    static REGISTRY: OnceLock<Handlebars<'static>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut hb = Handlebars::new();
        hb.register_escape_fn(handlebars::no_escape);
        hb.set_strict_mode(false);
        // Handlebars.java looks a name up in the enclosing contexts when the current one lacks it.
        hb.set_recursive_lookup(true);
        for (name, kind) in HELPERS {
            hb.register_helper(name, Box::new(Wm(*kind)));
        }
        hb
    })
}

struct Wm(Kind);

impl Wm {
    fn is_conditional(&self) -> bool {
        matches!(
            self.0,
            Kind::Eq
                | Kind::Neq
                | Kind::Gt
                | Kind::Gte
                | Kind::Lt
                | Kind::Lte
                | Kind::And
                | Kind::Or
                | Kind::Not
        )
    }

    /// The helper's value (what a subexpression or a block sees).
    fn value<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<Json, RenderError> {
        let p0 = h.param(0);
        match self.0 {
            Kind::Out => Ok(p0.map(|p| p.value().clone()).unwrap_or(Json::Null)),
            Kind::Var => Ok(var_lookup(h).map(|(_, v)| v).unwrap_or(Json::Null)),
            Kind::JsonPath => json_path(h),
            Kind::RegexExtract => regex_extract(h),
            Kind::RandomValue => random_value(h),
            Kind::Now => date_helper(None, h),
            Kind::Date => date_helper(p0.and_then(|p| DateValue::from_json(p.value())), h),
            Kind::ParseDate => parse_date_helper(h),
            Kind::Math => math(h),
            Kind::Size => Ok(match p0.map(|p| p.value()) {
                Some(Json::String(s)) => Json::from(s.encode_utf16().count()),
                Some(Json::Array(a)) => Json::from(a.len()),
                Some(Json::Object(m))
                    if DateValue::from_json(&Json::Object(m.clone())).is_none() =>
                {
                    Json::from(m.len())
                }
                _ => Json::Null,
            }),
            Kind::Base64 => {
                let text = block_or_arg(h, r, ctx, rc)?;
                if hash_bool(h, "decode") == Some(true) {
                    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                    let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
                        .decode(cleaned.trim_end_matches('='))
                        .map_err(|e| fail(format!("base64: cannot decode: {e}")))?;
                    Ok(Json::String(String::from_utf8_lossy(&bytes).into_owned()))
                } else {
                    let padding = h
                        .hash_get("padding")
                        .is_none_or(|p| p.value() == &Json::Bool(true));
                    let enc = if padding {
                        base64::engine::general_purpose::STANDARD.encode(text.as_bytes())
                    } else {
                        base64::engine::general_purpose::STANDARD_NO_PAD.encode(text.as_bytes())
                    };
                    Ok(Json::String(enc))
                }
            }
            Kind::UrlEncode => {
                let text = p0.map(arg_string).unwrap_or_default();
                if hash_bool(h, "decode") == Some(true) {
                    url_decode(&text).map(Json::String)
                } else {
                    Ok(Json::String(
                        form_urlencoded::byte_serialize(text.as_bytes()).collect(),
                    ))
                }
            }
            Kind::Trim => Ok(Json::String(block_or_arg(h, r, ctx, rc)?.trim().to_owned())),
            Kind::ParseJson => parse_json(h, r, ctx, rc),
            Kind::ToJson => Ok(match p0 {
                None => Json::String(String::new()),
                Some(p) if p.value().is_null() => Json::String(String::new()),
                Some(p) => {
                    let v = match (p.context_path(), p.value()) {
                        (Some(cp), Json::Array(a)) if is_list_or_single(cp) && a.len() == 1 => {
                            a[0].clone()
                        }
                        (_, v) => match DateValue::from_json(v) {
                            Some(d) => Json::String(d.render()?),
                            None => v.clone(),
                        },
                    };
                    Json::String(jackson_write(&v))
                }
            }),
            Kind::PickRandom => pick_random(h),
            Kind::RandomInt => {
                let lower = h.hash_get("lower").and_then(|p| as_i64(p.value()));
                let upper = h.hash_get("upper").and_then(|p| as_i64(p.value()));
                let lower = lower.unwrap_or(i64::from(i32::MIN));
                let upper = upper.unwrap_or(i64::from(i32::MAX));
                if lower >= upper {
                    return Err(fail("randomInt: bound must be greater than origin"));
                }
                Ok(Json::from(fastrand::i64(lower..upper)))
            }
            Kind::Assign => {
                let name = p0.map(arg_string).unwrap_or_default();
                let text = match h.template() {
                    Some(t) => t.renders(r, ctx, rc)?,
                    None => String::new(),
                };
                let value = Json::String(text.trim().to_owned());
                with_state(|s| s.vars.insert(name, (VarKind::Value, value)));
                Ok(Json::Null)
            }
            Kind::Eq | Kind::Neq | Kind::Gt | Kind::Gte | Kind::Lt | Kind::Lte => {
                let a = p0.map(|p| p.value().clone()).unwrap_or(Json::Null);
                let b = h.param(1).map(|p| p.value().clone()).unwrap_or(Json::Null);
                let result = match self.0 {
                    Kind::Eq => json_eq(&a, &b),
                    Kind::Neq => !json_eq(&a, &b),
                    _ => {
                        let ord = compare(&a, &b)?;
                        match self.0 {
                            Kind::Gt => ord.is_gt(),
                            Kind::Gte => ord.is_ge(),
                            Kind::Lt => ord.is_lt(),
                            _ => ord.is_le(),
                        }
                    }
                };
                Ok(yes_no(h, result))
            }
            Kind::And => Ok(yes_no(h, h.params().iter().all(|p| truthy(p.value())))),
            Kind::Or => Ok(yes_no(h, h.params().iter().any(|p| truthy(p.value())))),
            Kind::Not => Ok(yes_no(h, !p0.is_some_and(|p| truthy(p.value())))),
        }
    }

    /// How the helper's value renders in place.
    fn display(&self, h: &Helper<'_>, v: &Json) -> Result<String, RenderError> {
        Ok(match self.0 {
            Kind::Out => match h.param(0) {
                None => String::new(),
                Some(p) if p.is_value_missing() => String::new(),
                Some(p) => arg_string(p),
            },
            Kind::Var => match var_lookup(h) {
                Some((VarKind::List, Json::Array(a))) if h.params().len() == 1 => {
                    a.first().map(|f| java_display(f, true)).unwrap_or_default()
                }
                Some((_, v)) => java_display(&v, true),
                None => String::new(),
            },
            Kind::JsonPath => match v {
                Json::Array(_) => v.to_string().replace('/', "\\/"),
                Json::Object(_) => jackson_write(v),
                other => java_display(other, true),
            },
            Kind::Now | Kind::Date | Kind::ParseDate => match DateValue::from_json(v) {
                Some(d) => d.render()?,
                None => java_display(v, true),
            },
            _ => java_display(v, true),
        })
    }
}

impl HelperDef for Wm {
    fn call_inner<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
    ) -> Result<ScopedJson<'rc>, RenderError> {
        charge(1)?;
        let v = self.value(h, r, ctx, rc)?;
        Ok(ScopedJson::Derived(v))
    }

    fn call<'reg: 'rc, 'rc>(
        &self,
        h: &Helper<'rc>,
        r: &'reg Handlebars<'reg>,
        ctx: &'rc Context,
        rc: &mut RenderContext<'reg, 'rc>,
        out: &mut dyn Output,
    ) -> HelperResult {
        charge(1)?;
        if self.is_conditional() && h.is_block() {
            let v = self.value(h, r, ctx, rc)?;
            let branch = if truthy(&v) {
                h.template()
            } else {
                h.inverse()
            };
            if let Some(t) = branch {
                t.render(r, ctx, rc, out)?;
            }
            return Ok(());
        }
        let v = self.value(h, r, ctx, rc)?;
        let s = self.display(h, &v)?;
        out.write(&s)?;
        Ok(())
    }
}

fn block_or_arg<'reg: 'rc, 'rc>(
    h: &Helper<'rc>,
    r: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
) -> Result<String, RenderError> {
    if h.is_block() {
        match h.template() {
            Some(t) => t.renders(r, ctx, rc),
            None => Ok(String::new()),
        }
    } else {
        Ok(h.param(0).map(arg_string).unwrap_or_default())
    }
}
