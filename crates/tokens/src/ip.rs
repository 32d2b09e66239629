//! IP allow-lists: addresses or CIDR blocks, IPv4 and IPv6.

use std::net::IpAddr;

/// An empty list allows any address; entries are addresses or CIDR blocks.
pub fn ip_allowed(allowed: &[String], ip: IpAddr) -> bool {
    allowed.is_empty() || ip_listed(allowed, ip)
}

/// Whether an entry of `list` (addresses or CIDR blocks) holds `ip`; none of an empty list.
pub fn ip_listed(list: &[String], ip: IpAddr) -> bool {
    list.iter().any(|entry| cidr_contains(entry, ip))
}

fn cidr_contains(entry: &str, ip: IpAddr) -> bool {
    let (network, bits) = match entry.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (entry, None),
    };
    let Ok(network) = network.trim().parse::<IpAddr>() else {
        return false;
    };
    let ip = match (network, ip) {
        (IpAddr::V4(_), IpAddr::V6(v6)) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        _ => ip,
    };
    match (network, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(
            u128::from(u32::from(n)),
            u128::from(u32::from(a)),
            bits.unwrap_or(32),
            32,
        ),
        (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(u128::from(n), u128::from(a), bits.unwrap_or(128), 128),
        _ => false,
    }
}

/// An address or a CIDR block, as a network and its prefix length; `None` when it is
/// neither.
fn block(entry: &str) -> Option<(IpAddr, u32)> {
    let (network, bits) = entry.trim().split_once('/').unwrap_or((entry.trim(), ""));
    let network = network.parse::<IpAddr>().ok()?;
    let width = if network.is_ipv4() { 32 } else { 128 };
    let bits = if bits.is_empty() { width } else { bits.parse().ok()? };
    (bits <= width).then_some((network, bits))
}

/// Whether `entry` is an address or a CIDR block.
pub fn ip_range_valid(entry: &str) -> bool {
    block(entry).is_some()
}

/// Whether every address of the block `inner` lies in one block of `outer`: its
/// network is listed there under a prefix no longer than its own.
pub fn range_within(inner: &str, outer: &[String]) -> bool {
    let Some((network, bits)) = block(inner) else {
        return false;
    };
    // Same family only: an IPv4-mapped IPv6 block's prefix does not compare with an
    // IPv4 one (`::ffff:192.0.2.0/96` would hold every IPv4 address).
    outer
        .iter()
        .filter_map(|o| block(o))
        .filter(|(o_network, _)| o_network.is_ipv4() == network.is_ipv4())
        .any(|(o_network, o_bits)| o_bits <= bits && cidr_contains(&format!("{o_network}/{o_bits}"), network))
}

fn prefix_eq(network: u128, addr: u128, bits: u32, width: u32) -> bool {
    if bits > width {
        return false;
    }
    let shift = width - bits;
    shift >= 128 || (network >> shift) == (addr >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allow_lists() {
        let list = vec![
            "10.0.0.0/8".to_string(),
            "192.168.1.7".to_string(),
            "2001:db8::/32".to_string(),
        ];
        assert!(ip_allowed(&[], ip("1.2.3.4")));
        assert!(ip_allowed(&list, ip("10.200.3.4")));
        assert!(ip_allowed(&list, ip("192.168.1.7")));
        assert!(!ip_allowed(&list, ip("192.168.1.8")));
        assert!(ip_allowed(&list, ip("2001:db8::1")));
        assert!(ip_allowed(&list, ip("::ffff:10.1.1.1")));
        assert!(!ip_allowed(&list, ip("11.0.0.1")));
        assert!(ip_allowed(&["0.0.0.0/0".to_string()], ip("8.8.8.8")));
        assert!(!ip_allowed(&["garbage".to_string()], ip("8.8.8.8")));
    }

    #[test]
    fn blocks_within_blocks() {
        let outer = vec!["10.0.0.0/8".to_string(), "2001:db8::/32".to_string()];
        assert!(range_within("10.1.0.0/16", &outer));
        assert!(range_within("10.1.2.3", &outer));
        assert!(range_within("10.0.0.0/8", &outer));
        assert!(!range_within("10.0.0.0/7", &outer), "wider than what is allowed");
        assert!(!range_within("11.0.0.0/16", &outer));
        assert!(range_within("2001:db8:1::/48", &outer));
        assert!(!range_within("2001:db9::/48", &outer));
        assert!(!range_within("garbage", &outer));
        assert!(
            !range_within("::ffff:10.0.0.0/96", &outer),
            "a mapped block is no IPv4 block"
        );
        assert!(!range_within("::ffff:10.1.0.0/112", &outer));
        assert!(!range_within("10.0.0.0/33", &outer));
        assert!(ip_range_valid("192.0.2.0/24") && ip_range_valid("::1") && !ip_range_valid("1.2.3.4/40"));
    }

    #[test]
    fn prefixes_longer_than_the_address_match_nothing() {
        assert!(!ip_allowed(&["10.0.0.0/33".to_string()], ip("10.0.0.0")));
        assert!(!ip_allowed(&["2001:db8::/129".to_string()], ip("2001:db8::")));
        assert!(ip_allowed(&["::/0".to_string()], ip("2001:db8::1")));
        assert!(!ip_allowed(&["2001:db8::/32".to_string()], ip("10.0.0.1")));
    }
}
