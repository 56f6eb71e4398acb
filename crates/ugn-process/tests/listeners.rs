//! Listening sockets bound from Gunicorn-style addresses, checked with real connections.

use std::fs;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::{FromRawFd, IntoRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;

use ugn_process::{bind, parse_bind, BindAddr, BindOptions, Listener};

fn bind_one(spec: &str, opts: &BindOptions) -> io::Result<Listener> {
    let addrs = parse_bind(spec).unwrap();
    assert_eq!(addrs.len(), 1, "{spec}");
    bind(&addrs[0], opts)
}

fn tcp_addr(listener: &Listener) -> SocketAddr {
    match listener.addr() {
        BindAddr::Tcp(addr) => *addr,
        other => panic!("{other:?}"),
    }
}

/// Accepts the connection `client` made, through the listener's own descriptor, and checks
/// that bytes flow over it.
fn accept_and_echo(listener: &Listener, mut client: impl Read) {
    // The listener is non-blocking: wait until the connection is ready to accept.
    let mut pfd = libc::pollfd {
        fd: listener.fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    assert_eq!(unsafe { libc::poll(&mut pfd, 1, 5000) }, 1);
    let conn = unsafe { libc::accept(listener.fd(), std::ptr::null_mut(), std::ptr::null_mut()) };
    assert!(conn >= 0, "{}", io::Error::last_os_error());
    // SAFETY: accept returned a new descriptor that nothing else owns.
    let mut conn = fs::File::from(unsafe { OwnedFd::from_raw_fd(conn) });
    conn.write_all(b"hi").unwrap();
    let mut buf = [0; 2];
    client.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hi");
}

/// A fresh directory for unix sockets, short enough for sun_path.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ugn-l{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn has_ipv6() -> bool {
    match TcpListener::bind("[::1]:0") {
        Ok(_) => true,
        Err(e) => {
            println!("skipped: this kernel has no IPv6 loopback ({e})");
            false
        }
    }
}

#[test]
fn ipv4_port_zero_binds_a_real_port_that_accepts() {
    let listener = bind_one("127.0.0.1:0", &BindOptions::default()).unwrap();
    let addr = tcp_addr(&listener);
    assert!(addr.port() != 0);
    assert_eq!(
        listener.local_url(),
        format!("http://127.0.0.1:{}", addr.port())
    );
    accept_and_echo(&listener, TcpStream::connect(addr).unwrap());
}

#[test]
fn ipv6_port_zero_binds_a_real_port_that_accepts() {
    if !has_ipv6() {
        return;
    }
    let listener = bind_one("[::1]:0", &BindOptions::default()).unwrap();
    let addr = tcp_addr(&listener);
    assert_eq!(
        listener.local_url(),
        format!("http://[::1]:{}", addr.port())
    );
    accept_and_echo(&listener, TcpStream::connect(addr).unwrap());
}

#[test]
fn ipv6_sockets_are_v6_only_so_the_ipv4_wildcard_stays_free() {
    if !has_ipv6() {
        return;
    }
    // Checked on the option rather than by binding `[::]` and `0.0.0.0`: tests listen on
    // loopback only, and a wildcard port can be taken meanwhile by any other socket.
    let v6 = bind_one("[::1]:0", &BindOptions::default()).unwrap();
    let mut only_v6: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: the listener's fd is open for the call; only_v6 and len outlive it.
    let rc = unsafe {
        libc::getsockopt(
            v6.fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_V6ONLY,
            (&mut only_v6 as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "{}", io::Error::last_os_error());
    assert_eq!(only_v6, 1);
}

#[test]
fn a_taken_port_is_connection_in_use_unless_reuse_port() {
    let first = bind_one("127.0.0.1:0", &BindOptions::default()).unwrap();
    let spec = format!("127.0.0.1:{}", tcp_addr(&first).port());
    let err = bind_one(&spec, &BindOptions::default()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
    assert_eq!(err.to_string(), format!("Connection in use: {spec}"));

    let shared = BindOptions {
        reuse_port: true,
        ..BindOptions::default()
    };
    let a = bind_one("127.0.0.1:0", &shared).unwrap();
    let b = bind_one(&format!("127.0.0.1:{}", tcp_addr(&a).port()), &shared).unwrap();
    assert_eq!(a.local_url(), b.local_url());
}

#[test]
fn unix_socket_lifecycle() {
    let dir = temp_dir("life");
    let path = dir.join("s.sock");
    let spec = format!("unix:{}", path.display());
    let listener = bind_one(&spec, &BindOptions::default()).unwrap();
    assert_eq!(listener.local_url(), spec);
    assert_eq!(listener.addr(), &BindAddr::Unix(path.clone()));
    // Gunicorn's default umask of 0 lets every user connect.
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o777
    );
    accept_and_echo(&listener, UnixStream::connect(&path).unwrap());

    // A live socket is in use, not stale.
    let err = bind_one(&spec, &BindOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), format!("Connection in use: {spec}"));

    // Closing does not remove the file, and a later bind replaces the stale socket.
    drop(listener);
    assert!(fs::symlink_metadata(&path).unwrap().file_type().is_socket());
    let again = bind_one(&spec, &BindOptions::default()).unwrap();
    again.unlink().unwrap();
    assert!(!path.exists());
    // Unlinking twice is harmless.
    again.unlink().unwrap();
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unix_socket_mode_follows_umask() {
    let dir = temp_dir("mode");
    let path = dir.join("s.sock");
    let listener = bind(
        &BindAddr::Unix(path.clone()),
        &BindOptions {
            umask: 0o007,
            ..BindOptions::default()
        },
    )
    .unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o770
    );
    listener.unlink().unwrap();
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn unix_bind_never_removes_a_file_that_is_not_a_socket() {
    let dir = temp_dir("file");
    let path = dir.join("data");
    fs::write(&path, b"keep me").unwrap();
    let err = bind(&BindAddr::Unix(path.clone()), &BindOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "Can't bind unix:{0}: {0} exists and is not a socket",
            path.display()
        )
    );
    assert_eq!(fs::read(&path).unwrap(), b"keep me");
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn inherited_tcp_socket_is_adopted_by_fd() {
    let std_listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    let fd = std_listener.into_raw_fd();
    let listener = bind_one(&format!("fd://{fd}"), &BindOptions::default()).unwrap();
    assert_eq!(listener.fd(), fd);
    assert_eq!(listener.addr(), &BindAddr::Fd(fd));
    assert_eq!(listener.local_url(), format!("http://{addr}"));
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    assert_ne!(flags & libc::O_NONBLOCK, 0);
    accept_and_echo(&listener, TcpStream::connect(addr).unwrap());
}

#[test]
fn inherited_unix_socket_is_adopted_and_can_be_unlinked() {
    let dir = temp_dir("adopt");
    let path = dir.join("s.sock");
    let fd = UnixListener::bind(&path).unwrap().into_raw_fd();
    let listener = bind(&BindAddr::Fd(fd), &BindOptions::default()).unwrap();
    assert_eq!(listener.local_url(), format!("unix:{}", path.display()));
    accept_and_echo(&listener, UnixStream::connect(&path).unwrap());
    listener.unlink().unwrap();
    assert!(!path.exists());
    fs::remove_dir_all(dir).unwrap();
}

#[test]
fn adopting_something_else_is_refused_by_name() {
    let file = fs::File::open("/dev/null").unwrap();
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    let err = bind_one(&format!("fd://{fd}"), &BindOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("Can't bind fd://{fd}: fd {fd} is not a socket")
    );
}
