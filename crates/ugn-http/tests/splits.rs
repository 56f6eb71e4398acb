//! Split invariance of the codec: a socket may deliver a byte stream in any
//! pieces, so feeding the same bytes in any split must give the same
//! requests (or the same error) as feeding them whole. Inputs: every case of
//! the vendored Gunicorn corpus (those with an HTTP/1.1 head without Host
//! also with one added) and generated pipelined streams. While
//! feeding, the driver also checks that the codec always makes progress and
//! never asks the caller to hold more unconsumed bytes than the limits allow.
//! Correctness against Gunicorn's expected results is `conformance.rs`'s job.

use std::fs;
use std::path::Path;

use serde_json::Value;
use ugn_http::*;

/// Inputs up to this long are also fed one byte at a time and with a cut at
/// every position (as many feeds as bytes, so quadratic in the length).
const EVERY_CUT_MAX_LEN: usize = 2048;
/// Inputs up to this long are also fed with every pair of cuts.
const EVERY_PAIR_MAX_LEN: usize = 128;
/// Seeded multi-way splits per input, whatever its length, of at most
/// MAX_RANDOM_CUTS cuts each.
const RANDOM_SPLITS: usize = 24;
const MAX_RANDOM_CUTS: usize = 64;
const GENERATED_STREAMS: usize = 40;

/// splitmix64: a fixed seed gives the same splits on every run.
struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

mod driver;
use driver::*;

/// The cut lists to try for an input of `len` bytes: one byte at a time,
/// every single cut and every pair of cuts for short inputs, and seeded
/// multi-way splits at random positions for any length.
fn splits(len: usize, rng: &mut SplitMix) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if len <= EVERY_CUT_MAX_LEN {
        out.push((1..len).collect());
        out.extend((1..len).map(|cut| vec![cut]));
    }
    if len <= EVERY_PAIR_MAX_LEN {
        out.extend((1..len).flat_map(|a| (a + 1..len).map(move |b| vec![a, b])));
    }
    // At most MAX_RANDOM_CUTS deliveries each, so a long head (re-parsed per
    // delivery) stays cheap.
    for _ in 0..RANDOM_SPLITS.min(len.saturating_sub(1)) {
        let count = 1 + rng.below(MAX_RANDOM_CUTS.min(len - 1));
        let mut cuts: Vec<usize> = (0..count).map(|_| 1 + rng.below(len - 1)).collect();
        cuts.sort_unstable();
        cuts.dedup();
        out.push(cuts);
    }
    out
}

/// Feeds `data` whole and in every split; returns the whole outcome and
/// the number of splits tried. Panics on the first split that differs.
fn assert_split_invariant(
    name: &str,
    data: &[u8],
    limits: &Limits,
    proxy: bool,
    rng: &mut SplitMix,
) -> (Outcome, usize) {
    let whole = feed(data, &[], limits, proxy);
    let splits = splits(data.len(), rng);
    for cuts in &splits {
        let got = feed(data, cuts, limits, proxy);
        if got != whole {
            let shown = if cuts.len() <= 8 {
                format!("{cuts:?}")
            } else {
                format!("{} cuts", cuts.len())
            };
            panic!("{name}: split {shown}\n got {got:?}\nwhole {whole:?}");
        }
    }
    (whole, splits.len())
}

/// Limits and PROXY setting of a corpus case. Settings ugn does not offer
/// are ignored: invariance holds whatever the outcome.
fn corpus_config(json: &Value) -> (Limits, bool) {
    let mut limits = Limits::default();
    let mut proxy = false;
    let config = json
        .get("config")
        .and_then(Value::as_object)
        .into_iter()
        .flatten();
    for (key, v) in config {
        let n = || v.as_u64().expect("number") as usize;
        match key.as_str() {
            "limit_request_line" => limits.max_request_line = n(),
            "limit_request_fields" => limits.max_headers = n(),
            "limit_request_field_size" => limits.max_header_field_size = n(),
            "permit_unconventional_http_method" => {
                limits.permit_unconventional_http_method = v == true
            }
            "casefold_http_method" => limits.casefold_http_method = v == true,
            "header_map" if v == "refuse" => limits.header_map = HeaderMap::Refuse,
            "header_map" if v == "dangerous" => limits.header_map = HeaderMap::Dangerous,
            "proxy_protocol" => proxy = v != "off",
            _ => {}
        }
    }
    (limits, proxy)
}

