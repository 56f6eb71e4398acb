//! Request head parsing: request line and header fields, zero-copy.
//!
//! The syntax is httparse's: method token, single-SP-separated target and
//! `HTTP/1.0`/`HTTP/1.1`, field names as tokens, field values free of CTLs
//! (HTAB and obs-text allowed), targets free of CTLs and SP and valid UTF-8,
//! values trimmed of SP/HTAB. What is written here are the rules httparse
//! does not have, the ones Gunicorn 26 and RFC 9112 add on top, as cheap
//! checks around it:
//!
//! - before it, one pass over the line ends (`LineScan`, `FieldScan`):
//!   httparse also takes a bare LF as a line end, which Gunicorn refuses and which is a smuggling vector when a front end
//!   disagrees, so every LF must follow a CR. The same pass enforces the
//!   limits while the head is still incomplete (414 for the request line,
//!   431 for the field count and size), which bounds what a client can make
//!   us buffer, and refuses obs-fold lines early with their own error;
//! - after it, the method convention, the target forms, the `_` name
//!   policy, singleton fields, the Host rules (`authority.rs`) and the
//!   body framing rules (`parse_request_head` lists them); and a second
//!   parse, of a copy, for the rare `HTTP/1.2` to `HTTP/1.9` request line,
//!   which httparse refuses.
//!
//! A head that arrives in pieces is parsed with a [`HeadReader`], which
//! resumes the line-end pass where the previous piece left it and runs the
//! full parse only when it may complete or fail, so its cost stays linear
//! in the head's length however it is split.
//!
//! Gunicorn's `permit_obsolete_folding` and `strip_header_spaces` are not
//! offered: they weaken request parsing and httparse has no request-side
//! support for either (see docs/conformance.md).
//!
//! httparse borrows its header array for the buffer's lifetime, so it cannot
//! live in a struct reused across requests; a per-thread vector of
//! uninitialised slots (`with_slots`) gives the same: no allocation per
//! request once warm. Its results are turned into [`Span`] offsets, which is
//! what callers keep.

use std::cell::Cell;
use std::mem::MaybeUninit;

use crate::authority::{is_connect_authority, is_host_value};
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
        Span {
            start: start as u32,
            end: end as u32,
        }
    }

    /// Where `part`, a subslice of `base`, lies in it.
    fn within(base: &[u8], part: &[u8]) -> Span {
        let start = part.as_ptr() as usize - base.as_ptr() as usize;
        debug_assert!(start + part.len() <= base.len());
        Span::new(start, start + part.len())
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

/// One field line. `value` has leading/trailing SP and HTAB removed.
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

/// A byte class as a table: ASCII letters and digits, and the bytes of
/// `extra`.
pub(crate) const fn alphanumeric_and(extra: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = (i as u8).is_ascii_alphanumeric();
        i += 1;
    }
    let mut i = 0;
    while i < extra.len() {
        table[extra[i] as usize] = true;
        i += 1;
    }
    table
}

/// RFC 9110 §5.6.2 tchar, as a table (chunk extensions and response field
/// names are checked against it).
static TCHAR: [bool; 256] = alphanumeric_and(b"!#$%&'*+-.^_`|~");

pub(crate) fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

pub(crate) fn is_token(s: &[u8]) -> bool {
    !s.is_empty() && s.iter().all(|&b| is_tchar(b))
}

fn find_lf(s: &[u8]) -> Option<usize> {
    s.iter().position(|&b| b == b'\n')
}

/// RFC 9110 §6.5.1: fields that change routing, framing or authentication
/// cannot arrive after the body has been framed.
pub(crate) fn forbidden_in_trailer(name: &[u8]) -> bool {
    [
        "host",
        "content-length",
        "transfer-encoding",
        "trailer",
        "authorization",
        "te",
    ]
    .iter()
    .any(|f| name.eq_ignore_ascii_case(f.as_bytes()))
}

/// The line-end pass over a request line. It can be resumed: given the same
/// buffer grown at its end, it goes on from where it stopped, so a line
/// that arrives in pieces is searched once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct LineScan {
    /// Where the request line starts, after the skipped empty lines.
    start: usize,
    /// No LF of the line lies before this offset.
    searched: usize,
    /// Just past its CRLF, once it has one.
    end: Option<usize>,
}

impl LineScan {
    /// Skips empty lines (RFC 9112 §2.2) and finds the end of the request
    /// line, which must be a CRLF; enforces `max_request_line` (skipped
    /// lines count) even before the line is complete.
    fn advance(&mut self, buf: &[u8], limits: &Limits) -> Result<(), Error> {
        if self.end.is_some() {
            return Ok(());
        }
        while buf[self.start..].starts_with(b"\r\n") {
            self.start += 2;
        }
        // The bytes searched so far hold no LF, so no skipped pair ends
        // beyond them: at most the start has moved past them.
        self.searched = self.searched.max(self.start);
        let (start, limit) = (self.start, limits.request_line());
        let rest = &buf[start..];
        let Some(lf) = find_lf(&buf[self.searched..]).map(|at| self.searched + at - start) else {
            self.searched = buf.len();
            if limit.is_some_and(|l| start + known_line_len(rest) > l) {
                return Err(Error::RequestLineTooLong);
            }
            return Ok(());
        };
        // The line is `rest[..lf - 1]` when it ends in CRLF.
        if limit.is_some_and(|l| start + lf > l + 1) {
            return Err(Error::RequestLineTooLong);
        }
        if lf == 0 || rest[lf - 1] != b'\r' {
            return Err(Error::InvalidRequestLine);
        }
        self.end = Some(start + lf + 1);
        Ok(())
    }
}

/// The line-end pass over a field section: every line ends in CRLF, none
/// starts with SP/HTAB (obs-fold), and the count and size limits hold.
/// Unfinished lines are checked as far as they go, so an unfinished section
/// never exceeds max_headers * max_header_field_size bytes and a client
/// cannot make us buffer without bound. Resumable like [`LineScan`]: a line
/// ending's CR and LF may arrive in different pieces, since the CR is looked
/// up in the buffer once the LF is found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct FieldScan {
    /// Where the current line starts.
    line: usize,
    /// No LF of the current line lies before this offset.
    searched: usize,
    /// Complete field lines.
    fields: usize,
    /// Just past the blank line, once it has arrived.
    end: Option<usize>,
}

impl FieldScan {
    fn at(pos: usize) -> FieldScan {
        FieldScan {
            line: pos,
            searched: pos,
            fields: 0,
            end: None,
        }
    }

    fn advance(&mut self, buf: &[u8], limits: &Limits) -> Result<(), Error> {
        if self.end.is_some() {
            return Ok(());
        }
        let (max_fields, field_size) = (limits.fields(), limits.field_size());
        loop {
            let rest = &buf[self.line..];
            let lf = find_lf(&buf[self.searched..]).map(|at| self.searched + at - self.line);
            let line = match lf {
                Some(lf) if lf > 0 && rest[lf - 1] == b'\r' => &rest[..lf - 1],
                // A bare LF: httparse would take it as a line end.
                Some(_) => return Err(Error::InvalidHeader),
                None => &rest[..known_line_len(rest)],
            };
            if lf.is_some() && line.is_empty() {
                self.end = Some(self.line + 2);
                return Ok(());
            }
            if let Some(&first) = line.first() {
                if is_ows(first) {
                    // httparse has no request-side obs-fold; name the cause.
                    return Err(if self.fields > 0 {
                        Error::ObsoleteFolding
                    } else {
                        Error::InvalidHeaderName
                    });
                }
                if self.fields >= max_fields {
                    return Err(Error::TooManyHeaders);
                }
                if line.len() + 2 > field_size {
                    return Err(Error::HeaderFieldTooLarge);
                }
            }
            let Some(lf) = lf else {
                self.searched = buf.len();
                return Ok(());
            };
            self.fields += 1;
            self.line += lf + 1;
            self.searched = self.line;
        }
    }
}

/// The line-end pass over a field section starting at `pos`, in one go.
fn scan_fields(buf: &[u8], pos: usize, limits: &Limits) -> Result<FieldScan, Error> {
    let mut section = FieldScan::at(pos);
    section.advance(buf, limits)?;
    Ok(section)
}

/// The line-end pass over a whole head: the request line, then the fields.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct HeadScan {
    line: LineScan,
    /// Once the request line is complete.
    fields: Option<FieldScan>,
}

impl HeadScan {
    fn advance(&mut self, buf: &[u8], limits: &Limits) -> Result<(), Error> {
        self.line.advance(buf, limits)?;
        if let Some(end) = self.line.end {
            self.fields
                .get_or_insert(FieldScan::at(end))
                .advance(buf, limits)?;
        }
        Ok(())
    }

