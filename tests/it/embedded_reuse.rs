//! `MockServer` per test: a server handed out (a new one or one kept from an earlier test) is
//! indistinguishable from a fresh one; expectations are verified on `verify()` and on drop;
//! `start_async` in a current-thread runtime; many servers from many threads at once.

use std::collections::HashSet;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::json;
use understudy::MockServer;

/// `GET path` over a fresh connection: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(crate::util::HANG_GUARD))
        .expect("timeout");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).expect("read");
    let resp = crate::util::parse_raw(answer);
    let status = resp.status_line.split(' ').nth(1).unwrap_or("0");
    (
        status.parse().unwrap_or(0),
        String::from_utf8_lossy(&resp.body).into_owned(),
    )
}

fn scripted(name: &str, path: &str) -> serde_json::Value {
    json!({
        "name": name,
        "initialState": "start",
        "routes": [
            { "id": "step", "request": { "path": path }, "setState": "moved",
              "responses": [ { "status": 200, "body": "one" }, { "status": 200, "body": "two" } ] }
        ]
    })
}

/// The panic message of `f`, or `None` when it does not panic.
fn panic_of(f: impl FnOnce()) -> Option<String> {
    let caught = catch_unwind(AssertUnwindSafe(f)).err()?;
    Some(
        caught
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| caught.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default(),
    )
}

#[test]
fn every_server_handed_out_is_fresh_whether_new_or_kept_from_an_earlier_test() {
    // Many rounds, so some servers are taken from the pool (other tests share it too).
    for round in 0..20 {
        let name = format!("s{round}");
        let path = format!("/r{round}");
        let server = MockServer::from_json(scripted(&name, &path)).expect("start");
        // Fresh: nothing recorded, only this test's scenario, its state and script at start.
        assert!(server.requests().is_empty(), "round {round}");
        assert_eq!(server.state(&name).as_deref(), Some("start"));
        if round > 0 {
            let (earlier, _) = get(server.addr(), &format!("/r{}", round - 1));
            assert_eq!(
                earlier, 404,
                "round {round}: an earlier test's route answered"
            );
        }
        assert_eq!(
            get(server.addr(), &path),
            (200, "one".to_owned()),
            "round {round}"
        );
        assert_eq!(get(server.addr(), &path), (200, "two".to_owned()));
        assert_eq!(server.state(&name).as_deref(), Some("moved"));
        let ids: Vec<u64> = server.requests().iter().map(|r| r.id).collect();
        let expected: Vec<u64> = if round > 0 { vec![1, 2, 3] } else { vec![1, 2] };
        assert_eq!(ids, expected, "round {round}: journal ids start at 1");
        server.set_state(&name, "elsewhere").expect("set state");
        drop(server);
    }
}

#[test]
fn the_same_scenario_in_every_test_starts_afresh_each_time() {
    // The same text each round, as a suite whose tests share one fixture: whether the
    // server is new or kept, and however the scenario was compiled, it starts over.
    for round in 0..20 {
        let server = MockServer::from_json(scripted("fixture", "/fixture")).expect("start");
        assert_eq!(
            server.state("fixture").as_deref(),
            Some("start"),
            "round {round}"
        );
        assert_eq!(
            get(server.addr(), "/fixture"),
            (200, "one".to_owned()),
            "round {round}"
        );
        assert_eq!(
            get(server.addr(), "/fixture"),
            (200, "two".to_owned()),
            "round {round}"
        );
        assert_eq!(server.state("fixture").as_deref(), Some("moved"));
        let ids: Vec<u64> = server.requests().iter().map(|r| r.id).collect();
        assert_eq!(ids, [1, 2], "round {round}");
    }
}

