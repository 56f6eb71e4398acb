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
    V1 { source: SocketAddr, destination: SocketAddr },
    V2 { source: SocketAddr, destination: SocketAddr },
    /// v1 `UNKNOWN`, or v2 PROXY with an unspecified family: the proxy does
    /// not know the client, so use the socket's peer.
    Unknown,
    /// v2 LOCAL: the proxy's own connection (health check); use the socket's
    /// peer.
    Local,
}

const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";
/// The v1 spec's maximum line, CRLF included.
const V1_MAX: usize = 107;

/// Parse a PROXY header at the start of `buf`. Returns the header and the
/// bytes it occupied; `Partial` while `buf` could still become one.
pub fn parse_proxy_header(buf: &[u8]) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    let n = buf.len().min(V2_SIGNATURE.len());
    if buf[..n] == V2_SIGNATURE[..n] {
        return if n < V2_SIGNATURE.len() { Ok(Parsed::Partial) } else { parse_v2(buf) };
    }
    let n = buf.len().min(6);
    if buf[..n] == b"PROXY "[..n] {
        return if n < 6 { Ok(Parsed::Partial) } else { parse_v1(buf) };
    }
    Ok(Parsed::Complete((ProxyHeader::None, 0)))
}

fn parse_v1(buf: &[u8]) -> Result<Parsed<(ProxyHeader, usize)>, Error> {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(end) = window.windows(2).position(|w| w == b"\r\n") else {
        return if buf.len() >= V1_MAX { Err(Error::InvalidProxyLine) } else { Ok(Parsed::Partial) };
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
        b"TCP4" => (parse_addr::<Ipv4Addr>(src)?.into(), parse_addr::<Ipv4Addr>(dst)?.into()),
        b"TCP6" => (parse_addr::<Ipv6Addr>(src)?.into(), parse_addr::<Ipv6Addr>(dst)?.into()),
        _ => return Err(Error::InvalidProxyLine),
    };
    let header = ProxyHeader::V1 {
        source: SocketAddr::new(src, parse_port(sport)?),
        destination: SocketAddr::new(dst, parse_port(dport)?),
    };
    Ok(Parsed::Complete((header, end + 2)))
}

fn parse_addr<T: std::str::FromStr>(s: &[u8]) -> Result<T, Error> {
    std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()).ok_or(Error::InvalidProxyLine)
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
            let ip = |i: usize| IpAddr::from(<[u8; 4]>::try_from(&addr[i..i + 4]).expect("4 bytes"));
            let port = |i: usize| u16::from_be_bytes([addr[i], addr[i + 1]]);
            ProxyHeader::V2 { source: SocketAddr::new(ip(0), port(8)), destination: SocketAddr::new(ip(4), port(10)) }
        }
        2 if addr.len() >= 36 => {
            let ip = |i: usize| IpAddr::from(<[u8; 16]>::try_from(&addr[i..i + 16]).expect("16 bytes"));
            let port = |i: usize| u16::from_be_bytes([addr[i], addr[i + 1]]);
            ProxyHeader::V2 { source: SocketAddr::new(ip(0), port(32)), destination: SocketAddr::new(ip(16), port(34)) }
        }
        _ => return Err(Error::InvalidProxyHeader),
    };
    Ok(Parsed::Complete((header, total)))
}
