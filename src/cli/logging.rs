//! Logging for `serve`: a `tracing` subscriber writing pretty or JSON lines to stdout,
//! filtered by `RUST_LOG` (a level and `target=level` pairs) or a quiet default.

use super::args::LogFormat;

/// Installs the global subscriber; call once, before anything logs.
pub fn init(format: LogFormat, verbose: bool) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    // Faults cut responses on purpose; actix reports each as a stream error.
    const DEFAULT: &str = "info,notify=warn,actix_http::h1::dispatcher=off";
    // `--verbose` (WireMock's flag): every request and the route that answered it.
    const VERBOSE: &str = "info,understudy=debug,notify=warn,actix_http::h1::dispatcher=off";
    // `RUST_LOG` takes a level and `target=level` pairs. (A plain target filter keeps the
    // regex engine's full-DFA builder out of the binary, which makes loading routes faster.)
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|spec| match spec.parse::<Targets>() {
            Ok(targets) => Some(targets),
            Err(err) => {
                eprintln!("understudy: ignoring RUST_LOG={spec:?}: {err}");
                None
            }
        })
        .unwrap_or_else(|| {
            let default = if verbose { VERBOSE } else { DEFAULT };
            default.parse().unwrap_or_default()
        });
    let layer = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_writer(std::io::stdout);
    match format {
        LogFormat::Pretty => tracing_subscriber::registry()
            .with(layer.with_target(false).with_filter(filter))
            .init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.json().with_filter(filter))
            .init(),
    }
}
