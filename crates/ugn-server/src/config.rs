use std::sync::Arc;
use std::time::Duration;

use ugn_http::{AllowList, Limits, ProxyProtocol, DEFAULT_SECURE_SCHEME_HEADERS};

/// Everything a worker's engine needs to know, fixed for the worker's life.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// How long an idle keep-alive connection is kept open (Gunicorn's `--keep-alive`).
    /// Zero disables keep-alive: every response closes its connection.
    pub keep_alive: Duration,
    /// Most connections served at once (Gunicorn's `--worker-connections`); at the cap the
    /// worker stops accepting and the kernel's backlog holds new clients.
    pub max_connections: usize,
    /// How long a client may take to send a request head, from its first byte (or from the
    /// connection's accept, for the first one); then 408 and close. The slowloris defence.
    pub header_timeout: Duration,
    /// How long a request body, or a response, may make no progress: no body bytes arrive from
    /// a client the app is reading, or a client takes none of the response bytes waiting for it.
    /// A stalled body gets 408 (or a close, once the response started); a stalled response, a close.
    pub body_timeout: Duration,
    /// Most bytes of a request body (`--limit-request-body`); 0 for no limit. A larger
    /// Content-Length is refused with 413 before the app is called; a chunked body, when it
    /// grows past it.
    pub max_body: u64,
    /// Request head limits and parser strictness.
    pub limits: Limits,
    /// Value of the `Server` response header; empty to send none.
    pub server_header: Vec<u8>,
    /// Buffered response bytes above which `write` asks the producer to wait for a drain event.
    pub write_high_water: usize,
    /// Decoded request body bytes held for the application before reading from the socket pauses.
    pub body_high_water: usize,
    /// How long a connection that is being closed after an error keeps draining the client's
    /// bytes, so the client reads our error response instead of a reset.
    pub linger: Duration,
    /// Peers whose `secure_scheme_headers` are believed (Gunicorn's `forwarded_allow_ips`). The
    /// socket's peer is checked, not a PROXY header's client: the proxy is who adds the headers.
    pub forwarded_allow_ips: AllowList,
    /// Header names (any case) and the exact values by which a trusted proxy says the client used
    /// https; another value of one of them says http. Empty: the scheme is always http.
    pub secure_scheme_headers: Vec<(Vec<u8>, Vec<u8>)>,
    /// When set, every connection must start with a PROXY header of these versions, which then
    /// names the client; `None` is Gunicorn's `off`.
    pub proxy_protocol: Option<ProxyProtocol>,
    /// Peers that may connect when `proxy_protocol` is on (Gunicorn's `proxy_allow_ips`); others
    /// are answered 403 and closed.
    pub proxy_allow_ips: AllowList,
    /// When set, every connection speaks TLS with this configuration (see [`crate::tls_config`]).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// When set, HTTP/2 is served: to TLS clients that negotiate `h2` (the TLS configuration
    /// must offer it through ALPN), and with `cleartext` to trusted peers that open with the
    /// HTTP/2 preface.
    pub http2: Option<Http2Settings>,
    /// HTTP/1.1 is served; without it a connection that does not become HTTP/2 is answered 505.
    pub http1: bool,
}

/// HTTP/2's limits, advertised in the SETTINGS frame (Gunicorn's `http2_*` settings).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Http2Settings {
    /// h2c with prior knowledge, for peers in `forwarded_allow_ips`.
    pub cleartext: bool,
    pub max_concurrent_streams: u32,
    pub initial_window_size: u32,
    pub max_frame_size: u32,
    pub max_header_list_size: u32,
}

impl Default for Http2Settings {
    fn default() -> Self {
        Http2Settings {
            cleartext: false,
            max_concurrent_streams: 100,
            initial_window_size: 65_535,
            max_frame_size: 16_384,
            max_header_list_size: 65_536,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            keep_alive: Duration::from_secs(2),
            header_timeout: Duration::from_secs(30),
            max_body: 0,
            body_timeout: Duration::from_secs(30),
            max_connections: 1000,
            limits: Limits::default(),
            server_header: b"ugn".to_vec(),
            write_high_water: 256 * 1024,
            body_high_water: 256 * 1024,
            linger: Duration::from_secs(2),
            forwarded_allow_ips: local_only(),
            secure_scheme_headers: DEFAULT_SECURE_SCHEME_HEADERS
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec()))
                .collect(),
            proxy_protocol: None,
            proxy_allow_ips: local_only(),
            tls: None,
            http2: None,
            http1: true,
        }
    }
}

/// Gunicorn's default for both allow lists.
fn local_only() -> AllowList {
    AllowList::parse("127.0.0.1,::1").expect("a valid list")
}
