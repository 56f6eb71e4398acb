//! HTTP/2 streams served through the same API as HTTP/1.1, against the `h2` crate's client.

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{continue_stream, serve, Running};
use ugn_http::AllowList;
use ugn_server::{ConnId, EventKind, Http2Settings, ServerConfig};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn h2c_config() -> ServerConfig {
    ServerConfig {
        http2: Some(Http2Settings {
            cleartext: true,
            ..Http2Settings::default()
        }),
        ..ServerConfig::default()
    }
}

/// What the application saw, for the tests to check.
#[derive(Default)]
struct Seen {
    closed: Vec<ConnId>,
    body_errors: Vec<ConnId>,
    requests: usize,
}

/// `/echo` answers with the request body once it has all arrived, `/stream/N` streams N bytes
/// (resuming on Drain) and ends with a trailer, anything else describes the request.
fn start(config: ServerConfig, seen: Arc<Mutex<Seen>>) -> Running {
    let mut bodies: HashMap<ConnId, Vec<u8>> = HashMap::new();
    let mut streams: HashMap<ConnId, usize> = HashMap::new();
    serve(config, move |server, event| {
        let id = event.id;
        match event.kind {
            EventKind::Request => {
                // A stream reset right after it opened is gone before its request is looked at.
                let Some(view) = server.request(id) else {
                    return;
                };
                seen.lock().unwrap().requests += 1;
                let path = view.head.path.get(view.text).to_vec();
                let host = view
                    .headers
                    .iter()
                    .find(|h| h.name.get(view.text).eq_ignore_ascii_case(b"host"))
                    .map(|h| h.value.get(view.text).to_vec());
                let cookie = view
                    .headers
                    .iter()
                    .find(|h| h.name.get(view.text) == b"cookie")
                    .map(|h| h.value.get(view.text).to_vec());
                let description = format!(
                    "{} {} ? {} http2={} host={} cookie={}",
                    String::from_utf8_lossy(view.head.method.get(view.text)),
                    String::from_utf8_lossy(&path),
                    String::from_utf8_lossy(view.head.query.get(view.text)),
                    view.http2,
                    String::from_utf8_lossy(&host.unwrap_or_default()),
                    String::from_utf8_lossy(&cookie.unwrap_or_default()),
                );
                let complete = view.body.is_some();
                if path == b"/echo" {
                    bodies.insert(id, view.body.unwrap_or_default().to_vec());
                    if complete {
                        let body = bodies.remove(&id).unwrap();
                        server.respond(id, b"200 OK", &[], &body, true).unwrap();
                    }
                } else if path == b"/trailers" {
                    server
                        .respond(
                            id,
                            b"200 OK",
                            &[(b"Trailer", b"X-Checksum")],
                            b"part one, ",
                            false,
                        )
                        .unwrap();
                    server.write(id, b"part two").unwrap();
                    server.end(id, &[(b"X-Checksum", b"abc")]).unwrap();
                } else if let Some(n) = path.strip_prefix(b"/stream/") {
                    server
                        .respond(
                            id,
                            b"200 OK",
                            &[
                                (b"Content-Type", b"application/octet-stream"),
                                (b"Connection", b"keep-alive"),
                            ],
                            b"",
                            false,
                        )
                        .unwrap();
                    streams.insert(id, String::from_utf8_lossy(n).parse().unwrap());
                    continue_stream(server, id, &mut streams);
                } else {
                    server
                        .respond(
                            id,
                            b"200 OK",
                            &[(b"Content-Type", b"text/plain")],
                            description.as_bytes(),
                            true,
                        )
                        .unwrap();
                }
            }
            EventKind::Body => {
                let chunk = server.body_chunk(id).unwrap().to_vec();
                server.body_consumed(id);
                bodies.entry(id).or_default().extend_from_slice(&chunk);
            }
            EventKind::BodyEnd => {
                if let Some(body) = bodies.remove(&id) {
                    server.respond(id, b"200 OK", &[], &body, true).unwrap();
                }
            }
            EventKind::Drain => continue_stream(server, id, &mut streams),
            EventKind::BodyError => seen.lock().unwrap().body_errors.push(id),
            EventKind::Closed => {
                bodies.remove(&id);
                seen.lock().unwrap().closed.push(id);
            }
        }
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

async fn read_body(body: &mut h2::RecvStream) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        out.extend_from_slice(&chunk);
    }
    out
}

/// Sends one request and returns the response head and body.
async fn exchange(
    client: &mut h2::client::SendRequest<Bytes>,
    method: &str,
    uri: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> (http::response::Parts, Vec<u8>) {
    let mut request = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut ready = client.clone().ready().await.unwrap();
    let (response, mut send) = ready
        .send_request(request.body(()).unwrap(), body.is_empty())
        .unwrap();
    if !body.is_empty() {
        send.reserve_capacity(body.len());
        let mut rest = Bytes::copy_from_slice(body);
        while !rest.is_empty() {
            let capacity = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            let chunk = rest.split_to(capacity.min(rest.len()));
            send.send_data(chunk, rest.is_empty()).unwrap();
        }
    }
    let (parts, mut body) = response.await.unwrap().into_parts();
    let bytes = read_body(&mut body).await;
    (parts, bytes)
}

#[test]
fn h2c_requests_reach_the_application_as_http1_heads_do() {
    let server = start(h2c_config(), Arc::default());
    runtime().block_on(async {
        let mut client = connect(server.addr).await;
        let uri = format!("http://{}/a/b?x=1&y=2", server.addr);
        let (parts, body) = exchange(
            &mut client,
            "GET",
            &uri,
            b"",
            &[("cookie", "a=1"), ("cookie", "b=2")],
        )
        .await;
        assert_eq!(parts.status, 200);
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!(
                "GET /a/b ? x=1&y=2 http2=true host={} cookie=a=1; b=2",
                server.addr
            )
        );
        assert_eq!(parts.headers["content-type"], "text/plain");
        assert_eq!(parts.headers["server"], "ugn");
        assert!(parts.headers.contains_key("date"));
        assert_eq!(
            parts.headers["content-length"],
            format!(
                "GET /a/b ? x=1&y=2 http2=true host={} cookie=a=1; b=2",
                server.addr
            )
            .len()
            .to_string()
        );
    });
}

#[test]
fn a_streamed_response_ends_with_its_trailers() {
    let server = start(h2c_config(), Arc::default());
    runtime().block_on(async {
        let client = connect(server.addr).await;
        let mut ready = client.ready().await.unwrap();
        let request = http::Request::builder()
            .uri(format!("http://{}/trailers", server.addr))
            .body(())
            .unwrap();
        let (response, _) = ready.send_request(request, true).unwrap();
        let (parts, mut body) = response.await.unwrap().into_parts();
        assert_eq!(parts.status, 200);
        assert_eq!(read_body(&mut body).await, b"part one, part two");
        let trailers = body.trailers().await.unwrap().expect("trailers");
        assert_eq!(trailers["x-checksum"], "abc");
    });
}

#[test]
fn bodies_larger_than_the_flow_control_windows_pass_both_ways() {
    let server = start(h2c_config(), Arc::default());
    runtime().block_on(async {
        let mut client = connect(server.addr).await;
        let upload: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
        let (parts, body) = exchange(
            &mut client,
            "POST",
            &format!("http://{}/echo", server.addr),
            &upload,
            &[],
        )
        .await;
        assert_eq!(parts.status, 200);
        assert_eq!(parts.headers["content-length"], "1048576");
        assert!(body == upload, "the echo differs");
        // Streamed past the engine's high-water mark, resumed by Drain events.
        let (parts, body) = exchange(
            &mut client,
            "GET",
            &format!("http://{}/stream/3000000", server.addr),
            b"",
            &[],
        )
        .await;
        assert_eq!(parts.status, 200);
        assert!(
            !parts.headers.contains_key("connection"),
            "connection-specific fields are dropped"
        );
        assert_eq!(body.len(), 3_000_000);
    });
}

#[test]
fn a_hundred_concurrent_streams_on_one_connection_are_all_answered() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = start(h2c_config(), seen.clone());
    runtime().block_on(async {
        let client = connect(server.addr).await;
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let mut client = client.clone();
                let uri = format!("http://{}/echo", server.addr);
                tokio::spawn(async move {
                    let body = format!("stream {i}").repeat(1000);
                    let (parts, echoed) =
                        exchange(&mut client, "POST", &uri, body.as_bytes(), &[]).await;
                    assert_eq!(parts.status, 200);
                    echoed == body.as_bytes()
                })
            })
            .collect();
        for task in tasks {
            assert!(task.await.unwrap());
        }
    });
    assert_eq!(seen.lock().unwrap().requests, 100);
}

