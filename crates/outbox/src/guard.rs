//! Where a habilitation's own webhook may go. Its holders type the URL: without this
//! check, every replica would POST to whatever it names, the services on its own
//! machine and network included (SSRF). Only public addresses are reached, over
//! https; plain http to this machine only where the configuration allows it (the
//! demo and the tests, whose receiver listens on 127.0.0.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::Url;

/// Whether nothing a habilitation sets may reach `ip`: this machine (unless
/// `loopback` is allowed), a private, shared (CGNAT) or link-local network, an
/// unspecified, broadcast or multicast address.
pub fn forbidden(ip: IpAddr, loopback: bool) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => forbidden_v4(v4, loopback),
        IpAddr::V6(v6) => forbidden_v6(v6, loopback),
    }
}

fn forbidden_v4(ip: Ipv4Addr, loopback: bool) -> bool {
    let [a, b, ..] = ip.octets();
    let cgnat = a == 100 && (64..128).contains(&b);
    (ip.is_loopback() && !loopback)
        || a == 0
        || ip.is_private()
        || ip.is_link_local()
        || cgnat
        || ip.is_broadcast()
        || ip.is_multicast()
}

fn forbidden_v6(ip: Ipv6Addr, loopback: bool) -> bool {
    let first = ip.segments()[0];
    let unique_local = first & 0xfe00 == 0xfc00;
    let link_local = first & 0xffc0 == 0xfe80;
    // 64:ff9b::/96 reaches the IPv4 address it ends with, through NAT64.
    let nat64 = ip.segments()[..6] == [0x64, 0xff9b, 0, 0, 0, 0];
    let [.., c, d] = ip.segments();
    let embedded = Ipv4Addr::from((u32::from(c) << 16) | u32::from(d));
    (ip.is_loopback() && !loopback)
        || ip.is_unspecified()
        || unique_local
        || link_local
        || ip.is_multicast()
        || (nat64 && forbidden_v4(embedded, loopback))
}

/// Why a URL is not delivered to.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Never: its scheme or address is refused. The text names neither the URL
    /// nor the address (a URL may hold a secret).
    Forbidden(&'static str),
    /// Not now: its name did not resolve.
    Unresolved(String),
}

/// Where to connect for `url`: its host name and the addresses it resolved to, all
/// checked (the caller connects to those, not to a second DNS answer), or none when
/// the URL names an address, checked too.
pub async fn checked(url: &str, loopback: bool) -> Result<Option<(String, Vec<SocketAddr>)>, Refusal> {
    let url = Url::parse(url).map_err(|_| Refusal::Forbidden("the webhook's URL is not one"))?;
    let plain = match url.scheme() {
        "https" => false,
        "http" if loopback => true,
        _ => return Err(Refusal::Forbidden("the webhook's URL is not https")),
    };
    let port = url.port_or_known_default().unwrap_or(443);
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(Refusal::Forbidden("the webhook's URL names no host"));
    };
    // The parser wrote any address in its plain form (`[…]` around IPv6).
    let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>();
    let (name, addrs) = match literal {
        Ok(ip) => (None, vec![SocketAddr::new(ip, port)]),
        Err(_) => {
            let found = tokio::net::lookup_host((host, port))
                .await
                .map_err(|e| Refusal::Unresolved(format!("the webhook's host did not resolve: {e}")))?;
            (Some(host.to_string()), found.collect::<Vec<_>>())
        }
    };
    if addrs.is_empty() {
        return Err(Refusal::Unresolved("the webhook's host has no address".into()));
    }
    if addrs.iter().any(|a| forbidden(a.ip(), loopback)) {
        return Err(Refusal::Forbidden(
            "the webhook's host is a private, loopback or link-local address",
        ));
    }
    if plain && !addrs.iter().all(|a| a.ip().to_canonical().is_loopback()) {
        return Err(Refusal::Forbidden("plain http goes to this machine only"));
    }
    Ok(name.map(|name| (name, addrs)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no(ip: &str) -> bool {
        forbidden(ip.parse().unwrap(), false)
    }

    #[test]
    fn private_loopback_link_local_and_shared_addresses_are_forbidden() {
        for ip in [
            "127.0.0.1",
            "127.8.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a9fe:a9fe",
        ] {
            assert!(no(ip), "{ip}");
        }
        for ip in [
            "192.0.2.7",
            "8.8.8.8",
            "100.128.0.1",
            "172.32.0.1",
            "2001:db8::1",
            "64:ff9b::808:808",
        ] {
            assert!(!no(ip), "{ip}");
        }
        assert!(!forbidden("127.0.0.1".parse().unwrap(), true));
        assert!(forbidden("10.0.0.1".parse().unwrap(), true), "loopback only");
    }

    #[tokio::test]
    async fn urls_are_checked_before_and_after_resolution() {
        let refused = |why| Err(Refusal::Forbidden(why));
        let private = "the webhook's host is a private, loopback or link-local address";
        assert_eq!(checked("https://127.0.0.1/hook", false).await, refused(private));
        assert_eq!(checked("https://[fe80::1]/hook", false).await, refused(private));
        assert_eq!(checked("https://2130706433/hook", false).await, refused(private));
        assert_eq!(checked("https://localhost:8443/hook", false).await, refused(private));
        assert_eq!(
            checked("http://192.0.2.7/hook", false).await,
            refused("the webhook's URL is not https")
        );
        assert_eq!(
            checked("http://192.0.2.7/hook", true).await,
            refused("plain http goes to this machine only")
        );
        assert_eq!(checked("https://192.0.2.7/hook", false).await, Ok(None));
        assert_eq!(checked("http://127.0.0.1:8099/hook", true).await, Ok(None));
        let local = checked("http://localhost:8099/hook", true).await.unwrap().unwrap();
        assert_eq!(local.0, "localhost");
        assert!(local.1.iter().all(|a| a.ip().is_loopback() && a.port() == 8099));
    }
}
