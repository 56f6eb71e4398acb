//! Response head encoding and chunked body framing.

use std::fmt;
use std::io::Write;

use crate::request::{is_token, trim_ows};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    Length(u64),
    Chunked,
    /// HTTP/1.0 without a known length: the body ends when we close.
    CloseDelimited,
    /// HEAD, 1xx, 204, 304: nothing may follow the head.
    NoBody,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseContext {
    pub minor_version: u8,
    pub head_request: bool,
    /// The request allows it and the server wants it.
    pub keep_alive: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResponseHead {
    pub status: u16,
    pub framing: Framing,
    pub keep_alive: bool,
    /// 101: after the head the connection belongs to the new protocol.
    pub upgrade: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    InvalidStatus(String),
    InvalidHeaderName(String),
    InvalidHeaderValue(String),
    HopByHopHeader(String),
    InvalidContentLength(String),
    ContentLengthMismatch { header: u64, body: u64 },
}

impl fmt::Display for ResponseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResponseError::InvalidStatus(s) => write!(
                f,
                "invalid response status {s:?}: expected a 3-digit code from 100 to 999, a space and a reason without control characters"
            ),
            ResponseError::InvalidHeaderName(n) => {
                write!(f, "invalid response header name {n:?}: names must be HTTP tokens (no spaces, colons or control characters)")
            }
            ResponseError::InvalidHeaderValue(n) => write!(
                f,
                "invalid value for response header {n:?}: values must not contain CR, LF, NUL or other control characters"
            ),
            ResponseError::HopByHopHeader(m) => write!(f, "{m}"),
            ResponseError::InvalidContentLength(v) => {
                write!(f, "invalid Content-Length {v:?}: expected a single non-negative integer")
            }
            ResponseError::ContentLengthMismatch { header, body } => {
                write!(f, "Content-Length header says {header} bytes but the body has {body} bytes")
            }
        }
    }
}

impl std::error::Error for ResponseError {}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn is_field_text(b: u8) -> bool {
    b == b'\t' || b >= 0x20 && b != 0x7f
}

/// Returns the numeric code of a `"200 OK"` status (a bare `"200"` is
/// accepted and gets an empty reason).
fn parse_status(status: &[u8]) -> Option<u16> {
    let (code, rest) = status.split_at_checked(3)?;
    if !code.iter().all(u8::is_ascii_digit) || code[0] == b'0' {
        return None;
    }
    let reason_ok = match rest {
        [] => true,
        [b' ', reason @ ..] => reason.iter().all(|&b| is_field_text(b)),
        _ => false,
    };
    reason_ok.then(|| code.iter().fold(0u16, |n, d| n * 10 + u16::from(d - b'0')))
}

fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0')))
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Validates the app's status and headers and appends the whole response
/// head to `out` (left unchanged on error).
///
/// Hop-by-hop headers from the app, following Gunicorn's `wsgi.py` (which
/// silently drops them) except where dropping would change what the app
/// meant:
/// - `Connection`: not forwarded; a `close` token turns keep-alive off.
///   ugn writes its own `Connection` header.
/// - `Transfer-Encoding: chunked`: honoured (chunked framing on HTTP/1.1 when
///   the app gave no Content-Length, close-delimited on 1.0). Any other
///   coding, or chunked together with Content-Length, is an error: ugn
///   cannot apply the coding for the app.
/// - `Upgrade`: forwarded (meaningful on 101 and 426). A 101 response is an
///   upgrade: `Connection: upgrade` is written and the head has no body.
/// - `Keep-Alive`, `Proxy-Authenticate`, `Proxy-Authorization`, `TE`,
///   `Trailers`, `Proxy-Connection`: dropped, as Gunicorn does.
///
/// Unlike Gunicorn, an app's own `Date` or `Server` header wins over ours.
/// `Content-Length` is dropped on 1xx and 204 (RFC 9110 §8.6) but kept on
/// HEAD and 304, where it describes the representation.
pub fn encode_response_head(
    out: &mut Vec<u8>,
    ctx: &ResponseContext,
    status: &[u8],
    headers: &[(&[u8], &[u8])],
    body_len: Option<u64>,
    date: &[u8],
    server: &[u8],
) -> Result<ResponseHead, ResponseError> {
    let mark = out.len();
    let result = encode(out, ctx, status, headers, body_len, date, server);
    if result.is_err() {
        out.truncate(mark);
    }
    result
}

