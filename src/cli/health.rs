//! `understudy health`: ask a running server's `/__admin/health` (over http or https, with an
//! admin token when one is set) and exit 0 when it answers 200, 1 otherwise — for container
//! HEALTHCHECKs, which then need no curl in the image.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;

use super::args::HealthArgs;

/// Checks the server `args` name; an unreadable `--cacert` is an error (exit 2).
pub fn run(args: HealthArgs) -> anyhow::Result<ExitCode> {
    check(
        &args.url.unwrap_or_else(default_url),
        args.admin_token.as_deref(),
        Duration::from_secs(args.timeout_secs),
        args.cacert.as_deref(),
        args.insecure,
    )
}

/// `http://127.0.0.1:PORT` for the port `serve` uses by default or through `UNDERSTUDY_BIND`,
/// so a container HEALTHCHECK follows the bind address without a shell.
fn default_url() -> String {
    let port = std::env::var("UNDERSTUDY_BIND")
        .ok()
        .and_then(|b| b.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()))
        .filter(|p| *p != 0)
        .unwrap_or(8080);
    format!("http://127.0.0.1:{port}")
}

fn check(
    url: &str,
    token: Option<&str>,
    timeout: Duration,
    cacert: Option<&Path>,
    insecure: bool,
) -> anyhow::Result<ExitCode> {
    use rustls_pki_types::pem::PemObject as _;
    let endpoint = format!("{}/__admin/health", url.trim_end_matches('/'));
    let mut tls = ureq::tls::TlsConfig::builder().disable_verification(insecure);
    if let Some(path) = cacert {
        let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .with_context(|| format!("cannot read certificates from {}", path.display()))?;
        let certs = certs
            .into_iter()
            .map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned());
        tls = tls.root_certs(ureq::tls::RootCerts::new_with_certs(
            &certs.collect::<Vec<_>>(),
        ));
    }
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .tls_config(tls.build())
        .build()
        .into();
    let mut request = agent.get(&endpoint);
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        request = request.header("Authorization", format!("Bearer {token}"));
    }
    Ok(match request.call() {
        Ok(resp) if resp.status() == 200 => {
            println!("ok: {endpoint}");
            ExitCode::SUCCESS
        }
        Ok(resp) => {
            eprintln!("unhealthy: {endpoint} answered {}", resp.status());
            ExitCode::from(1)
        }
        Err(err) => {
            eprintln!("unhealthy: {endpoint}: {err}");
            ExitCode::from(1)
        }
    })
}
