//! WireMock-style response templates: the Handlebars dialect of WireMock 3.13's
//! `response-template` transformer, rendered on the `handlebars` crate.
//!
//! This module owns the dialect: the request model (`request.url`, `request.path`,
//! `request.path.[n]` / `request.pathSegments.[n]`, named path parameters `request.path.NAME`,
//! `request.query.NAME`, `request.headers.NAME`, `request.cookies.NAME`, `request.method`,
//! `request.body`, `request.baseUrl`, `request.scheme`, `request.host`, `request.port`), the
//! WireMock helpers and their rendering, and the fuel that bounds a render. It knows nothing
//! about scenarios or sockets: the caller hands it a [`HbsRequest`] and gets a string.
//!
//! Choices, made to match WireMock 3.13.2:
//! - **No HTML escaping.** WireMock 3 builds its engine with `templateEscapingDisabled = true`
//!   (the default of both `WireMockConfiguration` and the standalone command line), so
//!   `{{x}}` and `{{{x}}}` both render the value as is.
//! - **Lenient lookups.** A missing value renders as nothing (strict mode off), and a name
//!   missing from the current block's context is looked up in the enclosing ones, as
//!   Handlebars.java does (`{{#each items}}{{request.method}}{{/each}}`).
//! - **Multi-valued fields** (`request.query.NAME`, `request.headers.NAME`,
//!   `request.cookies.NAME`, and a `regexExtract` variable) are lists that render as their
//!   first value (WireMock's `ListOrSingle`); `.[i]` picks the i-th, `each` and `size` see the
//!   list. `request.path` renders as the whole path and indexes as its segments.
//! - **Header names** are case-insensitive: the model keys them in lower case, and a template
//!   path `request.headers.NAME` is lower-cased when parsed (so `{{#each request.headers}}`
//!   shows lower-case names, where WireMock shows them as sent).
//! - **Helper errors** render in place as `[ERROR: message]`, as WireMock's do; an error that
//!   WireMock raises as an exception (bad time zone, `randomInt` bounds, division by zero)
//!   fails the render.
//! - **Variables** set by `regexExtract`, `parseJson` and `assign` are found by name at the
//!   template's top level (`{{parts.0}}`), and inside blocks too: references to a name that
//!   the template assigns are resolved from the variables, not the context.
//! - **Dates** with no `timezone` render in UTC (WireMock uses the JVM's zone, UTC in its
//!   Docker image).
//! - Partials and decorators (`{{> p}}`, `{{#*inline}}`) are refused at parse time: WireMock
//!   registers none, and a recursive inline partial could not be bounded.
//!
//! **Fuel**: one unit per helper call (WireMock helpers, built-in block helpers excepted) and
//! per rendered `{{value}}`, plus one unit per started 16 bytes written to the output and per
//! started 16 characters a helper generates (`randomValue`'s length is charged before it is
//! generated). A render that runs out stops with an error.
//!
//! Where things live: this file parses and renders; [`rewrite`] prepares a parsed template,
//! [`model`] builds the request model, [`fuel`] holds the render state, [`helpers`] registers
//! the helpers and dispatches to [`json`], [`text`], [`random`], [`logic`] and the date modules
//! ([`date_helpers`], [`dates`], [`date_format`], [`date_parse`]); [`values`] renders values as
//! Java does and [`error`] makes the errors.

mod date_format;
mod date_helpers;
mod date_parse;
mod dates;
mod error;
mod fuel;
mod helpers;
mod json;
mod logic;
mod model;
mod random;
mod rewrite;
#[cfg(test)]
mod test_support;
mod text;
mod values;

use std::collections::{HashMap, HashSet};
use std::fmt;

use handlebars::{Context, RenderContext, Renderable, Template};

use error::render_error_message;
use fuel::{FuelOutput, OUT_OF_FUEL, RenderState, StateGuard, with_state};
use helpers::registry;
use model::request_model;
use rewrite::{collect_vars, rewrite_template};

/// One parsed template: a header value or a body.
#[derive(Debug, Clone)]
pub struct HbsTemplate {
    template: Template,
}

/// WireMock's request model, borrowed from the request being answered.
#[derive(Debug, Clone, Copy)]
pub struct HbsRequest<'a> {
    /// Path, plus `?` and the query when there is one.
    pub url: &'a str,
    /// The path, as received.
    pub path: &'a str,
    /// Named path parameters (WireMock's `urlPathTemplate`); may be empty.
    pub path_params: &'a [(String, String)],
    /// Decoded query pairs; a key may repeat.
    pub query: &'a [(String, String)],
    /// Header names as sent; lookups are case-insensitive.
    pub headers: &'a [(String, String)],
    /// Cookie pairs.
    pub cookies: &'a [(String, String)],
    /// The method, e.g. `GET`.
    pub method: &'a str,
    /// The body as text.
    pub body: &'a str,
    /// e.g. `http://127.0.0.1:8080`.
    pub base_url: &'a str,
}

