//! What the targets share: the first input byte chooses the limits, whether a PROXY header is
//! required and where the input is cut; the rest is the byte stream a client sends.
//! corpus/seed holds the Gunicorn request corpus with a first byte of 0 (default limits, no
//! cuts), or 4 for the cases that open with a PROXY header.

#![allow(dead_code)]

use ugn_http::{Error, HeaderMap, Limits};

pub struct Config {
    pub limits: Limits,
    pub proxy: bool,
    /// Seeds the cut positions.
    seed: u64,
}

impl Config {
    /// The configuration byte and the stream, or None for an empty input.
    pub fn split(input: &[u8]) -> Option<(Config, &[u8])> {
        let (&flags, data) = input.split_first()?;
        let limits = match flags & 3 {
            0 => Limits::default(),
            1 => Limits {
                max_request_line: 64,
                max_headers: 4,
                max_header_field_size: 64,
                ..Limits::default()
            },
            2 => Limits {
                max_request_line: 0,
                max_headers: 0,
                max_header_field_size: 0,
                permit_unconventional_http_method: true,
                casefold_http_method: true,
                header_map: HeaderMap::Dangerous,
            },
            _ => Limits {
                max_request_line: 16,
                max_headers: 2,
                max_header_field_size: 24,
                header_map: HeaderMap::Refuse,
                ..Limits::default()
            },
        };
        Some((
            Config {
                limits,
                proxy: flags & 4 != 0,
                seed: u64::from(flags >> 3),
            },
            data,
        ))
    }

    /// Up to 16 sorted cut positions inside `len` bytes, the same for the same input.
    pub fn cuts(&self, len: usize) -> Vec<usize> {
        if len < 2 {
            return Vec::new();
        }
        let mut state = self.seed ^ (len as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let mut next = move || {
            // splitmix64
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        let count = 1 + (next() % 16) as usize;
        let mut cuts: Vec<usize> = (0..count)
            .map(|_| 1 + (next() % (len as u64 - 1)) as usize)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }
}

/// The refusals a limit makes (414, 431), found by the line-end pass on every read.
pub fn is_limit(e: &Error) -> bool {
    matches!(
        e,
        Error::RequestLineTooLong | Error::TooManyHeaders | Error::HeaderFieldTooLarge
    )
}
