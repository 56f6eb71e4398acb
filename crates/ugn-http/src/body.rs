//! Body decoders: fixed length and chunked (RFC 9112 §7.1), zero-copy.

use crate::limits::Limits;
use crate::request::{find_crlf, is_tchar, parse_fields, unfold_value, BodyKind, Header};
use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes are `input[start..end]`.
    Data { start: usize, end: usize },
    /// Call again with more input (unconsumed bytes first).
    NeedMore,
    Done,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    /// Chunk data read; its CRLF is not.
    DataEnd,
    Trailers,
    Done,
}

#[derive(Debug)]
pub struct ChunkedDecoder {
    state: Chunk,
    limits: Limits,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug)]
pub enum BodyDecoder {
    /// Bytes still to read.
    Length(u64),
    Chunked(ChunkedDecoder),
}

impl BodyDecoder {
    pub fn new(kind: BodyKind, limits: &Limits) -> Self {
        match kind {
            BodyKind::None => BodyDecoder::Length(0),
            BodyKind::Length(n) => BodyDecoder::Length(n),
            BodyKind::Chunked => BodyDecoder::Chunked(ChunkedDecoder {
                state: Chunk::Size,
                limits: limits.clone(),
                trailers: Vec::new(),
            }),
        }
    }

    /// Decode from `input`. Returns (bytes consumed, event). Call repeatedly,
    /// passing the unconsumed bytes first; each call yields at most one event.
    /// A chunk-size line or the trailer section is only consumed once it is
    /// complete in `input`, so `NeedMore` may consume nothing.
    pub fn decode(&mut self, input: &[u8]) -> Result<(usize, BodyEvent), Error> {
        match self {
            BodyDecoder::Length(0) => Ok((0, BodyEvent::Done)),
            BodyDecoder::Length(_) if input.is_empty() => Ok((0, BodyEvent::NeedMore)),
            BodyDecoder::Length(remaining) => {
                let n = (*remaining).min(input.len() as u64) as usize;
                *remaining -= n as u64;
                Ok((n, BodyEvent::Data { start: 0, end: n }))
            }
            BodyDecoder::Chunked(c) => c.decode(input),
        }
    }

    pub fn is_done(&self) -> bool {
        match self {
            BodyDecoder::Length(n) => *n == 0,
            BodyDecoder::Chunked(c) => c.state == Chunk::Done,
        }
    }

    /// Trailer fields (names as sent, values trimmed and unfolded), after
    /// `Done`. Fields forbidden in trailers were refused, `_` names follow
    /// `Limits::header_map`.
    pub fn trailers(&self) -> &[(Vec<u8>, Vec<u8>)] {
        match self {
            BodyDecoder::Length(_) => &[],
            BodyDecoder::Chunked(c) => &c.trailers,
        }
    }

    /// Call when the peer closed the connection: tells a complete body from
    /// a truncated one.
    pub fn finish(&self) -> Result<(), Error> {
        match self {
            BodyDecoder::Chunked(c) if c.state == Chunk::Trailers => Err(Error::ChunkMissingTerminator),
            _ if self.is_done() => Ok(()),
            _ => Err(Error::IncompleteBody),
        }
    }
}

