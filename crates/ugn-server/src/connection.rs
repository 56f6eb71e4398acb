use std::io::{self, IoSlice, Read, Write};
use std::time::Instant;

use ugn_http::{BodyDecoder, Framing, HeadReader, Header, ProxyProtocol, RequestHead};

use crate::buffers::CHUNK;
use crate::listener::Peer;
use crate::stream::Stream;

/// Response body bytes from which a single write goes straight to the socket instead of
/// through the write buffer: below it, copying costs less than the syscall it may add.
pub(crate) const WRITE_THROUGH: usize = 16 * 1024;

/// One accepted client and everything in flight on it.
pub(crate) struct Connection {
    pub(crate) stream: Stream,
    pub(crate) listener: usize,
    pub(crate) peer: Peer,
    /// The socket's peer may set the scheme through `secure_scheme_headers`.
    pub(crate) trusted: bool,
    /// Received bytes not yet consumed live in `rbuf[rstart..rend]`; the buffer is kept fully
    /// initialised so reads go straight into it. Both buffers are lent by the server's pool
    /// while the connection has bytes to handle, and empty while it is idle.
    pub(crate) rbuf: Vec<u8>,
    pub(crate) rstart: usize,
    pub(crate) rend: usize,
    /// Response bytes not yet accepted by the kernel live in `wbuf[wpos..]`.
    pub(crate) wbuf: Vec<u8>,
    pub(crate) wpos: usize,
    /// Edge-triggered readiness: set when the poller says readable, cleared when a read would
    /// block. While set, bytes may be waiting that no further event will announce.
    pub(crate) readable: bool,
    /// The poller said the peer closed its side: the end of stream waits behind the bytes still
    /// queued, so a short read does not prove the queue empty.
    pub(crate) read_closed: bool,
    pub(crate) peer_eof: bool,
    /// The poller also reports writability; only while a write is blocked, since on loopback
    /// every acknowledged write would otherwise wake the loop once more.
    pub(crate) write_interest: bool,
    /// Already listed in the server's set of connections with bytes to flush.
    pub(crate) dirty: bool,
    /// The producer was told the response buffer is full and waits for a drain event.
    pub(crate) drain_wanted: bool,
    /// The response was cut short, so the close must not look orderly: no TLS close_notify.
    pub(crate) cut: bool,
    /// The connection left HTTP: the embedder owns it and hears when it closes, however it closes.
    pub(crate) upgraded: bool,
    pub(crate) state: State,
    /// When an idle, lingering or head-reading connection is given up (see [`ServerConfig`]).
    pub(crate) deadline: Option<Instant>,
    /// When a request body or a response that makes no progress is given up.
    pub(crate) stall_deadline: Option<Instant>,
    pub(crate) requests: u64,
    /// The current request's head bytes followed by the peer address: exactly the text the
    /// embedder hands to the application, so it costs one string conversion per request.
    pub(crate) head_text: Vec<u8>,
    /// Where parsing of the head in `rbuf[rstart..rend]` stands, so each read costs its own bytes.
    pub(crate) head_reader: HeadReader,
    pub(crate) headers: Vec<Header>,
    /// Decoded request body bytes waiting for the embedder.
    pub(crate) body_out: Vec<u8>,
}

#[expect(
    clippy::large_enum_variant,
    reason = "a connection spends most of its life Active: boxing the exchange would cost an allocation per request to save bytes on idle connections"
)]
pub(crate) enum State {
    /// Waiting for (the rest of) the PROXY header that must open the connection.
    Proxy(ProxyProtocol),
    /// Waiting for (the rest of) a request head.
    Idle,
    /// A request is in the application's hands.
    Active(Exchange),
    /// Flushing a final response; then the write side is shut and the client's leftover bytes
    /// are drained until it closes or the linger deadline passes.
    Closing { write_shut: bool },
    /// After an upgrade (a 101 response, or the embedder taking the connection over): bytes pass
    /// through unframed both ways until either side closes.
    Tunnel(Tunnel),
}

#[derive(Default)]
pub(crate) struct Tunnel {
    /// The embedder has not taken the last bytes it was given.
    pub(crate) event_pending: bool,
    /// The embedder asked for no more bytes for now.
    pub(crate) paused: bool,
    /// The client ended its side; told once.
    pub(crate) peer_ended: bool,
}

/// One request and its response.
pub(crate) struct Exchange {
    pub(crate) head: RequestHead,
    pub(crate) decoder: Option<BodyDecoder>,
    pub(crate) body_done: bool,
    /// The chunked body's trailer fields, kept from the decoder when the body ends.
    pub(crate) trailers: Vec<(Vec<u8>, Vec<u8>)>,
    /// Decoded body bytes so far, held against `ServerConfig::max_body`.
    pub(crate) body_received: u64,
    pub(crate) body_paused: bool,
    pub(crate) body_event_pending: bool,
    pub(crate) response: Response,
    /// Whether the connection may serve another request after this one.
    pub(crate) keep_alive: bool,
    pub(crate) head_request: bool,
    /// A trusted proxy said the client used https.
    pub(crate) https: bool,
}

