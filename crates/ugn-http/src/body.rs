//! Body decoders: fixed length and chunked (RFC 9112 §7.1), zero-copy.

use crate::limits::Limits;
use crate::request::{is_tchar, parse_trailers, BodyKind, Header};
use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyEvent {
    /// Body bytes are `input[start..end]`.
    Data {
        start: usize,
        end: usize,
    },
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

    /// Trailer fields (names as sent, values trimmed), after
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
            BodyDecoder::Chunked(c) if c.state == Chunk::Trailers => {
                Err(Error::ChunkMissingTerminator)
            }
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
                    self.state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(remaining) => {
                    if rest.is_empty() {
                        return Ok((pos, BodyEvent::NeedMore));
                    }
                    let n = remaining.min(rest.len() as u64) as usize;
                    self.state = if n as u64 == remaining {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(remaining - n as u64)
                    };
                    return Ok((
                        pos + n,
                        BodyEvent::Data {
                            start: pos,
                            end: pos + n,
                        },
                    ));
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
                    let parsed = parse_trailers(input, pos, &self.limits, &mut fields).map_err(
                        |e| match e {
                            Error::TooManyHeaders | Error::HeaderFieldTooLarge => {
                                Error::TrailersTooLarge
                            }
                            e => e,
                        },
                    )?;
                    let Some(end) = parsed else {
                        return Ok((pos, BodyEvent::NeedMore));
                    };
                    self.trailers = fields
                        .iter()
                        .map(|h| (h.name.get(input).to_vec(), h.value.get(input).to_vec()))
                        .collect();
                    self.state = Chunk::Done;
                    return Ok((end, BodyEvent::Done));
                }
                Chunk::Done => return Ok((pos, BodyEvent::Done)),
            }
        }
    }
}