    /// Just past the blank line that ends the head, once it has arrived.
    fn end(&self) -> Option<usize> {
        self.fields.and_then(|f| f.end)
    }
}

fn field_error(e: httparse::Error) -> Error {
    match e {
        httparse::Error::HeaderName => Error::InvalidHeaderName,
        httparse::Error::TooManyHeaders => Error::TooManyHeaders,
        _ => Error::InvalidHeader,
    }
}

/// Checks httparse's fields against the rules it does not know (`_` names,
/// trailer-forbidden names, singletons, the Host value) and appends the
/// kept ones to `out` as spans into `buf`. Returns whether a Host came.
fn keep_fields(
    buf: &[u8],
    fields: &[httparse::Header<'_>],
    limits: &Limits,
    trailer: bool,
    out: &mut Vec<Header>,
) -> Result<bool, Error> {
    let (mut seen_host, mut seen_content_type) = (false, false);
    for field in fields {
        let name = field.name.as_bytes();
        if trailer && forbidden_in_trailer(name) {
            return Err(Error::InvalidHeaderName);
        }
        // RFC 9110 §5.3: a repeated singleton cannot be merged, so two
        // parties may each pick a different one.
        let seen = if name.eq_ignore_ascii_case(b"host") {
            // RFC 9112 §3.2: a valid authority, in any version.
            if !is_host_value(field.value) {
                return Err(Error::InvalidHost);
            }
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
        let keep = !name.contains(&b'_')
            || match limits.header_map {
                HeaderMap::Drop => false,
                HeaderMap::Refuse => return Err(Error::InvalidHeaderName),
                HeaderMap::Dangerous => true,
            };
        if keep {
            out.push(Header {
                name: Span::within(buf, name),
                value: Span::within(buf, field.value),
            });
        }
    }
    Ok(seen_host)
}

/// Parses a chunked body's trailer section starting at `start` (after the
/// last chunk's size line) into `out`, by the same rules as the head's
/// fields plus RFC 9110 §6.5.1's forbidden names. Returns the offset just
/// past the blank line, or `None` when it has not arrived yet.
pub(crate) fn parse_trailers(
    buf: &[u8],
    start: usize,
    limits: &Limits,
    out: &mut Vec<Header>,
) -> Result<Option<usize>, Error> {
    let section = scan_fields(buf, start, limits)?;
    let Some(end) = section.end else {
        return Ok(None);
    };
    // Trailers are rare and already allocate; plain slots do.
    let mut slots = vec![httparse::EMPTY_HEADER; section.fields];
    match httparse::parse_headers(&buf[start..end], &mut slots).map_err(field_error)? {
        httparse::Status::Complete((_, fields)) => {
            keep_fields(buf, fields, limits, true, out)?;
        }
        // The blank line is there: httparse must have reached it.
        httparse::Status::Partial => return Err(Error::InvalidHeader),
    }
    Ok(Some(end))
}

type Slot<'b> = MaybeUninit<httparse::Header<'b>>;

thread_local! {
    static SLOTS: Cell<Vec<Slot<'static>>> = const { Cell::new(Vec::new()) };
}

/// Re-types an emptied slot vector for another buffer lifetime. The
/// in-place `collect` keeps the allocation (same layout), and nothing
/// is moved: the vector is empty.
fn recycle<'a, 'b>(mut v: Vec<Slot<'a>>) -> Vec<Slot<'b>> {
    v.clear();
    v.into_iter().map(|_| MaybeUninit::uninit()).collect()
}

/// Runs `f` with `n` uninitialised httparse header slots from a per-thread
/// vector: no allocation once it has grown to the largest head seen.
fn with_slots<'b, R>(n: usize, f: impl FnOnce(&mut [Slot<'b>]) -> R) -> R {
    let mut slots: Vec<Slot<'b>> = recycle(SLOTS.take());
    slots.resize_with(n, MaybeUninit::uninit);
    let result = f(&mut slots);
    SLOTS.set(recycle(slots));
    result
}

fn check_method(method: &[u8], limits: &Limits) -> Result<(), Error> {
    // Gunicorn's convention (all IANA methods fit it): uppercase, no `#`,
    // 3 to 20 bytes. Lowercase methods are a classic filter-bypass trick.
    // httparse has already checked that it is a token.
    if !limits.permit_unconventional_http_method
        && (method.iter().any(|&b| b.is_ascii_lowercase() || b == b'#')
            || !(3..=20).contains(&method.len()))
    {
        return Err(Error::InvalidMethod);
    }
    Ok(())
}

