//! Shared state for replicas (`--state-store redis://HOST:PORT[/DB]`): scenario states,
//! sequence positions and the journal kept in Redis, so that several understudy processes
//! behind a load balancer act as one server.
//!
//! Without the flag none of this runs: the request path checks one `Option` and keeps
//! its in-memory state (`state.rs`, `journal.rs`). With it:
//!
//! - **selection**: the routes whose matchers pass are found locally (no state involved);
//!   when the first of them is stateless (no `whenState`, no `setState`, one answer) it
//!   answers without Redis. Otherwise one Lua script takes the candidates in answer order
//!   and, for the first whose `whenState` holds (and whose `fall_through` script is not used
//!   up), claims its sequence position (`HINCRBY`) and applies its `setState`: the check,
//!   the claim and the transition are one atomic step in one round trip, so no position is
//!   served twice or skipped across replicas;
//! - **journal**: every exchange is also pushed to a Redis list by a Lua script that takes
//!   the id (`INCR`) and evicts the oldest entries past `--journal-size` and
//!   `--journal-max-bytes` (counting them in `evicted`); admin reads build a read-only
//!   [`Journal`] from the list, so listings, counts and lookups are the local code's. Each
//!   replica still keeps its local ring for its live event stream;
//! - **keys**: everything lives under `--state-prefix` (`understudy:` by default). A
//!   scenario's state and positions are keyed by its name and [`LiveScenario::version`] (a
//!   hash of its document): replicas serving the same file content share them, and a
//!   changed file starts fresh. WireMock's named states (`scenarioName`) are keyed by name;
//! - **failures**: every call is bounded by `--state-timeout-ms`; a failure opens a short
//!   breaker ([`BREAKER`]) during which stateful requests are refused at once (`503`) and
//!   journal pushes are skipped, so neither hangs; afterwards the next request tries again
//!   and state resumes where Redis kept it.
//!
//! The client is the `redis` crate's tokio `ConnectionManager` (one multiplexed connection,
//! reconnecting by itself): the most used and best kept Rust Redis client, with scripts
//! (`EVALSHA`, loaded again on `NOSCRIPT`) built in.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::journal::{Entry, Journal, JournalLimits, News, Record, SentResponse, entry_size};
use crate::matching::{NearMiss, RequestView, RouteIndex, Selection};
use crate::scenario::compiled::{AfterLast, Answers, CompiledRoute, Fault};
use crate::state::{LiveScenario, NAMED_INITIAL, answer_at};
use crate::store::Store;

/// Default bound on each call to the store (`--state-timeout-ms`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1000);

/// Default key prefix (`--state-prefix`).
pub const DEFAULT_PREFIX: &str = "understudy:";

/// After a failed call, how long stateful requests are refused without trying.
pub const BREAKER: Duration = Duration::from_millis(250);

/// Where the state lives: `--state-store`, `--state-prefix`, `--state-timeout-ms`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateStoreConfig {
    /// `redis://HOST:PORT[/DB]`.
    pub url: String,
    /// Prefix of every key.
    pub prefix: String,
    /// Bound on each call.
    pub timeout: Duration,
}

/// The shared store could not answer: the request is refused with `503`.
#[derive(Debug, Clone)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The connection to the shared store and its scripts.
pub struct SharedStore {
    conn: ConnectionManager,
    url: String,
    prefix: String,
    timeout: Duration,
    /// Milliseconds since `epoch` until which calls are not tried (the breaker).
    down_until: AtomicU64,
    epoch: Instant,
    select: redis::Script,
    push: redis::Script,
    remove: redis::Script,
    reset: redis::Script,
    clear: redis::Script,
}

