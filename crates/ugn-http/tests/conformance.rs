//! Replays every case of Gunicorn's request corpus (tests/corpus, MIT, see
//! its README) through the codec: whole buffer, one byte at a time, and
//! random splits.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;
use ugn_http::*;

/// Cases where ugn deliberately differs from Gunicorn. Keep in sync with
/// docs/conformance.md.
const DEVIATIONS: &[(&str, &str)] = &[
    (
        "valid/rfc9112_target_authority_connect_01",
        "CONNECT authority-form: path is the whole authority (example.com:443); Gunicorn's urlsplit \
         misreads the host as a scheme and reports path \"443\"",
    ),
    (
        "valid/099",
        "Content-Length says 17914 but the stream ends after 8599 body bytes: Gunicorn hands the app the \
         short body as if complete; ugn delivers the same bytes, then reports IncompleteBody so the app \
         never mistakes a truncated upload for a whole one",
    ),
    (
        "invalid/006",
        "request line over the limit answers 414 URI Too Long (RFC 9112 §3); Gunicorn answers 400",
    ),
    (
        "valid/028",
        "setting not offered: it weakens request parsing (strip_header_spaces); the space before the colon \
         is refused with 400",
    ),
    (
        "valid/compat_obs_fold",
        "setting not offered: it weakens request parsing (permit_obsolete_folding); the fold is refused with 400",
    ),
    (
        "valid/compat_obs_fold_huge",
        "setting not offered: it weakens request parsing (permit_obsolete_folding); the fold is refused with 400",
    ),
    (
        "valid/009",
        "Transfer-Encoding: identity with a Content-Length: Gunicorn ignores identity and reads the body by \
         the Content-Length; chunked is not the final coding, so RFC 9112 §6.3 item 4 requires 400, and a \
         front end that frames by the Transfer-Encoding would disagree on the length (smuggling)",
    ),
    (
        "invalid/013",
        "setting not offered: it weakens request parsing (permit_obsolete_folding); the fold is refused with \
         400 before the field size limit (431) applies",
    ),
];

/// Valid cases that send an HTTP/1.1 request without Host, which ugn
/// refuses (RFC 9112 §3.2) and Gunicorn parses. Keep in sync with
/// docs/conformance.md.
const HOSTLESS_VALID_CASES: usize = 23;

/// Gunicorn settings ugn does not offer; cases that turn them on must be
/// listed in DEVIATIONS.
const NOT_OFFERED: &[&str] = &["permit_obsolete_folding", "strip_header_spaces"];

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/gunicorn-requests")
}

fn latin1(v: &Value) -> Vec<u8> {
    v.as_str()
        .expect("string")
        .chars()
        .map(|c| u8::try_from(u32::from(c)).expect("latin-1"))
        .collect()
}

fn base64(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("bad base64 {c}"),
    };
    let digits: Vec<u8> = s.bytes().filter(|&c| c != b'=').map(val).collect();
    let mut out = Vec::new();
    for group in digits.chunks(4) {
        let n = group
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &d)| n | u32::from(d) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..group.len()]);
    }
    out
}

/// xorshift64*: deterministic splits without a rand dependency.
struct Rng(u64);
impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    }
}

#[derive(Debug, PartialEq)]
struct Req {
    method: Vec<u8>,
    uri: Vec<u8>,
    path: Vec<u8>,
    query: Vec<u8>,
    fragment: Vec<u8>,
    version: (u8, u8),
    headers: Vec<(Vec<u8>, Vec<u8>)>,
    body: Vec<u8>,
    trailers: Vec<(Vec<u8>, Vec<u8>)>,
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Requests(Vec<Req>),
    /// Rejected with this error (`None`: the input ended mid-head).
    Rejected(Option<Error>),
    /// The input ended inside a body: the requests so far (the last one with
    /// the body bytes received) and the decoder's verdict.
    Truncated(Vec<Req>, Error),
}

struct Config {
    limits: Limits,
    proxy: bool,
    /// Give an HTTP/1.1 head that ugn refuses for lacking Host (RFC 9112
    /// §3.2; Gunicorn does not require it) one, so the rest of the case is
    /// still checked against Gunicorn's result; the field is left out of the
    /// parsed request.
    add_host: bool,
    /// Set when a Host was added.
    host_added: Cell<bool>,
}

/// What the harness inserts after the request line of a head without Host.
const ADDED_HOST: &[u8] = b"Host: gunicorn-corpus.test\r\n";

