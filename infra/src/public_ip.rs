//! Whether an IP address is a public unicast host: not in any range of the IANA special-purpose
//! address registries that is not globally reachable ("IANA IPv4 Special-Purpose Address
//! Registry", "IANA IPv6 Special-Purpose Address Registry", RFC 6890), not multicast (a URL's
//! host is one machine), and, for IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64,
//! 6to4), not carrying a non-public one. The standard library's `is_global` is unstable and the
//! crates that copy it miss the embedded forms, so the registries are tabled here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// IPv4 ranges that are not public hosts: (first address, prefix length, registry name).
const V4: [([u8; 4], u8, &str); 15] = [
    ([0, 0, 0, 0], 8, "\"this network\" (RFC 791)"),
    ([10, 0, 0, 0], 8, "private-use (RFC 1918)"),
    ([100, 64, 0, 0], 10, "shared address space (RFC 6598)"),
    ([127, 0, 0, 0], 8, "loopback (RFC 1122)"),
    ([169, 254, 0, 0], 16, "link-local (RFC 3927)"),
    ([172, 16, 0, 0], 12, "private-use (RFC 1918)"),
    ([192, 0, 0, 0], 24, "IETF protocol assignments (RFC 6890)"),
    ([192, 0, 2, 0], 24, "documentation (RFC 5737)"),
    ([192, 88, 99, 0], 24, "6to4 relay anycast (RFC 7526)"),
    ([192, 168, 0, 0], 16, "private-use (RFC 1918)"),
    ([198, 18, 0, 0], 15, "benchmarking (RFC 2544)"),
    ([198, 51, 100, 0], 24, "documentation (RFC 5737)"),
    ([203, 0, 113, 0], 24, "documentation (RFC 5737)"),
    ([224, 0, 0, 0], 4, "multicast (RFC 5771)"),
    ([240, 0, 0, 0], 4, "reserved (RFC 1112), with the limited broadcast address"),
];

/// The two globally reachable addresses inside 192.0.0.0/24 (PCP and TURN anycast).
const V4_GLOBAL_EXCEPTIONS: [[u8; 4]; 2] = [[192, 0, 0, 9], [192, 0, 0, 10]];

/// IPv6 ranges that are not public hosts, or carry an IPv4 address checked in its turn.
const V6: [(Ipv6Addr, u8, &str); 13] = [
    (Ipv6Addr::UNSPECIFIED, 128, "unspecified (RFC 4291)"),
    (Ipv6Addr::LOCALHOST, 128, "loopback (RFC 4291)"),
    (Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0), 96, "IPv4-compatible, deprecated (RFC 4291)"),
    (Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0), 48, "IPv4/IPv6 local-use translation (RFC 8215)"),
    (Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0), 64, "discard-only (RFC 6666)"),
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23, "IETF protocol assignments (RFC 2928)"),
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32, "documentation (RFC 3849)"),
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20, "documentation (RFC 9637)"),
    (Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0), 16, "segment routing SIDs (RFC 9602)"),
    (Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0), 7, "unique local (RFC 4193)"),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local (RFC 4291)"),
    (Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0), 10, "site-local, deprecated (RFC 3879)"),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast (RFC 4291)"),
];

/// Globally reachable ranges inside 2001::/23 (the registry's exceptions).
const V6_GLOBAL_EXCEPTIONS: [(Ipv6Addr, u8); 7] = [
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 1), 128),
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 2), 128),
    (Ipv6Addr::new(0x2001, 1, 0, 0, 0, 0, 0, 3), 128),
    (Ipv6Addr::new(0x2001, 3, 0, 0, 0, 0, 0, 0), 32),
    (Ipv6Addr::new(0x2001, 4, 0x112, 0, 0, 0, 0, 0), 48),
    (Ipv6Addr::new(0x2001, 0x20, 0, 0, 0, 0, 0, 0), 28),
    (Ipv6Addr::new(0x2001, 0x30, 0, 0, 0, 0, 0, 0), 28),
];

fn in_v4(ip: Ipv4Addr, (net, len): ([u8; 4], u8)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len): (Ipv6Addr, u8)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

