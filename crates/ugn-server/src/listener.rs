use std::io;
use std::net::SocketAddr;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use mio::net::{TcpListener, UnixListener};
use mio::{event::Source, Interest, Registry, Token};

use crate::stream::Socket;

/// Whether a listener speaks TCP or over a Unix socket; the application sees it as the
/// server address in its environ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListenerKind {
    Tcp,
    Unix,
}

pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// Who is on the other end of an accepted connection, formatted once per connection.
pub(crate) struct Peer {
    pub(crate) addr: String,
    pub(crate) port: u16,
}

impl Peer {
    /// `None` is a Unix-socket peer, which has no address.
    pub(crate) fn of(addr: Option<SocketAddr>) -> Peer {
        match addr {
            Some(a) => Peer {
                addr: a.ip().to_string(),
                port: a.port(),
            },
            None => Peer {
                addr: String::new(),
                port: 0,
            },
        }
    }
}

impl Listener {
    /// Adopts an inherited listening socket. The fd is owned from here on.
    ///
    /// # Safety
    /// `fd` must be an open listening socket that nothing else in this process will close.
    pub(crate) unsafe fn from_raw_fd(fd: RawFd) -> io::Result<Listener> {
        let socket = socket2::Socket::from(OwnedFd::from_raw_fd(fd));
        socket.set_nonblocking(true)?;
        let local = socket.local_addr()?;
        if local.is_unix() {
            let std_listener = std::os::unix::net::UnixListener::from(OwnedFd::from(socket));
            Ok(Listener::Unix(UnixListener::from_std(std_listener)))
        } else {
            let std_listener = std::net::TcpListener::from(socket);
            Ok(Listener::Tcp(TcpListener::from_std(std_listener)))
        }
    }

    pub(crate) fn kind(&self) -> ListenerKind {
        match self {
            Listener::Tcp(_) => ListenerKind::Tcp,
            Listener::Unix(_) => ListenerKind::Unix,
        }
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Listener::Tcp(l) => l.local_addr().ok(),
            Listener::Unix(_) => None,
        }
    }

    /// A new connection and its peer's address (`None` over a Unix socket).
    pub(crate) fn accept(&self) -> io::Result<(Socket, Option<SocketAddr>)> {
        match self {
            Listener::Tcp(l) => {
                let (stream, addr) = l.accept()?;
                // Responses leave in one write per batch already; Nagle would only delay the last one.
                stream.set_nodelay(true)?;
                Ok((Socket::Tcp(stream), Some(addr)))
            }
            Listener::Unix(l) => {
                let (stream, _) = l.accept()?;
                Ok((Socket::Unix(stream), None))
            }
        }
    }
}

impl Source for Listener {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.register(r, t, i),
            Listener::Unix(l) => l.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.reregister(r, t, i),
            Listener::Unix(l) => l.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            Listener::Tcp(l) => l.deregister(r),
            Listener::Unix(l) => l.deregister(r),
        }
    }
}
