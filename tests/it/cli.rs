//! The command line: `validate` (exit codes, positions, several paths), `schema`, `health`,
//! `serve` flags and their `UNDERSTUDY_*` environment twins, and the default bind address.

use std::ffi::OsStr;
use std::net::TcpListener;

use serde_json::{Value, json};

use crate::util::{
    Scenarios, Server, client, diags_for, fetch, get, line_col_of, logged_diags, one_route,
    parse_diag, run_cli, stdout_of, understudy, validate,
};

#[test]
fn validate_accepts_a_good_directory_and_a_single_good_file() {
    // Arrange
    let dir = Scenarios::new();
    let file = dir.write_json("a.json", &one_route("/a", "a"));
    dir.write_json("nested/b.json", &one_route("/b", "b"));

    // Act
    let on_dir = validate(dir.path());
    let on_file = validate(&file);

    // Assert
    assert_eq!(
        on_dir.status.code(),
        Some(0),
        "stdout: {}",
        stdout_of(&on_dir)
    );
    assert_eq!(
        stdout_of(&on_dir).trim(),
        "",
        "no problem lines for a valid directory"
    );
    assert_eq!(
        on_file.status.code(),
        Some(0),
        "stdout: {}",
        stdout_of(&on_file)
    );
    assert_eq!(stdout_of(&on_file).trim(), "");
}

#[test]
fn validate_reports_a_bad_status_at_its_exact_position() {
    // Arrange
    let dir = Scenarios::new();
    let text = "{\n  \"name\": \"bad\",\n  \"routes\": [\n    {\n      \"request\": { \"path\": \"/x\" },\n      \"response\": {\n        \"status\": 1000\n      }\n    }\n  ]\n}\n";
    let file = dir.write("bad.json", text);
    let (line, col) = line_col_of(text, "1000");

    // Act
    let out = validate(dir.path());

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty());
    for l in &lines {
        assert!(
            parse_diag(l).is_some(),
            "line does not match FILE:LINE:COL: at PATH: message: {l:?}"
        );
    }
    let diags = diags_for(&stdout, &file);
    let status = diags
        .iter()
        .find(|d| d.path == "routes[0].response.status")
        .unwrap_or_else(|| panic!("no diagnostic at routes[0].response.status: {stdout}"));
    assert_eq!((status.line, status.col), (line, col), "{stdout}");
    assert!(
        status.message.contains("1000"),
        "the message quotes the bad value: {}",
        status.message
    );
}

#[test]
fn validate_reports_a_json_syntax_error_with_its_position() {
    // Arrange: the stray `]` sits on line 3.
    let dir = Scenarios::new();
    let text = "{\n  \"routes\": [\n  ]]\n}\n";
    let file = dir.write("syntax.json", text);

    // Act
    let out = validate(&file);

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let diags = diags_for(&stdout, &file);
    assert_eq!(diags.len(), 1, "one problem line: {stdout}");
    assert_eq!(diags[0].line, line_col_of(text, "]]").0, "{stdout}");
}

#[test]
fn validate_checks_several_paths_at_once() {
    // Arrange
    let good = Scenarios::new();
    good.write_json("ok.json", &one_route("/ok", "ok"));
    let bad = Scenarios::new();
    let bad_regex = bad.write_json(
        "regex.json",
        &json!({ "routes": [ { "request": { "path": "/(unclosed" }, "response": { "status": 200 } } ] }),
    );
    let bad_body = bad.write_json(
        "nocontent.json",
        &json!({ "routes": [ { "request": { "path": "/n" }, "response": { "status": 204, "body": "not allowed" } } ] }),
    );

    // Act
    let out = run_cli([
        OsStr::new("validate"),
        good.path().as_os_str(),
        bad_regex.as_os_str(),
        bad_body.as_os_str(),
    ]);
    let good_only = run_cli([
        OsStr::new("validate"),
        good.path().as_os_str(),
        good.path().join("ok.json").as_os_str(),
    ]);

    // Assert
    let stdout = stdout_of(&out);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}");
    let regex_diags = diags_for(&stdout, &bad_regex);
    assert!(
        regex_diags
            .iter()
            .any(|d| d.path == "routes[0].request.path"),
        "{stdout}"
    );
    let body_diags = diags_for(&stdout, &bad_body);
    assert!(
        body_diags
            .iter()
            .any(|d| d.path.starts_with("routes[0].response")),
        "{stdout}"
    );
    assert!(
        !stdout.contains(&good.path().display().to_string()),
        "the good directory has no problem lines: {stdout}"
    );
    assert_eq!(
        good_only.status.code(),
        Some(0),
        "stdout: {}",
        stdout_of(&good_only)
    );
}

#[test]
fn validate_fails_for_a_missing_path() {
    // Arrange
    let dir = Scenarios::new();
    let missing = dir.path().join("does-not-exist.json");

    // Act
    let out = validate(&missing);

    // Assert
    assert_eq!(out.status.code(), Some(1), "stdout: {}", stdout_of(&out));
    assert!(stdout_of(&out).contains(&missing.display().to_string()));
}

