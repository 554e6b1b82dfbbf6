//! The request journal: a ring bounded by entry count and by bytes, with an eviction counter.
//!
//! Every request the server sees is recorded once it has been answered. Entries are built
//! outside the lock; the lock only covers pushing the entry and dropping the oldest ones, so
//! recording costs the request path a few pointer moves. When either bound is reached the
//! oldest entries go and `evicted` counts them: nothing grows without bound, and nothing is
//! dropped without a trace.
//!
//! Live readers (the journal page's event stream) [`Journal::subscribe`]: a watch channel
//! wakes them after each new entry and they read what is new from the ring by id. While
//! nobody listens, recording pays one relaxed atomic load for this; a slow reader holds no
//! entries of its own and only skips those evicted before it read them.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use actix_http::header::{HeaderMap, HeaderName, HeaderValue};
use base64::Engine as _;
use bytes::Bytes;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::matching::{NearMiss, RequestView};
use crate::scenario::compiled::{Fault, RequestMatcher};

/// Journal bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JournalLimits {
    /// Most entries kept (`--journal-size`).
    pub max_entries: usize,
    /// Most bytes kept, bodies and heads counted (`--journal-max-bytes`).
    pub max_bytes: usize,
    /// Most body bytes kept per entry; longer bodies are cut and flagged `bodyTruncated`.
    pub max_body_bytes: usize,
}

impl Default for JournalLimits {
    fn default() -> Self {
        JournalLimits {
            max_entries: 1000,
            max_bytes: 64 * 1024 * 1024,
            max_body_bytes: 256 * 1024,
        }
    }
}

/// What the request path hands to the journal.
#[derive(Debug)]
pub struct Record {
    /// Method as sent.
    pub method: actix_http::Method,
    /// The HTTP version the request came in.
    pub version: actix_http::Version,
    /// Request target as sent (path and raw query; shares the request's bytes).
    pub uri: actix_http::Uri,
    /// Request headers in the order sent (a flat list: cheaper to record than a map).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body as read (it is cut to the per-entry limit here).
    pub body: Bytes,
    /// `scenario/id` of the route that answered, if any.
    pub route: Option<Arc<str>>,
    /// Status sent.
    pub status: u16,
    /// Time from the request reaching understudy to the answer.
    pub duration: Duration,
    /// Near misses, for unmatched requests.
    pub near_misses: Vec<NearMiss>,
    /// The wire fault the answer was, if any.
    pub fault: Option<Fault>,
    /// Whether the answer was forwarded to an upstream (a `proxy` answer).
    pub proxied: bool,
    /// For a proxy answer the upstream answered: the time its answer head took (`status` is
    /// then the upstream's).
    pub upstream_time: Option<Duration>,
    /// The answer sent, when it was a whole response understudy built (not for faults,
    /// protocol switches, streamed proxy answers or understudy's own refusals).
    pub response: Option<SentResponse>,
    /// For a proxy answer kept for WireMock's `recordings/snapshot`: the upstream's head and,
    /// once it has streamed, its body.
    pub upstream: Option<Arc<Upstream>>,
}

/// A proxied answer as the upstream sent it, kept beside its request (in `wiremock` mode,
/// for `recordings/snapshot`).
#[derive(Debug)]
pub struct Upstream {
    /// Its headers (hop-by-hop ones and `Content-Length` aside).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Its body, set once the whole body has passed within [`Upstream::reserved`] bytes
    /// (unset while it streams, and for ever when it broke off or was larger).
    pub body: std::sync::OnceLock<Bytes>,
    /// The bytes the journal counts for the body: its `Content-Length`, or the per-entry body
    /// bound, whichever is smaller.
    pub reserved: usize,
}

/// The answer sent for a request: the headers understudy set and the body (cut to the
/// per-entry body limit, like the request's).
#[derive(Debug, Clone)]
pub struct SentResponse {
    /// Headers the answer set (those actix adds itself, `Date` and framing, aside).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body sent.
    pub body: Bytes,
}