impl fmt::Debug for SharedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedStore")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Takes the first candidate whose state check passes: claims its position, applies its
/// `setState`. KEYS: per candidate, its state key and its positions hash. ARGV: per
/// candidate, initial state, number of allowed states, the allowed states, `1` when it
/// sets a state, the state it sets, its route index, its script length (0: one answer),
/// `f` when the script falls through. Returns {candidate (1-based, 0: none), position
/// claimed, state before}.
const SELECT: &str = r#"
local a = 1
for i = 1, #KEYS / 2 do
  local skey = KEYS[2 * i - 1]
  local pkey = KEYS[2 * i]
  local initial = ARGV[a]
  local nallowed = tonumber(ARGV[a + 1])
  a = a + 2
  local cur = redis.call('GET', skey)
  if not cur then cur = initial end
  local ok = true
  if nallowed > 0 then
    ok = false
    for j = 0, nallowed - 1 do
      if ARGV[a + j] == cur then ok = true end
    end
  end
  a = a + nallowed
  local sets = ARGV[a]
  local target = ARGV[a + 1]
  local field = ARGV[a + 2]
  local total = tonumber(ARGV[a + 3])
  local mode = ARGV[a + 4]
  a = a + 5
  local pos = 0
  if ok and total > 0 then
    if mode == 'f' then
      local p = tonumber(redis.call('HGET', pkey, field) or '0')
      if p >= total then ok = false end
    end
    if ok then pos = redis.call('HINCRBY', pkey, field, 1) - 1 end
  end
  if ok then
    if sets == '1' then redis.call('SET', skey, target) end
    return {i, pos, cur}
  end
end
return {0, 0, ''}
"#;

/// Appends a journal entry and evicts past the bounds. KEYS: list, bytes, evicted, id.
/// ARGV: entry JSON, its size, most entries, most bytes. Returns the entry's id.
const PUSH: &str = r#"
local id = redis.call('INCR', KEYS[4])
redis.call('RPUSH', KEYS[1], id .. ' ' .. ARGV[2] .. ' ' .. ARGV[1])
local bytes = redis.call('INCRBY', KEYS[2], ARGV[2])
local maxn = tonumber(ARGV[3])
local maxb = tonumber(ARGV[4])
local n = redis.call('LLEN', KEYS[1])
while n > maxn or (bytes > maxb and n > 1) do
  local old = redis.call('LPOP', KEYS[1])
  if not old then break end
  local s1 = string.find(old, ' ', 1, true)
  local s2 = string.find(old, ' ', s1 + 1, true)
  bytes = redis.call('DECRBY', KEYS[2], tonumber(string.sub(old, s1 + 1, s2 - 1)))
  redis.call('INCR', KEYS[3])
  n = n - 1
end
return id
"#;

/// Drops the journal entries with these ids. KEYS: list, bytes, epoch. ARGV: ids.
const REMOVE: &str = r#"
local want = {}
for _, id in ipairs(ARGV) do want[id] = true end
local gone = 0
for _, e in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local s1 = string.find(e, ' ', 1, true)
  if want[string.sub(e, 1, s1 - 1)] then
    local s2 = string.find(e, ' ', s1 + 1, true)
    redis.call('LREM', KEYS[1], 1, e)
    redis.call('DECRBY', KEYS[2], tonumber(string.sub(e, s1 + 1, s2 - 1)))
    gone = gone + 1
  end
end
if gone > 0 then redis.call('INCR', KEYS[3]) end
return gone
"#;

/// Drops every entry; the eviction count stays. KEYS: list, bytes, epoch. Returns how many.
const CLEAR: &str = r#"
local n = redis.call('LLEN', KEYS[1])
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], 0)
redis.call('INCR', KEYS[3])
return n
"#;

/// Deletes every key matching the ARGV patterns; with KEYS (the journal's list, bytes,
/// evicted and epoch), empties the journal too.
const RESET: &str = r#"
if #KEYS == 4 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('INCR', KEYS[4])
end
for _, pattern in ipairs(ARGV) do
  local cursor = '0'
  repeat
    local r = redis.call('SCAN', cursor, 'MATCH', pattern, 'COUNT', 1000)
    cursor = r[1]
    for _, k in ipairs(r[2]) do redis.call('DEL', k) end
  until cursor == '0'
end
return 1
"#;

