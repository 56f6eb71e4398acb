//! Upgraded connections: after a 101 (or a takeover by the embedder) bytes pass unframed.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use common::{serve, Running};
use ugn_server::{EventKind, ServerConfig};

/// An echo server in the new protocol: each batch of bytes comes back upper-cased, "bye" makes
/// the server end its side, and the client's end is answered with "END". `/takeover` is
/// detached with the app writing its own 101; any other upgrade is answered with a 101 by
/// `respond`; a request without an upgrade gets a plain 200.
fn start() -> Running {
    serve(ServerConfig::default(), |server, event| {
        let id = event.id;
        match event.kind {
            EventKind::Request => {
                let view = server.request(id).unwrap();
                let (upgrade, takeover) = (
                    view.head.upgrade,
                    view.head.target.get(view.text) == b"/takeover",
                );
                if takeover {
                    server.detach(id).unwrap();
                    server
            .write(
              id,
              b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n",
            )
            .unwrap();
                } else if upgrade {
                    server
                        .respond(
                            id,
                            b"101 Switching Protocols",
                            &[(b"Upgrade", b"echo")],
                            b"hello",
                            false,
                        )
                        .unwrap();
                } else {
                    server.respond(id, b"200 OK", &[], b"plain", true).unwrap();
                }
            }
            EventKind::Body => {
                let bytes = server.body_chunk(id).unwrap().to_ascii_uppercase();
                server.body_consumed(id);
                if bytes.ends_with(b"BYE") {
                    server.write(id, &bytes).unwrap();
                    server.end(id, &[]).unwrap();
                } else {
                    server.write(id, &bytes).unwrap();
                }
            }
            EventKind::BodyEnd => {
                server.write(id, b"END").unwrap();
                server.end(id, &[]).unwrap();
            }
            _ => {}
        }
    })
}

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

/// Reads until `want` has arrived in full (or the connection ends).
fn read_until(s: &mut TcpStream, want: &[u8]) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(want.len()).any(|w| w == want) {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    got
}

const UPGRADE: &[u8] =
    b"GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n";

#[test]
fn a_101_turns_the_connection_into_a_byte_stream_both_ways() {
    let server = start();
    let mut s = connect(server.addr);
    // The first bytes of the new protocol travel with the request head.
    s.write_all(&[UPGRADE, b"early"].concat()).unwrap();
    let got = String::from_utf8(read_until(&mut s, b"EARLY")).unwrap();
    assert!(
        got.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{got}"
    );
    assert!(
        got.contains("Upgrade: echo\r\n") && got.contains("Connection: upgrade\r\n\r\nhello"),
        "{got}"
    );
    assert!(got.ends_with("helloEARLY"), "{got}");
    for word in ["one", "two", "GET / HTTP/1.1\r\n\r\n"] {
        s.write_all(word.as_bytes()).unwrap();
        let back = read_until(&mut s, word.to_ascii_uppercase().as_bytes());
        assert_eq!(
            back,
            word.to_ascii_uppercase().as_bytes(),
            "HTTP-looking bytes are data now"
        );
    }
    s.write_all(b"bye").unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(
        rest, b"BYE",
        "the server ended its side after its last bytes"
    );
}

#[test]
fn the_embedder_may_take_over_and_write_its_own_handshake() {
    let server = start();
    let mut s = connect(server.addr);
    s.write_all(
        b"GET /takeover HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n",
    )
    .unwrap();
    let head = read_until(&mut s, b"\r\n\r\n");
    assert_eq!(
        head,
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n"
    );
    s.write_all(b"abc").unwrap();
    assert_eq!(read_until(&mut s, b"ABC"), b"ABC");
    // The client ends its side: the app is told and answers before closing.
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"END");
}

#[test]
fn a_101_for_a_request_that_asked_no_upgrade_switches_nothing_and_closes() {
    let server = serve(ServerConfig::default(), |server, event| {
        if event.kind == EventKind::Request {
            server
                .respond(event.id, b"101 Switching Protocols", &[], b"", true)
                .unwrap();
        }
    });
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    assert_eq!(
        text.matches("HTTP/1.1").count(),
        1,
        "the pipelined request is not served: {text}"
    );
}

#[test]
fn bytes_and_the_end_of_stream_arriving_together_are_both_told() {
    let server = start();
    for _ in 0..20 {
        let mut s = connect(server.addr);
        s.write_all(UPGRADE).unwrap();
        read_until(&mut s, b"hello");
        // The last bytes and the FIN leave in one go, so they can arrive in one readiness event.
        s.write_all(b"last").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"LASTEND", "the bytes, then the end, reached the app");
    }
}
