use std::time::Duration;

use ugn_http::Limits;

/// Everything a worker's engine needs to know, fixed for the worker's life.
#[derive(Clone, Debug)]
pub struct ServerConfig {
  /// How long an idle keep-alive connection is kept open (Gunicorn's `--keep-alive`).
  /// Zero disables keep-alive: every response closes its connection.
  pub keep_alive: Duration,
  /// Most connections served at once (Gunicorn's `--worker-connections`); at the cap the
  /// worker stops accepting and the kernel's backlog holds new clients.
  pub max_connections: usize,
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
}

impl Default for ServerConfig {
  fn default() -> Self {
    ServerConfig {
      keep_alive: Duration::from_secs(2),
      max_connections: 1000,
      limits: Limits::default(),
      server_header: b"ugn".to_vec(),
      write_high_water: 256 * 1024,
      body_high_water: 256 * 1024,
      linger: Duration::from_secs(2),
    }
  }
}
