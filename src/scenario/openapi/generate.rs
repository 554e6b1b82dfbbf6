//! Values made from a (converted, 2020-12) schema: the body of an answer whose media type has
//! no example, a required response header's value.
//!
//! Without a random source the value is deterministic (the same schema gives the same value in
//! every run); with one (`Prefer: dynamic=true`) choices are random. Either way the caller
//! checks the value against the schema's validator and tries again when a corner (a `oneOf`
//! whose branches overlap, a pattern the generator reads differently) made it invalid.
//! `$ref` cycles are cut: a schema met again on its own path gets only its required
//! properties and its fewest items, and depth is bounded.

use serde_json::{Map, Number, Value};

use super::source::def_index;

/// How deep a value may nest before everything optional is left out.
const MAX_DEPTH: usize = 12;

/// Which side of the exchange the value is for: a response leaves out `writeOnly`
/// properties, a request `readOnly` ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A response body or header.
    Response,
    /// A request part (used by `openapi import`'s documentation only).
    #[allow(dead_code)]
    Request,
}

/// One generation run.
pub struct Generator<'a> {
    defs: &'a [Value],
    rng: Option<fastrand::Rng>,
    /// Use the schemas' own `example`/`examples`/`default` where they have them.
    pub use_examples: bool,
    side: Side,
    stack: Vec<usize>,
    depth: usize,
    cut: usize,
}

impl<'a> Generator<'a> {
    /// A generator over the schema table `defs`; `rng` makes it random.
    pub fn new(defs: &'a [Value], rng: Option<fastrand::Rng>, side: Side) -> Self {
        Generator {
            defs,
            rng,
            use_examples: true,
            side,
            stack: Vec::new(),
            depth: 0,
            cut: 0,
        }
    }

    fn coin(&mut self) -> bool {
        self.rng.as_mut().is_some_and(|r| r.bool())
    }

    fn pick(&mut self, n: usize) -> usize {
        match (&mut self.rng, n) {
            (_, 0) => 0,
            (Some(r), n) => r.usize(0..n),
            (None, _) => 0,
        }
    }

    fn cutting(&self) -> bool {
        self.cut > 0 || self.depth > MAX_DEPTH
    }

