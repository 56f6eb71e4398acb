//! Response head encoding and chunked body framing.

use std::fmt;
use std::io::Write;

use crate::request::{forbidden_in_trailer, is_token, trim_ows};

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
    /// Seconds an idle connection is kept, told to the client in `Keep-Alive: timeout=N` on
    /// responses that keep the connection, so a client does not reuse it as the server closes
    /// it (Node's http agent and undici read it, as node:http sends it); 0 to tell nothing.
    pub keep_alive_timeout: u32,
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
    ForbiddenTrailer(String),
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
            ResponseError::ForbiddenTrailer(n) => {
                write!(f, "{n:?} cannot be sent as a trailer: it frames, routes or authenticates the message (RFC 9110 §6.5.1)")
            }
        }
    }
}

impl std::error::Error for ResponseError {}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn is_field_text(b: u8) -> bool {
    b == b'\t' || b >= 0x20 && b != 0x7f
}

/// Returns the numeric code of a `"200 OK"` status (a bare `"200"` is
/// accepted and gets an empty reason).
pub(crate) fn parse_status(status: &[u8]) -> Option<u16> {
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

/// Checks trailer fields as header fields are checked, plus RFC 9110's fields forbidden in
/// trailers (§6.5.1).
pub fn check_trailers(trailers: &[(&[u8], &[u8])]) -> Result<(), ResponseError> {
    for &(name, value) in trailers {
        checked_field(name, value)?;
        if forbidden_in_trailer(name) {
            return Err(ResponseError::ForbiddenTrailer(lossy(name)));
        }
    }
    Ok(())
}

/// Checks a response field (a token for the name, field text for the value) and returns the
/// value without its surrounding whitespace.
pub(crate) fn checked_field<'a>(name: &[u8], value: &'a [u8]) -> Result<&'a [u8], ResponseError> {
    if !is_token(name) {
        return Err(ResponseError::InvalidHeaderName(lossy(name)));
    }
    if !value.iter().all(|&b| is_field_text(b)) {
        return Err(ResponseError::InvalidHeaderValue(lossy(name)));
    }
    Ok(trim_ows(value))
}

/// Records a Content-Length field's value in `length`; returns whether it is the first such
/// field (a repeat of the same value is redundant, a different one an error).
pub(crate) fn first_content_length(
    length: &mut Option<u64>,
    value: &[u8],
) -> Result<bool, ResponseError> {
    let n = parse_length(value).ok_or_else(|| ResponseError::InvalidContentLength(lossy(value)))?;
    match *length {
        Some(m) if m != n => Err(ResponseError::InvalidContentLength(format!("{m}, {n}"))),
        Some(_) => Ok(false),
        None => {
            *length = Some(n);
            Ok(true)
        }
    }
}