impl Record {
    /// The path as sent.
    pub fn path(&self) -> &str {
        self.uri.path()
    }

    /// The raw query string (without `?`; empty when there is none).
    pub fn query(&self) -> &str {
        self.uri.query().unwrap_or("")
    }
}

/// One recorded request.
#[derive(Debug)]
pub struct Entry {
    /// Increasing id, unique for the life of the server.
    pub id: u64,
    /// When it was recorded.
    pub time: SystemTime,
    /// The request and its outcome.
    pub record: Record,
    /// Whether the body was cut to the per-entry limit.
    pub body_truncated: bool,
    /// Whether the response body kept was cut to the per-entry limit.
    pub response_truncated: bool,
    size: usize,
}

impl Entry {
    /// An entry recorded elsewhere (another replica, through the shared state store), as
    /// it was kept there: its body already cut to the per-entry limit.
    pub fn restored(
        id: u64,
        time: SystemTime,
        record: Record,
        body_truncated: bool,
        response_truncated: bool,
    ) -> Entry {
        let size = entry_size(&record);
        Entry {
            id,
            time,
            record,
            body_truncated,
            response_truncated,
            size,
        }
    }
}

/// Which entries to list.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    /// Only the newest N (still returned oldest first).
    pub limit: Option<usize>,
    /// Only requests answered by this route (`scenario/id`) or any route of this scenario.
    pub route: Option<String>,
    /// Only requests no route matched.
    pub unmatched: bool,
}

#[derive(Default)]
struct Ring {
    entries: VecDeque<Arc<Entry>>,
    bytes: usize,
    evicted: u64,
}

/// The bounded journal.
pub struct Journal {
    limits: JournalLimits,
    ring: Mutex<Ring>,
    next_id: AtomicU64,
    /// Requests being answered, not recorded yet (see [`Journal::pending`]).
    in_flight: AtomicU64,
    /// Live readers subscribed (see [`Journal::subscribe`]); `record` notifies only when
    /// some are.
    listeners: AtomicUsize,
    /// Wakes live readers: its value is the clear epoch (bumped when entries are removed
    /// other than by eviction), and every new entry notifies without changing it.
    changes: tokio::sync::watch::Sender<u64>,
    /// Times ids restarted at 1 ([`Journal::renew`]).
    renewals: AtomicU64,
}

/// A live reader of the journal: wakes on every change, reads new entries by id.
/// Dropping it unsubscribes.
pub struct Subscription {
    journal: Arc<Journal>,
    changes: tokio::sync::watch::Receiver<u64>,
    /// Id of the last entry read.
    cursor: u64,
    epoch: u64,
    renewals: u64,
}

/// What a live reader finds when it wakes.
#[derive(Debug, Default)]
pub struct News {
    /// Entries removed other than by eviction (cleared, reset): a reader showing the
    /// journal should read it again.
    pub cleared: bool,
    /// New entries, oldest first.
    pub entries: Vec<Arc<Entry>>,
    /// New entries evicted before they could be read.
    pub skipped: u64,
}

/// Most entries a live reader takes per [`Subscription::next`] call.
const NEWS_BATCH: usize = 256;

impl Subscription {
    /// Waits for the next change: new entries (up to a batch; call again for more) or a clear.
    /// `None` once the journal is gone.
    pub async fn next(&mut self) -> Option<News> {
        loop {
            let news = self.poll_news();
            if news.cleared || !news.entries.is_empty() || news.skipped > 0 {
                return Some(news);
            }
            self.changes.changed().await.ok()?;
        }
    }

