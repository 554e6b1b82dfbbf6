//! Custom reason phrases: each distinct one is kept for the life of the process, up to a cap;
//! past it a new phrase gets the default one, with a load warning.

use std::ffi::OsStr;

use serde_json::json;
use understudy::internals::scenario::MAX_REASON_PHRASES as CAP;

use crate::util::{Scenarios, Server, diags_for, run_cli, stdout_of};

#[test]
fn reason_phrases_past_the_cap_get_the_default_phrase_and_a_warning() {
    // Arrange: one file with one more distinct phrase than the process keeps.
    let dir = Scenarios::new();
    let routes: Vec<_> = (0..=CAP)
        .map(|i| {
            json!({ "request": { "path": format!("/r{i}") },
                    "response": { "status": 200, "reason": format!("Phrase {i}") } })
        })
        .collect();
    let file = dir.write_json("reasons.json", &json!({ "routes": routes }));

    // Act
    let out = run_cli([OsStr::new("validate"), file.as_os_str()]);
    let server = Server::start(dir.path());
    let first = server.raw("GET /r0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let last = server.raw(&format!(
        "GET /r{CAP} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    ));

    // Assert
    assert_eq!(CAP, 1024, "the number docs/scenario-format.md states");
    let stdout = stdout_of(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a warning, not an error: {stdout}"
    );
    let diags = diags_for(&stdout, &file);
    assert_eq!(diags.len(), 1, "{stdout}");
    assert_eq!(diags[0].path, format!("routes[{CAP}].response.reason"));
    assert!(
        diags[0].message.starts_with("warning: ") && diags[0].message.contains(&CAP.to_string()),
        "{stdout}"
    );
    assert_eq!(first.status_line, "HTTP/1.1 200 Phrase 0");
    assert_eq!(last.status_line, "HTTP/1.1 200 OK");
}
