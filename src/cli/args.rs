//! The command line as clap sees it: subcommands, flags, their env twins, defaults and help
//! texts, and the parsers that check a flag's value. Nothing here acts on them: `config.rs`
//! turns the `serve` flags into a [`ServeConfig`](understudy::ServeConfig), and each
//! subcommand's module runs it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use understudy::JournalLimits;
use understudy::server;

/// An HTTP test double that answers from JSON scenario files.
#[derive(Parser)]
#[command(
    name = "understudy",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

// Parsed once at start: the size of the `serve` variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum Command {
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
    /// OpenAPI documents: `openapi import SPEC` prints the spec's routes as a scenario file.
    Openapi {
        #[command(subcommand)]
        command: OpenapiCommand,
    },
    /// Exit 0 when the server at URL answers its health endpoint.
    Health(HealthArgs),
    /// Serve the scenarios directory and record what a real server answers into a scenario
    /// file: the requests no route matches (on-miss) or every request (always).
    Record(RecordArgs),
}

#[derive(Args)]
pub struct RecordArgs {
    /// The real server requests are sent to (http://host:port[/path] or https://…).
    #[arg(long, env = "UNDERSTUDY_RECORD_TARGET")]
    pub target: String,
    /// The scenario file written (created or merged into; served as it is written).
    #[arg(long, env = "UNDERSTUDY_RECORD_INTO")]
    pub into: PathBuf,
    /// Which requests go to the target: those no route matches, or every one.
    #[arg(long, env = "UNDERSTUDY_RECORD_MODE", default_value = "on-miss", value_parser = parse_mode)]
    pub mode: server::RecordMode,
    /// What tells recorded requests apart: a list of method, path, query, header:NAME, body
    /// (default: method, path and query, plus the body for methods that carry one).
    #[arg(long = "match", env = "UNDERSTUDY_RECORD_MATCH", value_parser = parse_match_key)]
    pub match_key: Option<server::MatchKey>,
    /// Write the upstream's observed latency as each answer's delayMs.
    #[arg(long, env = "UNDERSTUDY_RECORD_KEEP_LATENCY")]
    pub keep_latency: bool,
    #[command(flatten)]
    pub serve: ServeArgs,
}

fn parse_mode(text: &str) -> Result<server::RecordMode, String> {
    text.parse()
}

fn parse_match_key(text: &str) -> Result<server::MatchKey, String> {
    text.parse()
}

#[derive(Subcommand)]
pub enum OpenapiCommand {
    /// Print SPEC's routes as an editable native scenario file (examples inlined), e.g.
    /// `understudy openapi import api.yaml > scenarios/api.json`.
    Import {
        /// The OpenAPI 3.0 or 3.1 document (YAML or JSON).
        spec: PathBuf,
    },
}

