use std::io::{self, Read, Write};
use std::net::Shutdown;
use std::os::fd::AsRawFd;

use mio::net::{TcpStream, UnixStream};
use mio::{event::Source, Interest, Registry, Token};
use rustls::ServerConnection;

/// An accepted socket, TCP or Unix.
pub(crate) enum Socket {
  Tcp(TcpStream),
  Unix(UnixStream),
}

/// What the engine reads requests from and writes responses to: the socket itself, or TLS
/// over it. The engine sees plaintext either way.
pub(crate) enum Stream {
  Plain(Socket),
  Tls(Box<TlsStream>),
}

pub(crate) struct TlsStream {
  socket: Socket,
  session: ServerConnection,
  phase: Phase,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
  /// A PROXY header precedes the handshake and is read as it was sent.
  BeforeTls,
  /// TLS, once the first byte is seen to open a TLS record rather than a plaintext request.
  Unchecked,
  Tls,
  /// The client spoke plain HTTP: its request is read as sent and answered with a plain 400
  /// (nginx answers the same mistake with a 400 of its own), not with a TLS alert its HTTP
  /// parser could not show.
  PlainHttp,
}

impl Socket {
  /// The next byte to read, left in the queue.
  fn peek_byte(&self) -> io::Result<Option<u8>> {
    let fd = match self {
      Socket::Tcp(s) => s.as_raw_fd(),
      Socket::Unix(s) => s.as_raw_fd(),
    };
    let mut byte = 0u8;
    // SAFETY: fd is this socket's open descriptor and the buffer is one valid byte.
    let n = unsafe { libc::recv(fd, (&mut byte as *mut u8).cast(), 1, libc::MSG_PEEK) };
    match n {
      -1 => Err(io::Error::last_os_error()),
      0 => Ok(None),
      _ => Ok(Some(byte)),
    }
  }

  fn shutdown_write(&self) -> io::Result<()> {
    match self {
      Socket::Tcp(s) => s.shutdown(Shutdown::Write),
      Socket::Unix(s) => s.shutdown(Shutdown::Write),
    }
  }
}

impl Read for Socket {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    match self {
      Socket::Tcp(s) => s.read(buf),
      Socket::Unix(s) => s.read(buf),
    }
  }
}

impl Write for Socket {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    match self {
      Socket::Tcp(s) => s.write(buf),
      Socket::Unix(s) => s.write(buf),
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

impl Stream {
  /// `after_proxy_header`: the handshake starts once [`Stream::start_tls`] is called.
  pub(crate) fn tls(socket: Socket, session: ServerConnection, after_proxy_header: bool) -> Stream {
    let phase = if after_proxy_header { Phase::BeforeTls } else { Phase::Unchecked };
    Stream::Tls(Box::new(TlsStream { socket, session, phase }))
  }

  /// Begins TLS after the PROXY header, with the bytes already read past it; returns whether
  /// the session took them (a plaintext request is left to be read as it is).
  pub(crate) fn start_tls(&mut self, read_ahead: &[u8]) -> io::Result<bool> {
    let Stream::Tls(t) = self else { return Ok(false) };
    match read_ahead.first() {
      None => t.phase = Phase::Unchecked,
      Some(b'A'..=b'Z') => t.phase = Phase::PlainHttp,
      Some(_) => {
        t.phase = Phase::Tls;
        let mut rest = read_ahead;
        while !rest.is_empty() {
          t.session.read_tls(&mut rest)?;
          t.process()?;
        }
        return Ok(true);
      }
    }
    Ok(false)
  }

  /// The client sent a plaintext request to this TLS connection; it is to be refused.
  pub(crate) fn is_plain_http(&self) -> bool {
    matches!(self, Stream::Tls(t) if t.phase == Phase::PlainHttp)
  }

  fn socket(&mut self) -> &mut Socket {
    match self {
      Stream::Plain(s) => s,
      Stream::Tls(t) => &mut t.socket,
    }
  }

  pub(crate) fn is_tls(&self) -> bool {
    matches!(self, Stream::Tls(t) if t.phase == Phase::Tls)
  }

  /// Whether a read that returns fewer bytes than asked proves the kernel's queue is empty.
  /// Through TLS it does not: one read may have decrypted only part of what is queued.
  pub(crate) fn short_read_drains(&self) -> bool {
    matches!(self, Stream::Plain(_))
  }

