//! Replicas sharing state through Redis (`--state-store`): a real `redis-server` on a free
//! loopback port (no persistence) and two or three real understudy processes over the same
//! scenario files. Skipped when `redis-server` is missing, unless `UNDERSTUDY_REQUIRE_REDIS=1`
//! (CI installs it with `.ci/redis-tools.sh`).

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::util::{Scenarios, Server, client, fetch, fetch_json, serve_command};

/// `REDIS_SERVER` (from `.ci/redis-tools.sh`), else `redis-server` on PATH; `None` (skip)
/// unless `UNDERSTUDY_REQUIRE_REDIS=1`.
fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("REDIS_SERVER")
        .map(PathBuf::from)
        .filter(|p| p.is_file())
        .or_else(|| {
            Command::new("redis-server")
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .ok()
                .filter(|s| s.success())
                .map(|_| PathBuf::from("redis-server"))
        });
    if found.is_none() && std::env::var("UNDERSTUDY_REQUIRE_REDIS").as_deref() == Ok("1") {
        panic!("UNDERSTUDY_REQUIRE_REDIS=1 but redis-server is missing: run .ci/redis-tools.sh");
    }
    found
}

/// A Redis of its own for one test; `None` (the test is skipped, as stderr says) without
/// `redis-server`.
fn redis() -> Option<Redis> {
    let Some(bin) = redis_server() else {
        eprintln!("skipped: redis-server is not installed (.ci/redis-tools.sh)");
        return None;
    };
    Some(Redis::start(&bin))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` child on a loopback port, without persistence; killed (by its PID) on
/// drop.
struct Redis {
    bin: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start(bin: &Path) -> Redis {
        let mut redis = Redis {
            bin: bin.to_path_buf(),
            port: free_port(),
            child: None,
        };
        redis.restart();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again, on the same port) and waits until it accepts connections.
    fn restart(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills it (all data is gone: it keeps none on disk).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A replica: `serve` over `dir` with the shared store.
fn replica(dir: &Path, redis: &Redis, extra: &[&str]) -> Server {
    let mut cmd = serve_command(dir);
    cmd.args(["--state-store", &redis.url(), "--state-timeout-ms", "500"]);
    cmd.args(extra);
    Server::spawn(cmd)
}

/// The scenarios every test serves: a 10-step script, a login flow, a plain route.
fn scenarios() -> Scenarios {
    let dir = Scenarios::new();
    let steps: Vec<Value> = (1..=10)
        .map(|i| json!({ "status": 200, "body": format!("step-{i}") }))
        .collect();
    dir.write_json(
        "script.json",
        &json!({
            "name": "script",
            "routes": [
                { "id": "step", "request": { "method": "GET", "path": "/step" },
                  "responses": steps, "afterLast": "fall_through" }
            ]
        }),
    );
    dir.write_json(
        "login.json",
        &json!({
            "name": "login",
            "initialState": "out",
            "routes": [
                { "id": "in", "request": { "method": "POST", "path": "/login" },
                  "setState": "in", "response": { "status": 200, "body": "welcome" } },
                { "id": "me-in", "request": { "method": "GET", "path": "/me" },
                  "whenState": "in", "response": { "status": 200, "body": "ada" } },
                { "id": "me-out", "request": { "method": "GET", "path": "/me" },
                  "whenState": "out", "response": { "status": 401, "body": "who?" } }
            ]
        }),
    );
    dir.write_json(
        "plain.json",
        &json!({
            "name": "plain",
            "routes": [
                { "id": "ping", "request": { "method": "GET", "path": "/ping" },
                  "response": { "status": 200, "body": "pong" } }
            ]
        }),
    );
    dir
}

async fn count(server: &Server, matcher: Value) -> u64 {
    let (status, body) = fetch_json(
        client()
            .post(server.url("/__admin/requests/count"))
            .json(&matcher),
    )
    .await;
    assert_eq!(status, 200, "count: {body}");
    body["count"].as_u64().expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_script_hit_alternately_and_concurrently_serves_each_step_exactly_once() {
    // Arrange
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let replicas = [
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    ];

    // Act: 60 requests from 20 clients at once, round-robin over the replicas.
    let mut tasks = Vec::new();
    for i in 0..60 {
        let url = replicas[i % 3].url("/step");
        tasks.push(tokio::spawn(async move { fetch(client().get(url)).await }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("request task"));
    }

    // Assert: step-1 … step-10 once each; the other 50 fell through (404).
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (status, body) in &answers {
        if *status == 200 {
            *seen.entry(body.clone()).or_default() += 1;
        } else {
            assert_eq!(*status, 404, "{body}");
        }
    }
    let expected: HashMap<String, usize> = (1..=10).map(|i| (format!("step-{i}"), 1)).collect();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_state_set_through_one_replica_governs_the_next_request_on_another() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let (a, b) = (
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    );

    assert_eq!(
        fetch(client().get(b.url("/me"))).await,
        (401, "who?".into())
    );
    assert_eq!(fetch(client().post(a.url("/login"))).await.0, 200);
    assert_eq!(fetch(client().get(b.url("/me"))).await, (200, "ada".into()));

    // The admin API moves it too, and any replica shows it.
    let (status, _) = fetch(
        client()
            .put(b.url("/__admin/scenarios/login/state"))
            .json(&json!({ "state": "out" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetch(client().get(a.url("/me"))).await.0, 401);
    assert_eq!(fetch(client().post(b.url("/login"))).await.0, 200);
    let (_, shown) = fetch_json(client().get(a.url("/__admin/scenarios/login"))).await;
    assert_eq!(shown["state"], "in");
}

#[tokio::test]
async fn the_journal_and_count_on_any_replica_see_every_replicas_requests_and_reset_resets_all() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let (a, b) = (
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    );

    for _ in 0..3 {
        fetch(client().get(a.url("/ping"))).await;
    }
    for _ in 0..2 {
        fetch(client().get(b.url("/ping"))).await;
    }
    fetch(client().get(b.url("/nowhere"))).await;
    fetch(client().get(a.url("/step"))).await;

    for server in [&a, &b] {
        assert_eq!(count(server, json!({ "path": "/ping" })).await, 5);
        let (_, journal) = fetch_json(client().get(server.url("/__admin/requests"))).await;
        let paths: Vec<&str> = journal["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter_map(|r| r["path"].as_str())
            .collect();
        assert_eq!(paths.len(), 7, "{journal}");
        let ids: Vec<u64> = journal["requests"]
            .as_array()
            .expect("requests")
            .iter()
            .filter_map(|r| r["id"].as_u64())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
        let (_, unmatched) =
            fetch_json(client().get(server.url("/__admin/requests/unmatched"))).await;
        assert_eq!(unmatched["requests"][0]["path"], "/nowhere");
        assert!(unmatched["requests"][0]["nearMisses"].is_array());
    }

    // Reset on one replica: the journal and the script start over for all.
    let (status, _) = fetch(client().post(b.url("/__admin/reset"))).await;
    assert_eq!(status, 200);
    assert_eq!(count(&a, json!({})).await, 0);
    assert_eq!(
        fetch(client().get(a.url("/step"))).await,
        (200, "step-1".into())
    );
    assert_eq!(
        fetch(client().get(b.url("/step"))).await,
        (200, "step-2".into())
    );
}

#[tokio::test]
async fn the_shared_journal_is_bounded_by_count_and_counts_evictions() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let bound = ["--journal-size", "4"];
    let (a, b) = (
        replica(dir.path(), &redis, &bound),
        replica(dir.path(), &redis, &bound),
    );
    for i in 0..10 {
        let server = if i % 2 == 0 { &a } else { &b };
        fetch(client().get(server.url(&format!("/ping?i={i}")))).await;
    }
    let (_, journal) = fetch_json(client().get(a.url("/__admin/requests"))).await;
    assert_eq!(journal["evicted"], 6, "{journal}");
    let kept: Vec<&str> = journal["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .filter_map(|r| r["query"]["i"].as_str())
        .collect();
    assert_eq!(kept, ["6", "7", "8", "9"]);
}

#[tokio::test]
async fn redis_away_refuses_stateful_routes_with_503_keeps_stateless_ones_and_recovers() {
    let Some(mut redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let (a, b) = (
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    );
    assert_eq!(
        fetch(client().get(a.url("/step"))).await,
        (200, "step-1".into())
    );

    // Act: Redis goes away.
    redis.kill();

    // Assert: stateful routes answer 503 with a JSON reason, within the bound; the plain
    // route keeps answering.
    for server in [&a, &b] {
        let started = Instant::now();
        let resp = client()
            .get(server.url("/step"))
            .send()
            .await
            .expect("an answer");
        assert_eq!(resp.status(), 503);
        assert!(started.elapsed() < Duration::from_secs(3));
        let body: Value = resp.json().await.expect("a JSON body");
        let why = body["error"].as_str().expect("error text");
        assert!(why.contains(&redis.url()), "{why}");
        assert_eq!(fetch(client().get(server.url("/me"))).await.0, 503);
        assert_eq!(
            fetch(client().get(server.url("/ping"))).await,
            (200, "pong".into())
        );
    }

    // Redis comes back (empty: it keeps nothing on disk): state resumes from the start.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let answer = fetch(client().get(b.url("/step"))).await;
        if answer.0 != 503 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer, (200, "step-1".into()));
    let answer = loop {
        let answer = fetch(client().get(a.url("/step"))).await;
        if answer.0 != 503 || Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(answer, (200, "step-2".into()));
}

#[test]
fn an_unreachable_store_at_start_exits_1_naming_the_url() {
    let dir = scenarios();
    let url = format!("redis://127.0.0.1:{}", free_port());
    let out = serve_command(dir.path())
        .args(["--state-store", &url, "--state-timeout-ms", "500"])
        .output()
        .expect("run understudy");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&url), "{stderr}");

    // The environment twin says the same.
    let out = serve_command(dir.path())
        .env("UNDERSTUDY_STATE_STORE", &url)
        .env("UNDERSTUDY_STATE_TIMEOUT_MS", "500")
        .output()
        .expect("run understudy");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&url));
}

#[tokio::test]
async fn replicas_with_other_prefixes_keep_their_own_state() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let a = replica(dir.path(), &redis, &["--state-prefix", "team-a:"]);
    let a2 = replica(dir.path(), &redis, &["--state-prefix", "team-a:"]);
    let b = replica(dir.path(), &redis, &["--state-prefix", "team-b:"]);

    assert_eq!(fetch(client().get(a.url("/step"))).await.1, "step-1");
    assert_eq!(fetch(client().get(a2.url("/step"))).await.1, "step-2");
    assert_eq!(fetch(client().get(b.url("/step"))).await.1, "step-1");
    assert_eq!(count(&b, json!({ "path": "/step" })).await, 1);
    assert_eq!(count(&a2, json!({ "path": "/step" })).await, 2);
    // A reset under one prefix leaves the other alone.
    fetch(client().post(b.url("/__admin/reset"))).await;
    assert_eq!(fetch(client().get(a.url("/step"))).await.1, "step-3");
}

#[tokio::test]
async fn a_changed_scenario_file_starts_fresh_while_the_same_content_shares() {
    let Some(redis) = redis() else {
        return;
    };
    let one = scenarios();
    let other = scenarios();
    let a = replica(one.path(), &redis, &[]);
    let b = replica(other.path(), &redis, &[]);
    assert_eq!(fetch(client().get(a.url("/step"))).await.1, "step-1");
    assert_eq!(fetch(client().get(b.url("/step"))).await.1, "step-2");

    // B's copy of the file changes (another description): its script starts over.
    let mut doc: Value =
        serde_json::from_str(&std::fs::read_to_string(other.path().join("script.json")).unwrap())
            .unwrap();
    doc["description"] = json!("changed");
    other.write_json("script.json", &doc);
    let (status, _) = fetch(client().post(b.url("/__admin/reload"))).await;
    assert_eq!(status, 200);
    assert_eq!(fetch(client().get(b.url("/step"))).await.1, "step-1");
    assert_eq!(fetch(client().get(a.url("/step"))).await.1, "step-3");
}

#[tokio::test]
async fn wiremock_scenarios_and_journal_are_shared_across_replicas() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = Scenarios::new();
    dir.write_json(
        "mappings/todo.json",
        &json!({ "mappings": [
            { "scenarioName": "todo", "requiredScenarioState": "Started",
              "request": { "method": "GET", "url": "/todo" },
              "response": { "status": 200, "body": "empty" } },
            { "scenarioName": "todo", "requiredScenarioState": "Started",
              "newScenarioState": "added",
              "request": { "method": "POST", "url": "/todo" },
              "response": { "status": 201 } },
            { "scenarioName": "todo", "requiredScenarioState": "added",
              "request": { "method": "GET", "url": "/todo" },
              "response": { "status": 200, "body": "milk" } }
        ] }),
    );
    let (a, b) = (
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    );

    assert_eq!(fetch(client().get(b.url("/todo"))).await.1, "empty");
    assert_eq!(fetch(client().post(a.url("/todo"))).await.0, 201);
    assert_eq!(fetch(client().get(b.url("/todo"))).await.1, "milk");
    let (_, listed) = fetch_json(client().get(a.url("/__admin/scenarios"))).await;
    assert_eq!(listed["scenarios"][0]["state"], "added", "{listed}");

    // WireMock's journal endpoints see both replicas' requests.
    let (_, counted) = fetch_json(
        client()
            .post(b.url("/__admin/requests/count"))
            .json(&json!({ "method": "GET", "url": "/todo" })),
    )
    .await;
    assert_eq!(counted["count"], 2, "{counted}");
    let (_, events) = fetch_json(client().get(a.url("/__admin/requests"))).await;
    assert_eq!(events["meta"]["total"], 3, "{events}");

    // Setting the state through one replica's WireMock API moves it for all.
    let (status, _) = fetch(
        client()
            .put(b.url("/__admin/scenarios/todo/state"))
            .json(&json!({ "state": "Started" })),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(fetch(client().get(a.url("/todo"))).await.1, "empty");
}

#[tokio::test]
async fn a_store_that_stops_answering_bounds_every_request_by_the_timeout() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let a = replica(dir.path(), &redis, &[]);
    assert_eq!(fetch(client().get(a.url("/step"))).await.1, "step-1");
    let pid = redis.child.as_ref().map(Child::id).expect("redis pid");

    // Act: Redis hangs (stopped, its socket open but silent).
    let signal = |sig: &str| {
        let ok = Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill {sig} {pid}");
    };
    signal("-STOP");
    let started = Instant::now();
    let stateful = fetch(client().get(a.url("/step"))).await;
    let stateful_took = started.elapsed();
    let stateless = fetch(client().get(a.url("/ping"))).await;
    let total = started.elapsed();
    signal("-CONT");

    // Assert: a 503 after about the timeout (500 ms here), never a hang; the plain route
    // answers too (its journal write is skipped while the store is known to be away).
    assert_eq!(stateful.0, 503, "{}", stateful.1);
    assert!(stateful_took < Duration::from_secs(3), "{stateful_took:?}");
    assert_eq!(stateless, (200, "pong".into()));
    assert!(total < Duration::from_secs(4), "{total:?}");
}

/// `examples/replicas/…`.
fn example(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/replicas")
        .join(rel)
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    use serde::Deserialize as _;
    let text = std::fs::read_to_string(path).expect("read the example");
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|doc| Value::deserialize(doc).expect("valid YAML"))
        .collect()
}

#[test]
fn the_compose_example_runs_two_replicas_on_one_redis_behind_a_balancer() {
    let compose = &yaml_docs(&example("docker-compose.yml"))[0];
    let services = compose["services"].as_object().expect("services");
    let replicas: Vec<&Value> = services
        .values()
        .filter(|s| s["environment"]["UNDERSTUDY_STATE_STORE"].is_string())
        .collect();
    assert_eq!(replicas.len(), 2, "{compose}");
    assert!(services["redis"]["image"].is_string(), "{compose}");
    for r in &replicas {
        assert_eq!(
            r["environment"]["UNDERSTUDY_STATE_STORE"],
            "redis://redis:6379"
        );
        assert_eq!(r["build"]["context"], "../..");
    }
    let nginx = std::fs::read_to_string(example("nginx.conf")).expect("nginx.conf");
    for name in services.keys().filter(|k| k.starts_with("understudy-")) {
        assert!(nginx.contains(&format!("server {name}:8080;")), "{name}");
    }
    let out = crate::util::validate(&example("scenarios"));
    assert!(out.status.success(), "{out:?}");
}

#[test]
fn the_kubernetes_example_runs_n_replicas_with_configmap_scenarios_and_redis() {
    let docs: Vec<Value> = ["redis.yaml", "scenarios-configmap.yaml", "understudy.yaml"]
        .iter()
        .flat_map(|f| yaml_docs(&example(&format!("k8s/{f}"))))
        .collect();
    let find = |kind: &str, name: &str| {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind} {name}"))
    };
    let deployment = find("Deployment", "understudy");
    assert!(deployment["spec"]["replicas"].as_u64() >= Some(2));
    let pod = &deployment["spec"]["template"]["spec"];
    let env = pod["containers"][0]["env"].as_array().expect("env");
    let store = env
        .iter()
        .find(|e| e["name"] == "UNDERSTUDY_STATE_STORE")
        .expect("UNDERSTUDY_STATE_STORE");
    assert_eq!(store["value"], "redis://redis:6379");
    assert_eq!(pod["volumes"][0]["configMap"]["name"], "mock-scenarios");
    assert!(pod["containers"][0]["volumeMounts"][0]["subPath"].is_null());
    find("Service", "understudy");
    find("Deployment", "redis");
    find("Service", "redis");

    // The ConfigMap's scenarios load.
    let dir = Scenarios::new();
    let data = find("ConfigMap", "mock-scenarios")["data"]
        .as_object()
        .expect("data");
    for (file, text) in data {
        dir.write(file, text.as_str().expect("text"));
    }
    let out = crate::util::validate(dir.path());
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test]
async fn the_journal_stream_on_one_replica_shows_requests_answered_by_another() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let (a, b) = (
        replica(dir.path(), &redis, &[]),
        replica(dir.path(), &redis, &[]),
    );
    fetch(client().get(a.url("/ping?before=1"))).await;
    let mut resp = client()
        .get(a.url("/__admin/requests/stream"))
        .send()
        .await
        .expect("open the stream");
    assert_eq!(resp.status(), 200);

    // Act: a request answered by the other replica.
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("event: ready") {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .expect("the stream opens")
            .expect("read")
            .expect("not ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    fetch(client().get(b.url("/ping?from=b"))).await;

    // Assert: A's stream shows it, with the shared journal's id.
    while !text.contains("\"from\":\"b\"") {
        let chunk = tokio::time::timeout_at(deadline, resp.chunk())
            .await
            .unwrap_or_else(|_| panic!("no event for B's request: {text}"))
            .expect("read")
            .expect("not ended");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(!text.contains("\"before\""), "only what came after: {text}");
    let (_, journal) = fetch_json(client().get(a.url("/__admin/requests"))).await;
    let id = journal["requests"][1]["id"].as_u64().expect("an id");
    assert_eq!(journal["requests"][1]["query"]["from"], "b");
    assert!(text.contains(&format!("id: {id}\n")), "{text}");
}

#[tokio::test]
async fn the_shared_journal_is_bounded_by_bytes_and_cuts_bodies() {
    let Some(redis) = redis() else {
        return;
    };
    let dir = scenarios();
    let flags = ["--journal-max-bytes", "20000", "--journal-body-bytes", "8"];
    let (a, b) = (
        replica(dir.path(), &redis, &flags),
        replica(dir.path(), &redis, &flags),
    );
    let body = "x".repeat(5000);
    for i in 0..40 {
        let server = if i % 2 == 0 { &a } else { &b };
        fetch(client().post(server.url("/nowhere")).body(body.clone())).await;
    }
    let (_, journal) = fetch_json(client().get(b.url("/__admin/requests"))).await;
    let kept = journal["requests"].as_array().expect("requests");
    let evicted = journal["evicted"].as_u64().expect("evicted");
    assert!(evicted > 0, "{journal}");
    assert_eq!(kept.len() as u64 + evicted, 40);
    assert_eq!(kept[0]["body"], "xxxxxxxx");
    assert_eq!(kept[0]["bodyTruncated"], true);
}
