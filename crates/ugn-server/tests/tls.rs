//! The engine serving TLS, spoken to by a rustls client over real TCP sockets.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
mod common;

use common::{continue_stream, serve, Running};
use ugn_http::ProxyProtocol;
use ugn_server::{tls_config, ClientAuth, ConnId, EventKind, Server, ServerConfig, TlsSettings};

/// Answers `GET /big/N` with N bytes streamed in 64 KiB writes (waiting for drain events),
/// `GET /peer` with "SCHEME PEER-ADDRESS 0", and anything else with
/// "SCHEME METHOD TARGET BODY-LENGTH".
fn start(config: ServerConfig) -> Running {
    let mut requests: HashMap<ConnId, (String, usize)> = HashMap::new();
    let mut streams: HashMap<ConnId, usize> = HashMap::new();
    serve(config, move |server, event| {
        let id = event.id;
        match event.kind {
            EventKind::Request => {
                let view = server.request(id).unwrap();
                let method = String::from_utf8_lossy(view.head.method.get(view.text)).into_owned();
                let target = String::from_utf8_lossy(view.head.target.get(view.text)).into_owned();
                let scheme = if view.https { "https" } else { "http" };
                let line = match target.as_str() {
                    "/peer" => format!(
                        "{scheme} {}",
                        String::from_utf8_lossy(view.peer.get(view.text))
                    ),
                    _ => format!("{scheme} {method} {target}"),
                };
                match view.body.map(<[u8]>::len) {
                    Some(len) => {
                        server.body_consumed(id);
                        answer(server, id, &line, len, &mut streams);
                    }
                    None => {
                        requests.insert(id, (line, 0));
                    }
                }
            }
            EventKind::Body => {
                let n = server.body_chunk(id).unwrap().len();
                server.body_consumed(id);
                requests.get_mut(&id).unwrap().1 += n;
            }
            EventKind::BodyEnd => {
                let (line, len) = requests.remove(&id).unwrap();
                answer(server, id, &line, len, &mut streams);
            }
            EventKind::Drain => continue_stream(server, id, &mut streams),
            EventKind::BodyError | EventKind::Closed => {
                requests.remove(&id);
                streams.remove(&id);
            }
        }
    })
}

fn answer(
    server: &mut Server,
    id: ConnId,
    line: &str,
    body_len: usize,
    streams: &mut HashMap<ConnId, usize>,
) {
    if let Some(n) = line.split("/big/").nth(1) {
        server.respond(id, b"200 OK", &[], &[], false).unwrap();
        streams.insert(id, n.parse().unwrap());
        return continue_stream(server, id, streams);
    }
    let body = format!("{line} {body_len}");
    server
        .respond(id, b"200 OK", &[], body.as_bytes(), true)
        .unwrap();
}

/// A certificate authority, a server certificate for localhost and a client certificate, all
/// written as PEM files into a directory removed on drop.
struct Pki {
    dir: PathBuf,
    ca: rcgen::Certificate,
    client: (rcgen::Certificate, rcgen::KeyPair),
}

impl Pki {
    fn new(name: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("ugn-tls-test-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issue = |names: Vec<String>| {
            let key = rcgen::KeyPair::generate().unwrap();
            let cert = rcgen::CertificateParams::new(names)
                .unwrap()
                .signed_by(&key, &ca, &ca_key)
                .unwrap();
            (cert, key)
        };
        let server = issue(vec!["localhost".into()]);
        let client = issue(vec!["client.test".into()]);
        std::fs::write(dir.join("cert.pem"), server.0.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), server.1.serialize_pem()).unwrap();
        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        Pki { dir, ca, client }
    }

    fn settings(&self, client_auth: ClientAuth) -> TlsSettings {
        TlsSettings {
            certfile: self.dir.join("cert.pem"),
            keyfile: Some(self.dir.join("key.pem")),
            ca_certs: (client_auth != ClientAuth::None).then(|| self.dir.join("ca.pem")),
            client_auth,
            ciphers: Vec::new(),
            alpn: Vec::new(),
        }
    }

    fn server(&self, client_auth: ClientAuth) -> Running {
        self.server_with(client_auth, ServerConfig::default())
    }

    fn server_with(&self, client_auth: ClientAuth, config: ServerConfig) -> Running {
        let tls = tls_config(&self.settings(client_auth)).unwrap();
        start(ServerConfig {
            tls: Some(tls),
            ..config
        })
    }

    fn client_config(&self, with_cert: bool, alpn: &[&[u8]]) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let builder =
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots);
        let mut config = if with_cert {
            let (cert, key) = &self.client;
            let key = PrivateKeyDer::try_from(key.serialize_der()).unwrap();
            builder
                .with_client_auth_cert(
                    vec![
                        cert.der().clone(),
                        CertificateDer::from(self.ca.der().to_vec()),
                    ],
                    key,
                )
                .unwrap()
        } else {
            builder.with_no_client_auth()
        };
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

