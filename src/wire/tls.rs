//! TLS: certificates from PEM files or generated self-signed, rustls with the ring provider.
//!
//! ALPN offers `http/1.1` only, so every HTTP/1.1 feature (the `Expect` hook, interim
//! responses, raw upgrades, faults) works over TLS exactly as over plain TCP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::Digest as _;

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// PEM files: a certificate chain and its private key.
    Files {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// A certificate generated at start for `localhost`, `127.0.0.1` and `::1`; its PEM is
    /// written to `out` so clients can trust it.
    SelfSigned {
        /// Where the certificate PEM is written.
        out: PathBuf,
    },
}

/// A ready TLS configuration and what to tell the user about it.
pub struct Tls {
    /// The rustls configuration.
    pub config: ServerConfig,
    /// SHA-256 fingerprint of the leaf certificate, `AA:BB:…`.
    pub fingerprint: String,
    /// The PEM file clients can trust (the generated one, or the one given).
    pub cert_path: PathBuf,
}

/// Errors setting TLS up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A PEM file cannot be read or holds nothing usable.
    #[error("{path}: {message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate: {0}")]
    Generate(String),
    /// rustls refused the certificate or key.
    #[error("TLS configuration: {0}")]
    Config(#[from] rustls::Error),
    /// The generated certificate cannot be written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Builds the TLS configuration for `source`.
pub fn load(source: &TlsSource) -> Result<Tls, TlsError> {
    let (certs, key, cert_path) = match source {
        TlsSource::Files { cert, key } => {
            let pem = |path: &Path, message: String| TlsError::Pem {
                path: path.to_path_buf(),
                message,
            };
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
                .map_err(|err| pem(cert, err.to_string()))?
                .collect::<Result<_, _>>()
                .map_err(|err| pem(cert, err.to_string()))?;
            if certs.is_empty() {
                return Err(pem(
                    cert,
                    "no certificate found (expected PEM \"BEGIN CERTIFICATE\")".into(),
                ));
            }
            let key = PrivateKeyDer::from_pem_file(key).map_err(|err| {
                pem(
                    key,
                    format!("no usable private key (expected PEM \"BEGIN PRIVATE KEY\"): {err}"),
                )
            })?;
            (certs, key, cert.clone())
        }
        TlsSource::SelfSigned { out } => {
            let names = vec![
                "localhost".to_owned(),
                "127.0.0.1".to_owned(),
                "::1".to_owned(),
            ];
            let generated = rcgen::generate_simple_self_signed(names)
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            std::fs::write(out, generated.cert.pem()).map_err(|source| TlsError::Write {
                path: out.clone(),
                source,
            })?;
            let key = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
                .map_err(|e| TlsError::Generate(e.to_string()))?;
            (vec![generated.cert.der().clone()], key, out.clone())
        }
    };
    let fingerprint = sha2::Sha256::digest(certs[0].as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        config,
        fingerprint,
        cert_path,
    })
}

/// Default path of the generated certificate: the system temp directory.
pub fn default_self_signed_path() -> PathBuf {
    std::env::temp_dir().join("understudy-self-signed.pem")
}

/// The TLS crypto of every understudy connection, served and proxied: rustls with *ring*
/// (pure Rust and assembly, no C toolchain for the static image). rustls 0.23.48 deprecates
/// *ring*'s provider for its lack of post-quantum key exchange, which a local test double
/// does not need.
#[allow(deprecated)]
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}
