//! Integration tests: each test spawns the real `understudy` binary on port 0 with its own
//! scenarios directory and talks to it over real sockets.

// Shared helpers: scenario dirs, the server child process, raw HTTP, CLI runner.
mod util;

// One answer path: Expect hook and handler alike, one journal entry per request, h2c POSTs.
mod answer_path;
// Admin API: the reserved `/__admin/` prefix, health counts, the admin token.
mod admin;
// Admin API endpoints: scenarios put/get/delete/state/reset, reset, reload, the token everywhere.
mod admin_api;
// The corpus of bad scenario files: `validate` snapshots, `serve` beside them, limits, confinement.
mod bad_files;
// Command line: `validate`, `schema`, `health`, serve flags and their env twins.
mod cli;
// HTTP edges: Expect modes, 103 Early Hints, WebSocket scripts, raw upgrades, TLS.
mod edge;
// The Rust embedding API: `MockServer` from a dir, a file or inline JSON, in #[test] and tokio.
mod embedded;
// Wire faults (reset, empty, malformed, truncated, no response) and pacing (delays, chunks).
mod faults;
// `file` bodies: confinement to the scenarios directory (`..`, absolute, symlinks).
mod file_bodies;
// The request journal: entries, bounds by entries and bytes, truncation, filters, count.
mod journal;
// Scenario loading in `serve`: broken files, ignored files, subfolders, format errors.
mod loading;
// Request matching: method/path/query/headers/body/json semantics and route priority.
mod matching;
// Hostile clients (slowloris, oversized heads and bodies, malformed requests, pipelining,
// idle connections, resets) and the limits that hold them.
mod hostile;
// Hot reload: editor saves, ConfigMap swaps, poll mode, broken edits, reload storms.
mod reload;
// Custom reason phrases: kept up to a cap, then the default phrase with a load warning.
mod reason_phrases;
// Pipelined requests: one at a time across bodies, strict framing, nothing after a close.
mod pipelining;
// Answers on the wire: status lines, headers, default Content-Types, HEAD, Expect.
mod responses;
// The JSON shapes of the admin API and of understudy's own answers, key by key.
mod shapes;
// Scripted behaviour: response sequences, scenario states, response templates.
mod scripting;
// Response templates: every template string compiled at load, fuel per server.
mod templates;
// Requests no route matches: the 404 report and its near misses.
mod unmatched;
