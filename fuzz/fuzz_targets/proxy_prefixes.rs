//! The PROXY header parser on every prefix of the input, in each mode: it says Partial until
//! it has decided, then keeps that decision (the same header and length, or the same error)
//! however many bytes follow, which is what makes the engine's re-parse per read split
//! invariant; a header occupies at least one byte and no more than it was given. The first
//! input byte is skipped, as in the other targets, so they share their seeds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ugn_http::{parse_proxy_header, parse_required_proxy_header, Parsed, ProxyProtocol};

mod common;

fuzz_target!(|input: &[u8]| {
    let Some((_, data)) = common::Config::split(input) else {
        return;
    };
    // Every prefix is parsed: keep it quadratic in at most 1 KiB.
    let data = &data[..data.len().min(1024)];
    for mode in [
        None,
        Some(ProxyProtocol::V1),
        Some(ProxyProtocol::V2),
        Some(ProxyProtocol::Auto),
    ] {
        let parse = |buf| match mode {
            None => parse_proxy_header(buf),
            Some(mode) => parse_required_proxy_header(buf, mode),
        };
        let mut decided = None;
        for end in 0..=data.len() {
            let got = parse(&data[..end]);
            if let Ok(Parsed::Complete((_, used))) = got {
                assert!(
                    used <= end && (used > 0 || mode.is_none()),
                    "{used} of {end}"
                );
            }
            match (&decided, got) {
                (None, Ok(Parsed::Partial)) => {}
                (None, got) => decided = Some(got),
                (Some(first), got) => assert_eq!(*first, got, "{mode:?} at {end}"),
            }
        }
    }
});
