//! A test harness for a small HTTP client, written with understudy's embedding API.
//!
//! The code under test is `OrdersClient` below: it POSTs an order as JSON, maps `201`, `409`
//! and `422` to results, and retries `503` (honouring `Retry-After`) a bounded number of times.
//! The harness starts an in-process [`MockServer`] from inline JSON, drives the client through
//! every outcome, puts a second scenario at runtime to simulate an outage, and then checks in
//! the journal what the client really sent: method, path, headers and JSON body.
//!
//! Run it with `cargo run --example embedded`. It prints a short summary and exits 0, or
//! panics (exit status 101) with a message naming the check that failed.

use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};
use understudy::MockServer;

// ---------------------------------------------------------------------------------------------
// The code under test: a tiny orders client.
// ---------------------------------------------------------------------------------------------

/// What the client sends.
#[derive(Debug, Serialize)]
struct NewOrder<'a> {
    sku: &'a str,
    qty: u32,
}

fn order(sku: &str, qty: u32) -> NewOrder<'_> {
    NewOrder { sku, qty }
}

/// What placing an order can come to.
#[derive(Debug, PartialEq)]
enum Placed {
    /// `201 Created`: the order's id and its `Location`.
    Created { id: u64, location: String },
    /// `409 Conflict`: this idempotency key was already used.
    Duplicate,
    /// `422 Unprocessable Content`: the server's validation messages.
    Rejected(Vec<String>),
}

#[derive(Debug)]
enum OrderError {
    /// Still `503` after every attempt.
    Unavailable { attempts: u32 },
    /// A status the client does not expect.
    Unexpected(u16),
    /// Transport or decoding failure.
    Http(reqwest::Error),
}

impl std::fmt::Display for OrderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OrderError::Unavailable { attempts } => {
                write!(f, "orders service unavailable after {attempts} attempts")
            }
            OrderError::Unexpected(status) => write!(f, "unexpected status {status}"),
            OrderError::Http(err) => write!(f, "HTTP error: {err}"),
        }
    }
}

impl std::error::Error for OrderError {}

impl From<reqwest::Error> for OrderError {
    fn from(err: reqwest::Error) -> Self {
        OrderError::Http(err)
    }
}

struct OrdersClient {
    base_url: String,
    api_key: String,
    max_attempts: u32,
    http: reqwest::Client,
}

impl OrdersClient {
    fn new(base_url: impl Into<String>, api_key: impl Into<String>) -> Self {
        OrdersClient {
            base_url: base_url.into(),
            api_key: api_key.into(),
            max_attempts: 3,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("build the HTTP client"),
        }
    }

