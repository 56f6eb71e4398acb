//! HTTP/1.1 codec for ugn: pure functions over caller-owned buffers.
//!
//! No I/O and no allocation on the hot path: the request head is parsed (by
//! httparse, with the checks around it in `request`) into
//! [`Span`]s over the caller's buffer, bodies are decoded in place, and the
//! response head is appended to a reused `Vec<u8>`. The accept/reject rules
//! follow Gunicorn 26 so that ugn can replace it behind the same proxies,
//! tightened where RFC 9112 is stricter.

mod allow;
mod authority;
mod body;
mod date;
mod error;
mod forwarded;
mod h2_response;
mod limits;
mod proxy;
mod request;
mod response;

pub use allow::AllowList;
pub use body::{BodyDecoder, BodyEvent, ChunkedDecoder};
pub use date::DateCache;
pub use error::Error;
pub use forwarded::{forwarded_scheme, DEFAULT_SECURE_SCHEME_HEADERS};
pub use h2_response::{h2_response_head, H2ResponseHead};
pub use limits::{HeaderMap, Limits};
pub use proxy::{parse_proxy_header, parse_required_proxy_header, ProxyHeader, ProxyProtocol};
pub use request::{parse_request_head, BodyKind, HeadReader, Header, Parsed, RequestHead, Span};
pub use response::{
    check_interim_head, check_trailers, encode_chunk, encode_chunk_size, encode_interim_head,
    encode_last_chunk, encode_last_chunk_with_trailers, encode_response_head, Framing,
    ResponseContext, ResponseError, ResponseHead,
};
