//! Bind addresses in the forms Gunicorn's `--bind` accepts, so a Gunicorn configuration carries
//! over unchanged.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::fd::RawFd;
use std::path::PathBuf;

/// The port Gunicorn binds when an address names none.
pub const DEFAULT_PORT: u16 = 8000;

const ACCEPTED_FORMS: &str =
    "HOST:PORT, HOST, :PORT, [IPV6]:PORT, tcp://HOST:PORT, unix:PATH, unix://PATH, fd://N";

/// One socket to listen on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindAddr {
    Tcp(SocketAddr),
    /// A path as given: a relative one is relative to the master's working directory.
    Unix(PathBuf),
    /// A listening socket the master inherited (from systemd, or from the master it replaces).
    Fd(RawFd),
}

/// Shown in error messages, in the shape the user wrote it.
impl fmt::Display for BindAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindAddr::Tcp(addr) => write!(f, "{addr}"),
            BindAddr::Unix(path) => write!(f, "unix:{}", path.display()),
            BindAddr::Fd(fd) => write!(f, "fd://{fd}"),
        }
    }
}

/// A bind address that could not be understood or resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindError {
    input: String,
    reason: String,
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid bind address {:?}: {} (accepted forms: {ACCEPTED_FORMS})",
            self.input, self.reason
        )
    }
}

impl std::error::Error for BindError {}

/// Parses one `--bind` value. A host name resolves to every address it has (`localhost` is often
/// both `127.0.0.1` and `::1`), and each of them is bound, so the result may hold several.
pub fn parse_bind(s: &str) -> Result<Vec<BindAddr>, BindError> {
    let fail = |reason: String| BindError {
        input: s.to_owned(),
        reason,
    };
    if let Some(rest) = s.strip_prefix("unix:") {
        // As in Gunicorn, `unix://run/x.sock` is the relative path `run/x.sock`.
        let path = rest.strip_prefix("//").unwrap_or(rest);
        if path.is_empty() {
            return Err(fail("the unix socket path is empty".into()));
        }
        return Ok(vec![BindAddr::Unix(PathBuf::from(path))]);
    }
    if let Some(n) = s.strip_prefix("fd://") {
        return match n.parse::<RawFd>() {
            Ok(fd) if is_digits(n) => Ok(vec![BindAddr::Fd(fd)]),
            _ => Err(fail(format!("{n:?} is not a valid file descriptor"))),
        };
    }
    let netloc = s.strip_prefix("tcp://").unwrap_or(s);
    let (host, port) = split_host_port(netloc).map_err(fail)?;
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![BindAddr::Tcp(SocketAddr::new(ip, port))]);
    }
    let resolved = (host, port)
        .to_socket_addrs()
        .map_err(|e| fail(format!("cannot resolve host {host:?}: {e}")))?;
    let mut addrs: Vec<BindAddr> = Vec::new();
    for addr in resolved.map(BindAddr::Tcp) {
        if !addrs.contains(&addr) {
            addrs.push(addr);
        }
    }
    if addrs.is_empty() {
        return Err(fail(format!("host {host:?} has no addresses")));
    }
    Ok(addrs)
}