/// Splits the request-target the way Gunicorn does (urllib's urlsplit)
/// into (path, query, fragment), all relative to `base`.
fn split_target(
    target: &[u8],
    base: usize,
    authority_form: bool,
) -> Result<(Span, Span, Span), Error> {
    let end = base + target.len();
    if authority_form || target == b"*" {
        let e = Span::new(end, end);
        return Ok((Span::new(base, end), e, e));
    }
    let mut path_start = 0;
    if target[0] != b'/' {
        // absolute-form: scheme "://" authority path-abempty
        let sep = target
            .windows(3)
            .position(|w| w == b"://")
            .ok_or(Error::InvalidRequestLine)?;
        let scheme = &target[..sep];
        if scheme.is_empty()
            || !scheme[0].is_ascii_alphabetic()
            || !scheme
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            return Err(Error::InvalidRequestLine);
        }
        let auth_start = sep + 3;
        let auth_len = target[auth_start..]
            .iter()
            .position(|b| b"/?#".contains(b))
            .unwrap_or(target.len() - auth_start);
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
        (
            Span::new(base + after + 1, base + after + 1 + qlen),
            after + 1 + qlen,
        )
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

/// What the request line gave, as spans.
struct RequestLineParts {
    method: Span,
    target: Span,
    path: Span,
    query: Span,
    fragment: Span,
    minor_version: u8,
    head_len: usize,
    has_host: bool,
}

/// Parse one request head at the start of `buf`. `headers` is cleared and
/// filled with the kept fields (reused between requests: no allocation once
/// warm).
///
/// Beyond RFC 9112 syntax (httparse) this enforces what Gunicorn 26 does:
/// CRLF-only line endings, method convention (see [`Limits`]),
/// origin/absolute/authority(CONNECT only)/asterisk(OPTIONS only) target
/// forms, no whitespace before a colon, no obs-fold, no CTL in values,
/// unique Host and Content-Type, exactly one digits-only Content-Length,
/// Transfer-Encoding ending in a single `chunked` (no CL alongside it, not
/// in HTTP/1.0), `identity` before it ignored, and `Expect` other than
/// `100-continue` refused with 417. Stricter than Gunicorn (RFC 9112):
/// an HTTP/1.1 request needs a Host and any Host must be a valid
/// `uri-host [":" port]` (§3.2, 400); CONNECT needs `host:port` (§3.2.3);
/// a Transfer-Encoding whose final coding is not chunked is refused with
/// 400 (§6.3 item 4: `identity` or `gzip` alone, with or without a
/// Content-Length); targets may not contain CTLs and must be UTF-8. A
/// coding not understood before a final chunked gets 501 (§6.1); empty
/// list elements are ignored (RFC 9110 §5.6.1.2).
///
/// Empty lines before the request line are skipped (RFC 9112 §2.2); they
/// count against `max_request_line`.
///
/// `HTTP/1.2` to `HTTP/1.9` are parsed as HTTP/1.1 (`minor_version` 1): a
/// server SHOULD process a higher minor version as the highest it
/// implements (RFC 9110 §2.5).
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
    headers: &mut Vec<Header>,
) -> Result<Parsed<RequestHead>, Error> {
    headers.clear();
    let buf = &buf[..buf.len().min(u32::MAX as usize)];
    let mut scan = HeadScan::default();
    scan.advance(buf, limits)?;
    let (line, section) = (scan.line, scan.fields.unwrap_or_default());
    let input = &buf[..section.end.unwrap_or(buf.len())];

    let parsed = with_slots(section.fields, |slots| {
        let mut req = httparse::Request::new(&mut []);
        let status = req.parse_with_uninit_headers(input, slots);
        // What httparse has read of the request line is checked even when
        // it then stopped (partial input or an error further on).
        if let Some(method) = req.method {
            check_method(method.as_bytes(), limits)?;
        }
        let head_len = match status {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                if req.version.is_some() {
                    check_target(buf, &req, limits)?;
                }
                return Ok(None);
            }
            Err(e) => return Err(head_error(e, &req, input, &line)),
        };
        debug_assert_eq!(Some(head_len), section.end);
        let (path, query, fragment) = check_target(buf, &req, limits)?;
        let has_host = keep_fields(buf, req.headers, limits, false, headers)?;
        Ok(Some(RequestLineParts {
            method: Span::within(buf, req.method.expect("complete request").as_bytes()),
            target: Span::within(buf, req.path.expect("complete request").as_bytes()),
            path,
            query,
            fragment,
            minor_version: req.version.expect("complete request"),
            head_len,
            has_host,
        }))
    });
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(Error::InvalidVersion) => return invalid_version(buf, limits, headers),
        Err(e) => return Err(e),
    };
    let Some(RequestLineParts {
        method,
        target,
        path,
        query,
        fragment,
        minor_version,
        head_len,
        has_host,
    }) = parsed
    else {
        return Ok(Parsed::Partial);
    };

    let mut content_length = None;
    // Transfer-Encoding: present at all, chunked (last), a compression
    // coding before it, a coding not understood before it.
    let (mut te, mut chunked, mut coded, mut unknown) = (false, false, false, false);
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
            te = true;
            for coding in value.split(|&b| b == b',').map(trim_ows) {
                if coding.is_empty() {
                    // RFC 9110 §5.6.1.2: empty list elements are ignored.
                    continue;
                }
                if chunked {
                    // chunked must be the final coding (RFC 9112 §6.3 item
                    // 4), and stacked chunking is never intended.
                    return Err(Error::InvalidTransferEncoding);
                }
                if coding.eq_ignore_ascii_case(b"chunked") {
                    chunked = true;
                } else if coding.eq_ignore_ascii_case(b"identity") {
                    // Not a transfer coding (RFC 9112 §7), ignored before
                    // chunked as Gunicorn does; never final, see below.
                } else if [&b"gzip"[..], b"deflate", b"compress"]
                    .iter()
                    .any(|c| coding.eq_ignore_ascii_case(c))
                {
                    coded = true;
                } else {
                    unknown = true;
                }
            }
        } else if name.eq_ignore_ascii_case(b"connection") {
            for token in value.split(|&b| b == b',').map(trim_ows) {
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
    // RFC 9112 §3.2: Host is required in HTTP/1.1 (keep_fields has checked
    // its value, and that there is one at most).
    if !has_host && minor_version == 1 {
        return Err(Error::MissingHost);
    }
    let body = if te {
        // RFC 9112 §6.3 item 4: without a final chunked the body length
        // cannot be known, 400 (MUST; whatever the codings before it, and
        // with or without a Content-Length). In HTTP/1.0 a Transfer-Encoding
        // is faulty framing (§6.1).
        if !chunked || minor_version == 0 {
            return Err(Error::InvalidTransferEncoding);
        }
        if content_length.is_some() {
            // CL + TE is the classic smuggling vector: refuse rather than
            // guess which one the upstream proxy honoured.
            return Err(Error::InvalidContentLength);
        }
        if unknown {
            // §6.1: a coding not understood SHOULD get 501. Only reached
            // when chunked is final, so the 400s above come first.
            return Err(Error::UnsupportedTransferCoding);
        }
        BodyKind::Chunked
    } else {
        match content_length {
            None | Some(0) => BodyKind::None,
            Some(n) => BodyKind::Length(n),
        }
    };

    Ok(Parsed::Complete(RequestHead {
        method,
        target,
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

/// Where the minor digit of an `HTTP/1.2` to `HTTP/1.9` request line lies,
/// when that is what the request line ends with (so far: it may still be
/// arriving, and its CR may have come). The line-end pass has accepted the
/// bytes; it is not called here, so that the usual path keeps it inline.
fn higher_minor_version(buf: &[u8]) -> Option<usize> {
    let mut start = 0;
    while buf[start..].starts_with(b"\r\n") {
        start += 2;
    }
    let rest = &buf[start..];
    let end = start + find_lf(rest).map_or(known_line_len(rest), |lf| lf.saturating_sub(1));
    match &buf[start..end] {
        [.., b' ', b'H', b'T', b'T', b'P', b'/', b'1', b'.', b'2'..=b'9'] => Some(end - 1),
        _ => None,
    }
}

/// An `InvalidVersion` from httparse, unless the version is `HTTP/1.2` to
/// `HTTP/1.9`: then the head is parsed as HTTP/1.1.
#[cold]
fn invalid_version(
    buf: &[u8],
    limits: &Limits,
    headers: &mut Vec<Header>,
) -> Result<Parsed<RequestHead>, Error> {
    match higher_minor_version(buf) {
        Some(at) => parse_as_http11(buf, at, limits, headers),
        None => Err(Error::InvalidVersion),
    }
}

/// Parses a head whose version digit at `at` is 2 to 9 as HTTP/1.1: a copy
/// with the digit replaced, of the same length, so its spans hold for
/// `buf`. Only these rare requests pay for the copy.
fn parse_as_http11(
    buf: &[u8],
    at: usize,
    limits: &Limits,
    headers: &mut Vec<Header>,
) -> Result<Parsed<RequestHead>, Error> {
    let head_end = buf[at..]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |end| at + end + 4);
    let mut copy = buf[..head_end].to_vec();
    copy[at] = b'1';
    parse_request_head(&copy, limits, headers)
}

/// Parses a request head that arrives in pieces, in time linear in its
/// length.
///
/// Calling [`parse_request_head`] on a buffer after every read starts again
/// from its first byte each time, so a head trickled in small pieces costs
/// time quadratic in its length (up to the engine's ceiling of about 830 KB
/// with the default limits). A reader keeps the line-end pass's place
/// between calls, so every call still enforces the limits, with the same
/// errors as `parse_request_head` over the same bytes (414 for the request
/// line, 431 for the field count and size, refused line ends and obs-fold),
/// but searches only the bytes added since the last call. The full parse
/// runs when the blank line that ends the head has arrived, when the
/// request line has just been completed, on the first call, and whenever
/// the buffer has doubled since the last full parse: malformed bytes that
/// only httparse and the checks after it recognise (a bad method, target,
/// version, field name or value) are refused at the latest when the head
/// completes, and in an unfinished head no later than a doubling of the
/// buffer. The total work is at most about three passes over the head.
///
/// Between calls the buffer may only grow at its end (it may move in
/// memory: only offsets are kept). After `Complete` or an error the reader
/// starts afresh, ready for the next head; call [`HeadReader::reset`] to
/// drop an unfinished one. It holds a few integers and never allocates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadReader {
    scan: HeadScan,
    /// The buffer's length at the last full parse; 0 before the first.
    parsed: usize,
    /// The buffer's length at the last call.
    seen: usize,
    /// Full parses of the current head (tests check that they stay few).
    full_parses: u32,
}

impl HeadReader {
    pub fn new() -> HeadReader {
        HeadReader::default()
    }

    /// Forgets the head read so far.
    pub fn reset(&mut self) {
        *self = HeadReader::default();
    }

    /// Like [`parse_request_head`] over `buf`, the previous call's buffer
    /// with the newly read bytes appended. On `Partial`, `headers` is empty.
    pub fn parse(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        headers: &mut Vec<Header>,
    ) -> Result<Parsed<RequestHead>, Error> {
        let buf = &buf[..buf.len().min(u32::MAX as usize)];
        if buf.len() < self.seen {
            // Not the buffer of the previous call: start again.
            self.reset();
        }
        self.seen = buf.len();
        let had_line = self.scan.line.end.is_some();
        let result = match self.scan.advance(buf, limits) {
            Err(e) => Err(e),
            Ok(())
                if self.scan.end().is_none()
                    && self.parsed > 0
                    && buf.len() < 2 * self.parsed
                    && (had_line || self.scan.line.end.is_none()) =>
            {
                headers.clear();
                return Ok(Parsed::Partial);
            }
            Ok(()) => {
                self.parsed = buf.len();
                self.full_parses += 1;
                parse_request_head(buf, limits, headers)
            }
        };
        if !matches!(result, Ok(Parsed::Partial)) {
            self.reset();
        }
        result
    }
}

/// Maps an httparse error to ours. It does not say where it failed, but the
/// request line is what it read last when the version is missing.
fn head_error(
    e: httparse::Error,
    req: &httparse::Request<'_, '_>,
    input: &[u8],
    line: &LineScan,
) -> Error {
    match e {
        httparse::Error::Token if req.method.is_none() => Error::InvalidMethod,
        httparse::Error::Token => Error::InvalidRequestLine,
        httparse::Error::Version => Error::InvalidVersion,
        // Either bytes after the version or a CR that starts a field line.
        httparse::Error::NewLine => {
            let request_line = &input[line.start..line.end.map_or(input.len(), |e| e - 2)];
            if request_line.ends_with(b" HTTP/1.1") || request_line.ends_with(b" HTTP/1.0") {
                Error::InvalidHeader
            } else {
                Error::InvalidVersion
            }
        }
        httparse::Error::Status => Error::InvalidRequestLine,
        e => field_error(e),
    }
}

/// Target-form rules for the request line httparse read (method and target
/// are set once the version is): returns (path, query, fragment).
fn check_target(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    limits: &Limits,
) -> Result<(Span, Span, Span), Error> {
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Err(Error::InvalidRequestLine);
    };
    let (method, target) = (method.as_bytes(), target.as_bytes());
    let is_method = |m: &[u8]| {
        if limits.casefold_http_method {
            method.eq_ignore_ascii_case(m)
        } else {
            method == m
        }
    };
    let connect = is_method(b"CONNECT");
    // RFC 9112 §3.2.3: CONNECT takes the authority-form, and only it.
    if connect && !is_connect_authority(target) {
        return Err(Error::InvalidRequestLine);
    }
    if target == b"*" && !is_method(b"OPTIONS") {
        return Err(Error::InvalidRequestLine);
    }
    let origin_or_absolute = target[0] == b'/' || target.windows(3).any(|w| w == b"://");
    if !connect && target != b"*" && !origin_or_absolute {
        return Err(Error::InvalidRequestLine);
    }
    split_target(target, Span::within(buf, target).start as usize, connect)
}

fn parse_content_length(v: &[u8]) -> Result<u64, Error> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return Err(Error::InvalidContentLength);
    }
    v.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .ok_or(Error::InvalidContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_with(raw: &[u8], limits: &Limits) -> Result<Parsed<RequestHead>, Error> {
        parse_request_head(raw, limits, &mut Vec::new())
    }

    type Fields = Vec<(Vec<u8>, Vec<u8>)>;

    fn head_with(raw: &[u8], limits: &Limits) -> (RequestHead, Fields) {
        let mut headers = Vec::new();
        match parse_request_head(raw, limits, &mut headers) {
            Ok(Parsed::Complete(h)) => {
                let fields = headers
                    .iter()
                    .map(|f| (f.name.get(raw).to_vec(), f.value.get(raw).to_vec()))
                    .collect();
                (h, fields)
            }
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    fn head(raw: &[u8]) -> RequestHead {
        head_with(raw, &Limits::default()).0
    }

    fn err_with(raw: &[u8], limits: &Limits) -> Error {
        match parse_with(raw, limits) {
            Err(e) => e,
            other => panic!("{:?} should fail: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    fn err(raw: &[u8]) -> Error {
        err_with(raw, &Limits::default())
    }

    fn get(raw: &[u8], s: Span) -> &[u8] {
        s.get(raw)
    }

    #[test]
    fn simple_get() {
        let raw = b"GET /a/b?x=1&y#frag HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
        let (h, fields) = head_with(raw, &Limits::default());
        assert_eq!(get(raw, h.method), b"GET");
        assert_eq!(get(raw, h.target), b"/a/b?x=1&y#frag");
        assert_eq!(get(raw, h.path), b"/a/b");
        assert_eq!(get(raw, h.query), b"x=1&y");
        assert_eq!(get(raw, h.fragment), b"frag");
        assert_eq!(h.minor_version, 1);
        assert_eq!(h.head_len, raw.len());
        assert_eq!(h.body, BodyKind::None);
        assert!(h.keep_alive && !h.expect_continue && !h.upgrade);
        assert_eq!(h.content_length, None);
        assert_eq!(
            fields,
            vec![
                (b"Host".to_vec(), b"example.com".to_vec()),
                (b"Accept".to_vec(), b"*/*".to_vec())
            ]
        );
    }

    #[test]
    fn tchar_table() {
        let tchars: Vec<u8> = (0..=255u8).filter(|&b| is_tchar(b)).collect();
        let mut want: Vec<u8> =
            b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                .to_vec();
        want.sort_unstable();
        assert_eq!(tchars, want);
    }

    #[test]
    fn span_helpers() {
        let s = Span { start: 2, end: 5 };
        assert_eq!(s.get(b"abcdefg"), b"cde");
        assert_eq!(s.len(), 3);
        assert!(!s.is_empty());
        assert!(Span { start: 4, end: 4 }.is_empty());
    }

    #[test]
    fn every_prefix_is_partial() {
        let raw = b"POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        let end = raw.len() - 3;
        for i in 0..end {
            assert_eq!(
                parse_with(&raw[..i], &Limits::default()),
                Ok(Parsed::Partial),
                "prefix {i}"
            );
        }
        assert_eq!(head(&raw[..end]).head_len, end);
        assert_eq!(head(raw).body, BodyKind::Length(3));
    }

    #[test]
    fn pipelined_heads() {
        let raw = b"GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\nGET /3 HTT";
        let first = head(raw);
        assert_eq!(get(raw, first.path), b"/1");
        let rest = &raw[first.head_len..];
        let second = head(rest);
        assert_eq!(get(rest, second.path), b"/2");
        assert_eq!(
            parse_with(&rest[second.head_len..], &Limits::default()),
            Ok(Parsed::Partial)
        );
    }

    #[test]
    fn headers_vec_is_reused() {
        let mut headers = Vec::with_capacity(4);
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\n\r\n";
        parse_request_head(raw, &Limits::default(), &mut headers).unwrap();
        assert_eq!(headers.len(), 3);
        let cap = headers.capacity();
        parse_request_head(
            b"GET / HTTP/1.1\r\nHost: h\r\nC: 3\r\n\r\n",
            &Limits::default(),
            &mut headers,
        )
        .unwrap();
        assert_eq!(headers.len(), 2);
        assert_eq!(headers.capacity(), cap);
    }

    #[test]
    fn request_line_rejections() {
        let cases: &[(&[u8], Error)] = &[
            (b"GET HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET\r\n\r\n", Error::InvalidMethod),
            (b"GET  / HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET\t/ HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GET\n/\nHTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b" GET / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"get / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GeT / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GE / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (
                b"ABCDEFGHIJKLMNOPQRSTU / HTTP/1.1\r\n\r\n",
                Error::InvalidMethod,
            ),
            (b"G#T / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GET: / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GET\0 / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GET\xc3\x9f / HTTP/1.1\r\n\r\n", Error::InvalidMethod),
            (b"GET * HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET foo/bar HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (
                b"GET example.com:443 HTTP/1.1\r\n\r\n",
                Error::InvalidRequestLine,
            ),
            (b"GET /a\x01b HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET /a\x7fb HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (
                b"PUT s://]ufd/: HTTP/1.1\r\n\r\n",
                Error::InvalidRequestLine,
            ),
            (
                b"GET http://[::1/x HTTP/1.1\r\n\r\n",
                Error::InvalidRequestLine,
            ),
            (
                b"GET 1http://x/ HTTP/1.1\r\n\r\n",
                Error::InvalidRequestLine,
            ),
            (b"GET ://x/ HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET / HTTP/1.1 \r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/1.1\rX\r\n\r\n", Error::InvalidVersion),
            (b"GET /\xe9 HTTP/1.1\r\n\r\n", Error::InvalidRequestLine),
            (b"GET / HTTP/2.0\r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/0.9\r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/1.2 \r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/1.9x\r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/1.10\r\n\r\n", Error::InvalidVersion),
            (b"GET / HTTP/11\r\n\r\n", Error::InvalidVersion),
            (b"GET / http/1.1\r\n\r\n", Error::InvalidVersion),
            (b"GET / FTP/1.1\r\n\r\n", Error::InvalidVersion),
            (b"GET /\r\n\r\n", Error::InvalidRequestLine),
        ];
        for (raw, want) in cases {
            assert_eq!(err(raw), *want, "{:?}", String::from_utf8_lossy(raw));
            assert_eq!(want.status(), 400);
        }
    }

    #[test]
    fn header_slots_are_reused() {
        let first = with_slots(8, |s| s.as_ptr() as usize);
        assert_eq!(
            with_slots(3, |s| (s.len(), s.as_ptr() as usize)),
            (3, first)
        );
        assert_eq!(with_slots(8, |s| s.as_ptr() as usize), first);
    }

    #[test]
    fn request_line_checked_before_head_is_complete() {
        assert_eq!(err(b"get /"), Error::InvalidMethod);
        assert_eq!(err(b"GET * HTTP/1.1\r\nHost: a"), Error::InvalidRequestLine);
        assert_eq!(err(b"GET / HTTP/1.1\r\nA: \x01"), Error::InvalidHeader);
        assert_eq!(err(b"GET / HTTP/2"), Error::InvalidVersion);
    }

    #[test]
    fn bare_lf_is_refused() {
        // httparse alone would take these as line ends.
        assert_eq!(err(b"GET / HTTP/1.1\n\n"), Error::InvalidRequestLine);
        assert_eq!(
            err(b"GET / HTTP/1.1\nHost: a\r\n\r\n"),
            Error::InvalidRequestLine
        );
        assert_eq!(err(b"GET / HTTP/1.1\r\nA: b\n"), Error::InvalidHeader);
        assert_eq!(err(b"GET / HTTP/1.1\r\nA: b\r\n\n"), Error::InvalidHeader);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA: b\nC: d\r\n\r\n"),
            Error::InvalidHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n"),
            Error::InvalidHeader
        );
        // A lone LF after the fields is part of a field line, not its end.
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA: b\r\n\n\r\n"),
            Error::InvalidHeader
        );
    }

    #[test]
    fn target_forms() {
        let raw = b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!((get(raw, h.path), get(raw, h.query)), (&b"*"[..], &b""[..]));

        let raw = b"CONNECT [::1]:443 HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!(get(raw, h.path), b"[::1]:443");

        let raw = b"GET http://user:pw@[::1]:8080/p/q?x=1#f HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!(
            (get(raw, h.path), get(raw, h.query), get(raw, h.fragment)),
            (&b"/p/q"[..], &b"x=1"[..], &b"f"[..])
        );

        let raw = b"GET https://example.com HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(get(raw, head(raw).path), b"");

        let raw = b"GET //double/slash?q HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(get(raw, head(raw).path), b"//double/slash");

        let raw = b"GET /a#b?c HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!(
            (get(raw, h.path), get(raw, h.query), get(raw, h.fragment)),
            (&b"/a"[..], &b""[..], &b"b?c"[..])
        );

        let raw = b"GET /?# HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!(
            (get(raw, h.path), h.query.len(), h.fragment.len()),
            (&b"/"[..], 0, 0)
        );

        let raw = b"GET /\xc3\xa0%20k HTTP/1.0\r\n\r\n";
        assert_eq!(get(raw, head(raw).path), b"/\xc3\xa0%20k");
    }

    #[test]
    fn unconventional_methods() {
        let permit = Limits {
            permit_unconventional_http_method: true,
            ..Limits::default()
        };
        let raw = b"-blargh /foo HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(get(raw, head_with(raw, &permit).0.method), b"-blargh");
        assert_eq!(err(raw), Error::InvalidMethod);
        assert_eq!(
            get(
                b"M / HTTP/1.1\r\nHost: h\r\n\r\n",
                head_with(b"M / HTTP/1.1\r\nHost: h\r\n\r\n", &permit)
                    .0
                    .method
            ),
            b"M"
        );
        assert_eq!(
            err_with(b"GET: / HTTP/1.1\r\nHost: h\r\n\r\n", &permit),
            Error::InvalidMethod
        );
        let raw = b"-BLARGH /foo HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(get(raw, head(raw).method), b"-BLARGH");

        let fold = Limits {
            casefold_http_method: true,
            ..permit
        };
        let raw = b"connect host:443 HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(get(raw, head_with(raw, &fold).0.path), b"host:443");
        assert_eq!(err_with(raw, &permit), Error::InvalidRequestLine);
        head_with(b"options * HTTP/1.1\r\nHost: h\r\n\r\n", &fold);
    }

    #[test]
    fn request_line_limit() {
        let limits = Limits {
            max_request_line: 20,
            ..Limits::default()
        };
        // "GET /xxxxxx HTTP/1.1" is exactly 20 bytes.
        let at = b"GET /xxxxxx HTTP/1.1\r\nHost: h\r\n\r\n";
        head_with(at, &limits);
        let over = b"GET /xxxxxxx HTTP/1.1\r\nHost: h\r\n\r\n";
        assert_eq!(err_with(over, &limits), Error::RequestLineTooLong);
        assert_eq!(Error::RequestLineTooLong.status(), 414);
        // Unterminated: 20 bytes may still be followed by CRLF, 21 may not.
        assert_eq!(parse_with(&at[..20], &limits), Ok(Parsed::Partial));
        assert_eq!(parse_with(&at[..21], &limits), Ok(Parsed::Partial));
        assert_eq!(err_with(&over[..21], &limits), Error::RequestLineTooLong);
        assert_eq!(err_with(&[b'A'; 21], &limits), Error::RequestLineTooLong);
        // Skipped empty lines count against the limit.
        assert_eq!(
            err_with(b"\r\nGET /xxxxxx HTTP/1.1\r\nHost: h\r\n\r\n", &limits),
            Error::RequestLineTooLong
        );

        let unlimited = Limits {
            max_request_line: 0,
            ..Limits::default()
        };
        assert_eq!(
            parse_with(&vec![b'A'; 100_000], &unlimited),
            Ok(Parsed::Partial)
        );
        let mut long = b"GET /".to_vec();
        long.extend(std::iter::repeat_n(b'a', 20_000));
        long.extend_from_slice(b" HTTP/1.1\r\nHost: h\r\n\r\n");
        head_with(&long, &unlimited);
        // Above 8190 the limit is clamped, as Gunicorn does.
        let huge = Limits {
            max_request_line: 100_000,
            ..Limits::default()
        };
        assert_eq!(err_with(&long, &huge), Error::RequestLineTooLong);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
        let h = head(raw);
        assert_eq!(get(raw, h.method), b"GET");
        assert_eq!(h.head_len, raw.len());
        assert_eq!(
            parse_with(b"\r\n\r", &Limits::default()),
            Ok(Parsed::Partial)
        );
        // Bare LFs are not empty lines.
        assert_eq!(
            err(b"\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            Error::InvalidRequestLine
        );
        assert_eq!(
            err(b"\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            Error::InvalidRequestLine
        );
    }

    #[test]
    fn header_count_limit() {
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        head_with(
            b"GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\n\r\n",
            &limits,
        );
        let four = b"GET / HTTP/1.1\r\nHost: a\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
        assert_eq!(err_with(four, &limits), Error::TooManyHeaders);
        assert_eq!(Error::TooManyHeaders.status(), 431);
        // Known before the fourth line is complete.
        assert_eq!(
            err_with(&four[..four.len() - 6], &limits),
            Error::TooManyHeaders
        );
        // Dropped fields still count.
        let dropped = b"GET / HTTP/1.1\r\nA_1: 1\r\nB_2: 2\r\nC_3: 3\r\nD: 4\r\n\r\n";
        assert_eq!(err_with(dropped, &limits), Error::TooManyHeaders);
    }

    #[test]
    fn field_size_limit() {
        // "Accept: */*" is 11 bytes, 13 with CRLF.
        let raw = b"GET / HTTP/1.1\r\nAccept: */*\r\nHost: h\r\n\r\n";
        head_with(
            raw,
            &Limits {
                max_header_field_size: 13,
                ..Limits::default()
            },
        );
        let small = Limits {
            max_header_field_size: 12,
            ..Limits::default()
        };
        assert_eq!(err_with(raw, &small), Error::HeaderFieldTooLarge);
        // Known from the first 11 bytes of the unfinished line.
        assert_eq!(
            err_with(&raw[..16 + 11], &small),
            Error::HeaderFieldTooLarge
        );
        assert_eq!(parse_with(&raw[..16 + 10], &small), Ok(Parsed::Partial));
        // 0 means the 8190 default.
        let mut big = b"GET / HTTP/1.0\r\nX: ".to_vec();
        big.extend(std::iter::repeat_n(b'y', 8190));
        big.extend_from_slice(b"\r\n\r\n");
        let zero = Limits {
            max_header_field_size: 0,
            ..Limits::default()
        };
        assert_eq!(err_with(&big, &zero), Error::HeaderFieldTooLarge);
        head_with(
            &big,
            &Limits {
                max_header_field_size: 8210,
                ..Limits::default()
            },
        );
    }

    #[test]
    fn unfinished_head_is_bounded() {
        let limits = Limits {
            max_headers: 4,
            max_header_field_size: 32,
            ..Limits::default()
        };
        let bound =
            limits.max_request_line + limits.max_headers * (limits.max_header_field_size + 2);
        let mut raw = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
        let mut failed = false;
        for i in 0..bound {
            raw.extend_from_slice(if i % 20 == 19 { b"\r\n" } else { b"a:" });
            if parse_with(&raw, &limits).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed && raw.len() <= bound);
        for filler in [&b" "[..], b"\t", b"x"] {
            let mut raw = b"GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n".to_vec();
            let mut result = Ok(Parsed::Partial);
            while raw.len() <= bound && result == Ok(Parsed::Partial) {
                raw.extend_from_slice(filler);
                result = parse_with(&raw, &limits);
            }
            assert!(result.is_err(), "{filler:?}");
        }
    }

    #[test]
    fn value_trimming_and_bytes() {
        let raw = b"GET / HTTP/1.1\r\nHost: h\r\nName: \t value \t \r\nEmpty:\r\nSp:   \r\nObs: caf\xc3\xa9\r\nTab: a\tb\r\n\r\n";
        let (_, f) = head_with(raw, &Limits::default());
        let values: Vec<&[u8]> = f.iter().map(|(_, v)| v.as_slice()).collect();
        assert_eq!(
            values,
            [&b"h"[..], b"value", b"", b"", b"caf\xc3\xa9", b"a\tb"]
        );
        for bad in [
            &b"a\x07b"[..],
            b"a\0b",
            b"a\x7fb",
            b"a\x1bb",
            b"a\rb",
            b"a\nb",
        ] {
            let mut raw = b"GET / HTTP/1.1\r\nHost: h\r\nX: ".to_vec();
            raw.extend_from_slice(bad);
            raw.extend_from_slice(b"\r\n\r\n");
            assert_eq!(err(&raw), Error::InvalidHeader, "{bad:?}");
        }
    }

    #[test]
    fn field_names() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nContent-Length : 3\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA\t: 3\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nba\0z: bar\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nContent-Length\xc3\x9f: 3\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA(b): 3\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n Lead: x\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nNoColon\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n: value\r\n\r\n"),
            Error::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n\rX: y\r\n\r\n"),
            Error::InvalidHeader
        );
        let raw = b"GET / HTTP/1.1\r\nX.Custom|Pipe~!: ok\r\nHost: h\r\n\r\n";
        head(raw);
    }

    #[test]
    fn obsolete_folding() {
        let raw = b"GET / HTTP/1.1\r\nLong: one\r\n two\r\nHost: localhost\r\n\r\n";
        assert_eq!(err(raw), Error::ObsoleteFolding);
        // Refused as soon as the continuation starts.
        assert_eq!(
            err(&raw[..b"GET / HTTP/1.1\r\nLong: one\r\n t".len()]),
            Error::ObsoleteFolding
        );

        // Also when the folded field was dropped, or is the first field.
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nA_b: 1\r\n 3\r\n\r\n"),
            Error::ObsoleteFolding
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n\tA: 1\r\n\r\n"),
            Error::InvalidHeaderName
        );
    }

    #[test]
    fn header_map_policies() {
        let raw = b"GET / HTTP/1.0\r\nTransfer_Encoding: tricked\r\nContent-Length: 7\r\nContent_Length: -1E23\r\n\r\ntricked";
        let (h, f) = head_with(raw, &Limits::default());
        assert_eq!(f.len(), 1);
        assert_eq!(h.body, BodyKind::Length(7));
        let refuse = Limits {
            header_map: HeaderMap::Refuse,
            ..Limits::default()
        };
        assert_eq!(err_with(raw, &refuse), Error::InvalidHeaderName);
        let dangerous = Limits {
            header_map: HeaderMap::Dangerous,
            ..Limits::default()
        };
        let (h, f) = head_with(raw, &dangerous);
        assert_eq!(f.len(), 3);
        assert_eq!(h.body, BodyKind::Length(7));
    }

    #[test]
    fn content_length() {
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nconTENT-Length: 5\r\n\r\n");
        assert_eq!((h.body, h.content_length), (BodyKind::Length(5), Some(5)));
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
        assert_eq!((h.body, h.content_length), (BodyKind::None, Some(0)));
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 007\r\n\r\n");
        assert_eq!(h.body, BodyKind::Length(7));
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 18446744073709551615\r\n\r\n");
        assert_eq!(h.content_length, Some(u64::MAX));
        for bad in [
            &b"-1"[..],
            b"+1",
            b"-0",
            b"0_1",
            b"1 2",
            b"5, 5",
            b"",
            b"0x10",
            b"1e3",
            b"bla",
            b"18446744073709551616",
            b"\xb2",
        ] {
            let mut raw = b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ".to_vec();
            raw.extend_from_slice(bad);
            raw.extend_from_slice(b"\r\n\r\n");
            assert_eq!(err(&raw), Error::InvalidContentLength, "{bad:?}");
        }
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
            Error::InvalidContentLength
        );
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 2\r\n\r\n"),
            Error::InvalidContentLength
        );
    }

    #[test]
    fn transfer_encoding() {
        let chunked = |raw: &[u8]| head(raw).body == BodyKind::Chunked;
        assert!(chunked(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
        ));
        assert!(chunked(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
        ));
        assert!(chunked(
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity, chunked\r\n\r\n"
        ));
        assert!(chunked(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"));
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
        assert_eq!(h.body, BodyKind::Chunked);
        assert!(
            !h.keep_alive,
            "a coded body closes the connection afterwards"
        );
        let h = head(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n");
        assert!(h.body == BodyKind::Chunked && !h.keep_alive);
        // RFC 9110 §5.6.1.2: empty list elements are ignored.
        for te in [
            &b", chunked"[..],
            b"chunked ,",
            b"chunked,",
            b" , ,chunked, ",
            b"identity,,chunked",
        ] {
            let raw = [
                &b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: "[..],
                te,
                b"\r\n\r\n",
            ]
            .concat();
            assert!(chunked(&raw), "{:?}", String::from_utf8_lossy(te));
        }
        assert!(chunked(b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: ,\r\n\r\n"));

        let cases: &[(&[u8], Error)] = &[
            (b"chunked, chunked", Error::InvalidTransferEncoding),
            (
                b"identity, chunked, identity, chunked",
                Error::InvalidTransferEncoding,
            ),
            (b"chunked, identity", Error::InvalidTransferEncoding),
            (b"chunked, gzip", Error::InvalidTransferEncoding),
            (
                b"chunked\r\nTransfer-Encoding: chunked",
                Error::InvalidTransferEncoding,
            ),
            (
                b"chunked\r\nTransfer-Encoding: gzip",
                Error::InvalidTransferEncoding,
            ),
            // RFC 9112 §6.3 item 4: chunked is not the final coding, 400;
            // also when the coding is one ugn does not know.
            (b"gzip", Error::InvalidTransferEncoding),
            (b"identity", Error::InvalidTransferEncoding),
            (b"IDENTITY", Error::InvalidTransferEncoding),
            (b"identity, identity", Error::InvalidTransferEncoding),
            (b"x-custom", Error::InvalidTransferEncoding),
            (b"chunked, x-custom", Error::InvalidTransferEncoding),
            (b"chunkedx", Error::InvalidTransferEncoding),
            (b"chunked;q=1", Error::InvalidTransferEncoding),
            (b"\"chunked\"", Error::InvalidTransferEncoding),
            (b"", Error::InvalidTransferEncoding),
            (b",", Error::InvalidTransferEncoding),
            (b" , ", Error::InvalidTransferEncoding),
            // With a Content-Length too: still 400, never framed by the
            // Content-Length (a smuggling pattern, §6.3 item 3).
            (
                b"identity\r\nContent-Length: 5",
                Error::InvalidTransferEncoding,
            ),
            (b"gzip\r\nContent-Length: 5", Error::InvalidTransferEncoding),
            (
                b"x-custom\r\nContent-Length: 5",
                Error::InvalidTransferEncoding,
            ),
            (b"chunked\r\nContent-Length: 3", Error::InvalidContentLength),
            (
                b"\tchunked\r\nContent-Length: 12",
                Error::InvalidContentLength,
            ),
            (
                b"x-custom, chunked\r\nContent-Length: 3",
                Error::InvalidContentLength,
            ),
            // §6.1: a coding not understood before a final chunked, 501.
            (b"br, chunked", Error::UnsupportedTransferCoding),
            (b"x-foo, chunked", Error::UnsupportedTransferCoding),
            (
                b"x-foo\r\nTransfer-Encoding: chunked",
                Error::UnsupportedTransferCoding,
            ),
        ];
        for (te, want) in cases {
            let mut raw = b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ".to_vec();
            raw.extend_from_slice(te);
            raw.extend_from_slice(b"\r\n\r\n");
            assert_eq!(err(&raw), *want, "{:?}", String::from_utf8_lossy(te));
        }
        assert_eq!(Error::UnsupportedTransferCoding.status(), 501);
        assert_eq!(Error::InvalidTransferEncoding.status(), 400);
        // HTTP/1.0: faulty framing, whatever the codings.
        for te in [&b"chunked"[..], b"identity", b"x-foo, chunked"] {
            let raw = [
                &b"POST / HTTP/1.0\r\nTransfer-Encoding: "[..],
                te,
                b"\r\n\r\n",
            ]
            .concat();
            assert_eq!(
                err(&raw),
                Error::InvalidTransferEncoding,
                "{:?}",
                String::from_utf8_lossy(te)
            );
        }
    }

    #[test]
    fn keep_alive() {
        let ka = |raw: &[u8]| head(raw).keep_alive;
        assert!(ka(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: Close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, close\r\n\r\n"
        ));
        assert!(!ka(
            b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\nConnection: close\r\n\r\n"
        ));
        assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
        assert!(ka(b"GET / HTTP/1.0\r\nConnection: te, keep-alive\r\n\r\n"));
    }

    #[test]
    fn expect_and_upgrade() {
        assert!(
            head(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n\r\n").expect_continue
        );
        assert!(!head(b"POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n"),
            Error::ExpectationFailed
        );
        assert_eq!(Error::ExpectationFailed.status(), 417);

        assert!(head(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n").upgrade);
        assert!(!head(b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").upgrade);
        assert!(!head(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n").upgrade);
    }

    #[test]
    fn singleton_fields() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n"),
            Error::InvalidHeader
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nContent-Type: a\r\nContent-Type: a\r\n\r\n"),
            Error::InvalidHeader
        );
        let (_, f) = head_with(
            b"GET / HTTP/1.0\r\nIf-Match: a\r\nIf-Match: b\r\n\r\n",
            &Limits::default(),
        );
        assert_eq!(f.len(), 2);
    }

    #[test]
    fn host_is_required_in_http11() {
        for raw in [
            &b"GET / HTTP/1.1\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
            b"GET http://example.com/ HTTP/1.1\r\n\r\n",
            b"OPTIONS * HTTP/1.1\r\n\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            // A dropped `_` spelling is no Host.
            b"GET / HTTP/1.1\r\nHo_st: example.com\r\n\r\n",
        ] {
            assert_eq!(
                err(raw),
                Error::MissingHost,
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
        assert_eq!(Error::MissingHost.status(), 400);
        // Any spelling of the name counts; HTTP/1.0 may go without.
        head(b"GET / HTTP/1.1\r\nhOST: example.com\r\n\r\n");
        head(b"GET / HTTP/1.0\r\n\r\n");
        head(b"GET http://example.com/ HTTP/1.0\r\n\r\n");
        // Empty: what a client sends when the target has no authority.
        let (_, f) = head_with(b"OPTIONS * HTTP/1.1\r\nHost:\r\n\r\n", &Limits::default());
        assert_eq!(f, vec![(b"Host".to_vec(), b"".to_vec())]);
        head(b"GET / HTTP/1.1\r\nHost: \t \r\n\r\n");
        // Until the blank line it is not known to be missing.
        assert_eq!(
            parse_with(b"GET / HTTP/1.1\r\nA: b\r\n", &Limits::default()),
            Ok(Parsed::Partial)
        );
    }

    #[test]
    fn host_values() {
        let host = |value: &[u8], version: &[u8]| {
            let raw = [
                &b"GET / HTTP/"[..],
                version,
                b"\r\nHost: ",
                value,
                b"\r\n\r\n",
            ]
            .concat();
            parse_with(&raw, &Limits::default()).map(|p| matches!(p, Parsed::Complete(_)))
        };
        for ok in [
            &b"example.com"[..],
            b"example.com:8080",
            b"127.0.0.1:80",
            b"[::1]",
            b"[::1]:8080",
            b"0.0.0.0=5000",
            b"a.example:",
        ] {
            assert_eq!(
                host(ok, b"1.1"),
                Ok(true),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b"exa mple.com"[..],
            b"user@example.com",
            b"example.com/path",
            b"example.com:abc",
            b"a.example, b.example",
            b"a.example,b.example",
            b"[::1",
            b"caf\xc3\xa9.example",
        ] {
            assert_eq!(
                host(bad, b"1.1"),
                Err(Error::InvalidHost),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
            assert_eq!(
                host(bad, b"1.0"),
                Err(Error::InvalidHost),
                "{:?} in HTTP/1.0",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(Error::InvalidHost.status(), 400);
    }

    #[test]
    fn connect_needs_host_and_port() {
        let raw = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
        assert_eq!(get(raw, head(raw).path), b"example.com:443");
        for target in [
            &b"example.com"[..],
            b"/",
            b"/a?b",
            b"example.com:",
            b":443",
            b"example.com:0",
            b"example.com:65536",
            b"u@example.com:443",
            b"[::1]",
            b"http://example.com:443/",
            b"*",
        ] {
            let raw = [
                &b"CONNECT "[..],
                target,
                b" HTTP/1.1\r\nHost: example.com\r\n\r\n",
            ]
            .concat();
            assert_eq!(
                err(&raw),
                Error::InvalidRequestLine,
                "{:?}",
                String::from_utf8_lossy(target)
            );
            // Refused as soon as the request line is read.
            assert_eq!(err(&raw[..raw.len() - 4]), Error::InvalidRequestLine);
        }
    }

    #[test]
    fn higher_minor_versions_are_http11() {
        for digit in b'2'..=b'9' {
            let raw = [
                &b"POST /v?q HTTP/1."[..],
                &[digit],
                b"\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
            ]
            .concat();
            let (h, f) = head_with(&raw, &Limits::default());
            assert_eq!(
                (h.minor_version, h.body, h.keep_alive),
                (1, BodyKind::Chunked, true)
            );
            assert_eq!(
                (get(&raw, h.target), get(&raw, h.path), get(&raw, h.query)),
                (&b"/v?q"[..], &b"/v"[..], &b"q"[..])
            );
            assert_eq!(f.len(), 2);
            assert_eq!(&raw[h.head_len..h.head_len + 3], b"3\r\n");
            // As in HTTP/1.1, Host is required and framing rules hold.
            let missing = [&b"GET / HTTP/1."[..], &[digit], b"\r\n\r\n"].concat();
            assert_eq!(err(&missing), Error::MissingHost);
            // Every prefix is partial, as for HTTP/1.1.
            for end in 0..raw.len() - 15 {
                assert_eq!(
                    parse_with(&raw[..end], &Limits::default()),
                    Ok(Parsed::Partial),
                    "{end}"
                );
            }
        }
        for bad in [
            &b"HTTP/1.10"[..],
            b"HTTP/1.23",
            b"HTTP/1.2 ",
            b"HTTP/1.a",
            b"HTTP/2.2",
            b"HTTP/0.2",
        ] {
            let raw = [&b"GET / "[..], bad, b"\r\nHost: x\r\n\r\n"].concat();
            assert_eq!(
                err(&raw),
                Error::InvalidVersion,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // After empty lines, and with the body in the buffer.
        let raw = b"\r\n\r\nPOST / HTTP/1.3\r\nHost: x\r\nContent-Length: 4\r\n\r\nbody";
        let h = head(raw);
        assert_eq!(
            (h.minor_version, h.head_len, h.body),
            (1, raw.len() - 4, BodyKind::Length(4))
        );
        let raw = b"GET / HTTP/1.4\r\n\r\n";
        assert_eq!(err(raw), Error::MissingHost);
        // A trickled HTTP/1.2 head, through a reader.
        let raw = b"GET /r HTTP/1.2\r\nHost: x\r\nA: b\r\n\r\n";
        let (mut reader, mut fields) = (HeadReader::new(), Vec::new());
        for end in 1..raw.len() {
            assert_eq!(
                reader.parse(&raw[..end], &Limits::default(), &mut fields),
                Ok(Parsed::Partial),
                "{end}"
            );
        }
        let Ok(Parsed::Complete(h)) = reader.parse(raw, &Limits::default(), &mut fields) else {
            panic!()
        };
        assert_eq!(
            (h.minor_version, h.head_len, fields.len()),
            (1, raw.len(), 2)
        );
    }
}

#[cfg(test)]
mod reader_tests {
    use super::*;

    fn tight() -> Limits {
        Limits {
            max_request_line: 40,
            max_headers: 4,
            max_header_field_size: 24,
            ..Limits::default()
        }
    }

    /// Heads that end, fail at a limit, fail on a line end or fail only in
    /// httparse or the checks after it; several are cut short.
    const INPUTS: &[&[u8]] = &[
        b"GET /a?b HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\nbody",
        b"\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n",
        b"GET / HTTP/1.5\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.23\r\nHost: x\r\n\r\n",
        b"CONNECT x:1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"\r\n\r",
        b"\r\n\n",
        b"GET / HTTP/1.1\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\nB: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\n\n",
        b"GET / HTTP/1.1\r\nA: 1\r\n b\r\n\r\n",
        b"GET / HTTP/1.1\r\n\tA: 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: x\ry\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: \x01\r\nB: 2\r\n\r\n",
        b"GET / HTTP/1.1\r\nA b: 1\r\n\r\n",
        b"get / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"GET /a b HTTP/1.1\r\n\r\n",
        b"GET / HTTP/2.0\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
        b"GET /this/request/line/is/far/too/long/for/the/tight/limits HTTP/1.1\r\n\r\n",
        b"\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n",
        b"GET / HTTP/1.1\r\nA_1: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-Long: \x01aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        b"GET / HTTP/1.1\r\nX: 1\r\nY: 2\r\nZ: 3\r\n",
    ];

    /// Feeds `input` ending at each of `ends` and compares every answer with
    /// `parse_request_head` over the same bytes: a complete head and every
    /// error of the line-end pass (limits included) come at the same byte; an
    /// error only httparse and the later checks see may come later, at the
    /// latest with the blank line.
    fn check(input: &[u8], ends: &[usize], limits: &Limits) {
        let mut reader = HeadReader::new();
        let (mut got_fields, mut want_fields) = (Vec::new(), Vec::new());
        for &end in ends {
            let buf = &input[..end];
            let got = reader.parse(buf, limits, &mut got_fields);
            let want = parse_request_head(buf, limits, &mut want_fields);
            let mut scan = HeadScan::default();
            let scanned = scan.advance(buf, limits);
            let context = format!("{:?} at {end} of {ends:?}", String::from_utf8_lossy(input));
            if scanned.is_err() || scan.end().is_some() || got != Ok(Parsed::Partial) {
                assert_eq!(got, want, "{context}");
                assert_eq!(got_fields, want_fields, "{context}");
            } else {
                assert!(
                    matches!(want, Ok(Parsed::Partial) | Err(_)),
                    "{context}: {want:?}"
                );
                assert!(got_fields.is_empty());
            }
            if got != Ok(Parsed::Partial) {
                assert_eq!(reader, HeadReader::new(), "starts afresh after {got:?}");
                return;
            }
        }
    }

    #[test]
    fn every_split_answers_as_a_full_parse() {
        for limits in [Limits::default(), tight()] {
            for input in INPUTS {
                let n = input.len();
                check(input, &(1..=n).collect::<Vec<_>>(), &limits);
                for cut in 0..=n {
                    check(input, &[cut, n], &limits);
                    for cut2 in cut..=n {
                        check(input, &[cut, cut2, n], &limits);
                    }
                }
            }
        }
    }

    #[test]
    fn crlf_split_between_reads() {
        let limits = Limits::default();
        let mut reader = HeadReader::new();
        let mut fields = Vec::new();
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\r\n";
        for end in [15, 16, 24, 25, 26] {
            assert_eq!(
                reader.parse(&raw[..end], &limits, &mut fields),
                Ok(Parsed::Partial),
                "{end}"
            );
        }
        let Ok(Parsed::Complete(head)) = reader.parse(raw, &limits, &mut fields) else {
            panic!()
        };
        assert_eq!((head.head_len, fields.len()), (raw.len(), 1));
        // A CR at the end of one read, followed by something other than LF.
        let raw = b"GET / HTTP/1.1\r\nHost: x\rY\r\n\r\n";
        assert_eq!(
            reader.parse(&raw[..24], &limits, &mut fields),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            reader.parse(raw, &limits, &mut fields),
            Err(Error::InvalidHeader)
        );
        // A bare LF where the blank line should be, after a CRLF of the previous read.
        let raw = b"GET / HTTP/1.1\r\nHost: x\r\n\n";
        assert_eq!(
            reader.parse(&raw[..25], &limits, &mut fields),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            reader.parse(raw, &limits, &mut fields),
            Err(Error::InvalidHeader)
        );
    }

    #[test]
    fn limits_are_enforced_on_every_read() {
        let limits = tight();
        let mut fields = Vec::new();
        // 40 bytes of request line may still be followed by CRLF; the 41st is one too many.
        let mut reader = HeadReader::new();
        let line = [b'A'; 41];
        for end in 1..=40 {
            assert_eq!(
                reader.parse(&line[..end], &limits, &mut fields),
                Ok(Parsed::Partial)
            );
        }
        assert_eq!(
            reader.parse(&line, &limits, &mut fields),
            Err(Error::RequestLineTooLong)
        );
        // A field line of 22 bytes and its CRLF fit in 24; the 23rd byte does not.
        let mut raw = b"GET / HTTP/1.1\r\nX: ".to_vec();
        raw.extend([b'v'; 20]);
        let mut reader = HeadReader::new();
        for end in 17..raw.len() {
            assert_eq!(
                reader.parse(&raw[..end], &limits, &mut fields),
                Ok(Parsed::Partial),
                "{end}"
            );
        }
        assert_eq!(
            reader.parse(&raw, &limits, &mut fields),
            Err(Error::HeaderFieldTooLarge)
        );
        // The fifth field is refused from its first byte.
        let raw = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE";
        let mut reader = HeadReader::new();
        assert_eq!(
            reader.parse(&raw[..raw.len() - 1], &limits, &mut fields),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            reader.parse(raw, &limits, &mut fields),
            Err(Error::TooManyHeaders)
        );
    }

    #[test]
    fn malformed_bytes_are_refused_early() {
        let limits = Limits::default();
        let mut fields = Vec::new();
        // Not HTTP at all (a TLS ClientHello): refused by the first call.
        let mut reader = HeadReader::new();
        assert_eq!(
            reader.parse(b"\x16\x03\x01\x02\x00\x01", &limits, &mut fields),
            Err(Error::InvalidMethod)
        );
        // A bad method in a request line that took many reads: refused when the line ends.
        let mut raw = b"get /".to_vec();
        raw.extend([b'a'; 1000]);
        let mut reader = HeadReader::new();
        for end in (1..raw.len()).step_by(7) {
            let _ = reader.parse(&raw[..end], &limits, &mut fields);
        }
        raw.extend_from_slice(b" HTTP/1.1\r\n");
        assert_eq!(
            reader.parse(&raw, &limits, &mut fields),
            Err(Error::InvalidMethod)
        );
        // A control byte in a field: refused by the next doubling of the buffer.
        let mut raw = b"GET / HTTP/1.1\r\nA: \x01\r\n".to_vec();
        let mut reader = HeadReader::new();
        assert_eq!(
            reader.parse(&raw, &limits, &mut fields),
            Err(Error::InvalidHeader)
        );
        raw.truncate(18);
        assert_eq!(
            reader.parse(&raw, &limits, &mut fields),
            Ok(Parsed::Partial)
        );
        raw.extend_from_slice(b"\x01\r\n");
        let mut result = reader.parse(&raw, &limits, &mut fields);
        while result == Ok(Parsed::Partial) && raw.len() < 2 * 18 + 8 {
            raw.extend_from_slice(b"B: 2\r\n");
            result = reader.parse(&raw, &limits, &mut fields);
        }
        assert_eq!(result, Err(Error::InvalidHeader));
    }

    #[test]
    fn a_trickled_head_is_parsed_in_full_a_few_times() {
        // About 800 KB of head within the default limits, in 100-byte reads.
        let limits = Limits::default();
        let mut raw = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
        for i in 0..98 {
            raw.extend_from_slice(format!("X-Field-{i}: ").as_bytes());
            raw.extend([b'v'; 8150]);
            raw.extend_from_slice(b"\r\n");
        }
        assert!(raw.len() > 800_000);
        let mut reader = HeadReader::new();
        let mut fields = Vec::new();
        let mut end = 0;
        while end + 100 < raw.len() {
            end += 100;
            assert_eq!(
                reader.parse(&raw[..end], &limits, &mut fields),
                Ok(Parsed::Partial)
            );
        }
        // The first read, the request line's end, then one parse per doubling from 100 bytes.
        assert!(reader.full_parses <= 2 + 14, "{}", reader.full_parses);
        raw.extend_from_slice(b"\r\n");
        let Ok(Parsed::Complete(head)) = reader.parse(&raw, &limits, &mut fields) else {
            panic!()
        };
        assert_eq!((head.head_len, fields.len()), (raw.len(), 99));
    }

    #[test]
    fn a_new_buffer_starts_afresh() {
        let limits = Limits::default();
        let mut fields = Vec::new();
        let mut reader = HeadReader::new();
        assert_eq!(
            reader.parse(b"GET / HTTP/1.1\r\nHost: a", &limits, &mut fields),
            Ok(Parsed::Partial)
        );
        // Shorter than the last call: another buffer, read from its start.
        let raw = b"PUT /x HTTP/1.1\r\nHost: x\r\n\r\n";
        let Ok(Parsed::Complete(head)) = reader.parse(raw, &limits, &mut fields) else {
            panic!()
        };
        assert_eq!(head.method.get(raw), b"PUT");
        // After a complete head the reader is ready for the next one.
        assert_eq!(reader, HeadReader::new());
        reader
            .parse(b"GET / HTTP/1.1\r\n", &limits, &mut fields)
            .unwrap();
        reader.reset();
        assert_eq!(reader, HeadReader::new());
    }
}
