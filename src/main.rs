//! The `understudy` command line: `serve` (the default), `validate`, `schema`, `health`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use understudy::journal::JournalLimits;
use understudy::scenario::load::{self, FileOutcome, Limits, load_dir, load_file};
use understudy::watch::WatchMode;
use understudy::wire::limits;
use understudy::wire::tls::TlsSource;
use understudy::{ServeConfig, server};

/// An HTTP test double that answers from JSON scenario files.
#[derive(Parser)]
#[command(
    name = "understudy",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Serve the scenarios directory (what a bare `understudy` does).
    Serve(ServeArgs),
    /// Check scenario files or directories; exit 1 and print one line per problem.
    Validate {
        /// Files or directories to check.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        limits: FileLimitArgs,
    },
    /// Print the JSON Schema (draft 2020-12) of a scenario file.
    Schema,
    /// Exit 0 when the server at URL answers its health endpoint.
    Health {
        /// Base URL of the server (default: http://127.0.0.1:PORT, with the port of
        /// UNDERSTUDY_BIND when set, else 8080).
        #[arg(long, env = "UNDERSTUDY_HEALTH_URL")]
        url: Option<String>,
        /// Admin token, when the server requires one.
        #[arg(long, env = "UNDERSTUDY_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: Option<String>,
        /// Seconds to wait for the answer.
        #[arg(long, default_value_t = 5)]
        timeout_secs: u64,
        /// For https: trust this CA or self-signed certificate (PEM), e.g. `--tls-cert-out`'s.
        #[arg(long)]
        cacert: Option<PathBuf>,
        /// For https: do not verify the server's certificate.
        #[arg(long)]
        insecure: bool,
    },
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Scenarios directory.
    #[arg(long, env = "UNDERSTUDY_SCENARIOS", default_value = "./scenarios")]
    scenarios: PathBuf,
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "UNDERSTUDY_BIND", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    bind: SocketAddr,
    /// How scenario file changes are noticed.
    #[arg(long, env = "UNDERSTUDY_WATCH", value_enum, default_value_t = Watch::Auto)]
    watch: Watch,
    /// Poll interval for `--watch poll`.
    #[arg(long, env = "UNDERSTUDY_POLL_INTERVAL_MS", default_value_t = 500)]
    poll_interval_ms: u64,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "UNDERSTUDY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "UNDERSTUDY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve TLS with a generated self-signed certificate.
    #[arg(
        long,
        env = "UNDERSTUDY_TLS_SELF_SIGNED",
        conflicts_with = "tls_cert",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    tls_self_signed: bool,
    /// Where `--tls-self-signed` writes its certificate (PEM), for clients to trust.
    #[arg(long, env = "UNDERSTUDY_TLS_CERT_OUT", default_value_os_t = understudy::wire::tls::default_self_signed_path())]
    tls_cert_out: PathBuf,
    /// Bearer token the admin API requires.
    #[arg(long, env = "UNDERSTUDY_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: Option<String>,
    /// Most requests the journal keeps (oldest go first; `evicted` counts them).
    #[arg(long, env = "UNDERSTUDY_JOURNAL_SIZE", default_value_t = 1000)]
    journal_size: usize,
    /// Most bytes the journal keeps, bodies and heads counted.
    #[arg(long, env = "UNDERSTUDY_JOURNAL_MAX_BYTES", default_value_t = JournalLimits::default().max_bytes)]
    journal_max_bytes: usize,
    /// Most body bytes kept per journal entry (longer bodies are cut, `bodyTruncated`).
    #[arg(long, env = "UNDERSTUDY_JOURNAL_BODY_BYTES", default_value_t = JournalLimits::default().max_body_bytes)]
    journal_body_bytes: usize,
    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "UNDERSTUDY_MAX_BODY_BYTES", default_value_t = server::DEFAULT_MAX_BODY_BYTES)]
    max_body_bytes: usize,
    /// Log format.
    #[arg(long, env = "UNDERSTUDY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    log_format: LogFormat,
    #[command(flatten)]
    file_limits: FileLimitArgs,
    #[command(flatten)]
    limits: ClientLimitArgs,
}

/// Bounds on each scenario file (shared by `serve` and `validate`, so both agree).
#[derive(Args, Clone)]
struct FileLimitArgs {
    /// Largest scenario file loaded, in bytes (a larger file is an error and is not read).
    #[arg(long, env = "UNDERSTUDY_MAX_SCENARIO_FILE_BYTES", default_value_t = load::DEFAULT_MAX_SCENARIO_FILE_BYTES)]
    max_scenario_file_bytes: u64,
    /// Most routes one scenario file may hold.
    #[arg(long, env = "UNDERSTUDY_MAX_ROUTES_PER_FILE", default_value_t = load::DEFAULT_MAX_ROUTES_PER_FILE)]
    max_routes_per_file: usize,
}