impl SharedStore {
    /// Connects and checks the store answers (`PING`); the error names the URL.
    pub async fn connect(config: &StateStoreConfig) -> Result<Arc<SharedStore>, String> {
        let url = &config.url;
        let fail = |err: &dyn fmt::Display| format!("cannot reach the state store {url}: {err}");
        let client = redis::Client::open(url.as_str()).map_err(|e| fail(&e))?;
        let manager = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.timeout))
            .set_response_timeout(Some(config.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = tokio::time::timeout(
            config.timeout,
            ConnectionManager::new_with_config(client, manager),
        )
        .await
        .map_err(|_| fail(&"timed out"))?
        .map_err(|e| fail(&e))?;
        let pong: String =
            tokio::time::timeout(config.timeout, redis::cmd("PING").query_async(&mut conn))
                .await
                .map_err(|_| fail(&"timed out"))?
                .map_err(|e| fail(&e))?;
        if pong != "PONG" {
            return Err(fail(&format!("PING answered {pong:?}")));
        }
        Ok(Arc::new(SharedStore {
            conn,
            url: url.clone(),
            prefix: config.prefix.clone(),
            timeout: config.timeout,
            down_until: AtomicU64::new(0),
            epoch: Instant::now(),
            select: redis::Script::new(SELECT),
            push: redis::Script::new(PUSH),
            remove: redis::Script::new(REMOVE),
            reset: redis::Script::new(RESET),
            clear: redis::Script::new(CLEAR),
        }))
    }

    /// The store's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Whether a recent failure keeps calls from being tried.
    fn is_down(&self) -> bool {
        self.now_ms() < self.down_until.load(Ordering::Relaxed)
    }

    /// Runs one call within the timeout; a failure opens the breaker.
    async fn call<T>(
        &self,
        what: &str,
        fut: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, Unavailable> {
        if self.is_down() {
            return Err(self.unavailable(&"it failed moments ago"));
        }
        let result = match tokio::time::timeout(self.timeout, fut).await {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(err)) => self.unavailable(&err),
            Err(_) => {
                self.unavailable(&format!("no answer within {} ms", self.timeout.as_millis()))
            }
        };
        let until = self.now_ms() + u64::try_from(BREAKER.as_millis()).unwrap_or(250);
        self.down_until.store(until, Ordering::Relaxed);
        tracing::warn!("state store: {what}: {result}");
        Err(result)
    }

    fn unavailable(&self, why: &dyn fmt::Display) -> Unavailable {
        Unavailable(format!(
            "the shared state store {} is unavailable ({why}); stateful routes answer again once it is back",
            self.url
        ))
    }

    fn key(&self, parts: &[&str]) -> String {
        let mut k = self.prefix.clone();
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                k.push(':');
            }
            k.push_str(p);
        }
        k
    }

    /// The key of a scenario's own state.
    fn state_key(&self, scenario: &LiveScenario) -> String {
        self.key(&["state", &scenario.name, scenario.version()])
    }

    /// The key of a scenario's sequence positions (a hash by route index).
    fn positions_key(&self, scenario: &LiveScenario) -> String {
        self.key(&["pos", &scenario.name, scenario.version()])
    }

    /// The key of a named state (WireMock's `scenarioName`).
    fn named_key(&self, name: &str) -> String {
        self.key(&["named", name])
    }

    /// The key of the state `route` checks and sets, and the state it starts in.
    fn route_state_key(&self, scenario: &LiveScenario, route: &CompiledRoute) -> (String, String) {
        match &route.scope {
            Some(name) => (self.named_key(name), NAMED_INITIAL.to_owned()),
            None => (self.state_key(scenario), scenario.initial_state.clone()),
        }
    }

    /// The route `index.select` would pick, with the state and positions kept in the store:
    /// see the module docs. A stateless first match answers without a call.
    pub async fn select<'s>(
        &self,
        index: &'s RouteIndex,
        req: &RequestView<'_>,
    ) -> Result<Option<Selection<'s>>, Unavailable> {
        let mut candidates: SmallVec<[(&'s Arc<LiveScenario>, &'s CompiledRoute); 4]> =
            SmallVec::new();
        for (scenario, route) in index.matching(req) {
            let always = route.when_state.is_none() && !falls_through(route);
            candidates.push((scenario, route));
            if always {
                break;
            }
        }
        let Some(&(scenario, route)) = candidates.first() else {
            return Ok(None);
        };
        if !needs_store(route) {
            // Always answers, the same answer: nothing to claim.
            let Answers::One(response) = &route.answers else {
                return Ok(None);
            };
            return Ok(Some(Selection {
                scenario,
                route,
                response,
                state_before: response
                    .template
                    .is_some()
                    .then(|| scenario.state_of(route).get()),
            }));
        }
        let mut call = self.select.prepare_invoke();
        for (scenario, route) in &candidates {
            let (state_key, initial) = self.route_state_key(scenario, route);
            call.key(state_key).key(self.positions_key(scenario));
            let allowed = route.when_state.as_deref().unwrap_or_default();
            call.arg(initial).arg(allowed.len());
            for s in allowed {
                call.arg(s.as_str());
            }
            let (total, mode) = match &route.answers {
                Answers::One(_) => (0, ""),
                Answers::Script {
                    ends, after_last, ..
                } => (
                    ends.last().copied().unwrap_or(0),
                    if *after_last == AfterLast::FallThrough {
                        "f"
                    } else {
                        ""
                    },
                ),
            };
            call.arg(if route.set_state.is_some() { "1" } else { "0" })
                .arg(route.set_state.as_deref().unwrap_or(""))
                .arg(route.index)
                .arg(total)
                .arg(mode);
        }
        let mut conn = self.conn.clone();
        let (picked, pos, before): (usize, u64, String) = self
            .call("selecting a route", call.invoke_async(&mut conn))
            .await?;
        let Some(&(scenario, route)) = picked.checked_sub(1).and_then(|i| candidates.get(i)) else {
            return Ok(None);
        };
        let Some(response) = answer_at(route, pos) else {
            return Ok(None);
        };
        // The local copy follows what the store says (near misses and `Expect` decisions
        // read it).
        let local = scenario.state_of(route);
        local.set(route.set_state.as_deref().unwrap_or(&before));
        Ok(Some(Selection {
            scenario,
            route,
            response,
            state_before: response.template.is_some().then_some(before),
        }))
    }

    /// Copies the store's states into the local scenarios (before the admin API shows
    /// them).
    pub async fn pull_states(&self, store: &Store) -> Result<(), Unavailable> {
        let snapshot = store.snapshot();
        let scenarios = snapshot.index.scenarios();
        let named = store.named_states().all();
        let mut keys: Vec<String> = scenarios.iter().map(|s| self.state_key(s)).collect();
        keys.extend(named.iter().map(|(name, _)| self.named_key(name)));
        if keys.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let values: Vec<Option<String>> = self
            .call(
                "reading states",
                redis::cmd("MGET").arg(&keys).query_async(&mut conn),
            )
            .await?;
        let mut values = values.into_iter();
        for s in scenarios {
            let v = values.next().flatten();
            s.state.set(v.as_deref().unwrap_or(s.state.initial()));
        }
        for (_, state) in &named {
            let v = values.next().flatten();
            state.set(v.as_deref().unwrap_or(NAMED_INITIAL));
        }
        Ok(())
    }

    /// Moves a scenario's own state to `to`, for every replica.
    pub async fn set_state(&self, scenario: &LiveScenario, to: &str) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        self.call(
            "setting a state",
            redis::cmd("SET")
                .arg(self.state_key(scenario))
                .arg(to)
                .query_async::<()>(&mut conn),
        )
        .await?;
        scenario.state.set(to);
        Ok(())
    }

    /// Moves a named state (WireMock's `scenarioName`) to `to`, for every replica.
    pub async fn set_named(&self, name: &str, to: &str) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        self.call(
            "setting a state",
            redis::cmd("SET")
                .arg(self.named_key(name))
                .arg(to)
                .query_async::<()>(&mut conn),
        )
        .await
    }

    /// A scenario back to its initial state, every sequence at its start, for every replica.
    pub async fn reset_scenario(&self, scenario: &LiveScenario) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        self.call(
            "resetting a scenario",
            redis::cmd("DEL")
                .arg(self.state_key(scenario))
                .arg(self.positions_key(scenario))
                .query_async::<()>(&mut conn),
        )
        .await?;
        scenario.state.reset();
        Ok(())
    }

    /// Every scenario state, named state and sequence position under the prefix back to
    /// the start (all versions), and the journal too when `journal`.
    pub async fn reset(&self, store: &Store, journal: bool) -> Result<(), Unavailable> {
        let mut call = self.reset.prepare_invoke();
        if journal {
            call.key(self.key(&["journal"]))
                .key(self.key(&["journal", "bytes"]))
                .key(self.key(&["journal", "evicted"]))
                .key(self.key(&["journal", "epoch"]));
        }
        let prefix = glob_escape(&self.prefix);
        for kind in ["state", "pos", "named"] {
            call.arg(format!("{prefix}{kind}:*"));
        }
        let mut conn = self.conn.clone();
        self.call("resetting", call.invoke_async::<()>(&mut conn))
            .await?;
        store.reset_all();
        Ok(())
    }

    /// An exchange as the store keeps it, and its size; `None` when it cannot be written.
    pub fn encode(record: &Record, limits: JournalLimits) -> Option<(String, usize)> {
        let cut = |b: &Bytes| {
            if b.len() > limits.max_body_bytes {
                (b.slice(..limits.max_body_bytes), true)
            } else {
                (b.clone(), false)
            }
        };
        let (body, body_truncated) = cut(&record.body);
        let (response, response_truncated) = match &record.response {
            Some(sent) => {
                let (body, t) = cut(&sent.body);
                (
                    Some(StoredResponse {
                        h: headers_out(&sent.headers),
                        b: b64(&body),
                    }),
                    t,
                )
            }
            None => (None, false),
        };
        let stored = Stored {
            t: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX)),
            m: record.method.as_str().to_owned(),
            v: crate::journal::version_name(record.version).to_owned(),
            u: record.uri.to_string(),
            h: headers_out(&record.headers),
            b: b64(&body),
            bt: body_truncated,
            r: record.route.as_deref().map(str::to_owned),
            s: record.status,
            d: u64::try_from(record.duration.as_micros()).unwrap_or(u64::MAX),
            n: record.near_misses.clone(),
            f: record.fault,
            p: record.proxied,
            ut: record
                .upstream_time
                .map(|t| u64::try_from(t.as_micros()).unwrap_or(u64::MAX)),
            o: response,
            ot: response_truncated,
        };
        let json = serde_json::to_string(&stored).ok()?;
        // Sized like a local entry: its bodies after the cut.
        let cut_off = record.body.len() - body.len()
            + record.response.as_ref().map_or(0, |sent| {
                sent.body.len().saturating_sub(limits.max_body_bytes)
            });
        Some((json, entry_size(record).saturating_sub(cut_off)))
    }

    /// Appends an encoded exchange to the shared journal (evicting past `limits`). Skipped
    /// while the breaker is open.
    pub async fn push(&self, encoded: (String, usize), limits: JournalLimits) {
        let (json, size) = encoded;
        let mut call = self.push.prepare_invoke();
        call.key(self.key(&["journal"]))
            .key(self.key(&["journal", "bytes"]))
            .key(self.key(&["journal", "evicted"]))
            .key(self.key(&["journal", "id"]))
            .arg(json)
            .arg(size)
            .arg(limits.max_entries)
            .arg(limits.max_bytes);
        let mut conn = self.conn.clone();
        if self
            .call("journaling a request", call.invoke_async::<u64>(&mut conn))
            .await
            .is_err()
        {
            tracing::debug!("a request was not written to the shared journal");
        }
    }

    /// The shared journal, read into a local (read-only) view.
    pub async fn journal(&self, limits: JournalLimits) -> Result<Arc<Journal>, Unavailable> {
        let mut conn = self.conn.clone();
        let (raw, evicted): (Vec<String>, Option<u64>) = self
            .call(
                "reading the journal",
                redis::pipe()
                    .atomic()
                    .cmd("LRANGE")
                    .arg(self.key(&["journal"]))
                    .arg(0)
                    .arg(-1)
                    .cmd("GET")
                    .arg(self.key(&["journal", "evicted"]))
                    .query_async(&mut conn),
            )
            .await?;
        let entries = raw.iter().filter_map(|e| decode(e)).collect();
        Ok(Arc::new(Journal::from_entries(
            limits,
            entries,
            evicted.unwrap_or(0),
        )))
    }

    /// Where a live reader of the shared journal starts: the newest id and the clear epoch
    /// now (it reads what comes after).
    pub async fn tail_start(&self) -> Result<Tail, Unavailable> {
        let mut conn = self.conn.clone();
        let (id, epoch): (Option<u64>, Option<u64>) = self
            .call(
                "reading the journal",
                redis::cmd("MGET")
                    .arg(self.key(&["journal", "id"]))
                    .arg(self.key(&["journal", "epoch"]))
                    .query_async(&mut conn),
            )
            .await?;
        Ok(Tail {
            cursor: id.unwrap_or(0),
            epoch: epoch.unwrap_or(0),
        })
    }

    /// What the shared journal gained since `tail` last read it (up to [`TAIL_BATCH`] of
    /// the newest entries; older new ones are counted as skipped), and whether it was
    /// cleared.
    pub async fn tail_news(&self, tail: &mut Tail) -> Result<News, Unavailable> {
        let mut conn = self.conn.clone();
        let (epoch, raw): (Option<u64>, Vec<String>) = self
            .call(
                "reading the journal",
                redis::pipe()
                    .atomic()
                    .cmd("GET")
                    .arg(self.key(&["journal", "epoch"]))
                    .cmd("LRANGE")
                    .arg(self.key(&["journal"]))
                    .arg(-TAIL_BATCH)
                    .arg(-1)
                    .query_async(&mut conn),
            )
            .await?;
        let mut news = News::default();
        let epoch = epoch.unwrap_or(0);
        if epoch != tail.epoch {
            tail.epoch = epoch;
            news.cleared = true;
        }
        let fresh: Vec<Entry> = raw
            .iter()
            .filter(|e| {
                e.split(' ')
                    .next()
                    .and_then(|id| id.parse::<u64>().ok())
                    .is_some_and(|id| id > tail.cursor)
            })
            .filter_map(|e| decode(e))
            .collect();
        if let Some(first) = fresh.first() {
            news.skipped = first.id.saturating_sub(tail.cursor + 1);
        }
        if let Some(last) = fresh.last() {
            tail.cursor = last.id;
        }
        news.entries = fresh.into_iter().map(Arc::new).collect();
        Ok(news)
    }

    /// Drops every shared journal entry (the eviction count stays); how many there were.
    pub async fn clear_journal(&self) -> Result<usize, Unavailable> {
        let mut call = self.clear.prepare_invoke();
        call.key(self.key(&["journal"]))
            .key(self.key(&["journal", "bytes"]))
            .key(self.key(&["journal", "epoch"]));
        let mut conn = self.conn.clone();
        self.call("clearing the journal", call.invoke_async(&mut conn))
            .await
    }

    /// Drops every entry and the eviction count.
    pub async fn reset_journal(&self) -> Result<(), Unavailable> {
        let mut conn = self.conn.clone();
        self.call(
            "resetting the journal",
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(self.key(&["journal"]))
                .arg(self.key(&["journal", "bytes"]))
                .arg(self.key(&["journal", "evicted"]))
                .ignore()
                .cmd("INCR")
                .arg(self.key(&["journal", "epoch"]))
                .ignore()
                .query_async::<()>(&mut conn),
        )
        .await
    }

    /// Drops the shared journal entries with these ids.
    pub async fn remove_entries(&self, ids: &[u64]) -> Result<(), Unavailable> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut call = self.remove.prepare_invoke();
        call.key(self.key(&["journal"]))
            .key(self.key(&["journal", "bytes"]))
            .key(self.key(&["journal", "epoch"]));
        for id in ids {
            call.arg(id.to_string());
        }
        let mut conn = self.conn.clone();
        self.call("removing requests", call.invoke_async::<u64>(&mut conn))
            .await
            .map(drop)
    }
}