#[derive(Args)]
pub struct HealthArgs {
    /// Base URL of the server (default: http://127.0.0.1:PORT, with the port of
    /// UNDERSTUDY_BIND when set, else 8080).
    #[arg(long, env = "UNDERSTUDY_HEALTH_URL")]
    pub url: Option<String>,
    /// Admin token, when the server requires one.
    #[arg(long, env = "UNDERSTUDY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 5)]
    pub timeout_secs: u64,
    /// For https: trust this CA or self-signed certificate (PEM), e.g. `--tls-cert-out`'s.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// For https: do not verify the server's certificate.
    #[arg(long)]
    pub insecure: bool,
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Scenarios directory.
    #[arg(long, env = "UNDERSTUDY_SCENARIOS", default_value = "./scenarios")]
    pub scenarios: PathBuf,
    /// Address and port to listen on (port 0 picks a free one).
    #[arg(long, env = "UNDERSTUDY_BIND", default_value = "127.0.0.1:8080", value_parser = parse_bind)]
    pub bind: SocketAddr,
    /// How scenario file changes are noticed.
    #[arg(long, env = "UNDERSTUDY_WATCH", value_enum, default_value_t = Watch::Auto)]
    pub watch: Watch,
    /// Poll interval for `--watch poll`.
    #[arg(long, env = "UNDERSTUDY_POLL_INTERVAL_MS", default_value_t = 500)]
    pub poll_interval_ms: u64,
    /// TLS certificate chain (PEM).
    #[arg(long, env = "UNDERSTUDY_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "UNDERSTUDY_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve TLS with a generated self-signed certificate.
    #[arg(
        long,
        env = "UNDERSTUDY_TLS_SELF_SIGNED",
        conflicts_with = "tls_cert",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub tls_self_signed: bool,
    /// Where `--tls-self-signed` writes its certificate (PEM), for clients to trust.
    #[arg(long, env = "UNDERSTUDY_TLS_CERT_OUT", default_value_os_t = server::default_self_signed_path())]
    pub tls_cert_out: PathBuf,
    /// HTTP/2 beside HTTP/1.1 on the same port: with prior knowledge (h2c) in cleartext, through
    /// ALPN (`h2`, then `http/1.1`) over TLS. `off` keeps the server HTTP/1.1-only.
    #[arg(long, env = "UNDERSTUDY_HTTP2", value_enum, default_value_t = OnOff::On)]
    pub http2: OnOff,
    /// Bearer token the admin API requires.
    #[arg(long, env = "UNDERSTUDY_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
    /// What /__admin/ speaks: understudy's native admin API or WireMock's (default: native,
    /// or wiremock when the scenarios directory has a `mappings/` directory at its top).
    /// /__understudy/admin/ is always the native API.
    #[arg(long, env = "UNDERSTUDY_ADMIN_API", value_enum)]
    pub admin_api: Option<AdminApiArg>,
    /// Most requests the journal keeps (oldest go first; `evicted` counts them).
    #[arg(long, env = "UNDERSTUDY_JOURNAL_SIZE", default_value_t = 1000)]
    pub journal_size: usize,
    /// Most bytes the journal keeps, bodies and heads counted.
    #[arg(long, env = "UNDERSTUDY_JOURNAL_MAX_BYTES", default_value_t = JournalLimits::default().max_bytes)]
    pub journal_max_bytes: usize,
    /// Most body bytes kept per journal entry (longer bodies are cut, `bodyTruncated`).
    #[arg(long, env = "UNDERSTUDY_JOURNAL_BODY_BYTES", default_value_t = JournalLimits::default().max_body_bytes)]
    pub journal_body_bytes: usize,
    /// Largest request body accepted, in bytes (larger gets 413).
    #[arg(long, env = "UNDERSTUDY_MAX_BODY_BYTES", default_value_t = server::DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Log format.
    #[arg(long, env = "UNDERSTUDY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,
    /// Trust this CA (PEM) for https upstreams (proxy answers and recording), besides the
    /// system's trust store.
    #[arg(long, env = "UNDERSTUDY_PROXY_CA")]
    pub proxy_ca: Option<PathBuf>,
    /// Serve this OpenAPI 3.0/3.1 document (YAML or JSON) beside the scenarios, hot-reloaded
    /// like them; scenario routes win over its operations. Repeatable; the env variable takes
    /// a comma-separated list.
    #[arg(
        long = "openapi",
        env = "UNDERSTUDY_OPENAPI",
        value_delimiter = ',',
        value_name = "SPEC"
    )]
    pub openapi: Vec<PathBuf>,
    /// Validate requests to OpenAPI operations against the spec (422 with every problem).
    #[arg(long, env = "UNDERSTUDY_OPENAPI_VALIDATE", value_enum, default_value_t = OnOff::On)]
    pub openapi_validate: OnOff,
    /// Keep scenario states, sequence positions and the journal in Redis
    /// (`redis://HOST:PORT[/DB]`), shared by every replica that uses it (docs/replicas.md).
    #[arg(long, env = "UNDERSTUDY_STATE_STORE", value_parser = parse_state_store)]
    pub state_store: Option<String>,
    /// Prefix of every key in the state store, so several deployments can share one Redis.
    #[arg(long, env = "UNDERSTUDY_STATE_PREFIX", default_value = server::DEFAULT_STATE_PREFIX)]
    pub state_prefix: String,
    /// Longest wait for the state store per call, in milliseconds (then stateful routes
    /// answer 503).
    #[arg(long, env = "UNDERSTUDY_STATE_TIMEOUT_MS", default_value_t = server::DEFAULT_STATE_TIMEOUT.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..))]
    pub state_timeout_ms: u64,
    #[command(flatten)]
    pub file_limits: FileLimitArgs,
    #[command(flatten)]
    pub limits: ClientLimitArgs,
    #[command(flatten)]
    pub wiremock: WireMockArgs,
}