#[test]
fn schema_prints_a_draft_2020_12_json_schema() {
    // Arrange
    let args = ["schema"];

    // Act
    let out = run_cli(args);

    // Assert
    assert_eq!(out.status.code(), Some(0));
    let schema: Value = serde_json::from_slice(&out.stdout).expect("schema is valid JSON");
    let dialect = schema["$schema"].as_str().expect("$schema is a string");
    assert!(dialect.contains("2020-12"), "got {dialect:?}");
    assert!(
        schema.pointer("/properties/routes").is_some(),
        "a scenario schema describes `routes`: {schema:#}"
    );
}

#[test]
fn health_command_exits_0_against_a_running_server_and_1_against_a_closed_port() {
    // Arrange
    let dir = Scenarios::new();
    let server = Server::start(dir.path());
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr")
    };

    // Act
    let up = run_cli(["health", "--url", &server.base()]);
    let down = run_cli(["health", "--url", &format!("http://{closed}")]);

    // Assert
    assert_eq!(
        up.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&up.stderr)
    );
    assert_eq!(
        down.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&down.stderr)
    );
}

#[tokio::test]
async fn max_body_bytes_answers_413_above_the_limit() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json(
        "upload.json",
        &json!({ "routes": [ { "request": { "method": "POST", "path": "/upload" }, "response": { "status": 202, "body": "accepted" } } ] }),
    );
    let server = Server::start_with(dir.path(), &["--max-body-bytes", "10"]);
    let http = client();

    // Act
    let at_limit = fetch(http.post(server.url("/upload")).body("0123456789")).await;
    let over_limit = fetch(http.post(server.url("/upload")).body("0123456789A")).await;
    let chunked_over_limit = server.raw(
        "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n6\r\n012345\r\n5\r\n6789A\r\n0\r\n\r\n",
    );

    // Assert
    assert_eq!(at_limit, (202, "accepted".to_owned()));
    assert_eq!(over_limit.0, 413);
    assert!(
        chunked_over_limit.status_line.starts_with("HTTP/1.1 413 "),
        "a chunked body over the limit: {}",
        chunked_over_limit.status_line
    );
}

#[tokio::test]
async fn env_twins_configure_serve_like_flags() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("env.json", &one_route("/env", "from env"));
    let mut cmd = understudy();
    cmd.arg("serve")
        .env("UNDERSTUDY_BIND", "127.0.0.1:0")
        .env("UNDERSTUDY_SCENARIOS", dir.path())
        .env("UNDERSTUDY_WATCH", "off")
        .env("UNDERSTUDY_ADMIN_TOKEN", "env-token");

    // Act
    let server = Server::spawn(cmd);
    let route = get(server.url("/env")).await;
    let admin_without = fetch(client().get(server.url("/__admin/health"))).await;
    let admin_with = fetch(
        client()
            .get(server.url("/__admin/health"))
            .bearer_auth("env-token"),
    )
    .await;

    // Assert
    assert_eq!(
        route,
        (200, "from env".to_owned()),
        "UNDERSTUDY_SCENARIOS was used"
    );
    assert_eq!(admin_without.0, 401, "UNDERSTUDY_ADMIN_TOKEN was used");
    assert_eq!(admin_with.0, 200);
}

#[tokio::test]
async fn bare_understudy_with_flags_serves() {
    // Arrange
    let dir = Scenarios::new();
    dir.write_json("bare.json", &one_route("/bare", "bare serve"));
    let mut cmd = understudy();
    cmd.args(["--bind", "127.0.0.1:0", "--watch", "off", "--scenarios"])
        .arg(dir.path());

    // Act
    let server = Server::spawn(cmd);
    let bare = get(server.url("/bare")).await;

    // Assert
    assert_eq!(bare, (200, "bare serve".to_owned()));
}

#[test]
fn serve_logs_one_diagnostic_line_per_problem_in_a_bad_file() {
    // Arrange: two problems in one file.
    let dir = Scenarios::new();
    let file = dir.write_json(
        "two-problems.json",
        &json!({ "routes": [
            { "request": { "path": "/(" }, "response": { "status": 200 } },
            { "request": { "path": "/y" }, "response": { "status": 42 } }
        ] }),
    );

    // Act
    let server = Server::start(dir.path());
    let validated_out = validate(dir.path());

    // Assert
    let logged = logged_diags(&server.logs(), &file);
    let mut logged_paths: Vec<_> = logged.iter().map(|d| d.path.clone()).collect();
    logged_paths.sort();
    assert_eq!(
        logged_paths,
        vec!["routes[0].request.path", "routes[1].response.status"]
    );
    let validated = diags_for(&stdout_of(&validated_out), &file);
    assert_eq!(
        validated, logged,
        "serve and validate report the same problems"
    );
}

#[test]
fn serve_binds_loopback_by_default() {
    // Arrange: no UNDERSTUDY_BIND (run_cli clears UNDERSTUDY_* variables).

    // Act
    let help = run_cli(["serve", "--help"]);

    // Assert: outside a container only this machine can reach a bare `understudy`
    // (docs/security.md); the Docker image sets 0.0.0.0:8080 itself.
    let text = stdout_of(&help);
    let bind = text
        .lines()
        .skip_while(|l| !l.contains("--bind"))
        .take(3)
        .collect::<String>();
    assert!(
        bind.contains("[default: 127.0.0.1:8080]"),
        "serve --help, --bind: {bind}"
    );
}
