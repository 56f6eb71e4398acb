//! Test harness parts shared by the engine's integration tests.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::collections::HashMap;

use ugn_server::{ConnId, Server, WriteStatus};

/// Goes on streaming a response of `streams[id]` more `x` bytes in 64 KiB writes, stopping when
/// the engine reports its buffer full (a Drain event calls this again) and ending it when done.
pub fn continue_stream(server: &mut Server, id: ConnId, streams: &mut HashMap<ConnId, usize>) {
    let Some(left) = streams.get_mut(&id) else {
        return;
    };
    let chunk = vec![b'x'; 64 * 1024];
    while *left > 0 {
        let n = (*left).min(chunk.len());
        *left -= n;
        if server.write(id, &chunk[..n]).unwrap() == WriteStatus::Full {
            return;
        }
    }
    streams.remove(&id);
    server.end(id, &[]).unwrap();
}

/// A server on its own thread, driven by a plain loop, until dropped.
pub struct Running {
    pub addr: std::net::SocketAddr,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
    }
}

/// Serves 127.0.0.1 on an ephemeral port, handing every event to `handle`.
pub fn serve(
    config: ugn_server::ServerConfig,
    mut handle: impl FnMut(&mut Server, ugn_server::Event) + Send + 'static,
) -> Running {
    use std::os::fd::IntoRawFd;
    use std::sync::atomic::Ordering;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let fd = listener.into_raw_fd();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopped = stop.clone();
    let thread = std::thread::spawn(move || {
        // SAFETY: the fd is a listening socket this thread now owns alone.
        let mut server = unsafe { Server::from_listener_fds(&[fd], config) }.unwrap();
        while !stopped.load(Ordering::SeqCst) {
            server
                .poll_io(Some(std::time::Duration::from_millis(5)))
                .unwrap();
            while let Some(event) = server.next_event() {
                handle(&mut server, event);
            }
            server.flush();
            server.tick(std::time::Instant::now());
        }
    });
    Running {
        addr,
        stop,
        thread: Some(thread),
    }
}
