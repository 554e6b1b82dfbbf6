//! Differential tests: one mapping tree served by the real WireMock 3.13.2 and by understudy,
//! the same requests sent to both, and what a client sees compared — status, reason phrase,
//! body, `Content-Type`, the stub's own headers and `Matched-Stub-Id`/`-Name`.
//!
//! Needs `WIREMOCK_JAR` (`.ci/wiremock-tools.sh`); skipped without it unless
//! `UNDERSTUDY_REQUIRE_WIREMOCK=1` (as in CI).

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::json;

use crate::util::{Scenarios, both, client_with_timeout};

/// Bounds every request (a hang guard, not a timing assertion).
const TIMEOUT: Duration = Duration::from_secs(10);

/// A request of the comparison: method, path and query, headers, body.
struct Probe {
    method: &'static str,
    target: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: &'static str,
}

const fn probe(method: &'static str, target: &'static str) -> Probe {
    Probe {
        method,
        target,
        headers: &[],
        body: "",
    }
}

/// What a client sees of one answer.
#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    reason: String,
    body: String,
    headers: Vec<(String, String)>,
}

/// Headers compared: the ones stubs set, `Content-Type`, and the matched-stub headers.
const COMPARED: [&str; 6] = [
    "content-type",
    "x-kind",
    "x-many",
    "matched-stub-id",
    "matched-stub-name",
    "x-echo",
];

async fn send(http: &reqwest::Client, base: &str, p: &Probe) -> Seen {
    let method = reqwest::Method::from_bytes(p.method.as_bytes()).expect("method");
    let mut req = http.request(method, format!("{base}{}", p.target));
    for (k, v) in p.headers {
        req = req.header(*k, *v);
    }
    if !p.body.is_empty() {
        req = req.body(p.body);
    }
    let resp = req.send().await.expect("send");
    let status = resp.status().as_u16();
    let mut headers = Vec::new();
    for name in COMPARED {
        for v in resp.headers().get_all(name) {
            headers.push((name.to_owned(), v.to_str().unwrap_or("?").to_owned()));
        }
    }
    let body = resp.text().await.expect("body");
    Seen {
        status,
        reason: String::new(),
        body,
        headers,
    }
}

/// The reason phrase of `GET target`, from the raw status line.
fn reason(addr: SocketAddr, target: &str) -> String {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(TIMEOUT)).expect("timeout");
    write!(
        conn,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while conn.read(&mut byte).is_ok_and(|n| n == 1) && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8_lossy(&line).trim_end().to_owned();
    line.splitn(3, ' ').nth(2).unwrap_or_default().to_owned()
}