#[test]
fn a_stream_reset_mid_body_ends_only_that_request() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = start(h2c_config(), seen.clone());
    runtime().block_on(async {
        let mut client = connect(server.addr).await;
        let mut ready = client.clone().ready().await.unwrap();
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/echo", server.addr))
            .body(())
            .unwrap();
        let (_response, mut send) = ready.send_request(request, false).unwrap();
        send.send_data(Bytes::from(vec![b'x'; 1000]), false)
            .unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        send.send_reset(h2::Reason::CANCEL);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let (parts, body) = exchange(
            &mut client,
            "GET",
            &format!("http://{}/after", server.addr),
            b"",
            &[],
        )
        .await;
        assert_eq!(parts.status, 200);
        assert!(body.starts_with(b"GET /after"));
    });
    let seen = seen.lock().unwrap();
    assert_eq!(seen.requests, 2);
    assert_eq!(seen.body_errors.len(), 1, "the reset request's body failed");
    assert_eq!(
        seen.closed, seen.body_errors,
        "and the app heard that it is gone"
    );
}

#[test]
fn the_preface_from_an_untrusted_peer_is_read_as_http1() {
    let config = ServerConfig {
        forwarded_allow_ips: AllowList::parse("10.0.0.1").unwrap(),
        ..h2c_config()
    };
    let server = start(config, Arc::default());
    let mut socket = TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.write_all(PREFACE).unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 4"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn without_http1_a_plain_request_gets_505() {
    let config = ServerConfig {
        http1: false,
        ..h2c_config()
    };
    let server = start(config, Arc::default());
    let mut socket = TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut answer = Vec::new();
    let _ = socket.read_to_end(&mut answer);
    assert!(
        answer.starts_with(b"HTTP/1.1 505 "),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[test]
fn a_preface_split_across_reads_is_still_recognised() {
    let server = start(h2c_config(), Arc::default());
    let mut socket = TcpStream::connect(server.addr).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    socket.write_all(&PREFACE[..10]).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    socket.write_all(&PREFACE[10..]).unwrap();
    // An empty SETTINGS frame: the server answers with its own SETTINGS frame (type 4).
    socket.write_all(&[0, 0, 0, 4, 0, 0, 0, 0, 0]).unwrap();
    let mut head = [0u8; 9];
    socket.read_exact(&mut head).unwrap();
    assert_eq!(
        head[3], 4,
        "a SETTINGS frame, not an HTTP/1.1 answer: {head:?}"
    );
}

#[test]
fn a_body_that_stops_arriving_gets_408_after_the_body_timeout() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let config = ServerConfig {
        body_timeout: Duration::from_millis(300),
        ..h2c_config()
    };
    let server = start(config, seen.clone());
    runtime().block_on(async {
        let mut client = connect(server.addr).await;
        let mut ready = client.clone().ready().await.unwrap();
        let request = http::Request::builder()
            .method("POST")
            .uri(format!("http://{}/echo", server.addr))
            .body(())
            .unwrap();
        let (response, mut send) = ready.send_request(request, false).unwrap();
        send.send_data(Bytes::from_static(b"the start of a body"), false)
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(5), response)
            .await
            .expect("answered in time")
            .unwrap();
        assert_eq!(response.status(), 408);
        // The connection serves on.
        let (parts, _) = exchange(
            &mut client,
            "GET",
            &format!("http://{}/after", server.addr),
            b"",
            &[],
        )
        .await;
        assert_eq!(parts.status, 200);
    });
    let seen = seen.lock().unwrap();
    assert_eq!((seen.body_errors.len(), seen.closed.len()), (1, 1));
}

