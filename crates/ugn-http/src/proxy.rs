//! PROXY protocol v1 (text) and v2 (binary) header parsing.
//!
//! The caller decides whether the peer may send one (Gunicorn's
//! `proxy_allow_ips`); this only reads the bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use crate::request::Parsed;
use crate::Error;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyHeader {
    /// The stream does not start with a PROXY header (Gunicorn's "auto"
    /// mode treats it as optional); nothing was consumed.
    None,
    V1 {
        source: SocketAddr,
        destination: SocketAddr,
    },
    V2 {
        source: SocketAddr,
        destination: SocketAddr,
    },
    /// v1 `UNKNOWN`, or v2 PROXY with an unspecified family: the proxy does
    /// not know the client, so use the socket's peer.
    Unknown,
    /// v2 LOCAL: the proxy's own connection (health check); use the socket's
    /// peer.
    Local,
}

impl ProxyHeader {
    /// The client's address, when the header names one; otherwise the
    /// socket's peer stands.
    pub fn source(&self) -> Option<SocketAddr> {
        match self {
            ProxyHeader::V1 { source, .. } | ProxyHeader::V2 { source, .. } => Some(*source),
            ProxyHeader::None | ProxyHeader::Unknown | ProxyHeader::Local => None,
        }
    }
}

/// The header versions a listener accepts (Gunicorn's `proxy_protocol`
/// modes other than `off`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyProtocol {
    V1,
    V2,
    Auto,
}

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The v1 spec's maximum line, CRLF included.
const V1_MAX: usize = 107;

/// Parse a PROXY header at the start of `buf`. Returns the header and the
/// bytes it occupied; `Partial` while `buf` could still become one.
pub fn parse_proxy_header(buf: &[u8]) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] == V2_SIGNATURE[..n] {
        return if n < V2_SIGNATURE.len() {
            Ok(Parsed::Partial)
        } else {
            parse_v2(buf)
        };
    }
    let n = buf.len().min(6);
    if buf[..n] == b"PROXY "[..n] {
        return if n < 6 {
            Ok(Parsed::Partial)
        } else {
            parse_v1(buf)
        };
    }
    Ok(Parsed::Complete((ProxyHeader::None, 0)))
}

/// Parses the PROXY header a connection must start with. Gunicorn reads
/// plain HTTP when no header comes; here the header is required, as the
/// PROXY protocol specification asks (a receiver must not guess whether it is
/// there), so a proxy that was meant to send one and does not is noticed at
/// once instead of every client seeming to be the proxy. A header of a
/// version `mode` does not accept counts as missing.
pub fn parse_required_proxy_header(
    buf: &[u8],
    mode: ProxyProtocol,
) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    let other_version = match mode {
        ProxyProtocol::V1 => Some(V2_SIGNATURE[0]),
        ProxyProtocol::V2 => Some(b'P'),
        ProxyProtocol::Auto => None,
    };
    if other_version.is_some() && buf.first() == other_version.as_ref() {
        return Err(Error::MissingProxyHeader);
    }
    match parse_proxy_header(buf)? {
        Parsed::Complete((ProxyHeader::None, _)) => Err(Error::MissingProxyHeader),
        parsed => Ok(parsed),
    }
}

fn parse_v1(buf: &[u8]) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX {
            Err(Error::InvalidProxyLine)
        } else {
            Ok(Parsed::Partial)
        };
    };
    let line = &buf[..end];
    let mut parts = line.split(|&b| b == b' ');
    parts.next(); // "PROXY"
    let proto = parts.next().ok_or(Error::InvalidProxyLine)?;
    if proto == b"UNKNOWN" {
        return Ok(Parsed::Complete((ProxyHeader::Unknown, end + 2)));
    }
    let mut field = || parts.next().ok_or(Error::InvalidProxyLine);
    let (src, dst, sport, dport) = (field()?, field()?, field()?, field()?);
    if parts.next().is_some() {
        return Err(Error::InvalidProxyLine);
    }
    let (src, dst): (IpAddr, IpAddr) = match proto {
        b"TCP4" => (
            parse_addr::<Ipv4Addr>(src)?.into(),
            parse_addr::<Ipv4Addr>(dst)?.into(),
        ),
        b"TCP6" => (
            parse_addr::<Ipv6Addr>(src)?.into(),
            parse_addr::<Ipv6Addr>(dst)?.into(),
        ),
        _ => return Err(Error::InvalidProxyLine),
    };
    let header = ProxyHeader::V1 {
        source: SocketAddr::new(src, parse_port(sport)?),
        destination: SocketAddr::new(dst, parse_port(dport)?),
    };
    Ok(Parsed::Complete((header, end + 2)))
}

