use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};
use ugn_http::{
    encode_chunk, encode_chunk_size, encode_interim_head, encode_last_chunk_with_trailers,
    encode_response_head, forwarded_scheme, parse_request_head, parse_required_proxy_header,
    BodyDecoder, BodyEvent, BodyKind, DateCache, Error as ParseError, Framing, Header, Parsed,
    ProxyProtocol, RequestHead, ResponseContext, ResponseError, Span,
};

use crate::buffers::BufferPool;
use crate::connection::{
    Connection, Exchange, ReadOutcome, Response, State, Tunnel, WRITE_THROUGH,
};
use crate::h2io::WakeList;
use crate::id::{ConnId, MAX_SLOTS};
use crate::listener::{Listener, ListenerKind, Peer};
use crate::stream::{Socket, Stream};
use crate::{Event, EventKind, ServerConfig};

mod http2;

use http2::{Detect, H2Entry};

/// Listener tokens sit above every connection index.
const LISTENER_TOKEN_BASE: usize = MAX_SLOTS;
/// Request bytes read ahead of the application (pipelined requests) before reading pauses.
const READ_AHEAD: usize = 64 * 1024;
/// The most bytes of one request head a connection buffers: with the default limits a head
/// may reach about 830 KB; 32768 fields (`limit_request_fields = 0`) would allow 268 MB.
const MAX_HEAD_BUFFER: usize = 2 * 1024 * 1024;
/// The longest PROXY header: a v2 header's 16 fixed bytes and its 16-bit length.
const MAX_PROXY_HEADER: usize = 16 + u16::MAX as usize;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Whether the producer of a response may keep writing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteStatus {
    /// Buffered bytes are below the high-water mark.
    Ready,
    /// The client reads slower than the app writes: wait for a [`EventKind::Drain`] event.
    Full,
}

#[derive(Debug)]
pub enum RespondError {
    /// The connection closed, or the id belongs to a request that already finished.
    Gone,
    /// `respond` was called twice, or `write`/`end` before `respond`.
    WrongState(&'static str),
    /// The application's status or headers are not valid HTTP.
    Invalid(ResponseError),
    /// The body disagrees with the `Content-Length` the application declared.
    LengthMismatch { declared: u64, written: u64 },
}

impl fmt::Display for RespondError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespondError::Gone => f.write_str("the connection is closed"),
            RespondError::WrongState(what) => f.write_str(what),
            RespondError::Invalid(e) => write!(f, "{e}"),
            RespondError::LengthMismatch { declared, written } => write!(
                f,
                "the response body is {written} bytes but Content-Length declared {declared}"
            ),
        }
    }
}

impl std::error::Error for RespondError {}

/// A parsed request, borrowed from its connection until the embedder calls back.
pub struct RequestView<'a> {
    /// The head bytes followed by the peer's address; every span below indexes into it.
    pub text: &'a [u8],
    pub head: &'a RequestHead,
    pub headers: &'a [Header],
    pub peer: Span,
    pub peer_port: u16,
    /// The client used https: over this connection's TLS, or as a trusted proxy's
    /// `secure_scheme_headers` say.
    pub https: bool,
    /// The connection itself is TLS.
    pub tls: bool,
    /// The request came on an HTTP/2 stream.
    pub http2: bool,
    /// Index of the listener that accepted the connection.
    pub listener: usize,
    /// The whole body, when it arrived together with the head.
    pub body: Option<&'a [u8]>,
}

struct Slot {
    generation: u32,
    conn: Option<Connection>,
    h2: Option<H2Entry>,
}

/// One worker's HTTP/1.1 engine; see the crate documentation.
pub struct Server {
    poll: Poll,
    events: Option<Events>,
    listeners: Vec<Option<Listener>>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    live: usize,
    config: ServerConfig,
    queue: VecDeque<Event>,
    dirty: Vec<usize>,
    date: DateCache,
    accept_paused: bool,
    shutting_down: bool,
    buffers: BufferPool,
    /// HTTP/2 connections to poll again.
    wakes: Arc<WakeList>,
}

