//! The HeadReader against parse_request_head over the same bytes, at every read of a seeded
//! split: a complete head, and every refusal the reader makes, must be exactly what a full
//! parse of the buffer says; while the reader waits, a full parse may only have found a
//! malformed byte that the reader's next full parse will find (never a limit the reader
//! missed). The kept fields stay within max_headers.

#![no_main]

use libfuzzer_sys::fuzz_target;
use ugn_http::{parse_request_head, HeadReader, Parsed};

mod common;

fuzz_target!(|input: &[u8]| {
    let Some((config, data)) = common::Config::split(input) else {
        return;
    };
    let limits = &config.limits;
    let most_fields = if limits.max_headers == 0 {
        32768
    } else {
        limits.max_headers
    };
    let mut reader = HeadReader::new();
    let (mut got_fields, mut want_fields) = (Vec::new(), Vec::new());
    for end in config.cuts(data.len()).into_iter().chain([data.len()]) {
        let buf = &data[..end];
        let got = reader.parse(buf, limits, &mut got_fields);
        let want = parse_request_head(buf, limits, &mut want_fields);
        assert!(got_fields.len() <= most_fields);
        if got == Ok(Parsed::Partial) {
            assert!(got_fields.is_empty());
            match &want {
                Ok(Parsed::Partial) => {}
                Err(e) => assert!(!common::is_limit(e), "the reader missed {e:?} at {end}"),
                Ok(Parsed::Complete(_)) => panic!("the reader missed a complete head at {end}"),
            }
        } else {
            assert_eq!(got, want, "at {end}");
            assert_eq!(got_fields, want_fields, "at {end}");
            assert_eq!(reader, HeadReader::new(), "the reader starts afresh");
            return;
        }
    }
});
