//! Real WireMock clients drive understudy: the Java client DSL from the WireMock 3.13.2 jar,
//! the PyPI `wiremock` client and the npm `wiremock-captain`, each as a script under
//! `tests/clients/` run against `understudy serve --admin-api wiremock` on an empty scenarios
//! directory and against the real WireMock on an empty root. The same script must pass on
//! both (a script wrong about its client fails on WireMock too); its exit code and its
//! `ok: STEP` lines are checked. Every child process is bounded in time and killed by its PID.
//!
//! Needs the tools of `.ci/wiremock-tools.sh` (`WIREMOCK_JAR`, `WIREMOCK_PYTHON`,
//! `WIREMOCK_NODE_MODULES`); skipped without them unless `UNDERSTUDY_REQUIRE_WIREMOCK=1`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::util::{REQUIRE_WIREMOCK, Scenarios, Server, WireMockRef, wiremock_jar};

/// How long one client script may run (a hang guard; each takes a few seconds).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// `tests/clients/NAME`.
fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

/// The path in environment variable `var` (set by `target/wiremock-tools/env`), or `None`
/// when the test should skip (as [`wiremock_jar`] decides for the whole tool set).
fn tool(var: &str) -> Option<PathBuf> {
    wiremock_jar()?;
    let value = std::env::var_os(var).filter(|v| !v.is_empty());
    let Some(value) = value else {
        panic!(
            "WIREMOCK_JAR is set but {var} is not: source target/wiremock-tools/env \
             (written by .ci/wiremock-tools.sh); {REQUIRE_WIREMOCK} decides skips only for the set"
        );
    };
    let path = PathBuf::from(value);
    assert!(path.exists(), "{var}={} does not exist", path.display());
    Some(path)
}

/// What a finished client process printed.
struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Panics with the whole output unless it exited 0, printed every `ok: STEP` of `steps`
    /// and ended with `ALL OK`.
    fn assert_passed(&self, what: &str, steps: &[&str]) {
        let ctx = format!(
            "{what}: {}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.stdout, self.stderr
        );
        assert!(self.status.success(), "{ctx}");
        let lines: Vec<&str> = self.stdout.lines().collect();
        for step in steps {
            assert!(
                lines.contains(&format!("ok: {step}").as_str()),
                "no `ok: {step}` line; {ctx}"
            );
        }
        assert_eq!(lines.last(), Some(&"ALL OK"), "{ctx}");
    }
}

/// Runs `cmd` to completion within `timeout`, its output in files under `out` (no pipe to
/// fill); on timeout kills it by its PID and panics with what it printed so far.
fn run_bounded(mut cmd: Command, out: &Path, timeout: Duration) -> Run {
    let stdout_path = out.join("stdout.txt");
    let stderr_path = out.join("stderr.txt");
    let stdout = std::fs::File::create(&stdout_path).expect("create stdout file");
    let stderr = std::fs::File::create(&stderr_path).expect("create stderr file");
    cmd.stdin(Stdio::null()).stdout(stdout).stderr(stderr);
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|err| panic!("spawn {shown}: {err}"));
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait().expect("wait for client") {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                // The child we spawned, by its handle (its PID): nothing else.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let read = |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into();
    let (stdout, stderr): (String, String) = (read(&stdout_path), read(&stderr_path));
    match status {
        Some(status) => Run {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{shown} did not finish within {timeout:?}; killed\n--- stdout\n{stdout}\n--- stderr\n{stderr}"
        ),
    }
}

/// `understudy serve --admin-api wiremock` on an empty scenarios directory (return the
/// directory too: it is deleted on drop).
fn understudy_wiremock() -> (Scenarios, Server) {
    let dir = Scenarios::new();
    let server = Server::start_with(dir.path(), &["--admin-api", "wiremock"]);
    (dir, server)
}

/// Runs the client command `make(port)` against the real WireMock (on an empty root)
/// and against understudy, checking `steps` on both; returns both runs (WireMock first).
fn on_both(what: &str, steps: &[&str], make: impl Fn(u16) -> Command) -> Option<(Run, Run)> {
    let root = tempfile::tempdir().expect("temp WireMock root");
    std::fs::create_dir(root.path().join("mappings")).expect("mkdir mappings");
    let wiremock = WireMockRef::start(root.path())?;
    let out = tempfile::tempdir().expect("temp output dir");
    let on_wiremock = run_bounded(make(wiremock.addr.port()), out.path(), SCRIPT_TIMEOUT);
    drop(wiremock);
    on_wiremock.assert_passed(&format!("{what} against WireMock 3.13.2"), steps);

    let (_dir, server) = understudy_wiremock();
    let on_understudy = run_bounded(make(server.addr.port()), out.path(), SCRIPT_TIMEOUT);
    on_understudy.assert_passed(
        &format!("{what} against understudy; its log: {:#?}", server.logs()),
        steps,
    );
    Some((on_wiremock, on_understudy))
}