fn connect(addr: SocketAddr, config: Arc<ClientConfig>) -> Tls {
    connect_after(addr, config, b"")
}

/// Connects, sends `preamble` in plaintext (a PROXY header), then speaks TLS.
fn connect_after(addr: SocketAddr, config: Arc<ClientConfig>, preamble: &[u8]) -> Tls {
    let mut tcp = TcpStream::connect(addr).unwrap();
    tcp.write_all(preamble).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let session =
        ClientConnection::new(config, ServerName::try_from("localhost").unwrap()).unwrap();
    StreamOwned::new(session, tcp)
}

/// Reads one response with a Content-Length or chunked body; returns its head and body.
fn read_response(s: &mut Tls) -> (String, Vec<u8>) {
    read_responses(s, 1).remove(0)
}

/// Reads `n` pipelined responses, each with a Content-Length or chunked body.
fn read_responses(s: &mut Tls, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut tmp = [0u8; 65536];
    while out.len() < n {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let lower = head.to_ascii_lowercase();
            if let Some(len) = lower.split("content-length: ").nth(1) {
                let len: usize = len.split("\r\n").next().unwrap().parse().unwrap();
                if buf.len() >= end + 4 + len {
                    out.push((head, buf[end + 4..end + 4 + len].to_vec()));
                    buf.drain(..end + 4 + len);
                    continue;
                }
            } else if let Some((body, used)) = dechunk(&buf[end + 4..]) {
                out.push((head, body));
                buf.drain(..end + 4 + used);
                continue;
            }
        }
        let got = s.read(&mut tmp).unwrap();
        assert!(
            got > 0,
            "closed before a whole response: {:?}",
            String::from_utf8_lossy(&buf)
        );
        buf.extend_from_slice(&tmp[..got]);
    }
    out
}

/// A whole chunked body at the start of `buf`, and the bytes it took.
fn dechunk(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let line = buf[at..].windows(2).position(|w| w == b"\r\n")? + at;
        let size = usize::from_str_radix(std::str::from_utf8(&buf[at..line]).ok()?, 16).ok()?;
        at = line + 2;
        if size == 0 {
            return (buf.len() >= at + 2).then_some((body, at + 2));
        }
        if buf.len() < at + size + 2 {
            return None;
        }
        body.extend_from_slice(&buf[at..at + size]);
        at += size + 2;
    }
}

#[test]
fn serves_keep_alive_requests_over_tls_with_the_https_scheme() {
    let pki = Pki::new("basic");
    let server = pki.server(ClientAuth::None);
    let mut s = connect(server.addr, pki.client_config(false, &[b"http/1.1"]));
    for i in 0..3 {
        s.write_all(format!("GET /n/{i} HTTP/1.1\r\nHost: localhost\r\n\r\n").as_bytes())
            .unwrap();
        let (head, body) = read_response(&mut s);
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert_eq!(
            String::from_utf8(body).unwrap(),
            format!("https GET /n/{i} 0")
        );
    }
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
}

