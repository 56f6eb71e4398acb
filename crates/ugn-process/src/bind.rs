//! Opening the listening sockets the master holds for its whole life and its workers inherit.

use std::fs::{self, Permissions};
use std::io;
use std::mem;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::address::BindAddr;

/// How listening sockets are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindOptions {
    /// The accept queue length passed to listen(2) (Gunicorn's `--backlog`).
    pub backlog: i32,
    /// `--reuse-port`: a TCP address is reserved rather than listened on, and every worker gets a
    /// listening socket of its own on it ([`Listener::open_worker_socket`]). Unix sockets ignore it.
    pub reuse_port: bool,
    /// Permission bits removed from a unix socket file (Gunicorn's `--umask`).
    pub umask: u32,
}

impl Default for BindOptions {
    /// Gunicorn's defaults: a backlog of 2048, no SO_REUSEPORT, and umask 0, which leaves a unix
    /// socket connectable by every user.
    fn default() -> Self {
        BindOptions {
            backlog: 2048,
            reuse_port: false,
            umask: 0,
        }
    }
}

/// A listening socket, close-on-exec (a worker gets it only by being handed it explicitly) and
/// non-blocking (workers accept from a readiness loop; the flag is shared with every inherited
/// copy, which is right since only workers accept). With `--reuse-port` a TCP address is held by
/// a reservation instead: a socket bound with SO_REUSEPORT that never listens (see
/// `reuse_port.rs`).
#[derive(Debug)]
pub struct Listener {
    pub(crate) fd: OwnedFd,
    addr: BindAddr,
    url: String,
    unix_path: Option<PathBuf>,
    /// For a reservation, the backlog of each worker's own socket.
    pub(crate) worker_backlog: Option<i32>,
}

impl Listener {
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// What this socket is bound to: for TCP the real address, with port 0 replaced by the port
    /// the kernel chose; for an inherited socket, `Fd` as requested.
    pub fn addr(&self) -> &BindAddr {
        &self.addr
    }

    /// The address as Gunicorn shows it in "Listening at:": `http://127.0.0.1:8000`,
    /// `http://[::1]:8000` or `unix:/run/ugn.sock`.
    pub fn local_url(&self) -> String {
        self.url.clone()
    }

    pub(crate) fn tcp(fd: OwnedFd, local: SocketAddr, worker_backlog: Option<i32>) -> Listener {
        Listener {
            fd,
            addr: BindAddr::Tcp(local),
            url: format!("http://{local}"),
            unix_path: None,
            worker_backlog,
        }
    }

    /// Whether this is a `--reuse-port` reservation, whose workers each need their own socket.
    pub fn is_reservation(&self) -> bool {
        self.worker_backlog.is_some()
    }

    /// Removes the unix socket file, if this is a unix socket and the file still is a socket.
    /// Dropping a listener never does this: the master alone knows whether it is shutting down or
    /// handing the socket to a new master that keeps serving on the same path.
    pub fn unlink(&self) -> io::Result<()> {
        match &self.unix_path {
            Some(path) => remove_if_socket(path),
            None => Ok(()),
        }
    }
}

/// Binds and listens on `addr`, or adopts the inherited socket it names. Failures name the
/// address, in Gunicorn's words where it has some ("Connection in use: 127.0.0.1:8000").
pub fn bind(addr: &BindAddr, opts: &BindOptions) -> io::Result<Listener> {
    let listener = match addr {
        BindAddr::Tcp(sa) => bind_tcp(*sa, opts),
        BindAddr::Unix(path) => bind_unix(path, opts),
        BindAddr::Fd(fd) => adopt(*fd, opts.backlog),
    };
    listener.map_err(|e| explain(e, addr))
}

fn explain(err: io::Error, addr: &BindAddr) -> io::Error {
    let message = match err.kind() {
        io::ErrorKind::AddrInUse => format!("Connection in use: {addr}"),
        io::ErrorKind::AddrNotAvailable => format!("Invalid address: {addr}"),
        _ => format!("Can't bind {addr}: {err}"),
    };
    io::Error::new(err.kind(), message)
}