    /// A value for `schema`.
    pub fn value(&mut self, schema: &Value) -> Value {
        self.depth += 1;
        let v = self.value_inner(schema);
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self, schema: &Value) -> Value {
        let obj = match schema {
            Value::Object(m) => m,
            Value::Bool(_) => return Value::Null,
            _ => return Value::Null,
        };
        if let Some(index) = obj.get("$ref").and_then(Value::as_str).and_then(def_index) {
            let Some(target) = self.defs.get(index) else {
                return Value::Null;
            };
            let again = self.stack.contains(&index);
            if again {
                self.cut += 1;
            }
            self.stack.push(index);
            let v = if obj.len() == 1 {
                self.value(target)
            } else {
                let mut rest = obj.clone();
                rest.remove("$ref");
                let merged = self.merge_all(&[target.clone(), Value::Object(rest)]);
                self.value(&merged)
            };
            self.stack.pop();
            if again {
                self.cut -= 1;
            }
            return v;
        }
        if let Some(c) = obj.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(values)) = obj.get("enum")
            && !values.is_empty()
        {
            let i = self.pick(values.len());
            return values[i].clone();
        }
        if self.use_examples && self.rng.is_none() {
            if let Some(e) = obj.get("example") {
                return e.clone();
            }
            if let Some(Value::Array(e)) = obj.get("examples")
                && let Some(first) = e.first()
            {
                return first.clone();
            }
            if let Some(d) = obj.get("default") {
                return d.clone();
            }
        }
        if let Some(Value::Array(all)) = obj.get("allOf") {
            let mut parts: Vec<Value> = all.clone();
            let mut rest = obj.clone();
            rest.remove("allOf");
            parts.push(Value::Object(rest));
            let merged = self.merge_all(&parts);
            return self.value(&merged);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(Value::Array(branches)) = obj.get(key)
                && !branches.is_empty()
            {
                let mut rest = obj.clone();
                rest.remove(key);
                // A nullable composition: null when cutting a cycle, else a real branch.
                let non_null: Vec<&Value> = branches.iter().filter(|b| !is_null_type(b)).collect();
                if self.cutting() && non_null.len() < branches.len() {
                    return Value::Null;
                }
                let pool: Vec<&Value> = if non_null.is_empty() {
                    branches.iter().collect()
                } else {
                    non_null
                };
                let i = self.pick(pool.len());
                let branch = pool[i].clone();
                if rest.keys().all(|k| is_annotation(k)) {
                    return self.value(&branch);
                }
                let merged = self.merge_all(&[branch, Value::Object(rest)]);
                return self.value(&merged);
            }
        }
        let ty = self.choose_type(obj);
        match ty.as_str() {
            "null" => Value::Null,
            "boolean" => Value::Bool(self.rng.is_none() || self.coin()),
            "integer" => self.integer(obj),
            "number" => self.number(obj),
            "string" => Value::String(self.string(obj)),
            "array" => self.array(obj),
            "object" => self.object(obj),
            _ => Value::Null,
        }
    }

    fn choose_type(&mut self, obj: &Map<String, Value>) -> String {
        match obj.get("type") {
            Some(Value::String(t)) => return t.clone(),
            Some(Value::Array(types)) => {
                let names: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                if self.cutting() && names.contains(&"null") {
                    return "null".into();
                }
                let non_null: Vec<&str> = names.iter().copied().filter(|t| *t != "null").collect();
                if let Some(first) = non_null.first() {
                    let i = self.pick(non_null.len());
                    return non_null.get(i).unwrap_or(first).to_string();
                }
                return "null".into();
            }
            _ => {}
        }
        let has = |keys: &[&str]| keys.iter().any(|k| obj.contains_key(*k));
        if has(&[
            "properties",
            "required",
            "additionalProperties",
            "minProperties",
            "maxProperties",
            "patternProperties",
        ]) {
            "object".into()
        } else if has(&[
            "items",
            "prefixItems",
            "minItems",
            "maxItems",
            "uniqueItems",
        ]) {
            "array".into()
        } else if has(&["minLength", "maxLength", "pattern", "format"]) {
            "string".into()
        } else if has(&[
            "minimum",
            "maximum",
            "exclusiveMinimum",
            "exclusiveMaximum",
            "multipleOf",
        ]) {
            "number".into()
        } else {
            "any".into()
        }
    }

    fn integer(&mut self, obj: &Map<String, Value>) -> Value {
        let f = |k: &str| obj.get(k).and_then(Value::as_f64);
        let mut lo = f("minimum").map(|m| m.ceil());
        if let Some(x) = f("exclusiveMinimum") {
            let v = x.floor() + 1.0;
            lo = Some(lo.map_or(v, |l: f64| l.max(v)));
        }
        let mut hi = f("maximum").map(|m| m.floor());
        if let Some(x) = f("exclusiveMaximum") {
            let v = x.ceil() - 1.0;
            hi = Some(hi.map_or(v, |h: f64| h.min(v)));
        }
        let lo_i = lo.map(|v| v.clamp(-9e15, 9e15) as i64);
        let hi_i = hi.map(|v| v.clamp(-9e15, 9e15) as i64);
        let start = match (&mut self.rng, lo_i, hi_i) {
            (Some(r), lo, hi) => {
                let a = lo.unwrap_or_else(|| hi.map_or(0, |h| h.saturating_sub(1000)));
                let b = hi.unwrap_or_else(|| a.saturating_add(1000));
                if a <= b { r.i64(a..=b) } else { a }
            }
            (None, lo, hi) => {
                let v = 1i64;
                let v = lo.map_or(v, |l| v.max(l));
                hi.map_or(v, |h| v.min(h))
            }
        };
        let v = match f("multipleOf") {
            Some(m) if m >= 1.0 && m.fract() == 0.0 => {
                let m = m as i64;
                let mut v = start.div_euclid(m) * m;
                if lo_i.is_some_and(|l| v < l) {
                    v += m;
                }
                v
            }
            _ => start,
        };
        Value::Number(Number::from(v))
    }

    fn number(&mut self, obj: &Map<String, Value>) -> Value {
        let f = |k: &str| obj.get(k).and_then(Value::as_f64);
        let mut lo = f("minimum");
        if let Some(x) = f("exclusiveMinimum") {
            let v = x + x.abs().max(1.0) * 1e-6;
            lo = Some(lo.map_or(v, |l: f64| l.max(v)));
        }
        let mut hi = f("maximum");
        if let Some(x) = f("exclusiveMaximum") {
            let v = x - x.abs().max(1.0) * 1e-6;
            hi = Some(hi.map_or(v, |h: f64| h.min(v)));
        }
        let mut v = match &mut self.rng {
            Some(r) => {
                let a = lo.unwrap_or_else(|| hi.map_or(0.0, |h| h - 1000.0));
                let b = hi.unwrap_or(a + 1000.0);
                a + (b - a) * r.f64()
            }
            None => {
                let v = lo.map_or(1.5, |l| l.max(1.5));
                hi.map_or(v, |h| v.min(h))
            }
        };
        if let Some(m) = f("multipleOf").filter(|m| *m > 0.0) {
            let mut k = (v / m).ceil();
            if hi.is_some_and(|h| k * m > h) {
                k = (v / m).floor();
            }
            v = k * m;
            if m.fract() == 0.0 {
                return Value::Number(Number::from(v as i64));
            }
        }
        if v.fract() == 0.0 && v.abs() < 9e15 {
            return Value::Number(Number::from(v as i64));
        }
        Number::from_f64(v).map_or(Value::Null, Value::Number)
    }

    fn string(&mut self, obj: &Map<String, Value>) -> String {
        let min = obj.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj
            .get("maxLength")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        if let Some(pattern) = obj.get("pattern").and_then(Value::as_str)
            && let Some(s) = self.matching(pattern, min, max)
        {
            return s;
        }
        let format = obj.get("format").and_then(Value::as_str).unwrap_or("");
        if let Some(s) = self.format(format) {
            return s;
        }
        let base = match &mut self.rng {
            Some(r) => {
                let upper = max.unwrap_or(min + 12).min(min + 12).max(min);
                let len = r.usize(min..=upper);
                return (0..len).map(|_| r.alphanumeric()).collect();
            }
            None => "string",
        };
        let mut s: String = base.to_owned();
        while s.chars().count() < min {
            s.push('x');
        }
        if let Some(max) = max {
            s = s.chars().take(max).collect();
        }
        s
    }

    fn format(&mut self, format: &str) -> Option<String> {
        let rng = &mut self.rng;
        let mut n = |hi: u32| rng.as_mut().map_or(0, |r| r.u32(0..hi));
        Some(match format {
            "date-time" => format!(
                "20{:02}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                24 + n(5),
                1 + n(12),
                1 + n(28),
                n(24),
                n(60),
                n(60)
            ),
            "date" => format!("20{:02}-{:02}-{:02}", 24 + n(5), 1 + n(12), 1 + n(28)),
            "time" => format!("{:02}:{:02}:{:02}Z", n(24), n(60), n(60)),
            "uuid" => match &mut self.rng {
                Some(r) => uuid::Builder::from_random_bytes(r.u128(..).to_le_bytes())
                    .into_uuid()
                    .to_string(),
                None => "3fa85f64-5717-4562-b3fc-2c963f66afa6".into(),
            },
            "email" | "idn-email" => match &mut self.rng {
                Some(r) => format!("user{}@example.com", r.u32(0..100_000)),
                None => "user@example.com".into(),
            },
            "uri" | "url" | "iri" => match &mut self.rng {
                Some(r) => format!("https://example.com/{}", r.u32(0..100_000)),
                None => "https://example.com/".into(),
            },
            "uri-reference" | "iri-reference" => "/example".into(),
            "hostname" | "idn-hostname" => match &mut self.rng {
                Some(r) => format!("host{}.example.com", r.u32(0..100_000)),
                None => "example.com".into(),
            },
            "ipv4" => match &mut self.rng {
                Some(r) => format!("192.0.2.{}", r.u8(1..=254)),
                None => "192.0.2.1".into(),
            },
            "ipv6" => match &mut self.rng {
                Some(r) => format!("2001:db8::{:x}", r.u16(1..)),
                None => "2001:db8::1".into(),
            },
            "byte" => "c3RyaW5n".into(),
            "duration" => "P1D".into(),
            "json-pointer" => "/example".into(),
            "regex" => "^[a-z]+$".into(),
            _ => return None,
        })
    }

    fn matching(&mut self, pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
        let hir = regex_syntax::ParserBuilder::new()
            .build()
            .parse(pattern)
            .ok()?;
        let mut out = String::new();
        self.hir(&hir, &mut out, 0);
        let len = out.chars().count();
        if len < min || max.is_some_and(|m| len > m) {
            return None;
        }
        Some(out)
    }

    fn hir(&mut self, hir: &regex_syntax::hir::Hir, out: &mut String, depth: usize) {
        use regex_syntax::hir::{Class, HirKind};
        if depth > 64 || out.len() > 4096 {
            return;
        }
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => out.push_str(&String::from_utf8_lossy(&lit.0)),
            HirKind::Class(Class::Unicode(class)) => {
                let ranges = class.ranges();
                if ranges.is_empty() {
                    return;
                }
                let preferred = ['a', 'A', '0', '_', '-'];
                let c = match &mut self.rng {
                    Some(r) => {
                        let range = ranges[r.usize(0..ranges.len())];
                        let (s, e) = (range.start() as u32, range.end() as u32);
                        char::from_u32(r.u32(s..=e.min(s + 25))).unwrap_or(range.start())
                    }
                    None => preferred
                        .into_iter()
                        .find(|c| ranges.iter().any(|r| r.start() <= *c && *c <= r.end()))
                        .unwrap_or_else(|| {
                            ranges
                                .iter()
                                .find(|r| r.end() >= ' ')
                                .map_or(ranges[0].start(), |r| r.start().max(' '))
                        }),
                };
                out.push(c);
            }
            HirKind::Class(Class::Bytes(class)) => {
                if let Some(r) = class.ranges().first() {
                    out.push(char::from(r.start().max(b' ').min(r.end())));
                }
            }
            HirKind::Repetition(rep) => {
                let count = match &mut self.rng {
                    Some(r) => {
                        let hi = rep.max.unwrap_or(rep.min + 4).min(rep.min + 4);
                        r.u32(rep.min..=hi.max(rep.min))
                    }
                    None => rep.min.max(u32::from(rep.max.is_none_or(|m| m >= 1))),
                };
                for _ in 0..count.min(256) {
                    self.hir(&rep.sub, out, depth + 1);
                }
            }
            HirKind::Capture(cap) => self.hir(&cap.sub, out, depth + 1),
            HirKind::Concat(parts) => {
                for p in parts {
                    self.hir(p, out, depth + 1);
                }
            }
            HirKind::Alternation(alts) => {
                let i = self.pick(alts.len());
                if let Some(a) = alts.get(i) {
                    self.hir(a, out, depth + 1);
                }
            }
        }
    }

    fn array(&mut self, obj: &Map<String, Value>) -> Value {
        let min = obj.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = obj
            .get("maxItems")
            .and_then(Value::as_u64)
            .map(|m| m as usize);
        let wanted = if self.cutting() {
            min
        } else {
            match &mut self.rng {
                Some(r) => r.usize(min..=max.unwrap_or(min + 3).min(min + 3).max(min)),
                None => min.max(1),
            }
        };
        let count = max.map_or(wanted, |m| wanted.min(m));
        let prefix: Vec<Value> = match obj.get("prefixItems") {
            Some(Value::Array(p)) => p.clone(),
            _ => Vec::new(),
        };
        let items = obj.get("items").cloned().unwrap_or(Value::Bool(true));
        let unique = obj.get("uniqueItems") == Some(&Value::Bool(true));
        let mut out: Vec<Value> = Vec::with_capacity(count);
        let mut tries = 0;
        while out.len() < count.max(prefix.len().min(count)) && tries < count * 4 + 8 {
            tries += 1;
            let schema = prefix.get(out.len()).unwrap_or(&items);
            let v = if unique && !out.is_empty() && self.rng.is_none() {
                // Distinct items: vary the choices with a seed per position.
                let mut other = Generator::new(
                    self.defs,
                    Some(fastrand::Rng::with_seed(tries as u64)),
                    self.side,
                );
                other.stack = self.stack.clone();
                other.depth = self.depth;
                other.cut = self.cut;
                other.value(schema)
            } else {
                self.value(schema)
            };
            if unique && out.contains(&v) {
                continue;
            }
            out.push(v);
        }
        if let Some(Value::Object(contains)) = obj.get("contains")
            && out.is_empty()
            && max.is_none_or(|m| m > 0)
        {
            out.push(self.value(&Value::Object(contains.clone())));
        }
        Value::Array(out)
    }

    fn object(&mut self, obj: &Map<String, Value>) -> Value {
        let required: Vec<&str> = match obj.get("required") {
            Some(Value::Array(r)) => r.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut out = Map::new();
        let empty = Map::new();
        let props = obj
            .get("properties")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let max_props = obj
            .get("maxProperties")
            .and_then(Value::as_u64)
            .map_or(usize::MAX, |m| m as usize);
        // Required first, so maxProperties never drops one.
        for name in &required {
            if let Some(schema) = props.get(*name) {
                let v = self.value(schema);
                out.insert((*name).to_owned(), v);
            } else {
                let extra = obj
                    .get("additionalProperties")
                    .cloned()
                    .unwrap_or(Value::Bool(true));
                let v = match extra {
                    Value::Object(_) => self.value(&extra),
                    _ => Value::String("string".into()),
                };
                out.insert((*name).to_owned(), v);
            }
        }
        if !self.cutting() {
            for (name, schema) in props {
                if out.contains_key(name) || out.len() >= max_props {
                    continue;
                }
                let resolved = self.peek(schema);
                let hidden = match self.side {
                    Side::Response => resolved.get("writeOnly") == Some(&Value::Bool(true)),
                    Side::Request => resolved.get("readOnly") == Some(&Value::Bool(true)),
                };
                if hidden || (self.rng.is_some() && !self.coin()) {
                    continue;
                }
                let v = self.value(schema);
                out.insert(name.clone(), v);
            }
        }
        let min_props = obj
            .get("minProperties")
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize;
        let extra = obj
            .get("additionalProperties")
            .cloned()
            .unwrap_or(Value::Bool(true));
        let mut n = 1;
        while out.len() < min_props && extra != Value::Bool(false) && n < 1000 {
            let key = format!("additionalProp{n}");
            n += 1;
            if out.contains_key(&key) {
                continue;
            }
            let v = match &extra {
                Value::Object(_) => self.value(&extra),
                _ => Value::String("string".into()),
            };
            out.insert(key, v);
        }
        Value::Object(out)
    }

    /// The schema a `$ref` points at (one level), for looking at its annotations.
    fn peek<'s>(&'s self, schema: &'s Value) -> &'s Value {
        match schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(def_index)
        {
            Some(i) => self.defs.get(i).unwrap_or(schema),
            None => schema,
        }
    }

    /// One schema that asks for everything `parts` ask for (allOf), as far as a generator
    /// needs: properties and required lists united, the other keywords of the first part
    /// that has them; nested references and allOfs are opened.
    fn merge_all(&self, parts: &[Value]) -> Value {
        let mut out = Map::new();
        let mut flat = Vec::new();
        for p in parts {
            self.flatten(p, &mut flat, 0);
        }
        let mut required: Vec<Value> = Vec::new();
        for part in flat {
            let Value::Object(m) = part else { continue };
            for (k, v) in m {
                match k.as_str() {
                    "properties" => {
                        let entry = out
                            .entry("properties")
                            .or_insert_with(|| Value::Object(Map::new()));
                        if let (Value::Object(have), Value::Object(add)) = (entry, v) {
                            for (name, schema) in add {
                                match have.get_mut(&name) {
                                    Some(existing) => {
                                        let both = Value::Array(vec![existing.clone(), schema]);
                                        let mut all = Map::new();
                                        all.insert("allOf".into(), both);
                                        *existing = Value::Object(all);
                                    }
                                    None => {
                                        have.insert(name, schema);
                                    }
                                }
                            }
                        }
                    }
                    "required" => {
                        if let Value::Array(r) = v {
                            for name in r {
                                if !required.contains(&name) {
                                    required.push(name);
                                }
                            }
                        }
                    }
                    "type" if out.contains_key("type") => {
                        // Keep the narrower: a single type over a list.
                        if let (Some(Value::Array(_)), Value::String(_)) = (out.get("type"), &v) {
                            out.insert("type".into(), v);
                        }
                    }
                    "minimum" | "exclusiveMinimum" | "minLength" | "minItems" | "minProperties"
                        if out.contains_key(&k) =>
                    {
                        if let (Some(a), Some(b)) =
                            (out.get(&k).and_then(Value::as_f64), v.as_f64())
                            && b > a
                        {
                            out.insert(k, v);
                        }
                    }
                    "maximum" | "exclusiveMaximum" | "maxLength" | "maxItems" | "maxProperties"
                        if out.contains_key(&k) =>
                    {
                        if let (Some(a), Some(b)) =
                            (out.get(&k).and_then(Value::as_f64), v.as_f64())
                            && b < a
                        {
                            out.insert(k, v);
                        }
                    }
                    _ => {
                        out.entry(k).or_insert(v);
                    }
                }
            }
        }
        if !required.is_empty() {
            out.insert("required".into(), Value::Array(required));
        }
        Value::Object(out)
    }

    fn flatten(&self, part: &Value, out: &mut Vec<Value>, depth: usize) {
        if depth > 16 {
            return;
        }
        let Value::Object(m) = part else { return };
        let mut rest = m.clone();
        if let Some(i) = m.get("$ref").and_then(Value::as_str).and_then(def_index) {
            rest.remove("$ref");
            if let Some(target) = self.defs.get(i) {
                self.flatten(target, out, depth + 1);
            }
        }
        if let Some(Value::Array(all)) = rest.remove("allOf") {
            for a in &all {
                self.flatten(a, out, depth + 1);
            }
        }
        out.push(Value::Object(rest));
    }
}

fn is_null_type(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("null")
}

fn is_annotation(key: &str) -> bool {
    matches!(
        key,
        "description"
            | "title"
            | "example"
            | "examples"
            | "default"
            | "discriminator"
            | "xml"
            | "externalDocs"
            | "deprecated"
            | "readOnly"
            | "writeOnly"
    ) || key.starts_with("x-")
}