    /// What changed since the last read, without waiting.
    fn poll_news(&mut self) -> News {
        let epoch = *self.changes.borrow_and_update();
        let mut news = News::default();
        if epoch != self.epoch {
            self.epoch = epoch;
            news.cleared = true;
        }
        let ring = self.journal.lock();
        // Ids restart after `renew` (a pooled server handed to another test).
        let renewals = self.journal.renewals.load(Ordering::Relaxed);
        if renewals != self.renewals {
            self.renewals = renewals;
            self.cursor = 0;
            news.cleared = true;
        }
        let start = ring.entries.partition_point(|e| e.id <= self.cursor);
        if let Some(first) = ring.entries.get(start) {
            news.skipped = first.id.saturating_sub(self.cursor + 1);
        }
        news.entries = ring
            .entries
            .range(start..)
            .take(NEWS_BATCH)
            .cloned()
            .collect();
        drop(ring);
        if let Some(last) = news.entries.last() {
            self.cursor = last.id;
        }
        news
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.journal.listeners.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A request on its way to the journal: counted in [`Journal::in_flight`] until dropped.
pub struct Pending<'a>(&'a AtomicU64);

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Journal {
    /// An empty journal with these bounds.
    pub fn new(limits: JournalLimits) -> Self {
        Journal {
            limits,
            ring: Mutex::new(Ring::default()),
            next_id: AtomicU64::new(1),
            in_flight: AtomicU64::new(0),
            listeners: AtomicUsize::new(0),
            changes: tokio::sync::watch::Sender::new(0),
            renewals: AtomicU64::new(0),
        }
    }

    /// A journal holding `entries` (oldest first, their ids increasing) and `evicted`: a
    /// read-only view of a journal kept elsewhere (the shared state store), for the same
    /// listing, counting and lookups as a local one.
    pub fn from_entries(limits: JournalLimits, entries: Vec<Entry>, evicted: u64) -> Self {
        let journal = Journal::new(limits);
        let next = entries.last().map_or(1, |e| e.id + 1);
        {
            let mut ring = journal.lock();
            ring.bytes = entries.iter().map(|e| e.size).sum();
            ring.entries = entries.into_iter().map(Arc::new).collect();
            ring.evicted = evicted;
        }
        journal.next_id.store(next, Ordering::Relaxed);
        journal
    }

    /// Subscribes a live reader; it sees the entries recorded from now on (read what is
    /// already kept with [`Journal::list`]).
    pub fn subscribe(self: &Arc<Self>) -> Subscription {
        // Counted before the cursor is read under the ring's lock: an entry recorded after
        // that read sees the count and notifies.
        self.listeners.fetch_add(1, Ordering::Relaxed);
        let changes = self.changes.subscribe();
        let epoch = *changes.borrow();
        let (cursor, renewals) = {
            let _ring = self.lock();
            (
                self.next_id.load(Ordering::Relaxed).saturating_sub(1),
                self.renewals.load(Ordering::Relaxed),
            )
        };
        Subscription {
            journal: self.clone(),
            changes,
            cursor,
            epoch,
            renewals,
        }
    }

    /// Live readers subscribed now.
    pub fn listeners(&self) -> usize {
        self.listeners.load(Ordering::Relaxed)
    }

    /// Wakes live readers after entries were removed (not evicted).
    fn notify_cleared(&self) {
        self.changes.send_modify(|epoch| *epoch += 1);
    }

    /// Marks a request as being answered until the guard drops (after it is recorded and its
    /// answer, a fault included, is done).
    pub fn pending(&self) -> Pending<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        Pending(&self.in_flight)
    }

    /// Requests being answered right now.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// The bounds.
    pub fn limits(&self) -> JournalLimits {
        self.limits
    }