pub(crate) enum Response {
    NotStarted,
    Streaming { framing: Framing, written: u64 },
    Done,
}

pub(crate) enum ReadOutcome {
    Data,
    WouldBlock,
    Eof,
}

impl Connection {
    pub(crate) fn new(stream: Stream, listener: usize, peer: Peer, trusted: bool) -> Connection {
        Connection {
            stream,
            listener,
            peer,
            trusted,
            rbuf: Vec::new(),
            rstart: 0,
            rend: 0,
            wbuf: Vec::new(),
            wpos: 0,
            readable: false,
            read_closed: false,
            peer_eof: false,
            write_interest: false,
            dirty: false,
            drain_wanted: false,
            cut: false,
            upgraded: false,
            state: State::Idle,
            deadline: None,
            stall_deadline: None,
            requests: 0,
            head_text: Vec::with_capacity(1024),
            head_reader: HeadReader::new(),
            headers: Vec::with_capacity(32),
            body_out: Vec::new(),
        }
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.rstart += n;
        if self.rstart == self.rend {
            self.rstart = 0;
            self.rend = 0;
        }
    }

    /// Response bytes not yet with the kernel; nonzero too while only encrypted records wait.
    pub(crate) fn pending_write(&self) -> usize {
        self.wbuf.len() - self.wpos + usize::from(self.stream.has_unsent())
    }

    /// Reads once into the free end of the buffer, first making room by moving unconsumed
    /// bytes to the front and, if that is not enough, growing the buffer up to `max_buffered`.
    pub(crate) fn read_some(&mut self, max_buffered: usize) -> io::Result<ReadOutcome> {
        if self.rend == self.rbuf.len() {
            if self.rstart > 0 {
                self.rbuf.copy_within(self.rstart..self.rend, 0);
                self.rend -= self.rstart;
                self.rstart = 0;
            } else if self.rbuf.len() < max_buffered {
                let grown = (self.rbuf.len() * 2).min(max_buffered.max(CHUNK));
                self.rbuf.resize(grown, 0);
            }
            if self.rend == self.rbuf.len() {
                return Ok(ReadOutcome::Data);
            }
        }
        loop {
            let space = self.rbuf.len() - self.rend;
            match self.stream.read(&mut self.rbuf[self.rend..]) {
                Ok(0) => {
                    self.readable = false;
                    self.peer_eof = true;
                    return Ok(ReadOutcome::Eof);
                }
                Ok(n) => {
                    self.rend += n;
                    // A stream socket's read returns everything queued, up to the space given: a short
                    // read means the queue is empty now, and whatever arrives next raises a new edge. This
                    // saves the read that would only have said EAGAIN.
                    if n < space && self.stream.short_read_drains() && !self.read_closed {
                        self.readable = false;
                    }
                    return Ok(ReadOutcome::Data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.readable = false;
                    return Ok(ReadOutcome::WouldBlock);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Queues response body bytes. A large body goes to the kernel at once, behind the bytes
    /// already pending, in one vectored write: only what the kernel leaves is copied into `wbuf`.
    /// Smaller ones wait in `wbuf`, so that the responses of a batch leave in one write.
    pub(crate) fn push_body(&mut self, body: &[u8]) {
        let mut sent = 0;
        // Under TLS, or on a socket known to be full (write interest), the body is copied.
        let direct = body.len() >= WRITE_THROUGH && !self.write_interest;
        if let (true, Stream::Plain(socket)) = (direct, &mut self.stream) {
            // One attempt: a short write means the send buffer is full. Whatever a failed write
            // meant is met again by the flush, which handles it.
            loop {
                let pending = &self.wbuf[self.wpos..];
                match socket.write_vectored(&[IoSlice::new(pending), IoSlice::new(body)]) {
                    Ok(n) => {
                        let from_pending = n.min(pending.len());
                        self.wpos += from_pending;
                        sent = n - from_pending;
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                }
            }
            if self.wpos == self.wbuf.len() {
                self.wbuf.clear();
                self.wpos = 0;
            }
        }
        self.wbuf.extend_from_slice(&body[sent..]);
    }

    /// Writes as much of the pending response bytes as the kernel takes now.
    /// Returns whether everything was written.
    pub(crate) fn write_pending(&mut self) -> io::Result<bool> {
        while self.wpos < self.wbuf.len() {
            match self.stream.write(&self.wbuf[self.wpos..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.wpos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.wbuf.clear();
        self.wpos = 0;
        self.stream.send_unsent()?;
        Ok(!self.stream.has_unsent())
    }
}