/// Most entries a live reader of the shared journal takes per read.
pub const TAIL_BATCH: i64 = 256;

/// A live reader's place in the shared journal.
#[derive(Debug, Clone, Copy)]
pub struct Tail {
    /// Id of the last entry read.
    cursor: u64,
    /// The clear epoch last seen.
    epoch: u64,
}

/// Whether a route's answer depends on state kept in the store (a state check, a
/// transition, or a script position).
fn needs_store(route: &CompiledRoute) -> bool {
    route.is_stateful() || matches!(route.answers, Answers::Script { .. })
}

fn falls_through(route: &CompiledRoute) -> bool {
    matches!(
        route.answers,
        Answers::Script {
            after_last: AfterLast::FallThrough,
            ..
        }
    )
}

/// `text` with the glob characters of `SCAN MATCH` escaped.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A journal entry as the store keeps it (short names: it is written per request).
#[derive(Serialize, Deserialize)]
struct Stored {
    /// Time, µs since the Unix epoch.
    t: u64,
    m: String,
    /// HTTP version, as the journal names it.
    #[serde(default)]
    v: String,
    u: String,
    h: Vec<(String, String)>,
    /// Body, base64.
    b: String,
    bt: bool,
    r: Option<String>,
    s: u16,
    /// Duration, µs.
    d: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    n: Vec<NearMiss>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    f: Option<Fault>,
    #[serde(default)]
    p: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ut: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    o: Option<StoredResponse>,
    #[serde(default)]
    ot: bool,
}

