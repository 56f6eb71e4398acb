//! The engine driven by a plain loop on its own thread, spoken to over real TCP sockets.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use ugn_http::{AllowList, ProxyProtocol};
mod common;

use common::continue_stream;
use ugn_server::{ConnId, Event, EventKind, Server, ServerConfig};

/// What the test app does with a complete request.
#[derive(Clone, Copy)]
enum App {
    /// Answers "METHOD TARGET BODY" with a known length.
    Echo,
    /// Streams `n` bytes in 64 KiB writes, waiting for drain events when told the buffer is full.
    Big(usize),
    /// Answers like Echo, then stops the server before the batch is flushed (a worker retiring
    /// after its last request).
    EchoThenShutdown,
    /// Never answers (an app still at work), so the test can watch for Closed events.
    Silent,
    /// Answers "PEER PORT SCHEME": who the engine says the client is.
    Who,
    /// Streams `abc` and ends with an `X-Sum` trailer.
    Trailer,
}

struct Running {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    shutdown: Arc<AtomicBool>,
    /// Closed events the server reported.
    closed: Arc<AtomicUsize>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

struct Pending {
    method: String,
    target: String,
    body: Vec<u8>,
    who: String,
}

fn start(config: ServerConfig, app: App) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.into_raw_fd();
    let stop = Arc::new(AtomicBool::new(false));
    let shutdown = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicUsize::new(0));
    let (stop2, shutdown2, closed2) = (stop.clone(), shutdown.clone(), closed.clone());
    let thread = thread::spawn(move || {
        // SAFETY: the fd is a listening socket this thread now owns alone.
        let mut server = unsafe { Server::from_listener_fds(&[fd], config) }.unwrap();
        let mut pending: HashMap<ConnId, Pending> = HashMap::new();
        let mut streams: HashMap<ConnId, usize> = HashMap::new();
        while !stop2.load(Ordering::SeqCst) {
            if shutdown2.swap(false, Ordering::SeqCst) {
                server.shutdown();
            }
            server.poll_io(Some(Duration::from_millis(5))).unwrap();
            while let Some(event) = server.next_event() {
                if event.kind == EventKind::Closed {
                    closed2.fetch_add(1, Ordering::SeqCst);
                }
                handle(&mut server, event, app, &mut pending, &mut streams);
            }
            server.flush();
            server.tick(Instant::now());
        }
    });
    Running {
        addr,
        stop,
        shutdown,
        closed,
        thread: Some(thread),
    }
}

fn handle(
    server: &mut Server,
    Event { kind, id }: Event,
    app: App,
    pending: &mut HashMap<ConnId, Pending>,
    streams: &mut HashMap<ConnId, usize>,
) {
    match kind {
        EventKind::Request => {
            let view = server.request(id).unwrap();
            let p = Pending {
                method: String::from_utf8_lossy(view.head.method.get(view.text)).into_owned(),
                target: String::from_utf8_lossy(view.head.target.get(view.text)).into_owned(),
                body: view.body.map(<[u8]>::to_vec).unwrap_or_default(),
                who: format!(
                    "{} {} {}",
                    String::from_utf8_lossy(view.peer.get(view.text)),
                    view.peer_port,
                    if view.https { "https" } else { "http" }
                ),
            };
            if view.body.is_some() {
                server.body_consumed(id);
                finish(server, id, app, p, streams);
            } else {
                pending.insert(id, p);
            }
        }
        EventKind::Body => {
            let chunk = server.body_chunk(id).unwrap().to_vec();
            server.body_consumed(id);
            pending.get_mut(&id).unwrap().body.extend_from_slice(&chunk);
        }
        EventKind::BodyEnd => {
            let p = pending.remove(&id).unwrap();
            finish(server, id, app, p, streams);
        }
        EventKind::Drain => continue_stream(server, id, streams),
        EventKind::BodyError | EventKind::Closed => {
            pending.remove(&id);
            streams.remove(&id);
        }
    }
}