impl Server {
    /// Takes ownership of inherited listening sockets and starts watching them.
    ///
    /// # Safety
    /// Every fd must be an open listening socket that nothing else in this process closes.
    pub unsafe fn from_listener_fds(fds: &[RawFd], config: ServerConfig) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = Vec::with_capacity(fds.len());
        for (i, &fd) in fds.iter().enumerate() {
            let mut listener = Listener::from_raw_fd(fd)?;
            register_listener(&poll, &mut listener, fd, Token(LISTENER_TOKEN_BASE + i))?;
            listeners.push(Some(listener));
        }
        Ok(Server {
            poll,
            events: Some(Events::with_capacity(1024)),
            listeners,
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            config,
            queue: VecDeque::new(),
            dirty: Vec::new(),
            date: DateCache::new(),
            accept_paused: false,
            shutting_down: false,
            buffers: BufferPool::default(),
            wakes: Arc::default(),
        })
    }

    /// Starts accepting on one more listening socket (an in-process server opened after the
    /// engine started) and returns its index, the `listener` of its connections.
    ///
    /// # Safety
    /// `fd` must be an open listening socket that nothing else in this process closes.
    pub unsafe fn add_listener(&mut self, fd: RawFd) -> io::Result<usize> {
        let index = self.listeners.len();
        let mut listener = Listener::from_raw_fd(fd)?;
        register_listener(
            &self.poll,
            &mut listener,
            fd,
            Token(LISTENER_TOKEN_BASE + index),
        )?;
        self.listeners.push(Some(listener));
        self.accept_all(index);
        Ok(index)
    }

    /// Stops accepting on one listener and closes it; its open connections carry on. Indexes
    /// are never reused, so a late event for the old socket cannot reach another.
    pub fn remove_listener(&mut self, index: usize) {
        if let Some(mut listener) = self.listeners.get_mut(index).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut listener);
        }
    }

    /// The poller's own descriptor: readable whenever `poll_io` has something to do, so an
    /// outer event loop (libuv's) can watch this one fd instead of every socket.
    pub fn poll_fd(&self) -> RawFd {
        use std::os::fd::AsRawFd;
        self.poll.as_raw_fd()
    }

    pub fn listener_kind(&self, index: usize) -> Option<ListenerKind> {
        self.listeners.get(index)?.as_ref().map(Listener::kind)
    }

    pub fn listener_addr(&self, index: usize) -> Option<std::net::SocketAddr> {
        self.listeners.get(index)?.as_ref()?.local_addr()
    }

    pub fn connections(&self) -> usize {
        self.live
    }

    pub fn is_shutting_down(&self) -> bool {
        self.shutting_down
    }

    /// Waits up to `timeout` for readiness and handles it: accepts, reads, parses, writes.
    /// What needs the application is queued; take it with [`Server::next_event`].
    pub fn poll_io(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        let mut events = self.events.take().expect("poll_io is not re-entrant");
        let result = self.poll.poll(&mut events, timeout);
        if let Err(e) = &result {
            if e.kind() == io::ErrorKind::Interrupted {
                self.events = Some(events);
                return Ok(());
            }
        }
        for event in events.iter() {
            let token = event.token().0;
            if token >= LISTENER_TOKEN_BASE {
                self.accept_all(token - LISTENER_TOKEN_BASE);
                continue;
            }
            if self.is_h2_conn(token) {
                self.drive_h2(token);
                continue;
            }
            let Some(conn) = self.conn_at(token) else {
                continue;
            };
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                conn.readable = true;
            }
            if event.is_read_closed() {
                conn.read_closed = true;
            }
            let writable = event.is_writable() || event.is_write_closed();
            self.advance(token);
            if writable {
                self.flush_one(token);
            }
        }
        self.events = Some(events);
        self.run_woken();
        result
    }

    pub fn next_event(&mut self) -> Option<Event> {
        self.queue.pop_front()
    }

    pub fn has_events(&self) -> bool {
        !self.queue.is_empty()
    }

    /// The request whose [`EventKind::Request`] event was just taken.
    pub fn request(&self, id: ConnId) -> Option<RequestView<'_>> {
        if self.is_h2_stream(id) {
            return self.h2_request(id);
        }
        let conn = self.conn(id)?;
        let State::Active(exchange) = &conn.state else {
            return None;
        };
        let head_len = exchange.head.head_len as u32;
        Some(RequestView {
            text: &conn.head_text,
            head: &exchange.head,
            headers: &conn.headers,
            peer: Span {
                start: head_len,
                end: conn.head_text.len() as u32,
            },
            peer_port: conn.peer.port,
            https: exchange.https,
            tls: conn.stream.is_tls(),
            http2: false,
            listener: conn.listener,
            body: (exchange.body_done && !exchange.body_event_pending)
                .then_some(&conn.body_out[..]),
        })
    }

    /// Decoded body bytes announced by a [`EventKind::Body`] event.
    /// The request's trailer fields (names as sent), once its chunked body has ended.
    pub fn request_trailers(&self, id: ConnId) -> &[(Vec<u8>, Vec<u8>)] {
        if self.is_h2_stream(id) {
            return self.h2_trailers(id);
        }
        match self.conn(id).map(|conn| &conn.state) {
            Some(State::Active(exchange)) => &exchange.trailers,
            _ => &[],
        }
    }

    pub fn body_chunk(&self, id: ConnId) -> Option<&[u8]> {
        if self.is_h2_stream(id) {
            return self.h2_body_chunk(id);
        }
        Some(&self.conn(id)?.body_out)
    }

    /// The embedder has copied the request body bytes it was given; decoding goes on.
    pub fn body_consumed(&mut self, id: ConnId) {
        if self.is_h2_stream(id) {
            return self.h2_body_consumed(id);
        }
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        conn.body_out.clear();
        match &mut conn.state {
            State::Active(exchange) => exchange.body_event_pending = false,
            State::Tunnel(tunnel) => tunnel.event_pending = false,
            _ => {}
        }
        self.advance(id.index());
    }

    /// Stops (or resumes) reading the request body until the application wants more.
    pub fn set_body_paused(&mut self, id: ConnId, paused: bool) {
        if self.is_h2_stream(id) {
            return self.h2_set_body_paused(id, paused);
        }
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        match &mut conn.state {
            State::Active(exchange) => exchange.body_paused = paused,
            State::Tunnel(tunnel) => tunnel.paused = paused,
            _ => {}
        }
        if !paused {
            self.advance(id.index());
        }
    }

    /// Sends an interim response (`103 Early Hints`) ahead of the final one. An HTTP/1.0 client
    /// may not be sent one (RFC 9110 §15.2): for it this does nothing.
    pub fn inform(
        &mut self,
        id: ConnId,
        status: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> Result<(), RespondError> {
        if self.is_h2_stream(id) {
            return self.h2_inform(id, status, headers);
        }
        let conn = self.conn_mut(id).ok_or(RespondError::Gone)?;
        let State::Active(exchange) = &conn.state else {
            return Err(RespondError::Gone);
        };
        if !matches!(exchange.response, Response::NotStarted) {
            return Err(RespondError::WrongState(
                "an interim response must come before the final one",
            ));
        }
        let mark = conn.wbuf.len();
        encode_interim_head(&mut conn.wbuf, status, headers).map_err(RespondError::Invalid)?;
        if exchange.head.minor_version == 0 {
            // Checked, not sent.
            conn.wbuf.truncate(mark);
            return Ok(());
        }
        self.mark_dirty(id.index());
        Ok(())
    }

    /// Starts the response: validates and encodes the status line and headers, then appends
    /// `body`. With `end`, the body is complete and its length becomes the `Content-Length`.
    pub fn respond(
        &mut self,
        id: ConnId,
        status: &[u8],
        headers: &[(&[u8], &[u8])],
        body: &[u8],
        end: bool,
    ) -> Result<WriteStatus, RespondError> {
        if self.is_h2_stream(id) {
            return self.h2_respond(id, status, headers, body, end);
        }
        let Server {
            slots,
            date,
            config,
            shutting_down,
            ..
        } = self;
        let conn = match slots.get_mut(id.index()) {
            Some(Slot {
                generation,
                conn: Some(conn),
                ..
            }) if *generation == id.generation() => conn,
            _ => return Err(RespondError::Gone),
        };
        let State::Active(exchange) = &mut conn.state else {
            return Err(RespondError::Gone);
        };
        if !matches!(exchange.response, Response::NotStarted) {
            return Err(RespondError::WrongState("the response was already started"));
        }
        let ctx = ResponseContext {
            minor_version: exchange.head.minor_version,
            head_request: exchange.head_request,
            keep_alive: exchange.keep_alive && !config.keep_alive.is_zero() && !*shutting_down,
            // Rounded down, as node:http does: the client then gives up a connection before we do.
            keep_alive_timeout: config.keep_alive.as_secs() as u32,
        };
        // A 101 to a request that asked for no upgrade (or whose body is unread) switches nothing:
        // it goes out as node:http would send it, and the connection closes after it.
        let tunnel = exchange.head.upgrade && exchange.body_done;
        let body_len = end.then_some(body.len() as u64);
        // On error the encoder leaves the buffer as it was: nothing of this response is sent.
        let head = encode_response_head(
            &mut conn.wbuf,
            &ctx,
            status,
            headers,
            body_len,
            date.get(),
            &config.server_header,
        )
        .map_err(RespondError::Invalid)?;
        exchange.keep_alive = head.keep_alive;
        if head.upgrade && tunnel {
            // The connection now speaks the new protocol; `body` is its first bytes.
            self.enter_tunnel(id.index());
            return Ok(self.append_raw(id.index(), body));
        }
        exchange.response = Response::Streaming {
            framing: head.framing,
            written: 0,
        };
        self.append_body(id.index(), body, end.then_some(&[]))
    }

    /// Appends body bytes to a started response.
    pub fn write(&mut self, id: ConnId, body: &[u8]) -> Result<WriteStatus, RespondError> {
        if self.is_h2_stream(id) {
            return self.h2_write(id, body);
        }
        if let Some(Connection {
            state: State::Tunnel(_),
            ..
        }) = self.conn(id)
        {
            return Ok(self.append_raw(id.index(), body));
        }
        self.check_streaming(id)?;
        self.append_body(id.index(), body, None)
    }

    /// Takes a connection over from HTTP (a WebSocket handshake the application answers itself):
    /// from here on `write` sends bytes as they are, [`EventKind::Body`] events carry the client's
    /// bytes as they arrive (those already read past the request head first), `BodyEnd` says the
    /// client ended its side, and `end` closes ours. Only a request with nothing of its response
    /// sent and no request body left to read can be taken over.
    pub fn detach(&mut self, id: ConnId) -> Result<(), RespondError> {
        if self.is_h2_stream(id) {
            return Err(RespondError::WrongState(
                "an HTTP/2 stream cannot be taken over (RFC 8441 WebSockets are not supported)",
            ));
        }
        let conn = self.conn_mut(id).ok_or(RespondError::Gone)?;
        match &conn.state {
      State::Active(exchange) if matches!(exchange.response, Response::NotStarted) && exchange.body_done => {}
      State::Active(_) => return Err(RespondError::WrongState("only a request whose body is read and whose response has not started can be taken over")),
      _ => return Err(RespondError::Gone),
    }
        self.enter_tunnel(id.index());
        Ok(())
    }

    fn enter_tunnel(&mut self, idx: usize) {
        let conn = self.slots[idx].conn.as_mut().unwrap();
        conn.state = State::Tunnel(Tunnel::default());
        conn.upgraded = true;
        conn.deadline = None;
        conn.stall_deadline = None;
        // Bytes read past the head belong to the new protocol: they go out with the first event.
        self.advance(idx);
    }

    fn append_raw(&mut self, idx: usize, bytes: &[u8]) -> WriteStatus {
        let high_water = self.config.write_high_water;
        let conn = self.slots[idx].conn.as_mut().unwrap();
        conn.wbuf.extend_from_slice(bytes);
        let status = if conn.pending_write() >= high_water {
            conn.drain_wanted = true;
            WriteStatus::Full
        } else {
            WriteStatus::Ready
        };
        self.mark_dirty(idx);
        status
    }

    /// Completes a started response.
    /// Ends a streamed response. `trailers` become the chunked body's trailer section; with any
    /// other framing (Content-Length, HTTP/1.0) there is no place for them and they are dropped.
    pub fn end(
        &mut self,
        id: ConnId,
        trailers: &[(&[u8], &[u8])],
    ) -> Result<WriteStatus, RespondError> {
        if self.is_h2_stream(id) {
            return self.h2_end(id, trailers);
        }
        let linger = self.config.linger;
        if let Some(
            conn @ Connection {
                state: State::Tunnel(_),
                ..
            },
        ) = self.conn_mut(id)
        {
            // Our side is done: what is buffered goes out, then the write side is shut and the
            // client's last bytes are drained until it closes.
            conn.state = State::Closing { write_shut: false };
            conn.deadline = Some(Instant::now() + linger);
            self.mark_dirty(id.index());
            return Ok(WriteStatus::Ready);
        }
        self.check_streaming(id)?;
        self.append_body(id.index(), &[], Some(trailers))
    }

    /// Drops the connection: the application failed after its response had started, so the
    /// only honest signal left for the client is a cut connection.
    pub fn abort(&mut self, id: ConnId) {
        if self.is_h2_stream(id) {
            return self.h2_abort(id);
        }
        let linger = self.config.linger;
        let Some(conn) = self.conn_mut(id) else {
            return;
        };
        if conn.pending_write() == 0 {
            return self.close(id.index(), true);
        }
        // What the app did send still goes out, then the connection closes mid-message.
        conn.cut = true;
        conn.state = State::Closing { write_shut: false };
        conn.deadline = Some(Instant::now() + linger);
        self.mark_dirty(id.index());
    }

    /// Writes buffered responses to their sockets. The embedder calls this once per batch of
    /// events, so every response produced for one socket in a batch leaves in one write.
    pub fn flush(&mut self) {
        while let Some(idx) = self.dirty.pop() {
            if let Some(conn) = self.conn_at(idx) {
                conn.dirty = false;
                self.flush_one(idx);
            }
        }
        self.run_woken();
    }

    /// Closes connections whose deadline passed: idle keep-alive connections, clients too slow
    /// to send a first request, and lingering closes.
    pub fn tick(&mut self, now: Instant) {
        for idx in 0..self.slots.len() {
            match &self.slots[idx].h2 {
                Some(H2Entry::Conn(_)) => self.tick_h2(idx, now),
                Some(H2Entry::Stream(_)) => self.tick_h2_stream(idx, now),
                None => {}
            }
            let Some(conn) = self.slots[idx].conn.as_ref() else {
                continue;
            };
            if conn.stall_deadline.is_some_and(|d| d <= now) {
                self.give_up_stalled(idx);
                continue;
            }
            if conn.deadline.is_none_or(|d| d > now) {
                continue;
            }
            match conn.state {
                // A keep-alive period that ran out while a response is still leaving waits for it:
                // the stall deadline watches that.
                State::Idle if conn.pending_write() > 0 => {}
                // A head begun and not finished in time: the slowloris case.
                State::Idle | State::Proxy(_) if conn.rend > conn.rstart => {
                    let _ = self.reject(idx, 408, "Request Timeout");
                    self.advance(idx);
                }
                _ => self.close(idx, true),
            }
        }
    }

    /// The client stopped sending the request body the app is reading, or stopped taking the
    /// response: the app is told, the client gets a 408 if no response has started, and the
    /// connection closes.
    fn give_up_stalled(&mut self, idx: usize) {
        let id = self.id_of(idx);
        let conn = self.slots[idx].conn.as_mut().unwrap();
        conn.stall_deadline = None;
        match &conn.state {
            State::Active(exchange)
                if !exchange.body_done && matches!(exchange.response, Response::NotStarted) =>
            {
                self.queue.push_back(Event {
                    kind: EventKind::BodyError,
                    id,
                });
                let _ = self.reject(idx, 408, "Request Timeout");
                self.advance(idx);
            }
            State::Active(exchange) if !exchange.body_done => {
                self.queue.push_back(Event {
                    kind: EventKind::BodyError,
                    id,
                });
                self.close(idx, false);
            }
            _ => self.close(idx, false),
        }
    }

    /// Stops accepting; every connection closes after its current response, or after the
    /// linger period if it stays idle. The worker may exit once [`Server::connections`] reaches zero.
    pub fn shutdown(&mut self) {
        self.shutting_down = true;
        for listener in self.listeners.iter_mut() {
            if let Some(mut l) = listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
        }
        let grace = Instant::now() + self.config.linger;
        for idx in 0..self.slots.len() {
            let Some(conn) = self.slots[idx].conn.as_mut() else {
                continue;
            };
            let drained = conn.rstart == conn.rend;
            let unsent = conn.pending_write() > 0;
            match &mut conn.state {
                // An idle connection may have its next request already on the way (a keep-alive
                // client, or one accepted just before the stop): serve what arrives within the grace
                // period, with Connection: close, rather than reset a client that did nothing wrong.
                State::Idle | State::Proxy(_) if drained && !unsent => {
                    conn.deadline = Some(conn.deadline.map_or(grace, |d| d.min(grace)))
                }
                // Its last response is still buffered: send it, then close.
                State::Idle if drained => {
                    conn.state = State::Closing { write_shut: false };
                    conn.deadline = Some(grace);
                    self.mark_dirty(idx);
                }
                State::Active(exchange) => exchange.keep_alive = false,
                _ => {}
            }
        }
        self.shutdown_h2();
        self.run_woken();
    }

    /// Drops every connection at once.
    pub fn close_all(&mut self) {
        for idx in 0..self.slots.len() {
            if self.slots[idx].conn.is_some() {
                self.close(idx, false);
            } else if self.is_h2_conn(idx) {
                self.abort_h2(idx);
            }
        }
    }

    fn conn(&self, id: ConnId) -> Option<&Connection> {
        match self.slots.get(id.index()) {
            Some(Slot {
                generation,
                conn: Some(conn),
                ..
            }) if *generation == id.generation() => Some(conn),
            _ => None,
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> Option<&mut Connection> {
        match self.slots.get_mut(id.index()) {
            Some(Slot {
                generation,
                conn: Some(conn),
                ..
            }) if *generation == id.generation() => Some(conn),
            _ => None,
        }
    }

    fn conn_at(&mut self, idx: usize) -> Option<&mut Connection> {
        self.slots.get_mut(idx)?.conn.as_mut()
    }

    fn id_of(&self, idx: usize) -> ConnId {
        ConnId::new(idx, self.slots[idx].generation)
    }

    fn check_streaming(&self, id: ConnId) -> Result<(), RespondError> {
        let conn = self.conn(id).ok_or(RespondError::Gone)?;
        match &conn.state {
            State::Active(Exchange {
                response: Response::Streaming { .. },
                ..
            }) => Ok(()),
            State::Active(Exchange {
                response: Response::NotStarted,
                ..
            }) => Err(RespondError::WrongState("the response was not started")),
            _ => Err(RespondError::Gone),
        }
    }

    fn accept_all(&mut self, index: usize) {
        while self.live < self.config.max_connections {
            let Some(Some(listener)) = self.listeners.get(index) else {
                return;
            };
            match listener.accept() {
                Ok((socket, addr)) => self.add_connection(socket, index, addr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // The client gave up before we accepted it, or we are out of descriptors; either way
                // the listener stays healthy and the next readiness event tries again.
                Err(_) => return,
            }
        }
        self.accept_paused = true;
    }

    fn add_connection(&mut self, socket: Socket, listener: usize, addr: Option<SocketAddr>) {
        let stream = match &self.config.tls {
            None => Stream::Plain(socket),
            Some(tls) => match rustls::ServerConnection::new(tls.clone()) {
                Ok(session) => Stream::tls(socket, session, self.config.proxy_protocol.is_some()),
                Err(_) => return,
            },
        };
        let ip = addr.map(|a| a.ip());
        let trusted = self.config.forwarded_allow_ips.allows(ip);
        let mut conn = Connection::new(stream, listener, Peer::of(addr), trusted);
        let mut forbidden = false;
        if let Some(mode) = self.config.proxy_protocol {
            forbidden = !self.config.proxy_allow_ips.allows(ip);
            conn.state = State::Proxy(mode);
        }
        let Some(idx) = self.take_slot() else { return };
        if self
            .poll
            .registry()
            .register(&mut conn.stream, Token(idx), Interest::READABLE)
            .is_err()
        {
            self.release_slot(idx);
            return;
        }
        conn.deadline = Some(Instant::now() + self.config.header_timeout);
        conn.readable = true;
        self.slots[idx].conn = Some(conn);
        self.live += 1;
        if forbidden {
            // Answered at once: nothing this peer sends can make it allowed.
            let _ = self.reject_parse_error(idx, ParseError::ForbiddenProxyRequest);
        }
        self.advance(idx);
    }

    /// Frees a slot. With `quiet`, the application is not told (nothing of it was in flight,
    /// or the embedder itself asked for the close).
    fn close(&mut self, idx: usize, quiet: bool) {
        let Some(mut conn) = self.slots[idx].conn.take() else {
            return;
        };
        let in_flight = matches!(
            &conn.state,
            State::Active(Exchange {
                response: Response::NotStarted | Response::Streaming { .. },
                ..
            }) | State::Tunnel(_)
        );
        if (in_flight && !quiet) || conn.upgraded {
            self.queue.push_back(Event {
                kind: EventKind::Closed,
                id: self.id_of(idx),
            });
        }
        let _ = self.poll.registry().deregister(&mut conn.stream);
        Self::lend_back(&mut self.buffers, &mut conn);
        drop(conn);
        self.free_connection_slot(idx);
    }

    /// A free slot for a connection or an HTTP/2 stream.
    fn take_slot(&mut self) -> Option<usize> {
        match self.free.pop() {
            Some(idx) => Some(idx),
            None if self.slots.len() < MAX_SLOTS => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                    h2: None,
                });
                Some(self.slots.len() - 1)
            }
            None => None,
        }
    }

    /// Makes a slot free; ids naming what it held go stale.
    fn release_slot(&mut self, idx: usize) {
        let slot = &mut self.slots[idx];
        slot.generation = ConnId::next_generation(slot.generation);
        self.free.push(idx);
    }

    /// Releases a closed connection's slot and resumes accepting if the cap had stopped it.
    fn free_connection_slot(&mut self, idx: usize) {
        self.release_slot(idx);
        self.live -= 1;
        if self.accept_paused && !self.shutting_down {
            self.accept_paused = false;
            for index in 0..self.listeners.len() {
                self.accept_all(index);
            }
        }
    }

    /// Returns a connection's buffers to the pool (it is idle, or closing for good).
    fn lend_back(buffers: &mut BufferPool, conn: &mut Connection) {
        buffers.recycle_read(std::mem::take(&mut conn.rbuf));
        buffers.recycle_write(std::mem::take(&mut conn.wbuf));
    }

    fn mark_dirty(&mut self, idx: usize) {
        if let Some(conn) = self.slots[idx].conn.as_mut() {
            if !conn.dirty {
                conn.dirty = true;
                self.dirty.push(idx);
            }
        }
    }

    fn flush_one(&mut self, idx: usize) {
        let high_water = self.config.write_high_water;
        let linger = self.config.linger;
        let body_timeout = self.config.body_timeout;
        let Some(conn) = self.slots[idx].conn.as_mut() else {
            return;
        };
        let before = conn.pending_write();
        let written = conn.write_pending();
        if let Ok(all_written) = written {
            let reading_body =
                matches!(&conn.state, State::Active(e) if !e.body_done && !e.body_paused);
            if !all_written && (conn.pending_write() < before || conn.stall_deadline.is_none()) {
                conn.stall_deadline = Some(Instant::now() + body_timeout);
            } else if all_written && !reading_body {
                conn.stall_deadline = None;
            }
            // The last response of a now idle connection has left: nothing for its buffers to hold.
            if all_written
                && matches!(conn.state, State::Idle)
                && conn.rstart == conn.rend
                && !conn.readable
            {
                Self::lend_back(&mut self.buffers, conn);
            }
        }
        if let Ok(all_written) = written {
            if all_written == conn.write_interest {
                let interest = if all_written {
                    Interest::READABLE
                } else {
                    Interest::READABLE | Interest::WRITABLE
                };
                if self
                    .poll
                    .registry()
                    .reregister(&mut conn.stream, Token(idx), interest)
                    .is_ok()
                {
                    conn.write_interest = !all_written;
                }
            }
        }
        match written {
            Ok(all_written) => {
                let wants_drain = conn.drain_wanted && conn.pending_write() < high_water;
                if wants_drain {
                    conn.drain_wanted = false;
                }
                let shut_now =
                    all_written && matches!(conn.state, State::Closing { write_shut: false });
                if shut_now {
                    conn.state = State::Closing { write_shut: true };
                    conn.deadline = Some(Instant::now() + linger);
                    if conn.stream.shutdown_write(!conn.cut).is_err() || conn.peer_eof {
                        self.close(idx, true);
                        return;
                    }
                }
                if wants_drain {
                    let id = self.id_of(idx);
                    self.queue.push_back(Event {
                        kind: EventKind::Drain,
                        id,
                    });
                }
                if shut_now {
                    self.advance(idx);
                }
            }
            Err(_) => self.close(idx, false),
        }
    }

    /// Moves a connection's state machine as far as the bytes at hand allow.
    fn advance(&mut self, idx: usize) {
        loop {
            let Some(conn) = self.slots[idx].conn.as_mut() else {
                return;
            };
            if conn.rbuf.is_empty() && conn.readable {
                conn.rbuf = self.buffers.read_buffer();
            }
            let step = match &conn.state {
                State::Idle | State::Active(_) if conn.stream.is_plain_http() => {
                    self.reject(idx, 400, "This port speaks HTTPS: plain HTTP was sent.")
                }
                State::Proxy(mode) => {
                    let mode = *mode;
                    self.step_proxy(idx, mode)
                }
                State::Idle => self.step_idle(idx),
                State::Active(_) => self.step_active(idx),
                State::Closing { write_shut } => {
                    let write_shut = *write_shut;
                    self.step_closing(idx, write_shut)
                }
                State::Tunnel(_) => self.step_tunnel(idx),
            };
            match step {
                Step::Again => continue,
                Step::Wait => {
                    // Handshake records the kernel would not take during a read are sent once writable.
                    if let Some(conn) = self.slots[idx].conn.as_ref() {
                        if conn.stream.has_unsent() && !conn.write_interest {
                            self.mark_dirty(idx);
                        }
                    }
                    return;
                }
                Step::Close => return self.close(idx, false),
            }
        }
    }

    /// Reads the PROXY header the connection must start with; the client it names, if any,
    /// becomes the peer the application sees.
    fn step_proxy(&mut self, idx: usize, mode: ProxyProtocol) -> Step {
        let conn = self.slots[idx].conn.as_mut().unwrap();
        match parse_required_proxy_header(&conn.rbuf[conn.rstart..conn.rend], mode) {
            Ok(Parsed::Complete((header, used))) => {
                if let Some(source) = header.source() {
                    conn.peer = Peer::of(Some(source));
                }
                conn.consume(used);
                match conn.stream.start_tls(&conn.rbuf[conn.rstart..conn.rend]) {
                    Ok(true) => conn.consume(conn.rend - conn.rstart),
                    Ok(false) => {}
                    Err(_) => return Step::Close,
                }
                conn.state = State::Idle;
                Step::Again
            }
            // A header is at most MAX_PROXY_HEADER bytes, so the buffer never fills before it is whole.
            Ok(Parsed::Partial) if conn.readable => match conn.read_some(MAX_PROXY_HEADER) {
                Ok(ReadOutcome::Data) => Step::Again,
                Ok(ReadOutcome::WouldBlock) => Step::Wait,
                Ok(ReadOutcome::Eof) | Err(_) => Step::Close,
            },
            Ok(Parsed::Partial) => Step::Wait,
            Err(e) => self.reject_parse_error(idx, e),
        }
    }

    fn step_idle(&mut self, idx: usize) -> Step {
        let high_water = self.config.write_high_water;
        let max_head = self.max_head_bytes();
        let conn = self.slots[idx].conn.as_mut().unwrap();
        if conn.pending_write() >= high_water {
            // The client pipelines requests without reading our responses: stop reading.
            return Step::Wait;
        }
        if conn.rstart == conn.rend {
            if !conn.readable {
                // Idle with nothing to handle: the buffers go back to the pool until bytes arrive.
                if conn.pending_write() == 0 {
                    Self::lend_back(&mut self.buffers, conn);
                }
                return Step::Wait;
            }
            return match conn.read_some(max_head) {
                Ok(ReadOutcome::Data) => {
                    if conn.requests > 0 {
                        conn.deadline = Some(Instant::now() + self.config.header_timeout);
                    }
                    Step::Again
                }
                Ok(ReadOutcome::WouldBlock) => Step::Wait,
                Ok(ReadOutcome::Eof) | Err(_) => Step::Close,
            };
        }
        match Self::detect_h2(&self.config, conn) {
            Detect::Http1 if !self.config.http1 => {
                return self.reject(idx, 505, "This server speaks HTTP/2 only.")
            }
            Detect::Http1 => {}
            Detect::Http2 => {
                self.start_h2(idx);
                return Step::Wait;
            }
            Detect::NeedMore if conn.readable => {
                return match conn.read_some(max_head) {
                    Ok(ReadOutcome::Data) => Step::Again,
                    Ok(ReadOutcome::WouldBlock) => Step::Wait,
                    Ok(ReadOutcome::Eof) | Err(_) => Step::Close,
                };
            }
            Detect::NeedMore => return Step::Wait,
        }
        let conn = self.slots[idx].conn.as_mut().unwrap();
        let buffered = &conn.rbuf[conn.rstart..conn.rend];
        // A head that arrives in pieces is parsed in full only when it may be complete (or at each
        // doubling of the buffer), while its limits are checked at every read.
        match conn
            .head_reader
            .parse(buffered, &self.config.limits, &mut conn.headers)
        {
            Ok(Parsed::Complete(head)) => {
                let secure = &self.config.secure_scheme_headers;
                let https = if conn.trusted && !secure.is_empty() {
                    match forwarded_scheme(buffered, &conn.headers, secure) {
                        Ok(scheme) => scheme == Some(true),
                        Err(e) => return self.reject_parse_error(idx, e),
                    }
                } else {
                    false
                };
                self.start_exchange(idx, head, https);
                Step::Again
            }
            Ok(Parsed::Partial) => {
                if !conn.readable {
                    return Step::Wait;
                }
                // At the ceiling or at the client's end of stream the head is parsed once in full: the
                // reader may not have run the full parse over the last bytes yet, and a malformed head
                // is answered as such (400) rather than 431 or a silent close.
                let final_parse = |conn: &mut Connection, limits| {
                    parse_request_head(
                        &conn.rbuf[conn.rstart..conn.rend],
                        limits,
                        &mut conn.headers,
                    )
                    .err()
                };
                if conn.rend - conn.rstart >= max_head {
                    return match final_parse(conn, &self.config.limits) {
                        Some(e) => self.reject_parse_error(idx, e),
                        None => self.reject(idx, 431, "Request Header Fields Too Large"),
                    };
                }
                match conn.read_some(max_head) {
                    Ok(ReadOutcome::Data) => Step::Again,
                    Ok(ReadOutcome::WouldBlock) => Step::Wait,
                    Ok(ReadOutcome::Eof) => match final_parse(conn, &self.config.limits) {
                        Some(e) => self.reject_parse_error(idx, e),
                        None => Step::Close,
                    },
                    Err(_) => Step::Close,
                }
            }
            Err(e) => self.reject_parse_error(idx, e),
        }
    }

    fn start_exchange(&mut self, idx: usize, head: RequestHead, https: bool) {
        let id = self.id_of(idx);
        let limits = &self.config.limits;
        let conn = self.slots[idx].conn.as_mut().unwrap();
        if conn.wbuf.capacity() == 0 {
            conn.wbuf = self.buffers.write_buffer();
        }
        conn.head_text.clear();
        conn.head_text
            .extend_from_slice(&conn.rbuf[conn.rstart..conn.rstart + head.head_len]);
        conn.head_text.extend_from_slice(conn.peer.addr.as_bytes());
        conn.consume(head.head_len);
        conn.deadline = None;
        let head_request = head.method.get(&conn.head_text) == b"HEAD";
        if let BodyKind::Length(declared) = head.body {
            // Refused before the app is called, and before a 100 Continue invites the body.
            if self.config.max_body > 0 && declared > self.config.max_body {
                let _ = self.reject(idx, 413, "Content Too Large");
                return;
            }
        }
        let decoder = match head.body {
            BodyKind::None | BodyKind::Length(0) => None,
            kind => Some(BodyDecoder::new(kind, limits)),
        };
        let expect_continue = head.expect_continue;
        conn.state = State::Active(Exchange {
            keep_alive: head.keep_alive,
            head,
            body_done: decoder.is_none(),
            decoder,
            trailers: Vec::new(),
            body_received: 0,
            body_paused: false,
            body_event_pending: false,
            response: Response::NotStarted,
            head_request,
            https: https || conn.stream.is_tls(),
        });
        // Decode whatever body arrived with the head, so a small request reaches the app whole.
        match decode_available(conn, usize::MAX, self.config.max_body) {
            Ok(_) => {}
            Err(BodyFailure::Invalid(e)) => {
                let _ = self.reject_parse_error(idx, e);
                return;
            }
            Err(BodyFailure::TooLarge) => {
                let _ = self.reject(idx, 413, "Content Too Large");
                return;
            }
        }
        let conn = self.slots[idx].conn.as_mut().unwrap();
        let State::Active(exchange) = &mut conn.state else {
            unreachable!()
        };
        let body_done = exchange.body_done;
        if !body_done {
            conn.stall_deadline = Some(Instant::now() + self.config.body_timeout);
        }
        let has_partial_body = !body_done && !conn.body_out.is_empty();
        if has_partial_body {
            exchange.body_event_pending = true;
        }
        if expect_continue && !body_done {
            conn.wbuf.extend_from_slice(CONTINUE);
            self.mark_dirty(idx);
        }
        self.queue.push_back(Event {
            kind: EventKind::Request,
            id,
        });
        if has_partial_body {
            self.queue.push_back(Event {
                kind: EventKind::Body,
                id,
            });
        }
    }

    fn step_active(&mut self, idx: usize) -> Step {
        let body_high_water = self.config.body_high_water;
        let body_timeout = self.config.body_timeout;
        let id = self.id_of(idx);
        let conn = self.slots[idx].conn.as_mut().unwrap();
        let State::Active(exchange) = &mut conn.state else {
            unreachable!()
        };
        let response_done = matches!(exchange.response, Response::Done);

        if !exchange.body_done {
            // After the response, unread body bytes are discarded so the connection can be reused.
            let limit = if response_done {
                usize::MAX
            } else {
                body_high_water
            };
            if !response_done && (exchange.body_paused || conn.body_out.len() >= body_high_water) {
                // Waiting for the app, not for the client.
                if conn.pending_write() == 0 {
                    conn.stall_deadline = None;
                }
                return Step::Wait;
            }
            let needs_input = match decode_available(conn, limit, self.config.max_body) {
                Err(failure) => {
                    self.queue.push_back(Event {
                        kind: EventKind::BodyError,
                        id,
                    });
                    return match failure {
                        BodyFailure::Invalid(_) => self.reject(idx, 400, "Bad Request"),
                        BodyFailure::TooLarge => self.reject(idx, 413, "Content Too Large"),
                    };
                }
                Ok(needs_input) => needs_input,
            };
            let State::Active(exchange) = &mut conn.state else {
                unreachable!()
            };
            if response_done {
                conn.body_out.clear();
            } else {
                if !conn.body_out.is_empty() && !exchange.body_event_pending {
                    exchange.body_event_pending = true;
                    self.queue.push_back(Event {
                        kind: EventKind::Body,
                        id,
                    });
                }
                if exchange.body_done {
                    self.queue.push_back(Event {
                        kind: EventKind::BodyEnd,
                        id,
                    });
                }
            }
            if exchange.body_done {
                if conn.pending_write() == 0 {
                    conn.stall_deadline = None;
                }
                return Step::Again;
            }
            // Bytes the decoder could not use yet (a chunk-size line cut by the read) wait for more.
            if conn.rstart != conn.rend && !needs_input && conn.body_out.len() < body_high_water {
                return Step::Again;
            }
            if !conn.readable {
                conn.stall_deadline
                    .get_or_insert_with(|| Instant::now() + body_timeout);
                return Step::Wait;
            }
            return match conn.read_some(body_high_water) {
                Ok(ReadOutcome::Data) => {
                    conn.stall_deadline = Some(Instant::now() + body_timeout);
                    Step::Again
                }
                Ok(ReadOutcome::WouldBlock) => {
                    conn.stall_deadline
                        .get_or_insert_with(|| Instant::now() + body_timeout);
                    Step::Wait
                }
                Ok(ReadOutcome::Eof) | Err(_) => {
                    if !response_done {
                        self.queue.push_back(Event {
                            kind: EventKind::BodyError,
                            id,
                        });
                    }
                    Step::Close
                }
            };
        }

        if response_done {
            let keep = exchange.keep_alive && !conn.peer_eof && !self.shutting_down;
            conn.requests += 1;
            if keep {
                conn.state = State::Idle;
                conn.deadline = Some(Instant::now() + self.config.keep_alive);
            } else {
                conn.state = State::Closing { write_shut: false };
                self.mark_dirty(idx);
            }
            return Step::Again;
        }

        // Waiting for the application: read ahead a little, to notice a client that leaves. An
        // end of stream counts as leaving, as in node:http and hyper by default: a client that
        // only half-closes is rare, while one that gave up must stop the app's work (Closed).
        if !conn.readable || conn.rend - conn.rstart >= READ_AHEAD {
            return Step::Wait;
        }
        match conn.read_some(READ_AHEAD) {
            Ok(ReadOutcome::Data) => Step::Again,
            Ok(ReadOutcome::WouldBlock) => Step::Wait,
            Ok(ReadOutcome::Eof) | Err(_) => Step::Close,
        }
    }

    /// Hands the client's bytes to the embedder one batch at a time, reading more while it has
    /// not paused and the read-ahead is below the body high-water mark.
    fn step_tunnel(&mut self, idx: usize) -> Step {
        let high_water = self.config.body_high_water;
        let id = self.id_of(idx);
        let conn = self.slots[idx].conn.as_mut().unwrap();
        let State::Tunnel(tunnel) = &mut conn.state else {
            unreachable!()
        };
        if conn.rstart != conn.rend && !tunnel.event_pending && !tunnel.paused {
            conn.body_out
                .extend_from_slice(&conn.rbuf[conn.rstart..conn.rend]);
            conn.rstart = 0;
            conn.rend = 0;
            tunnel.event_pending = true;
            self.queue.push_back(Event {
                kind: EventKind::Body,
                id,
            });
        }
        if tunnel.paused
            || !conn.readable
            || conn.rend - conn.rstart >= high_water
            || tunnel.peer_ended
        {
            return Step::Wait;
        }
        match conn.read_some(high_water) {
            Ok(ReadOutcome::Data) => Step::Again,
            Ok(ReadOutcome::WouldBlock) => Step::Wait,
            Ok(ReadOutcome::Eof) => {
                let State::Tunnel(tunnel) = &mut conn.state else {
                    unreachable!()
                };
                if conn.rstart != conn.rend {
                    // The last bytes go out first; the end is told on a later pass.
                    conn.readable = true;
                    conn.peer_eof = false;
                    return Step::Wait;
                }
                tunnel.peer_ended = true;
                self.queue.push_back(Event {
                    kind: EventKind::BodyEnd,
                    id,
                });
                Step::Wait
            }
            Err(_) => Step::Close,
        }
    }

    fn step_closing(&mut self, idx: usize, write_shut: bool) -> Step {
        let conn = self.slots[idx].conn.as_mut().unwrap();
        if !write_shut {
            if conn.pending_write() == 0 {
                self.flush_one(idx);
            }
            return Step::Wait;
        }
        // Drain and discard what the client still sends, so our last response is not destroyed
        // by a reset that unread bytes would cause.
        loop {
            conn.rstart = 0;
            conn.rend = 0;
            if !conn.readable {
                return Step::Wait;
            }
            match conn.read_some(conn.rbuf.len()) {
                Ok(ReadOutcome::Data) => continue,
                Ok(ReadOutcome::WouldBlock) => return Step::Wait,
                Ok(ReadOutcome::Eof) | Err(_) => return Step::Close,
            }
        }
    }

    /// `end`: the trailers that close the body, or None while it goes on.
    fn append_body(
        &mut self,
        idx: usize,
        body: &[u8],
        end: Option<&[(&[u8], &[u8])]>,
    ) -> Result<WriteStatus, RespondError> {
        let high_water = self.config.write_high_water;
        let conn = self.slots[idx].conn.as_mut().unwrap();
        let State::Active(exchange) = &mut conn.state else {
            return Err(RespondError::Gone);
        };
        let Response::Streaming { framing, written } = &mut exchange.response else {
            return Err(RespondError::WrongState("the response was not started"));
        };
        let framing = *framing;
        let total = *written + body.len() as u64;
        if let Framing::Length(declared) = framing {
            if total > declared || (end.is_some() && total < declared) {
                // The framing is broken for this client; closing is the only way to end the message.
                conn.cut = true;
                conn.state = State::Closing { write_shut: false };
                self.mark_dirty(idx);
                return Err(RespondError::LengthMismatch {
                    declared,
                    written: total,
                });
            }
        }
        *written = total;
        match framing {
            Framing::NoBody => {}
            Framing::Length(_) | Framing::CloseDelimited => conn.push_body(body),
            Framing::Chunked => {
                if body.len() >= WRITE_THROUGH {
                    encode_chunk_size(&mut conn.wbuf, body.len());
                    conn.push_body(body);
                    conn.wbuf.extend_from_slice(b"\r\n");
                } else {
                    encode_chunk(&mut conn.wbuf, body);
                }
                if let Some(trailers) = end {
                    // Writes nothing when a trailer is invalid, and the response stays open.
                    encode_last_chunk_with_trailers(&mut conn.wbuf, trailers)
                        .map_err(RespondError::Invalid)?;
                }
            }
        }
        let status = if conn.wbuf.len() - conn.wpos >= high_water {
            conn.drain_wanted = true;
            WriteStatus::Full
        } else {
            WriteStatus::Ready
        };
        if let (Some(_), State::Active(exchange)) = (end, &mut conn.state) {
            exchange.response = Response::Done;
        }
        self.mark_dirty(idx);
        if end.is_some() {
            self.advance(idx);
        }
        Ok(status)
    }

    fn reject_parse_error(&mut self, idx: usize, error: ParseError) -> Step {
        self.reject(idx, error.status(), error.reason())
    }

    /// Answers a request the server itself refuses, then closes.
    fn reject(&mut self, idx: usize, status: u16, reason: &str) -> Step {
        let date = self.date.get().to_vec();
        let server = self.config.server_header.clone();
        let linger = self.config.linger;
        let conn = self.slots[idx].conn.as_mut().unwrap();
        if let State::Active(Exchange {
            response: Response::Streaming { .. } | Response::Done,
            ..
        }) = conn.state
        {
            return Step::Close;
        }
        let body = format!("{reason}\n");
        let w = &mut conn.wbuf;
        w.extend_from_slice(format!("HTTP/1.1 {status} {}\r\n", reason_phrase(status)).as_bytes());
        if !server.is_empty() {
            w.extend_from_slice(b"Server: ");
            w.extend_from_slice(&server);
            w.extend_from_slice(b"\r\n");
        }
        w.extend_from_slice(b"Date: ");
        w.extend_from_slice(&date);
        w.extend_from_slice(
            b"\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ",
        );
        w.extend_from_slice(body.len().to_string().as_bytes());
        w.extend_from_slice(b"\r\n\r\n");
        w.extend_from_slice(body.as_bytes());
        conn.state = State::Closing { write_shut: false };
        conn.deadline = Some(Instant::now() + linger);
        conn.rstart = 0;
        conn.rend = 0;
        self.mark_dirty(idx);
        Step::Again
    }

    /// The most bytes a request head may take before it is refused (431): what the limits allow,
    /// but never more than `MAX_HEAD_BUFFER`, however many fields `limit_request_fields` admits.
    fn max_head_bytes(&self) -> usize {
        let l = &self.config.limits;
        let line = if l.max_request_line == 0 {
            8190
        } else {
            l.max_request_line
        };
        let field = if l.max_header_field_size == 0 {
            8190
        } else {
            l.max_header_field_size
        };
        (line + 2 + (l.fields() + 1) * (field + 2) + 2).min(MAX_HEAD_BUFFER)
    }
}

