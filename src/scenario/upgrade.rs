//! Compiling the 1xx keys of a response: `informational`, `websocket` and `upgrade`.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;

use super::compiled::{Switch, WsAct, WsScript};
use super::ctx::{Ctx, header_name_problem, header_value_problem};
use super::diag::JsonPath;
use super::model;
use crate::scenario::template::TemplateBuilder;

/// Pre-encoded interim responses (`HTTP/1.1 103 Early Hints\r\n…\r\n\r\n`, one after another).
pub(crate) fn informational(
    cx: &mut Ctx<'_>,
    list: &[model::Informational],
    at: &JsonPath,
) -> Option<Bytes> {
    let before = cx.diags.len();
    let mut out = Vec::new();
    for (i, info) in list.iter().enumerate() {
        let p = at.index(i);
        if !(100..=199).contains(&info.status) || info.status == 101 {
            cx.error(
                &p.key("status"),
                format!(
                    "an interim response needs a 1xx status other than 101, found {}",
                    info.status
                ),
            );
            continue;
        }
        #[allow(clippy::expect_used)] // invariant: 100..=199 checked just above
        let status = actix_http::StatusCode::from_u16(info.status).expect("checked range");
        out.extend_from_slice(
            format!(
                "HTTP/1.1 {} {}\r\n",
                info.status,
                super::default_reason(status)
            )
            .as_bytes(),
        );
        for (name, values) in info.headers.iter().flatten() {
            let hp = p.key("headers").key(name);
            if let Some(problem) = header_name_problem(name) {
                cx.error_at_key(&hp, problem);
                continue;
            }
            if actix_http::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                cx.error(&hp, format!("{name:?} is not a valid header name"));
                continue;
            }
            for value in values.as_slice() {
                if let Some(problem) = header_value_problem(value) {
                    cx.error(&hp, problem);
                    continue;
                }
                // Written as the user spelled the name: interim heads bypass actix's encoder.
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
    }
    (cx.diags.len() == before).then(|| Bytes::from(out))
}

/// The `websocket` or `upgrade` of a 101 response.
pub(crate) fn switch(cx: &mut Ctx<'_>, r: &model::Response, at: &JsonPath) -> Option<Switch> {
    if let Some(up) = &r.upgrade {
        let token_ok = !up.protocol.is_empty()
            && up
                .protocol
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/".contains(&b));
        if !token_ok {
            cx.error(
                &at.key("upgrade").key("protocol"),
                format!("{:?} is not a valid protocol token", up.protocol),
            );
            return None;
        }
        return Some(Switch::Raw(up.protocol.clone()));
    }
    let ws = r.websocket.as_ref()?;
    let at = at.key("websocket");
    let before = cx.diags.len();
    let mut templates = TemplateBuilder::new(cx.origin.limits.template_fuel);
    let on_open = actions(cx, &mut templates, &ws.on_open, &at.key("onOpen"));
    let mut on_message = Vec::new();
    for (i, rule) in ws.on_message.iter().enumerate() {
        let p = at.key("onMessage").index(i);
        let re = cx.regex(&rule.pattern, &p.key("match"), false);
        let acts = actions(cx, &mut templates, &rule.actions, &p.key("do"));
        if let Some(re) = re {
            on_message.push((re, acts));
        }
    }
    if let Some(proto) = &ws.subprotocol
        && proto.trim().is_empty()
    {
        cx.error(&at.key("subprotocol"), "subprotocol must not be empty");
    }
    (cx.diags.len() == before).then(|| {
        Switch::WebSocket(Arc::new(WsScript {
            subprotocol: ws.subprotocol.clone(),
            on_open,
            on_message,
            echo: ws.echo,
            templates: templates.finish(Vec::new(), None),
        }))
    })
}

fn actions(
    cx: &mut Ctx<'_>,
    templates: &mut TemplateBuilder,
    list: &[model::WsAction],
    at: &JsonPath,
) -> Vec<WsAct> {
    let mut out = Vec::new();
    for (i, a) in list.iter().enumerate() {
        let p = at.index(i);
        let kinds = [
            a.text.is_some(),
            a.json.is_some(),
            a.binary.is_some(),
            a.wait_ms.is_some(),
            a.ping.is_some(),
            a.close.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            cx.error(
                &p,
                "an action has exactly one of text, json, binary, waitMs, ping, close",
            );
            continue;
        }
        if a.reason.is_some() && a.close.is_none() {
            cx.error(&p.key("reason"), "reason only goes with close");
            continue;
        }
        let act = if let Some(text) = &a.text {
            match templates.add(text) {
                Ok(name) => WsAct::Text(name),
                Err(err) => {
                    cx.error(&p.key("text"), format!("template error: {err}"));
                    continue;
                }
            }
        } else if let Some(value) = &a.json {
            WsAct::Json(value.to_string())
        } else if let Some(b64) = &a.binary {
            match base64::engine::general_purpose::STANDARD.decode(b64.trim()) {
                Ok(bytes) => WsAct::Binary(Bytes::from(bytes)),
                Err(err) => {
                    cx.error(&p.key("binary"), format!("not valid base64: {err}"));
                    continue;
                }
            }
        } else if let Some(ms) = a.wait_ms {
            WsAct::Wait(Duration::from_millis(ms))
        } else if let Some(ping) = &a.ping {
            if ping.len() > 125 {
                cx.error(&p.key("ping"), "a ping payload is at most 125 bytes");
                continue;
            }
            WsAct::Ping(Bytes::from(ping.clone()))
        } else {
            let code = a.close.unwrap_or(1000);
            let valid = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !valid {
                cx.error(&p.key("close"), format!("{code} is not a close code an endpoint may send (1000–1003, 1007–1014, 3000–4999)"));
                continue;
            }
            if a.reason.as_ref().is_some_and(|r| r.len() > 123) {
                cx.error(&p.key("reason"), "a close reason is at most 123 bytes");
                continue;
            }
            WsAct::Close(code, a.reason.clone())
        };
        out.push(act);
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{Switch, WsAct};
    use crate::scenario::compiled::Answers;
    use crate::scenario::ctx::Origin;
    use crate::scenario::load::{Limits, compile_source};

    /// Renders the `onOpen` text of a WebSocket route whose template loops 200 times, compiled
    /// with `fuel`.
    fn render_on_open(fuel: u64) -> Result<String, String> {
        let source = r#"{ "routes": [ { "response": { "status": 101, "websocket": {
            "onOpen": [ { "text": "{% for i in range(200) %}x{% endfor %}" } ] } } } ] }"#;
        let origin = Origin {
            display: Path::new("ws.json"),
            source,
            root: None,
            dir: Path::new("."),
            default_name: "ws".into(),
            relative: None,
            limits: Limits {
                template_fuel: fuel,
                ..Limits::default()
            },
        };
        let scenario = compile_source(&origin).map_err(|d| format!("{d:?}"))?;
        let Answers::One(response) = &scenario.routes[0].answers else {
            return Err("not one response".into());
        };
        let Some(Switch::WebSocket(script)) = &response.switch else {
            return Err("not a WebSocket".into());
        };
        let Some(WsAct::Text(name)) = script.on_open.first() else {
            return Err("no text action".into());
        };
        script.templates.render(name, &minijinja::Value::from(()))
    }

    #[test]
    fn websocket_templates_get_the_fuel_of_their_limits() {
        let starved = render_on_open(10);
        let fed = render_on_open(crate::scenario::template::FUEL);
        assert!(
            starved.as_ref().is_err_and(|e| e.contains("fuel")),
            "{starved:?}"
        );
        assert_eq!(fed, Ok("x".repeat(200)));
    }
}
