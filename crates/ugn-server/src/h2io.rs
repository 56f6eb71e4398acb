//! What the `h2` crate needs to run inside the engine's own loop, with no async runtime: the
//! connection's stream behind tokio's `AsyncRead`/`AsyncWrite` traits, and wakers that only
//! note which connection to poll again.
//!
//! `h2` is a set of futures. The engine polls a connection's futures when its socket is ready
//! (the poller is edge-triggered, and a read or write returns `Pending` only after the socket
//! said it would block, so the next readiness event is sure to come) and when a waker fired
//! because the application sent or consumed something on one of its streams.

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::Stream;

/// A connection's socket (or TLS session) as `h2` reads and writes it.
pub(crate) struct H2Io {
    stream: Stream,
    /// Bytes the engine read before the connection turned out to speak HTTP/2: the preface and
    /// whatever followed it. Read first.
    prefix: Vec<u8>,
    at: usize,
    write_blocked: Rc<Cell<bool>>,
}

impl H2Io {
    pub(crate) fn new(stream: Stream, prefix: Vec<u8>, write_blocked: Rc<Cell<bool>>) -> H2Io {
        H2Io {
            stream,
            prefix,
            at: 0,
            write_blocked,
        }
    }

    fn blocked<T>(&self) -> Poll<io::Result<T>> {
        self.write_blocked.set(true);
        Poll::Pending
    }

    fn send(
        &mut self,
        mut write: impl FnMut(&mut Stream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match write(&mut self.stream) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return self.blocked(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncRead for H2Io {
    fn poll_read(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.at < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.at);
            buf.put_slice(&this.prefix[this.at..this.at + n]);
            this.at += n;
            if this.at == this.prefix.len() {
                this.prefix = Vec::new();
                this.at = 0;
            }
            return Poll::Ready(Ok(()));
        }
        loop {
            match this.stream.read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

impl AsyncWrite for H2Io {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().send(|stream| stream.write(buf))
    }

    /// On a plain socket a DATA frame's head and payload leave in one `writev`, so `h2` chains
    /// payloads instead of copying them into its buffer.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().send(|stream| stream.write_vectored(bufs))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_plain()
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.stream.send_unsent()?;
        if this.stream.has_unsent() {
            return this.blocked();
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.as_mut().poll_flush(cx) {
            Poll::Ready(Ok(())) => Poll::Ready(self.get_mut().stream.shutdown_write(true)),
            other => other,
        }
    }
}

/// Connections whose futures were woken, in the order they were.
#[derive(Default)]
pub(crate) struct WakeList(Mutex<Vec<usize>>);

impl WakeList {
    pub(crate) fn take(&self) -> Vec<usize> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Lists a connection for a poll without a waker: the application acted on a stream.
    pub(crate) fn push(&self, index: usize) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(index);
    }
}

/// Wakes one connection by listing it; `queued` keeps it listed once.
struct ConnWaker {
    index: usize,
    list: Arc<WakeList>,
    queued: std::sync::atomic::AtomicBool,
}

impl Wake for ConnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, std::sync::atomic::Ordering::Relaxed) {
            self.list
                .0
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(self.index);
        }
    }
}

/// A connection's waker and the means to re-arm it once the connection has been polled.
pub(crate) struct ConnWake(Arc<ConnWaker>);

impl ConnWake {
    pub(crate) fn new(index: usize, list: Arc<WakeList>) -> ConnWake {
        ConnWake(Arc::new(ConnWaker {
            index,
            list,
            queued: false.into(),
        }))
    }

    /// Called before polling: wakes from here on list the connection again.
    pub(crate) fn rearm(&self) -> Waker {
        self.0
            .queued
            .store(false, std::sync::atomic::Ordering::Relaxed);
        Waker::from(self.0.clone())
    }
}