fn finish(
    server: &mut Server,
    id: ConnId,
    app: App,
    p: Pending,
    streams: &mut HashMap<ConnId, usize>,
) {
    match app {
        App::Echo | App::EchoThenShutdown => {
            let mut body = format!("{} {} ", p.method, p.target).into_bytes();
            body.extend_from_slice(&p.body);
            server
                .respond(
                    id,
                    b"200 OK",
                    &[(b"Content-Type", b"text/plain")],
                    &body,
                    true,
                )
                .unwrap();
            if let App::EchoThenShutdown = app {
                server.shutdown();
            }
        }
        App::Silent => {}
        App::Trailer => {
            server
                .respond(id, b"200 OK", &[(b"Trailer", b"X-Sum")], b"abc", false)
                .unwrap();
            server.end(id, &[(b"X-Sum", b"42")]).unwrap();
        }
        App::Who => {
            server
                .respond(id, b"200 OK", &[], p.who.as_bytes(), true)
                .unwrap();
        }
        App::Big(n) => {
            server.respond(id, b"200 OK", &[], &[], false).unwrap();
            streams.insert(id, n);
            continue_stream(server, id, streams);
        }
    }
}

/// How long a test waits for the engine before calling it a failure: a passing test never waits it
/// out, so it is sized for a machine far slower and busier than a developer's.
const PATIENCE: Duration = Duration::from_secs(30);

fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(PATIENCE)).unwrap();
    s
}

/// Reads until `n` complete responses (with Content-Length or chunked bodies) have arrived.
fn read_responses(s: &mut TcpStream, n: usize) -> Vec<Response> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut tmp = [0u8; 65536];
    while out.len() < n {
        if let Some((resp, used)) = parse_response(&buf) {
            out.push(resp);
            buf.drain(..used);
            continue;
        }
        let got = s.read(&mut tmp).unwrap();
        assert!(
            got > 0,
            "connection closed after {} responses: {:?}",
            out.len(),
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&tmp[..got]);
    }
    out
}

type Response = (u16, Vec<(String, String)>, Vec<u8>);

fn parse_response(buf: &[u8]) -> Option<(Response, usize)> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..end - 4]).unwrap();
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    if let Some(len) = get("content-length") {
        let len: usize = len.parse().unwrap();
        if buf.len() < end + len {
            return None;
        }
        return Some((
            (status, headers.clone(), buf[end..end + len].to_vec()),
            end + len,
        ));
    }
    if get("transfer-encoding").as_deref() == Some("chunked") {
        let mut at = end;
        let mut body = Vec::new();
        loop {
            let line_end = buf[at..].windows(2).position(|w| w == b"\r\n")? + at;
            let size = usize::from_str_radix(std::str::from_utf8(&buf[at..line_end]).unwrap(), 16)
                .unwrap();
            at = line_end + 2;
            if size == 0 {
                if buf.len() < at + 2 {
                    return None;
                }
                return Some(((status, headers, body), at + 2));
            }
            if buf.len() < at + size + 2 {
                return None;
            }
            body.extend_from_slice(&buf[at..at + size]);
            at += size + 2;
        }
    }
    Some(((status, headers, Vec::new()), end))
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// Reads until the engine closes the connection; fails if the read times out first.
fn read_until_engine_closes(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    if let Err(err) = s.read_to_end(&mut out) {
        panic!("the engine did not close the connection: {err}");
    }
    out
}

#[test]
fn answers_a_request_with_framing_and_standard_headers() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(b"GET /hello?x=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let r = read_responses(&mut s, 1).remove(0);
    assert_eq!(r.0, 200);
    assert_eq!(r.2, b"GET /hello?x=1 ");
    assert_eq!(header(&r.1, "content-length"), Some("15"));
    assert_eq!(header(&r.1, "server"), Some("ugn"));
    assert!(header(&r.1, "date").is_some_and(|d| d.ends_with("GMT")));
}

#[test]
fn answers_pipelined_requests_in_order_on_one_connection() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    let mut batch = Vec::new();
    for i in 0..20 {
        batch.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
    }
    s.write_all(&batch).unwrap();
    let responses = read_responses(&mut s, 20);
    for (i, r) in responses.iter().enumerate() {
        assert_eq!(r.2, format!("GET /{i} ").as_bytes());
    }
}

#[test]
fn decodes_chunked_bodies_split_across_writes() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(
        b"POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhel",
    )
    .unwrap();
    thread::sleep(Duration::from_millis(50));
    s.write_all(b"lo\r\n6\r\n world\r\n0\r\nX-Trailer: yes\r\n\r\n")
        .unwrap();
    let r = read_responses(&mut s, 1).remove(0);
    assert_eq!(r.2, b"POST /up hello world");
}

