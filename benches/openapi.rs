//! Loading an OpenAPI spec: a generated 3.0 document of 1.6 MB (pretty JSON; 1 MB as YAML) (400 resources, 1,600
//! operations, a `$ref` cycle and an `allOf` per schema, an example per `POST`) compiled as
//! `serve` compiles it at start (parse, `$ref`s, schema conversion, routes, example checks),
//! as JSON and as YAML; and answering its default `GET`.
//!
//! `cargo bench --bench openapi`; the start-up of the whole server is in docs/openapi.md.

use std::hint::black_box;
use std::path::Path;

use actix_http::header::HeaderMap;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use understudy::internals::scenario::compiled::Answers;
use understudy::internals::scenario::ctx::Origin;
use understudy::internals::scenario::load::compile_source;
use understudy::internals::scenario::openapi::OasRequest;

/// The generated spec: `resources` resources of four operations each.
pub fn big_spec(resources: usize) -> Value {
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    for i in 0..resources {
        let item = format!("#/components/schemas/Item{i}");
        schemas.insert(format!("Item{i}"), json!({
            "type": "object", "required": ["id", "name"],
            "properties": {
                "id": {"type": "integer", "minimum": 1},
                "name": {"type": "string", "maxLength": 50},
                "created": {"type": "string", "format": "date-time"},
                "owner": {"type": "string", "format": "email"},
                "status": {"type": "string", "enum": ["active", "inactive", "pending"]},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 5},
                "parent": {"$ref": item},
                "meta": {"allOf": [{"$ref": "#/components/schemas/Meta"},
                                   {"type": "object", "properties": {"n": {"type": "integer"}}}]},
                "description": {"type": "string",
                    "description": "A long description of the field, repeated. ".repeat(3)}
            }
        }));
        paths.insert(format!("/r{i}/items"), json!({
            "get": {"operationId": format!("list{i}"),
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": item}}}}},
                    "400": {"description": "bad", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}}},
            "post": {"operationId": format!("create{i}"),
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": item}}}},
                "responses": {"201": {"description": "created", "content": {"application/json": {
                    "schema": {"$ref": item}, "example": {"id": 1, "name": "x"}}}}}}
        }));
        paths.insert(format!("/r{i}/items/{{id}}"), json!({
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "get": {"operationId": format!("get{i}"), "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": item}}}},
                "404": {"description": "no"}}},
            "delete": {"operationId": format!("del{i}"), "responses": {"204": {"description": "gone"}}}
        }));
    }
    schemas.insert(
        "Meta".into(),
        json!({"type": "object", "properties": {"k": {"type": "string"}}}),
    );
    schemas.insert("Error".into(), json!({"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}));
    json!({"openapi": "3.0.3", "info": {"title": "Big", "version": "1"},
           "paths": paths, "components": {"schemas": schemas}})
}

fn compile(name: &str, text: &str) -> understudy::internals::scenario::CompiledScenario {
    let display = Path::new(name);
    let origin = Origin {
        display,
        source: text,
        root: None,
        dir: Path::new("."),
        default_name: "big".into(),
        relative: None,
        limits: Default::default(),
    };
    compile_source(&origin).unwrap_or_else(|d| panic!("the bench spec does not load: {d:?}"))
}

fn bench(c: &mut Criterion) {
    let spec = big_spec(400);
    let json_text = serde_json::to_string_pretty(&spec).unwrap_or_default();
    let yaml_text = serde_yaml_ng::to_string(&spec).unwrap_or_default();
    eprintln!(
        "spec: {} bytes as JSON, {} bytes as YAML",
        json_text.len(),
        yaml_text.len()
    );
    c.bench_function("openapi/load 1.6 MB JSON spec", |b| {
        b.iter(|| black_box(compile("big.openapi.json", &json_text)))
    });
    c.bench_function("openapi/load 1 MB YAML spec", |b| {
        b.iter(|| black_box(compile("big.openapi.yaml", &yaml_text)))
    });
    let scenario = compile("big.openapi.json", &json_text);
    let route = scenario
        .routes
        .iter()
        .find(|r| r.id() == "get7")
        .unwrap_or_else(|| panic!("no route get7"));
    let Answers::One(answer) = &route.answers else {
        panic!("one answer")
    };
    let operation = answer
        .openapi
        .clone()
        .unwrap_or_else(|| panic!("an operation"));
    let headers = HeaderMap::new();
    c.bench_function(
        "openapi/answer GET /r7/items/{id} (validated, generated body)",
        |b| {
            b.iter(|| {
                black_box(operation.answer(&OasRequest {
                    path: "/r7/items/42",
                    query: &[],
                    headers: &headers,
                    body: b"",
                }))
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