/// WireMock's common flags, so a script or an image that starts WireMock starts understudy
/// unchanged (docs/wiremock.md, "The Docker image").
#[derive(Args, Clone, Default)]
#[command(next_help_heading = "WireMock's flags")]
pub struct WireMockArgs {
    /// Listen on 0.0.0.0:PORT (WireMock's --port; overrides --bind).
    #[arg(long)]
    pub port: Option<u16>,
    /// The address --port listens on (WireMock's --bind-address; default 0.0.0.0).
    #[arg(long)]
    pub bind_address: Option<std::net::IpAddr>,
    /// Serve this WireMock root (mappings/, __files/) with WireMock's admin API (WireMock's
    /// --root-dir; overrides --scenarios).
    #[arg(long)]
    pub root_dir: Option<PathBuf>,
    /// Render every WireMock stub's response as a template.
    #[arg(long)]
    pub global_response_templating: bool,
    /// Log every request and its answer.
    #[arg(long)]
    pub verbose: bool,
    /// Accepted for WireMock's command line; understudy prints no banner.
    #[arg(long)]
    pub disable_banner: bool,
    /// Keep no requests in the journal (a journal of size 0).
    #[arg(long)]
    pub no_request_journal: bool,
    /// Most requests the journal keeps (WireMock's name for --journal-size).
    #[arg(long)]
    pub max_request_journal_entries: Option<usize>,
}

/// Bounds on each scenario file (shared by `serve` and `validate`, so both agree).
#[derive(Args, Clone)]
pub struct FileLimitArgs {
    /// Largest scenario file loaded, in bytes (a larger file is an error and is not read).
    #[arg(long, env = "UNDERSTUDY_MAX_SCENARIO_FILE_BYTES", default_value_t = server::DEFAULT_MAX_SCENARIO_FILE_BYTES)]
    pub max_scenario_file_bytes: u64,
    /// Most routes one scenario file may hold.
    #[arg(long, env = "UNDERSTUDY_MAX_ROUTES_PER_FILE", default_value_t = server::DEFAULT_MAX_ROUTES_PER_FILE)]
    pub max_routes_per_file: usize,
}

/// Limits on clients and their requests (docs/cli.md, "Limits").
#[derive(Args, Clone)]
pub struct ClientLimitArgs {
    /// Milliseconds a client has to send each request head (then 408 and close; 0: no limit).
    #[arg(long, env = "UNDERSTUDY_HEADER_TIMEOUT_MS", default_value_t = server::DEFAULT_HEADER_TIMEOUT.as_millis() as u64)]
    pub header_timeout_ms: u64,
    /// Milliseconds a client has to send a request's whole body once its head arrived (then
    /// 408 and close; 0: no limit).
    #[arg(long, env = "UNDERSTUDY_BODY_TIMEOUT_MS", default_value_t = server::DEFAULT_BODY_TIMEOUT.as_millis() as u64)]
    pub body_timeout_ms: u64,
    /// Most open connections; more wait in the listen backlog until one closes.
    #[arg(long, env = "UNDERSTUDY_MAX_CONNECTIONS", default_value_t = server::DEFAULT_MAX_CONNECTIONS, value_parser = at_least_one)]
    pub max_connections: usize,
    /// Most bytes of request header fields (more gets 431).
    #[arg(long, env = "UNDERSTUDY_MAX_HEADER_BYTES", default_value_t = server::DEFAULT_MAX_HEADER_BYTES, value_parser = header_bytes)]
    pub max_header_bytes: usize,
    /// Longest request target (path and query) in bytes (longer gets 414).
    #[arg(long, env = "UNDERSTUDY_MAX_URI_BYTES", default_value_t = server::DEFAULT_MAX_URI_BYTES, value_parser = uri_bytes)]
    pub max_uri_bytes: usize,
    /// Largest WebSocket message from a client, in bytes (larger closes with 1009).
    #[arg(long, env = "UNDERSTUDY_WS_MAX_MESSAGE_BYTES", default_value_t = server::DEFAULT_WS_MAX_MESSAGE_BYTES, value_parser = at_least_one)]
    pub ws_max_message_bytes: usize,
    /// Fuel per template render: a template that runs out fails with a 500.
    #[arg(long, env = "UNDERSTUDY_TEMPLATE_FUEL", default_value_t = server::DEFAULT_TEMPLATE_FUEL, value_parser = clap::value_parser!(u64).range(1..))]
    pub template_fuel: u64,
    /// Worker threads, one event loop each (default: the CPUs available to this process).
    #[arg(long, env = "UNDERSTUDY_WORKERS", value_parser = at_least_one)]
    pub workers: Option<usize>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum Watch {
    Auto,
    Native,
    Poll,
    Off,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum AdminApiArg {
    Native,
    Wiremock,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

fn parse_state_store(text: &str) -> Result<String, String> {
    if text.starts_with("redis://") || text.starts_with("rediss://") {
        Ok(text.to_owned())
    } else {
        Err("expected redis://HOST:PORT[/DB]".to_owned())
    }
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
        server::PARSER_MAX_HEAD,
        "the HTTP parser refuses larger heads with 431",
    )
}

fn uri_bytes(text: &str) -> Result<usize, String> {
    at_most(
        text,
        server::PARSER_MAX_URI,
        "the HTTP parser refuses longer targets with 400",
    )
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