    /// Records an answered request, evicting the oldest entries past either bound.
    pub fn record(&self, mut record: Record) -> u64 {
        let body_truncated = record.body.len() > self.limits.max_body_bytes;
        if body_truncated {
            record.body = Bytes::copy_from_slice(&record.body[..self.limits.max_body_bytes]);
        }
        let mut response_truncated = false;
        if let Some(sent) = &mut record.response
            && sent.body.len() > self.limits.max_body_bytes
        {
            sent.body = sent.body.slice(..self.limits.max_body_bytes);
            response_truncated = true;
        }
        let size = entry_size(&record);
        let mut entry = Arc::new(Entry {
            id: 0,
            time: SystemTime::now(),
            record,
            body_truncated,
            response_truncated,
            size,
        });
        let mut ring = self.lock();
        // The id is taken under the lock, so the ring's ids always increase (live readers
        // find what is new by id).
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Some(fresh) = Arc::get_mut(&mut entry) {
            fresh.id = id;
        }
        ring.bytes += size;
        ring.entries.push_back(entry);
        while ring.entries.len() > self.limits.max_entries
            // The newest entry always stays, even alone past the byte bound (its body is
            // already cut to the per-entry limit).
            || (ring.bytes > self.limits.max_bytes && ring.entries.len() > 1)
        {
            if let Some(old) = ring.entries.pop_front() {
                ring.bytes -= old.size;
                ring.evicted += 1;
            }
        }
        drop(ring);
        if self.listeners.load(Ordering::Relaxed) != 0 {
            self.changes.send_modify(|_| {});
        }
        id
    }

    /// Entries passing `filter`, oldest first, and the eviction count.
    pub fn list(&self, filter: &Filter) -> (Vec<Arc<Entry>>, u64) {
        let (entries, evicted) = {
            let ring = self.lock();
            (
                ring.entries.iter().cloned().collect::<Vec<_>>(),
                ring.evicted,
            )
        };
        let mut picked: Vec<Arc<Entry>> = entries
            .into_iter()
            .filter(|e| !filter.unmatched || e.record.route.is_none())
            .filter(|e| match (&filter.route, &e.record.route) {
                (None, _) => true,
                (Some(want), Some(have)) => {
                    **have == **want
                        || have
                            .strip_prefix(want.as_str())
                            .is_some_and(|r| r.starts_with('/'))
                }
                (Some(_), None) => false,
            })
            .collect();
        if let Some(limit) = filter.limit {
            let skip = picked.len().saturating_sub(limit);
            picked.drain(..skip);
        }
        (picked, evicted)
    }

    /// How many kept entries match `matcher` (the same matchers as a route's `request`).
    pub fn count(&self, matcher: &RequestMatcher) -> usize {
        let entries: Vec<Arc<Entry>> = self.lock().entries.iter().cloned().collect();
        entries.iter().filter(|e| e.matches(matcher)).count()
    }

    /// The kept entry with this id.
    pub fn get(&self, id: u64) -> Option<Arc<Entry>> {
        self.lock().entries.iter().find(|e| e.id == id).cloned()
    }

    /// Drops the kept entries `pick` chooses; returns them. The eviction count is kept.
    pub fn remove_where(&self, pick: impl Fn(&Entry) -> bool) -> Vec<Arc<Entry>> {
        let mut ring = self.lock();
        let (gone, kept): (Vec<_>, Vec<_>) = ring.entries.drain(..).partition(|e| pick(e));
        ring.entries = kept.into();
        ring.bytes -= gone.iter().map(|e| e.size).sum::<usize>();
        drop(ring);
        if !gone.is_empty() {
            self.notify_cleared();
        }
        gone
    }

    /// Drops every entry; returns how many there were. The eviction count is kept.
    pub fn clear(&self) -> usize {
        let mut ring = self.lock();
        let n = ring.entries.len();
        ring.entries.clear();
        ring.bytes = 0;
        drop(ring);
        self.notify_cleared();
        n
    }

    /// Drops every entry and zeroes the eviction count.
    pub fn reset(&self) {
        *self.lock() = Ring::default();
        self.notify_cleared();
    }