/// The line of `run`'s stdout that starts with `prefix`.
fn line_of<'a>(run: &'a Run, prefix: &str) -> &'a str {
    run.stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` line in:\n{}", run.stdout))
}

#[test]
fn java_client_dsl_drives_understudy_as_it_drives_wiremock() {
    // Arrange: compile the script against the jar (which holds the client DSL).
    let Some(jar) = wiremock_jar() else { return };
    let classes = tempfile::tempdir().expect("temp classes dir");
    let mut javac = Command::new("javac");
    javac
        .arg("-cp")
        .arg(&jar)
        .arg("-d")
        .arg(classes.path())
        .arg(script("WireMockDsl.java"));
    let compiled = run_bounded(javac, classes.path(), SCRIPT_TIMEOUT);
    assert!(
        compiled.status.success(),
        "javac: {}\n{}",
        compiled.stdout,
        compiled.stderr
    );
    let mut classpath = OsString::from(jar.as_os_str());
    classpath.push(":");
    classpath.push(classes.path());

    // Act
    let steps = [
        "reset",
        "stubFor",
        "call stubs",
        "verify",
        "verify fails as VerificationException",
        "findAll",
        "getAllServeEvents",
        "findUnmatchedRequests, findNearMissesForAllUnmatched",
        "scenarios",
        "metadata, import, removeServeEvents, settings",
        "listAllStubMappings, getSingleStubMapping",
        "editStub",
        "removeStub",
    ];
    let Some((wiremock, understudy)) = on_both("the Java client DSL", &steps, |port| {
        let mut java = Command::new("java");
        java.args(["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp"])
            .arg(&classpath)
            .arg("WireMockDsl")
            .arg(port.to_string());
        java
    }) else {
        return;
    };

    // Assert: a failed `verify` shows the closest request (from `near-misses/request-pattern`)
    // as a diff naming what was expected, on both servers.
    for run in [&wiremock, &understudy] {
        let message = line_of(run, "verification message: ");
        assert!(
            message.contains("No requests exactly matched. Most similar request was:")
                && message.contains(r"expected:<\nGET\n/never\n\nX-Client: dsl\n>")
                && message.contains(r"but was:<\nPOST\n/greet\n"),
            "{message}"
        );
    }
    assert_eq!(
        line_of(&wiremock, "near misses for unmatched: "),
        line_of(&understudy, "near misses for unmatched: ")
    );
}

#[test]
fn python_wiremock_client_drives_understudy_as_it_drives_wiremock() {
    // Arrange
    let Some(python) = tool("WIREMOCK_PYTHON") else {
        return;
    };
    let steps = [
        "reset",
        "create_mapping",
        "call stubs",
        "retrieve_all_mappings, retrieve_mapping",
        "update_mapping",
        "get_all_received_requests, get_request",
        "count, find, unmatched, unmatched near misses",
        "near misses by request and by pattern",
        "scenarios, reset_all_scenarios",
        "update_global_settings",
        "delete_mapping, delete_mapping_by_metadata",
        "persist_mappings, delete_all_mappings, reset_mappings",
        "reset_request_journal",
    ];

    // Act
    let Some((wiremock, understudy)) = on_both("the PyPI wiremock client", &steps, |port| {
        let mut cmd = Command::new(&python);
        cmd.arg(script("wiremock_py.py")).arg(port.to_string());
        cmd
    }) else {
        return;
    };

    // Assert: two calls of this client that WireMock 3 breaks and understudy keeps working:
    // `POST /__admin/requests/reset` (404 on WireMock 3, which dropped it) and
    // `POST /__admin/settings` (an empty body on WireMock, `{}` on understudy).
    assert_eq!(
        line_of(&wiremock, "reset_request_journal: "),
        "reset_request_journal: 404"
    );
    assert_eq!(
        line_of(&understudy, "reset_request_journal: "),
        "reset_request_journal: 200"
    );
    assert_eq!(
        line_of(&wiremock, "update_global_settings: "),
        "update_global_settings: empty answer"
    );
    assert_eq!(
        line_of(&understudy, "update_global_settings: "),
        "update_global_settings: JSON answer"
    );
}

#[test]
fn wiremock_captain_drives_understudy_as_it_drives_wiremock() {
    // Arrange
    let Some(node_modules) = tool("WIREMOCK_NODE_MODULES") else {
        return;
    };
    let steps = [
        "clearAll",
        "register",
        "call stubs",
        "getRequestsForAPI, getAllRequests, getUnmatchedRequests",
        "WireMockAPI",
        "scenarios",
        "delays, faults, templates",
        "findMappingByMetadata, removeMappingByMetadata",
        "getAllMappings, getMapping, deleteMapping",
        "clearAllExceptDefault, clearAll",
    ];

    // Act and assert: the same script passes on both.
    on_both("npm wiremock-captain", &steps, |port| {
        let mut cmd = Command::new("node");
        cmd.env("NODE_PATH", &node_modules)
            .arg(script("wiremock_captain.js"))
            .arg(port.to_string());
        cmd
    });
}
