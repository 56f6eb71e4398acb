//! Parser limits and compatibility switches, named and defaulted like
//! Gunicorn's settings so a Gunicorn configuration maps one to one.
//! Gunicorn's `permit_obsolete_folding` and `strip_header_spaces` are not
//! offered: they weaken request parsing (see docs/conformance.md).

/// What to do with request header names that contain `_`.
///
/// WSGI/CGI-style environments turn `-` into `_`, so `X-Auth` and `X_Auth`
/// collide downstream; an attacker can use the underscore spelling to smuggle
/// a value past a proxy that only filters the dash spelling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderMap {
    /// Skip the field (it still counts against the field limits).
    #[default]
    Drop,
    /// Reject the request with `InvalidHeaderName`.
    Refuse,
    /// Keep the field as sent.
    Dangerous,
}

/// Gunicorn's hard ceiling for a request line, also used when a limit of 0
/// asks for "the default" of a field.
pub(crate) const MAX_LINE: usize = 8190;
/// Gunicorn's ceiling on the number of fields when the setting is 0.
const MAX_FIELDS: usize = 32768;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line in bytes (without CRLF). 0 means unlimited;
    /// values above 8190 are clamped to 8190, as Gunicorn does.
    pub max_request_line: usize,
    /// Most header fields per request (and per trailer section). 0 means 32768.
    pub max_headers: usize,
    /// Longest field line in bytes, CRLF included.
    /// 0 means 8190 (Gunicorn semantics, not "unlimited").
    pub max_header_field_size: usize,
    /// Allow lowercase methods, `#`, and lengths outside 3..=20.
    pub permit_unconventional_http_method: bool,
    /// Compare methods case-insensitively. The `method` span stays as sent;
    /// callers upper-case it (ASCII) when this is set.
    pub casefold_http_method: bool,
    pub header_map: HeaderMap,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_request_line: 4094,
            max_headers: 100,
            max_header_field_size: 8190,
            permit_unconventional_http_method: false,
            casefold_http_method: false,
            header_map: HeaderMap::Drop,
        }
    }
}

impl Limits {
    /// `None` means unlimited.
    pub(crate) fn request_line(&self) -> Option<usize> {
        match self.max_request_line {
            0 => None,
            n => Some(n.min(MAX_LINE)),
        }
    }

    /// The most fields a head may have, with 0 (and anything above it) meaning Gunicorn's 32768.
    pub fn fields(&self) -> usize {
        match self.max_headers {
            0 => MAX_FIELDS,
            n => n.min(MAX_FIELDS),
        }
    }

    pub(crate) fn field_size(&self) -> usize {
        match self.max_header_field_size {
            0 => MAX_LINE,
            n => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_gunicorn() {
        let l = Limits::default();
        assert_eq!(l.request_line(), Some(4094));
        assert_eq!(l.fields(), 100);
        assert_eq!(l.field_size(), 8190);
        assert_eq!(l.header_map, HeaderMap::Drop);
    }

    #[test]
    fn zero_and_clamping() {
        let l = Limits {
            max_request_line: 0,
            max_headers: 0,
            max_header_field_size: 0,
            ..Limits::default()
        };
        assert_eq!(l.request_line(), None);
        assert_eq!(l.fields(), 32768);
        assert_eq!(l.field_size(), 8190);
        let l = Limits {
            max_request_line: 8200,
            max_header_field_size: 8210,
            ..Limits::default()
        };
        assert_eq!(l.request_line(), Some(8190));
        assert_eq!(l.field_size(), 8210);
    }
}
