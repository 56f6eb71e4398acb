//! HTTP/2 connections and their streams, served by the same engine and through the same API as
//! HTTP/1.1: a stream is named by a [`ConnId`] of its own, raises the same events and is
//! answered with the same calls, so the embedder and the application never need to know which
//! protocol carried a request.
//!
//! A connection becomes HTTP/2 when TLS negotiated `h2` through ALPN, or when a trusted peer on
//! a cleartext listener opens with the HTTP/2 preface (h2c with prior knowledge). From then on
//! the `h2` crate owns framing, HPACK and flow control; the engine polls its futures with a
//! waker that only lists the connection for another poll (see `crate::h2io`), when the socket
//! is ready and after the application acted on one of its streams.
//!
//! Each stream's request head is written out as the HTTP/1.1 head it is equivalent to and
//! parsed by the same parser, so the limits, the header checks and the spans the embedder reads
//! are those of HTTP/1.1; the version the application sees comes from [`RequestView::http2`].

use std::cell::Cell;
use std::collections::VecDeque;
use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::Bytes;
use h2::server::{Connection as H2Connection, Handshake, SendResponse};
use h2::{Reason, RecvStream, SendStream};
use http::header::{HeaderName, HeaderValue};
use mio::unix::SourceFd;
use mio::{Interest, Token};
use ugn_http::{
    check_interim_head, check_trailers, forwarded_scheme, h2_response_head, parse_request_head,
    BodyKind, Header, Parsed, RequestHead, ResponseError, Span,
};

use super::{RequestView, RespondError, Server, WriteStatus};
use crate::connection::Connection;
use crate::h2io::{ConnWake, H2Io};
use crate::listener::Peer;
use crate::{ConnId, Event, EventKind, ServerConfig};

/// What every HTTP/2 client sends first (RFC 9113 §3.4).
pub(super) const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Polls of woken connections per flush; a connection still woken after that waits for the
/// next batch rather than starve the event loop.
const MAX_WAKE_ROUNDS: usize = 64;

/// A slot holds an HTTP/2 connection or one of its streams instead of an HTTP/1.1 connection.
pub(super) enum H2Entry {
    Conn(Box<H2Conn>),
    Stream(Box<H2Stream>),
}

pub(super) struct H2Conn {
    phase: Phase,
    wake: ConnWake,
    /// Set by the socket adapter when a write would block; the socket is then watched for
    /// writability until a poll gets everything out.
    write_blocked: Rc<Cell<bool>>,
    write_interest: bool,
    fd: RawFd,
    listener: usize,
    peer: Peer,
    trusted: bool,
    tls: bool,
    /// Slots of the streams in the application's hands.
    streams: Vec<usize>,
    /// The handshake's limit, then how long the connection may stay without streams.
    deadline: Option<Instant>,
    /// GOAWAY was sent: the streams in flight finish, no new ones start.
    going_away: bool,
}

enum Phase {
    Handshake(Handshake<H2Io, Bytes>),
    Open(H2Connection<H2Io, Bytes>),
}

pub(super) struct H2Stream {
    conn: usize,
    /// The equivalent HTTP/1.1 head followed by the peer address, as for HTTP/1.1.
    text: Vec<u8>,
    head: RequestHead,
    headers: Vec<Header>,
    https: bool,
    recv: Option<RecvStream>,
    body_out: Vec<u8>,
    body_done: bool,
    body_paused: bool,
    body_event_pending: bool,
    body_received: u64,
    /// Body bytes handed to the embedder whose flow-control window is not yet given back.
    unreleased: usize,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
    respond: Option<SendResponse<Bytes>>,
    send: Option<SendStream<Bytes>>,
    /// Response body bytes waiting for flow-control capacity.
    out: VecDeque<Bytes>,
    out_len: usize,
    /// The app's Content-Length, held against what it writes.
    declared: Option<u64>,
    written: u64,
    /// The app ended the response; `end_trailers` go after the last bytes.
    ended: bool,
    end_trailers: Option<http::HeaderMap>,
    /// END_STREAM was sent: the stream is done on our side.
    sent_end: bool,
    /// HEAD, 204, 304: the app's body bytes are dropped.
    no_body: bool,
    drain_wanted: bool,
    /// When a request body, or a response, that makes no progress is given up (`body_timeout`).
    stall_deadline: Option<Instant>,
}

