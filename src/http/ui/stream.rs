//! `GET /__understudy/admin/requests/stream`: the journal as server-sent events.
//!
//! Each entry recorded after the stream opened is one event whose `data` is the entry in the
//! native journal's JSON (unmatched entries with their `nearMisses`), its SSE `id` the
//! entry's id. Named events say the rest: `ready` once subscribed (read what is already kept
//! with `GET …/requests` after it, and drop duplicates by id), `cleared` when entries were
//! removed other than by eviction (read the journal again), `skipped` with `{"skipped": N}`
//! when N new entries were evicted before this stream read them (a slow reader skips; it never
//! makes the server hold more). A comment line every 15 s keeps proxies from closing it.
//!
//! The stream reads the journal through [`crate::journal::Subscription`]: the server keeps
//! no queue per stream. It ends when the client goes or the server stops (a graceful stop
//! closes it after the shutdown timeout, like any open request).
//!
//! With a shared state store (`--state-store`) the stream shows every replica's requests,
//! with the shared journal's ids (those `GET …/requests` lists): it reads the newest entries
//! of the shared journal when this replica records one and at least every
//! [`SHARED_POLL`] for the other replicas'. While the store is away it sends nothing new.

use std::convert::Infallible;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use bytes::{BufMut as _, Bytes, BytesMut};

use std::sync::Arc;

use crate::http::{AppState, respond};
use crate::journal::{News, Subscription};
use crate::shared::{SharedStore, Tail};

/// Time between keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// What the stream sends first: the reconnect delay, and `ready`.
const OPENING: &[u8] = b"retry: 1000\n: understudy journal stream\n\nevent: ready\ndata: {}\n\n";

/// With a shared store: how often the stream looks for other replicas' requests.
pub const SHARED_POLL: Duration = Duration::from_millis(250);

struct Live {
    subscription: Subscription,
    keep_alive: tokio::time::Interval,
    opened: bool,
    /// With a shared store: where this stream reads it, and its poll timer.
    shared: Option<(Arc<SharedStore>, Tail, tokio::time::Interval)>,
}

/// `GET …/requests/stream`.
pub async fn stream(state: web::Data<AppState>) -> HttpResponse {
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let subscription = state.journal.subscribe();
    let shared = match &state.shared {
        None => None,
        Some(store) => match store.tail_start().await {
            Ok(tail) => {
                let mut poll = tokio::time::interval(SHARED_POLL);
                poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                Some((store.clone(), tail, poll))
            }
            Err(down) => return respond::unavailable(&down),
        },
    };
    let live = Live {
        subscription,
        keep_alive,
        opened: false,
        shared,
    };
    let body = futures_util::stream::unfold(live, |mut live| async move {
        if !live.opened {
            live.opened = true;
            return Some((Ok::<_, Infallible>(Bytes::from_static(OPENING)), live));
        }
        let chunk = match &mut live.shared {
            None => tokio::select! {
                news = live.subscription.next() => events(&news?),
                _ = live.keep_alive.tick() => Bytes::from_static(b": keep-alive\n\n"),
            },
            Some((store, tail, poll)) => loop {
                tokio::select! {
                    news = live.subscription.next() => { news?; }
                    _ = poll.tick() => {}
                    _ = live.keep_alive.tick() => break Bytes::from_static(b": keep-alive\n\n"),
                }
                if let Ok(news) = store.tail_news(tail).await
                    && (news.cleared || news.skipped > 0 || !news.entries.is_empty())
                {
                    break events(&news);
                }
            },
        };
        Some((Ok(chunk), live))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}

/// The events for one wake-up, in one chunk.
fn events(news: &News) -> Bytes {
    let mut out = BytesMut::new();
    if news.cleared {
        out.put_slice(b"event: cleared\ndata: {}\n\n");
    }
    if news.skipped > 0 {
        out.put_slice(
            format!("event: skipped\ndata: {{\"skipped\":{}}}\n\n", news.skipped).as_bytes(),
        );
    }
    for entry in &news.entries {
        let json = entry.json(entry.record.route.is_none());
        let Ok(text) = serde_json::to_string(&json) else {
            continue;
        };
        out.put_slice(format!("id: {}\ndata: ", entry.id).as_bytes());
        out.put_slice(text.as_bytes());
        out.put_slice(b"\n\n");
    }
    out.freeze()
}