impl FileLimitArgs {
    fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.max_scenario_file_bytes,
            max_routes: self.max_routes_per_file,
            ..Limits::default()
        }
    }
}

/// Limits on clients and their requests (docs/cli.md, "Limits").
#[derive(Args, Clone)]
struct ClientLimitArgs {
    /// Milliseconds a client has to send each request head (then 408 and close; 0: no limit).
    #[arg(long, env = "UNDERSTUDY_HEADER_TIMEOUT_MS", default_value_t = limits::DEFAULT_HEADER_TIMEOUT.as_millis() as u64)]
    header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body once its head arrived (then
    /// 408 and close; 0: no limit).
    #[arg(long, env = "UNDERSTUDY_BODY_TIMEOUT_MS", default_value_t = server::DEFAULT_BODY_TIMEOUT.as_millis() as u64)]
    body_timeout_ms: u64,
    /// Most open connections; more wait in the listen backlog until one closes.
    #[arg(long, env = "UNDERSTUDY_MAX_CONNECTIONS", default_value_t = limits::DEFAULT_MAX_CONNECTIONS, value_parser = at_least_one)]
    max_connections: usize,
    /// Most bytes of request header fields (more gets 431).
    #[arg(long, env = "UNDERSTUDY_MAX_HEADER_BYTES", default_value_t = limits::DEFAULT_MAX_HEADER_BYTES, value_parser = header_bytes)]
    max_header_bytes: usize,
    /// Longest request target (path and query) in bytes (longer gets 414).
    #[arg(long, env = "UNDERSTUDY_MAX_URI_BYTES", default_value_t = limits::DEFAULT_MAX_URI_BYTES, value_parser = uri_bytes)]
    max_uri_bytes: usize,
    /// Largest WebSocket message from a client, in bytes (larger closes with 1009).
    #[arg(long, env = "UNDERSTUDY_WS_MAX_MESSAGE_BYTES", default_value_t = understudy::http::upgrade::DEFAULT_MAX_MESSAGE, value_parser = at_least_one)]
    ws_max_message_bytes: usize,
    /// Fuel per template render: a template that runs out fails with a 500.
    #[arg(long, env = "UNDERSTUDY_TEMPLATE_FUEL", default_value_t = understudy::scenario::template::FUEL, value_parser = clap::value_parser!(u64).range(1..))]
    template_fuel: u64,
    /// Worker threads, one event loop each (default: the CPUs available to this process).
    #[arg(long, env = "UNDERSTUDY_WORKERS", value_parser = at_least_one)]
    workers: Option<usize>,
}

fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(err) => Err(err.to_string()),
    }
}

fn at_most(text: &str, max: usize, why: &str) -> Result<usize, String> {
    let n = at_least_one(text)?;
    if n > max {
        return Err(format!("must be at most {max} ({why})"));
    }
    Ok(n)
}

fn header_bytes(text: &str) -> Result<usize, String> {
    at_most(
        text,
        limits::PARSER_MAX_HEAD,
        "the HTTP parser refuses larger heads with 431",
    )
}