/// Inserts [`ADDED_HOST`] after the request line at the start of `buf` (past
/// any empty lines before it).
fn add_host(buf: &mut Vec<u8>) {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(0);
    let line_end = start
        + buf[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("a complete head")
        + 2;
    buf.splice(line_end..line_end, ADDED_HOST.iter().copied());
}

fn config(name: &str, json: &Value) -> Config {
    let mut limits = Limits::default();
    let mut proxy = false;
    if let Some(cfg) = json.get("config").and_then(Value::as_object) {
        for (k, v) in cfg {
            match k.as_str() {
                "limit_request_line" => limits.max_request_line = v.as_u64().unwrap() as usize,
                "limit_request_fields" => limits.max_headers = v.as_u64().unwrap() as usize,
                "limit_request_field_size" => {
                    limits.max_header_field_size = v.as_u64().unwrap() as usize
                }
                k if NOT_OFFERED.contains(&k) => {
                    assert!(deviation(name).is_some(), "{name}: {k} is not offered")
                }
                "permit_unconventional_http_method" => {
                    limits.permit_unconventional_http_method = v.as_bool().unwrap()
                }
                "casefold_http_method" => limits.casefold_http_method = v.as_bool().unwrap(),
                "header_map" => {
                    limits.header_map = match v.as_str().unwrap() {
                        "drop" => HeaderMap::Drop,
                        "refuse" => HeaderMap::Refuse,
                        "dangerous" => HeaderMap::Dangerous,
                        other => panic!("header_map {other}"),
                    }
                }
                "proxy_protocol" => proxy = v.as_str() != Some("off"),
                // The harness peer is trusted, as in upstream's (no peer address).
                "forwarded_allow_ips" => {}
                other => panic!("unknown config key {other}"),
            }
        }
    }
    Config {
        limits,
        proxy,
        add_host: true,
        host_added: Cell::new(false),
    }
}

enum State {
    Proxy,
    Head,
    Body {
        dec: BodyDecoder,
        req: Box<Req>,
        close: bool,
    },
    Closed,
}

/// Feeds `data` in pieces ending at `cuts` (then the rest) like a socket
/// would, parsing as far as each delivery allows.
fn replay(data: &[u8], cfg: &Config, cuts: &[usize]) -> Outcome {
    let mut buf: Vec<u8> = Vec::new();
    let mut headers = Vec::new();
    let mut reqs = Vec::new();
    let mut state = if cfg.proxy { State::Proxy } else { State::Head };
    let mut fed = 0;
    // A Host was added to the head now in `buf`.
    let mut added = false;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        buf.extend_from_slice(&data[fed..cut]);
        fed = cut;
        loop {
            match &mut state {
                State::Closed => return Outcome::Requests(reqs),
                State::Proxy => match parse_proxy_header(&buf) {
                    Err(e) => return Outcome::Rejected(Some(e)),
                    Ok(Parsed::Partial) => break,
                    Ok(Parsed::Complete((_, n))) => {
                        buf.drain(..n);
                        state = State::Head;
                    }
                },
                State::Head => match parse_request_head(&buf, &cfg.limits, &mut headers) {
                    Err(Error::MissingHost) if cfg.add_host && !added => {
                        add_host(&mut buf);
                        added = true;
                        cfg.host_added.set(true);
                    }
                    Err(e) => return Outcome::Rejected(Some(e)),
                    Ok(Parsed::Partial) => break,
                    Ok(Parsed::Complete(head)) => {
                        if let Err(e) =
                            forwarded_scheme(&buf, &headers, DEFAULT_SECURE_SCHEME_HEADERS)
                        {
                            return Outcome::Rejected(Some(e));
                        }
                        let s = |span: Span| span.get(&buf).to_vec();
                        let mut method = s(head.method);
                        if cfg.limits.casefold_http_method {
                            method.make_ascii_uppercase();
                        }
                        let req = Req {
                            method,
                            uri: s(head.target),
                            path: s(head.path),
                            query: s(head.query),
                            fragment: s(head.fragment),
                            version: (1, head.minor_version),
                            headers: headers
                                .iter()
                                .filter(|h| !(added && s(h.name).eq_ignore_ascii_case(b"host")))
                                .map(|h| (s(h.name).to_ascii_uppercase(), s(h.value)))
                                .collect(),
                            body: Vec::new(),
                            trailers: Vec::new(),
                        };
                        buf.drain(..head.head_len);
                        added = false;
                        state = State::Body {
                            dec: BodyDecoder::new(head.body, &cfg.limits),
                            req: Box::new(req),
                            close: !head.keep_alive,
                        };
                    }
                },
                State::Body { dec, req, .. } => match dec.decode(&buf) {
                    Err(e) => return Outcome::Rejected(Some(e)),
                    Ok((n, BodyEvent::Data { start, end })) => {
                        req.body.extend_from_slice(&buf[start..end]);
                        buf.drain(..n);
                    }
                    Ok((n, BodyEvent::NeedMore)) => {
                        buf.drain(..n);
                        break;
                    }
                    Ok((n, BodyEvent::Done)) => {
                        buf.drain(..n);
                        let State::Body {
                            dec,
                            mut req,
                            close,
                        } = std::mem::replace(&mut state, State::Head)
                        else {
                            unreachable!()
                        };
                        req.trailers = dec
                            .trailers()
                            .iter()
                            .map(|(k, v)| (k.to_ascii_uppercase(), v.clone()))
                            .collect();
                        reqs.push(*req);
                        if close {
                            state = State::Closed;
                        }
                    }
                },
            }
        }
    }
    // End of input: anything but a clean boundary is a truncated message.
    match state {
        State::Body { dec, req, .. } => {
            let err = dec.finish().expect_err("a finished body reports Done");
            reqs.push(*req);
            Outcome::Truncated(reqs, err)
        }
        State::Head | State::Proxy if !buf.is_empty() => Outcome::Rejected(None),
        _ => Outcome::Requests(reqs),
    }
}