#[test]
fn rapid_resets_end_at_most_their_own_connection() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = start(h2c_config(), seen.clone());
    runtime().block_on(async {
        let client = connect(server.addr).await;
        // The "rapid reset" attack (CVE-2023-44487): streams opened and cancelled at once, faster
        // than any app could answer them. h2 bounds the resets it holds and ends such a connection.
        let mut sent = 0;
        for _ in 0..5000 {
            let Ok(mut ready) = client.clone().ready().await else {
                break;
            };
            let request = http::Request::builder()
                .uri(format!("http://{}/x", server.addr))
                .body(())
                .unwrap();
            let Ok((_response, mut send)) = ready.send_request(request, false) else {
                break;
            };
            send.send_reset(h2::Reason::CANCEL);
            sent += 1;
            tokio::task::yield_now().await;
        }
        assert!(
            sent < 5000,
            "the server ended the connection after {sent} resets"
        );
        let mut fresh = connect(server.addr).await;
        let (parts, _) = exchange(
            &mut fresh,
            "GET",
            &format!("http://{}/still", server.addr),
            b"",
            &[],
        )
        .await;
        assert_eq!(parts.status, 200);
    });
    let seen = seen.lock().unwrap();
    assert!(
        seen.closed.len() >= seen.requests - 1,
        "every reset stream the app saw was closed for it"
    );
}
