use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;

use mio::net::{TcpStream, UnixStream};
use mio::{event::Source, Interest, Registry, Token};

/// An accepted connection, over TCP or a Unix socket.
pub(crate) enum Stream {
  Tcp(TcpStream),
  Unix(UnixStream),
}

impl Stream {
  pub(crate) fn shutdown_write(&self) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.shutdown(Shutdown::Write),
      Stream::Unix(s) => s.shutdown(Shutdown::Write),
    }
  }
}

impl Read for Stream {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    match self {
      Stream::Tcp(s) => s.read(buf),
      Stream::Unix(s) => s.read(buf),
    }
  }
}

impl Write for Stream {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    match self {
      Stream::Tcp(s) => s.write(buf),
      Stream::Unix(s) => s.write(buf),
    }
  }

  fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
    match self {
      Stream::Tcp(s) => s.write_vectored(bufs),
      Stream::Unix(s) => s.write_vectored(bufs),
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}

impl Source for Stream {
  fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.register(r, t, i),
      Stream::Unix(s) => s.register(r, t, i),
    }
  }

  fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.reregister(r, t, i),
      Stream::Unix(s) => s.reregister(r, t, i),
    }
  }

  fn deregister(&mut self, r: &Registry) -> io::Result<()> {
    match self {
      Stream::Tcp(s) => s.deregister(r),
      Stream::Unix(s) => s.deregister(r),
    }
  }
}
