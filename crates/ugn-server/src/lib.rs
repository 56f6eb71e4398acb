//! The per-worker HTTP/1.1 engine.
//!
//! A [`Server`] owns one readiness poller (`mio::Poll`: epoll on Linux, kqueue on macOS), the
//! listening sockets a worker inherited, and every connection it accepted. It never calls into
//! application code: [`Server::poll_io`] turns socket readiness into [`Event`]s (a request head
//! was parsed, body bytes arrived, a slow reader drained, a client went away), and the embedder
//! (the napi binding, or a plain loop in tests) answers them through [`Server::respond`],
//! [`Server::write`] and [`Server::end`]. Keeping the application out of the engine's call stack
//! is what lets the embedder call JavaScript with no Rust borrow alive, and lets a response that
//! is produced synchronously be corked together with the others of the same batch.

mod buffers;
mod config;
mod connection;
mod event;
mod h2io;
mod id;
mod listener;
mod server;
mod stream;
mod tls;

pub use config::{Http2Settings, ServerConfig};
pub use event::{Event, EventKind};
pub use id::ConnId;
pub use listener::ListenerKind;
pub use server::{RequestView, RespondError, Server, WriteStatus};
pub use tls::{cipher_suite_names, tls_config, ClientAuth, TlsError, TlsSettings};