impl ChunkedDecoder {
    fn decode(&mut self, input: &[u8]) -> Result<(usize, BodyEvent), Error> {
        let mut pos = 0;
        loop {
            let rest = &input[pos..];
            match self.state {
                Chunk::Size => {
                    let Some(len) = find_crlf(rest) else {
                        // The size line is bounded like a field line so a
                        // peer cannot stream an endless extension.
                        if rest.len() > self.limits.field_size() {
                            return Err(if rest.contains(&b';') {
                                Error::InvalidChunkExtension
                            } else {
                                Error::InvalidChunkSize
                            });
                        }
                        return Ok((pos, BodyEvent::NeedMore));
                    };
                    if len > self.limits.field_size() {
                        return Err(Error::InvalidChunkExtension);
                    }
                    let size = parse_chunk_line(&rest[..len])?;
                    pos += len + 2;
                    self.state = if size == 0 { Chunk::Trailers } else { Chunk::Data(size) };
                }
                Chunk::Data(remaining) => {
                    if rest.is_empty() {
                        return Ok((pos, BodyEvent::NeedMore));
                    }
                    let n = remaining.min(rest.len() as u64) as usize;
                    self.state = if n as u64 == remaining { Chunk::DataEnd } else { Chunk::Data(remaining - n as u64) };
                    return Ok((pos + n, BodyEvent::Data { start: pos, end: pos + n }));
                }
                Chunk::DataEnd => match rest {
                    [b'\r', b'\n', ..] => {
                        pos += 2;
                        self.state = Chunk::Size;
                    }
                    [] | [b'\r'] => return Ok((pos, BodyEvent::NeedMore)),
                    _ => return Err(Error::ChunkMissingTerminator),
                },
                Chunk::Trailers => {
                    if rest.starts_with(b"\r\n") {
                        self.state = Chunk::Done;
                        return Ok((pos + 2, BodyEvent::Done));
                    }
                    let mut fields: Vec<Header> = Vec::new();
                    let parsed = parse_fields(input, pos, &self.limits, true, &mut fields).map_err(|e| match e {
                        Error::TooManyHeaders | Error::HeaderFieldTooLarge => Error::TrailersTooLarge,
                        e => e,
                    })?;
                    let Some(end) = parsed else {
                        return Ok((pos, BodyEvent::NeedMore));
                    };
                    self.trailers = fields
                        .iter()
                        .map(|h| (h.name.get(input).to_vec(), unfold_value(h.value.get(input)).into_owned()))
                        .collect();
                    self.state = Chunk::Done;
                    return Ok((end, BodyEvent::Done));
                }
                Chunk::Done => return Ok((pos, BodyEvent::Done)),
            }
        }
    }
}

/// `chunk-size [ chunk-ext ]`. Whitespace is allowed only before the
/// extension (RFC 9112 §7.1.1 BWS), never around a bare size.
fn parse_chunk_line(line: &[u8]) -> Result<u64, Error> {
    let (mut size, ext) = match line.iter().position(|&b| b == b';') {
        Some(i) => (&line[..i], Some(&line[i + 1..])),
        None => (line, None),
    };
    if ext.is_some() {
        while let [rest @ .., b' ' | b'\t'] = size {
            size = rest;
        }
    }
    if size.is_empty() || !size.iter().all(u8::is_ascii_hexdigit) {
        return Err(Error::InvalidChunkSize);
    }
    let n = size
        .iter()
        .try_fold(0u64, |n, &d| {
            let digit = (d as char).to_digit(16)? as u64;
            n.checked_mul(16)?.checked_add(digit)
        })
        .ok_or(Error::InvalidChunkSize)?;
    if let Some(ext) = ext {
        check_extensions(ext)?;
    }
    Ok(n)
}

fn skip_ows(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&b| b == b' ' || b == b'\t').count();
    &s[n..]
}

fn take_token(s: &[u8]) -> Result<&[u8], Error> {
    let n = s.iter().take_while(|&&b| is_tchar(b)).count();
    if n == 0 {
        return Err(Error::InvalidChunkExtension);
    }
    Ok(&s[n..])
}

/// Validates `BWS name [ BWS "=" BWS (token / quoted-string) ] *( BWS ";" ... )`
/// starting just after the first `;`. Extensions are ignored, but a sloppy
/// grammar here is what lets a front end and us disagree on where a chunk ends.
fn check_extensions(mut s: &[u8]) -> Result<(), Error> {
    loop {
        s = skip_ows(take_token(skip_ows(s))?);
        if let [b'=', rest @ ..] = s {
            s = skip_ows(rest);
            s = if let [b'"', rest @ ..] = s { skip_quoted(rest)? } else { take_token(s)? };
            s = skip_ows(s);
        }
        match s {
            [] => return Ok(()),
            [b';', rest @ ..] => s = rest,
            _ => return Err(Error::InvalidChunkExtension),
        }
    }
}

/// Returns what follows the closing quote.
fn skip_quoted(mut s: &[u8]) -> Result<&[u8], Error> {
    let text = |b: u8| b == b'\t' || b == b' ' || (0x21..=0x7e).contains(&b) || b >= 0x80;
    loop {
        match s {
            [b'"', rest @ ..] => return Ok(rest),
            [b'\\', c, rest @ ..] if text(*c) => s = rest,
            [c, rest @ ..] if text(*c) && *c != b'\\' => s = rest,
            _ => return Err(Error::InvalidChunkExtension),
        }
    }
}
