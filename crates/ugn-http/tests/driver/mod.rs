//! The codec driven the way the engine drives it (`step_idle`,
//! `step_proxy` and `decode_available` in crates/ugn-server/src/server.rs),
//! shared by the split-invariance test (`splits.rs`) and the fuzz targets
//! (`fuzz/`, which include this file by path).

#![allow(dead_code)]

use ugn_http::*;

#[derive(Debug, PartialEq)]
pub struct Message {
    pub method: Vec<u8>,
    pub target: Vec<u8>,
    pub minor_version: u8,
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

/// How the stream ended after the complete messages.
#[derive(Debug, PartialEq)]
pub enum End {
    /// At a message boundary (or after a message that closes the connection).
    Clean,
    Rejected(Error),
    /// The head grew to the engine's ceiling without completing (the engine
    /// answers 431).
    HeadTooLarge,
    /// Input ended inside a head.
    InHead,
    /// Input ended inside a body: what the decoder's `finish` said, and the
    /// body bytes delivered so far.
    InBody(Error, Vec<u8>),
}

#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub messages: Vec<Message>,
    pub end: End,
}

/// `Limits` semantics (0 means Gunicorn's default), spelled out here because
/// the crate keeps them private.
pub fn max_fields(l: &Limits) -> usize {
    if l.max_headers == 0 {
        32768
    } else {
        l.max_headers
    }
}
pub fn max_field_size(l: &Limits) -> usize {
    if l.max_header_field_size == 0 {
        8190
    } else {
        l.max_header_field_size
    }
}

/// The engine's ceiling on a buffered head (`max_head_bytes` in
/// crates/ugn-server/src/server.rs): a partial head this long is refused.
pub fn max_head_bytes(l: &Limits) -> usize {
    let line = if l.max_request_line == 0 {
        8190
    } else {
        l.max_request_line
    };
    line + 2 + (l.max_headers + 1) * (max_field_size(l) + 2) + 2
}

/// The most bytes the body decoder may leave unconsumed after `NeedMore`:
/// a chunk-size line is bounded by the field size, a trailer section like a
/// header section.
pub fn max_body_backlog(l: &Limits) -> usize {
    (max_fields(l) + 1) * (max_field_size(l) + 2) + 2
}

pub enum Stage {
    Proxy,
    Head,
    Body(BodyDecoder, Box<Message>, bool),
    Closed,
}

/// Feeds `data` in pieces ending at `cuts` (then the rest), the way the
/// engine drives the codec: the (required) PROXY parser is re-run on the
/// whole buffered input each time it grows, the head goes through a
/// `HeadReader` (which resumes where the last piece left it), the body decoder is called
/// until `NeedMore` and only the bytes it reports `used` are dropped. Every
/// pass of the inner loop either consumes input (asserted) or waits for
/// more, so a codec that stalls fails here instead of hanging.
pub fn feed(data: &[u8], cuts: &[usize], limits: &Limits, proxy: bool) -> Outcome {
    let mut buf: Vec<u8> = Vec::new();
    let mut headers = Vec::new();
    let mut reader = HeadReader::new();
    let mut messages = Vec::new();
    let mut stage = if proxy { Stage::Proxy } else { Stage::Head };
    let mut fed = 0;
    let rejected = |messages, e| Outcome {
        messages,
        end: End::Rejected(e),
    };
    for &cut in cuts.iter().chain([data.len()].iter()) {
        buf.extend_from_slice(&data[fed..cut]);
        fed = cut;
        loop {
            match &mut stage {
                Stage::Closed => {
                    return Outcome {
                        messages,
                        end: End::Clean,
                    }
                }
                Stage::Proxy => match parse_required_proxy_header(&buf, ProxyProtocol::Auto) {
                    Err(e) => return rejected(messages, e),
                    Ok(Parsed::Partial) => break,
                    Ok(Parsed::Complete((_, n))) => {
                        assert!(
                            n > 0 && n <= buf.len(),
                            "PROXY header of {n} bytes in {}",
                            buf.len()
                        );
                        buf.drain(..n);
                        stage = Stage::Head;
                    }
                },
                Stage::Head => match reader.parse(&buf, limits, &mut headers) {
                    Err(e) => return rejected(messages, e),
                    // The engine parses a head at its ceiling once in full.
                    Ok(Parsed::Partial) if buf.len() >= max_head_bytes(limits) => {
                        return match parse_request_head(&buf, limits, &mut headers) {
                            Err(e) => rejected(messages, e),
                            Ok(_) => Outcome {
                                messages,
                                end: End::HeadTooLarge,
                            },
                        };
                    }
                    Ok(Parsed::Partial) => break,
                    Ok(Parsed::Complete(head)) => {
                        assert!(head.head_len > 0 && head.head_len <= buf.len());
                        if let Err(e) =
                            forwarded_scheme(&buf, &headers, DEFAULT_SECURE_SCHEME_HEADERS)
                        {
                            return rejected(messages, e);
                        }
                        let bytes = |s: Span| s.get(&buf).to_vec();
                        let message = Message {
                            method: bytes(head.method),
                            target: bytes(head.target),
                            minor_version: head.minor_version,
                            headers: headers
                                .iter()
                                .map(|h| (bytes(h.name), bytes(h.value)))
                                .collect(),
                            body: Vec::new(),
                            trailers: Vec::new(),
                        };
                        buf.drain(..head.head_len);
                        stage = Stage::Body(
                            BodyDecoder::new(head.body, limits),
                            Box::new(message),
                            !head.keep_alive,
                        );
                    }
                },
                Stage::Body(decoder, message, _) => {
                    let (used, event) = match decoder.decode(&buf) {
                        Ok(step) => step,
                        Err(e) => return rejected(messages, e),
                    };
                    assert!(used <= buf.len(), "used {used} of {}", buf.len());
                    match event {
                        BodyEvent::Data { start, end } => {
                            // Non-empty and consumed: each Data call makes progress.
                            assert!(
                                start < end && end <= used,
                                "Data {start}..{end} used {used}"
                            );
                            message.body.extend_from_slice(&buf[start..end]);
                            buf.drain(..used);
                        }
                        BodyEvent::NeedMore => {
                            buf.drain(..used);
                            assert!(
                                buf.len() <= max_body_backlog(limits),
                                "decoder holds {} unconsumed bytes",
                                buf.len()
                            );
                            break;
                        }
                        BodyEvent::Done => {
                            buf.drain(..used);
                            let Stage::Body(decoder, mut message, close) =
                                std::mem::replace(&mut stage, Stage::Head)
                            else {
                                unreachable!()
                            };
                            let trailers = decoder.trailers().len();
                            assert!(trailers <= max_fields(limits), "{trailers} trailer fields");
                            message.trailers = decoder.trailers().to_vec();
                            messages.push(*message);
                            if close {
                                stage = Stage::Closed;
                            }
                        }
                    }
                }
            }
        }
    }
    let end = match stage {
        Stage::Body(decoder, message, _) => End::InBody(
            decoder.finish().expect_err("a complete body reports Done"),
            message.body,
        ),
        // At the client's end of stream the engine parses a partial head once in full.
        Stage::Head if !buf.is_empty() => match parse_request_head(&buf, limits, &mut headers) {
            Err(e) => End::Rejected(e),
            Ok(_) => End::InHead,
        },
        Stage::Proxy if !buf.is_empty() => End::InHead,
        _ => End::Clean,
    };
    Outcome { messages, end }
}
