//! Which peers a trust setting admits: Gunicorn's `forwarded_allow_ips`
//! and `proxy_allow_ips`, comma-separated IP addresses and CIDR networks,
//! or `*` for every peer.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AllowList {
    any: bool,
    /// Network addresses with their prefix length; a single address is a
    /// network of its full length.
    networks: Vec<(IpAddr, u8)>,
}

const ALLOWED: &str = "allowed: IP addresses (10.0.0.1, ::1) and networks (10.0.0.0/8, fd00::/8) separated by commas, or * for any peer";

impl AllowList {
    /// Parses the setting's text. Empty entries are skipped, so an empty
    /// list admits no IP peer. As with Python's strict `ip_network`, a
    /// network with host bits set (`192.168.1.1/24`) is refused: it is
    /// more likely a typo than a wish for `192.168.1.0/24`.
    pub fn parse(list: &str) -> Result<AllowList, String> {
        let mut out = AllowList::default();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            if entry == "*" {
                out.any = true;
                continue;
            }
            let (addr, prefix) = match entry.split_once('/') {
                Some((addr, prefix)) => (addr, Some(prefix)),
                None => (entry, None),
            };
            let Ok(addr) = addr.parse::<IpAddr>() else {
                return Err(format!(
                    "{entry:?} is not an IP address or a network; {ALLOWED}"
                ));
            };
            let bits = if addr.is_ipv4() { 32 } else { 128 };
            let prefix = match prefix {
                None => bits,
                Some(p) => match p.parse::<u8>() {
                    Ok(n) if n <= bits && p.bytes().all(|b| b.is_ascii_digit()) => n,
                    _ => {
                        return Err(format!(
                            "{entry:?} has an invalid prefix length: it must be 0 to {bits}"
                        ))
                    }
                },
            };
            let network = masked(addr, prefix);
            if network != addr {
                return Err(format!(
                    "{entry:?} has host bits set: the network is {network}/{prefix}"
                ));
            }
            out.networks.push((network, prefix));
        }
        Ok(out)
    }

    /// Whether `peer` is admitted. `None` is a peer without an IP address (a
    /// Unix socket): always admitted, as in Gunicorn, since only processes on
    /// this machine with access to the socket file can connect. An IPv4
    /// client of a dual-stack IPv6 socket (`::ffff:10.0.0.1`) also matches its
    /// IPv4 entries.
    pub fn allows(&self, peer: Option<IpAddr>) -> bool {
        let Some(ip) = peer else { return true };
        if self.any {
            return true;
        }
        let canonical = ip.to_canonical();
        self.networks.iter().any(|&(net, prefix)| {
            let within = |ip: IpAddr| ip.is_ipv4() == net.is_ipv4() && masked(ip, prefix) == net;
            within(ip) || (canonical != ip && within(canonical))
        })
    }
}

fn masked(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from(Ipv4Addr::from(u32::from(a) & mask))
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::from(Ipv6Addr::from(u128::from(a) & mask))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn addresses_and_networks() {
        let list = AllowList::parse(" 127.0.0.1, ::1 ,10.0.0.0/8,fd00::/8,").unwrap();
        for yes in ["127.0.0.1", "::1", "10.1.2.3", "10.255.255.255", "fd12::1"] {
            assert!(list.allows(ip(yes)), "{yes}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "fe00::1", "9.255.255.255"] {
            assert!(!list.allows(ip(no)), "{no}");
        }
    }

    #[test]
    fn an_ipv4_entry_matches_an_ipv4_mapped_peer_but_families_do_not_mix() {
        let list = AllowList::parse("127.0.0.1,192.168.0.0/16").unwrap();
        assert!(list.allows(ip("::ffff:127.0.0.1")));
        assert!(list.allows(ip("::ffff:192.168.3.4")));
        assert!(
            !list.allows(ip("::127.0.0.1")),
            "IPv4-compatible addresses are not mapped ones"
        );
        let v6 = AllowList::parse("::/0").unwrap();
        assert!(v6.allows(ip("2001:db8::1")));
        assert!(
            !v6.allows(ip("10.0.0.1")),
            "an IPv6 network holds no IPv4 peer"
        );
        let v4 = AllowList::parse("0.0.0.0/0").unwrap();
        assert!(v4.allows(ip("10.0.0.1")) && !v4.allows(ip("2001:db8::1")));
    }

    #[test]
    fn star_empty_and_unix_peers() {
        let any = AllowList::parse("10.0.0.1, *").unwrap();
        assert!(any.allows(ip("203.0.113.9")) && any.allows(ip("2001:db8::9")));
        let none = AllowList::parse("").unwrap();
        assert!(!none.allows(ip("127.0.0.1")));
        assert!(none.allows(None), "a Unix-socket peer is always admitted");
    }

    #[test]
    fn refusals_name_the_entry() {
        for (bad, message) in [
            (
                "10.0.0.300",
                "\"10.0.0.300\" is not an IP address or a network; allowed: ",
            ),
            ("localhost", "\"localhost\" is not an IP address"),
            (
                "10.0.0.0/33",
                "\"10.0.0.0/33\" has an invalid prefix length: it must be 0 to 32",
            ),
            ("::/129", "it must be 0 to 128"),
            ("10.0.0.0/+8", "invalid prefix length"),
            ("10.0.0.0/", "invalid prefix length"),
            (
                "192.168.1.1/24",
                "\"192.168.1.1/24\" has host bits set: the network is 192.168.1.0/24",
            ),
            ("fd00::1/8", "the network is fd00::/8"),
            ("127.0.0.1,nope", "\"nope\""),
        ] {
            let err = AllowList::parse(bad).unwrap_err();
            assert!(
                err.starts_with(message) || err.contains(message),
                "{bad}: {err}"
            );
        }
    }
}