/// Whether a new connection's first bytes make it an HTTP/2 one.
pub(super) enum Detect {
    Http1,
    Http2,
    /// They may be the start of the preface: more are needed to tell.
    NeedMore,
}

impl Server {
    /// Decides, before its first request head is parsed, whether a connection speaks HTTP/2.
    pub(super) fn detect_h2(config: &ServerConfig, conn: &Connection) -> Detect {
        let Some(http2) = &config.http2 else {
            return Detect::Http1;
        };
        if conn.requests > 0 {
            return Detect::Http1;
        }
        if conn.stream.is_tls() {
            return if conn.stream.alpn_is_h2() {
                Detect::Http2
            } else {
                Detect::Http1
            };
        }
        if !http2.cleartext || !conn.trusted {
            return Detect::Http1;
        }
        let buffered = &conn.rbuf[conn.rstart..conn.rend];
        let n = buffered.len().min(PREFACE.len());
        match buffered[..n] == PREFACE[..n] {
            true if n == PREFACE.len() => Detect::Http2,
            true => Detect::NeedMore,
            false => Detect::Http1,
        }
    }

    /// Hands the connection in `idx` to `h2`, with the bytes already read from it.
    pub(super) fn start_h2(&mut self, idx: usize) {
        let Some(mut conn) = self.slots[idx].conn.take() else {
            return;
        };
        let http2 = self.config.http2.as_ref().expect("HTTP/2 is on");
        let prefix = conn.rbuf[conn.rstart..conn.rend].to_vec();
        Self::lend_back(&mut self.buffers, &mut conn);
        let write_blocked = Rc::new(Cell::new(false));
        let tls = conn.stream.is_tls();
        let fd = conn.stream.raw_fd();
        let io = H2Io::new(conn.stream, prefix, write_blocked.clone());
        let handshake = h2::server::Builder::new()
            .max_concurrent_streams(http2.max_concurrent_streams)
            .initial_window_size(http2.initial_window_size)
            .max_frame_size(http2.max_frame_size)
            .max_header_list_size(http2.max_header_list_size)
            .handshake(io);
        let entry = H2Conn {
            phase: Phase::Handshake(handshake),
            wake: ConnWake::new(idx, self.wakes.clone()),
            write_blocked,
            write_interest: conn.write_interest,
            fd,
            listener: conn.listener,
            peer: conn.peer,
            trusted: conn.trusted,
            tls,
            streams: Vec::new(),
            deadline: Some(Instant::now() + self.config.header_timeout),
            going_away: false,
        };
        self.slots[idx].h2 = Some(H2Entry::Conn(Box::new(entry)));
        self.drive_h2(idx);
    }

    pub(super) fn is_h2_conn(&self, idx: usize) -> bool {
        matches!(
            self.slots.get(idx).and_then(|s| s.h2.as_ref()),
            Some(H2Entry::Conn(_))
        )
    }