fn parse_addr<T: std::str::FromStr>(s: &[u8]) -> Result<T, Error> {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(Error::InvalidProxyLine)
}

fn parse_port(s: &[u8]) -> Result<u16, Error> {
    if s.is_empty() || s.len() > 5 || !s.iter().all(u8::is_ascii_digit) {
        return Err(Error::InvalidProxyLine);
    }
    parse_addr(s)
}

fn parse_v2(buf: &[u8]) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    if buf.len() < 16 {
        return Ok(Parsed::Partial);
    }
    let (version, command) = (buf[12] >> 4, buf[12] & 0x0f);
    if version != 2 || command > 1 {
        return Err(Error::InvalidProxyHeader);
    }
    let total = 16 + usize::from(u16::from_be_bytes([buf[14], buf[15]]));
    if buf.len() < total {
        return Ok(Parsed::Partial);
    }
    if command == 0 {
        return Ok(Parsed::Complete((ProxyHeader::Local, total)));
    }
    let (family, transport) = (buf[13] >> 4, buf[13] & 0x0f);
    let addr = &buf[16..total];
    let header = match family {
        0 => ProxyHeader::Unknown,
        // Only TCP carries HTTP; UDP or a UNIX socket here is a misconfigured proxy.
        1 | 2 if transport != 1 => return Err(Error::InvalidProxyHeader),
        1 if addr.len() >= 12 => {
            let ip =
                |i: usize| IpAddr::from(<[u8; 4]>::try_from(&addr[i..i + 4]).expect("4 bytes"));
            let port = |i: usize| u16::from_be_bytes([addr[i], addr[i + 1]]);
            ProxyHeader::V2 {
                source: SocketAddr::new(ip(0), port(8)),
                destination: SocketAddr::new(ip(4), port(10)),
            }
        }
        2 if addr.len() >= 36 => {
            let ip =
                |i: usize| IpAddr::from(<[u8; 16]>::try_from(&addr[i..i + 16]).expect("16 bytes"));
            let port = |i: usize| u16::from_be_bytes([addr[i], addr[i + 1]]);
            ProxyHeader::V2 {
                source: SocketAddr::new(ip(0), port(32)),
                destination: SocketAddr::new(ip(16), port(34)),
            }
        }
        _ => return Err(Error::InvalidProxyHeader),
    };
    Ok(Parsed::Complete((header, total)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complete(buf: &[u8]) -> (ProxyHeader, usize) {
        match parse_proxy_header(buf) {
            Ok(Parsed::Complete(c)) => c,
            other => panic!("{buf:?}: {other:?}"),
        }
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn v1() {
        let raw = b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n";
        let (h, n) = complete(raw);
        assert_eq!(
            h,
            ProxyHeader::V1 {
                source: addr("192.168.0.1:56324"),
                destination: addr("192.168.0.11:443")
            }
        );
        assert_eq!(&raw[n..], b"GET / HTTP/1.1\r\n");
        for i in 0..n {
            assert_eq!(
                parse_proxy_header(&raw[..i]),
                Ok(Parsed::Partial),
                "prefix {i}"
            );
        }

        let (h, _) = complete(b"PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
        assert_eq!(
            h,
            ProxyHeader::V1 {
                source: addr("[2001:db8::1]:1"),
                destination: addr("[::1]:65535")
            }
        );
        assert_eq!(complete(b"PROXY UNKNOWN\r\n"), (ProxyHeader::Unknown, 15));
        assert_eq!(
            complete(b"PROXY UNKNOWN ffff::1 ::1 1 2\r\n").0,
            ProxyHeader::Unknown
        );
    }

    #[test]
    fn v1_rejections() {
        for bad in [
            &b"PROXY TCP4 192.168.0.1 192.16...\r\n"[..],
            b"PROXY TCP4 192.168.0.1 192.168.0.11 65iii 100000\r\n",
            b"PROXY TCP4 not-an-ip 192.168.0.11 56324 443\r\n",
            b"PROXY TCP4 1.2.3.4 1.2.3.5 1 65536\r\n",
            b"PROXY TCP4 1.2.3.4 1.2.3.5 +1 2\r\n",
            b"PROXY TCP4 1.2.3.4 1.2.3.5 1 2 3\r\n",
            b"PROXY TCP4 1.2.3.4  1.2.3.5 1 2\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 1.2.3.5 1 2\r\n",
            b"PROXY TCP5 1.2.3.4 1.2.3.5 1 2\r\n",
            b"PROXY \r\n",
        ] {
            assert_eq!(
                parse_proxy_header(bad),
                Err(Error::InvalidProxyLine),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // No CRLF within the spec's 107 bytes.
        let mut long = b"PROXY TCP4 ".to_vec();
        long.resize(106, b'1');
        assert_eq!(parse_proxy_header(&long), Ok(Parsed::Partial));
        long.push(b'1');
        assert_eq!(parse_proxy_header(&long), Err(Error::InvalidProxyLine));
    }

    #[test]
    fn not_a_proxy_header() {
        assert_eq!(complete(b"GET / HTTP/1.1\r\n"), (ProxyHeader::None, 0));
        assert_eq!(complete(b"PROXZ"), (ProxyHeader::None, 0));
        assert_eq!(complete(b"\r\nGET"), (ProxyHeader::None, 0));
        assert_eq!(parse_proxy_header(b""), Ok(Parsed::Partial));
        assert_eq!(parse_proxy_header(b"PROX"), Ok(Parsed::Partial));
        assert_eq!(parse_proxy_header(b"\r\n\r\n\0"), Ok(Parsed::Partial));
    }

    fn v2(ver_cmd: u8, fam: u8, addr: &[u8]) -> Vec<u8> {
        let mut raw = V2_SIGNATURE.to_vec();
        raw.extend_from_slice(&[ver_cmd, fam]);
        raw.extend_from_slice(&(addr.len() as u16).to_be_bytes());
        raw.extend_from_slice(addr);
        raw
    }

    #[test]
    fn v2_ipv4_and_ipv6() {
        let mut raw = v2(
            0x21,
            0x11,
            &[192, 168, 1, 10, 192, 168, 1, 1, 0x30, 0x39, 0x01, 0xbb],
        );
        raw.extend_from_slice(b"GET /");
        let (h, n) = complete(&raw);
        assert_eq!(
            h,
            ProxyHeader::V2 {
                source: addr("192.168.1.10:12345"),
                destination: addr("192.168.1.1:443")
            }
        );
        assert_eq!(&raw[n..], b"GET /");
        for i in 0..n {
            assert_eq!(
                parse_proxy_header(&raw[..i]),
                Ok(Parsed::Partial),
                "prefix {i}"
            );
        }

        let mut a = [0u8; 36];
        a[..16].copy_from_slice(&"2001:db8::1".parse::<Ipv6Addr>().unwrap().octets());
        a[16..32].copy_from_slice(&"2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        a[32..].copy_from_slice(&[0xd4, 0x31, 0x00, 0x50]);
        let (h, n) = complete(&v2(0x21, 0x21, &a));
        assert_eq!(
            h,
            ProxyHeader::V2 {
                source: addr("[2001:db8::1]:54321"),
                destination: addr("[2001:db8::2]:80")
            }
        );
        assert_eq!(n, 16 + 36);

        // TLVs after the addresses are skipped with the rest of the header.
        let mut tlv = vec![10, 0, 0, 1, 10, 0, 0, 2, 0, 1, 0, 2];
        tlv.extend_from_slice(&[0x04, 0x00, 0x01, 0xff]);
        assert_eq!(complete(&v2(0x21, 0x11, &tlv)).1, 16 + 16);
    }

    #[test]
    fn v2_local_unspec_and_rejections() {
        assert_eq!(complete(&v2(0x20, 0x00, &[])), (ProxyHeader::Local, 16));
        assert_eq!(
            complete(&v2(0x20, 0x11, &[1, 2, 3])),
            (ProxyHeader::Local, 19)
        );
        assert_eq!(complete(&v2(0x21, 0x00, &[])).0, ProxyHeader::Unknown);
        for (ver_cmd, fam, len) in [
            (0x11, 0x11, 12),  // version 1
            (0x22, 0x11, 12),  // command 2
            (0x21, 0x12, 12),  // UDP
            (0x21, 0x31, 216), // UNIX
            (0x21, 0x11, 11),  // short IPv4
            (0x21, 0x21, 35),  // short IPv6
            (0x21, 0x41, 12),  // unknown family
        ] {
            assert_eq!(
                parse_proxy_header(&v2(ver_cmd, fam, &vec![0; len])),
                Err(Error::InvalidProxyHeader),
                "{ver_cmd:x} {fam:x}"
            );
        }
    }

    #[test]
    fn required_header_by_mode() {
        let v1 = b"PROXY TCP4 10.0.0.1 10.0.0.2 1000 80\r\nGET /";
        let tcp4 = v2(0x21, 0x11, &[10, 0, 0, 1, 10, 0, 0, 2, 0x03, 0xe8, 0, 80]);
        let source = Some(addr("10.0.0.1:1000"));
        for (mode, v1_ok, v2_ok) in [
            (ProxyProtocol::Auto, true, true),
            (ProxyProtocol::V1, true, false),
            (ProxyProtocol::V2, false, true),
        ] {
            let got = |raw: &[u8]| match parse_required_proxy_header(raw, mode) {
                Ok(Parsed::Complete((h, _))) => Ok(h.source()),
                Ok(Parsed::Partial) => panic!("{mode:?}: partial"),
                Err(e) => Err(e),
            };
            assert_eq!(
                got(v1),
                if v1_ok {
                    Ok(source)
                } else {
                    Err(Error::MissingProxyHeader)
                },
                "{mode:?} v1"
            );
            assert_eq!(
                got(&tcp4),
                if v2_ok {
                    Ok(source)
                } else {
                    Err(Error::MissingProxyHeader)
                },
                "{mode:?} v2"
            );
            assert_eq!(
                got(b"GET / HTTP/1.1\r\n"),
                Err(Error::MissingProxyHeader),
                "{mode:?} plain HTTP"
            );
            assert_eq!(parse_required_proxy_header(b"", mode), Ok(Parsed::Partial));
        }
        // The wrong version is refused from its first byte, without waiting for more.
        assert_eq!(
            parse_required_proxy_header(b"\r", ProxyProtocol::V1),
            Err(Error::MissingProxyHeader)
        );
        assert_eq!(
            parse_required_proxy_header(b"P", ProxyProtocol::V2),
            Err(Error::MissingProxyHeader)
        );
        assert_eq!(
            parse_required_proxy_header(b"PROX", ProxyProtocol::V1),
            Ok(Parsed::Partial)
        );
        assert_eq!(
            parse_required_proxy_header(b"PROXY TCP9\r\n", ProxyProtocol::Auto),
            Err(Error::InvalidProxyLine)
        );
        assert_eq!(complete(b"PROXY UNKNOWN\r\n").0.source(), None);
        assert_eq!(complete(&v2(0x20, 0x00, &[])).0.source(), None);
    }
}
