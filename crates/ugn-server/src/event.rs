use crate::ConnId;

/// What the engine asks the embedder to act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A request head was parsed; read it with [`crate::Server::request`]. If the whole body
    /// had arrived with the head, it is there too and no `Body`/`BodyEnd` follows.
    Request,
    /// Decoded request body bytes are waiting in [`crate::Server::body_chunk`].
    Body,
    /// The request body is complete.
    BodyEnd,
    /// The request body could not be decoded (bad chunk framing, or the client closed early).
    BodyError,
    /// The response buffer fell below the high-water mark after `write` reported it full.
    Drain,
    /// The connection is gone while its request was still in the application's hands.
    Closed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    pub id: ConnId,
}
