//! TLS: a self-signed certificate (written out, its fingerprint logged) or one from PEM
//! files, checked with curl; `Expect: 100-continue` and 103 Early Hints over TLS.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, curl, curl_upload, run, text, upload_file};

/// A `serve` child over TLS (its `listening on https://` line parsed), killed on drop.
struct TlsServer(Server);

impl TlsServer {
    /// `serve --bind 127.0.0.1:0 --watch off --scenarios DIR` + `extra`, over TLS.
    fn start(dir: &Path, extra: &[&OsStr]) -> TlsServer {
        let mut cmd = crate::util::serve_command(dir);
        cmd.args(extra);
        TlsServer(Server::spawn(cmd))
    }

    /// Every log line so far.
    fn logs(&self) -> Vec<String> {
        self.0.logs()
    }

    fn port(&self) -> u16 {
        self.0.addr.port()
    }

    /// `https://localhost:PORT` + `path`.
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{}", self.port(), path)
    }

    /// curl for this server: trusts `ca` (when given) and resolves localhost to the listener.
    fn curl(&self, ca: Option<&Path>) -> Command {
        let mut cmd = curl();
        cmd.arg("--resolve")
            .arg(format!("localhost:{}:127.0.0.1", self.port()));
        if let Some(ca) = ca {
            cmd.arg("--cacert").arg(ca);
        }
        cmd
    }
}

/// The first `AA:BB:…` SHA-256 fingerprint (32 colon-separated hex pairs) in `lines`.
fn logged_fingerprint(lines: &[String]) -> Option<String> {
    let re = regex::Regex::new(r"\b[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){31}\b").expect("regex");
    lines
        .iter()
        .find_map(|l| re.find(l).map(|m| m.as_str().to_ascii_uppercase()))
}

/// `openssl x509 -fingerprint -sha256` of a PEM certificate, as `AA:BB:…`.
fn openssl_fingerprint(cert: &Path) -> String {
    let out = run(Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(cert));
    assert!(out.status.success(), "openssl x509: {}", text(&out.stderr));
    let stdout = text(&out.stdout);
    stdout
        .trim()
        .rsplit_once('=')
        .map(|(_, fp)| fp.to_ascii_uppercase())
        .unwrap_or_else(|| panic!("unexpected openssl output {stdout:?}"))
}