    /// `POST /v1/orders`; retries `503` with the same idempotency key.
    async fn place(
        &self,
        order: &NewOrder<'_>,
        idempotency_key: &str,
    ) -> Result<Placed, OrderError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = self
                .http
                .post(format!("{}/v1/orders", self.base_url))
                .bearer_auth(&self.api_key)
                .header("Idempotency-Key", idempotency_key)
                .json(order)
                .send()
                .await?;
            match resp.status().as_u16() {
                201 => {
                    let location = resp
                        .headers()
                        .get("location")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let body: Value = resp.json().await?;
                    let id = body["id"].as_u64().ok_or(OrderError::Unexpected(201))?;
                    return Ok(Placed::Created { id, location });
                }
                409 => return Ok(Placed::Duplicate),
                422 => {
                    let body: Value = resp.json().await?;
                    let messages = body["errors"]
                        .as_array()
                        .map(|list| {
                            list.iter()
                                .filter_map(|m| m.as_str().map(str::to_owned))
                                .collect()
                        })
                        .unwrap_or_default();
                    return Ok(Placed::Rejected(messages));
                }
                503 if attempt < self.max_attempts => {
                    // Retry-After in seconds, capped; a short backoff when it is 0 or absent.
                    let retry_after = resp
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or(0)
                        .min(2);
                    let backoff = Duration::from_millis(50 * u64::from(attempt));
                    tokio::time::sleep(Duration::from_secs(retry_after).max(backoff)).await;
                }
                503 => return Err(OrderError::Unavailable { attempts: attempt }),
                other => return Err(OrderError::Unexpected(other)),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.
// ---------------------------------------------------------------------------------------------

const API_KEY: &str = "test-key-123";

/// The orders service as the client expects it. Higher `priority` is tried first.
fn orders_scenario() -> Value {
    json!({
        "name": "orders",
        "description": "The orders API: created, duplicate key, validation error",
        "routes": [
            {
                "id": "duplicate",
                "priority": 10,
                "request": {
                    "method": "POST",
                    "path": "/v1/orders",
                    "headers": { "idempotency-key": "replayed-.*" }
                },
                "response": { "status": 409, "json": { "error": "idempotency key already used" } }
            },
            {
                "id": "invalid-qty",
                "priority": 5,
                "request": { "method": "POST", "path": "/v1/orders", "json": { "qty": 0 } },
                "response": { "status": 422, "json": { "errors": ["qty must be at least 1"] } }
            },
            {
                "id": "created",
                "request": {
                    "method": "POST",
                    "path": "/v1/orders",
                    "headers": {
                        "authorization": "Bearer .+",
                        "content-type": "application/json"
                    }
                },
                "response": {
                    "status": 201,
                    "headers": { "Location": "/v1/orders/1001" },
                    "json": { "id": 1001, "status": "accepted" }
                }
            }
        ]
    })
}

/// An outage put at runtime: it outranks every `orders` route until it is deleted.
fn outage_scenario() -> Value {
    json!({
        "routes": [{
            "id": "down",
            "priority": 100,
            "request": { "method": "POST", "path": "/v1/orders" },
            "response": {
                "status": 503,
                "headers": { "Retry-After": "0" },
                "json": { "error": "down for maintenance" }
            }
        }]
    })
}

#[tokio::main]
async fn main() {
    let server = MockServer::builder()
        .json(orders_scenario())
        .start()
        .expect("start the mock server");
    let client = OrdersClient::new(server.url(), API_KEY);
    let mut checks = 0;

    // 1. The happy path: 201 with the id and the Location header.
    let placed = client
        .place(&order("WIDGET-1", 2), "order-1")
        .await
        .expect("place WIDGET-1");
    assert_eq!(
        placed,
        Placed::Created {
            id: 1001,
            location: "/v1/orders/1001".into()
        },
        "a valid order should be created"
    );
    checks += 1;

    // 2. Validation: 422 carries the server's messages through.
    let placed = client
        .place(&order("WIDGET-1", 0), "order-2")
        .await
        .expect("place qty 0");
    assert_eq!(
        placed,
        Placed::Rejected(vec!["qty must be at least 1".into()]),
        "qty 0 should be rejected with the server's message"
    );
    checks += 1;

    // 3. A replayed idempotency key: 409.
    let placed = client
        .place(&order("WIDGET-1", 2), "replayed-order-1")
        .await
        .expect("place with a replayed key");
    assert_eq!(
        placed,
        Placed::Duplicate,
        "a replayed key should be a duplicate"
    );
    checks += 1;

    // 4. An outage, put at runtime: the client retries, then gives up.
    server
        .put_scenario("outage", outage_scenario())
        .expect("put the outage scenario");
    let result = client.place(&order("GADGET-7", 1), "order-3").await;
    assert!(
        matches!(result, Err(OrderError::Unavailable { attempts: 3 })),
        "during the outage the client should try 3 times and give up, got {result:?}"
    );
    checks += 1;

    // 5. The outage is over: the same order goes through.
    assert!(
        server.delete_scenario("outage"),
        "the outage scenario should exist"
    );
    let placed = client
        .place(&order("GADGET-7", 1), "order-3")
        .await
        .expect("place GADGET-7 after the outage");
    assert!(
        matches!(placed, Placed::Created { .. }),
        "after the outage the order should be created, got {placed:?}"
    );
    checks += 1;

    // What did the client actually send? Ask the journal.
    let posts = json!({ "method": "POST", "path": "/v1/orders" });
    assert_eq!(
        server.count(posts).expect("count POSTs"),
        7,
        "1 + 1 + 1 + 3 attempts during the outage + 1 after it"
    );
    let authenticated = json!({
        "method": "POST",
        "headers": { "authorization": format!("Bearer {API_KEY}") }
    });
    assert_eq!(
        server
            .count(authenticated)
            .expect("count authenticated POSTs"),
        7,
        "every request should carry the API key"
    );
    let gadget = json!({ "json": { "sku": "GADGET-7", "qty": 1 } });
    assert_eq!(
        server.count(gadget).expect("count GADGET-7 orders"),
        4,
        "3 attempts during the outage + 1 after it"
    );

    let requests = server.requests();
    let unmatched: Vec<_> = requests.iter().filter(|r| r.route.is_none()).collect();
    assert!(
        unmatched.is_empty(),
        "no request should miss every route: {unmatched:#?}"
    );

    let retries: Vec<_> = requests
        .iter()
        .filter(|r| r.route.as_deref() == Some("outage/down"))
        .collect();
    assert_eq!(
        retries.len(),
        3,
        "the outage should have answered 3 attempts"
    );
    assert!(
        retries
            .iter()
            .all(|r| r.header("idempotency-key") == Some("order-3")),
        "retries must reuse the idempotency key: {retries:#?}"
    );

    let first = &requests[0];
    assert_eq!(first.route.as_deref(), Some("orders/created"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_slice(&first.body).expect("the body is JSON");
    assert_eq!(
        body,
        json!({ "sku": "WIDGET-1", "qty": 2 }),
        "the body should hold exactly sku and qty"
    );

    // A reset empties the journal (and rewinds every scenario) between tests.
    let verified = requests.len();
    server.reset();
    assert!(
        server.requests().is_empty(),
        "reset should clear the journal"
    );

    println!(
        "embedded example: {checks} client scenarios passed, {verified} requests verified through the journal"
    );
    println!("  mock server was {}", server.url());
}
