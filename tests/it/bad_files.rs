//! The corpus of bad scenario files in `tests/bad_scenarios/` (one mistake per file, named
//! after it). `validate` must report each one as `FILE:LINE:COL: at JSON.PATH: message`
//! (snapshots in `snapshots/`, each diagnostic shown under the source line it points at, so
//! a wrong position is visible in review), and `serve` must report each one and still serve
//! the good files beside them.
//!
//! Cases git cannot hold portably are made at run time: a symlink that leads out of the
//! scenarios directory, a file over the size limit, a file with too many routes.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::json;

use crate::util::{
    Scenarios, Server, admin_post, get, logged_diags, one_route, parse_diag, scenario_list,
    understudy,
};

/// The committed corpus.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bad_scenarios");

/// Files of the corpus that load, with warnings only (states are free-form, see
/// `docs/scenario-format.md`).
const WARN_ONLY: &[&str] = &["set_state_typo", "when_state_never_entered"];

/// Files of the corpus that need the run-time setup of [`setup_symlink`].
const NEEDS_SYMLINK: &[&str] = &["file_symlink_outside"];

macro_rules! corpus {
    ($($name:ident),* $(,)?) => {
        /// Every corpus file, by name without `.json`.
        const NAMES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                check_corpus_file(stringify!($name));
            }
        )*
    };
}

corpus! {
    after_last_without_responses,
    base64_invalid,
    body_on_103,
    body_on_204,
    body_on_304,
    bom_then_bad_status,
    chunks_size_zero,
    conflicting_body_keys_body_and_json,
    conflicting_body_keys_file_and_base64,
    delay_min_greater_than_max,
    duplicate_key_in_response,
    duplicate_route_ids,
    duplicate_route_ids_default_index,
    empty_file,
    fault_with_chunks,
    file_absolute_path,
    file_dotdot_escape,
    file_dotdot_inside_then_out,
    file_is_a_directory,
    file_missing,
    file_symlink_outside,
    header_connection_invalid,
    header_content_length_set,
    header_name_with_colon,
    header_name_with_crlf,
    header_name_with_space,
    header_value_crlf_in_array,
    header_value_with_crlf,
    header_value_with_nul,
    informational_header_value_crlf,
    informational_status_200,
    name_empty,
    not_an_object_array_root,
    not_an_object_string_root,
    not_utf8_latin1,
    reason_with_crlf,
    regex_atomic_group,
    regex_backreference,
    regex_invalid_in_query,
    regex_invalid_in_websocket_match,
    regex_lookahead,
    regex_lookbehind,
    regex_nest_limit,
    regex_size_limit,
    regex_unclosed_group,
    regex_unescaped_star_in_header,
    repeat_outside_script,
    repeat_zero,
    request_header_name_invalid,
    response_and_responses,
    responses_empty,
    route_without_response,
    routes_missing,
    set_state_typo,
    status_0,
    status_101_without_websocket_or_upgrade,
    status_600,
    status_70000,
    status_99,
    status_float,
    status_missing,
    status_negative,
    status_string_200,
    syntax_bad_escape_in_header_value,
    syntax_comment,
    syntax_missing_colon_in_route,
    syntax_missing_comma_top_level,
    syntax_nan_priority,
    syntax_number_leading_zero,
    syntax_raw_newline_in_string,
    syntax_single_quotes,
    syntax_trailing_comma_in_routes,
    syntax_trailing_garbage,
    syntax_unclosed_object_in_json_matcher,
    syntax_unclosed_string_in_request,
    syntax_unquoted_key_in_websocket_action,
    template_syntax_error,
    truncated_after_key,
    truncated_body_fault_without_body,
    truncated_mid_write,
    type_after_last_unknown_value,
    type_base64_number,
    type_body_matcher_object,
    type_chunks_number,
    type_delay_negative,
    type_delay_string,
    type_description_array,
    type_expect_unknown_value,
    type_fault_unknown_value,
    type_file_array,
    type_header_matcher_number,
    type_id_number,
    type_informational_object,
    type_initial_state_number,
    type_method_array,
    type_name_number,
    type_priority_float,
    type_priority_string,
    type_query_array,
    type_reason_number,
    type_repeat_negative,
    type_request_string,
    type_response_array,
    type_response_body_object,
    type_response_header_number,
    type_responses_object,
    type_route_string,
    type_routes_object,
    type_set_state_array,
    type_template_string,
    type_upgrade_string,
    type_websocket_string,
    type_when_state_array_of_numbers,
    type_when_state_number,
    unknown_key_no_close_match,
    unknown_key_request_typo,
    unknown_key_response_typo,
    unknown_key_route_typo,
    unknown_key_snake_case,
    unknown_key_top_level_typo,
    unknown_key_websocket_action,
    upgrade_protocol_invalid,
    websocket_action_two_kinds,
    websocket_and_upgrade,
    websocket_close_code_reserved,
    websocket_on_status_200,
    when_state_empty,
    when_state_never_entered,
    whitespace_only,
}

