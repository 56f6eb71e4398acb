//! The application's status and headers checked for an HTTP/2 response (RFC 9113 §8.2).
//!
//! The checks are those of HTTP/1.1 ([`crate::encode_response_head`]); what differs is what
//! becomes of the connection-specific fields, which HTTP/2 forbids: the app wrote them for
//! HTTP/1.1 and its response means the same without them, so they are dropped rather than
//! refused, as Node's http2 compatibility layer does.

use crate::response::{checked_field, first_content_length, lossy, parse_status};
use crate::ResponseError;

/// A final response head for an HTTP/2 stream.
#[derive(Debug, PartialEq, Eq)]
pub struct H2ResponseHead<'a> {
    pub status: u16,
    /// The fields to send, as the app wrote them (names still in their case), checked.
    pub fields: Vec<(&'a [u8], &'a [u8])>,
    /// The body's length when the app declared it (it is then among `fields`) or gave the whole
    /// body at once; a `content-length` field must be added for the latter.
    pub length: Option<u64>,
    pub declared_length: bool,
    /// Nothing may follow the head: HEAD, 204, 304.
    pub no_body: bool,
    pub has_date: bool,
    pub has_server: bool,
}

const CONNECTION_SPECIFIC: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailers",
    "proxy-authenticate",
    "proxy-authorization",
];

/// Checks a final response's status and headers for an HTTP/2 stream. `body_len` is the whole
/// body's length when it is known at once.
pub fn h2_response_head<'a>(
    status: &'a [u8],
    headers: &[(&'a [u8], &'a [u8])],
    head_request: bool,
    body_len: Option<u64>,
) -> Result<H2ResponseHead<'a>, ResponseError> {
    let code = parse_status(status).ok_or_else(|| ResponseError::InvalidStatus(lossy(status)))?;
    if code < 200 {
        // HTTP/2 has no upgrade, and interim responses go through `inform`.
        return Err(ResponseError::InvalidStatus(format!(
            "{} (a final response over HTTP/2 needs a status from 200)",
            lossy(status)
        )));
    }
    let no_body = head_request || code == 204 || code == 304;
    let mut head = H2ResponseHead {
        status: code,
        fields: Vec::with_capacity(headers.len()),
        length: None,
        declared_length: false,
        no_body,
        has_date: false,
        has_server: false,
    };
    for &(name, value) in headers {
        let value = checked_field(name, value)?;
        let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
        if is("content-length") {
            if !first_content_length(&mut head.length, value)? {
                continue;
            }
            if code == 204 {
                continue;
            }
            head.declared_length = true;
        } else if CONNECTION_SPECIFIC.iter().any(|h| is(h)) {
            continue;
        } else {
            head.has_date |= is("date");
            head.has_server |= is("server");
        }
        head.fields.push((name, value));
    }
    match (head.length, body_len) {
        (Some(n), Some(body)) if n != body && !no_body => {
            return Err(ResponseError::ContentLengthMismatch { header: n, body })
        }
        (None, Some(n)) if code != 204 && code != 304 => head.length = Some(n),
        _ => {}
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_specific_fields_are_dropped_and_the_rest_kept_in_order() {
        let head = h2_response_head(
            b"200 OK",
            &[
                (b"Content-Type", b"text/plain"),
                (b"Connection", b"close"),
                (b"Transfer-Encoding", b"chunked"),
                (b"Keep-Alive", b"timeout=5"),
                (b"Set-Cookie", b"a=1"),
                (b"Set-Cookie", b"b=2"),
            ],
            false,
            None,
        )
        .unwrap();
        assert_eq!(head.status, 200);
        assert_eq!(
            head.fields,
            vec![
                (&b"Content-Type"[..], &b"text/plain"[..]),
                (b"Set-Cookie", b"a=1"),
                (b"Set-Cookie", b"b=2")
            ]
        );
        assert_eq!(
            (head.length, head.no_body, head.has_date, head.has_server),
            (None, false, false, false)
        );
    }

    #[test]
    fn the_length_comes_from_the_app_or_from_a_whole_body() {
        let whole = h2_response_head(b"200 OK", &[], false, Some(5)).unwrap();
        assert_eq!((whole.length, whole.declared_length), (Some(5), false));
        let declared =
            h2_response_head(b"200 OK", &[(b"Content-Length", b"7")], false, None).unwrap();
        assert_eq!((declared.length, declared.declared_length), (Some(7), true));
        assert_eq!(
            h2_response_head(b"200 OK", &[(b"Content-Length", b"7")], false, Some(5)),
            Err(ResponseError::ContentLengthMismatch { header: 7, body: 5 })
        );
        // HEAD announces the GET's length without a body.
        let head =
            h2_response_head(b"200 OK", &[(b"Content-Length", b"7")], true, Some(0)).unwrap();
        assert!(head.no_body && head.length == Some(7));
        let no_content = h2_response_head(
            b"204 No Content",
            &[(b"Content-Length", b"0")],
            false,
            Some(0),
        )
        .unwrap();
        assert!(
            no_content.no_body
                && no_content.fields.is_empty()
                && no_content.length == Some(0)
                && !no_content.declared_length
        );
    }

    #[test]
    fn invalid_statuses_and_fields_are_refused() {
        assert!(matches!(
            h2_response_head(b"101 Switching Protocols", &[], false, None),
            Err(ResponseError::InvalidStatus(_))
        ));
        assert!(matches!(
            h2_response_head(b"OK", &[], false, None),
            Err(ResponseError::InvalidStatus(_))
        ));
        assert_eq!(
            h2_response_head(b"200 OK", &[(b"Bad Name", b"v")], false, None),
            Err(ResponseError::InvalidHeaderName("Bad Name".into()))
        );
        assert_eq!(
            h2_response_head(b"200 OK", &[(b"X", b"a\r\nb")], false, None),
            Err(ResponseError::InvalidHeaderValue("X".into()))
        );
        let own = h2_response_head(
            b"200 OK",
            &[(b"Date", b"x"), (b"Server", b"mine")],
            false,
            None,
        )
        .unwrap();
        assert!(own.has_date && own.has_server);
    }
}