    /// Polls a connection: handshake, reading and writing frames, new streams, and then every
    /// stream's body in both directions.
    pub(super) fn drive_h2(&mut self, idx: usize) {
        // A stale wake may name a slot that now holds something else.
        if !self.is_h2_conn(idx) {
            return;
        }
        let Some(H2Entry::Conn(mut conn)) = self.slots[idx].h2.take() else {
            return;
        };
        let waker = conn.wake.rearm();
        let mut cx = Context::from_waker(&waker);
        conn.write_blocked.set(false);
        let mut finished = false;
        if let Phase::Handshake(handshake) = &mut conn.phase {
            match Pin::new(handshake).poll(&mut cx) {
                Poll::Ready(Ok(mut open)) => {
                    if self.shutting_down {
                        open.graceful_shutdown();
                        conn.going_away = true;
                    }
                    conn.phase = Phase::Open(open);
                    conn.deadline = None;
                }
                Poll::Ready(Err(_)) => finished = true,
                Poll::Pending => {}
            }
        }
        let mut accepted = Vec::new();
        if let Phase::Open(open) = &mut conn.phase {
            loop {
                match open.poll_accept(&mut cx) {
                    Poll::Ready(Some(Ok(stream))) => accepted.push(stream),
                    // A connection error (h2 has sent GOAWAY), or the connection closed.
                    Poll::Ready(Some(Err(_)) | None) => {
                        finished = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
        }
        for (request, respond) in accepted {
            self.accept_h2_stream(idx, &mut conn, request, respond);
        }
        let mut i = 0;
        while i < conn.streams.len() {
            if self.drive_h2_stream(conn.streams[i], &mut cx) {
                conn.streams.swap_remove(i);
            } else {
                i += 1;
            }
        }
        if finished {
            return self.close_h2(idx, conn);
        }
        if conn.streams.is_empty() && matches!(conn.phase, Phase::Open(_)) {
            conn.deadline
                .get_or_insert_with(|| Instant::now() + self.config.keep_alive);
        } else if matches!(conn.phase, Phase::Open(_)) {
            conn.deadline = None;
        }
        let blocked = conn.write_blocked.get();
        if blocked != conn.write_interest {
            let interest = if blocked {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if self
                .poll
                .registry()
                .reregister(&mut SourceFd(&conn.fd), Token(idx), interest)
                .is_ok()
            {
                conn.write_interest = blocked;
            }
        }
        self.slots[idx].h2 = Some(H2Entry::Conn(conn));
    }

    /// Polls the connections woken since the last time, until none is.
    pub(super) fn run_woken(&mut self) {
        for _ in 0..MAX_WAKE_ROUNDS {
            let mut woken = self.wakes.take();
            if woken.is_empty() {
                return;
            }
            woken.sort_unstable();
            woken.dedup();
            for idx in woken {
                self.drive_h2(idx);
            }
        }
    }

    /// Turns a new stream into a request for the application.
    fn accept_h2_stream(
        &mut self,
        conn_idx: usize,
        conn: &mut H2Conn,
        request: http::Request<RecvStream>,
        mut respond: SendResponse<Bytes>,
    ) {
        if conn.going_away {
            respond.send_reset(Reason::REFUSED_STREAM);
            return;
        }
        let (parts, recv) = request.into_parts();
        let mut text = Vec::with_capacity(512);
        equivalent_head(&parts, &mut text);
        let mut headers = Vec::with_capacity(parts.headers.len() + 1);
        let mut head = match parse_request_head(&text, &self.config.limits, &mut headers) {
            Ok(Parsed::Complete(head)) => head,
            Ok(Parsed::Partial) => return refuse(&mut respond, 400, "Bad Request"),
            Err(e) => return refuse(&mut respond, e.status(), e.reason()),
        };
        let secure = &self.config.secure_scheme_headers;
        let forwarded_https = if conn.trusted && !secure.is_empty() {
            match forwarded_scheme(&text, &headers, secure) {
                Ok(scheme) => scheme == Some(true),
                Err(e) => return refuse(&mut respond, e.status(), e.reason()),
            }
        } else {
            false
        };
        let max_body = self.config.max_body;
        if let (true, Some(declared)) = (max_body > 0, head.content_length) {
            if declared > max_body {
                return refuse(&mut respond, 413, "Content Too Large");
            }
        }
        let body_done = recv.is_end_stream();
        // The body is framed by DATA frames: the length the app may use is the one declared.
        head.body = match (body_done, head.content_length) {
            (true, _) => BodyKind::None,
            (false, Some(n)) => BodyKind::Length(n),
            (false, None) => BodyKind::Chunked,
        };
        head.keep_alive = true;
        head.upgrade = false;
        if head.expect_continue && !body_done {
            let _ = respond.send_informational(
                http::Response::builder()
                    .status(100)
                    .body(())
                    .expect("a valid status"),
            );
        }
        head.expect_continue = false;
        text.extend_from_slice(conn.peer.addr.as_bytes());
        let head_request = parts.method == http::Method::HEAD;
        let stream = H2Stream {
            conn: conn_idx,
            text,
            head,
            headers,
            https: conn.tls || forwarded_https,
            recv: Some(recv),
            body_out: Vec::new(),
            body_done,
            body_paused: false,
            body_event_pending: false,
            body_received: 0,
            unreleased: 0,
            trailers: Vec::new(),
            respond: Some(respond),
            send: None,
            out: VecDeque::new(),
            out_len: 0,
            declared: None,
            written: 0,
            ended: false,
            end_trailers: None,
            sent_end: false,
            no_body: head_request,
            drain_wanted: false,
            stall_deadline: None,
        };
        let Some(idx) = self.take_slot() else { return };
        self.slots[idx].h2 = Some(H2Entry::Stream(Box::new(stream)));
        conn.streams.push(idx);
        self.queue.push_back(Event {
            kind: EventKind::Request,
            id: self.id_of(idx),
        });
    }

    /// Moves one stream's bodies along; returns whether the stream is done with.
    fn drive_h2_stream(&mut self, idx: usize, cx: &mut Context<'_>) -> bool {
        let id = self.id_of(idx);
        let (body_high_water, write_high_water, max_body) = (
            self.config.body_high_water,
            self.config.write_high_water,
            self.config.max_body,
        );
        let body_timeout = self.config.body_timeout;
        let Some(H2Entry::Stream(s)) = self.slots[idx].h2.as_mut() else {
            return true;
        };
        let mut gone = false;
        let progress_from = (s.body_received, s.out_len);

        if !s.body_done && !s.body_paused && !s.body_event_pending {
            let recv = s.recv.as_mut().expect("the body is being received");
            while s.body_out.len() < body_high_water {
                match recv.poll_data(cx) {
                    Poll::Ready(Some(Ok(data))) => {
                        s.body_received += data.len() as u64;
                        s.unreleased += data.len();
                        s.body_out.extend_from_slice(&data);
                    }
                    Poll::Ready(Some(Err(_))) => {
                        gone = true;
                        break;
                    }
                    Poll::Ready(None) => {
                        match recv.poll_trailers(cx) {
                            Poll::Ready(Ok(Some(trailers))) => {
                                s.trailers = trailers
                                    .iter()
                                    .map(|(n, v)| {
                                        (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec())
                                    })
                                    .collect();
                            }
                            Poll::Ready(Ok(None)) => {}
                            Poll::Ready(Err(_)) => gone = true,
                            Poll::Pending => break,
                        }
                        s.body_done = true;
                        break;
                    }
                    Poll::Pending => break,
                }
            }
            if max_body > 0 && s.body_received > max_body && !gone {
                if let Some(mut respond) = s.respond.take() {
                    refuse(&mut respond, 413, "Content Too Large");
                }
                self.queue.push_back(Event {
                    kind: EventKind::BodyError,
                    id,
                });
                return self.finish_h2_stream(idx, true);
            }
            if !s.body_out.is_empty() {
                s.body_event_pending = true;
                self.queue.push_back(Event {
                    kind: EventKind::Body,
                    id,
                });
            }
            if s.body_done && !gone {
                self.queue.push_back(Event {
                    kind: EventKind::BodyEnd,
                    id,
                });
            }
        }
        if gone {
            self.queue.push_back(Event {
                kind: EventKind::BodyError,
                id,
            });
            return self.finish_h2_stream(idx, true);
        }

        let Some(H2Entry::Stream(s)) = self.slots[idx].h2.as_mut() else {
            return true;
        };
        if let Some(send) = s.send.as_mut() {
            while let Some(front) = s.out.front_mut() {
                send.reserve_capacity(s.out_len);
                let capacity = send.capacity();
                if capacity == 0 {
                    match send.poll_capacity(cx) {
                        Poll::Ready(Some(Ok(_))) => continue,
                        Poll::Ready(Some(Err(_)) | None) => {
                            return self.finish_h2_stream(idx, true)
                        }
                        Poll::Pending => break,
                    }
                }
                let chunk = if front.len() <= capacity {
                    s.out.pop_front().expect("a front")
                } else {
                    front.split_to(capacity)
                };
                s.out_len -= chunk.len();
                let last = s.ended && s.out.is_empty() && s.end_trailers.is_none();
                if send.send_data(chunk, last).is_err() {
                    return self.finish_h2_stream(idx, true);
                }
                s.sent_end |= last;
            }
            if s.ended && s.out.is_empty() && !s.sent_end {
                let sent = match s.end_trailers.take() {
                    Some(trailers) => send.send_trailers(trailers),
                    None => send.send_data(Bytes::new(), true),
                };
                if sent.is_err() {
                    return self.finish_h2_stream(idx, true);
                }
                s.sent_end = true;
            }
            if s.drain_wanted && s.out_len < write_high_water {
                s.drain_wanted = false;
                self.queue.push_back(Event {
                    kind: EventKind::Drain,
                    id,
                });
            }
        }

        let Some(H2Entry::Stream(s)) = self.slots[idx].h2.as_mut() else {
            return true;
        };
        if s.sent_end && s.ended {
            return self.finish_h2_stream(idx, false);
        }
        let waiting_on_client = (!s.body_done && !s.body_paused && !s.body_event_pending)
            || s.out_len > 0
            || (s.ended && !s.sent_end);
        if !waiting_on_client {
            s.stall_deadline = None;
        } else if s.stall_deadline.is_none() || progress_from != (s.body_received, s.out_len) {
            s.stall_deadline = Some(Instant::now() + body_timeout);
        }
        // A client that resets the stream before the response is complete has gone away.
        let reset = match (s.respond.as_mut(), s.send.as_mut()) {
            (Some(respond), _) => respond.poll_reset(cx),
            (None, Some(send)) => send.poll_reset(cx),
            (None, None) => Poll::Pending,
        };
        if reset.is_ready() {
            return self.finish_h2_stream(idx, true);
        }
        false
    }

    /// Frees a stream's slot; with `tell`, the application hears that its request is gone.
    fn finish_h2_stream(&mut self, idx: usize, tell: bool) -> bool {
        let id = self.id_of(idx);
        if !matches!(self.slots[idx].h2, Some(H2Entry::Stream(_))) {
            return true;
        }
        if let Some(H2Entry::Stream(mut s)) = self.slots[idx].h2.take() {
            if tell {
                if let Some(send) = s.send.as_mut() {
                    send.send_reset(Reason::CANCEL);
                }
                self.queue.push_back(Event {
                    kind: EventKind::Closed,
                    id,
                });
            }
        }
        self.release_slot(idx);
        true
    }

    /// Drops a connection and tells the application about each stream it still had.
    fn close_h2(&mut self, idx: usize, conn: Box<H2Conn>) {
        let _ = self.poll.registry().deregister(&mut SourceFd(&conn.fd));
        for &stream in &conn.streams {
            self.finish_h2_stream(stream, true);
        }
        drop(conn);
        self.free_connection_slot(idx);
    }

    /// Closes an HTTP/2 connection at once (`close_all`).
    pub(super) fn abort_h2(&mut self, idx: usize) {
        if !self.is_h2_conn(idx) {
            return;
        }
        if let Some(H2Entry::Conn(conn)) = self.slots[idx].h2.take() {
            self.close_h2(idx, conn);
        }
    }

    /// A deadline passed: a handshake not finished in time is dropped; a connection without
    /// streams is sent GOAWAY, and dropped if it is still there after the linger period.
    pub(super) fn tick_h2(&mut self, idx: usize, now: Instant) {
        let linger = self.config.linger;
        let Some(H2Entry::Conn(conn)) = self.slots[idx].h2.as_mut() else {
            return;
        };
        if conn.deadline.is_none_or(|d| d > now) {
            return;
        }
        match &mut conn.phase {
            Phase::Open(open) if !conn.going_away => {
                open.graceful_shutdown();
                conn.going_away = true;
                conn.deadline = Some(now + linger);
                self.drive_h2(idx);
            }
            _ => self.abort_h2(idx),
        }
    }

    /// A stream's client stopped sending the body the app reads, or stopped taking the response:
    /// the app is told, the client gets 408 if no response has started, and the stream is reset.
    pub(super) fn tick_h2_stream(&mut self, idx: usize, now: Instant) {
        let id = self.id_of(idx);
        let Some(H2Entry::Stream(s)) = self.slots[idx].h2.as_mut() else {
            return;
        };
        if s.stall_deadline.is_none_or(|d| d > now) {
            return;
        }
        if !s.body_done {
            self.queue.push_back(Event {
                kind: EventKind::BodyError,
                id,
            });
        }
        if let Some(mut respond) = s.respond.take() {
            refuse(&mut respond, 408, "Request Timeout");
        }
        let conn = s.conn;
        if let Some(H2Entry::Conn(c)) = self.slots[conn].h2.as_mut() {
            c.streams.retain(|&i| i != idx);
        }
        self.wakes.push(conn);
        self.finish_h2_stream(idx, true);
    }

    /// Sends GOAWAY on every connection: streams in flight finish, no new ones are accepted, and
    /// each connection closes once it has none.
    pub(super) fn shutdown_h2(&mut self) {
        let linger = self.config.linger;
        for idx in 0..self.slots.len() {
            let Some(H2Entry::Conn(conn)) = self.slots[idx].h2.as_mut() else {
                continue;
            };
            match &mut conn.phase {
                Phase::Open(open) => {
                    if !conn.going_away {
                        open.graceful_shutdown();
                        conn.going_away = true;
                    }
                    if conn.streams.is_empty() {
                        conn.deadline = Some(Instant::now() + linger);
                    }
                    self.drive_h2(idx);
                }
                Phase::Handshake(_) => self.abort_h2(idx),
            }
        }
    }

    fn stream_ref(&self, id: ConnId) -> Option<&H2Stream> {
        match self.slots.get(id.index()) {
            Some(slot) if slot.generation == id.generation() => match &slot.h2 {
                Some(H2Entry::Stream(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    fn stream_mut(&mut self, id: ConnId) -> Option<&mut H2Stream> {
        match self.slots.get_mut(id.index()) {
            Some(slot) if slot.generation == id.generation() => match &mut slot.h2 {
                Some(H2Entry::Stream(s)) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn is_h2_stream(&self, id: ConnId) -> bool {
        self.stream_ref(id).is_some()
    }

    /// Lists a stream's connection for a poll at the next flush.
    fn wake_stream_conn(&self, id: ConnId) {
        if let Some(s) = self.stream_ref(id) {
            self.wakes.push(s.conn);
        }
    }

    pub(super) fn h2_request(&self, id: ConnId) -> Option<RequestView<'_>> {
        let s = self.stream_ref(id)?;
        let Some(H2Entry::Conn(conn)) = self.slots[s.conn].h2.as_ref() else {
            return None;
        };
        Some(RequestView {
            text: &s.text,
            head: &s.head,
            headers: &s.headers,
            peer: Span {
                start: s.head.head_len as u32,
                end: s.text.len() as u32,
            },
            peer_port: conn.peer.port,
            https: s.https,
            tls: conn.tls,
            http2: true,
            listener: conn.listener,
            body: (s.body_done && !s.body_event_pending).then_some(&s.body_out[..]),
        })
    }

    pub(super) fn h2_trailers(&self, id: ConnId) -> &[(Vec<u8>, Vec<u8>)] {
        self.stream_ref(id).map_or(&[], |s| &s.trailers)
    }

    pub(super) fn h2_body_chunk(&self, id: ConnId) -> Option<&[u8]> {
        Some(&self.stream_ref(id)?.body_out)
    }

    /// The embedder took the body bytes: the client may send as many again.
    pub(super) fn h2_body_consumed(&mut self, id: ConnId) {
        let Some(s) = self.stream_mut(id) else { return };
        s.body_out.clear();
        s.body_event_pending = false;
        let unreleased = std::mem::take(&mut s.unreleased);
        if let Some(recv) = s.recv.as_mut() {
            let _ = recv.flow_control().release_capacity(unreleased);
        }
        self.wake_stream_conn(id);
    }

    pub(super) fn h2_set_body_paused(&mut self, id: ConnId, paused: bool) {
        let Some(s) = self.stream_mut(id) else { return };
        s.body_paused = paused;
        if !paused {
            self.wake_stream_conn(id);
        }
    }

    pub(super) fn h2_inform(
        &mut self,
        id: ConnId,
        status: &[u8],
        headers: &[(&[u8], &[u8])],
    ) -> Result<(), RespondError> {
        check_interim_head(status, headers).map_err(RespondError::Invalid)?;
        let s = self.stream_mut(id).ok_or(RespondError::Gone)?;
        let respond = s.respond.as_mut().ok_or(RespondError::WrongState(
            "an interim response must come before the final one",
        ))?;
        let mut response = http::Response::new(());
        *response.status_mut() = status_code(status)?;
        for &(name, value) in headers {
            let (name, value) = field(name, value)?;
            response.headers_mut().append(name, value);
        }
        respond
            .send_informational(response)
            .map_err(|_| RespondError::Gone)?;
        self.wake_stream_conn(id);
        Ok(())
    }

    pub(super) fn h2_respond(
        &mut self,
        id: ConnId,
        status: &[u8],
        headers: &[(&[u8], &[u8])],
        body: &[u8],
        end: bool,
    ) -> Result<WriteStatus, RespondError> {
        let date = HeaderValue::from_bytes(self.date.get()).expect("an HTTP date");
        let server = HeaderValue::from_bytes(&self.config.server_header)
            .ok()
            .filter(|v| !v.is_empty());
        let s = self.stream_mut(id).ok_or(RespondError::Gone)?;
        if s.respond.is_none() {
            return Err(RespondError::WrongState("the response was already started"));
        }
        let head = h2_response_head(status, headers, s.no_body, end.then_some(body.len() as u64))
            .map_err(RespondError::Invalid)?;
        let mut response = http::Response::new(());
        *response.status_mut() = status_code(status)?;
        let map = response.headers_mut();
        for &(name, value) in &head.fields {
            let (name, value) = field(name, value)?;
            map.append(name, value);
        }
        if !head.has_date {
            map.insert(http::header::DATE, date);
        }
        if let (false, Some(server)) = (head.has_server, server) {
            map.insert(http::header::SERVER, server);
        }
        if let (false, Some(n)) = (head.declared_length, head.length) {
            map.insert(http::header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        let no_body = head.no_body || head.status == 204 || head.status == 304;
        let end_now = no_body || (end && body.is_empty());
        let respond = s.respond.as_mut().expect("checked above");
        let send = respond
            .send_response(response, end_now)
            .map_err(|_| RespondError::Gone)?;
        s.respond = None;
        s.no_body = no_body;
        s.sent_end = end_now;
        s.ended = end;
        s.declared = if no_body {
            None
        } else {
            head.declared_length.then_some(head.length).flatten()
        };
        if !end_now {
            s.send = Some(send);
        }
        let status = if no_body {
            Ok(WriteStatus::Ready)
        } else {
            self.h2_append(id, body)
        };
        self.wake_stream_conn(id);
        status
    }

    pub(super) fn h2_write(
        &mut self,
        id: ConnId,
        body: &[u8],
    ) -> Result<WriteStatus, RespondError> {
        let s = self.stream_ref(id).ok_or(RespondError::Gone)?;
        if s.respond.is_some() {
            return Err(RespondError::WrongState("the response was not started"));
        }
        if s.ended {
            return Err(RespondError::Gone);
        }
        let status = self.h2_append(id, body);
        self.wake_stream_conn(id);
        status
    }

    pub(super) fn h2_end(
        &mut self,
        id: ConnId,
        trailers: &[(&[u8], &[u8])],
    ) -> Result<WriteStatus, RespondError> {
        let s = self.stream_mut(id).ok_or(RespondError::Gone)?;
        if s.respond.is_some() {
            return Err(RespondError::WrongState("the response was not started"));
        }
        if let Some(declared) = s.declared.filter(|&d| d != s.written) {
            let written = s.written;
            self.h2_abort(id);
            return Err(RespondError::LengthMismatch { declared, written });
        }
        if !trailers.is_empty() && !s.no_body {
            check_trailers(trailers).map_err(RespondError::Invalid)?;
            let mut map = http::HeaderMap::new();
            for &(name, value) in trailers {
                let (name, value) = field(name, value)?;
                map.append(name, value);
            }
            s.end_trailers = Some(map);
        }
        s.ended = true;
        self.wake_stream_conn(id);
        Ok(WriteStatus::Ready)
    }

    /// The app failed mid-response: the stream is reset, so the client knows the body is cut.
    pub(super) fn h2_abort(&mut self, id: ConnId) {
        let Some(s) = self.stream_mut(id) else { return };
        match (s.respond.as_mut(), s.send.as_mut()) {
            (Some(respond), _) => respond.send_reset(Reason::INTERNAL_ERROR),
            (None, Some(send)) => send.send_reset(Reason::INTERNAL_ERROR),
            (None, None) => {}
        }
        let conn = s.conn;
        self.wakes.push(conn);
        if let Some(H2Entry::Conn(c)) = self.slots[conn].h2.as_mut() {
            c.streams.retain(|&i| i != id.index());
        }
        self.finish_h2_stream(id.index(), false);
    }

    fn h2_append(&mut self, id: ConnId, body: &[u8]) -> Result<WriteStatus, RespondError> {
        let high_water = self.config.write_high_water;
        let s = self.stream_mut(id).ok_or(RespondError::Gone)?;
        if s.no_body {
            return Ok(WriteStatus::Ready);
        }
        s.written += body.len() as u64;
        if let Some(declared) = s.declared.filter(|&d| s.written > d) {
            let written = s.written;
            self.h2_abort(id);
            return Err(RespondError::LengthMismatch { declared, written });
        }
        if !body.is_empty() {
            s.out.push_back(Bytes::copy_from_slice(body));
            s.out_len += body.len();
        }
        if s.out_len >= high_water {
            s.drain_wanted = true;
            return Ok(WriteStatus::Full);
        }
        Ok(WriteStatus::Ready)
    }
}

/// Writes the HTTP/1.1 head equivalent to an HTTP/2 request's: `:authority` becomes `Host`
/// (unless the request has one) and the `cookie` fields, which HTTP/2 lets a client split,
/// become one, joined as RFC 9113 §8.2.3 says.
fn equivalent_head(parts: &http::request::Parts, text: &mut Vec<u8>) {
    text.extend_from_slice(parts.method.as_str().as_bytes());
    text.push(b' ');
    match (&parts.method, parts.uri.path_and_query()) {
        (&http::Method::CONNECT, _) | (_, None) => {
            text.extend_from_slice(parts.uri.authority().map_or("", |a| a.as_str()).as_bytes())
        }
        (_, Some(path)) => text.extend_from_slice(path.as_str().as_bytes()),
    }
    text.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(authority) = parts.uri.authority() {
            text.extend_from_slice(b"host: ");
            text.extend_from_slice(authority.as_str().as_bytes());
            text.extend_from_slice(b"\r\n");
        }
    }
    let mut cookies = parts
        .headers
        .get_all(http::header::COOKIE)
        .iter()
        .peekable();
    if cookies.peek().is_some() {
        text.extend_from_slice(b"cookie: ");
        for (i, cookie) in cookies.enumerate() {
            if i > 0 {
                text.extend_from_slice(b"; ");
            }
            text.extend_from_slice(cookie.as_bytes());
        }
        text.extend_from_slice(b"\r\n");
    }
    for (name, value) in parts
        .headers
        .iter()
        .filter(|(name, _)| *name != http::header::COOKIE)
    {
        text.extend_from_slice(name.as_str().as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(value.as_bytes());
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(b"\r\n");
}

/// Answers a request the server itself refuses, as HTTP/1.1 would: a short text body.
fn refuse(respond: &mut SendResponse<Bytes>, status: u16, reason: &str) {
    let body = format!("{reason}\n");
    let response = http::Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .header(http::header::CONTENT_LENGTH, body.len())
        .body(())
        .expect("a valid response");
    if let Ok(mut send) = respond.send_response(response, false) {
        let _ = send.send_data(Bytes::from(body), true);
    }
}

fn status_code(status: &[u8]) -> Result<http::StatusCode, RespondError> {
    status
        .get(..3)
        .and_then(|code| http::StatusCode::from_bytes(code).ok())
        .ok_or_else(|| {
            RespondError::Invalid(ResponseError::InvalidStatus(
                String::from_utf8_lossy(status).into_owned(),
            ))
        })
}

/// A checked field in `http`'s types; names are lower-cased, as HTTP/2 requires.
fn field(name: &[u8], value: &[u8]) -> Result<(HeaderName, HeaderValue), RespondError> {
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let name = HeaderName::from_bytes(name)
        .map_err(|_| RespondError::Invalid(ResponseError::InvalidHeaderName(lossy(name))))?;
    let value = HeaderValue::from_bytes(value)
        .map_err(|_| RespondError::Invalid(ResponseError::InvalidHeaderValue(name.to_string())))?;
    Ok((name, value))
}