fn expected_requests(json: &Value) -> Vec<Req> {
    let pairs = |v: Option<&Value>| -> Vec<(Vec<u8>, Vec<u8>)> {
        v.and_then(Value::as_array)
            .map(|a| a.iter().map(|p| (latin1(&p[0]), latin1(&p[1]))).collect())
            .unwrap_or_default()
    };
    json["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| Req {
            method: latin1(&r["method"]),
            uri: latin1(&r["uri"]),
            path: latin1(&r["path"]),
            query: latin1(&r["query"]),
            fragment: latin1(&r["fragment"]),
            version: (
                r["version"][0].as_u64().unwrap() as u8,
                r["version"][1].as_u64().unwrap() as u8,
            ),
            headers: pairs(r.get("headers")),
            body: base64(r["body"].as_str().unwrap()),
            trailers: pairs(r.get("trailers")),
        })
        .collect()
}

/// Gunicorn's status per error class (README table); `None` where the
/// failure happens while reading the body or at EOF.
fn expected_status(class: &str) -> Option<u16> {
    match class {
        "LimitRequestHeaders" => Some(431),
        "InvalidChunkSize" | "InvalidChunkExtension" | "ChunkMissingTerminator" | "NoMoreData" => {
            None
        }
        _ => Some(400),
    }
}

fn deliveries(len: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(), (1..len).collect(), vec![1.min(len)]];
    let mut rng = Rng(seed | 1);
    for _ in 0..6 {
        let mut cuts = Vec::new();
        let mut at = 0;
        loop {
            at += 1 + rng.below(64);
            if at >= len {
                break;
            }
            cuts.push(at);
        }
        out.push(cuts);
    }
    out
}

fn cases(kind: &str) -> Vec<(String, Vec<u8>, Value)> {
    let dir = corpus().join(kind);
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            e.unwrap()
                .file_name()
                .into_string()
                .ok()?
                .strip_suffix(".json")
                .map(str::to_owned)
        })
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|n| {
            let data = fs::read(dir.join(format!("{n}.http"))).unwrap();
            let json =
                serde_json::from_slice(&fs::read(dir.join(format!("{n}.json"))).unwrap()).unwrap();
            (format!("{kind}/{n}"), data, json)
        })
        .collect()
}

fn describe_diff(got: &Outcome, want: &Outcome) -> String {
    let show = |b: &[u8]| String::from_utf8_lossy(&b[..b.len().min(80)]).into_owned();
    match (got, want) {
        (Outcome::Requests(g), Outcome::Requests(w))
        | (Outcome::Truncated(g, _), Outcome::Truncated(w, _)) => {
            if g.len() != w.len() {
                return format!("{} requests, want {}", g.len(), w.len());
            }
            for (g, w) in g.iter().zip(w) {
                let fields: [(&str, &[u8], &[u8]); 6] = [
                    ("method", &g.method, &w.method),
                    ("uri", &g.uri, &w.uri),
                    ("path", &g.path, &w.path),
                    ("query", &g.query, &w.query),
                    ("fragment", &g.fragment, &w.fragment),
                    ("body", &g.body, &w.body),
                ];
                for (f, a, b) in fields {
                    if a != b {
                        return format!("{f} {:?} want {:?}", show(a), show(b));
                    }
                }
                if g.headers != w.headers || g.trailers != w.trailers || g.version != w.version {
                    return format!(
                        "headers/trailers/version differ: {:?} want {:?}",
                        g.headers, w.headers
                    );
                }
            }
            format!("{got:?}")
        }
        (Outcome::Rejected(e), _) => format!("rejected {e:?} (status {:?})", e.map(|e| e.status())),
        (Outcome::Truncated(_, e), _) => format!("truncated {e:?}"),
        _ => "accepted, want truncated".into(),
    }
}