/// Whether `openssl` can be run.
fn have_openssl() -> bool {
    Command::new("openssl")
        .arg("version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Scenario `secure`: a plain route, continue and reject Expect routes, and a 103 route.
fn tls_scenario() -> Value {
    json!({
        "name": "secure",
        "routes": [
            { "id": "hello", "request": { "method": "GET", "path": "/hello" },
              "response": { "status": 200, "body": "over tls" } },
            { "id": "up", "request": { "method": "PUT", "path": "/up" },
              "response": { "status": 201, "body": "stored" } },
            { "id": "full", "expect": "reject", "request": { "method": "PUT", "path": "/full" },
              "response": { "status": 413, "body": "quota exceeded" } },
            { "id": "hints", "request": { "method": "GET", "path": "/hints" },
              "response": { "status": 200, "body": "page", "informational": [
                  { "status": 103, "headers": { "Link": "</app.css>; rel=preload" } } ] } }
        ]
    })
}

/// A self-signed TLS server over [`tls_scenario`]; returns the cert path too.
fn self_signed_server() -> (Scenarios, TlsServer, PathBuf) {
    let dir = Scenarios::new();
    dir.write_json("secure.json", &tls_scenario());
    let cert = dir.outside().join("cert.pem");
    let server = TlsServer::start(
        dir.path(),
        &[
            OsStr::new("--tls-self-signed"),
            OsStr::new("--tls-cert-out"),
            cert.as_os_str(),
        ],
    );
    (dir, server, cert)
}

#[test]
fn self_signed_tls_writes_its_cert_logs_https_and_a_fingerprint() {
    // Arrange + Act
    let (_dir, server, cert) = self_signed_server();

    // Assert
    let pem = std::fs::read_to_string(&cert).expect("the certificate PEM was written");
    assert!(pem.contains("-----BEGIN CERTIFICATE-----"), "{pem}");
    let logs = server.logs();
    assert!(
        logs.iter().any(|l| l.contains("listening on https://")),
        "{logs:#?}"
    );
    let fingerprint =
        logged_fingerprint(&logs).unwrap_or_else(|| panic!("no SHA-256 fingerprint in {logs:#?}"));
    if have_openssl() {
        assert_eq!(
            fingerprint,
            openssl_fingerprint(&cert),
            "the logged fingerprint is the written certificate's"
        );
    }
}

#[test]
fn curl_trusting_the_generated_cert_gets_200_and_without_it_fails() {
    // Arrange
    let (_dir, server, cert) = self_signed_server();

    // Act
    let trusted = run(server.curl(Some(&cert)).arg(server.url("/hello")));
    let by_ip = run(server
        .curl(Some(&cert))
        .arg(format!("https://127.0.0.1:{}/hello", server.port())));
    let untrusted = run(server.curl(None).arg(server.url("/hello")));

    // Assert
    for (what, out) in [("localhost", &trusted), ("127.0.0.1", &by_ip)] {
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "{what}: curl failed: {stderr}");
        assert!(stderr.contains("< HTTP/1.1 200 "), "{what}: {stderr}");
        assert_eq!(text(&out.stdout), "over tls", "{what}");
    }
    let stderr = text(&untrusted.stderr);
    assert!(
        !untrusted.status.success(),
        "an untrusted self-signed cert must fail verification: {stderr}"
    );
    assert!(
        stderr.to_ascii_lowercase().contains("certificate"),
        "curl names the certificate problem: {stderr}"
    );
    assert!(untrusted.stdout.is_empty(), "no body without trust");
}

#[test]
fn tls_from_pem_files_serves_with_that_certificate() {
    if !have_openssl() {
        println!("note: openssl not found; skipping the --tls-cert/--tls-key case");
        return;
    }
    // Arrange: a cert + key made by openssl.
    let dir = Scenarios::new();
    dir.write_json("secure.json", &tls_scenario());
    let cert = dir.outside().join("own-cert.pem");
    let key = dir.outside().join("own-key.pem");
    let made = run(Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert));
    assert!(made.status.success(), "openssl req: {}", text(&made.stderr));

    // Act
    let server = TlsServer::start(
        dir.path(),
        &[
            OsStr::new("--tls-cert"),
            cert.as_os_str(),
            OsStr::new("--tls-key"),
            key.as_os_str(),
        ],
    );
    let out = run(server.curl(Some(&cert)).arg(server.url("/hello")));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "curl failed: {stderr}");
    assert_eq!(text(&out.stdout), "over tls");
    let logs = server.logs();
    assert_eq!(
        logged_fingerprint(&logs).as_deref(),
        Some(openssl_fingerprint(&cert).as_str()),
        "the logged fingerprint is the given certificate's: {logs:#?}"
    );
}

#[test]
fn expect_continue_and_reject_work_over_tls() {
    // Arrange
    let (dir, server, cert) = self_signed_server();
    let file = upload_file(dir.outside(), 64 * 1024);

    // Act
    let (ok, ok_body, ok_size) = curl_upload(server.curl(Some(&cert)), &file, &server.url("/up"));
    let (rejected, rej_body, rej_size) =
        curl_upload(server.curl(Some(&cert)), &file, &server.url("/full"));

    // Assert: continue shows the 100 (so the check below can tell), reject does not.
    let ok_err = text(&ok.stderr);
    assert!(ok.status.success(), "{ok_err}");
    assert!(ok_err.contains("< HTTP/1.1 100 Continue"), "{ok_err}");
    assert!(ok_err.contains("< HTTP/1.1 201 "), "{ok_err}");
    assert_eq!(ok_body, "stored");
    assert_eq!(ok_size, 64 * 1024);

    let rej_err = text(&rejected.stderr);
    assert!(rej_err.contains("< HTTP/1.1 413 "), "{rej_err}");
    assert!(
        !rej_err.contains("HTTP/1.1 100"),
        "no 100 on a reject route over TLS: {rej_err}"
    );
    assert_eq!(rej_body, "quota exceeded", "{rej_err}");
    assert!(rej_size < 32 * 1024, "size_upload {rej_size}: {rej_err}");
}

#[test]
fn early_hints_work_over_tls() {
    // Arrange
    let (_dir, server, cert) = self_signed_server();

    // Act
    let out = run(server.curl(Some(&cert)).arg(server.url("/hints")));

    // Assert
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let hints = stderr.find("< HTTP/1.1 103 Early Hints");
    let link = stderr.find("< Link: </app.css>; rel=preload");
    let final_line = stderr.find("< HTTP/1.1 200 ");
    assert!(
        matches!((hints, link, final_line), (Some(a), Some(b), Some(c)) if a < b && b < c),
        "103 with its Link, then 200, expected in: {stderr}"
    );
    assert_eq!(text(&out.stdout), "page");
}
