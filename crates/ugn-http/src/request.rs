//! Request head parsing: request line and header fields, zero-copy.
//!
//! The rules are Gunicorn 26's (pure-Python parser) plus RFC 9112 where the
//! RFC is stricter; see `parse_request_head` for the list.

use std::borrow::Cow;

use crate::limits::{HeaderMap, Limits};
use crate::Error;

/// Byte range into the buffer that was parsed. `u32` keeps `Header` at 16
/// bytes; heads are bounded far below 4 GiB by `Limits`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub(crate) fn new(start: usize, end: usize) -> Span {
        Span { start: start as u32, end: end as u32 }
    }

    pub fn get<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start as usize..self.end as usize]
    }

    pub fn len(&self) -> usize {
        (self.end - self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// One field line. `value` has leading/trailing SP and HTAB removed; when
/// obsolete folding was permitted and used, it still contains the CRLFs of
/// the fold: pass it through [`unfold_value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: Span,
    pub value: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    None,
    Length(u64),
    Chunked,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed<T> {
    Complete(T),
    Partial,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestHead {
    /// As sent; upper-case it when `Limits::casefold_http_method` is set.
    pub method: Span,
    pub target: Span,
    /// For origin-form the target up to `?`/`#` (a leading `//` stays); for
    /// absolute-form the part after the authority; for CONNECT's
    /// authority-form the whole target; for OPTIONS `*`, `*`.
    pub path: Span,
    pub query: Span,
    pub fragment: Span,
    pub minor_version: u8,
    pub head_len: usize,
    pub body: BodyKind,
    pub keep_alive: bool,
    pub expect_continue: bool,
    pub upgrade: bool,
    pub content_length: Option<u64>,
}

/// Joins the lines of an obs-folded value with one space each, as Gunicorn
/// does; borrows when there was no fold.
pub fn unfold_value(value: &[u8]) -> Cow<'_, [u8]> {
    if !value.contains(&b'\r') {
        return Cow::Borrowed(value);
    }
    let mut out = Vec::with_capacity(value.len());
    for (i, part) in value.split(|&b| b == b'\n').enumerate() {
        let part = part.strip_suffix(b"\r").unwrap_or(part);
        if i > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(trim_ows(part));
    }
    Cow::Owned(out)
}

pub(crate) fn find_crlf(buf: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = buf[from..].iter().position(|&b| b == b'\r') {
        let at = from + i;
        match buf.get(at + 1) {
            Some(b'\n') => return Some(at),
            Some(_) => from = at + 1,
            None => return None,
        }
    }
    None
}

/// Bytes of an unterminated line that are certainly part of it: a final CR
/// may still turn out to start the CRLF.
fn known_line_len(rest: &[u8]) -> usize {
    rest.len() - usize::from(rest.last() == Some(&b'\r'))
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

pub(crate) fn trim_ows(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if !is_ows(*first) {
            break;
        }
        s = rest;
    }
    while let [rest @ .., last] = s {
        if !is_ows(*last) {
            break;
        }
        s = rest;
    }
    s
}

/// List elements also lose CR/LF so that a folded value (which keeps its
/// CRLFs in the span) splits the same as an unfolded one.
fn trim_list_item(s: &[u8]) -> &[u8] {
    let start = s.iter().position(|b| !b" \t\r\n".contains(b)).unwrap_or(s.len());
    let end = s.iter().rposition(|b| !b" \t\r\n".contains(b)).map_or(start, |i| i + 1);
    &s[start..end]
}

pub(crate) fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

/// RFC 9110 §5.5: only SP, HTAB, VCHAR and obs-text may appear in a value.
/// A bare CR or LF here is how header injection and request smuggling start.
pub(crate) fn is_forbidden_value_byte(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// RFC 9110 §6.5.1: fields that change routing, framing or authentication
/// cannot arrive after the body has been framed.
fn forbidden_in_trailer(name: &[u8]) -> bool {
    ["host", "content-length", "transfer-encoding", "trailer", "authorization", "te"]
        .iter()
        .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
}

/// Parses field lines from `start` up to and including the blank line and
/// returns the offset just past it. Shared by the head and chunked trailers
/// so both obey the same limits and character rules.
pub(crate) fn parse_fields(
    buf: &[u8],
    start: usize,
    limits: &Limits,
    trailer: bool,
    out: &mut Vec<Header>,
) -> Result<Option<usize>, Error> {
    let max_fields = limits.fields();
    let field_size = limits.field_size();
    let mut pos = start;
    let mut fields = 0usize;
    // Length of the field being read, CRLFs and continuation lines included.
    let mut field_len = 0usize;
    let mut in_field = false;
    // Whether the field being read was kept in `out` (continuations of a
    // dropped field must not extend the previous kept one).
    let mut kept = false;
    let mut seen_host = false;
    let mut seen_content_type = false;

    loop {
        let rest = &buf[pos..];
        let Some(idx) = find_crlf(rest) else {
            // Fail early on what the missing bytes cannot fix, so a client
            // cannot make us buffer without bound.
            let known = known_line_len(rest);
            if known > 0 {
                if is_ows(rest[0]) && in_field {
                    if !limits.permit_obsolete_folding {
                        return Err(Error::ObsoleteFolding);
                    }
                    if field_len + known > field_size {
                        return Err(Error::HeaderFieldTooLarge);
                    }
                } else {
                    if fields >= max_fields {
                        return Err(Error::TooManyHeaders);
                    }
                    if known + 2 > field_size {
                        return Err(Error::HeaderFieldTooLarge);
                    }
                }
            }
            if buf.len() - start > limits.field_section() {
                return Err(if trailer { Error::TrailersTooLarge } else { Error::HeadTooLarge });
            }
            return Ok(None);
        };
        let line = &rest[..idx];
        let line_start = pos;
        pos += idx + 2;
        if line.is_empty() {
            return Ok(Some(pos));
        }

        if is_ows(line[0]) {
            if !in_field {
                // Nothing to continue: a field name cannot start with SP.
                return Err(Error::InvalidHeaderName);
            }
            if !limits.permit_obsolete_folding {
                return Err(Error::ObsoleteFolding);
            }
            field_len += idx + 2;
            if field_len > field_size {
                return Err(Error::HeaderFieldTooLarge);
            }
            if line.iter().any(|&b| is_forbidden_value_byte(b)) {
                return Err(Error::InvalidHeader);
            }
            if kept {
                // An all-blank continuation still contributes its fold
                // (Gunicorn joins an empty part), so the span keeps the CRLF.
                let content_end = line.iter().rposition(|&b| !is_ows(b)).map_or(0, |i| i + 1);
                let last = out.last_mut().expect("kept field is in out");
                last.value.end = (line_start + content_end) as u32;
            }
            continue;
        }

        if fields >= max_fields {
            return Err(Error::TooManyHeaders);
        }
        fields += 1;
        let colon = match line.iter().position(|&b| b == b':') {
            Some(0) | None => return Err(Error::InvalidHeader),
            Some(c) => c,
        };
        let mut name = &line[..colon];
        if limits.strip_header_spaces {
            name = trim_ows_end(name);
        }
        if !is_token(name) {
            return Err(Error::InvalidHeaderName);
        }
        if trailer && forbidden_in_trailer(name) {
            return Err(Error::InvalidHeaderName);
        }
        let raw_value = &line[colon + 1..];
        if raw_value.iter().any(|&b| is_forbidden_value_byte(b)) {
            return Err(Error::InvalidHeader);
        }
        field_len = idx + 2;
        if field_len > field_size {
            return Err(Error::HeaderFieldTooLarge);
        }
        // RFC 9110 §5.3: a repeated singleton cannot be merged, so two
        // parties may each pick a different one.
        let seen = if name.eq_ignore_ascii_case(b"host") {
            Some(&mut seen_host)
        } else if name.eq_ignore_ascii_case(b"content-type") {
            Some(&mut seen_content_type)
        } else {
            None
        };
        if let Some(seen) = seen {
            if *seen {
                return Err(Error::InvalidHeader);
            }
            *seen = true;
        }
        in_field = true;
        kept = !name.contains(&b'_')
            || match limits.header_map {
                HeaderMap::Drop => false,
                HeaderMap::Refuse => return Err(Error::InvalidHeaderName),
                HeaderMap::Dangerous => true,
            };
        if kept {
            let value_start = line_start + colon + 1;
            let lead = raw_value.iter().position(|&b| !is_ows(b)).unwrap_or(raw_value.len());
            let value = trim_ows(raw_value);
            out.push(Header {
                name: Span::new(line_start, line_start + name.len()),
                value: Span::new(value_start + lead, value_start + lead + value.len()),
            });
        }
    }
}

fn trim_ows_end(s: &[u8]) -> &[u8] {
    let end = s.iter().rposition(|&b| !is_ows(b)).map_or(0, |i| i + 1);
    &s[..end]
}

fn parse_version(v: &[u8]) -> Result<u8, Error> {
    match v {
        b"HTTP/1.1" => Ok(1),
        b"HTTP/1.0" => Ok(0),
        _ => Err(Error::InvalidVersion),
    }
}

fn check_method(method: &[u8], limits: &Limits) -> Result<(), Error> {
    // Gunicorn's convention (all IANA methods fit it): uppercase, no `#`,
    // 3 to 20 bytes. Lowercase methods are a classic filter-bypass trick.
    if !limits.permit_unconventional_http_method
        && (method.iter().any(|&b| b.is_ascii_lowercase() || b == b'#') || !(3..=20).contains(&method.len()))
    {
        return Err(Error::InvalidMethod);
    }
    if !is_token(method) {
        return Err(Error::InvalidMethod);
    }
    Ok(())
}

/// Splits the request-target the way Gunicorn does (urllib's urlsplit)
/// into (path, query, fragment), all relative to `base`.
fn split_target(target: &[u8], base: usize, authority_form: bool) -> Result<(Span, Span, Span), Error> {
    let end = base + target.len();
    if authority_form || target == b"*" {
        let e = Span::new(end, end);
        return Ok((Span::new(base, end), e, e));
    }
    let mut path_start = 0;
    if target[0] != b'/' {
        // absolute-form: scheme "://" authority path-abempty
        let sep = target.windows(3).position(|w| w == b"://").ok_or(Error::InvalidRequestLine)?;
        let scheme = &target[..sep];
        if scheme.is_empty()
            || !scheme[0].is_ascii_alphabetic()
            || !scheme.iter().all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(Error::InvalidRequestLine);
        }
        let auth_start = sep + 3;
        let auth_len = target[auth_start..].iter().position(|b| b"/?#".contains(b)).unwrap_or(target.len() - auth_start);
        let authority = &target[auth_start..auth_start + auth_len];
        // urlsplit refuses an unbalanced IPv6 literal; a proxy would too.
        if authority.contains(&b'[') != authority.contains(&b']') {
            return Err(Error::InvalidRequestLine);
        }
        path_start = auth_start + auth_len;
    }
    let t = &target[path_start..];
    let path_len = t.iter().position(|b| b"?#".contains(b)).unwrap_or(t.len());
    let path = Span::new(base + path_start, base + path_start + path_len);
    let after = path_start + path_len;
    let (query, frag_at) = if target.get(after) == Some(&b'?') {
        let q = &target[after + 1..];
        let qlen = q.iter().position(|&b| b == b'#').unwrap_or(q.len());
        (Span::new(base + after + 1, base + after + 1 + qlen), after + 1 + qlen)
    } else {
        (Span::new(base + after, base + after), after)
    };
    let fragment = if target.get(frag_at) == Some(&b'#') {
        Span::new(base + frag_at + 1, end)
    } else {
        Span::new(end, end)
    };
    Ok((path, query, fragment))
}

/// Parse one request head at the start of `buf`. `headers` is cleared and
/// filled with the kept fields (reused between requests: no allocation once
/// warm).
///
/// Beyond RFC 9112 syntax this enforces what Gunicorn 26 does: CRLF-only
/// line endings (a bare LF or CR ends up inside a line and is rejected),
/// method convention (see [`Limits`]), origin/absolute/authority(CONNECT
/// only)/asterisk(OPTIONS only) target forms, HTTP/1.0 and 1.1 only, no
/// whitespace before a colon unless `strip_header_spaces`, no obs-fold
/// unless permitted, no CTL in values, unique Host and Content-Type,
/// exactly one digits-only Content-Length, Transfer-Encoding ending in a
/// single `chunked` (no CL alongside it, not in HTTP/1.0), `identity`
/// ignored, and `Expect` other than `100-continue` refused with 417.
/// Stricter than Gunicorn: gzip/deflate/compress without a final chunked is
/// refused (RFC 9112 §6.3), and targets may not contain CTLs.
///
/// Empty lines before the request line are skipped (RFC 9112 §2.2); they
/// count against `max_request_line`.
pub fn parse_request_head(buf: &[u8], limits: &Limits, headers: &mut Vec<Header>) -> Result<Parsed<RequestHead>, Error> {
    headers.clear();
    let buf = &buf[..buf.len().min(u32::MAX as usize)];
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let line_limit = limits.request_line();
    let rest = &buf[start..];
    let Some(line_len) = find_crlf(rest) else {
        if line_limit.is_some_and(|l| start + known_line_len(rest) > l) {
            return Err(Error::RequestLineTooLong);
        }
        return Ok(Parsed::Partial);
    };
    if line_limit.is_some_and(|l| start + line_len > l) {
        return Err(Error::RequestLineTooLong);
    }
    let line = &rest[..line_len];

    let sp1 = line.iter().position(|&b| b == b' ').ok_or(Error::InvalidRequestLine)?;
    let method = &line[..sp1];
    let sp2 = line[sp1 + 1..].iter().position(|&b| b == b' ').ok_or(Error::InvalidRequestLine)? + sp1 + 1;
    let target = &line[sp1 + 1..sp2];
    let version = &line[sp2 + 1..];

    check_method(method, limits)?;
    let is_method = |m: &[u8]| {
        if limits.casefold_http_method {
            method.eq_ignore_ascii_case(m)
        } else {
            method == m
        }
    };
    if target.is_empty() || target.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(Error::InvalidRequestLine);
    }
    let connect = is_method(b"CONNECT");
    if target == b"*" && !is_method(b"OPTIONS") {
        return Err(Error::InvalidRequestLine);
    }
    let origin_or_absolute = target[0] == b'/' || target.windows(3).any(|w| w == b"://");
    if !connect && target != b"*" && !origin_or_absolute {
        return Err(Error::InvalidRequestLine);
    }
    let target_start = start + sp1 + 1;
    let (path, query, fragment) = split_target(target, target_start, connect)?;
    let minor_version = parse_version(version)?;

    let Some(head_len) = parse_fields(buf, start + line_len + 2, limits, false, headers)? else {
        return Ok(Parsed::Partial);
    };

    let mut content_length = None;
    let mut chunked = false;
    let mut coded = false;
    let (mut close, mut keep, mut conn_upgrade, mut has_upgrade) = (false, false, false, false);
    let mut expect_continue = false;
    for h in headers.iter() {
        let name = h.name.get(buf);
        let value = h.value.get(buf);
        if name.eq_ignore_ascii_case(b"content-length") {
            if content_length.is_some() {
                // Even identical duplicates: Gunicorn refuses them, and a
                // list form like "5, 5" is just as ambiguous.
                return Err(Error::InvalidContentLength);
            }
            content_length = Some(parse_content_length(value)?);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            for coding in value.split(|&b| b == b',').map(trim_list_item) {
                if coding.eq_ignore_ascii_case(b"chunked") {
                    // Stacked chunking is never intended; after chunked
                    // nothing may follow.
                    if chunked {
                        return Err(Error::InvalidTransferEncoding);
                    }
                    chunked = true;
                } else if coding.eq_ignore_ascii_case(b"identity") {
                    if chunked {
                        return Err(Error::InvalidTransferEncoding);
                    }
                } else if [&b"gzip"[..], b"deflate", b"compress"].iter().any(|c| coding.eq_ignore_ascii_case(c)) {
                    if chunked {
                        return Err(Error::InvalidTransferEncoding);
                    }
                    coded = true;
                } else {
                    return Err(Error::UnsupportedTransferCoding);
                }
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim_list_item) {
                close |= token.eq_ignore_ascii_case(b"close");
                keep |= token.eq_ignore_ascii_case(b"keep-alive");
                conn_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
            }
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            has_upgrade = true;
        } else if name.eq_ignore_ascii_case(b"expect") {
            if !value.eq_ignore_ascii_case(b"100-continue") {
                return Err(Error::ExpectationFailed);
            }
            // RFC 9110 §10.1.1: ignore it from HTTP/1.0 clients.
            expect_continue = minor_version == 1;
        }
    }
    let body = if chunked {
        if minor_version == 0 {
            return Err(Error::InvalidTransferEncoding);
        }
        if content_length.is_some() {
            // CL + TE is the classic smuggling vector: refuse rather than
            // guess which one the upstream proxy honoured.
            return Err(Error::InvalidContentLength);
        }
        BodyKind::Chunked
    } else if coded {
        return Err(Error::InvalidTransferEncoding);
    } else {
        match content_length {
            None | Some(0) => BodyKind::None,
            Some(n) => BodyKind::Length(n),
        }
    };

    Ok(Parsed::Complete(RequestHead {
        method: Span::new(start, start + sp1),
        target: Span::new(target_start, target_start + target.len()),
        path,
        query,
        fragment,
        minor_version,
        head_len,
        body,
        // A non-final coding means we hand the app bytes it may misread;
        // Gunicorn closes afterwards, and so do we.
        keep_alive: !coded && !close && (minor_version == 1 || keep),
        expect_continue,
        upgrade: conn_upgrade && has_upgrade,
        content_length,
    }))
}

fn parse_content_length(v: &[u8]) -> Result<u64, Error> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(Error::InvalidContentLength);
    }
    v.iter().try_fold(0u64, |n, &d| n.checked_mul(10)?.checked_add(u64::from(d - b'0'))).ok_or(Error::InvalidContentLength)
}