/// (name, bytes, json) of every case in `tests/corpus/gunicorn-requests/<kind>`.
fn corpus_cases(kind: &str) -> Vec<(String, Vec<u8>, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/corpus/gunicorn-requests")
        .join(kind);
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "http"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let json =
                serde_json::from_slice(&fs::read(p.with_extension("json")).unwrap()).unwrap();
            (
                format!("{kind}/{}", p.file_stem().unwrap().to_string_lossy()),
                fs::read(&p).unwrap(),
                json,
            )
        })
        .collect()
}

/// `data` with a Host line added after the request line of every HTTP/1.1
/// head that lacks one, or `None` when none does. Gunicorn does not require
/// Host and ugn does (RFC 9112 §3.2), so without this the corpus cases that
/// leave it out would only test that refusal, not their bodies and
/// pipelines. The heads are found by parsing the stream whole.
fn with_hosts(data: &[u8], limits: &Limits, proxy: bool) -> Option<Vec<u8>> {
    let mut out = data.to_vec();
    let mut pos = 0;
    if proxy {
        let Ok(Parsed::Complete((_, n))) = parse_proxy_header(&out) else {
            return None;
        };
        pos = n;
    }
    let (mut added, mut headers) = (false, Vec::new());
    loop {
        match parse_request_head(&out[pos..], limits, &mut headers) {
            Err(Error::MissingHost) => {
                let start = pos + out[pos..].iter().position(|&b| b != b'\r' && b != b'\n')?;
                let line_end = start + out[start..].windows(2).position(|w| w == b"\r\n")? + 2;
                out.splice(
                    line_end..line_end,
                    b"Host: gunicorn-corpus.test\r\n".iter().copied(),
                );
                added = true;
            }
            Ok(Parsed::Complete(head)) => {
                pos += head.head_len;
                let mut body = BodyDecoder::new(head.body, limits);
                loop {
                    match body.decode(&out[pos..]) {
                        Ok((n, BodyEvent::Data { .. })) => pos += n,
                        Ok((n, BodyEvent::Done)) => {
                            pos += n;
                            break;
                        }
                        _ => return added.then_some(out),
                    }
                }
                if !head.keep_alive {
                    break;
                }
            }
            _ => break,
        }
    }
    added.then_some(out)
}

/// Runs every case of a corpus directory through `assert_split_invariant`,
/// as sent and, for a case with HTTP/1.1 heads without Host, with a Host
/// added (`with_hosts`), then `check` on each whole outcome. Returns
/// (inputs, splits).
fn check_corpus(kind: &str, seed: u64, check: impl Fn(&str, &Outcome)) -> (usize, usize) {
    let mut rng = SplitMix(seed);
    let (mut inputs, mut feeds) = (0, 0);
    for (name, data, json) in corpus_cases(kind) {
        let (limits, proxy) = corpus_config(&json);
        let hosted =
            with_hosts(&data, &limits, proxy).map(|d| (format!("{name} with Host added"), d));
        for (name, data) in std::iter::once((name, data)).chain(hosted) {
            let (whole, n) = assert_split_invariant(&name, &data, &limits, proxy, &mut rng);
            check(&name, &whole);
            inputs += 1;
            feeds += n;
        }
    }
    (inputs, feeds)
}

#[test]
fn valid_corpus_is_split_invariant() {
    let (inputs, feeds) = check_corpus("valid", 1, |name, whole| {
        // 099 ends inside its body; the documented deviations are rejected.
        let parsed =
            !whole.messages.is_empty() || matches!(whole.end, End::InBody(..) | End::Rejected(_));
        assert!(parsed, "{name}: nothing parsed");
    });
    println!("valid corpus: {inputs} inputs, {feeds} splits, all identical to the whole feed");
}

#[test]
fn invalid_corpus_is_split_invariant() {
    let (inputs, feeds) = check_corpus("invalid", 2, |name, whole| {
        assert_ne!(whole.end, End::Clean, "{name}: accepted");
    });
    println!("invalid corpus: {inputs} inputs, {feeds} splits, all identical to the whole feed");
}

