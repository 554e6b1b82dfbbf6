//! Render state: the fuel left and the variables set, per thread for the length of one
//! render, and the output that charges for what it writes.

use std::cell::RefCell;
use std::collections::HashMap;

use handlebars::{Helper, JsonRender, Output, RenderError, RenderErrorReason};
use serde_json::Value as Json;

pub(super) const OUT_OF_FUEL: &str = "template ran out of fuel";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum VarKind {
    /// `regexExtract` groups: a list that renders as its first value.
    List,
    /// `parseJson` and `assign`: a value.
    Value,
}

pub(super) struct RenderState {
    pub(super) fuel: u64,
    pub(super) exhausted: bool,
    pub(super) path: String,
    pub(super) vars: HashMap<String, (VarKind, Json)>,
}

thread_local! {
    static STATE: RefCell<Option<RenderState>> = const { RefCell::new(None) };
}

pub(super) struct StateGuard {
    previous: Option<RenderState>,
}

impl StateGuard {
    pub(super) fn install(state: RenderState) -> StateGuard {
        let previous = STATE.with(|s| s.borrow_mut().replace(state));
        StateGuard { previous }
    }
}

impl Drop for StateGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        STATE.with(|s| *s.borrow_mut() = previous);
    }
}

pub(super) fn with_state<R>(f: impl FnOnce(&mut RenderState) -> R) -> Option<R> {
    STATE.with(|s| s.borrow_mut().as_mut().map(f))
}

/// Takes `units` of fuel; an error once none is left.
pub(super) fn charge(units: u64) -> Result<(), RenderError> {
    let ok = with_state(|s| {
        if s.exhausted || s.fuel < units {
            s.fuel = 0;
            s.exhausted = true;
            false
        } else {
            s.fuel -= units;
            true
        }
    })
    .unwrap_or(true);
    if ok {
        Ok(())
    } else {
        Err(RenderErrorReason::Other(OUT_OF_FUEL.to_owned()).into())
    }
}

pub(super) fn bytes_units(len: usize) -> u64 {
    (len as u64).div_ceil(16)
}

pub(super) struct FuelOutput {
    pub(super) buf: String,
}

impl Output for FuelOutput {
    fn write(&mut self, seg: &str) -> Result<(), std::io::Error> {
        if charge(bytes_units(seg.len())).is_err() {
            return Err(std::io::Error::other(OUT_OF_FUEL));
        }
        self.buf.push_str(seg);
        Ok(())
    }
}

pub(super) fn var_lookup(h: &Helper<'_>) -> Option<(VarKind, Json)> {
    let mut names = h.params().iter().map(|p| match p.value() {
        Json::String(s) => s.clone(),
        other => other.render(),
    });
    let first = names.next()?;
    let (kind, mut value) = with_state(|s| s.vars.get(&first).cloned()).flatten()?;
    for seg in names {
        value = match value {
            Json::Array(a) => seg
                .parse::<usize>()
                .ok()
                .and_then(|i| a.into_iter().nth(i))?,
            Json::Object(mut m) => m.remove(&seg)?,
            _ => return None,
        };
    }
    Some((kind, value))
}

pub(super) fn set_var(name: String, kind: VarKind, value: Json) {
    with_state(|s| s.vars.insert(name, (kind, value)));
}

#[cfg(test)]
mod tests {
    use super::super::HbsTemplate;
    use super::super::test_support::Req;

    #[test]
    fn fuel_bounds_a_render() {
        let req = Req::new().body(&format!("[{}]", vec!["1"; 2000].join(",")));
        let tpl = HbsTemplate::parse(
            "{{#each (parseJson request.body)}}{{#each (parseJson request.body)}}{{this}}{{/each}}{{/each}}",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let err = tpl.render(&req.as_req(), 100_000).err();
        assert!(err.is_some_and(|e| e.contains("fuel")));
        let t = HbsTemplate::parse("{{randomValue length=100000000}}")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = t.render(&req.as_req(), 1_000_000).err();
        assert!(err.is_some_and(|e| e.contains("fuel")));
        let t = HbsTemplate::parse("{{request.method}}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.render(&req.as_req(), 2).as_deref(), Ok("POST"));
        assert!(t.render(&req.as_req(), 1).is_err());
        // Fuel is per render: the next one starts afresh.
        assert_eq!(t.render(&req.as_req(), 10).as_deref(), Ok("POST"));
    }
}
