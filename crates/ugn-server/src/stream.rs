use std::io::{self, Read, Write};
use std::net::Shutdown;

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
}

impl Socket {
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
  pub(crate) fn tls(socket: Socket, session: ServerConnection) -> Stream {
    Stream::Tls(Box::new(TlsStream { socket, session }))
  }

  fn socket(&mut self) -> &mut Socket {
    match self {
      Stream::Plain(s) => s,
      Stream::Tls(t) => &mut t.socket,
    }
  }

  pub(crate) fn is_tls(&self) -> bool {
    matches!(self, Stream::Tls(_))
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
    if let (Stream::Tls(t), true) = (&mut *self, orderly) {
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

  /// Plaintext already decrypted comes first; otherwise one more batch of records is read from
  /// the socket, processed (which may queue handshake replies, sent at once), and tried again.
  /// `WouldBlock` means neither the session nor the socket has anything.
  fn read_plain(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    loop {
      match self.session.reader().read(buf) {
        Ok(n) => return Ok(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        // The peer closed the socket without a close_notify. Like Gunicorn's
        // suppress_ragged_eofs default, that is an end of stream, not an error.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
        Err(e) => return Err(e),
      }
      match self.session.read_tls(&mut self.socket) {
        Ok(0) => return Ok(0),
        Ok(_) => {}
        Err(e) => return Err(e),
      }
      let processed = self.session.process_new_packets();
      // Handshake messages, or the alert that explains a failure to the client.
      let sent = self.send_records();
      if let Err(e) = processed {
        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
      }
      sent?;
    }
  }

  /// Encrypts what the session will buffer (rustls bounds it, 64 KiB by default), then sends.
  /// While earlier records are still unsent, nothing more is taken: the response bytes stay in
  /// the engine's buffer, where its high-water mark sees them.
  fn write_plain(&mut self, buf: &[u8]) -> io::Result<usize> {
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
