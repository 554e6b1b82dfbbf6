//! Response templates at load time: every template string is compiled (whatever tag it
//! opens with), in files and through the admin API.

use std::ffi::OsStr;

use serde_json::{Value, json};
use understudy::MockServer;

use crate::util::{
    Scenarios, Server, client, diags_for, fetch, fetch_json, line_col_of, run_cli, stdout_of,
};

/// A scenario whose templated `json` body holds an unclosed comment, as text (so positions
/// can be checked): the comment sits in `routes[0].response.json.note[1]`.
const UNCLOSED_COMMENT_IN_JSON: &str = r#"{
  "routes": [
    {
      "request": { "path": "/note" },
      "response": {
        "status": 200,
        "template": true,
        "json": { "note": ["fine", "{# never closed"] }
      }
    }
  ]
}
"#;

#[test]
fn validate_reports_an_unclosed_comment_in_a_json_body_template() {
    // Arrange
    let dir = Scenarios::new();
    let file = dir.write("note.json", UNCLOSED_COMMENT_IN_JSON);
    let (line, col) = line_col_of(UNCLOSED_COMMENT_IN_JSON, "\"{# never closed\"");

    // Act
    let out = run_cli([OsStr::new("validate"), file.as_os_str()]);

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &file);
    assert_eq!(diags.len(), 1, "{stdout}");
    assert_eq!(diags[0].path, "routes[0].response.json.note[1]", "{stdout}");
    assert_eq!((diags[0].line, diags[0].col), (line, col), "{stdout}");
    assert!(
        diags[0].message.starts_with("template error: ") && diags[0].message.contains("comment"),
        "{stdout}"
    );
}

#[tokio::test]
async fn admin_put_refuses_an_unclosed_comment_in_a_json_body_template() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let doc: Value = serde_json::from_str(UNCLOSED_COMMENT_IN_JSON).expect("JSON");

    // Act
    let (status, body) = fetch_json(
        client()
            .put(server.url("/__admin/scenarios/note"))
            .json(&doc),
    )
    .await;

    // Assert
    assert_eq!(status, 400, "{body:#}");
    let details = body["details"].as_array().expect("details array");
    assert!(
        details
            .iter()
            .any(|d| d["path"] == "routes[0].response.json.note[1]"
                && d["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("template error: "))),
        "{body:#}"
    );
}

#[tokio::test]
async fn a_closed_comment_in_a_json_body_template_is_rendered_away() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "note.json",
        &json!({
            "routes": [ { "request": { "path": "/note" }, "response": {
                "status": 200, "template": true,
                "json": { "note": "kept{# dropped #}" }
            } } ]
        }),
    );
    let server = Server::start(dir.path());

    // Act
    let (status, body) = fetch_json(client().get(server.url("/note"))).await;

    // Assert
    assert_eq!(status, 200, "{body:#}");
    assert_eq!(body, json!({ "note": "kept" }));
}

/// A scenario named `name` whose route `GET path` renders 200 `x`s through a loop.
fn looping(name: &str, path: &str) -> Value {
    json!({
        "name": name,
        "routes": [ { "request": { "path": path }, "response": {
            "status": 200, "template": true,
            "body": "{% for i in range(200) %}x{% endfor %}"
        } } ]
    })
}

/// A server with `fuel` (the default when `None`) serving the loop at `/loop`.
fn loop_server(fuel: Option<u64>) -> MockServer {
    let builder = MockServer::builder().json(looping("at-start", "/loop"));
    let builder = match fuel {
        Some(fuel) => builder.template_fuel(fuel),
        None => builder,
    };
    builder.start().expect("start")
}

/// `GET path` on `server` → status and body.
async fn get_on(server: &MockServer, path: &str) -> (u16, String) {
    fetch(client().get(format!("{}{path}", server.url()))).await
}

/// Whether an answer is the 500 of a template that ran out of fuel.
fn out_of_fuel(answer: &(u16, String)) -> bool {
    answer.0 == 500 && answer.1.contains("fuel")
}

#[tokio::test]
async fn template_fuel_is_per_server_whatever_the_start_order() {
    for starved_first in [true, false] {
        // Arrange: a server with a tiny fuel and one with the default, started in either
        // order; each also gets a scenario put once both run (compiled after the other's
        // start).
        let (starved, fed) = if starved_first {
            let starved = loop_server(Some(10));
            (starved, loop_server(None))
        } else {
            let fed = loop_server(None);
            (loop_server(Some(10)), fed)
        };
        for server in [&starved, &fed] {
            server
                .put_scenario("put-later", looping("put-later", "/later"))
                .expect("put");
        }

        // Act
        let starved_at_start = get_on(&starved, "/loop").await;
        let starved_later = get_on(&starved, "/later").await;
        let fed_at_start = get_on(&fed, "/loop").await;
        let fed_later = get_on(&fed, "/later").await;

        // Assert
        let order = if starved_first {
            "starved first"
        } else {
            "fed first"
        };
        assert!(
            out_of_fuel(&starved_at_start),
            "{order}: {starved_at_start:?}"
        );
        assert!(out_of_fuel(&starved_later), "{order}: {starved_later:?}");
        assert_eq!(fed_at_start, (200, "x".repeat(200)), "{order}");
        assert_eq!(fed_later, (200, "x".repeat(200)), "{order}");
    }
}
