//! Authority syntax: the `Host` field value (`uri-host [ ":" port ]`, RFC
//! 9112 §3.2) and CONNECT's authority-form target (`uri-host ":" port`, RFC
//! 9112 §3.2.3), with `uri-host` as RFC 3986 §3.2.2 defines it: an
//! IP-literal in brackets (IPv6 or IPvFuture), or a reg-name, of which an
//! IPv4 address is a special case. Byte checks over a short value, no
//! allocation.

use std::net::Ipv6Addr;

use crate::request::alphanumeric_and;

/// Bytes a reg-name may hold (RFC 3986 §3.2.2): unreserved and sub-delims,
/// and `%` starting a pct-encoded octet (checked apart). `,` is a sub-delim
/// but is left out: Host is a singleton (RFC 9110 §5.3), and a comma in its
/// value is what a list of hosts, or two Host lines combined into one,
/// looks like.
static REG_NAME: [bool; 256] = alphanumeric_and(b"-._~!$&'()*+;=%");

/// [`REG_NAME`] without `%`: the bytes of a reg-name without pct-encoding.
static PLAIN_REG_NAME: [bool; 256] = alphanumeric_and(b"-._~!$&'()*+;=");

fn is_reg_name(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if !REG_NAME[usize::from(b)] {
            return false;
        }
        if b == b'%' {
            // pct-encoded = "%" HEXDIG HEXDIG
            if !(i + 2 < s.len() && s[i + 1].is_ascii_hexdigit() && s[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// What is inside the brackets of an IP-literal: an IPv6 address, or
/// IPvFuture (`"v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" )`).
fn is_ip_literal(inner: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = inner {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        let (version, address) = (&rest[..dot], &rest[dot + 1..]);
        return !version.is_empty()
            && version.iter().all(u8::is_ascii_hexdigit)
            && !address.is_empty()
            && address
                .iter()
                .all(|&b| (REG_NAME[usize::from(b)] && b != b'%') || b == b',' || b == b':');
    }
    std::str::from_utf8(inner).is_ok_and(|s| s.parse::<Ipv6Addr>().is_ok())
}

/// Splits `uri-host [ ":" port ]` and checks the host part; returns the
/// host and, when there is a `:`, the port text (digits not yet checked).
fn split_authority(v: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (host, rest) = if v.first() == Some(&b'[') {
        let close = v.iter().position(|&b| b == b']')?;
        if !is_ip_literal(&v[1..close]) {
            return None;
        }
        v.split_at(close + 1)
    } else {
        // A reg-name holds no ":", so the first one starts the port.
        let colon = v.iter().position(|&b| b == b':').unwrap_or(v.len());
        let (host, rest) = v.split_at(colon);
        if !is_reg_name(host) {
            return None;
        }
        (host, rest)
    };
    match rest {
        [] => Some((host, None)),
        [b':', port @ ..] => Some((host, Some(port))),
        _ => None,
    }
}

/// A valid `Host` field value: `uri-host [ ":" *DIGIT ]`. Empty is valid
/// (RFC 9112 §3.2: a client sends it when the target has no authority).
pub(crate) fn is_host_value(v: &[u8]) -> bool {
    // The usual value, a reg-name without pct-encoding and an optional
    // port, in one pass; IP-literals and "%" take the full path.
    let plain = v
        .iter()
        .position(|&b| !PLAIN_REG_NAME[usize::from(b)])
        .unwrap_or(v.len());
    match v.get(plain) {
        None => return true,
        Some(b':') => return v[plain + 1..].iter().all(u8::is_ascii_digit),
        Some(_) => {}
    }
    match split_authority(v) {
        Some((_, port)) => port.is_none_or(|p| p.iter().all(u8::is_ascii_digit)),
        None => false,
    }
}

/// A valid CONNECT target (authority-form): `uri-host ":" port`, with a
/// host and a port from 1 to 65535. RFC 9110 §9.3.6: there is no default
/// port, and a CONNECT to an empty or invalid port MUST be refused.
pub(crate) fn is_connect_authority(v: &[u8]) -> bool {
    let Some((host, Some(port))) = split_authority(v) else {
        return false;
    };
    let number = port.iter().try_fold(0u32, |n, &d| {
        let n = n * 10 + u32::from(d.wrapping_sub(b'0'));
        (d.is_ascii_digit() && n <= 65535).then_some(n)
    });
    !host.is_empty() && matches!(number, Some(1..))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_values() {
        for ok in [
            &b""[..],
            b"example.com",
            b"example.com:8080",
            b"example.com:",
            b"EXAMPLE.com.",
            b"localhost",
            b"127.0.0.1",
            b"127.0.0.1:80",
            b"999.1.1.1",
            b"[::1]",
            b"[::1]:8080",
            b"[2001:db8::ff00:42:8329]",
            b"[::ffff:192.0.2.1]:443",
            b"[v1.fe80::a+en1]",
            b"xn--caf-dma.example",
            b"caf%C3%A9.example",
            b"0.0.0.0=5000",
            b"a_b~c-d",
            b"!$&'()*+;=",
        ] {
            assert!(is_host_value(ok), "{:?}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &b"exa mple.com"[..],
            b"user@example.com",
            b"user:pw@example.com",
            b"example.com/path",
            b"example.com?q",
            b"example.com#f",
            b"example.com:abc",
            b"example.com:80:80",
            b"example.com:-1",
            b"a.example, b.example",
            b"a.example,b.example",
            b"caf\xc3\xa9.example",
            b"a%2",
            b"a%zz",
            b"%",
            b"[::1",
            b"::1",
            b"[::1]x",
            b"[::1]:a",
            b"[]",
            b"[example.com]",
            b"[::1%25eth0]",
            b"[v1.]",
            b"[v.x]",
            b"\"example.com\"",
            b"a\tb",
            b"a\\b",
            b"<a>",
        ] {
            assert!(!is_host_value(bad), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn connect_targets() {
        for ok in [
            &b"example.com:443"[..],
            b"[::1]:443",
            b"127.0.0.1:1",
            b"h:65535",
            b"h:00443",
        ] {
            assert!(
                is_connect_authority(ok),
                "{:?}",
                String::from_utf8_lossy(ok)
            );
        }
        for bad in [
            &b"example.com"[..],
            b"example.com:",
            b":443",
            b"[::1]",
            b"/",
            b"h:0",
            b"h:65536",
            b"h:99999999999999999999",
            b"h:+1",
            b"user@h:443",
            b"h:443/",
            b"http://h:443",
        ] {
            assert!(
                !is_connect_authority(bad),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
