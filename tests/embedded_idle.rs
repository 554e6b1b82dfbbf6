//! An embedded server keeps its worker polling for a moment after each request (so a test's
//! next request is read at once), and sleeps once that moment has passed: a server a test
//! holds without using it, or one idle in the pool, costs no CPU. Its own test binary: it
//! reads the whole process's CPU time, which other tests running in parallel would add to.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::json;
use understudy::MockServer;

/// The process's user and system CPU time so far, in clock ticks (`/proc/self/stat`).
fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn ticks_per_second() -> u64 {
    let out = std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("getconf CLK_TCK");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(100)
}

fn get(server: &MockServer, conn: &mut TcpStream) {
    conn.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut answer = [0u8; 512];
    let mut got = 0;
    while !answer[..got].ends_with(b"ok") {
        let n = conn.read(&mut answer[got..]).expect("read");
        assert!(n > 0, "{} closed the connection", server.url());
        got += n;
    }
    assert!(answer.starts_with(b"HTTP/1.1 200 OK"));
}

fn inline() -> MockServer {
    MockServer::from_json(json!({
        "routes": [ { "request": { "path": "/x" }, "response": { "status": 200, "body": "ok" } } ]
    }))
    .expect("start")
}

/// CPU the process uses while this thread sleeps for `idle`, in milliseconds.
fn cpu_while_sleeping(idle: Duration) -> u64 {
    let before = cpu_ticks();
    std::thread::sleep(idle);
    (cpu_ticks() - before) * 1000 / ticks_per_second()
}

#[test]
fn a_server_left_alone_sleeps() {
    let idle = Duration::from_millis(800);
    // A worker that kept polling would use the whole of it; a sleeping one next to nothing.
    let bound = 200;

    // Held by a test after its requests.
    let server = inline();
    let mut conn = TcpStream::connect(server.addr()).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    for _ in 0..50 {
        get(&server, &mut conn);
    }
    std::thread::sleep(Duration::from_millis(50));
    let held = cpu_while_sleeping(idle);
    assert!(
        held < bound,
        "{held} ms of CPU in {idle:?} while a test held a server it no longer used"
    );

    // Back in the pool, then taken again by a test that has not sent anything yet.
    drop(conn);
    drop(server);
    let pooled = cpu_while_sleeping(idle / 2);
    let taken = inline();
    std::thread::sleep(Duration::from_millis(50));
    let unused = cpu_while_sleeping(idle);
    assert!(
        pooled < bound && unused < bound,
        "{pooled} ms of CPU in {:?} with the server pooled, {unused} ms in {idle:?} after a \
         test took it and sent nothing",
        idle / 2
    );
    // It still answers at once.
    let mut conn = TcpStream::connect(taken.addr()).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    get(&taken, &mut conn);
}