/// A corpus in WireMock's root layout, covering the stub keys the contract lists.
fn corpus() -> Scenarios {
    let dir = Scenarios::new();
    dir.write("__files/users/ada.json", r#"{"name":"Ada","id":1}"#);
    dir.write("__files/plain.txt", "a plain body\n");
    dir.write("__files/site/index.html", "<h1>site</h1>\n");
    dir.write("__files/site/data", "no extension");
    dir.write_json(
        "mappings/urls.json",
        &json!({ "mappings": [
            { "id": "11111111-1111-4111-8111-111111111111", "name": "exact url",
              "request": { "method": "GET", "url": "/exact?a=1" },
              "response": { "status": 200, "body": "exact", "headers": { "X-Kind": "url" } } },
            { "request": { "method": "GET", "urlPattern": "/pattern/[0-9]+(\\?.*)?" },
              "response": { "status": 200, "body": "pattern", "headers": { "X-Kind": "urlPattern" } } },
            { "request": { "method": "GET", "urlPath": "/path" },
              "response": { "status": 200, "body": "path", "headers": { "X-Kind": "urlPath" } } },
            { "request": { "method": "GET", "urlPathPattern": "/items/[a-z]+" },
              "response": { "status": 200, "body": "items", "headers": { "X-Kind": "urlPathPattern" } } },
            { "request": { "method": "GET", "urlPathTemplate": "/users/{id}/orders/{order}",
                           "pathParameters": { "id": { "matches": "[0-9]+" } } },
              "response": { "status": 200, "body": "template", "headers": { "X-Kind": "urlPathTemplate" } } },
            { "request": { "method": "ANY", "urlPath": "/any" },
              "response": { "status": 202, "body": "any" } }
        ]}),
    );
    dir.write_json(
        "mappings/patterns.json",
        &json!({ "mappings": [
            { "request": { "method": "GET", "urlPath": "/q",
                           "queryParameters": {
                               "name": { "equalTo": "ADA", "caseInsensitive": true },
                               "debug": { "absent": true } } },
              "response": { "status": 200, "body": "query" } },
            { "request": { "method": "GET", "urlPath": "/h",
                           "headers": { "Accept": { "contains": "json" },
                                        "X-Trace": { "matches": "t-[0-9]+" } } },
              "response": { "status": 200, "body": "headers" } },
            { "request": { "method": "GET", "urlPath": "/cookie",
                           "cookies": { "session": { "equalTo": "s1" } } },
              "response": { "status": 200, "body": "cookie" } },
            { "request": { "method": "GET", "urlPath": "/auth",
                           "basicAuthCredentials": { "username": "ada", "password": "pw" } },
              "response": { "status": 200, "body": "auth" } },
            { "request": { "method": "POST", "urlPath": "/orders",
                           "bodyPatterns": [
                               { "matchesJsonPath": "$.items[?(@.qty > 1)]" },
                               { "equalToJson": { "customer": "ada" }, "ignoreExtraElements": true } ] },
              "response": { "status": 201, "body": "order" } },
            { "request": { "method": "POST", "urlPath": "/placeholders",
                           "bodyPatterns": [ { "equalToJson": { "id": "${json-unit.any-number}",
                                                                "name": "${json-unit.regex}[A-Z][a-z]+",
                                                                "at": "${json-unit.ignore}" } } ] },
              "response": { "status": 200, "body": "placeholders" } },
            { "request": { "method": "POST", "urlPath": "/text",
                           "bodyPatterns": [ { "or": [ { "contains": "alpha" }, { "contains": "beta" } ] } ] },
              "response": { "status": 200, "body": "text" } }
        ]}),
    );
    dir.write_json(
        "mappings/responses.json",
        &json!({ "mappings": [
            { "name": "json body", "request": { "method": "GET", "urlPath": "/json" },
              "response": { "status": 200, "jsonBody": { "a": [1, 2], "b": { "c": null } } } },
            { "request": { "method": "GET", "urlPath": "/file" },
              "response": { "status": 200, "bodyFileName": "users/ada.json",
                            "headers": { "Content-Type": "application/json" } } },
            { "request": { "method": "GET", "urlPath": "/b64" },
              "response": { "status": 200, "base64Body": "aGVsbG8=" } },
            { "request": { "method": "GET", "urlPath": "/teapot" },
              "response": { "status": 418, "statusMessage": "Short and stout", "body": "tea",
                            "headers": { "X-Many": ["a", "b"] } } },
            { "request": { "method": "GET", "urlPath": "/empty" }, "response": { "status": 204 } },
            { "priority": 1, "request": { "method": "GET", "urlPath": "/prio" },
              "response": { "status": 200, "body": "first" } },
            { "request": { "method": "GET", "urlPath": "/prio" },
              "response": { "status": 200, "body": "default" } },
            { "request": { "method": "GET", "urlPath": "/newest" }, "response": { "status": 200, "body": "older" } },
            { "request": { "method": "GET", "urlPath": "/newest" }, "response": { "status": 200, "body": "newer" } }
        ]}),
    );
    dir.write_json(
        "mappings/templates.json",
        &json!({ "mappings": [
            { "request": { "method": "POST", "urlPathTemplate": "/echo/{id}" },
              "response": { "status": 200, "transformers": ["response-template"],
                            "headers": { "X-Echo": "{{request.method}} {{request.path.id}}" },
                            "body": "id={{request.path.id}} q={{request.query.q}} name={{jsonPath request.body '$.name'}} h={{request.headers.X-Who}} url={{request.url}}" } }
        ]}),
    );
    dir.write_json(
        "mappings/door.json",
        &json!({ "mappings": [
            { "scenarioName": "door", "requiredScenarioState": "Started", "newScenarioState": "open",
              "request": { "method": "POST", "url": "/door" }, "response": { "status": 200, "body": "opening" } },
            { "scenarioName": "door", "requiredScenarioState": "open", "newScenarioState": "Started",
              "request": { "method": "POST", "url": "/door" }, "response": { "status": 200, "body": "closing" } }
        ]}),
    );
    dir
}

const PROBES: &[Probe] = &[
    probe("GET", "/exact?a=1"),
    probe("GET", "/exact?a=2"),
    probe("GET", "/pattern/12"),
    probe("GET", "/pattern/12?x=y"),
    probe("GET", "/pattern/ab"),
    probe("GET", "/path"),
    probe("HEAD", "/path"),
    probe("GET", "/path?with=query"),
    probe("GET", "/items/abc"),
    probe("GET", "/items/ABC"),
    probe("GET", "/users/42/orders/7"),
    probe("GET", "/users/ada/orders/7"),
    probe("DELETE", "/any"),
    probe("PATCH", "/any"),
    probe("GET", "/q?name=ada"),
    probe("GET", "/q?name=ada&debug=1"),
    probe("GET", "/q?name=bob"),
    Probe {
        method: "GET",
        target: "/h",
        headers: &[("Accept", "application/json"), ("X-Trace", "t-12")],
        body: "",
    },
    Probe {
        method: "GET",
        target: "/h",
        headers: &[("Accept", "text/html"), ("X-Trace", "t-12")],
        body: "",
    },
    Probe {
        method: "GET",
        target: "/cookie",
        headers: &[("Cookie", "a=b; session=s1")],
        body: "",
    },
    Probe {
        method: "GET",
        target: "/cookie",
        headers: &[("Cookie", "session=s2")],
        body: "",
    },
    Probe {
        method: "GET",
        target: "/auth",
        headers: &[("Authorization", "Basic YWRhOnB3")],
        body: "",
    },
    Probe {
        method: "GET",
        target: "/auth",
        headers: &[("Authorization", "Basic YWRhOm5vcGU=")],
        body: "",
    },
    Probe {
        method: "POST",
        target: "/orders",
        headers: &[],
        body: r#"{"customer":"ada","items":[{"qty":1},{"qty":3}]}"#,
    },
    Probe {
        method: "POST",
        target: "/orders",
        headers: &[],
        body: r#"{"customer":"ada","items":[{"qty":1}]}"#,
    },
    Probe {
        method: "POST",
        target: "/placeholders",
        headers: &[],
        body: r#"{"id":7,"name":"Ada","at":[1,2]}"#,
    },
    Probe {
        method: "POST",
        target: "/placeholders",
        headers: &[],
        body: r#"{"id":"7","name":"Ada","at":1}"#,
    },
    Probe {
        method: "POST",
        target: "/text",
        headers: &[],
        body: "the beta release",
    },
    Probe {
        method: "POST",
        target: "/text",
        headers: &[],
        body: "gamma",
    },
    probe("GET", "/json"),
    probe("GET", "/file"),
    probe("GET", "/b64"),
    probe("GET", "/teapot"),
    probe("GET", "/empty"),
    probe("GET", "/prio"),
    probe("GET", "/newest"),
    Probe {
        method: "POST",
        target: "/echo/42?q=abc",
        headers: &[("X-Who", "ada")],
        body: r#"{"name":"Ada"}"#,
    },
    probe("POST", "/door"),
    probe("POST", "/door"),
    probe("POST", "/door"),
    probe("GET", "/nothing/here"),
    // No stub: WireMock answers a GET from `__files`.
    probe("GET", "/plain.txt"),
    probe("GET", "/users/ada.json?ignored=1"),
    probe("GET", "/site/"),
    probe("GET", "/site"),
    probe("GET", "/site/index.html"),
    probe("GET", "/site/data"),
    probe("GET", "/site/%69ndex.html"),
    probe("POST", "/plain.txt"),
    probe("HEAD", "/plain.txt"),
];

#[tokio::test]
async fn a_mapping_corpus_answers_as_wiremock_answers_it() {
    let dir = corpus();
    let Some((ours, theirs)) = both(dir.path()) else {
        return;
    };
    let http = client_with_timeout(TIMEOUT);
    let mut differences = Vec::new();
    let mut matched = 0;
    for p in PROBES {
        let mut want = send(&http, &theirs.base(), p).await;
        let mut got = send(&http, &ours.base(), p).await;
        if want.status == 404 && got.status == 404 {
            // Both unmatched: each server explains a miss in its own words.
            continue;
        }
        matched += 1;
        if p.method == "GET" && p.headers.is_empty() {
            want.reason = reason(theirs.addr, p.target);
            got.reason = reason(ours.addr, p.target);
        }
        // A stub without an id gets a random one on each server: compare presence only.
        for seen in [&mut want, &mut got] {
            for (name, value) in &mut seen.headers {
                if name == "matched-stub-id" && !value.starts_with("11111111") {
                    *value = "<generated>".into();
                }
            }
        }
        if want != got {
            differences.push(format!(
                "{} {}\n  WireMock:   {want:?}\n  understudy: {got:?}",
                p.method, p.target
            ));
        }
    }
    // Most probes hit a stub: the comparison is not one of two 404s.
    assert!(
        matched >= 25,
        "only {matched} probes were answered by a stub"
    );
    assert!(
        differences.is_empty(),
        "{} of {} requests answered differently:\n{}",
        differences.len(),
        PROBES.len(),
        differences.join("\n")
    );
}
