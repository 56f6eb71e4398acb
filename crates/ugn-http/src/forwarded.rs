//! Scheme from trusted forwarding headers (Gunicorn's
//! `secure_scheme_headers`). Only meaningful when the peer is a trusted
//! proxy; the caller decides that.

use crate::request::Header;
use crate::Error;

/// Gunicorn's default `secure_scheme_headers`: a header that is present
/// means https when its value equals the given one, http otherwise.
pub const DEFAULT_SECURE_SCHEME_HEADERS: &[(&[u8], &[u8])] = &[
    (b"X-FORWARDED-PROTOCOL", b"ssl"),
    (b"X-FORWARDED-PROTO", b"https"),
    (b"X-FORWARDED-SSL", b"on"),
];

/// Returns `Some(true)` for https, `Some(false)` for http, `None` when no
/// scheme header is present. Headers that disagree are refused: a client
/// adding its own header next to the proxy's must not pick the scheme.
pub fn forwarded_scheme<N: AsRef<[u8]>, V: AsRef<[u8]>>(
    buf: &[u8],
    headers: &[Header],
    secure_scheme_headers: &[(N, V)],
) -> Result<Option<bool>, Error> {
    let mut scheme = None;
    for h in headers {
        let name = h.name.get(buf);
        let Some((_, secure_value)) = secure_scheme_headers
            .iter()
            .find(|(n, _)| n.as_ref().eq_ignore_ascii_case(name))
        else {
            continue;
        };
        let https = h.value.get(buf) == secure_value.as_ref();
        match scheme {
            Some(s) if s != https => return Err(Error::InvalidSchemeHeaders),
            _ => scheme = Some(https),
        }
    }
    Ok(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_request_head, Limits, Parsed};

    fn scheme_with<N: AsRef<[u8]>, V: AsRef<[u8]>>(
        raw: &[u8],
        secure: &[(N, V)],
    ) -> Result<Option<bool>, Error> {
        let mut headers = Vec::new();
        let Ok(Parsed::Complete(_)) = parse_request_head(raw, &Limits::default(), &mut headers)
        else {
            panic!()
        };
        forwarded_scheme(raw, &headers, secure)
    }

    fn scheme(raw: &[u8]) -> Result<Option<bool>, Error> {
        scheme_with(raw, DEFAULT_SECURE_SCHEME_HEADERS)
    }

    #[test]
    fn agreeing_and_conflicting() {
        assert_eq!(scheme(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"), Ok(None));
        assert_eq!(
            scheme(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n"),
            Ok(Some(true))
        );
        assert_eq!(
            scheme(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: http\r\n\r\n"),
            Ok(Some(false))
        );
        assert_eq!(scheme(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: on\r\n\r\n"), Ok(Some(true)));
        assert_eq!(
            scheme(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n\r\n"),
            Err(Error::InvalidSchemeHeaders)
        );
    }

    #[test]
    fn repeated_header_values_must_agree_too() {
        assert_eq!(
            scheme(b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Proto: http\r\n\r\n"),
            Err(Error::InvalidSchemeHeaders)
        );
        assert_eq!(
            scheme(
                b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Ssl: on\r\nX-Forwarded-Ssl: on\r\n\r\n"
            ),
            Ok(Some(true))
        );
    }

    #[test]
    fn configured_headers_match_names_in_any_case_and_values_exactly() {
        let custom = vec![(b"FRONT-END-HTTPS".to_vec(), b"on".to_vec())];
        assert_eq!(
            scheme_with(
                b"GET / HTTP/1.1\r\nHost: h\r\nfront-end-https: on\r\n\r\n",
                &custom
            ),
            Ok(Some(true))
        );
        assert_eq!(
            scheme_with(
                b"GET / HTTP/1.1\r\nHost: h\r\nFront-End-Https: On\r\n\r\n",
                &custom
            ),
            Ok(Some(false))
        );
        assert_eq!(
            scheme_with(
                b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n",
                &custom
            ),
            Ok(None)
        );
        let none: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        assert_eq!(
            scheme_with(
                b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-Proto: https\r\n\r\n",
                &none
            ),
            Ok(None)
        );
    }
}
