//! The whole request codec as the engine drives it (PROXY header, pipelined heads, Content-Length
//! and chunked bodies with trailers), fed whole, one byte at a time and in seeded splits. The
//! driver (shared with crates/ugn-http/tests/splits.rs) asserts progress and the memory bounds
//! (a partial head below the engine's ceiling, an undecoded body backlog below what the limits
//! allow, trailer fields within max_headers); here every split must give the same requests and
//! the same ending. One difference is allowed, by design (docs/reliability.md): when a head
//! holds two faults, which one refuses it can depend on the split (a limit or a line end found
//! by the line-end pass on the read that brings it, a malformed byte by the full parse of
//! whichever read runs it first), so a refusal must be a refusal in every split, not the same one.

#![no_main]

use libfuzzer_sys::fuzz_target;

mod common;
#[path = "../../crates/ugn-http/tests/driver/mod.rs"]
mod driver;

use driver::{End, Outcome};

fn refused(end: &End) -> bool {
    matches!(end, End::Rejected(_) | End::HeadTooLarge)
}

fn same(whole: &Outcome, split: &Outcome) -> bool {
    whole == split
        || (whole.messages == split.messages && refused(&whole.end) && refused(&split.end))
}

fuzz_target!(|input: &[u8]| {
    let Some((config, data)) = common::Config::split(input) else {
        return;
    };
    let whole = driver::feed(data, &[], &config.limits, config.proxy);
    for cuts in [(1..data.len()).collect(), config.cuts(data.len())] {
        let split = driver::feed(data, &cuts, &config.limits, config.proxy);
        assert!(
            same(&whole, &split),
            "whole: {whole:?}\nsplit at {cuts:?}: {split:?}"
        );
    }
});
