//! Integration tests: each test spawns the real `understudy` binary on port 0 with its own
//! scenarios directory and talks to it over real sockets.

// Shared helpers (`util/`): scenario dirs, the server process and CLI, reqwest and raw HTTP,
// admin calls, curl, bounded waits, diagnostics.
mod util;

// Admin API: the reserved `/__admin/` prefix, health counts, the admin token.
mod admin;
// Admin API endpoints: scenarios put/get/delete/state/reset, reset, reload, the token everywhere.
mod admin_api;
// One answer path: Expect hook and handler alike, one journal entry per request, h2c POSTs.
mod answer_path;
// The corpus of bad scenario files: `validate` snapshots, `serve` beside them, limits, confinement.
mod bad_files;
// Command line: `validate`, `schema`, `health`, serve flags and their env twins.
mod cli;
// The Rust embedding API: `MockServer` from a dir, a file or inline JSON, in #[test] and tokio.
mod embedded;
// MockServer per test: fresh servers (new or reused), expectations verified on drop,
// start_async, many servers from many threads.
mod embedded_reuse;
// `Expect: 100-continue` per route: continue, continueAfterMs, ignore, reject; raw and curl.
mod expect;
// Wire faults (reset, empty, malformed, truncated, no response) and pacing (delays, chunks).
mod faults;
// `file` bodies: confinement to the scenarios directory (`..`, absolute, symlinks).
mod file_bodies;
// HTTP/2 (h2c and over TLS): answers, interim HEADERS, faults as frames, limits, hostile
// HTTP/2 clients, curl and Python httpx/h2 as clients.
mod h2;
// Hostile clients (slowloris, oversized heads and bodies, malformed requests, pipelining,
// idle connections, resets) and the limits that hold them.
mod hostile;
// Interim 1xx responses (102, 103 Early Hints) before the final answer.
mod informational;
// The request journal: entries, bounds by entries and bytes, truncation, filters, count.
mod journal;
// Scenario loading in `serve`: broken files, ignored files, subfolders, format errors.
mod loading;
// Request matching: method/path/query/headers/body/json semantics and route priority.
mod matching;
// OpenAPI specs as mocks: Prefer, Accept, validation, 405, hot reload, import, Schemathesis.
mod openapi;
// Pipelined requests: one at a time across bodies, strict framing, nothing after a close.
mod pipelining;
// Raw protocol upgrades: the 101 switch, then bytes echoed both ways.
mod raw_upgrade;
// Custom reason phrases: kept up to a cap, then the default phrase with a load warning.
mod reason_phrases;
// Hot reload: editor saves, ConfigMap swaps, poll mode, broken edits, reload storms.
mod reload;
// Replicas sharing state through a real redis-server (`--state-store`; skipped without it
// unless UNDERSTUDY_REQUIRE_REDIS=1).
mod replicas;
// Proxy answers: forwarding to a real upstream, hop-by-hop headers, 502/504, the journal flag.
mod proxy;
// Recording: `understudy record` and the admin API against a real upstream, replayed from the
// file alone; merging, redaction, decoding, file bodies, --keep-latency.
mod record;
// Answers on the wire: status lines, headers, default Content-Types, HEAD, Expect.
mod responses;
// Scripted behaviour: response sequences, scenario states, response templates.
mod scripting;
// The JSON shapes of the admin API and of understudy's own answers, key by key.
mod shapes;
// Response templates: every template string compiled at load, fuel per server.
mod templates;
// TLS: self-signed and PEM certificates, checked with curl; Expect and 103 over TLS.
mod tls;
// The live journal page: the page, the journal's event stream, the token, `response` in
// entries, and the page in headless Chromium (skipped without it unless
// UNDERSTUDY_REQUIRE_BROWSER=1).
mod ui;
// Requests no route matches: the 404 report and its near misses.
mod unmatched;
// WebSocket scripts: handshake, rules and actions, echo, pings, close, 426.
mod websocket;
// Real WireMock clients (Java DSL, PyPI `wiremock`, npm `wiremock-captain`) drive understudy
// and the real WireMock 3.13.2 with the same scripts under tests/clients/.
mod wiremock_clients;
// A mapping corpus served by the real WireMock 3.13.2 and by understudy, answers compared.
mod wiremock_differential;
// WireMock mapping files: matchers, patterns, order, scenarios, __files, faults, validate.
mod wiremock_files;
// WireMock's recordings/snapshot: stubs from the journal's proxied traffic, compared with
// the real WireMock 3.13.2's for the same traffic; filters, IDS, persist, repeats.
mod wiremock_snapshot;
// The real WireMock 3.13.2 as a reference server: the harness, and the facts a mapping
// compiler must reproduce (skipped without WIREMOCK_JAR unless UNDERSTUDY_REQUIRE_WIREMOCK=1).
mod wiremock_reference;
// WireMock's admin API in `wiremock` mode: mappings, journal, scenarios, settings, the
// native API at `/__understudy/admin/`.
mod wiremock_admin;