#[derive(Serialize, Deserialize)]
struct StoredResponse {
    h: Vec<(String, String)>,
    b: String,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Bytes {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map(Bytes::from)
        .unwrap_or_default()
}

fn headers_out(
    list: &[(
        actix_http::header::HeaderName,
        actix_http::header::HeaderValue,
    )],
) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect()
}

fn headers_in(
    list: Vec<(String, String)>,
) -> Vec<(
    actix_http::header::HeaderName,
    actix_http::header::HeaderValue,
)> {
    list.into_iter()
        .filter_map(|(k, v)| {
            Some((
                actix_http::header::HeaderName::from_bytes(k.as_bytes()).ok()?,
                actix_http::header::HeaderValue::from_bytes(v.as_bytes()).ok()?,
            ))
        })
        .collect()
}

/// A kept entry (`ID SIZE JSON`) back as a journal entry.
fn decode(raw: &str) -> Option<Entry> {
    let mut parts = raw.splitn(3, ' ');
    let id: u64 = parts.next()?.parse().ok()?;
    let _size = parts.next()?;
    let stored: Stored = serde_json::from_str(parts.next()?).ok()?;
    let record = Record {
        method: actix_http::Method::from_bytes(stored.m.as_bytes()).ok()?,
        version: crate::journal::version_named(&stored.v),
        uri: actix_http::Uri::try_from(stored.u).ok()?,
        headers: headers_in(stored.h),
        body: unb64(&stored.b),
        route: stored.r.map(Arc::from),
        status: stored.s,
        duration: Duration::from_micros(stored.d),
        near_misses: stored.n,
        fault: stored.f,
        proxied: stored.p,
        upstream_time: stored.ut.map(Duration::from_micros),
        response: stored.o.map(|o| SentResponse {
            headers: headers_in(o.h),
            body: unb64(&o.b),
        }),
        // Proxied answers kept for WireMock's `recordings/snapshot` stay in the journal of
        // the replica that proxied them.
        upstream: None,
    };
    Some(Entry::restored(
        id,
        UNIX_EPOCH + Duration::from_micros(stored.t),
        record,
        stored.bt,
        stored.ot,
    ))
}