/// Makes `link-to-outside.txt` in `dir`: a symlink to a secret file outside of `dir`.
#[cfg(unix)]
fn setup_symlink(dir: &Scenarios) {
    let secret = dir.outside().join("secret.txt");
    std::fs::write(&secret, "top secret").expect("write secret");
    std::os::unix::fs::symlink(&secret, dir.path().join("link-to-outside.txt"))
        .expect("create symlink");
}

#[cfg(not(unix))]
fn setup_symlink(_dir: &Scenarios) {}

/// Runs `understudy validate FILE` with `cwd` as working directory.
fn validate_in(cwd: &Path, file: &str, extra: &[&str]) -> Output {
    understudy()
        .current_dir(cwd)
        .arg("validate")
        .args(extra)
        .arg(file)
        .output()
        .expect("run understudy validate")
}

/// The snapshot text of one `validate` run: exit code, every stdout line followed by the
/// source line it points at with a caret under the column, then stderr. Machine-specific
/// paths (`tmp`) are replaced by `[TMP]`.
fn render(command: &str, out: &Output, source: &str, tmp: Option<&Path>) -> String {
    let normalize = |text: &str| match tmp {
        Some(tmp) => {
            let canonical = tmp.canonicalize().unwrap_or_else(|_| tmp.to_path_buf());
            text.replace(&canonical.display().to_string(), "[TMP]")
                .replace(&tmp.display().to_string(), "[TMP]")
        }
        None => text.to_owned(),
    };
    let stdout = normalize(&String::from_utf8_lossy(&out.stdout));
    let stderr = normalize(&String::from_utf8_lossy(&out.stderr));
    let source = source.trim_start_matches('\u{feff}');
    let mut text = format!("$ {command}\nexit code: {:?}\n", out.status.code());
    for line in stdout.lines() {
        text.push_str(line);
        text.push('\n');
        if let Some(d) = parse_diag(line)
            && let Some(src) = source.lines().nth(d.line - 1)
            && d.col <= 100
        {
            let shown: String = src.chars().take(100).collect();
            text.push_str(&format!("  {:>3} | {shown}\n", d.line));
            text.push_str(&format!("      | {}^\n", " ".repeat(d.col - 1)));
        }
    }
    text.push_str("--- stderr\n");
    text.push_str(&stderr);
    text
}

/// Asserts the shape every report must have: at least one line, each line
/// `FILE:LINE:COL: at PATH: message` naming `file`; exit 1 (0 for warnings only).
fn assert_reported(name: &str, file: &str, out: &Output) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(!lines.is_empty(), "{name}: no diagnostic at all");
    for line in &lines {
        let d = parse_diag(line)
            .unwrap_or_else(|| panic!("{name}: not FILE:LINE:COL: at PATH: message: {line:?}"));
        assert_eq!(d.file, file, "{name}: {line}");
        assert!(d.line >= 1 && d.col >= 1, "{name}: {line}");
    }
    let warn_only = lines.iter().all(|l| l.contains(": warning: "));
    let expected = if WARN_ONLY.contains(&name) { 0 } else { 1 };
    assert_eq!(
        warn_only,
        WARN_ONLY.contains(&name),
        "{name}: warning-only output is for WARN_ONLY files: {stdout}"
    );
    assert_eq!(out.status.code(), Some(expected), "{name}: {stdout}");
}

fn check_corpus_file(name: &str) {
    let file = format!("{name}.json");
    let source_bytes = std::fs::read(Path::new(CORPUS).join(&file)).expect("read corpus file");
    let source = String::from_utf8_lossy(&source_bytes).into_owned();
    let (out, tmp) = if NEEDS_SYMLINK.contains(&name) {
        if cfg!(not(unix)) {
            return;
        }
        let dir = Scenarios::new();
        dir.write_bytes(&file, &source_bytes);
        setup_symlink(&dir);
        (validate_in(dir.path(), &file, &[]), Some(dir))
    } else {
        (validate_in(Path::new(CORPUS), &file, &[]), None)
    };
    assert_reported(name, &file, &out);
    let text = render(
        &format!("understudy validate {file}"),
        &out,
        &source,
        tmp.as_ref().map(Scenarios::outside),
    );
    insta::assert_snapshot!(name, text);
}