fn bind_tcp(addr: SocketAddr, opts: &BindOptions) -> io::Result<Listener> {
    let socket = bound_tcp_socket(addr, opts.reuse_port)?;
    let worker_backlog = if opts.reuse_port {
        Some(opts.backlog)
    } else {
        socket.listen(opts.backlog)?;
        socket.set_nonblocking(true)?;
        None
    };
    let local = socket.local_addr()?.as_socket().unwrap_or(addr);
    Ok(Listener::tcp(socket.into(), local, worker_backlog))
}

/// A TCP socket bound to `addr`, close-on-exec (as socket2 creates them), not yet listening.
pub(crate) fn bound_tcp_socket(addr: SocketAddr, reuse_port: bool) -> io::Result<Socket> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
    // Lets a restarted master bind while connections of the old one linger in TIME_WAIT.
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        // `[::]` and `0.0.0.0` are then two sockets that can both be bound, as users expect, instead
        // of the v6 one also taking v4 traffic on systems where that is the default.
        socket.set_only_v6(true)?;
    }
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    Ok(socket)
}

fn bind_unix(path: &Path, opts: &BindOptions) -> io::Result<Listener> {
    let sock_addr = SockAddr::unix(path)?;
    remove_stale_socket(path, &sock_addr)?;
    let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    socket.bind(&sock_addr)?;
    // Gunicorn sets the process umask around bind(2); in a multi-threaded Node process that would
    // race other threads creating files, so the mode is set right after instead.
    fs::set_permissions(path, Permissions::from_mode(0o777 & !opts.umask))?;
    socket.listen(opts.backlog)?;
    socket.set_nonblocking(true)?;
    Ok(Listener {
        fd: socket.into(),
        addr: BindAddr::Unix(path.to_owned()),
        url: format!("unix:{}", path.display()),
        unix_path: Some(path.to_owned()),
        worker_backlog: None,
    })
}

/// Clears the way for bind(2): a socket file left by a server that is gone is removed, but one a
/// live server still accepts on is "in use", and a path that is not a socket is never touched.
fn remove_stale_socket(path: &Path, sock_addr: &SockAddr) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
        Ok(meta) if !meta.file_type().is_socket() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", path.display()),
            ))
        }
        Ok(_) => {}
    }
    let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    // Non-blocking, so a live server with a full accept queue answers EAGAIN instead of hanging us.
    probe.set_nonblocking(true)?;
    match probe.connect(sock_addr) {
        Ok(()) => Err(io::ErrorKind::AddrInUse.into()),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::ErrorKind::AddrInUse.into()),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => remove_if_socket(path),
        Err(e) => Err(e),
    }
}

fn remove_if_socket(path: &Path) -> io::Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => match fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Takes over a listening socket, or a `--reuse-port` reservation (a TCP socket bound with
/// SO_REUSEPORT that does not listen, as a master hands it to its USR2 successor), that this
/// process inherited as descriptor `fd`. A reservation's workers get sockets of `backlog`.
pub(crate) fn adopt(fd: RawFd, backlog: i32) -> io::Result<Listener> {
    // Checked before taking ownership: dropping an OwnedFd for a descriptor that is not ours (a
    // file, a pipe, a connected socket) would close something another part of the process uses.
    check_stream_socket(fd)?;
    let worker_backlog = if int_option(fd, libc::SO_ACCEPTCONN)? != 0 {
        None
    } else if is_reservation(fd)? {
        Some(backlog)
    } else {
        return Err(invalid_fd(fd, "is a socket that is not listening"));
    };
    // SAFETY: fd is an open stream socket that was handed to this process to serve on.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let socket = SockRef::from(&fd);
    socket.set_cloexec(true)?;
    if worker_backlog.is_none() {
        socket.set_nonblocking(true)?;
    }
    let local = socket.local_addr()?;
    let raw = fd.as_raw_fd();
    let (url, unix_path) = if let Some(sa) = local.as_socket() {
        (format!("http://{sa}"), None)
    } else if let Some(path) = local.as_pathname() {
        (format!("unix:{}", path.display()), Some(path.to_owned()))
    } else {
        (format!("fd://{raw}"), None)
    };
    Ok(Listener {
        fd,
        addr: BindAddr::Fd(raw),
        url,
        unix_path,
        worker_backlog,
    })
}

pub(crate) fn invalid_fd(fd: RawFd, what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("fd {fd} {what}"))
}

