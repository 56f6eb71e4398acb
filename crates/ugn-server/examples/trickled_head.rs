//! The CPU the engine spends on one request head that arrives in small pieces, the way a
//! slow or hostile client sends it (docs/reliability.md).
//!
//! `cargo run --release -p ugn-server --example trickled_head -- [PIECE] [FIELDS]`
//!
//! One thread plays both sides over loopback TCP: it writes PIECE bytes (default 100), then
//! lets the engine poll once, so every read the engine makes holds one piece. The head has a
//! Host field and FIELDS field lines of 8,190 bytes each (default 99: with Host, the 100 the
//! default limits allow, about 811 KB). Only the time spent inside `poll_io` is counted, as this thread's CPU time.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::time::Duration;

use ugn_server::{EventKind, Server, ServerConfig};

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid timespec for the call to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn main() {
    let mut args = std::env::args()
        .skip(1)
        .map(|a| a.parse::<usize>().expect("a number"));
    let piece = args.next().unwrap_or(100);
    let fields = args.next().unwrap_or(99);

    // Fields of exactly the default max_header_field_size (8,190 bytes with their CRLF).
    let mut head = b"GET /trickled HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 0..fields {
        let name = format!("X-Field-{i:03}: ");
        head.extend_from_slice(name.as_bytes());
        head.extend(std::iter::repeat_n(b'v', 8190 - 2 - name.len()));
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(b"\r\n");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // SAFETY: the listening socket is handed over to the engine alone.
    let mut server =
        unsafe { Server::from_listener_fds(&[listener.into_raw_fd()], ServerConfig::default()) }
            .unwrap();
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_nodelay(true).unwrap();

    let mut cpu = Duration::ZERO;
    let mut poll = |server: &mut Server| {
        let start = thread_cpu();
        server.poll_io(Some(Duration::ZERO)).unwrap();
        cpu += thread_cpu() - start;
    };
    let pieces = head.chunks(piece).count();
    for chunk in head.chunks(piece) {
        client.write_all(chunk).unwrap();
        poll(&mut server);
    }
    // Loopback delivers a write before it returns, so the request is normally there already.
    let mut request = None;
    for _ in 0..1000 {
        if let Some(event) = server.next_event() {
            request = Some(event);
            break;
        }
        poll(&mut server);
    }
    let event = request.expect("the request arrives");
    assert_eq!(event.kind, EventKind::Request);
    let headers = server.request(event.id).unwrap().headers.len();
    server
        .respond(
            event.id,
            b"200 OK",
            &[(b"Connection", b"close")],
            b"ok",
            true,
        )
        .unwrap();
    server.flush();
    let mut response = Vec::new();
    client.read_to_end(&mut response).unwrap();
    assert!(
        response.starts_with(b"HTTP/1.1 200 "),
        "{}",
        String::from_utf8_lossy(&response)
    );

    println!(
    "head of {} bytes ({headers} fields) in {pieces} pieces of {piece} bytes: engine CPU {:.3} s ({:.1} us per piece)",
    head.len(),
    cpu.as_secs_f64(),
    cpu.as_secs_f64() * 1e6 / pieces as f64
  );
}