/// Appends one generated request to `stream` and returns what parsing it
/// must give: no body, a Content-Length body, or a chunked body with
/// extensions and trailers.
fn generate_request(rng: &mut SplitMix, stream: &mut Vec<u8>) -> Message {
    let body: Vec<u8> = (0..rng.below(300))
        .map(|_| b"abcxyz\r\n0;\"=:"[rng.below(13)])
        .collect();
    let target = format!("/r/{}?q={}", rng.next() % 1000, rng.below(10)).into_bytes();
    let mut headers = vec![(b"Host".to_vec(), b"example.com".to_vec())];
    let mut trailers = Vec::new();
    let mut framed = Vec::new();
    let method: &[u8] = match rng.below(3) {
        0 => b"GET",
        1 => {
            headers.push((
                b"Content-Length".to_vec(),
                body.len().to_string().into_bytes(),
            ));
            framed.extend_from_slice(&body);
            b"POST"
        }
        _ => {
            headers.push((b"Transfer-Encoding".to_vec(), b"chunked".to_vec()));
            let mut rest = &body[..];
            while !rest.is_empty() {
                let (chunk, tail) = rest.split_at(1 + rng.below(rest.len().min(64)));
                let ext = [&b""[..], b";a", b" ; name=\"q \\\" v\"", b";x=y;z"][rng.below(4)];
                framed.extend_from_slice(format!("{:X}", chunk.len()).as_bytes());
                framed.extend_from_slice(ext);
                framed.extend_from_slice(b"\r\n");
                framed.extend_from_slice(chunk);
                framed.extend_from_slice(b"\r\n");
                rest = tail;
            }
            framed.extend_from_slice(b"0;last\r\n");
            for i in 0..rng.below(3) {
                let (name, value) = (
                    format!("X-Trailer-{i}").into_bytes(),
                    format!("v{}", rng.next() % 100).into_bytes(),
                );
                framed.extend_from_slice(&[&name[..], b": ", &value, b"\r\n"].concat());
                trailers.push((name, value));
            }
            framed.extend_from_slice(b"\r\n");
            b"PUT"
        }
    };
    if rng.below(2) == 0 {
        headers.push((b"X-Pad".to_vec(), vec![b'p'; rng.below(100)]));
    }
    stream.extend_from_slice(&[method, b" ", &target, b" HTTP/1.1\r\n"].concat());
    for (name, value) in &headers {
        stream.extend_from_slice(&[&name[..], b": ", value, b"\r\n"].concat());
    }
    stream.extend_from_slice(b"\r\n");
    stream.extend_from_slice(&framed);
    let body = if method == b"GET" { Vec::new() } else { body };
    Message {
        method: method.to_vec(),
        target,
        minor_version: 1,
        headers,
        body,
        trailers,
    }
}

#[test]
fn generated_pipelines_are_split_invariant() {
    let mut rng = SplitMix(3);
    let (mut messages, mut feeds) = (0, 0);
    for i in 0..GENERATED_STREAMS {
        let mut stream = Vec::new();
        let want: Vec<Message> = (0..2 + rng.below(5))
            .map(|_| generate_request(&mut rng, &mut stream))
            .collect();
        let (whole, n) = assert_split_invariant(
            &format!("stream {i}"),
            &stream,
            &Limits::default(),
            false,
            &mut rng,
        );
        assert_eq!(
            whole,
            Outcome {
                messages: want,
                end: End::Clean
            },
            "stream {i}"
        );
        messages += whole.messages.len();
        feeds += n;
    }
    println!(
        "generated: {GENERATED_STREAMS} pipelined streams, {messages} requests, {feeds} splits"
    );
}

/// Endless or oversized pieces under tight limits: each must be refused
/// before the input ends, identically in every split, and the driver's
/// backlog checks hold all along.
#[test]
fn hostile_streams_are_refused_in_every_split() {
    let limits = Limits {
        max_headers: 4,
        max_header_field_size: 64,
        ..Limits::default()
    };
    let chunked = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
    let cases = [
        (
            "endless chunk extension",
            format!("{chunked}5;{}", "a".repeat(200)),
        ),
        (
            "endless chunk size",
            format!("{chunked}{}", "0".repeat(200)),
        ),
        (
            "chunk size overflow",
            format!("{chunked}1{}\r\n", "0".repeat(16)),
        ),
        (
            "endless trailer section",
            format!("{chunked}0\r\n{}", "X: y\r\n".repeat(50)),
        ),
        (
            "endless trailer field",
            format!("{chunked}0\r\nX: {}", "v".repeat(200)),
        ),
        (
            "endless header section",
            format!("GET / HTTP/1.1\r\n{}", "X: y\r\n".repeat(50)),
        ),
        (
            "endless header field",
            format!("GET / HTTP/1.1\r\nX: {}", "v".repeat(200)),
        ),
        ("endless request line", format!("GET /{}", "a".repeat(5000))),
    ];
    let mut rng = SplitMix(4);
    let mut feeds = 0;
    for (name, data) in &cases {
        let (whole, n) = assert_split_invariant(name, data.as_bytes(), &limits, false, &mut rng);
        assert!(
            matches!(whole.end, End::Rejected(_)),
            "{name}: {:?}",
            whole.end
        );
        feeds += n;
    }
    println!(
        "hostile: {} inputs, {feeds} splits, each refused identically",
        cases.len()
    );
}