#[test]
fn every_corpus_file_has_a_test_and_a_snapshot() {
    let mut on_disk: Vec<String> = std::fs::read_dir(CORPUS)
        .expect("read corpus")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = NAMES.iter().map(|n| (*n).to_owned()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "corpus files and the corpus! list differ");
    assert!(
        listed.len() >= 60,
        "the corpus holds {} files",
        listed.len()
    );

    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots");
    for entry in std::fs::read_dir(snapshots).expect("read snapshots") {
        let file = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        let Some(name) = file
            .strip_prefix("it__bad_files__")
            .and_then(|f| f.strip_suffix(".snap"))
        else {
            continue;
        };
        assert!(
            listed.iter().any(|n| n == name) || GENERATED.contains(&name),
            "snapshot {file} has no corpus file; delete it"
        );
    }
}

/// Snapshots of the cases made at run time.
const GENERATED: &[&str] = &["generated_huge_file", "generated_too_many_routes"];

/// A scenario with `n` routes `GET /r{i}`.
fn many_routes(n: usize) -> String {
    let routes: Vec<_> = (0..n)
        .map(|i| json!({ "request": { "path": format!("/r{i}") }, "response": { "status": 200 } }))
        .collect();
    serde_json::to_string(&json!({ "routes": routes })).expect("JSON")
}

/// A valid scenario padded with spaces to `len` bytes.
fn padded(len: usize) -> String {
    let mut text = serde_json::to_string(&one_route("/big", "big")).expect("JSON");
    text.push_str(&" ".repeat(len.saturating_sub(text.len())));
    text
}

#[test]
fn a_file_over_the_default_size_limit_is_refused_without_being_parsed() {
    // Arrange: 16 MiB and one byte (the default limit is 16 MiB).
    let dir = Scenarios::new();
    dir.write("huge.json", &padded(16 * 1024 * 1024 + 1));

    // Act
    let out = validate_in(dir.path(), "huge.json", &[]);

    // Assert
    assert_reported("generated_huge_file", "huge.json", &out);
    let text = render("understudy validate huge.json", &out, "", None);
    insta::assert_snapshot!("generated_huge_file", text);
}

#[test]
fn a_file_over_the_default_route_limit_is_refused() {
    // Arrange: 10 001 routes (the default limit is 10 000).
    let dir = Scenarios::new();
    let text = many_routes(10_001);
    dir.write("many.json", &text);

    // Act
    let out = validate_in(dir.path(), "many.json", &[]);

    // Assert
    assert_reported("generated_too_many_routes", "many.json", &out);
    let shown = render("understudy validate many.json", &out, "", None);
    insta::assert_snapshot!("generated_too_many_routes", shown);
}

#[tokio::test]
async fn limit_flags_and_env_twins_change_the_limits_for_serve_and_validate() {
    // Arrange: a 3-route file and a ~2 KB file, both fine under the defaults.
    let dir = Scenarios::new();
    let three = dir.write("three.json", &many_routes(3));
    let big = dir.write("big.json", &padded(2048));
    dir.write_json("small.json", &one_route("/small", "small"));

    // Act
    let flags = validate_in(
        dir.path(),
        ".",
        &[
            "--max-routes-per-file",
            "2",
            "--max-scenario-file-bytes",
            "1000",
        ],
    );
    let defaults = validate_in(dir.path(), ".", &[]);
    let mut cmd = crate::util::serve_command(dir.path());
    cmd.env("UNDERSTUDY_MAX_ROUTES_PER_FILE", "2")
        .env("UNDERSTUDY_MAX_SCENARIO_FILE_BYTES", "1000");
    let server = Server::spawn(cmd);
    let small = get(server.url("/small")).await;
    let r0 = get(server.url("/r0")).await;
    let big_answer = get(server.url("/big")).await;
    let health = server.health().await;

    // Assert
    let stdout = String::from_utf8_lossy(&flags.stdout);
    assert_eq!(flags.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(
            "three.json:1:11: at routes: this file has 3 routes; a file may hold at most 2"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "big.json:1:1: at $: the file is 2048 bytes; scenario files are limited to 1000 bytes"
        ),
        "{stdout}"
    );
    assert_eq!(
        defaults.status.code(),
        Some(0),
        "defaults accept both files"
    );
    assert_eq!(small, (200, "small".to_owned()), "the good file serves");
    assert_eq!(r0.0, 404, "the file over the route limit does not load");
    assert_eq!(
        big_answer.0, 404,
        "the file over the size limit does not load"
    );
    assert_eq!(health["errors"], 2, "{health}");
    let logs = server.logs();
    for file in [&three, &big] {
        assert!(
            logs.iter()
                .any(|l| l.contains(&format!("{}:1:", file.display()))),
            "serve logs {}: {logs:#?}",
            file.display()
        );
    }
}