fn uri_bytes(text: &str) -> Result<usize, String> {
    at_most(
        text,
        limits::PARSER_MAX_URI,
        "the HTTP parser refuses longer targets with 400",
    )
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Watch {
    Auto,
    Native,
    Poll,
    Off,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Pretty,
    Json,
}

/// `HOST:PORT` with HOST an IP address or a name such as `localhost` (first address wins).
fn parse_bind(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs as _;
    if let Ok(addr) = text.parse() {
        return Ok(addr);
    }
    text.to_socket_addrs()
        .map_err(|err| format!("expected HOST:PORT, e.g. 127.0.0.1:8080 ({err})"))?
        .next()
        .ok_or_else(|| format!("{text} resolves to no address"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        None => serve(cli.serve),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Validate { paths, limits }) => Ok(validate(&paths, &limits.limits())),
        Some(Command::Schema) => {
            print!("{}", understudy::scenario::json_schema());
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Health {
            url,
            admin_token,
            timeout_secs,
            cacert,
            insecure,
        }) => health(
            &url.unwrap_or_else(default_health_url),
            admin_token.as_deref(),
            Duration::from_secs(timeout_secs),
            cacert.as_deref(),
            insecure,
        ),
    };
    result.unwrap_or_else(|err| {
        eprintln!("understudy: {err:#}");
        ExitCode::from(2)
    })
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    // Faults cut responses on purpose; actix reports each as a stream error.
    const DEFAULT: &str = "info,notify=warn,actix_http::h1::dispatcher=off";
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
        .unwrap_or_else(|| DEFAULT.parse().unwrap_or_default());
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

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    init_logging(args.log_format);
    let mut config = ServeConfig::new(&args.scenarios);
    config.bind = args.bind;
    config.max_body_bytes = args.max_body_bytes;
    config.admin_token = args.admin_token.filter(|t| !t.is_empty());
    config.scenario_limits = args.file_limits.limits();
    // understudy handles SIGTERM/SIGINT itself: actix-server's own handling adds a fixed pause
    // before stopping, and a container should stop within about a second.
    config.handle_signals = false;
    config.tls = match (args.tls_cert, args.tls_key, args.tls_self_signed) {
        (Some(cert), Some(key), _) => Some(TlsSource::Files { cert, key }),
        (_, _, true) => Some(TlsSource::SelfSigned {
            out: args.tls_cert_out,
        }),
        _ => None,
    };
    config.poll_interval = Duration::from_millis(args.poll_interval_ms.max(10));
    config.watch = match args.watch {
        Watch::Auto => WatchMode::Auto,
        Watch::Native => WatchMode::Native,
        Watch::Poll => WatchMode::Poll(Duration::from_millis(args.poll_interval_ms.max(10))),
        Watch::Off => WatchMode::Off,
    };
    config.journal = JournalLimits {
        max_entries: args.journal_size,
        max_bytes: args.journal_max_bytes,
        max_body_bytes: args.journal_body_bytes,
    };
    apply_limits(&mut config, &args.limits);
    actix_rt::System::new().block_on(async move {
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

/// Applies `--header-timeout-ms`, `--max-connections` and the other client limits, and raises
/// the open files limit so the connection limit can be reached.
fn apply_limits(config: &mut ServeConfig, args: &ClientLimitArgs) {
    let listener = &mut config.listener;
    listener.header_timeout = Duration::from_millis(args.header_timeout_ms);
    listener.max_connections = args.max_connections;
    config.body_timeout = Duration::from_millis(args.body_timeout_ms);
    listener.head.max_header_bytes = args.max_header_bytes;
    listener.head.max_uri_bytes = args.max_uri_bytes;
    listener.ws_max_message_bytes = args.ws_max_message_bytes;
    if let Some(workers) = args.workers {
        listener.workers = workers;
    }
    config.template_fuel = args.template_fuel;
    raise_open_files_limit(args.max_connections);
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

fn validate(paths: &[PathBuf], limits: &Limits) -> ExitCode {
    let mut files = 0;
    let mut problems = 0;
    let mut warnings = 0;
    for path in paths {
        let outcomes = match validate_path(path, limits) {
            Ok(o) => o,
            Err(err) => {
                println!("{}: at $: {err}", path.display());
                problems += 1;
                continue;
            }
        };
        for outcome in outcomes {
            files += 1;
            let diags = match outcome.result {
                Ok(scenario) => {
                    warnings += scenario.warnings.len();
                    scenario.warnings
                }
                Err(diags) => {
                    problems += diags.len();
                    diags
                }
            };
            for d in diags {
                println!("{d}");
            }
        }
    }
    let warned = match warnings {
        0 => String::new(),
        n => format!(" ({n} warning(s))"),
    };
    if problems == 0 {
        eprintln!("{files} scenario file(s) valid{warned}");
        ExitCode::SUCCESS
    } else {
        eprintln!("{problems} problem(s){warned} in {files} scenario file(s) checked");
        ExitCode::from(1)
    }
}

fn validate_path(path: &Path, limits: &Limits) -> std::io::Result<Vec<FileOutcome>> {
    if path.is_dir() {
        return load_dir(path, limits);
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let canonical = parent.canonicalize()?;
    let name = path.file_name().map(PathBuf::from).unwrap_or_default();
    let _ = std::fs::metadata(path)?;
    Ok(vec![load_file(&parent, &canonical, &name, limits)])
}

/// `http://127.0.0.1:PORT` for the port `serve` uses by default or through `UNDERSTUDY_BIND`,
/// so a container HEALTHCHECK follows the bind address without a shell.
fn default_health_url() -> String {
    let port = std::env::var("UNDERSTUDY_BIND")
        .ok()
        .and_then(|b| b.rsplit_once(':').and_then(|(_, p)| p.parse::<u16>().ok()))
        .filter(|p| *p != 0)
        .unwrap_or(8080);
    format!("http://127.0.0.1:{port}")
}

fn health(
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