#[cfg(test)]
mod tests {
    use super::{decode, glob_escape};

    #[test]
    fn glob_characters_of_the_prefix_are_escaped() {
        assert_eq!(glob_escape("a*b?[c]\\:"), "a\\*b\\?\\[c\\]\\\\:");
    }

    #[test]
    fn an_encoded_record_decodes_to_the_same_exchange() {
        let record = crate::journal::Record {
            method: actix_http::Method::POST,
            version: actix_http::Version::HTTP_2,
            uri: actix_http::Uri::from_static("/a/b?x=1"),
            headers: vec![(
                actix_http::header::HeaderName::from_static("x-k"),
                actix_http::header::HeaderValue::from_static("v"),
            )],
            body: bytes::Bytes::from_static(b"\xff\x00body"),
            route: Some("s/r".into()),
            status: 201,
            duration: std::time::Duration::from_micros(1500),
            near_misses: Vec::new(),
            fault: None,
            proxied: false,
            upstream_time: None,
            response: None,
            upstream: None,
        };
        let limits = crate::journal::JournalLimits {
            max_body_bytes: 4,
            ..Default::default()
        };
        let (json, _) = super::SharedStore::encode(&record, limits).unwrap_or_default();
        let entry = decode(&format!("7 100 {json}")).expect("decodes");
        assert_eq!(entry.id, 7);
        assert_eq!(entry.record.uri.to_string(), "/a/b?x=1");
        assert_eq!(entry.record.version, actix_http::Version::HTTP_2);
        assert_eq!(&entry.record.body[..], b"\xff\x00bo");
        assert!(entry.body_truncated);
        assert_eq!(entry.record.route.as_deref(), Some("s/r"));
        assert_eq!(entry.record.headers.len(), 1);
        assert_eq!(entry.record.status, 201);
    }
}
