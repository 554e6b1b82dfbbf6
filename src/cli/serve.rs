//! `understudy serve` (and a bare `understudy`) and `understudy record` (the same server,
//! recording from the start): set up logging, raise the open files limit,
//! start the server, and stop it gracefully on SIGTERM, SIGINT or SIGQUIT.

use std::process::ExitCode;

use anyhow::Context as _;
use understudy::server;

use super::args::{RecordArgs, ServeArgs};
use super::logging;

/// Serves until a stop signal; an error that keeps the server from starting is returned.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    logging::init(args.log_format, args.wiremock.verbose);
    let config = args.to_config();
    serve(config, &args)
}

/// `understudy record`: serves, recording from the start, until a stop signal.
pub fn record(args: RecordArgs) -> anyhow::Result<ExitCode> {
    logging::init(args.serve.log_format, args.serve.wiremock.verbose);
    let config = args.to_config();
    serve(config, &args.serve)
}

fn serve(config: server::ServeConfig, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    raise_open_files_limit(args.limits.max_connections);
    actix_rt::System::new().block_on(async move {
        let mut config = config;
        if let Some(store) = args.state_store() {
            match server::StateStore::connect(&store).await {
                Ok(connected) => config.state_store = Some(connected),
                Err(err) => {
                    tracing::error!("{err}");
                    eprintln!("understudy: {err}");
                    return Ok(ExitCode::from(1));
                }
            }
        }
        let running = server::start(config)?;
        let handle = running.server.handle();
        actix_rt::spawn(async move {
            let signal = stop_signal().await;
            tracing::info!("{signal} received; stopping (open requests get up to 1 s)");
            // Graceful: no new connections, in-flight requests finish within the shutdown
            // timeout, then whatever is still open (delays, held connections) is dropped.
            handle.stop(true).await;
        });
        running
            .server
            .await
            .context("server stopped with an error")?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Raises the soft limit on open files to the hard limit (each connection is a file; many
/// systems start processes with a soft limit of 1024), and warns when even that is below
/// `--max-connections`.
fn raise_open_files_limit(max_connections: usize) {
    match rlimit::increase_nofile_limit(u64::MAX) {
        // Some descriptors go to the listener, the watcher, logs and scenario files.
        Ok(limit) if limit < max_connections as u64 + 64 => tracing::warn!(
            "the open files limit ({limit}) is below --max-connections ({max_connections}) \
             plus a margin; connections beyond it are refused: raise it with `ulimit -n`"
        ),
        Ok(limit) => tracing::debug!("open files limit: {limit}"),
        Err(err) => tracing::warn!("cannot raise the open files limit: {err}"),
    }
}

/// The first of SIGTERM (`docker stop`), SIGINT (Ctrl-C) or SIGQUIT.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use actix_rt::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int), Ok(mut quit)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::quit()),
        ) else {
            std::future::pending::<()>().await;
            unreachable!("a pending future never completes")
        };
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = quit.recv() => "SIGQUIT",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = actix_rt::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
