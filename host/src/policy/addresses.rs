//! Address classes for outgoing connections: which IP addresses count as
//! public, so that a grant of a host name cannot reach loopback, private,
//! link-local (cloud metadata) or reserved networks through a DNS answer.
//!
//! Written here rather than taken from a crate: std's `is_global` is not
//! stable, and which ranges a sandboxed tool may reach is moat's policy, so
//! each range is listed with the reason it is refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Whether `ip` is an ordinary public unicast address. Everything else
/// (loopback, private, link-local including cloud metadata, carrier-grade NAT,
/// multicast, reserved, documentation, and IPv6 forms that embed them) is
/// refused unless a grant names it.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v6(v6: Ipv6Addr) -> bool {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = v6.segments();
    let octets = v6.octets();
    let v4_at = |i: usize| Ipv4Addr::new(octets[i], octets[i + 1], octets[i + 2], octets[i + 3]);
    // Well-known NAT64 (64:ff9b::/96) carries an IPv4 address in its last 32
    // bits, and 6to4 (2002::/16) one in bits 16 to 48: they are as public as
    // the address they carry.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(v4_at(12));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(v4_at(2));
    }
    !(v6.is_unspecified()
        || v6.is_loopback()
        || v6.is_multicast()
        // IPv4-compatible (::/96, deprecated): ::a.b.c.d is no public route.
        || segments[..6] == [0, 0, 0, 0, 0, 0]
        // Local-use NAT64 (64:ff9b:1::/48): a translator of the local network.
        || segments[..3] == [0x64, 0xff9b, 1]
        // Discard-only (100::/64).
        || segments[..4] == [0x100, 0, 0, 0]
        // IETF protocol assignments (2001::/23): Teredo (2001::/32, which
        // carries an IPv4 server and client), benchmarking, ORCHID.
        || (segments[0] == 0x2001 && segments[1] < 0x200)
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || (segments[0] == 0x3fff && segments[1] < 0x1000) // documentation (3fff::/20)
        || (segments[0] & 0xfe00) == 0xfc00 // unique local, incl. fd00:ec2::254 (metadata)
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] & 0xffc0) == 0xfec0) // site-local (deprecated)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || a == 0
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, incl. 169.254.169.254 (metadata)
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a >= 240 // reserved
        || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 88 && c == 99) // 6to4 relay anycast (deprecated)
        || (a == 198 && (18..20).contains(&b))) // benchmarking
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "fd00:ec2::254",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            // 6to4 of loopback, private and metadata addresses.
            "2002:7f00:1::1",
            "2002:c0a8:101::1",
            "2002:a9fe:a9fe::",
            // Teredo, whatever it carries; local-use NAT64; discard-only.
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::5db8:d822",
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1::5db8:d822",
            "100::1",
            // IPv4-compatible forms of private and public addresses alike.
            "::7f00:1",
            "::a9fe:a9fe",
            "::5db8:d822",
            // Benchmarking, ORCHID, the new documentation prefix, 6to4 relays.
            "2001:2::1",
            "2001:20::1",
            "3fff::1",
            "192.88.99.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private} must not count as public");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "2001:4860:4860::8888",
            // Forms that carry a public IPv4 address are as public as it is.
            "64:ff9b::5db8:d822",
            "2002:5db8:d822::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