fn parse_length(v: &[u8]) -> Option<u64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |n, &d| {
        n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Appends an interim response (RFC 9110 §15.2), such as `103 Early Hints`
/// with its `Link` fields, sent before the final response. Only 1xx statuses
/// other than 101 (an upgrade is a final answer) are interim; `out` is left
/// unchanged on error.
pub fn encode_interim_head(
    out: &mut Vec<u8>,
    status: &[u8],
    headers: &[(&[u8], &[u8])],
) -> Result<(), ResponseError> {
    check_interim_head(status, headers)?;
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status);
    out.extend_from_slice(b"\r\n");
    for &(name, value) in headers {
        push_header(out, name, trim_ows(value));
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

/// Checks an interim response as [`encode_interim_head`] does, for a protocol that encodes it
/// otherwise (HTTP/2).
pub fn check_interim_head(status: &[u8], headers: &[(&[u8], &[u8])]) -> Result<(), ResponseError> {
    match parse_status(status) {
        Some(code) if (100..200).contains(&code) && code != 101 => {}
        _ => return Err(ResponseError::InvalidStatus(lossy(status))),
    }
    for &(name, value) in headers {
        checked_field(name, value)?;
    }
    Ok(())
}

/// Validates the app's status and headers and appends the whole response
/// head to `out` (left unchanged on error).
///
/// Hop-by-hop headers from the app, following Gunicorn's `wsgi.py` (which
/// silently drops them) except where dropping would change what the app
/// meant:
/// - `Connection`: not forwarded; a `close` token turns keep-alive off.
///   ugn writes its own `Connection` header when the default for the version does not apply.
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

    out.extend_from_slice(if ctx.minor_version == 0 {
        b"HTTP/1.0 "
    } else {
        b"HTTP/1.1 "
    });
    out.extend_from_slice(status);
    if status.len() == 3 {
        out.push(b' ');
    }
    out.extend_from_slice(b"\r\n");

    let (mut app_length, mut app_chunked, mut close) = (None, false, false);
    let (mut has_date, mut has_server) = (false, false);
    for &(name, value) in headers {
        let value = checked_field(name, value)?;
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("content-length") {
            if !first_content_length(&mut app_length, value)? {
                continue;
            }
            if !forbids_length {
                push_header(out, name, value);
            }
        } else if is("connection") {
            close |= value
                .split(|&b| b == b',')
                .any(|t| trim_ows(t).eq_ignore_ascii_case(b"close"));
        } else if is("transfer-encoding") {
            if !value.eq_ignore_ascii_case(b"chunked") {
                return Err(ResponseError::HopByHopHeader(format!(
                    "response header Transfer-Encoding: {:?} is not supported: ugn only applies chunked framing itself; \
                     compress the body and set Content-Encoding instead",
                    lossy(value)
                )));
            }
            app_chunked = true;
        } else if [
            "keep-alive",
            "proxy-authenticate",
            "proxy-authorization",
            "te",
            "trailers",
            "proxy-connection",
        ]
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
        // A HEAD answer announces the length the GET answer would have, when it is known.
        if let (true, None, Some(n)) = (
            ctx.head_request && code >= 200 && code != 204 && code != 304,
            app_length,
            body_len,
        ) {
            out.extend_from_slice(b"Content-Length: ");
            write!(out, "{n}\r\n").expect("writing to a Vec cannot fail");
        }
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
    if keep_alive && ctx.keep_alive_timeout > 0 {
        // Keep-Alive is hop-by-hop, so Connection names it.
        write!(
            out,
            "Connection: keep-alive\r\nKeep-Alive: timeout={}\r\n\r\n",
            ctx.keep_alive_timeout
        )
        .expect("writing to a Vec cannot fail");
        return Ok(ResponseHead {
            status: code,
            framing,
            keep_alive,
            upgrade,
        });
    }
    // HTTP/1.1 connections persist unless told otherwise, so keep-alive is only spelt out for
    // HTTP/1.0 clients, which close unless told otherwise.
    out.extend_from_slice(match (upgrade, keep_alive, ctx.minor_version) {
        (true, _, _) => b"Connection: upgrade\r\n\r\n".as_slice(),
        (false, true, 0) => b"Connection: keep-alive\r\n\r\n",
        (false, true, _) => b"\r\n",
        (false, false, _) => b"Connection: close\r\n\r\n",
    });
    Ok(ResponseHead {
        status: code,
        framing,
        keep_alive,
        upgrade,
    })
}

/// Hex size CRLF data CRLF. Empty data writes nothing: a zero-size chunk
/// would end the body.
pub fn encode_chunk(out: &mut Vec<u8>, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    encode_chunk_size(out, data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// The line that opens a chunk of `len` (nonzero) bytes; the data and a CRLF must follow.
pub fn encode_chunk_size(out: &mut Vec<u8>, len: usize) {
    write!(out, "{len:x}\r\n").expect("writing to a Vec cannot fail");
}

pub fn encode_last_chunk(out: &mut Vec<u8>) {
    out.extend_from_slice(b"0\r\n\r\n");
}

/// The last chunk followed by a trailer section (RFC 9112 §7.1.2), checked as header fields
/// are plus RFC 9110's fields forbidden in trailers; `out` is left unchanged on error.
pub fn encode_last_chunk_with_trailers(
    out: &mut Vec<u8>,
    trailers: &[(&[u8], &[u8])],
) -> Result<(), ResponseError> {
    check_trailers(trailers)?;
    out.extend_from_slice(b"0\r\n");
    for &(name, value) in trailers {
        push_header(out, name, value);
    }
    out.extend_from_slice(b"\r\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_chunk_carries_checked_trailers() {
        let mut out = b"x".to_vec();
        encode_last_chunk_with_trailers(
            &mut out,
            &[(b"Server-Timing", b"db;dur=53"), (b"X-Checksum", b"abc")],
        )
        .unwrap();
        assert_eq!(
            out,
            b"x0\r\nServer-Timing: db;dur=53\r\nX-Checksum: abc\r\n\r\n"
        );
        let mut out = b"x".to_vec();
        encode_last_chunk_with_trailers(&mut out, &[]).unwrap();
        assert_eq!(out, b"x0\r\n\r\n");
        for (name, value, want) in [
            (
                &b"Content-Length"[..],
                &b"3"[..],
                ResponseError::ForbiddenTrailer("Content-Length".into()),
            ),
            (
                b"bad name",
                b"v",
                ResponseError::InvalidHeaderName("bad name".into()),
            ),
            (
                b"X-Split",
                b"a\r\nb",
                ResponseError::InvalidHeaderValue("X-Split".into()),
            ),
        ] {
            let mut out = b"x".to_vec();
            assert_eq!(
                encode_last_chunk_with_trailers(&mut out, &[(name, value)]),
                Err(want)
            );
            assert_eq!(out, b"x", "nothing written on error");
        }
    }

    const V11: ResponseContext = ResponseContext {
        minor_version: 1,
        head_request: false,
        keep_alive: true,
        keep_alive_timeout: 0,
    };
    const V10: ResponseContext = ResponseContext {
        minor_version: 0,
        head_request: false,
        keep_alive: true,
        keep_alive_timeout: 0,
    };

    fn encode_with(
        ctx: &ResponseContext,
        status: &str,
        headers: &[(&str, &str)],
        body_len: Option<u64>,
    ) -> Result<(ResponseHead, String), ResponseError> {
        let headers: Vec<(&[u8], &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_bytes(), v.as_bytes()))
            .collect();
        let mut out = b"previous".to_vec();
        let result = encode_response_head(
            &mut out,
            ctx,
            status.as_bytes(),
            &headers,
            body_len,
            b"D",
            b"ugn",
        );
        let text = String::from_utf8(out).unwrap();
        match result {
            Ok(head) => Ok((head, text.strip_prefix("previous").unwrap().to_owned())),
            Err(e) => {
                assert_eq!(text, "previous", "nothing is written on error");
                Err(e)
            }
        }
    }

    fn encode(
        status: &str,
        headers: &[(&str, &str)],
        body_len: Option<u64>,
    ) -> (ResponseHead, String) {
        encode_with(&V11, status, headers, body_len).unwrap()
    }

    #[test]
    fn known_length() {
        let (head, text) = encode("200 OK", &[("Content-Type", "text/plain")], Some(5));
        assert_eq!(
            text,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: D\r\nServer: ugn\r\nContent-Length: 5\r\n\r\n"
        );
        assert_eq!(
            head,
            ResponseHead {
                status: 200,
                framing: Framing::Length(5),
                keep_alive: true,
                upgrade: false
            }
        );
    }

    #[test]
    fn unknown_length() {
        let (head, text) = encode("200 OK", &[], None);
        assert_eq!(head.framing, Framing::Chunked);
        assert!(text.contains("\r\nTransfer-Encoding: chunked\r\n") && head.keep_alive);

        let (head, text) = encode_with(&V10, "200 OK", &[], None).unwrap();
        assert_eq!(
            (head.framing, head.keep_alive),
            (Framing::CloseDelimited, false)
        );
        assert!(text.starts_with("HTTP/1.0 200 OK\r\n"));
        assert!(
            text.ends_with("\r\nConnection: close\r\n\r\n") && !text.contains("Transfer-Encoding")
        );

        let (head, text) = encode_with(&V10, "200 OK", &[], Some(0)).unwrap();
        assert_eq!((head.framing, head.keep_alive), (Framing::Length(0), true));
        assert!(text.ends_with("Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"));
    }

    #[test]
    fn bodiless_responses() {
        let head_ctx = ResponseContext {
            head_request: true,
            ..V11
        };
        let (head, text) =
            encode_with(&head_ctx, "200 OK", &[("Content-Length", "42")], Some(0)).unwrap();
        assert_eq!((head.framing, head.keep_alive), (Framing::NoBody, true));
        assert!(
            text.contains("Content-Length: 42\r\n"),
            "HEAD keeps the GET length"
        );
        let (_, text) = encode_with(&head_ctx, "200 OK", &[], None).unwrap();
        assert!(!text.contains("Content-Length") && !text.contains("Transfer-Encoding"));
        let (head, text) = encode_with(&head_ctx, "200 OK", &[], Some(13)).unwrap();
        assert_eq!(head.framing, Framing::NoBody);
        assert!(
            text.contains("Content-Length: 13\r\n"),
            "HEAD announces the length the body would have"
        );

        for status in ["204 No Content", "100 Continue", "103 Early Hints"] {
            let (head, text) = encode(status, &[("Content-Length", "3")], Some(3));
            assert_eq!(head.framing, Framing::NoBody, "{status}");
            assert!(
                !text.contains("Content-Length") && !text.contains("Transfer-Encoding"),
                "{status}"
            );
        }
        let (head, text) = encode(
            "304 Not Modified",
            &[("Content-Length", "10"), ("ETag", "\"x\"")],
            None,
        );
        assert_eq!(head.framing, Framing::NoBody);
        assert!(text.contains("Content-Length: 10\r\n"));
    }

    #[test]
    fn switching_protocols() {
        let (head, text) = encode(
            "101 Switching Protocols",
            &[("Upgrade", "websocket"), ("Connection", "Upgrade")],
            None,
        );
        assert_eq!(
            head,
            ResponseHead {
                status: 101,
                framing: Framing::NoBody,
                keep_alive: false,
                upgrade: true
            }
        );
        assert!(text.contains("Upgrade: websocket\r\n"));
        assert!(text.ends_with("Connection: upgrade\r\n\r\n"));
        let (head, text) = encode("426 Upgrade Required", &[("Upgrade", "h2c")], Some(0));
        assert!(
            !head.upgrade
                && head.keep_alive
                && text.contains("Upgrade: h2c\r\n")
                && !text.contains("Connection")
        );
    }

    #[test]
    fn status_validation() {
        for bad in [
            "", "20", "2000 OK", "099 Low", "000 x", "abc OK", "200OK", "200\tOK", "200 O\rK",
            "200 O\nK", "200 \0", "2x0 OK",
        ] {
            assert_eq!(
                encode_with(&V11, bad, &[], None),
                Err(ResponseError::InvalidStatus(bad.into())),
                "{bad:?}"
            );
        }
        let (head, text) = encode("200", &[], Some(0));
        assert_eq!(head.status, 200);
        assert!(text.starts_with("HTTP/1.1 200 \r\n"));
        assert!(encode("999 Custom \t reason", &[], None)
            .1
            .starts_with("HTTP/1.1 999 Custom \t reason\r\n"));
        assert_eq!(encode("200 ", &[], None).0.status, 200);
    }

    #[test]
    fn header_injection_is_refused() {
        let cases: &[(&str, &str, ResponseError)] = &[
            (
                "X-Foo",
                "a\r\nSet-Cookie: evil=1",
                ResponseError::InvalidHeaderValue("X-Foo".into()),
            ),
            (
                "X-Foo",
                "a\nb",
                ResponseError::InvalidHeaderValue("X-Foo".into()),
            ),
            (
                "X-Foo",
                "a\rb",
                ResponseError::InvalidHeaderValue("X-Foo".into()),
            ),
            (
                "X-Foo",
                "a\0b",
                ResponseError::InvalidHeaderValue("X-Foo".into()),
            ),
            (
                "X-Foo",
                "a\x7fb",
                ResponseError::InvalidHeaderValue("X-Foo".into()),
            ),
            (
                "X Foo",
                "v",
                ResponseError::InvalidHeaderName("X Foo".into()),
            ),
            (
                "X-Foo:",
                "v",
                ResponseError::InvalidHeaderName("X-Foo:".into()),
            ),
            (
                "X-Foo\r\nEvil",
                "v",
                ResponseError::InvalidHeaderName("X-Foo\r\nEvil".into()),
            ),
            ("", "v", ResponseError::InvalidHeaderName("".into())),
        ];
        for (name, value, want) in cases {
            assert_eq!(
                encode_with(&V11, "200 OK", &[(name, value)], None).unwrap_err(),
                *want,
                "{name:?}: {value:?}"
            );
        }
        let (_, text) = encode(
            "200 OK",
            &[
                ("X-Tab", "a\tb"),
                ("X-Obs", "caf\u{e9}"),
                ("X-Trim", "  v  "),
            ],
            None,
        );
        assert!(
            text.contains("X-Tab: a\tb\r\n")
                && text.contains("X-Obs: caf\u{e9}\r\n")
                && text.contains("X-Trim: v\r\n")
        );
    }

    #[test]
    fn hop_by_hop_headers() {
        let (head, text) = encode("200 OK", &[("Connection", "close")], Some(1));
        assert!(!head.keep_alive);
        assert_eq!(text.matches("Connection").count(), 1);
        assert!(text.ends_with("Connection: close\r\n\r\n"));

        let (head, text) = encode(
            "200 OK",
            &[
                ("Keep-Alive", "timeout=5"),
                ("Proxy-Authenticate", "Basic"),
                ("Proxy-Authorization", "x"),
                ("TE", "trailers"),
                ("Trailers", "x"),
                ("Proxy-Connection", "keep-alive"),
                ("Connection", "keep-alive"),
            ],
            Some(1),
        );
        assert!(head.keep_alive);
        for dropped in ["Keep-Alive", "Proxy-", "TE:", "Trailers"] {
            assert!(!text.contains(dropped), "{dropped}");
        }

        let (head, text) = encode("200 OK", &[("Transfer-Encoding", "Chunked")], Some(5));
        assert_eq!(
            head.framing,
            Framing::Chunked,
            "the app's chunked wins over a known length"
        );
        assert_eq!(text.matches("Transfer-Encoding: chunked").count(), 1);
        assert!(!text.contains("Content-Length"));
        let (head, _) =
            encode_with(&V10, "200 OK", &[("Transfer-Encoding", "chunked")], None).unwrap();
        assert_eq!(head.framing, Framing::CloseDelimited);

        let err = encode_with(&V11, "200 OK", &[("Transfer-Encoding", "gzip")], None).unwrap_err();
        assert!(matches!(err, ResponseError::HopByHopHeader(_)));
        assert!(err.to_string().contains("Transfer-Encoding"));
        let err = encode_with(
            &V11,
            "200 OK",
            &[("Transfer-Encoding", "chunked"), ("Content-Length", "3")],
            None,
        );
        assert!(matches!(err, Err(ResponseError::HopByHopHeader(_))));
    }

    #[test]
    fn content_length_checks() {
        let (head, text) = encode("200 OK", &[("content-length", "5")], Some(5));
        assert_eq!(head.framing, Framing::Length(5));
        assert_eq!(
            text.to_ascii_lowercase().matches("content-length").count(),
            1
        );
        let (head, _) = encode("200 OK", &[("Content-Length", "5")], None);
        assert_eq!(head.framing, Framing::Length(5));
        assert_eq!(
            encode_with(&V11, "200 OK", &[("Content-Length", "5")], Some(4)),
            Err(ResponseError::ContentLengthMismatch { header: 5, body: 4 })
        );
        for bad in ["", "-1", "1.0", "0x1", "5, 5", "99999999999999999999"] {
            assert!(matches!(
                encode_with(&V11, "200 OK", &[("Content-Length", bad)], None),
                Err(ResponseError::InvalidContentLength(_))
            ));
        }
        let (_, text) = encode(
            "200 OK",
            &[("Content-Length", "3"), ("Content-Length", "3")],
            None,
        );
        assert_eq!(text.matches("Content-Length").count(), 1);
        assert!(matches!(
            encode_with(
                &V11,
                "200 OK",
                &[("Content-Length", "3"), ("Content-Length", "4")],
                None
            ),
            Err(ResponseError::InvalidContentLength(_))
        ));
    }

    #[test]
    fn date_and_server() {
        let (_, text) = encode(
            "200 OK",
            &[("Date", "Mon, 01 Jan 2024 00:00:00 GMT"), ("server", "app")],
            Some(0),
        );
        assert_eq!(text.matches("Date:").count(), 1);
        assert!(
            text.contains("Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n")
                && text.contains("server: app\r\n")
        );
        assert!(!text.contains("ugn"));
        let mut out = Vec::new();
        encode_response_head(&mut out, &V11, b"200 OK", &[], Some(0), b"D", b"").unwrap();
        assert!(!String::from_utf8(out).unwrap().contains("Server"));
    }

    #[test]
    fn server_refuses_keep_alive() {
        let ctx = ResponseContext {
            keep_alive: false,
            ..V11
        };
        let (head, text) = encode_with(&ctx, "200 OK", &[], Some(1)).unwrap();
        assert!(!head.keep_alive && text.ends_with("Connection: close\r\n\r\n"));
    }

    #[test]
    fn error_messages_name_the_header() {
        assert!(ResponseError::InvalidHeaderValue("X-Foo".into())
            .to_string()
            .contains("\"X-Foo\""));
        assert!(ResponseError::InvalidHeaderName("X Foo".into())
            .to_string()
            .contains("\"X Foo\""));
        assert!(ResponseError::InvalidStatus("20".into())
            .to_string()
            .contains("\"20\""));
        assert_eq!(
            ResponseError::ContentLengthMismatch { header: 5, body: 4 }.to_string(),
            "Content-Length header says 5 bytes but the body has 4 bytes"
        );
    }

    #[test]
    fn chunks() {
        let mut out = Vec::new();
        encode_chunk(&mut out, b"hello");
        encode_chunk(&mut out, b"");
        encode_chunk(&mut out, &[b'x'; 255]);
        encode_last_chunk(&mut out);
        let mut want = b"5\r\nhello\r\nff\r\n".to_vec();
        want.extend_from_slice(&[b'x'; 255]);
        want.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(out, want);

        // Round trip through the request-side decoder.
        let mut dec = crate::BodyDecoder::new(crate::BodyKind::Chunked, &crate::Limits::default());
        let mut body = Vec::new();
        let mut pos = 0;
        loop {
            match dec.decode(&out[pos..]).unwrap() {
                (n, crate::BodyEvent::Data { start, end }) => {
                    body.extend_from_slice(&out[pos + start..pos + end]);
                    pos += n;
                }
                (n, crate::BodyEvent::Done) => {
                    assert_eq!(pos + n, out.len());
                    break;
                }
                (n, crate::BodyEvent::NeedMore) => pos += n,
            }
        }
        assert_eq!(body.len(), 260);
    }

    #[test]
    fn interim_responses_carry_their_fields_and_nothing_else() {
        let mut out = b"kept".to_vec();
        encode_interim_head(
            &mut out,
            b"103 Early Hints",
            &[(b"Link", b"</style.css>; rel=preload; as=style")],
        )
        .unwrap();
        assert_eq!(
            out,
            b"keptHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n"
        );
        for bad in [
            &b"101 Switching Protocols"[..],
            b"200 OK",
            b"99 Low",
            b"1x3 Odd",
        ] {
            assert!(
                encode_interim_head(&mut out, bad, &[]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(encode_interim_head(
            &mut out,
            b"103 Early Hints",
            &[(b"Link", b"a\r\nSet-Cookie: x")]
        )
        .is_err());
        assert!(encode_interim_head(&mut out, b"103 Early Hints", &[(b"Bad Name", b"x")]).is_err());
        assert!(
            out.ends_with(b"rel=preload; as=style\r\n\r\n"),
            "refusals leave the buffer as it was"
        );
    }

    #[test]
    fn kept_connections_tell_their_idle_timeout() {
        let ctx = ResponseContext {
            keep_alive_timeout: 5,
            ..V11
        };
        let mut out = Vec::new();
        encode_response_head(&mut out, &ctx, b"200 OK", &[], Some(0), b"D", b"").unwrap();
        assert!(
            out.ends_with(b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"),
            "{}",
            String::from_utf8_lossy(&out)
        );
        out.clear();
        encode_response_head(
            &mut out,
            &ctx,
            b"200 OK",
            &[(b"Connection", b"close")],
            Some(0),
            b"D",
            b"",
        )
        .unwrap();
        assert!(
            out.ends_with(b"Connection: close\r\n\r\n")
                && !out.windows(10).any(|w| w == b"Keep-Alive")
        );
        out.clear();
        encode_response_head(
            &mut out,
            &ResponseContext {
                keep_alive_timeout: 5,
                ..V10
            },
            b"200 OK",
            &[],
            Some(0),
            b"D",
            b"",
        )
        .unwrap();
        assert!(out.ends_with(b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n"));
    }
}