fn find_crlf(buf: &[u8]) -> Option<usize> {
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
            s = if let [b'"', rest @ ..] = s {
                skip_quoted(rest)?
            } else {
                take_token(s)?
            };
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Drives a decoder like a connection would: appends each delivery to a
    /// buffer, decodes until `NeedMore`, keeps the unconsumed tail. Returns
    /// the body and the bytes left after `Done`.
    fn drive(dec: &mut BodyDecoder, deliveries: &[&[u8]]) -> Result<(Vec<u8>, Vec<u8>), Error> {
        let mut buf = Vec::new();
        let mut body = Vec::new();
        for (i, d) in deliveries.iter().enumerate() {
            buf.extend_from_slice(d);
            loop {
                let (n, ev) = dec.decode(&buf)?;
                assert!(n <= buf.len());
                match ev {
                    BodyEvent::Data { start, end } => {
                        assert!(
                            start < end && end <= n,
                            "data must be non-empty and consumed"
                        );
                        body.extend_from_slice(&buf[start..end]);
                        buf.drain(..n);
                    }
                    BodyEvent::NeedMore => {
                        buf.drain(..n);
                        break;
                    }
                    BodyEvent::Done => {
                        buf.drain(..n);
                        assert!(dec.is_done());
                        buf.extend(deliveries[i + 1..].concat());
                        return Ok((body, buf));
                    }
                }
            }
        }
        dec.finish()?;
        unreachable!("finish succeeds only after Done")
    }

    fn chunked() -> BodyDecoder {
        BodyDecoder::new(BodyKind::Chunked, &Limits::default())
    }

    fn decode_chunked(input: &[u8]) -> Result<Vec<u8>, Error> {
        drive(&mut chunked(), &[input]).map(|(body, _)| body)
    }

    #[test]
    fn fixed_length() {
        let mut dec = BodyDecoder::new(BodyKind::Length(5), &Limits::default());
        assert!(!dec.is_done());
        assert_eq!(dec.decode(b""), Ok((0, BodyEvent::NeedMore)));
        assert_eq!(
            dec.decode(b"he"),
            Ok((2, BodyEvent::Data { start: 0, end: 2 }))
        );
        assert_eq!(dec.finish(), Err(Error::IncompleteBody));
        assert_eq!(
            dec.decode(b"lloGET /"),
            Ok((3, BodyEvent::Data { start: 0, end: 3 }))
        );
        assert_eq!(dec.decode(b"GET /"), Ok((0, BodyEvent::Done)));
        assert!(dec.is_done() && dec.trailers().is_empty());
        assert_eq!(dec.finish(), Ok(()));

        let mut none = BodyDecoder::new(BodyKind::None, &Limits::default());
        assert_eq!(none.decode(b"GET"), Ok((0, BodyEvent::Done)));
        assert_eq!(none.finish(), Ok(()));
    }

    #[test]
    fn simple_chunked() {
        let (body, rest) = drive(
            &mut chunked(),
            &[b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET / HTTP/1.1"],
        )
        .unwrap();
        assert_eq!(body, b"hello world");
        assert_eq!(rest, b"GET / HTTP/1.1");
        assert_eq!(
            decode_chunked(b"1e\r\nall your base are belong to us\r\n000\r\n\r\n").unwrap(),
            b"all your base are belong to us"
        );
        assert_eq!(
            decode_chunked(b"0005\r\nhello\r\n0\r\n\r\n").unwrap(),
            b"hello"
        );
        assert_eq!(
            decode_chunked(b"A\r\n0123456789\r\n0\r\n\r\n").unwrap(),
            b"0123456789"
        );
        assert_eq!(decode_chunked(b"0\r\n\r\n").unwrap(), b"");
    }

    #[test]
    fn chunk_size_rejections() {
        for line in [
            &b""[..],
            b" 5",
            b"5 ",
            b"5\t",
            b"-5",
            b"+5",
            b"0x5",
            b"g",
            b"6_0",
            b"5\n",
            b" ;foo=bar",
            b";a",
            b"10000000000000000",
            b"ffffffffffffffff0",
        ] {
            let mut raw = line.to_vec();
            raw.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
            assert_eq!(
                decode_chunked(&raw),
                Err(Error::InvalidChunkSize),
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
        assert_eq!(
            decode_chunked(b"5\n;\r\nhello\r\n0\r\n\r\n"),
            Err(Error::InvalidChunkSize)
        );
        // The largest size parses; the data is simply not there yet.
        let mut dec = chunked();
        assert_eq!(
            dec.decode(b"ffffffffffffffff\r\n"),
            Ok((18, BodyEvent::NeedMore))
        );
        assert_eq!(dec.finish(), Err(Error::IncompleteBody));
    }

    #[test]
    fn chunk_extensions() {
        for ext in [
            &b";a"[..],
            b"; some; parameters=stuff",
            b" ;a",
            b"\t; a = b ",
            b";a=\"bar baz\"",
            b";a=\"q\\\"x\";b",
            b";a=\"\"",
            b";a=\"caf\xc3\xa9\"",
            b";!#$%&'*+-.^_`|~=tok",
        ] {
            let mut raw = b"5".to_vec();
            raw.extend_from_slice(ext);
            raw.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
            assert_eq!(
                decode_chunked(&raw),
                Ok(b"hello".to_vec()),
                "{:?}",
                String::from_utf8_lossy(ext)
            );
        }
        for ext in [
            &b";"[..],
            b";;a",
            b";=b",
            b";a=",
            b";a b",
            b";a=b c",
            b";a=\"open",
            b";a=\"x\"y",
            b";a=val\rue",
            b";a=\"\x01\"",
            b";a=\"\\\x01\"",
            b";a\x00",
            b";a=(b)",
        ] {
            let mut raw = b"5".to_vec();
            raw.extend_from_slice(ext);
            raw.extend_from_slice(b"\r\nhello\r\n0\r\n\r\n");
            assert_eq!(
                decode_chunked(&raw),
                Err(Error::InvalidChunkExtension),
                "{:?}",
                String::from_utf8_lossy(ext)
            );
        }
    }

    #[test]
    fn chunk_size_line_is_bounded() {
        let limits = Limits {
            max_header_field_size: 16,
            ..Limits::default()
        };
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        assert_eq!(
            dec.decode(b"5;aaaaaaaaaaaaaa"),
            Ok((0, BodyEvent::NeedMore))
        );
        assert_eq!(
            dec.decode(b"5;aaaaaaaaaaaaaaa"),
            Err(Error::InvalidChunkExtension)
        );
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        assert_eq!(dec.decode(&[b'0'; 17]), Err(Error::InvalidChunkSize));
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &limits);
        assert_eq!(
            dec.decode(b"5;aaaaaaaaaaaaaaa\r\n"),
            Err(Error::InvalidChunkExtension)
        );
    }

    #[test]
    fn missing_chunk_terminator() {
        assert_eq!(
            decode_chunked(b"5\r\nhelloX\r\n0\r\n\r\n"),
            Err(Error::ChunkMissingTerminator)
        );
        assert_eq!(
            decode_chunked(b"5\r\nhello\n0\r\n\r\n"),
            Err(Error::ChunkMissingTerminator)
        );
        assert_eq!(
            decode_chunked(b"5\r\nhello\r0\r\n\r\n"),
            Err(Error::ChunkMissingTerminator)
        );
        assert_eq!(
            decode_chunked(b"5\r\nhello world\r\n0\r\n\r\n"),
            Err(Error::ChunkMissingTerminator)
        );
        assert_eq!(
            drive(&mut chunked(), &[b"5\r\nhello\r", b"X"]),
            Err(Error::ChunkMissingTerminator)
        );
        // The last chunk without the blank line that ends the trailer section.
        assert_eq!(decode_chunked(b"0\r\n"), Err(Error::ChunkMissingTerminator));
        assert_eq!(
            decode_chunked(b"0\r\nVary: *\r\n"),
            Err(Error::ChunkMissingTerminator)
        );
        assert_eq!(decode_chunked(b"5\r\nhel"), Err(Error::IncompleteBody));
        assert_eq!(decode_chunked(b"5\r\nhello"), Err(Error::IncompleteBody));
    }

    #[test]
    fn trailers() {
        let mut dec = chunked();
        let (body, rest) =
            drive(&mut dec, &[b"5\r\nhello\r\n0\r\nVary: *\r\nContent-Type:  text/plain \r\nX_Y: dropped\r\n\r\nNEXT"]).unwrap();
        assert_eq!(body, b"hello");
        assert_eq!(rest, b"NEXT");
        assert_eq!(
            dec.trailers(),
            &[
                (b"Vary".to_vec(), b"*".to_vec()),
                (b"Content-Type".to_vec(), b"text/plain".to_vec())
            ]
        );

        for forbidden in [
            "Content-Length: 99",
            "Host: evil",
            "transfer-encoding: chunked",
            "Trailer: x",
            "Authorization: y",
            "TE: z",
        ] {
            let raw = format!("0\r\n{forbidden}\r\n\r\n");
            assert_eq!(
                decode_chunked(raw.as_bytes()),
                Err(Error::InvalidHeaderName),
                "{forbidden}"
            );
        }
        assert_eq!(
            decode_chunked(b"0\r\nA: b\x07\r\n\r\n"),
            Err(Error::InvalidHeader)
        );
        assert_eq!(
            decode_chunked(b"0\r\nA : b\r\n\r\n"),
            Err(Error::InvalidHeaderName)
        );
        assert_eq!(
            decode_chunked(b"0\r\nA: b\r\n c\r\n\r\n"),
            Err(Error::ObsoleteFolding)
        );
        assert_eq!(
            decode_chunked(b"0\r\nA: b\r\nA: c\r\n\r\n").map(|b| b.len()),
            Ok(0)
        );

        let refuse = Limits {
            header_map: crate::HeaderMap::Refuse,
            ..Limits::default()
        };
        let mut dec = BodyDecoder::new(BodyKind::Chunked, &refuse);
        assert_eq!(
            drive(&mut dec, &[b"0\r\nX_Y: 1\r\n\r\n"]),
            Err(Error::InvalidHeaderName)
        );
        assert_eq!(
            decode_chunked(b"0\r\nA: b\nC: d\r\n\r\n"),
            Err(Error::InvalidHeader)
        );
        assert_eq!(
            decode_chunked(b"0\r\nA: b\rC: d\r\n\r\n"),
            Err(Error::InvalidHeader)
        );
    }

    #[test]
    fn trailer_limits() {
        let limits = Limits {
            max_headers: 2,
            max_header_field_size: 12,
            ..Limits::default()
        };
        let run = |raw: &[u8]| {
            drive(&mut BodyDecoder::new(BodyKind::Chunked, &limits), &[raw]).map(|_| ())
        };
        assert_eq!(run(b"0\r\nA: 1\r\nB: 2\r\n\r\n"), Ok(()));
        assert_eq!(
            run(b"0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(Error::TrailersTooLarge)
        );
        assert_eq!(run(b"0\r\nA: 1234567\r\n\r\n"), Ok(()));
        assert_eq!(
            run(b"0\r\nA: 12345678\r\n\r\n"),
            Err(Error::TrailersTooLarge)
        );
        // Unfinished and already too long.
        assert_eq!(run(b"0\r\nA: 1234567890"), Err(Error::TrailersTooLarge));
        assert_eq!(Error::TrailersTooLarge.status(), 431);
    }

    #[test]
    fn split_at_every_position() {
        let raw: &[u8] = b"5;ext=\"v\"\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nVary: *\r\nX-T: a\r\n\r\nNEXT";
        let want = b"helloabcdefghijklmnopqrstuvwxyz";
        for cut in 0..=raw.len() {
            let mut dec = chunked();
            let (body, rest) = drive(&mut dec, &[&raw[..cut], &raw[cut..]]).unwrap();
            assert_eq!(body, want, "cut {cut}");
            assert_eq!(rest, b"NEXT", "cut {cut}");
            assert_eq!(dec.trailers().len(), 2);
        }
        for a in 0..raw.len() {
            for b in a..raw.len() {
                let (body, _) = drive(&mut chunked(), &[&raw[..a], &raw[a..b], &raw[b..]]).unwrap();
                assert_eq!(body, want, "cuts {a} {b}");
            }
        }
        let bytes: Vec<&[u8]> = raw.chunks(1).collect();
        let (body, rest) = drive(&mut chunked(), &bytes).unwrap();
        assert_eq!(
            (body.as_slice(), rest.as_slice()),
            (&want[..], &b"NEXT"[..])
        );
    }

    #[test]
    fn done_is_sticky() {
        let mut dec = chunked();
        drive(&mut dec, &[b"0\r\n\r\n"]).unwrap();
        assert_eq!(dec.decode(b"more"), Ok((0, BodyEvent::Done)));
        assert_eq!(dec.finish(), Ok(()));
    }
}
