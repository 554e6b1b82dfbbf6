//! `file` response bodies stay inside the scenarios directory: `..` escapes, absolute paths
//! and symlinks leading out are load errors; links and `..` that stay inside are served.

use std::path::Path;

use serde_json::json;

use crate::util::{Scenarios, Server, answering, get, logged_diag, one_route};

/// A scenario whose only route `GET path` answers with `file`.
fn serving_file(path: &str, file: &str) -> serde_json::Value {
    answering(path, json!({ "status": 200, "file": file }))
}

const FILE_PATH: &str = "routes[0].response.file";

/// Asserts that the server logged a diagnostic for `file` at [`FILE_PATH`].
fn assert_logged_file_problem(server: &Server, file: &Path) {
    assert!(
        logged_diag(&server.logs(), file, FILE_PATH).is_some(),
        "expected a diagnostic for {} at {FILE_PATH} in {:#?}",
        file.display(),
        server.logs()
    );
}

#[tokio::test]
async fn file_escaping_with_dotdot_is_a_load_error() {
    // Arrange: the target exists, but outside the scenarios directory.
    let dir = Scenarios::new();
    std::fs::write(dir.outside().join("secret.txt"), "top secret").expect("write outside file");
    let bad = dir.write_json("escape.json", &serving_file("/escape", "../secret.txt"));
    dir.write_json("good.json", &one_route("/good", "still here"));

    // Act
    let server = Server::start(dir.path());
    let escape = get(server.url("/escape")).await;
    let good = get(server.url("/good")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(escape.0, 404, "the escaping file must not load");
    assert!(!escape.1.contains("top secret"));
    assert_eq!(
        good,
        (200, "still here".to_owned()),
        "the other file still serves"
    );
    assert_logged_file_problem(&server, &bad);
    assert_eq!(health["errors"], 1);
}

#[tokio::test]
async fn absolute_file_path_is_a_load_error() {
    // Arrange: an absolute path to a file that is even inside the scenarios directory.
    let dir = Scenarios::new();
    let inside = dir.write("body.txt", "inside");
    let absolute = inside.canonicalize().expect("canonical path");
    let bad = dir.write_json(
        "absolute.json",
        &serving_file("/abs", absolute.to_str().expect("utf-8 path")),
    );
    dir.write_json("good.json", &one_route("/good", "still here"));

    // Act
    let server = Server::start(dir.path());
    let abs = get(server.url("/abs")).await;
    let good = get(server.url("/good")).await;

    // Assert
    assert_eq!(
        abs.0, 404,
        "a scenario with an absolute `file` must not load"
    );
    assert_eq!(good, (200, "still here".to_owned()));
    assert_logged_file_problem(&server, &bad);
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_pointing_outside_the_scenarios_dir_is_a_load_error() {
    // Arrange
    let dir = Scenarios::new();
    let target = dir.outside().join("outside.txt");
    std::fs::write(&target, "outside data").expect("write outside file");
    std::os::unix::fs::symlink(&target, dir.path().join("link.txt")).expect("symlink");
    let bad = dir.write_json("linked.json", &serving_file("/linked", "link.txt"));
    dir.write_json("good.json", &one_route("/good", "still here"));

    // Act
    let server = Server::start(dir.path());
    let linked = get(server.url("/linked")).await;
    let good = get(server.url("/good")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(
        linked.0, 404,
        "a symlink leading outside must not be served"
    );
    assert!(!linked.1.contains("outside data"));
    assert_eq!(good, (200, "still here".to_owned()));
    assert_logged_file_problem(&server, &bad);
    assert_eq!(health["errors"], 1);
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_staying_inside_the_scenarios_dir_is_served() {
    // Arrange
    let dir = Scenarios::new();
    let target = dir.write("data/real.txt", "real data");
    std::fs::create_dir_all(dir.path().join("api")).expect("mkdir");
    std::os::unix::fs::symlink(&target, dir.path().join("api/alias.body")).expect("symlink");
    std::os::unix::fs::symlink(
        "../data/real.txt",
        dir.path().join("api/relative-alias.txt"),
    )
    .expect("relative symlink");
    dir.write_json(
        "api/routes.json",
        &json!({
            "routes": [
                { "request": { "path": "/alias" }, "response": { "status": 200, "file": "alias.body" } },
                { "request": { "path": "/relative" }, "response": { "status": 200, "file": "relative-alias.txt" } },
                { "request": { "path": "/up-and-back" }, "response": { "status": 200, "file": "../data/real.txt" } }
            ]
        }),
    );

    // Act
    let server = Server::start(dir.path());
    let alias = get(server.url("/alias")).await;
    let relative = get(server.url("/relative")).await;
    let up_and_back = get(server.url("/up-and-back")).await;
    let health = server.health().await;

    // Assert
    assert_eq!(
        alias,
        (200, "real data".to_owned()),
        "absolute link target inside the dir"
    );
    assert_eq!(
        relative,
        (200, "real data".to_owned()),
        "relative link target inside the dir"
    );
    assert_eq!(
        up_and_back,
        (200, "real data".to_owned()),
        "`..` that stays inside is fine"
    );
    assert_eq!(
        health["errors"],
        0,
        "nothing failed to load: {:#?}",
        server.logs()
    );
}