    /// Back to the state of a new journal, ids starting at 1 again: for a server handed to
    /// another test (`MockServer`'s pool), never while requests are in flight.
    pub fn renew(&self) {
        let mut ring = self.lock();
        *ring = Ring::default();
        self.next_id.store(1, Ordering::Relaxed);
        self.renewals.fetch_add(1, Ordering::Relaxed);
        drop(ring);
        self.notify_cleared();
    }

    /// Entries kept, bytes kept, entries evicted.
    pub fn stats(&self) -> (usize, usize, u64) {
        let ring = self.lock();
        (ring.entries.len(), ring.bytes, ring.evicted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Bytes an entry holds: body, head strings and a fixed overhead.
pub fn entry_size(r: &Record) -> usize {
    const OVERHEAD: usize = 256;
    let headers: usize = r
        .headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 32)
        .sum();
    let misses: usize = r
        .near_misses
        .iter()
        .map(|m| m.route.len() + m.mismatches.iter().map(|s| s.len() + 24).sum::<usize>() + 48)
        .sum();
    let upstream = r.upstream.as_ref().map_or(0, |u| {
        u.reserved
            + u.headers
                .iter()
                .map(|(k, v)| k.as_str().len() + v.len() + 32)
                .sum::<usize>()
    });
    OVERHEAD
        + r.method.as_str().len()
        + r.uri.path().len()
        + r.query().len()
        + r.body.len()
        + headers
        + misses
        + upstream
        + r.route.as_ref().map_or(0, |r| r.len())
        + r.response.as_ref().map_or(0, |sent| {
            sent.body.len()
                + sent
                    .headers
                    .iter()
                    .map(|(k, v)| k.as_str().len() + v.len() + 32)
                    .sum::<usize>()
        })
}

/// The contract's JSON form of a journal entry.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryJson<'a> {
    /// Increasing id.
    pub id: u64,
    /// When it was recorded (RFC 3339, milliseconds).
    pub time: String,
    /// Method as sent.
    pub method: &'a str,
    /// The HTTP version the request came in: `"1.0"`, `"1.1"` or `"2"`.
    pub http_version: &'static str,
    /// Path as sent.
    pub path: &'a str,
    /// Decoded query parameters; a repeated name has an array of values.
    pub query: Map<String, Value>,
    /// Headers (lower-case names); a repeated name has an array of values.
    pub headers: Map<String, Value>,
    /// The body: text, or base64 when it is not UTF-8.
    pub body: Cow<'a, str>,
    /// How `body` is written.
    pub body_encoding: BodyEncoding,
    /// Whether the body was cut to the per-entry limit.
    pub body_truncated: bool,
    /// `scenario/id` of the route that answered, `null` when none matched.
    pub route: Option<&'a str>,
    /// Status sent.
    pub status: u16,
    /// Milliseconds from the request reaching understudy to the answer (µs precision).
    pub duration_ms: f64,
    /// The wire fault the answer was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<Fault>,
    /// `true` when the answer came from an upstream (a `proxy` answer); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub proxied: bool,
    /// For a proxy answer the upstream answered: milliseconds until its answer head arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_ms: Option<f64>,
    /// The answer sent, when the journal kept it: a whole response understudy built (a
    /// route's answer, a `__files` answer, the unmatched `404`); `null` for faults, protocol
    /// switches, streamed proxy answers and understudy's refusals.
    pub response: Option<ResponseJson<'a>>,
    /// For the unmatched listing: the routes closest to matching.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub near_misses: Option<&'a [NearMiss]>,
}

/// The answer sent, as a journal entry shows it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResponseJson<'a> {
    /// Status sent.
    pub status: u16,
    /// Headers the answer set (lower-case names; a repeated name has an array of values);
    /// those actix adds itself (`Date`, `Content-Length`) aside.
    pub headers: Map<String, Value>,
    /// The body: text, or base64 when it is not UTF-8.
    pub body: Cow<'a, str>,
    /// How `body` is written.
    pub body_encoding: BodyEncoding,
    /// Whether the body was cut to the per-entry limit.
    pub body_truncated: bool,
}

