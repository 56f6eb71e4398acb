//! Cached IMF-fixdate for the `Date` header.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use httpdate::HttpDate;

/// Formats `Sun, 06 Nov 1994 08:49:37 GMT` at most once per second: a busy
/// worker answers thousands of requests within the same second.
#[derive(Debug)]
pub struct DateCache {
    secs: u64,
    buf: [u8; 29],
}

impl Default for DateCache {
    fn default() -> Self {
        Self::new()
    }
}

impl DateCache {
    pub fn new() -> Self {
        DateCache {
            secs: u64::MAX,
            buf: [0; 29],
        }
    }

    pub fn get(&mut self) -> &[u8] {
        self.at(SystemTime::now())
    }

    fn at(&mut self, now: SystemTime) -> &[u8] {
        let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        if secs != self.secs {
            let date = HttpDate::from(UNIX_EPOCH + Duration::from_secs(secs));
            // IMF-fixdate is always 29 bytes for years 1000-9999.
            write!(&mut self.buf[..], "{date}").expect("IMF-fixdate fits in 29 bytes");
            self.secs = secs;
        }
        &self.buf
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        let mut c = DateCache::new();
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(c.at(t), b"Sun, 06 Nov 1994 08:49:37 GMT");
        // Sub-second changes reuse the cached text.
        assert_eq!(
            c.at(t + Duration::from_millis(999)),
            b"Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(
            c.at(t + Duration::from_secs(1)),
            b"Sun, 06 Nov 1994 08:49:38 GMT"
        );
    }

    #[test]
    fn now_is_well_formed() {
        let mut c = DateCache::default();
        let d = c.get().to_vec();
        assert_eq!(d.len(), 29);
        assert!(d.ends_with(b" GMT"));
        assert_eq!(d[3], b',');
        assert!(httpdate::parse_http_date(std::str::from_utf8(&d).unwrap()).is_ok());
    }
}