/// Every worker watches the same shared listening sockets (with `--reuse-port`, a worker slot's
/// own socket, shared by its old and new worker during a reload). On Linux they are registered
/// level-triggered with `EPOLLEXCLUSIVE`, so a new connection wakes one worker instead of all of
/// them (the thundering herd), and whichever worker is woken accepts what is queued. mio has no
/// such flag, so the registration is made on its epoll instance directly; mio still reads the
/// events, since they carry the listener's token.
#[cfg(target_os = "linux")]
fn register_listener(
    poll: &Poll,
    _listener: &mut Listener,
    fd: RawFd,
    token: Token,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut event = libc::epoll_event {
        events: (libc::EPOLLIN | libc::EPOLLEXCLUSIVE) as u32,
        u64: token.0 as u64,
    };
    // SAFETY: both descriptors are open, and event outlives the call.
    if unsafe { libc::epoll_ctl(poll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn register_listener(
    poll: &Poll,
    listener: &mut Listener,
    _fd: RawFd,
    token: Token,
) -> io::Result<()> {
    poll.registry()
        .register(listener, token, Interest::READABLE)
}

enum Step {
    Again,
    Wait,
    Close,
}

/// Why decoding a request body stopped short.
enum BodyFailure {
    Invalid(ParseError),
    /// Past `ServerConfig::max_body`.
    TooLarge,
}

/// Decodes buffered body bytes into `body_out`, up to `limit` bytes held, refusing a body that
/// grows past `max_body` (0: no limit).
/// `Ok(true)`: the decoder cannot go on without more bytes from the socket (what is buffered,
/// if anything, is an incomplete chunk-size line or delimiter).
fn decode_available(
    conn: &mut Connection,
    limit: usize,
    max_body: u64,
) -> Result<bool, BodyFailure> {
    let State::Active(exchange) = &mut conn.state else {
        return Ok(false);
    };
    let Some(decoder) = exchange.decoder.as_mut() else {
        exchange.body_done = true;
        return Ok(false);
    };
    let mut needs_input = false;
    while conn.body_out.len() < limit {
        let input = &conn.rbuf[conn.rstart..conn.rend];
        let (used, event) = decoder.decode(input).map_err(BodyFailure::Invalid)?;
        match event {
            BodyEvent::Data { start, end } => {
                exchange.body_received += (end - start) as u64;
                if max_body > 0 && exchange.body_received > max_body {
                    return Err(BodyFailure::TooLarge);
                }
                conn.body_out.extend_from_slice(&input[start..end]);
            }
            BodyEvent::NeedMore => {
                conn.rstart += used;
                needs_input = true;
                break;
            }
            BodyEvent::Done => {
                conn.rstart += used;
                exchange.body_done = true;
                exchange.trailers = decoder.trailers().to_vec();
                exchange.decoder = None;
                break;
            }
        }
        conn.rstart += used;
    }
    if conn.rstart == conn.rend {
        conn.rstart = 0;
        conn.rend = 0;
    }
    Ok(needs_input)
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        417 => "Expectation Failed",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Error",
    }
}