/// How a journal entry's body is written in JSON.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum BodyEncoding {
    /// As text (the body is UTF-8).
    Utf8,
    /// As base64 (the body is not UTF-8).
    Base64,
}

impl Entry {
    /// Whether this request passes `matcher` (the same matchers as a route's `request`).
    pub fn matches(&self, matcher: &RequestMatcher) -> bool {
        self.with_view(|view| crate::matching::matches(matcher, view))
    }

    /// Runs `f` on this request as the matchers see it.
    pub fn with_view<R>(&self, f: impl FnOnce(&RequestView<'_>) -> R) -> R {
        let r = &self.record;
        let headers = header_map(&r.headers);
        let view = RequestView::new(r.method.as_str(), r.path(), r.query(), &headers, &r.body);
        f(&view)
    }

    /// The contract's JSON form; `with_near_misses` adds `nearMisses` (unmatched listing).
    pub fn json(&self, with_near_misses: bool) -> EntryJson<'_> {
        let r = &self.record;
        let mut query = Map::new();
        for (k, v) in form_urlencoded::parse(r.query().as_bytes()) {
            push_multi(&mut query, k.into_owned(), v.into_owned());
        }
        let headers = headers_json(&r.headers);
        let (body, body_encoding) = body_json(&r.body);
        let response = r.response.as_ref().map(|sent| {
            let (body, body_encoding) = body_json(&sent.body);
            ResponseJson {
                status: r.status,
                headers: headers_json(&sent.headers),
                body,
                body_encoding,
                body_truncated: self.response_truncated,
            }
        });
        EntryJson {
            id: self.id,
            time: humantime::format_rfc3339_millis(self.time).to_string(),
            method: r.method.as_str(),
            http_version: version_name(r.version),
            path: r.path(),
            query,
            headers,
            body,
            body_encoding,
            body_truncated: self.body_truncated,
            route: r.route.as_deref(),
            status: r.status,
            duration_ms: (r.duration.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0,
            fault: r.fault,
            proxied: r.proxied,
            upstream_ms: r
                .upstream_time
                .map(|t| (t.as_secs_f64() * 1000.0 * 1000.0).round() / 1000.0),
            response,
            near_misses: with_near_misses.then_some(r.near_misses.as_slice()),
        }
    }
}

/// An HTTP version as the journal writes it.
pub fn version_name(version: actix_http::Version) -> &'static str {
    match version {
        actix_http::Version::HTTP_09 => "0.9",
        actix_http::Version::HTTP_10 => "1.0",
        actix_http::Version::HTTP_2 => "2",
        actix_http::Version::HTTP_3 => "3",
        _ => "1.1",
    }
}

/// The version [`version_name`] wrote (HTTP/1.1 for anything else).
pub fn version_named(name: &str) -> actix_http::Version {
    match name {
        "0.9" => actix_http::Version::HTTP_09,
        "1.0" => actix_http::Version::HTTP_10,
        "2" => actix_http::Version::HTTP_2,
        "3" => actix_http::Version::HTTP_3,
        _ => actix_http::Version::HTTP_11,
    }
}

/// A body as JSON shows it: text when it is UTF-8, else base64.
fn body_json(body: &[u8]) -> (Cow<'_, str>, BodyEncoding) {
    match std::str::from_utf8(body) {
        Ok(text) => (Cow::Borrowed(text), BodyEncoding::Utf8),
        Err(_) => (
            Cow::Owned(base64::engine::general_purpose::STANDARD.encode(body)),
            BodyEncoding::Base64,
        ),
    }
}

/// Headers as JSON shows them: lower-case names, a repeated name with an array of values.
fn headers_json(list: &[(HeaderName, HeaderValue)]) -> Map<String, Value> {
    let mut headers = Map::new();
    for (k, v) in list {
        push_multi(
            &mut headers,
            k.as_str().to_owned(),
            String::from_utf8_lossy(v.as_bytes()).into_owned(),
        );
    }
    headers
}