#[test]
fn streams_a_large_body_to_a_slow_reader_without_losing_bytes() {
    const SIZE: usize = 8 * 1024 * 1024;
    let server = start(ServerConfig::default(), App::Big(SIZE));
    let mut s = connect(server.addr);
    s.write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    // Let the server fill the socket buffers and hit its high-water mark before reading.
    thread::sleep(Duration::from_millis(200));
    let r = read_responses(&mut s, 1).remove(0);
    assert_eq!(header(&r.1, "transfer-encoding"), Some("chunked"));
    assert_eq!(r.2.len(), SIZE);
}

#[test]
fn large_bodies_sent_straight_to_the_socket_keep_their_place_among_pipelined_responses() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    // Bodies above and below the size written through, with bytes that show any misplaced piece.
    let sizes = [0, 300 * 1024, 10, 100 * 1024, 20 * 1024, 0];
    let bodies: Vec<Vec<u8>> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| (0..n).map(|j| ((i * 7 + j) % 251) as u8).collect())
        .collect();
    let mut raw = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        raw.extend_from_slice(
            format!(
                "POST /{i} HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        );
        raw.extend_from_slice(body);
    }
    let mut writer = s.try_clone().unwrap();
    let sender = thread::spawn(move || writer.write_all(&raw).unwrap());
    // Not reading yet: the socket fills, so some answers are taken only in part by the kernel.
    thread::sleep(Duration::from_millis(200));
    let responses = read_responses(&mut s, bodies.len());
    sender.join().unwrap();
    for (i, (r, body)) in responses.iter().zip(&bodies).enumerate() {
        let mut expected = format!("POST /{i} ").into_bytes();
        expected.extend_from_slice(body);
        assert_eq!(r.0, 200);
        assert!(
            r.2 == expected,
            "response {i}: {} bytes, expected {}",
            r.2.len(),
            expected.len()
        );
    }
}

#[test]
fn refuses_a_malformed_request_with_400_and_closes() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(
        b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    )
    .unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    assert!(text.contains("Connection: close"), "{text}");
    // The engine is still serving.
    let mut s = connect(server.addr);
    s.write_all(b"GET /after HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    assert_eq!(read_responses(&mut s, 1)[0].0, 200);
}

#[test]
fn refuses_an_overlong_request_line_with_414() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    let target = "a".repeat(5000);
    s.write_all(format!("GET /{target} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(text.starts_with("HTTP/1.1 414 "), "{text}");
}

#[test]
fn closes_idle_keep_alive_connections_after_the_timeout() {
    let config = ServerConfig {
        keep_alive: Duration::from_millis(100),
        ..ServerConfig::default()
    };
    let server = start(config, App::Echo);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    read_responses(&mut s, 1);
    assert!(read_until_engine_closes(&mut s).is_empty());
}

#[test]
fn closes_http_1_0_connections_unless_keep_alive_is_asked() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(
        text.starts_with("HTTP/1.0 200 ") || text.starts_with("HTTP/1.1 200 "),
        "{text}"
    );

    let mut s = connect(server.addr);
    s.write_all(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n")
        .unwrap();
    let r = read_responses(&mut s, 2);
    assert_eq!(r[1].2, b"GET /b ");
}

#[test]
fn sends_100_continue_before_reading_the_body() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
        .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"data").unwrap();
    assert_eq!(read_responses(&mut s, 1)[0].2, b"PUT /x data");
}