/// A template that does not parse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HbsError {
    /// 1-based line inside the template, when known.
    pub line: Option<usize>,
    /// 1-based column inside the template, when known.
    pub column: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for HbsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "line {l}, column {c}: {}", self.message),
            (Some(l), None) => write!(f, "line {l}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for HbsError {}

impl HbsTemplate {
    /// Parses `text` as a WireMock response template.
    pub fn parse(text: &str) -> Result<HbsTemplate, HbsError> {
        let mut template = Template::compile(text).map_err(|e| {
            let (line, column) = e.pos().map_or((None, None), |(l, c)| (Some(l), Some(c)));
            HbsError {
                line,
                column,
                message: e.reason().to_string(),
            }
        })?;
        let mut vars = HashSet::new();
        collect_vars(&template, &mut vars);
        rewrite_template(&mut template, &vars)?;
        Ok(HbsTemplate { template })
    }

    /// Renders against `req` with `fuel` units (see the module doc); errors are messages.
    pub fn render(&self, req: &HbsRequest<'_>, fuel: u64) -> Result<String, String> {
        let ctx = Context::from(request_model(req));
        let _guard = StateGuard::install(RenderState {
            fuel,
            exhausted: false,
            path: req.path.to_owned(),
            vars: HashMap::new(),
        });
        let registry = registry();
        let mut rc = RenderContext::new(None);
        rc.set_recursive_lookup(true);
        let mut out = FuelOutput { buf: String::new() };
        let result = self.template.render(registry, &ctx, &mut rc, &mut out);
        let exhausted = with_state(|s| s.exhausted).unwrap_or(false);
        match result {
            Ok(()) if !exhausted => Ok(out.buf),
            _ if exhausted => Err(format!("{OUT_OF_FUEL} ({fuel} units)")),
            Err(e) => Err(render_error_message(&e)),
            Ok(()) => Ok(out.buf),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::HbsTemplate;
    use super::test_support::{Req, r, r_with};

    #[test]
    fn no_html_escaping() {
        let req = Req::new().body("<a href=\"x\">&</a>");
        assert_eq!(r_with("{{request.body}}", &req), "<a href=\"x\">&</a>");
        assert_eq!(r_with("{{{request.body}}}", &req), "<a href=\"x\">&</a>");
    }

    #[test]
    fn builtins_work() {
        assert_eq!(r("{{#if request.query.name}}yes{{else}}no{{/if}}"), "yes");
        assert_eq!(r("{{#unless request.query.nope}}none{{/unless}}"), "none");
        assert_eq!(r("{{#eq request.method 'POST'}}P{{else}}other{{/eq}}"), "P");
        assert_eq!(
            r("{{#eq request.query.id.[0] '1'}}ONE{{else}}MANY{{/eq}}"),
            "ONE"
        );
        // A list is not equal to a string, as in Handlebars.java.
        assert_eq!(
            r("{{#eq request.query.id '1'}}ONE{{else}}MANY{{/eq}}"),
            "MANY"
        );
        assert_eq!(r("{{#if (eq request.method 'GET')}}G{{else}}N{{/if}}"), "N");
        assert_eq!(r("{{#neq request.method 'GET'}}ne{{/neq}}"), "ne");
        assert_eq!(
            r("{{#gt 3 2}}gt{{/gt}}{{#lt 3 2}}lt{{else}}nlt{{/lt}}"),
            "gtnlt"
        );
        assert_eq!(r("{{#gte 2 2}}a{{/gte}}{{#lte 1 2}}b{{/lte}}"), "ab");
        assert_eq!(
            r("{{#and true 1}}and{{/and}}{{#or false 0}}or{{else}}nor{{/or}}"),
            "andnor"
        );
        assert_eq!(r("{{#not false}}not{{/not}}"), "not");
        assert_eq!(r("{{eq 1 1}} {{eq 1 2 yes='Y' no='N'}}"), "true N");
        assert_eq!(r("{{lookup request.query 'name'}}"), "[bob]");
        assert_eq!(
            r("{{#each request.query}}{{@key}}={{this}};{{/each}}"),
            "id=1;name=bob;"
        );
        assert_eq!(
            r("{{#each request.query.id}}{{request.method}}{{/each}}"),
            "POSTPOST"
        );
    }

    #[test]
    fn parse_errors_carry_positions() {
        let e = HbsTemplate::parse("line one\n  {{#if x}}open").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert!(e.line.is_some() && e.column.is_some(), "{e:?}");
        let e = HbsTemplate::parse("ok\nthen {{bad").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!(e.line, Some(2), "{e}");
        assert!(e.to_string().starts_with("line 2, column "), "{e}");
        let e = HbsTemplate::parse("a\n{{> partial}}").err();
        let e = e.unwrap_or_else(|| panic!("expected an error"));
        assert_eq!((e.line, e.column), (Some(2), Some(1)));
        assert!(e.message.contains("partials"), "{e}");
        assert!(HbsTemplate::parse("{{#*inline \"p\"}}{{> p}}{{/inline}}{{> p}}").is_err());
    }
}
