//! curl as a second, independent client: its own `Expect: 100-continue` handling and
//! certificate checks, shown in its `-v` trace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::text;

/// A `curl` command with no proxy and no inherited CA settings.
pub fn curl() -> Command {
    let mut cmd = Command::new("curl");
    for var in [
        "CURL_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
        "CURL_HOME",
    ] {
        cmd.env_remove(var);
    }
    // `-q` first: ignore any ~/.curlrc.
    cmd.args(["-q", "-sS", "-v", "--http1.1", "--noproxy", "*"]);
    cmd
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null()).output().expect("run command")
}

/// Writes a `len`-byte upload file into `dir`.
pub fn upload_file(dir: &Path, len: usize) -> PathBuf {
    let path = dir.join("upload.bin");
    let bytes: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
    std::fs::write(&path, bytes).expect("write upload file");
    path
}

/// `curl -T file -H 'Expect: 100-continue' URL`, printing `size_upload` after the body.
pub fn curl_upload(mut cmd: Command, file: &Path, url: &str) -> (Output, String, u64) {
    cmd.args(["-H", "Expect: 100-continue", "-T"])
        .arg(file)
        .args(["-w", "\n%{size_upload}"])
        .arg(url);
    let out = run(&mut cmd);
    let stdout = text(&out.stdout);
    let (body, size) = stdout.rsplit_once('\n').unwrap_or(("", stdout.as_str()));
    let size = size
        .trim()
        .parse::<f64>()
        .unwrap_or_else(|err| panic!("size_upload {size:?} ({err}); stdout {stdout:?}"));
    (out, body.to_owned(), size as u64)
}