#[test]
fn holds_new_clients_in_the_backlog_at_the_connection_cap() {
    let config = ServerConfig {
        max_connections: 1,
        ..ServerConfig::default()
    };
    let server = start(config, App::Echo);
    let mut first = connect(server.addr);
    first
        .write_all(b"GET /1 HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_responses(&mut first, 1);
    let mut second = connect(server.addr);
    second
        .write_all(b"GET /2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .unwrap();
    second
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut probe = [0u8; 1];
    assert!(
        second.read(&mut probe).is_err(),
        "the second client was served while the first held the only slot"
    );
    drop(first);
    second
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    assert_eq!(read_responses(&mut second, 1)[0].2, b"GET /2 ");
}

#[test]
fn shutdown_answers_a_keep_alive_client_once_more_with_close_then_closes() {
    let config = ServerConfig {
        linger: Duration::from_millis(300),
        ..ServerConfig::default()
    };
    let server = start(config, App::Echo);
    let mut busy = connect(server.addr);
    busy.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_responses(&mut busy, 1);
    let mut idle = connect(server.addr);
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    read_responses(&mut idle, 1);
    server.shutdown.store(true, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(50));
    busy.write_all(b"GET /next HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut busy)).unwrap();
    assert!(
        text.contains("Connection: close") && text.ends_with("GET /next "),
        "{text}"
    );
    assert!(read_until_engine_closes(&mut idle).is_empty());
}

#[test]
fn a_response_buffered_when_shutdown_begins_is_still_delivered() {
    let server = start(ServerConfig::default(), App::EchoThenShutdown);
    let mut s = connect(server.addr);
    s.write_all(b"GET /last HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
    assert!(text.ends_with("GET /last "), "{text}");
}

#[test]
fn a_client_that_closes_while_the_app_works_is_reported_closed() {
    let server = start(ServerConfig::default(), App::Silent);
    let mut s = connect(server.addr);
    s.write_all(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    thread::sleep(Duration::from_millis(50));
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.closed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(server.closed.load(Ordering::SeqCst), 1);
    assert!(
        read_to_close(&mut s).is_empty(),
        "no response once the client has gone"
    );
}

#[test]
fn listeners_added_after_start_serve_and_removed_ones_refuse() {
    let mut server = unsafe { Server::from_listener_fds(&[], ServerConfig::default()) }.unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // SAFETY: the fd is a listening socket handed over to the server alone.
    let index = unsafe { server.add_listener(listener.into_raw_fd()) }.unwrap();
    assert_eq!(index, 0);
    let mut client = connect(addr);
    client
        .write_all(b"GET /late HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let mut request = None;
    while request.is_none() && Instant::now() < deadline {
        server.poll_io(Some(Duration::from_millis(10))).unwrap();
        request = server.next_event().filter(|e| e.kind == EventKind::Request);
    }
    let id = request.expect("a request through the added listener").id;
    server.respond(id, b"200 OK", &[], b"late", true).unwrap();
    server.flush();
    assert_eq!(read_responses(&mut client, 1)[0].2, b"late");
    server.remove_listener(index);
    assert!(
        TcpStream::connect(addr).is_err(),
        "a removed listener is closed"
    );
}

fn who(server: &Running, raw: &[u8]) -> String {
    let mut s = connect(server.addr);
    s.write_all(raw).unwrap();
    String::from_utf8(read_responses(&mut s, 1).remove(0).2).unwrap()
}

/// The status and body of the one response a refused connection gets before it is closed.
fn refusal(server: &Running, chunks: &[&[u8]]) -> (u16, String) {
    let mut s = connect(server.addr);
    for chunk in chunks {
        s.write_all(chunk).unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    let raw = read_to_close(&mut s);
    let (r, used) = parse_response(&raw)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&raw)));
    assert_eq!(used, raw.len(), "nothing follows the refusal");
    assert_eq!(header(&r.1, "connection"), Some("close"));
    (r.0, String::from_utf8(r.2).unwrap())
}

fn allow(list: &str) -> AllowList {
    AllowList::parse(list).unwrap()
}

#[test]
fn secure_scheme_headers_count_only_from_trusted_peers() {
    let get = |headers: &str| format!("GET / HTTP/1.1\r\nHost: a\r\n{headers}\r\n").into_bytes();
    let trusted = start(ServerConfig::default(), App::Who);
    assert!(who(&trusted, &get("")).ends_with(" http"));
    for header in [
        "X-Forwarded-Proto: https",
        "X-Forwarded-Protocol: ssl",
        "X-Forwarded-Ssl: on",
        "x-forwarded-proto: https",
    ] {
        assert!(
            who(&trusted, &get(&format!("{header}\r\n"))).ends_with(" https"),
            "{header}"
        );
    }
    assert!(who(&trusted, &get("X-Forwarded-Proto: http\r\n")).ends_with(" http"));
    assert!(
        who(&trusted, &get("X-Forwarded-Proto: HTTPS\r\n")).ends_with(" http"),
        "values match exactly"
    );
    assert!(who(
        &trusted,
        &get("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n")
    )
    .ends_with(" https"));
    let conflict = refusal(
        &trusted,
        &[&get("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n")],
    );
    assert_eq!(conflict, (400, "contradictory scheme headers\n".into()));

    for config in [
        ServerConfig {
            forwarded_allow_ips: allow("10.0.0.1,::1"),
            ..ServerConfig::default()
        },
        ServerConfig {
            forwarded_allow_ips: allow(""),
            ..ServerConfig::default()
        },
        ServerConfig {
            secure_scheme_headers: Vec::new(),
            ..ServerConfig::default()
        },
    ] {
        let untrusted = start(config, App::Who);
        assert!(who(&untrusted, &get("X-Forwarded-Proto: https\r\n")).ends_with(" http"));
        // Ignored headers cannot conflict either.
        assert!(who(
            &untrusted,
            &get("X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n")
        )
        .ends_with(" http"));
    }

    let custom = ServerConfig {
        forwarded_allow_ips: allow("127.0.0.0/8"),
        secure_scheme_headers: vec![(b"Front-End-Https".to_vec(), b"on".to_vec())],
        ..ServerConfig::default()
    };
    let custom = start(custom, App::Who);
    assert!(who(&custom, &get("front-end-https: on\r\n")).ends_with(" https"));
    assert!(who(&custom, &get("X-Forwarded-Proto: https\r\n")).ends_with(" http"));
}

fn proxy_config(mode: ProxyProtocol) -> ServerConfig {
    ServerConfig {
        proxy_protocol: Some(mode),
        ..ServerConfig::default()
    }
}

fn v2_header(command: u8, family: u8, addresses: &[u8]) -> Vec<u8> {
    let mut raw = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    raw.extend_from_slice(&[0x20 | command, family]);
    raw.extend_from_slice(&(addresses.len() as u16).to_be_bytes());
    raw.extend_from_slice(addresses);
    raw
}

#[test]
fn a_proxy_header_names_the_client() {
    let server = start(proxy_config(ProxyProtocol::Auto), App::Who);
    let get = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let with = |header: &[u8]| [header, get].concat();
    assert_eq!(
        who(
            &server,
            &with(b"PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n")
        ),
        "203.0.113.7 5555 http"
    );
    assert_eq!(
        who(
            &server,
            &with(b"PROXY TCP6 2001:db8::7 2001:db8::1 6666 443\r\n")
        ),
        "2001:db8::7 6666 http"
    );
    // UNKNOWN and LOCAL name no client: the socket's peer stands.
    assert!(who(&server, &with(b"PROXY UNKNOWN\r\n")).starts_with("127.0.0.1 "));
    assert!(who(&server, &with(&v2_header(0, 0, &[]))).starts_with("127.0.0.1 "));
    let v4 = v2_header(1, 0x11, &[198, 51, 100, 9, 10, 0, 0, 1, 0x1f, 0x90, 0, 80]);
    assert_eq!(who(&server, &with(&v4)), "198.51.100.9 8080 http");
    let mut v6 = [0u8; 36];
    v6[..16].copy_from_slice(
        &"2001:db8::9"
            .parse::<std::net::Ipv6Addr>()
            .unwrap()
            .octets(),
    );
    v6[32..].copy_from_slice(&[0x30, 0x39, 0x01, 0xbb]);
    assert_eq!(
        who(&server, &with(&v2_header(1, 0x21, &v6))),
        "2001:db8::9 12345 http"
    );

    // Split anywhere, followed by pipelined requests that keep the client's address.
    let mut s = connect(server.addr);
    let raw = [&b"PROXY TCP4 192.0.2.1 10.0.0.1 4000 80\r\n"[..], get, get].concat();
    for piece in raw.chunks(7) {
        s.write_all(piece).unwrap();
        thread::sleep(Duration::from_millis(2));
    }
    for r in read_responses(&mut s, 2) {
        assert_eq!(r.2, b"192.0.2.1 4000 http");
    }
    // A scheme header's trust is the socket peer's (the proxy), not the named client's.
    let https = with(b"PROXY TCP4 203.0.113.7 10.0.0.1 5555 80\r\n");
    let https = [
        &https[..https.len() - 2],
        b"X-Forwarded-Proto: https\r\n\r\n",
    ]
    .concat();
    assert_eq!(who(&server, &https), "203.0.113.7 5555 https");
}

#[test]
fn a_missing_malformed_or_unexpected_proxy_header_is_refused_with_400() {
    let get = &b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"[..];
    let v2_local = v2_header(0, 0, &[]);
    let auto = start(proxy_config(ProxyProtocol::Auto), App::Who);
    let missing = "no PROXY protocol header of an accepted version (proxy_protocol) at the start of the connection\n";
    assert_eq!(refusal(&auto, &[get]), (400, missing.into()));
    assert_eq!(
        refusal(&auto, &[b"PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", get]),
        (400, "invalid PROXY protocol v1 line\n".into())
    );
    assert_eq!(
        refusal(&auto, &[b"PROXY TCP4 1.2.3.4", b" 5.6.7.8 1\r\n"]).0,
        400
    );
    let bad_v2 = v2_header(1, 0x12, &[0; 12]);
    assert_eq!(
        refusal(&auto, &[&bad_v2]),
        (400, "invalid PROXY protocol v2 header\n".into())
    );

    let v1_only = start(proxy_config(ProxyProtocol::V1), App::Who);
    assert_eq!(refusal(&v1_only, &[&v2_local, get]), (400, missing.into()));
    assert_eq!(
        who(
            &v1_only,
            &[&b"PROXY TCP4 192.0.2.1 10.0.0.1 4000 80\r\n"[..], get].concat()
        ),
        "192.0.2.1 4000 http"
    );
    let v2_only = start(proxy_config(ProxyProtocol::V2), App::Who);
    assert_eq!(
        refusal(&v2_only, &[b"PROXY UNKNOWN\r\n", get]),
        (400, missing.into())
    );
    assert!(who(&v2_only, &[&v2_local[..], get].concat()).starts_with("127.0.0.1 "));

    // Off, a PROXY line is just a malformed request.
    let off = start(ServerConfig::default(), App::Who);
    assert_eq!(
        refusal(&off, &[b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n", get]).0,
        400
    );
}

#[test]
fn a_peer_not_allowed_to_send_a_proxy_header_is_refused_with_403() {
    let config = ServerConfig {
        proxy_allow_ips: allow("10.0.0.0/8,::1"),
        ..proxy_config(ProxyProtocol::Auto)
    };
    let server = start(config, App::Who);
    let (status, body) = refusal(
        &server,
        &[b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"],
    );
    assert_eq!(
        (status, body.as_str()),
        (
            403,
            "this peer may not use the PROXY protocol (proxy_allow_ips)\n"
        )
    );
    // Refused before it says anything, too.
    assert_eq!(refusal(&server, &[]).0, 403);
    let star = ServerConfig {
        proxy_allow_ips: allow("*"),
        ..proxy_config(ProxyProtocol::Auto)
    };
    let star = start(star, App::Who);
    assert!(
        who(&star, b"PROXY UNKNOWN\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("127.0.0.1 ")
    );
}

#[test]
fn trailers_close_a_chunked_body_and_are_dropped_without_one() {
    let server = start(ServerConfig::default(), App::Trailer);
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(text.contains("Transfer-Encoding: chunked\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 42\r\n\r\n"),
        "{text}"
    );
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(
        text.ends_with("\r\n\r\nabc"),
        "an HTTP/1.0 body is close-delimited, with no place for trailers: {text}"
    );
}

/// Writes `raw` in `piece`-byte writes, each sent at once, so the engine reads it in pieces.
fn trickle(s: &mut TcpStream, raw: &[u8], piece: usize) {
    s.set_nodelay(true).unwrap();
    for chunk in raw.chunks(piece) {
        s.write_all(chunk).unwrap();
    }
}

#[test]
fn a_large_head_sent_in_small_pieces_is_served_and_the_next_one_too() {
    let server = start(ServerConfig::default(), App::Echo);
    let mut s = connect(server.addr);
    let mut head = b"GET /first HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..40 {
        head.extend_from_slice(format!("X-Field-{i}: {}\r\n", "v".repeat(5000)).as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    trickle(&mut s, &head, 100);
    let r = read_responses(&mut s, 1).remove(0);
    assert_eq!((r.0, &r.2[..]), (200, &b"GET /first "[..]));
    // The same connection reads its next head from the start, its CRLFs split across writes.
    trickle(
        &mut s,
        b"POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nok",
        3,
    );
    let r = read_responses(&mut s, 1).remove(0);
    assert_eq!((r.0, &r.2[..]), (200, &b"POST /second ok"[..]));
}

#[test]
fn a_head_sent_in_pieces_meets_the_same_limits() {
    let server = start(ServerConfig::default(), App::Echo);
    let pieces =
        |raw: Vec<u8>, piece: usize| raw.chunks(piece).map(<[u8]>::to_vec).collect::<Vec<_>>();
    let refused = |raw: Vec<u8>, piece: usize| {
        let chunks = pieces(raw, piece);
        refusal(
            &server,
            &chunks.iter().map(Vec::as_slice).collect::<Vec<_>>(),
        )
        .0
    };
    // A request line longer than 4094 bytes, never finished.
    assert_eq!(
        refused(format!("GET /{}", "a".repeat(5000)).into_bytes(), 1000),
        414
    );
    // A field line longer than 8190 bytes, never finished.
    assert_eq!(
        refused(
            format!("GET / HTTP/1.1\r\nX: {}", "b".repeat(9000)).into_bytes(),
            1000
        ),
        431
    );
    // A 101st field.
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..101 {
        raw.extend_from_slice(format!("X-{i}: {}\r\n", "c".repeat(50)).as_bytes());
    }
    assert_eq!(refused(raw, 700), 431);
    // A control byte in a field value, in a head that then completes.
    let mut raw = b"GET / HTTP/1.1\r\nA: \x01\r\n".to_vec();
    for i in 0..50 {
        raw.extend_from_slice(format!("X-{i}: {}\r\n", "d".repeat(50)).as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(refused(raw, 500), 400);
}

#[test]
fn a_malformed_head_cut_short_is_still_answered_400() {
    let server = start(ServerConfig::default(), App::Echo);
    // The first read is parsed in full; the control byte comes in a later, smaller read that does
    // not double the buffer, so only the parse at the client's end of stream finds it.
    let mut s = connect(server.addr);
    s.write_all(format!("GET / HTTP/1.1\r\nX: {}", "a".repeat(2000)).as_bytes())
        .unwrap();
    thread::sleep(Duration::from_millis(50));
    s.write_all(b"b\x01c").unwrap();
    thread::sleep(Duration::from_millis(50));
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let text = String::from_utf8_lossy(&read_to_close(&mut s)).into_owned();
    assert!(text.starts_with("HTTP/1.1 400 "), "{text}");
    // Without a malformed byte the connection just closes.
    let mut s = connect(server.addr);
    s.write_all(b"GET / HTTP/1.1\r\nX: a").unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    assert_eq!(read_to_close(&mut s), b"");
}

#[test]
fn a_malformed_byte_just_below_the_head_ceiling_is_answered_400_not_431() {
    // An unlimited request line can reach the engine's ceiling on a buffered head.
    let limits = ugn_http::Limits {
        max_request_line: 0,
        ..ugn_http::Limits::default()
    };
    let server = start(
        ServerConfig {
            limits,
            ..ServerConfig::default()
        },
        App::Echo,
    );
    let mut raw = b"GET /".to_vec();
    raw.extend(std::iter::repeat_n(b'a', 830_000));
    raw.push(0x01);
    raw.extend(std::iter::repeat_n(b'a', 10_000));
    let mut s = connect(server.addr);
    s.set_nodelay(true).unwrap();
    for chunk in raw.chunks(64 * 1024) {
        if s.write_all(chunk).is_err() {
            break;
        }
    }
    let text = String::from_utf8_lossy(&read_to_close(&mut s)).into_owned();
    assert!(
        text.starts_with("HTTP/1.1 400 "),
        "{}",
        &text[..text.len().min(200)]
    );
}

fn quick_timeouts() -> ServerConfig {
    ServerConfig {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        ..ServerConfig::default()
    }
}

#[test]
fn a_head_trickled_past_the_header_timeout_gets_408() {
    let server = start(quick_timeouts(), App::Echo);
    let mut s = connect(server.addr);
    for byte in b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: 1" {
        if s.write_all(&[*byte]).is_err() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let text = String::from_utf8(read_until_engine_closes(&mut s)).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );

    // A connection that never sends a byte is closed without an answer.
    let mut idle = connect(server.addr);
    assert!(read_to_close(&mut idle).is_empty());
}

#[test]
fn a_request_body_that_stalls_gets_408_and_a_slow_one_is_read_whole() {
    let server = start(quick_timeouts(), App::Echo);
    let mut s = connect(server.addr);
    s.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut s)).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{text}"
    );

    // A body that keeps coming, if slowly, is read whole.
    let mut slow = connect(server.addr);
    slow.write_all(b"POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n")
        .unwrap();
    for byte in b"hello" {
        thread::sleep(Duration::from_millis(150));
        slow.write_all(&[*byte]).unwrap();
    }
    assert_eq!(read_responses(&mut slow, 1)[0].2, b"POST /upload hello");
}

#[test]
fn a_client_that_stops_reading_a_response_is_closed_and_the_app_told() {
    let server = start(quick_timeouts(), App::Big(256 << 20));
    let s = connect(server.addr);
    (&s).write_all(b"GET /big HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    while server.closed.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        server.closed.load(Ordering::SeqCst),
        1,
        "the stalled response was given up"
    );
}

#[test]
fn bodies_past_the_limit_get_413_whether_declared_or_chunked() {
    let server = start(
        ServerConfig {
            max_body: 10,
            ..ServerConfig::default()
        },
        App::Echo,
    );
    let mut declared = connect(server.addr);
    declared
        .write_all(
            b"POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n",
        )
        .unwrap();
    let text = String::from_utf8(read_to_close(&mut declared)).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "413 and no 100 Continue: {text}"
    );

    let mut chunked = connect(server.addr);
    chunked
        .write_all(
            b"POST /b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n",
        )
        .unwrap();
    thread::sleep(Duration::from_millis(50));
    chunked.write_all(b"5\r\nghijk\r\n0\r\n\r\n").unwrap();
    let text = String::from_utf8(read_to_close(&mut chunked)).unwrap();
    assert!(
        text.starts_with("HTTP/1.1 413 Content Too Large\r\n"),
        "{text}"
    );

    let mut within = connect(server.addr);
    within.write_all(b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n0\r\n\r\n").unwrap();
    assert_eq!(read_responses(&mut within, 1)[0].2, b"POST /c 0123456789");
}

#[test]
fn limit_request_fields_zero_admits_many_fields_within_the_head_buffer() {
    let limits = ugn_http::Limits {
        max_headers: 0,
        ..ugn_http::Limits::default()
    };
    let server = start(
        ServerConfig {
            limits,
            ..ServerConfig::default()
        },
        App::Echo,
    );
    let mut s = connect(server.addr);
    let fields: String = (0..2000).map(|i| format!("X-Field-{i}: {i}\r\n")).collect();
    s.write_all(format!("GET /many HTTP/1.1\r\nHost: a\r\n{fields}\r\n").as_bytes())
        .unwrap();
    assert_eq!(
        read_responses(&mut s, 1)[0].0,
        200,
        "2,000 fields, some 40 KB, are one head"
    );
}

#[test]
fn a_chunk_size_line_cut_between_reads_is_completed_by_the_next_read() {
    let server = start(ServerConfig::default(), App::Echo);
    for pieces in [
        &[
            &b"5\r\nhello\r\n1"[..],
            b"0\r\n0123456789abcdef\r\n0\r\n\r\n",
        ][..],
        &[&b"5\r\nhello\r"[..], b"\n0\r\n\r\n"][..],
        &[&b"5\r\nhel"[..], b"lo\r\n0", b"\r\n\r\n"][..],
    ] {
        let mut s = connect(server.addr);
        s.write_all(b"POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            .unwrap();
        let mut body = Vec::new();
        for piece in pieces {
            thread::sleep(Duration::from_millis(50));
            s.write_all(piece).unwrap();
            body.extend_from_slice(piece);
        }
        let expected: &[u8] = if body.starts_with(b"5\r\nhello\r\n1") {
            b"POST /c hello0123456789abcdef"
        } else {
            b"POST /c hello"
        };
        assert_eq!(read_responses(&mut s, 1)[0].2, expected);
    }
}
