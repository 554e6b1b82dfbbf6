//! Parse-time rewriting: plain `{{value}}` expressions go through `__wm_out` (which knows the
//! WireMock rendering of lists, paths and dates), references to assigned variables through
//! `__wm_var`, and `request.headers.NAME` is lower-cased. Partials and decorators are refused here.

use std::collections::{HashMap, HashSet};

use handlebars::template::{Parameter, Subexpression, TemplateElement};
use handlebars::{Path, PathSeg, Template};
use serde_json::Value as Json;

use super::HbsError;
use super::helpers::{OUT, VAR, helper_exists};

fn literal_str(p: Option<&Parameter>) -> Option<String> {
    match p {
        Some(Parameter::Literal(Json::String(s))) => Some(s.clone()),
        _ => None,
    }
}

fn name_of(p: &Parameter) -> Option<String> {
    match p {
        Parameter::Name(n) => Some(n.clone()),
        Parameter::Path(Path::Relative((segs, _))) if segs.len() == 1 => match &segs[0] {
            PathSeg::Named(n) => Some(n.clone()),
            _ => None,
        },
        _ => None,
    }
}

pub(super) fn collect_vars(t: &Template, vars: &mut HashSet<String>) {
    for el in &t.elements {
        let ht = match el {
            TemplateElement::Expression(ht)
            | TemplateElement::HtmlExpression(ht)
            | TemplateElement::HelperBlock(ht) => ht,
            _ => continue,
        };
        let var = match name_of(&ht.name).as_deref() {
            Some("regexExtract") => literal_str(ht.params.get(2)),
            Some("parseJson") if ht.block => literal_str(ht.params.first()),
            Some("parseJson") => literal_str(ht.params.get(1)),
            Some("assign") => literal_str(ht.params.first()),
            _ => None,
        };
        vars.extend(var);
        if let Some(t) = &ht.template {
            collect_vars(t, vars);
        }
        if let Some(t) = &ht.inverse {
            collect_vars(t, vars);
        }
    }
}

pub(super) fn rewrite_template(t: &mut Template, vars: &HashSet<String>) -> Result<(), HbsError> {
    for (i, el) in t.elements.iter_mut().enumerate() {
        match el {
            TemplateElement::Expression(ht) | TemplateElement::HtmlExpression(ht) => {
                if ht.params.is_empty() && ht.hash.is_empty() && !ht.block {
                    let is_helper = name_of(&ht.name).is_some_and(|n| helper_exists(&n));
                    if !is_helper {
                        let path = match &ht.name {
                            Parameter::Path(p) => Some(p.clone()),
                            Parameter::Name(n) => Path::parse(n).ok(),
                            _ => None,
                        };
                        if let Some(path) = path {
                            let path = fix_path(path);
                            if let Some(var_params) = var_params(&path, vars) {
                                ht.name = Parameter::Name(VAR.to_owned());
                                ht.params = var_params;
                            } else {
                                ht.name = Parameter::Name(OUT.to_owned());
                                ht.params = vec![Parameter::Path(path)];
                            }
                        }
                    }
                } else {
                    rewrite_args(&mut ht.params, &mut ht.hash, vars);
                }
            }
            TemplateElement::HelperBlock(ht) => {
                rewrite_args(&mut ht.params, &mut ht.hash, vars);
                if let Some(t) = &mut ht.template {
                    rewrite_template(t, vars)?;
                }
                if let Some(t) = &mut ht.inverse {
                    rewrite_template(t, vars)?;
                }
            }
            TemplateElement::RawString(_) | TemplateElement::Comment(_) => {}
            _ => {
                let (line, column) = t
                    .mapping
                    .get(i)
                    .map_or((None, None), |m| (Some(m.0), Some(m.1)));
                return Err(HbsError {
                    line,
                    column,
                    message: "partials and decorators are not supported in WireMock templates"
                        .to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn rewrite_args(
    params: &mut [Parameter],
    hash: &mut HashMap<String, Parameter>,
    vars: &HashSet<String>,
) {
    for p in params.iter_mut().chain(hash.values_mut()) {
        rewrite_param(p, vars);
    }
}

fn rewrite_param(p: &mut Parameter, vars: &HashSet<String>) {
    match p {
        Parameter::Path(path) => {
            let fixed = fix_path(path.clone());
            *p = match var_params(&fixed, vars) {
                Some(vp) => Parameter::Subexpression(Subexpression::new(
                    Parameter::Name(VAR.to_owned()),
                    vp,
                    HashMap::new(),
                )),
                None => Parameter::Path(fixed),
            };
        }
        Parameter::Subexpression(sub) => {
            if let TemplateElement::Expression(ht) = sub.element.as_mut() {
                rewrite_args(&mut ht.params, &mut ht.hash, vars);
            }
        }
        _ => {}
    }
}

/// `request…` anchored at the root (Handlebars.java finds `request` from inside any block, as
/// it looks names up in the enclosing contexts), and `request.headers.NAME…` with NAME
/// lower-cased.
fn fix_path(path: Path) -> Path {
    let path = match &path {
        Path::Relative((segs, raw)) if matches!(segs.first(), Some(PathSeg::Named(s)) if s == "request") => {
            Path::parse(&format!("@root.{raw}")).unwrap_or(path)
        }
        _ => path,
    };
    match path {
        Path::Relative((mut segs, raw)) => {
            let start = segs
                .iter()
                .take(2)
                .position(|s| matches!(s, PathSeg::Named(n) if n == "request"));
            if let Some(k) = start
                && matches!(segs.get(k + 1), Some(PathSeg::Named(s)) if s == "headers")
                && let Some(PathSeg::Named(name)) = segs.get_mut(k + 2)
            {
                *name = name.to_ascii_lowercase();
            }
            Path::Relative((segs, raw))
        }
        other => other,
    }
}

/// `[name, seg…]` literals when `path` starts with an assigned variable's name.
fn var_params(path: &Path, vars: &HashSet<String>) -> Option<Vec<Parameter>> {
    let Path::Relative((segs, _)) = path else {
        return None;
    };
    let mut out = Vec::with_capacity(segs.len());
    for seg in segs {
        match seg {
            PathSeg::Named(n) => out.push(Parameter::Literal(Json::String(n.clone()))),
            _ => return None,
        }
    }
    match out.first() {
        Some(Parameter::Literal(Json::String(n))) if vars.contains(n) => Some(out),
        _ => None,
    }
}
