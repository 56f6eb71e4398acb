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
    /// The last read from the socket took everything queued.
    drained: bool,
    /// Records read from the socket that the session had no room for yet (rare: only when one
    /// read completes records holding more than [`PLAINTEXT_HELD`] bytes of plaintext).
    unfed: Vec<u8>,
}

/// Decrypted bytes the session holds before it is given more records; rustls refuses more
/// past 16 KiB.
const PLAINTEXT_HELD: usize = 16 * 1024;

/// Bytes read from the socket at once through TLS: a whole record of the largest size. Read
/// into the stack and handed to the session, so a short read can tell the queue is empty.
const RECORDS_PER_READ: usize = 5 + 16 * 1024 + 256;

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

    /// On Linux through `sendmsg` with `MSG_NOSIGNAL`: `writev` would raise SIGPIPE on a reset
    /// connection, which `write` (a `send` with that flag) does not.
    #[cfg(target_os = "linux")]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let fd = match self {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        };
        // SAFETY: an all-zero msghdr is valid (no address, no control data); IoSlice has iovec's
        // layout on Unix, and the slices outlive the call.
        let n = unsafe {
            let mut msg: libc::msghdr = std::mem::zeroed();
            msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
            msg.msg_iovlen = bufs.len() as _;
            libc::sendmsg(fd, &msg, libc::MSG_NOSIGNAL)
        };
        if n < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(n as usize)
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write_vectored(bufs),
            Socket::Unix(s) => s.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Stream {
    /// `after_proxy_header`: the handshake starts once [`Stream::start_tls`] is called.
    pub(crate) fn tls(
        socket: Socket,
        session: ServerConnection,
        after_proxy_header: bool,
    ) -> Stream {
        let phase = if after_proxy_header {
            Phase::BeforeTls
        } else {
            Phase::Unchecked
        };
        Stream::Tls(Box::new(TlsStream {
            socket,
            session,
            phase,
            drained: false,
            unfed: Vec::new(),
        }))
    }

    /// Begins TLS after the PROXY header, with the bytes already read past it; returns whether
    /// the session took them (a plaintext request is left to be read as it is).
    pub(crate) fn start_tls(&mut self, read_ahead: &[u8]) -> io::Result<bool> {
        let Stream::Tls(t) = self else {
            return Ok(false);
        };
        match read_ahead.first() {
            None => t.phase = Phase::Unchecked,
            Some(b'A'..=b'Z') => t.phase = Phase::PlainHttp,
            Some(_) => {
                t.phase = Phase::Tls;
                let used = t.feed(read_ahead)?;
                t.unfed.extend_from_slice(&read_ahead[used..]);
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

    /// TLS negotiated HTTP/2 through ALPN.
    pub(crate) fn alpn_is_h2(&self) -> bool {
        matches!(self, Stream::Tls(t) if t.session.alpn_protocol() == Some(b"h2"))
    }

    pub(crate) fn raw_fd(&self) -> std::os::fd::RawFd {
        let socket = match self {
            Stream::Plain(s) => s,
            Stream::Tls(t) => &t.socket,
        };
        match socket {
            Socket::Tcp(s) => s.as_raw_fd(),
            Socket::Unix(s) => s.as_raw_fd(),
        }
    }

    pub(crate) fn is_plain(&self) -> bool {
        matches!(self, Stream::Plain(_))
    }

    pub(crate) fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(t) if t.phase == Phase::Tls)
    }

    /// Whether a read that returns fewer bytes than asked proves the kernel's queue is empty.
    /// Through TLS, only if the socket read behind it was short too.
    pub(crate) fn short_read_drains(&self) -> bool {
        match self {
            Stream::Plain(_) => true,
            Stream::Tls(t) => t.drained && t.unfed.is_empty(),
        }
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
    fn process(&mut self) -> io::Result<rustls::IoState> {
        let processed = self.session.process_new_packets();
        let sent = self.send_records();
        let state = processed.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        sent?;
        Ok(state)
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
            if !self.unfed.is_empty() {
                let unfed = std::mem::take(&mut self.unfed);
                let used = self.feed(&unfed)?;
                self.unfed = unfed[used..].to_vec();
                continue;
            }
            let mut records = [0u8; RECORDS_PER_READ];
            let n = match self.socket.read(&mut records) {
                Ok(0) => return Ok(0),
                Ok(n) => n,
                Err(e) => return Err(e),
            };
            self.drained = n < records.len();
            let used = self.feed(&records[..n])?;
            self.unfed.extend_from_slice(&records[used..n]);
        }
    }

    /// Hands received records to the session until they are used up, or its plaintext buffer
    /// is full, or a close_notify ends what it takes; returns the bytes taken.
    fn feed(&mut self, records: &[u8]) -> io::Result<usize> {
        let mut rest = records;
        while !rest.is_empty() {
            if self.session.read_tls(&mut rest)? == 0 {
                // After a close_notify nothing more is read; the reader reports the end.
                return Ok(records.len());
            }
            if self.process()?.plaintext_bytes_to_read() >= PLAINTEXT_HELD {
                break;
            }
        }
        Ok(records.len() - rest.len())
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

    /// One `writev` on a plain socket; through TLS, the first slice (the session copies anyway).
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Plain(s) => s.write_vectored(bufs),
            Stream::Tls(t) => t.write_plain(
                bufs.iter()
                    .find(|b| !b.is_empty())
                    .map_or(&[][..], |b| &b[..]),
            ),
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
