use std::fmt;

/// Why a request (head, body or PROXY header) was rejected.
///
/// Every variant maps to the status a server should answer with before
/// closing; body errors happen after the head was accepted, so the status is
/// only useful when no response has started yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    InvalidRequestLine,
    InvalidMethod,
    InvalidVersion,
    InvalidHeaderName,
    InvalidHeader,
    /// An HTTP/1.1 request without a Host field (RFC 9112 §3.2).
    MissingHost,
    /// A Host value that is no `uri-host [":" port]` (RFC 9112 §3.2).
    InvalidHost,
    ObsoleteFolding,
    InvalidContentLength,
    InvalidTransferEncoding,
    UnsupportedTransferCoding,
    ExpectationFailed,
    RequestLineTooLong,
    TooManyHeaders,
    HeaderFieldTooLarge,
    InvalidChunkSize,
    InvalidChunkExtension,
    ChunkMissingTerminator,
    TrailersTooLarge,
    /// The connection ended before the body was complete.
    IncompleteBody,
    InvalidProxyLine,
    InvalidProxyHeader,
    /// The connection must start with a PROXY header (of a version the
    /// listener accepts) and does not.
    MissingProxyHeader,
    /// The peer may not send a PROXY header (Gunicorn's `proxy_allow_ips`).
    ForbiddenProxyRequest,
    InvalidSchemeHeaders,
}

impl Error {
    pub fn status(&self) -> u16 {
        match self {
            Error::RequestLineTooLong => 414,
            Error::TooManyHeaders | Error::HeaderFieldTooLarge | Error::TrailersTooLarge => 431,
            Error::ExpectationFailed => 417,
            Error::UnsupportedTransferCoding => 501,
            Error::ForbiddenProxyRequest => 403,
            _ => 400,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidRequestLine => "invalid request line",
            Error::InvalidMethod => "invalid request method",
            Error::InvalidVersion => "unsupported HTTP version",
            Error::InvalidHeaderName => "invalid header name",
            Error::InvalidHeader => "invalid header",
            Error::MissingHost => "missing Host header",
            Error::InvalidHost => "invalid Host header",
            Error::ObsoleteFolding => "obsolete line folding",
            Error::InvalidContentLength => "invalid Content-Length",
            Error::InvalidTransferEncoding => "invalid Transfer-Encoding",
            Error::UnsupportedTransferCoding => "unsupported transfer coding",
            Error::ExpectationFailed => "unsupported expectation",
            Error::RequestLineTooLong => "request line too long",
            Error::TooManyHeaders => "too many header fields",
            Error::HeaderFieldTooLarge => "header field too large",
            Error::InvalidChunkSize => "invalid chunk size",
            Error::InvalidChunkExtension => "invalid chunk extension",
            Error::ChunkMissingTerminator => "chunk not terminated by CRLF",
            Error::TrailersTooLarge => "trailer section too large",
            Error::IncompleteBody => "connection closed before the body was complete",
            Error::InvalidProxyLine => "invalid PROXY protocol v1 line",
            Error::InvalidProxyHeader => "invalid PROXY protocol v2 header",
            Error::MissingProxyHeader => "no PROXY protocol header of an accepted version (proxy_protocol) at the start of the connection",
            Error::ForbiddenProxyRequest => "this peer may not use the PROXY protocol (proxy_allow_ips)",
            Error::InvalidSchemeHeaders => "contradictory scheme headers",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(Error::InvalidHeader.status(), 400);
        assert_eq!(Error::RequestLineTooLong.status(), 414);
        assert_eq!(Error::TooManyHeaders.status(), 431);
        assert_eq!(Error::HeaderFieldTooLarge.status(), 431);
        assert_eq!(Error::ExpectationFailed.status(), 417);
        assert_eq!(Error::UnsupportedTransferCoding.status(), 501);
        assert_eq!(Error::ForbiddenProxyRequest.status(), 403);
        assert_eq!(Error::MissingProxyHeader.status(), 400);
        assert_eq!(Error::MissingHost.status(), 400);
        assert_eq!(Error::InvalidHost.status(), 400);
        assert_eq!(
            Error::ChunkMissingTerminator.to_string(),
            "chunk not terminated by CRLF"
        );
    }
}