/// Why `ip` is not a public unicast host (the registry range it is in), or `None` when it is.
pub fn not_public(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => {
            if V4_GLOBAL_EXCEPTIONS.iter().any(|e| Ipv4Addr::from(*e) == v4) {
                return None;
            }
            V4.iter().find(|(net, len, _)| in_v4(v4, (*net, *len))).map(|(_, _, what)| (*what).to_owned())
        }
        IpAddr::V6(v6) => {
            // Forms that carry an IPv4 address: the IPv4 address decides.
            let embedded = if let Some(v4) = v6.to_ipv4_mapped() {
                Some(("IPv4-mapped", v4))
            } else if in_v6(v6, (Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96)) {
                Some(("NAT64", Ipv4Addr::from((u128::from(v6) & 0xffff_ffff) as u32)))
            } else if in_v6(v6, (Ipv6Addr::new(0x2002, 0, 0, 0, 0, 0, 0, 0), 16)) {
                Some(("6to4", Ipv4Addr::from((u128::from(v6) >> 80) as u32)))
            } else {
                None
            };
            if let Some((form, v4)) = embedded {
                return not_public(IpAddr::V4(v4)).map(|why| format!("{form} form of {v4}, {why}"));
            }
            if V6_GLOBAL_EXCEPTIONS.iter().any(|e| in_v6(v6, *e)) {
                return None;
            }
            V6.iter().find(|(net, len, _)| in_v6(v6, (*net, *len))).map(|(_, _, what)| (*what).to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each range with an address inside it and its nearest public neighbours.
    #[test]
    fn special_purpose_addresses_are_not_public() {
        let rows: &[(&str, Option<&str>)] = &[
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("0.1.2.3", Some("\"this network\"")),
            ("1.0.0.0", None),
            ("10.0.0.1", Some("private-use")),
            ("11.0.0.1", None),
            ("100.64.0.1", Some("shared address space")),
            ("100.63.255.255", None),
            ("100.128.0.0", None),
            ("127.0.0.1", Some("loopback")),
            ("169.254.169.254", Some("link-local")),
            ("172.16.0.1", Some("private-use")),
            ("172.32.0.1", None),
            ("192.0.0.1", Some("IETF protocol assignments")),
            ("192.0.0.9", None),
            ("192.0.2.1", Some("documentation")),
            ("192.88.99.1", Some("6to4 relay anycast")),
            ("192.168.1.1", Some("private-use")),
            ("198.18.0.1", Some("benchmarking")),
            ("198.20.0.1", None),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.9", Some("documentation")),
            ("223.255.255.255", None),
            ("224.0.0.1", Some("multicast")),
            ("240.0.0.1", Some("reserved")),
            ("255.255.255.255", Some("reserved")),
            ("2606:4700:4700::1111", None),
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("::7f00:1", Some("IPv4-compatible")),
            ("::ffff:0:0", Some("IPv4-mapped form of 0.0.0.0")),
            ("::ffff:127.0.0.1", Some("IPv4-mapped form of 127.0.0.1, loopback")),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::7f00:1", Some("NAT64 form of 127.0.0.1")),
            ("64:ff9b::808:808", None),
            ("64:ff9b:1::1", Some("local-use translation")),
            ("100::1", Some("discard-only")),
            ("2001::1", Some("IETF protocol assignments")),
            ("2001:3::1", None),
            ("2001:1::3", None),
            ("2001:1::4", Some("IETF protocol assignments")),
            ("2001:db8::1", Some("documentation")),
            ("2002:7f00:1::", Some("6to4 form of 127.0.0.1")),
            ("2002:808:808::", None),
            ("3fff::1", Some("documentation")),
            ("5f00::1", Some("segment routing")),
            ("fc00::1", Some("unique local")),
            ("fd12::1", Some("unique local")),
            ("fe80::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("ff02::1", Some("multicast")),
            ("ff0e::1", Some("multicast")),
        ];
        for (text, want) in rows {
            let got = not_public(text.parse().unwrap());
            match (&got, want) {
                (None, None) => {}
                (Some(g), Some(w)) => assert!(g.contains(w), "{text}: {g} does not say {w}"),
                _ => panic!("{text}: got {got:?}, want {want:?}"),
            }
        }
    }
}