/// Adds `value` under `key`, turning a repeated key into an array.
fn push_multi(map: &mut Map<String, Value>, key: String, value: String) {
    match map.get_mut(&key) {
        None => {
            map.insert(key, Value::String(value));
        }
        Some(Value::Array(list)) => list.push(Value::String(value)),
        Some(existing) => {
            let first = existing.take();
            *existing = Value::Array(vec![first, Value::String(value)]);
        }
    }
}

/// The request's headers as recorded: a flat list, in the order sent.
pub fn header_list(headers: &HeaderMap) -> Vec<(HeaderName, HeaderValue)> {
    headers
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A header map from a recorded list (for matching a recorded request).
pub fn header_map(list: &[(HeaderName, HeaderValue)]) -> HeaderMap {
    let mut map = HeaderMap::with_capacity(list.len());
    for (k, v) in list {
        map.append(k.clone(), v.clone());
    }
    map
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use bytes::Bytes;

    use super::{Journal, JournalLimits, Record};

    fn record(path: &str) -> Record {
        Record {
            method: actix_http::Method::GET,
            version: actix_http::Version::HTTP_11,
            uri: actix_http::Uri::try_from(path).unwrap_or_default(),
            headers: Vec::new(),
            body: Bytes::new(),
            route: None,
            status: 200,
            duration: Duration::ZERO,
            near_misses: Vec::new(),
            fault: None,
            proxied: false,
            upstream_time: None,
            response: None,
            upstream: None,
        }
    }

    fn journal(max_entries: usize) -> Arc<Journal> {
        Arc::new(Journal::new(JournalLimits {
            max_entries,
            ..JournalLimits::default()
        }))
    }

    async fn next(sub: &mut super::Subscription) -> super::News {
        tokio::time::timeout(Duration::from_secs(5), sub.next())
            .await
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn a_reader_gets_what_is_recorded_after_it_subscribed_in_order() {
        let j = journal(100);
        j.record(record("/before"));
        let mut sub = j.subscribe();
        assert_eq!(j.listeners(), 1);
        j.record(record("/a"));
        j.record(record("/b"));
        let news = next(&mut sub).await;
        let paths: Vec<&str> = news.entries.iter().map(|e| e.record.path()).collect();
        assert_eq!(paths, ["/a", "/b"]);
        assert!(!news.cleared);
        assert_eq!(news.skipped, 0);
        drop(sub);
        assert_eq!(j.listeners(), 0);
    }

    #[tokio::test]
    async fn a_slow_reader_skips_evicted_entries_and_is_told_how_many() {
        let j = journal(3);
        let mut sub = j.subscribe();
        for i in 0..10 {
            j.record(record(&format!("/{i}")));
        }
        let news = next(&mut sub).await;
        let paths: Vec<&str> = news.entries.iter().map(|e| e.record.path()).collect();
        assert_eq!(paths, ["/7", "/8", "/9"]);
        assert_eq!(news.skipped, 7);
    }

    #[tokio::test]
    async fn a_reader_is_told_of_a_clear_and_of_renewed_ids() {
        let j = journal(100);
        let mut sub = j.subscribe();
        j.record(record("/a"));
        let _ = next(&mut sub).await;
        j.clear();
        assert!(next(&mut sub).await.cleared);
        j.renew();
        j.record(record("/again"));
        let news = next(&mut sub).await;
        assert!(news.cleared);
        assert_eq!(news.entries.len(), 1);
        assert_eq!(news.entries[0].id, 1);
    }

    #[test]
    fn ids_increase_in_the_ring_under_concurrent_recording() {
        let j = journal(100_000);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2000 {
                        j.record(record("/x"));
                    }
                });
            }
        });
        let (all, _) = j.list(&super::Filter::default());
        assert_eq!(all.len(), 8000);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
    }
}