/// A good scenario served beside the corpus, with a regex that would backtrack
/// catastrophically in a backtracking engine.
fn good_scenario() -> serde_json::Value {
    json!({
        "name": "good",
        "routes": [
            { "id": "hello", "request": { "method": "GET", "path": "/good" },
              "response": { "status": 200, "body": "still serving" } },
            { "id": "redos", "request": { "method": "GET", "path": "/(x+x+)+y" },
              "response": { "status": 200, "body": "matched" } }
        ]
    })
}

/// Copies the whole corpus into `dir` (with the run-time symlink).
fn copy_corpus(dir: &Scenarios) -> Vec<PathBuf> {
    let mut copied = Vec::new();
    for name in NAMES {
        let file = format!("{name}.json");
        let bytes = std::fs::read(Path::new(CORPUS).join(&file)).expect("read corpus file");
        copied.push(dir.write_bytes(&file, &bytes));
    }
    setup_symlink(dir);
    copied
}

#[tokio::test]
async fn serve_reports_every_bad_file_and_serves_the_good_one() {
    // Arrange
    let dir = Scenarios::new();
    let files = copy_corpus(&dir);
    dir.write_json("good.json", &good_scenario());

    // Act
    let server = Server::start(dir.path());
    let good = get(server.url("/good")).await;
    let adversarial = get(server.url(&format!("/{}", "x".repeat(64)))).await;
    let health = server.health().await;
    let listed = scenario_list(&server).await;

    // Assert: the good file answers, the adversarial path is simply unmatched.
    assert_eq!(good, (200, "still serving".to_owned()));
    assert_eq!(adversarial.0, 404, "{adversarial:?}");
    let bad = files.len() - WARN_ONLY.len();
    assert_eq!(health["errors"], bad, "{health}");
    // Assert: one log line per problem, FILE:LINE:COL: at PATH, for every file.
    let logs = server.logs();
    for file in &files {
        let shown = file.display().to_string();
        let logged = logged_diags(&logs, file).iter().any(|d| d.file == shown);
        assert!(logged, "serve did not log {shown}: {logs:#?}");
    }
    // Assert: the listing marks exactly the bad files as errors.
    let errors: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter(|s| s["status"] == "error")
        .filter_map(|s| s["file"].as_str())
        .collect();
    assert_eq!(errors.len(), bad, "{listed}");
}

#[tokio::test]
async fn a_file_body_swapped_for_an_outside_symlink_is_refused_at_reload() {
    // Arrange: a file body inside the directory, served.
    let dir = Scenarios::new();
    dir.write("bodies/greeting.txt", "hello from inside");
    let scenario = |path: &str| {
        json!({ "routes": [ { "request": { "path": path },
            "response": { "status": 200, "file": "bodies/greeting.txt" } } ] })
    };
    let file = dir.write_json("body.json", &scenario("/greeting"));
    std::fs::write(dir.outside().join("secret.txt"), "top secret").expect("write secret");
    let server = Server::start(dir.path());
    assert_eq!(
        get(server.url("/greeting")).await,
        (200, "hello from inside".to_owned())
    );

    // Act: the body becomes a symlink to a file outside, and the scenario file changes.
    std::fs::remove_file(dir.path().join("bodies/greeting.txt")).expect("remove body");
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        dir.outside().join("secret.txt"),
        dir.path().join("bodies/greeting.txt"),
    )
    .expect("symlink");
    dir.write_json("body.json", &scenario("/greeting-v2"));
    let (status, report) = admin_post(&server, "reload").await;
    let old = get(server.url("/greeting")).await;
    let new = get(server.url("/greeting-v2")).await;

    // Assert: the new version is refused, the last good version (read from inside) serves.
    assert_eq!(status, 200, "{report}");
    if cfg!(unix) {
        assert_eq!(old, (200, "hello from inside".to_owned()));
        assert_eq!(new.0, 404, "{new:?}");
        assert!(!new.1.contains("top secret"));
        let listed = scenario_list(&server).await;
        let entry = listed
            .as_array()
            .and_then(|a| a.iter().find(|s| s["name"] == "body"))
            .cloned()
            .expect("body listed");
        assert_eq!(entry["status"], "error", "{entry}");
        let message = entry["errors"].to_string();
        assert!(
            message.contains(&format!("{}:", file.display()))
                && message.contains("routes[0].response.file")
                && message.contains("symbolic link"),
            "{entry}"
        );
    }
}