/// Fails unless `fd` is an open stream socket, without taking it over.
pub(crate) fn check_stream_socket(fd: RawFd) -> io::Result<()> {
    match int_option(fd, libc::SO_TYPE) {
        Ok(libc::SOCK_STREAM) => Ok(()),
        Ok(_) => Err(invalid_fd(fd, "is not a stream socket")),
        Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
            Err(invalid_fd(fd, "is not a socket"))
        }
        Err(e) if e.raw_os_error() == Some(libc::EBADF) => Err(invalid_fd(fd, "is not open")),
        Err(e) => Err(e),
    }
}

/// Whether the stream socket `fd`, not listening, holds a TCP port with SO_REUSEPORT.
fn is_reservation(fd: RawFd) -> io::Result<bool> {
    Ok(int_option(fd, libc::SO_REUSEPORT)? != 0
        && local_tcp_addr(fd)?.is_some_and(|a| a.port() != 0))
}

/// The TCP address the open socket `fd` is bound to, or None for another family.
pub(crate) fn local_tcp_addr(fd: RawFd) -> io::Result<Option<SocketAddr>> {
    // SAFETY: the caller checked that fd is open; the borrow ends with this call.
    let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
    Ok(SockRef::from(&borrowed).local_addr()?.as_socket())
}

pub(crate) fn int_option(fd: RawFd, option: libc::c_int) -> io::Result<libc::c_int> {
    let mut value: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are valid out-pointers of the size getsockopt is told.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            option,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, TcpStream};

    fn loopback(port: u16) -> BindAddr {
        BindAddr::Tcp(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    }

    fn fd_flags(fd: RawFd) -> (libc::c_int, libc::c_int) {
        unsafe {
            (
                libc::fcntl(fd, libc::F_GETFD),
                libc::fcntl(fd, libc::F_GETFL),
            )
        }
    }

    #[test]
    fn tcp_listener_reports_the_port_the_kernel_chose() {
        let listener = bind(&loopback(0), &BindOptions::default()).unwrap();
        let BindAddr::Tcp(addr) = *listener.addr() else {
            panic!()
        };
        assert_ne!(addr.port(), 0);
        assert_eq!(
            listener.local_url(),
            format!("http://127.0.0.1:{}", addr.port())
        );
        let (fd_flags, status_flags) = fd_flags(listener.fd());
        assert_ne!(fd_flags & libc::FD_CLOEXEC, 0);
        assert_ne!(status_flags & libc::O_NONBLOCK, 0);
        assert_eq!(int_option(listener.fd(), libc::SO_REUSEADDR).unwrap(), 1);
        TcpStream::connect(addr).unwrap();
    }

    #[test]
    fn errors_name_the_address() {
        let listener = bind(&loopback(0), &BindOptions::default()).unwrap();
        let taken = listener.addr().clone();
        let err = bind(&taken, &BindOptions::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AddrInUse);
        assert_eq!(err.to_string(), format!("Connection in use: {taken}"));
    }

    #[test]
    fn adopting_refuses_what_is_not_a_listening_stream_socket() {
        let file = fs::File::open("/dev/null").unwrap();
        let err = adopt(file.as_raw_fd(), 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("fd {} is not a socket", file.as_raw_fd())
        );
        // The refused descriptor was not closed.
        assert_ne!(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) }, -1);

        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(adopt(udp.as_raw_fd(), 0)
            .unwrap_err()
            .to_string()
            .ends_with("is not a stream socket"));
        let unbound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
        assert!(adopt(unbound.as_raw_fd(), 0)
            .unwrap_err()
            .to_string()
            .ends_with("that is not listening"));
        // Far above any descriptor a test process opens, so no other test thread can own it.
        assert_eq!(
            adopt(999_999, 0).unwrap_err().to_string(),
            "fd 999999 is not open"
        );
    }
}
