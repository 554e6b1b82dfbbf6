//! Flags to library settings, in this one place: the `serve` flags become a [`ServeConfig`],
//! the scenario file bounds (shared with `validate`) a [`Limits`].

use std::time::Duration;

use understudy::server::{
    AdminApi, JournalLimits, RecordSettings, ScenarioLimits as Limits, ServeConfig, TlsSource,
    WatchMode,
};

use super::args::{
    AdminApiArg, ClientLimitArgs, FileLimitArgs, OnOff, RecordArgs, ServeArgs, Watch,
};

/// Shortest poll interval taken from `--poll-interval-ms`.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(10);

/// Where WireMock's Docker image mounts its root; served when it exists and the scenarios
/// directory is the bundled tour, so the image replaces `wiremock/wiremock` unchanged.
const WIREMOCK_MOUNT: &str = "/home/wiremock";

/// A file only the bundled tour's scenarios directory has (hidden: never loaded).
const BUNDLED_TOUR_MARKER: &str = ".understudy-bundled-tour";

impl ServeArgs {
    /// The directory to serve and whether it is a WireMock root by the command line's say
    /// (`--root-dir`, or WireMock's mount point in place of the bundled tour).
    fn scenarios_dir(&self) -> (std::path::PathBuf, bool) {
        if let Some(root) = &self.wiremock.root_dir {
            return (root.clone(), true);
        }
        let mount = std::path::Path::new(WIREMOCK_MOUNT);
        if self.scenarios.join(BUNDLED_TOUR_MARKER).is_file() && mount.is_dir() {
            return (mount.to_path_buf(), true);
        }
        (self.scenarios.clone(), false)
    }

    /// The server settings these flags ask for.
    pub fn to_config(&self) -> ServeConfig {
        let (scenarios, wiremock_root) = self.scenarios_dir();
        // `serve --openapi api.yaml` where there is no scenarios directory: the spec alone.
        let mut config = if !self.openapi.is_empty() && !scenarios.exists() {
            ServeConfig::with_source(understudy::server::Source::None)
        } else {
            ServeConfig::new(&scenarios)
        };
        config.openapi = self.openapi.clone();
        config.openapi_validate = self.openapi_validate == OnOff::On;
        config.bind = match self.wiremock.port {
            Some(port) => std::net::SocketAddr::new(
                self.wiremock
                    .bind_address
                    .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()),
                port,
            ),
            None => self.bind,
        };
        config.max_body_bytes = self.max_body_bytes;
        config.admin_token = self.admin_token.clone().filter(|t| !t.is_empty());
        config.admin_api = match self.admin_api {
            Some(AdminApiArg::Native) => AdminApi::Native,
            Some(AdminApiArg::Wiremock) => AdminApi::Wiremock,
            // A WireMock root (`mappings/` at the top) speaks WireMock's admin API.
            None if wiremock_root || scenarios.join("mappings").is_dir() => AdminApi::Wiremock,
            None => AdminApi::Native,
        };
        config.scenario_limits = self.file_limits.limits();
        config.scenario_limits.global_templating = self.wiremock.global_response_templating;
        // understudy handles SIGTERM/SIGINT itself: actix-server's own handling adds a fixed
        // pause before stopping, and a container should stop within about a second.
        config.handle_signals = false;
        config.tls = match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => Some(TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            }),
            (_, _, true) => Some(TlsSource::SelfSigned {
                out: self.tls_cert_out.clone(),
            }),
            _ => None,
        };
        config.listener.http2 = self.http2 == OnOff::On;
        config.watch = match self.watch {
            Watch::Auto => WatchMode::Auto,
            Watch::Native => WatchMode::Native,
            Watch::Poll => WatchMode::Poll,
            Watch::Off => WatchMode::Off,
        };
        config.poll_interval = Duration::from_millis(self.poll_interval_ms).max(MIN_POLL_INTERVAL);
        config.journal = JournalLimits {
            max_entries: match (
                self.wiremock.no_request_journal,
                self.wiremock.max_request_journal_entries,
            ) {
                (true, _) => 0,
                (false, Some(n)) => n,
                (false, None) => self.journal_size,
            },
            max_bytes: self.journal_max_bytes,
            max_body_bytes: self.journal_body_bytes,
        };
        config.proxy_ca = self.proxy_ca.clone();
        self.limits.apply(&mut config);
        config
    }

    /// The shared state store these flags ask for (`--state-store`), if any.
    pub fn state_store(&self) -> Option<understudy::server::StateStoreConfig> {
        Some(understudy::server::StateStoreConfig {
            url: self.state_store.clone()?,
            prefix: self.state_prefix.clone(),
            timeout: Duration::from_millis(self.state_timeout_ms),
        })
    }
}

impl RecordArgs {
    /// The server settings, recording from the start.
    pub fn to_config(&self) -> ServeConfig {
        let mut config = self.serve.to_config();
        let mut recording = RecordSettings::new(self.target.clone(), self.into.clone());
        recording.mode = self.mode;
        recording.key = self.match_key.clone().unwrap_or_default();
        recording.keep_latency = self.keep_latency;
        config.recording = Some(recording);
        config
    }
}