/// Splits `host:port`, `[v6]:port`, `host` or `:port`; an empty host means every IPv4 interface,
/// as in Gunicorn.
fn split_host_port(netloc: &str) -> Result<(&str, u16), String> {
    const ANY: &str = "0.0.0.0";
    if let Some(rest) = netloc.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| "missing ']' after the IPv6 address".to_string())?;
        if host.parse::<Ipv6Addr>().is_err() {
            return Err(format!("{host:?} is not an IPv6 address"));
        }
        let port = match after {
            "" => DEFAULT_PORT,
            _ => match after.strip_prefix(':') {
                Some(port) => parse_port(port)?,
                None => return Err(format!("unexpected {after:?} after ']'")),
            },
        };
        return Ok((host, port));
    }
    match netloc.split_once(':') {
        Some((_, rest)) if rest.contains(':') => {
            Err("an IPv6 address needs brackets, e.g. [::1]:8000".into())
        }
        Some((host, port)) => Ok((if host.is_empty() { ANY } else { host }, parse_port(port)?)),
        None if netloc.is_empty() => Ok((ANY, DEFAULT_PORT)),
        // Gunicorn would resolve "8000" as a host name (0.0.31.64); nobody means that.
        None if is_digits(netloc) => Err(format!(
            "{netloc:?} is a host, not a port; write \":{netloc}\" to listen on every interface"
        )),
        None => Ok((netloc, DEFAULT_PORT)),
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(n) if is_digits(port) => Ok(n),
        _ => Err(format!("{port:?} is not a valid port number (0-65535)")),
    }
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn tcp(ip: IpAddr, port: u16) -> Vec<BindAddr> {
        vec![BindAddr::Tcp(SocketAddr::new(ip, port))]
    }

    #[test]
    fn accepts_gunicorn_forms() {
        let v4 = |a, b, c, d| IpAddr::V4(Ipv4Addr::new(a, b, c, d));
        let any = v4(0, 0, 0, 0);
        let cases: Vec<(&str, Vec<BindAddr>)> = vec![
            ("127.0.0.1:8000", tcp(v4(127, 0, 0, 1), 8000)),
            ("127.0.0.1:0", tcp(v4(127, 0, 0, 1), 0)),
            ("127.0.0.1", tcp(v4(127, 0, 0, 1), DEFAULT_PORT)),
            ("0.0.0.0", tcp(any, DEFAULT_PORT)),
            ("", tcp(any, DEFAULT_PORT)),
            (":9000", tcp(any, 9000)),
            ("tcp://10.1.2.3:80", tcp(v4(10, 1, 2, 3), 80)),
            ("[::1]:8000", tcp(IpAddr::V6(Ipv6Addr::LOCALHOST), 8000)),
            ("[::]:8000", tcp(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 8000)),
            ("[::1]", tcp(IpAddr::V6(Ipv6Addr::LOCALHOST), DEFAULT_PORT)),
            (
                "tcp://[::1]:65535",
                tcp(IpAddr::V6(Ipv6Addr::LOCALHOST), 65535),
            ),
            (
                "unix:/run/ugn.sock",
                vec![BindAddr::Unix("/run/ugn.sock".into())],
            ),
            (
                "unix:relative.sock",
                vec![BindAddr::Unix("relative.sock".into())],
            ),
            (
                "unix:///run/ugn.sock",
                vec![BindAddr::Unix("/run/ugn.sock".into())],
            ),
            (
                "unix://run/ugn.sock",
                vec![BindAddr::Unix("run/ugn.sock".into())],
            ),
            ("fd://3", vec![BindAddr::Fd(3)]),
            ("fd://0", vec![BindAddr::Fd(0)]),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_bind(input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn rejects_malformed_forms_with_reason_and_accepted_forms() {
        let cases = [
            ("127.0.0.1:http", "\"http\" is not a valid port number"),
            ("127.0.0.1:", "\"\" is not a valid port number"),
            ("127.0.0.1:65536", "\"65536\" is not a valid port number"),
            ("127.0.0.1:+80", "\"+80\" is not a valid port number"),
            ("8000", "\"8000\" is a host, not a port; write \":8000\""),
            ("::1:8000", "an IPv6 address needs brackets"),
            ("[::1:8000", "missing ']'"),
            ("[::1]8000", "unexpected \"8000\" after ']'"),
            ("[127.0.0.1]:80", "\"127.0.0.1\" is not an IPv6 address"),
            ("unix:", "the unix socket path is empty"),
            ("unix://", "the unix socket path is empty"),
            ("fd://", "\"\" is not a valid file descriptor"),
            ("fd://three", "\"three\" is not a valid file descriptor"),
            ("fd://-1", "\"-1\" is not a valid file descriptor"),
            (
                "no-such-host.invalid:80",
                "cannot resolve host \"no-such-host.invalid\"",
            ),
        ];
        for (input, reason) in cases {
            let message = parse_bind(input).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("invalid bind address {input:?}: ")),
                "{message}"
            );
            assert!(message.contains(reason), "{input:?}: {message}");
            assert!(message.contains(ACCEPTED_FORMS), "{message}");
        }
    }

    #[test]
    fn resolves_a_host_name_to_all_its_addresses_once_each() {
        let addrs = parse_bind("localhost:8000").unwrap();
        assert!(!addrs.is_empty());
        for (i, addr) in addrs.iter().enumerate() {
            let BindAddr::Tcp(sa) = addr else {
                panic!("{addr:?}")
            };
            assert!(sa.ip().is_loopback() && sa.port() == 8000, "{sa}");
            assert!(!addrs[i + 1..].contains(addr), "duplicate {sa}");
        }
        assert!(parse_bind("localhost")
            .unwrap()
            .iter()
            .all(|a| matches!(a, BindAddr::Tcp(sa) if sa.port() == DEFAULT_PORT)));
    }

    #[test]
    fn displays_as_the_user_writes_it() {
        assert_eq!(parse_bind("[::1]:80").unwrap()[0].to_string(), "[::1]:80");
        assert_eq!(
            parse_bind("127.0.0.1:80").unwrap()[0].to_string(),
            "127.0.0.1:80"
        );
        assert_eq!(BindAddr::Unix("a.sock".into()).to_string(), "unix:a.sock");
        assert_eq!(BindAddr::Fd(3).to_string(), "fd://3");
    }
}
