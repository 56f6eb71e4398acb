//! Opening the listening sockets the master holds for its whole life and its workers inherit.

use std::fs::{self, Permissions};
use std::io;
use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};

use socket2::{Domain, SockAddr, SockRef, Socket, Type};

use crate::address::BindAddr;

/// How listening sockets are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindOptions {
  /// The accept queue length passed to listen(2) (Gunicorn's `--backlog`).
  pub backlog: i32,
  /// SO_REUSEPORT, for binding a port another process also listens on (Gunicorn's
  /// `--reuse-port`).
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
/// copy, which is right since only workers accept).
#[derive(Debug)]
pub struct Listener {
  fd: OwnedFd,
  addr: BindAddr,
  url: String,
  unix_path: Option<PathBuf>,
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
    BindAddr::Fd(fd) => adopt(*fd),
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

fn bind_tcp(addr: std::net::SocketAddr, opts: &BindOptions) -> io::Result<Listener> {
  // socket2 creates sockets close-on-exec.
  let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None)?;
  // Lets a restarted master bind while connections of the old one linger in TIME_WAIT.
  socket.set_reuse_address(true)?;
  if addr.is_ipv6() {
    // `[::]` and `0.0.0.0` are then two sockets that can both be bound, as users expect, instead
    // of the v6 one also taking v4 traffic on systems where that is the default.
    socket.set_only_v6(true)?;
  }
  if opts.reuse_port {
    socket.set_reuse_port(true)?;
  }
  socket.bind(&addr.into())?;
  socket.listen(opts.backlog)?;
  socket.set_nonblocking(true)?;
  let local = socket.local_addr()?.as_socket().unwrap_or(addr);
  Ok(Listener {
    fd: socket.into(),
    addr: BindAddr::Tcp(local),
    url: format!("http://{local}"),
    unix_path: None,
  })
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

/// Takes over a listening socket this process inherited as descriptor `fd`.
fn adopt(fd: RawFd) -> io::Result<Listener> {
  // Checked before taking ownership: dropping an OwnedFd for a descriptor that is not ours (a
  // file, a pipe, a connected socket) would close something another part of the process uses.
  let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("fd {fd} {what}"));
  match int_option(fd, libc::SO_TYPE) {
    Ok(libc::SOCK_STREAM) => {}
    Ok(_) => return Err(invalid("is not a stream socket")),
    Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => return Err(invalid("is not a socket")),
    Err(e) if e.raw_os_error() == Some(libc::EBADF) => return Err(invalid("is not open")),
    Err(e) => return Err(e),
  }
  if int_option(fd, libc::SO_ACCEPTCONN)? == 0 {
    return Err(invalid("is a socket that is not listening"));
  }
  // SAFETY: fd is an open listening socket that was handed to this process to serve on.
  let fd = unsafe { OwnedFd::from_raw_fd(fd) };
  let socket = SockRef::from(&fd);
  socket.set_cloexec(true)?;
  socket.set_nonblocking(true)?;
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
  })
}

fn int_option(fd: RawFd, option: libc::c_int) -> io::Result<libc::c_int> {
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
  use std::net::{Ipv4Addr, SocketAddr, TcpStream};

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
    let err = adopt(file.as_raw_fd()).unwrap_err();
    assert_eq!(
      err.to_string(),
      format!("fd {} is not a socket", file.as_raw_fd())
    );
    // The refused descriptor was not closed.
    assert_ne!(unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) }, -1);

    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    assert!(adopt(udp.as_raw_fd())
      .unwrap_err()
      .to_string()
      .ends_with("is not a stream socket"));
    let unbound = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    assert!(adopt(unbound.as_raw_fd())
      .unwrap_err()
      .to_string()
      .ends_with("that is not listening"));
    // Far above any descriptor a test process opens, so no other test thread can own it.
    assert_eq!(
      adopt(999_999).unwrap_err().to_string(),
      "fd 999999 is not open"
    );
  }
}