impl ClientLimitArgs {
    /// Sets `--header-timeout-ms`, `--max-connections` and the other client limits.
    fn apply(&self, config: &mut ServeConfig) {
        let listener = &mut config.listener;
        listener.header_timeout = Duration::from_millis(self.header_timeout_ms);
        listener.max_connections = self.max_connections;
        listener.head.max_header_bytes = self.max_header_bytes;
        listener.head.max_uri_bytes = self.max_uri_bytes;
        listener.ws_max_message_bytes = self.ws_max_message_bytes;
        if let Some(workers) = self.workers {
            listener.workers = workers;
        }
        config.body_timeout = Duration::from_millis(self.body_timeout_ms);
        config.template_fuel = self.template_fuel;
    }
}

impl FileLimitArgs {
    /// The bounds on each scenario file.
    pub fn limits(&self) -> Limits {
        Limits {
            max_file_bytes: self.max_scenario_file_bytes,
            max_routes: self.max_routes_per_file,
            ..Limits::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory as _, Parser as _};

    use super::super::args::{Cli, Command};
    use super::*;

    fn serve_config(args: &[&str]) -> ServeConfig {
        let cli = Cli::try_parse_from(std::iter::once("understudy").chain(args.iter().copied()))
            .expect("valid arguments");
        match cli.command {
            None => cli.serve.to_config(),
            Some(Command::Serve(args)) => args.to_config(),
            Some(_) => panic!("not serve"),
        }
    }

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let config = serve_config(&[]);
        let library = ServeConfig::new("./scenarios");
        assert_eq!(config.bind, library.bind);
        assert_eq!(config.max_body_bytes, library.max_body_bytes);
        assert_eq!(config.body_timeout, library.body_timeout);
        assert_eq!(config.poll_interval, library.poll_interval);
        assert_eq!(config.template_fuel, library.template_fuel);
        assert_eq!(config.journal.max_bytes, library.journal.max_bytes);
        assert_eq!(
            config.journal.max_body_bytes,
            library.journal.max_body_bytes
        );
        assert_eq!(config.watch, WatchMode::Auto);
        assert!(config.tls.is_none() && config.admin_token.is_none() && !config.handle_signals);
        assert_eq!(config.admin_api, AdminApi::Native);
    }

    #[test]
    fn admin_api_follows_the_flag_else_the_directory_layout() {
        assert_eq!(
            serve_config(&["--admin-api", "wiremock"]).admin_api,
            AdminApi::Wiremock
        );
        let root = std::env::temp_dir().join(format!("understudy-wm-root-{}", std::process::id()));
        std::fs::create_dir_all(root.join("mappings")).expect("mkdir");
        let dir = root.to_string_lossy().into_owned();
        assert_eq!(
            serve_config(&["--scenarios", &dir]).admin_api,
            AdminApi::Wiremock
        );
        assert_eq!(
            serve_config(&["--scenarios", &dir, "--admin-api", "native"]).admin_api,
            AdminApi::Native
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn wiremocks_flags_are_aliases() {
        let root = std::env::temp_dir().join(format!("understudy-wm-flags-{}", std::process::id()));
        let dir = root.to_string_lossy().into_owned();
        let config = serve_config(&[
            "--port",
            "9999",
            "--root-dir",
            &dir,
            "--global-response-templating",
            "--verbose",
            "--disable-banner",
            "--no-request-journal",
        ]);
        assert_eq!(config.bind, "0.0.0.0:9999".parse().expect("addr"));
        assert_eq!(
            config.admin_api,
            AdminApi::Wiremock,
            "a root dir is a WireMock root"
        );
        assert!(config.scenario_limits.global_templating);
        assert_eq!(config.journal.max_entries, 0);
        let config = serve_config(&["--port", "1", "--bind-address", "127.0.0.1"]);
        assert_eq!(config.bind, "127.0.0.1:1".parse().expect("addr"));
        assert_eq!(
            serve_config(&["--max-request-journal-entries", "5"])
                .journal
                .max_entries,
            5
        );
    }

    #[test]
    fn one_poll_interval_serves_poll_mode_and_the_fallback() {
        let config = serve_config(&["serve", "--watch", "poll", "--poll-interval-ms", "250"]);
        assert_eq!(config.watch, WatchMode::Poll);
        assert_eq!(config.poll_interval, Duration::from_millis(250));
        let config = serve_config(&["--watch", "native", "--poll-interval-ms", "1"]);
        assert_eq!(config.watch, WatchMode::Native);
        assert_eq!(config.poll_interval, MIN_POLL_INTERVAL);
    }

    #[test]
    fn flags_reach_the_config() {
        let config = serve_config(&[
            "--admin-token",
            "",
            "--tls-self-signed",
            "--tls-cert-out",
            "/tmp/x.pem",
            "--max-connections",
            "7",
            "--workers",
            "3",
            "--body-timeout-ms",
            "0",
            "--max-routes-per-file",
            "9",
        ]);
        assert!(config.admin_token.is_none(), "an empty token is no token");
        assert!(
            matches!(config.tls, Some(TlsSource::SelfSigned { ref out }) if out.as_os_str() == "/tmp/x.pem")
        );
        assert_eq!(config.listener.max_connections, 7);
        assert_eq!(config.listener.workers, 3);
        assert!(config.body_timeout.is_zero());
        assert_eq!(config.scenario_limits.max_routes, 9);
    }
}