  /// Encrypted bytes (handshake messages, or response records) the kernel has not taken yet.
  pub(crate) fn has_unsent(&self) -> bool {
    match self {
      Stream::Plain(_) => false,
      Stream::Tls(t) => t.session.wants_write(),
    }
  }

  /// Hands buffered encrypted bytes to the kernel; stops quietly when it would block.
  pub(crate) fn send_unsent(&mut self) -> io::Result<()> {
    match self {
      Stream::Plain(_) => Ok(()),
      Stream::Tls(t) => t.send_records(),
    }
  }

  /// Ends the write side. An orderly end over TLS sends a close_notify first, so the client can
  /// tell a complete close-delimited body from a cut connection.
  pub(crate) fn shutdown_write(&mut self, orderly: bool) -> io::Result<()> {
    let close_notify = orderly && self.is_tls();
    if let (Stream::Tls(t), true) = (&mut *self, close_notify) {
      t.session.send_close_notify();
      t.send_records()?;
    }
    self.socket().shutdown_write()
  }
}

impl TlsStream {
  fn send_records(&mut self) -> io::Result<()> {
    while self.session.wants_write() {
      match self.session.write_tls(&mut self.socket) {
        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
        Err(e) => return Err(e),
      }
    }
    Ok(())
  }

  /// Processes the records read; queued replies (handshake messages, or the alert that explains
  /// a failure to the client) are sent at once.
  fn process(&mut self) -> io::Result<()> {
    let processed = self.session.process_new_packets();
    let sent = self.send_records();
    if let Err(e) = processed {
      return Err(io::Error::new(io::ErrorKind::InvalidData, e));
    }
    sent
  }

  /// Plaintext already decrypted comes first; otherwise one more batch of records is read from
  /// the socket, processed, and tried again. `WouldBlock` means neither the session nor the
  /// socket has anything.
  fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    if matches!(self.phase, Phase::BeforeTls | Phase::PlainHttp) {
      return self.socket.read(buf);
    }
    loop {
      match self.session.reader().read(buf) {
        Ok(n) => return Ok(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        // The peer closed the socket without a close_notify. Like Gunicorn's
        // suppress_ragged_eofs default, that is an end of stream, not an error.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
        Err(e) => return Err(e),
      }
      if self.phase == Phase::Unchecked {
        match self.socket.peek_byte()? {
          None => return Ok(0),
          Some(b'A'..=b'Z') => {
            self.phase = Phase::PlainHttp;
            return self.socket.read(buf);
          }
          Some(_) => self.phase = Phase::Tls,
        }
      }
      if self.session.read_tls(&mut self.socket)? == 0 {
        return Ok(0);
      }
      self.process()?;
    }
  }

  /// Encrypts what the session will buffer (rustls bounds it, 64 KiB by default), then sends.
  /// While earlier records are still unsent, nothing more is taken: the response bytes stay in
  /// the engine's buffer, where its high-water mark sees them.
  fn write_plain(&mut self, buf: &[u8]) -> io::Result<usize> {
    if self.phase == Phase::PlainHttp {
      return self.socket.write(buf);
    }
    self.send_records()?;
    if self.session.wants_write() {
      return Err(io::ErrorKind::WouldBlock.into());
    }
    let n = self.session.writer().write(buf)?;
    self.send_records()?;
    if n == 0 && !buf.is_empty() {
      return Err(io::ErrorKind::WouldBlock.into());
    }
    Ok(n)
  }
}

impl Read for Stream {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    match self {
      Stream::Plain(s) => s.read(buf),
      Stream::Tls(t) => t.read_plain(buf),
    }
  }
}

impl Write for Stream {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    match self {
      Stream::Plain(s) => s.write(buf),
      Stream::Tls(t) => t.write_plain(buf),
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

impl Source for Stream {
  fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
    match self.socket() {
      Socket::Tcp(s) => s.register(r, t, i),
      Socket::Unix(s) => s.register(r, t, i),
    }
  }

  fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
    match self.socket() {
      Socket::Tcp(s) => s.reregister(r, t, i),
      Socket::Unix(s) => s.reregister(r, t, i),
    }
  }

  fn deregister(&mut self, r: &Registry) -> io::Result<()> {
    match self.socket() {
      Socket::Tcp(s) => s.deregister(r),
      Socket::Unix(s) => s.deregister(r),
    }
  }
}