#[test]
fn pipelined_requests_and_a_large_upload_arrive_whole() {
    let pki = Pki::new("pipeline");
    let server = pki.server(ClientAuth::None);
    let mut s = connect(server.addr, pki.client_config(false, &[]));
    let upload = vec![b'u'; 1 << 20];
    let mut bytes = Vec::new();
    for i in 0..4 {
        bytes.extend_from_slice(format!("GET /p/{i} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    }
    bytes.extend_from_slice(
        format!(
            "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            upload.len()
        )
        .as_bytes(),
    );
    bytes.extend_from_slice(&upload);
    s.write_all(&bytes).unwrap();
    let bodies: Vec<_> = read_responses(&mut s, 5)
        .into_iter()
        .map(|(_, b)| String::from_utf8(b).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            "https GET /p/0 0",
            "https GET /p/1 0",
            "https GET /p/2 0",
            "https GET /p/3 0",
            "https POST /up 1048576"
        ]
    );
}

#[test]
fn a_large_response_reaches_a_slow_reader_intact() {
    let pki = Pki::new("big");
    let server = pki.server(ClientAuth::None);
    let mut s = connect(server.addr, pki.client_config(false, &[]));
    let size = 8 << 20;
    s.write_all(format!("GET /big/{size} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    // Let the server fill the socket and its buffers, so the rest flows by writability events.
    thread::sleep(Duration::from_millis(200));
    let (_, body) = read_response(&mut s);
    assert_eq!(body.len(), size);
    assert!(body.iter().all(|&b| b == b'x'));
    s.write_all(b"GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).1, b"https GET /after 0");
}

#[test]
fn a_connection_close_response_ends_with_close_notify() {
    let pki = Pki::new("close");
    let server = pki.server(ClientAuth::None);
    let mut s = connect(server.addr, pki.client_config(false, &[]));
    s.write_all(b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut all = Vec::new();
    // rustls's reader reports UnexpectedEof for a close without close_notify; read_to_end
    // succeeding is the proof the server sent one.
    s.read_to_end(&mut all).unwrap();
    assert!(String::from_utf8_lossy(&all).ends_with("https GET /last 0"));
}

#[test]
fn plain_http_gets_a_400_a_refused_alpn_a_failed_handshake_and_the_worker_goes_on() {
    let pki = Pki::new("refuse");
    let server = pki.server(ClientAuth::None);

    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{reply}");
    assert!(
        reply.ends_with("\r\n\r\nThis port speaks HTTPS: plain HTTP was sent.\n"),
        "{reply}"
    );

    let mut h2_only = connect(server.addr, pki.client_config(false, &[b"h2"]));
    let refused = h2_only
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .and_then(|_| h2_only.read(&mut [0; 64]));
    assert!(
        refused.is_err(),
        "a client offering only h2 fails the handshake: {refused:?}"
    );

    let mut ok = connect(server.addr, pki.client_config(false, &[]));
    ok.write_all(b"GET /still HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut ok).1, b"https GET /still 0");
}

#[test]
fn required_client_certificates_refuse_clients_without_one() {
    let pki = Pki::new("mtls");
    let server = pki.server(ClientAuth::Required);

    let mut with = connect(server.addr, pki.client_config(true, &[]));
    with.write_all(b"GET /mtls HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut with).1, b"https GET /mtls 0");

    let mut without = connect(server.addr, pki.client_config(false, &[]));
    let result = without
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .and_then(|_| without.read(&mut [0; 64]));
    match result {
        Err(e) => assert!(
            e.to_string().contains("CertificateRequired") || e.kind() == ErrorKind::InvalidData,
            "{e}"
        ),
        Ok(n) => panic!("a client without a certificate read {n} bytes"),
    }
}

#[test]
fn optional_client_certificates_admit_clients_without_one() {
    let pki = Pki::new("optional");
    let server = pki.server(ClientAuth::Optional);
    for with_cert in [true, false] {
        let mut s = connect(server.addr, pki.client_config(with_cert, &[]));
        s.write_all(b"GET /opt HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        assert_eq!(read_response(&mut s).1, b"https GET /opt 0");
    }
}

#[test]
fn a_proxy_header_before_the_handshake_names_the_client() {
    let pki = Pki::new("proxy");
    let config = ServerConfig {
        proxy_protocol: Some(ProxyProtocol::Auto),
        ..ServerConfig::default()
    };
    let server = pki.server_with(ClientAuth::None, config);
    let header = b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\n";
    let mut s = connect_after(server.addr, pki.client_config(false, &[]), header);
    s.write_all(b"GET /peer HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut s).1, b"https 203.0.113.7 0");

    // Plain HTTP after the header is refused as it is without one.
    let mut plain = TcpStream::connect(server.addr).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(
            b"PROXY TCP4 203.0.113.7 192.0.2.1 40000 443\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        )
        .unwrap();
    let mut reply = Vec::new();
    let _ = plain.read_to_end(&mut reply);
    assert!(
        reply.starts_with(b"HTTP/1.1 400 Bad Request\r\n"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
}