fn deviation(name: &str) -> Option<&'static str> {
    DEVIATIONS.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

/// What ugn must produce for a valid case: Gunicorn's result, adjusted for
/// the documented deviations.
fn ugn_expectation(name: &str, json: &Value) -> Outcome {
    let mut reqs = expected_requests(json);
    match name {
        "valid/099" => Outcome::Truncated(reqs, Error::IncompleteBody),
        "valid/028" => Outcome::Rejected(Some(Error::InvalidHeaderName)),
        "valid/009" => Outcome::Rejected(Some(Error::InvalidTransferEncoding)),
        "valid/compat_obs_fold" | "valid/compat_obs_fold_huge" => {
            Outcome::Rejected(Some(Error::ObsoleteFolding))
        }
        "valid/rfc9112_target_authority_connect_01" => {
            reqs[0].path = reqs[0].uri.clone();
            Outcome::Requests(reqs)
        }
        _ => Outcome::Requests(reqs),
    }
}

#[test]
fn gunicorn_corpus() {
    let mut failures = Vec::new();
    let mut deviating = Vec::new();
    // Cases with an HTTP/1.1 head that lacks Host, and a Host added.
    let mut hostless = Vec::new();

    let valid = cases("valid");
    let mut valid_passed = 0;
    for (i, (name, data, json)) in valid.iter().enumerate() {
        let cfg = config(name, json);
        let want = ugn_expectation(name, json);
        if deviation(name).is_some() {
            deviating.push(name.clone());
            assert_ne!(
                want,
                Outcome::Requests(expected_requests(json)),
                "{name}: deviation without effect"
            );
        }
        let mut ok = true;
        for cuts in deliveries(data.len(), i as u64 + 1) {
            let got = replay(data, &cfg, &cuts);
            if got != want {
                ok = false;
                failures.push(format!(
                    "{name} ({} cuts): {}",
                    cuts.len(),
                    describe_diff(&got, &want)
                ));
                break;
            }
        }
        if cfg.host_added.get() {
            // As sent, the case is refused for the missing Host.
            hostless.push(name.clone());
            let as_sent = Config {
                add_host: false,
                ..config(name, json)
            };
            let got = replay(data, &as_sent, &[]);
            if got != Outcome::Rejected(Some(Error::MissingHost)) {
                ok = false;
                failures.push(format!(
                    "{name} without an added Host: {}, want MissingHost",
                    describe_diff(&got, &got)
                ));
            }
        }
        valid_passed += usize::from(ok);
    }

    let invalid = cases("invalid");
    let mut rejected = 0;
    for (i, (name, data, json)) in invalid.iter().enumerate() {
        let cfg = config(name, json);
        let class = json["error"].as_str().unwrap();
        let mut want_status = expected_status(class);
        match name.as_str() {
            "invalid/006" => want_status = Some(414),
            "invalid/013" => want_status = Some(400),
            _ => {}
        }
        if deviation(name).is_some() {
            deviating.push(name.clone());
        }
        // The Host rule is ugn's and could hide the error the case is about:
        // a Host is added here too.
        let mut ok = true;
        for cuts in deliveries(data.len(), 1000 + i as u64) {
            let failure = match (replay(data, &cfg, &cuts), want_status) {
                (Outcome::Requests(r), _) => Some(format!("accepted {} requests", r.len())),
                (_, None) => None,
                (Outcome::Rejected(Some(e)), Some(want)) if e.status() == want => None,
                (got, want) => Some(format!(
                    "{}, want status {want:?}",
                    describe_diff(&got, &got)
                )),
            };
            if let Some(f) = failure {
                ok = false;
                failures.push(format!("{name} ({class}, {} cuts): {f}", cuts.len()));
                break;
            }
        }
        rejected += usize::from(ok);
    }

    println!(
        "gunicorn corpus: valid {valid_passed}/{} passed, invalid {rejected}/{} rejected (with Gunicorn's status), \
         deviations {}: {deviating:?}",
        valid.len(),
        invalid.len(),
        deviating.len(),
    );
    println!("valid cases with an HTTP/1.1 head without Host (refused as sent; checked with one added): {}: {hostless:?}", hostless.len());
    assert_eq!(
        deviating.len(),
        DEVIATIONS.len(),
        "a DEVIATIONS entry names no corpus case"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(valid.len() + invalid.len(), 137);
    // docs/conformance.md gives the count.
    assert_eq!(hostless.len(), HOSTLESS_VALID_CASES, "{hostless:?}");
}
