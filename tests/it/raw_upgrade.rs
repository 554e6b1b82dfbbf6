//! Raw protocol upgrades (`upgrade`): the 101 switch, then bytes echoed as sent until the
//! client closes, bytes sent along with the head included; 426 without the upgrade token.

use std::net::Shutdown;

use serde_json::json;

use crate::util::{
    Scenarios, Server, connect, get_request, head_end, read_exact_n, read_head, read_to_close,
    send, serve_scenario, text,
};

fn upgrade_server() -> (Scenarios, Server) {
    serve_scenario(
        "tunnel.json",
        &json!({ "name": "tunnel", "routes": [ { "id": "echo",
            "request": { "method": "GET", "path": "/tunnel" },
            "response": { "status": 101, "upgrade": { "protocol": "echo-proto" } } } ] }),
    )
}

#[test]
fn raw_upgrade_switches_then_echoes_bytes_until_the_client_closes() {
    // Arrange
    let (_dir, server) = upgrade_server();
    let mut stream = connect(server.addr);
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();

    // Act: switch.
    send(
        &mut stream,
        b"GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\n",
    );
    let head = read_head(&mut stream);

    // Assert: the 101 head, exactly these lines, and nothing after it yet.
    let head_text = text(&head);
    assert!(
        head_text.ends_with("\r\n\r\n"),
        "nothing follows the 101 head before the client speaks: {head_text:?}"
    );
    let lines: Vec<&str> = head_text.trim_end().split("\r\n").collect();
    assert_eq!(
        lines[0], "HTTP/1.1 101 Switching Protocols",
        "{head_text:?}"
    );
    assert!(lines.contains(&"upgrade: echo-proto"), "{head_text:?}");
    assert!(lines.contains(&"connection: upgrade"), "{head_text:?}");
    assert!(
        !lines.iter().any(|l| {
            let l = l.to_ascii_lowercase();
            l.starts_with("transfer-encoding:") || l.starts_with("content-length:")
        }),
        "no body framing on a 101: {head_text:?}"
    );

    // Act + Assert: echo round trips, text, binary and a large block.
    for chunk in [
        b"hello\n".to_vec(),
        vec![0u8, 1, 2, 255, 254, b'\r', b'\n', 0],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
    ] {
        send(&mut stream, &chunk);
        assert_eq!(
            read_exact_n(&mut stream, chunk.len()),
            chunk,
            "echoed as sent"
        );
    }
    send(&mut stream, &big);
    assert!(
        read_exact_n(&mut stream, big.len()) == big,
        "70 kB echoed intact"
    );

    // Act: the client half-closes; the server closes its side.
    stream.shutdown(Shutdown::Write).expect("half-close");
    let trailing = read_to_close(&mut stream);

    // Assert
    assert!(
        trailing.is_empty(),
        "nothing but EOF after the half-close: {:?}",
        text(&trailing)
    );
}

#[test]
fn raw_upgrade_echoes_bytes_sent_with_the_request_head() {
    // Arrange: a client that does not wait for the 101 before speaking the new protocol.
    let (_dir, server) = upgrade_server();
    let mut stream = connect(server.addr);

    // Act: the head and the first bytes in one write, then more bytes later.
    send(
        &mut stream,
        b"GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo-proto\r\n\r\nearly bytes",
    );
    let mut got = read_head(&mut stream);
    let end = head_end(&got).expect("a head");
    while got.len() < end + b"early bytes".len() {
        got.extend(read_exact_n(&mut stream, 1));
    }
    let (head, early) = got.split_at(end);
    send(&mut stream, b"later");
    let later = read_exact_n(&mut stream, b"later".len());

    // Assert: nothing sent early is lost, and the echo goes on afterwards.
    assert!(text(head).starts_with("HTTP/1.1 101 "), "{:?}", text(head));
    assert_eq!(early, b"early bytes");
    assert_eq!(later, b"later");
}

#[test]
fn request_without_the_upgrade_token_gets_426() {
    // Arrange
    let (_dir, server) = upgrade_server();

    // Act
    let plain = server.raw(&get_request("/tunnel"));
    let other = server.raw(
        "GET /tunnel HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, close\r\nUpgrade: h2c-ish\r\n\r\n",
    );

    // Assert
    for resp in [plain, other] {
        assert!(
            resp.status_line.starts_with("HTTP/1.1 426 "),
            "{:?}",
            text(&resp.bytes)
        );
        assert_eq!(
            resp.header("upgrade"),
            Some("echo-proto"),
            "{:?}",
            resp.headers
        );
    }
}
