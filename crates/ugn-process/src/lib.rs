//! Process and socket primitives for ugn's master (the arbiter), Unix only.
//!
//! The master binds every listening socket once ([`parse_bind`], [`bind`]); with `--reuse-port`
//! it reserves each TCP address instead and opens one socket per worker on it
//! ([`Listener::open_worker_socket`]). It hands the sockets to worker processes at fixed
//! descriptor numbers ([`spawn`]), and supervises the workers by pid alone
//! ([`kill`], [`try_reap`]), hearing from each one's JavaScript thread through a pipe
//! ([`heartbeat_pipe`], [`drain`]). Everything works on pids and raw descriptors rather than on
//! `std::process::Child` because the master runs inside Node: libuv reaps the children it spawned
//! itself, so ugn must reap exactly its own pids and nothing else.

mod account;
mod address;
mod bind;
mod heartbeat;
mod pid;
mod reap;
mod reuse_port;
mod signal;
mod spawn;

pub use account::{group_id, user_id};
pub use address::{parse_bind, BindAddr, BindError, DEFAULT_PORT};
pub use bind::{bind, BindOptions, Listener};
pub use heartbeat::{drain, heartbeat_pipe, Beats};
pub use reap::{try_reap, ExitStatus};
pub use signal::{kill, signal_name, signal_number};
pub use spawn::{redirect_output, spawn, WorkerCommand};