#[test]
fn an_unmet_expectation_names_both_counts_and_the_requests_received() {
    let server = MockServer::from_json(json!({
        "name": "pay",
        "routes": [ { "id": "charge", "request": { "method": "POST", "path": "/charge" },
                      "response": { "status": 201 } } ]
    }))
    .expect("start");
    server
        .expect(json!({ "method": "POST", "path": "/charge" }), 2)
        .expect("valid matcher");
    let mut conn = TcpStream::connect(server.addr()).expect("connect");
    conn.write_all(
        b"POST /charge HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .expect("write");
    conn.read_to_end(&mut Vec::new()).expect("read");
    assert_eq!(get(server.addr(), "/refund?id=7").0, 404);

    let message = panic_of(|| server.verify()).expect("verify panics");
    assert!(
        message.contains("expected exactly 2 request(s)"),
        "{message}"
    );
    assert!(message.contains(r#""path":"/charge""#), "{message}");
    assert!(message.contains("received 1"), "{message}");
    assert!(message.contains("POST /charge -> pay/charge"), "{message}");
    assert!(
        message.contains("GET /refund?id=7 -> unmatched"),
        "{message}"
    );
    assert!(
        message.contains("near miss pay/charge: failed method, path"),
        "{message}"
    );

    // Dropping verifies too.
    let dropped = panic_of(move || drop(server)).expect("drop panics");
    assert!(dropped.contains("received 1"), "{dropped}");
}

#[test]
fn met_expectations_and_ranges_are_silent() {
    let server = MockServer::from_json(json!({
        "routes": [ { "request": { "path": "/ping" }, "response": { "status": 204 } } ]
    }))
    .expect("start");
    server.expect(json!({ "path": "/ping" }), 3).expect("valid");
    server
        .expect(json!({ "path": "/ping" }), 1..4)
        .expect("valid");
    server
        .expect(json!({ "path": "/ping" }), 3..=3)
        .expect("valid");
    server
        .expect(json!({ "path": "/ping" }), 2..)
        .expect("valid");
    server
        .expect(json!({ "path": "/ping" }), ..4)
        .expect("valid");
    server
        .expect(json!({ "path": "/other" }), 0)
        .expect("valid");
    for _ in 0..3 {
        assert_eq!(get(server.addr(), "/ping").0, 204);
    }
    assert_eq!(panic_of(|| server.verify()), None);
    assert_eq!(panic_of(move || drop(server)), None);

    let ranged = MockServer::from_json(json!({ "routes": [ { "response": { "status": 200 } } ] }))
        .expect("start");
    ranged.expect(json!({}), 2..4).expect("valid");
    get(ranged.addr(), "/a");
    let message = panic_of(|| ranged.verify()).expect("one is below 2..4");
    assert!(message.contains("between 2 and 3"), "{message}");
    assert!(message.contains("received 1"), "{message}");
    ranged.shutdown();
}

#[test]
fn an_invalid_expectation_matcher_is_an_error() {
    let server = MockServer::builder().start().expect("start");
    let err = server
        .expect(json!({ "path": "(" }), 1)
        .expect_err("an invalid regex");
    assert!(matches!(err, understudy::Error::Invalid(_)), "{err:?}");
}

#[test]
fn a_panicking_test_is_not_aborted_by_its_unmet_expectations() {
    let message = panic_of(|| {
        let server = MockServer::builder().start().expect("start");
        server.expect(json!({ "path": "/x" }), 1).expect("valid");
        panic!("the test's own failure");
    })
    .expect("the test panics");
    assert_eq!(message, "the test's own failure");
}

#[tokio::test(flavor = "current_thread")]
async fn start_async_works_on_the_current_thread_runtime() {
    let server = MockServer::builder()
        .json(json!({ "routes": [ { "request": { "path": "/a" }, "response": { "status": 200, "body": "async" } } ] }))
        .start_async()
        .await
        .expect("start");
    let (status, body) =
        crate::util::fetch(crate::util::client().get(format!("{}/a", server.url()))).await;
    assert_eq!((status, body.as_str()), (200, "async"));
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn two_hundred_servers_from_eight_threads_each_have_their_own_port_and_journal() {
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let servers: Vec<(usize, MockServer)> = (0..25)
                    .map(|i| {
                        let n = t * 25 + i;
                        let server = MockServer::from_json(json!({
                            "routes": [ { "request": { "path": "/who" },
                                          "response": { "status": 200, "body": format!("server {n}") } } ]
                        }))
                        .expect("start");
                        (n, server)
                    })
                    .collect();
                let mut addrs = Vec::new();
                for (n, server) in &servers {
                    assert_eq!(get(server.addr(), "/who"), (200, format!("server {n}")));
                    addrs.push(server.addr());
                }
                for (_, server) in &servers {
                    let seen = server.requests();
                    assert_eq!(seen.len(), 1, "{seen:?}");
                    assert_eq!(seen[0].path, "/who");
                }
                (addrs, servers)
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    // All 200 are alive at once here: each on its own port.
    let ports: HashSet<SocketAddr> = results.iter().flat_map(|(a, _)| a.clone()).collect();
    assert_eq!(ports.len(), 200);
}