fn encode(
    out: &mut Vec<u8>,
    ctx: &ResponseContext,
    status: &[u8],
    headers: &[(&[u8], &[u8])],
    body_len: Option<u64>,
    date: &[u8],
    server: &[u8],
) -> Result<ResponseHead, ResponseError> {
    let code = parse_status(status).ok_or_else(|| ResponseError::InvalidStatus(lossy(status)))?;
    let no_body = ctx.head_request || code < 200 || code == 204 || code == 304;
    let forbids_length = code < 200 || code == 204;
    let upgrade = code == 101;

    out.extend_from_slice(if ctx.minor_version == 0 { b"HTTP/1.0 " } else { b"HTTP/1.1 " });
    out.extend_from_slice(status);
    if status.len() == 3 {
        out.push(b' ');
    }
    out.extend_from_slice(b"\r\n");

    let (mut app_length, mut app_chunked, mut close) = (None, false, false);
    let (mut has_date, mut has_server) = (false, false);
    for &(name, value) in headers {
        if !is_token(name) {
            return Err(ResponseError::InvalidHeaderName(lossy(name)));
        }
        if !value.iter().all(|&b| is_field_text(b)) {
            return Err(ResponseError::InvalidHeaderValue(lossy(name)));
        }
        let value = trim_ows(value);
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("content-length") {
            let n = parse_length(value).ok_or_else(|| ResponseError::InvalidContentLength(lossy(value)))?;
            match app_length {
                Some(m) if m != n => return Err(ResponseError::InvalidContentLength(format!("{m}, {n}"))),
                Some(_) => continue,
                None => app_length = Some(n),
            }
            if !forbids_length {
                push_header(out, name, value);
            }
        } else if is("connection") {
            close |= value.split(|&b| b == b',').any(|t| trim_ows(t).eq_ignore_ascii_case(b"close"));
        } else if is("transfer-encoding") {
            if !value.eq_ignore_ascii_case(b"chunked") {
                return Err(ResponseError::HopByHopHeader(format!(
                    "response header Transfer-Encoding: {:?} is not supported: ugn only applies chunked framing itself; \
                     compress the body and set Content-Encoding instead",
                    lossy(value)
                )));
            }
            app_chunked = true;
        } else if ["keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers", "proxy-connection"]
            .iter()
            .any(|h| is(h))
        {
            continue;
        } else {
            has_date |= is("date");
            has_server |= is("server");
            push_header(out, name, value);
        }
    }
    if !has_date {
        push_header(out, b"Date", date);
    }
    if !has_server && !server.is_empty() {
        push_header(out, b"Server", server);
    }

    let framing = if no_body {
        Framing::NoBody
    } else if let Some(n) = app_length {
        if app_chunked {
            return Err(ResponseError::HopByHopHeader(
                "response headers Transfer-Encoding: chunked and Content-Length contradict each other; set only one".into(),
            ));
        }
        if let Some(body) = body_len.filter(|&b| b != n) {
            return Err(ResponseError::ContentLengthMismatch { header: n, body });
        }
        Framing::Length(n)
    } else if ctx.minor_version == 1 && app_chunked {
        Framing::Chunked
    } else if let Some(n) = body_len {
        out.extend_from_slice(b"Content-Length: ");
        write!(out, "{n}\r\n").expect("writing to a Vec cannot fail");
        Framing::Length(n)
    } else if ctx.minor_version == 1 {
        Framing::Chunked
    } else {
        Framing::CloseDelimited
    };
    if framing == Framing::Chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
    }
    let keep_alive = ctx.keep_alive && !close && !upgrade && framing != Framing::CloseDelimited;
    out.extend_from_slice(match (upgrade, keep_alive) {
        (true, _) => b"Connection: upgrade\r\n\r\n".as_slice(),
        (false, true) => b"Connection: keep-alive\r\n\r\n",
        (false, false) => b"Connection: close\r\n\r\n",
    });
    Ok(ResponseHead { status: code, framing, keep_alive, upgrade })
}

/// Hex size CRLF data CRLF. Empty data writes nothing: a zero-size chunk
/// would end the body.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    write!(out, "{:x}\r\n", data.len()).expect("writing to a Vec cannot fail");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}
