//! The SSRF guard: which addresses are internal ([`is_internal`], IPv6
//! forms embedding an internal IPv4 included) and the resolver that drops
//! them from every DNS answer ([`PublicResolver`]).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Whether an address is internal: loopback, private, link-local, CGNAT,
/// unspecified, broadcast and reserved (240/4), the IETF protocol block
/// (192.0.0/24), benchmarking (198.18/15), or the IPv6 equivalents
/// (loopback, unspecified, unique-local, link-local, site-local).
///
/// An IPv6 address that carries an IPv4 address is judged by that IPv4
/// address ([`embedded_ipv4`]): IPv4-mapped `::ffff:a.b.c.d`,
/// IPv4-compatible `::a.b.c.d`, NAT64 `64:ff9b::a.b.c.d`, 6to4
/// `2002:AABB:CCDD::/48` and Teredo (the client address). The local-use
/// NAT64 prefix `64:ff9b:1::/48` (RFC 8215) is internal whatever it embeds:
/// where the IPv4 address sits depends on the prefix length the site's
/// translator uses, and it only ever leads through that site's translator.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || a == 0
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = embedded_ipv4(v6) {
                return is_internal(IpAddr::V4(v4));
            }
            let s0 = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (s0 & 0xfe00) == 0xfc00
                || (s0 & 0xffc0) == 0xfe80
                || (s0 & 0xffc0) == 0xfec0
                || v6.segments()[..3] == [0x64, 0xff9b, 1]
        }
    }
}

/// The IPv4 address an IPv6 address stands for, in the forms that embed
/// one: IPv4-mapped (`::ffff:0:0/96`), IPv4-compatible (`::/96`, so `::`
/// and `::1` give `0.0.0.0` and `0.0.0.1`, both internal), NAT64 with the
/// well-known prefix (`64:ff9b::/96`, RFC 6052), 6to4 (`2002::/16`, the
/// IPv4 address in bits 16..48) and Teredo (`2001::/32`, the client
/// address inverted in the last 32 bits).
pub fn embedded_ipv4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let [.., a, b, c, d] = v6.octets();
    let last = Ipv4Addr::new(a, b, c, d);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(last),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(last),
        [0x2002, hi, lo, ..] => Some(Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo))),
        [0x2001, 0, ..] => Some(Ipv4Addr::from(!u32::from(last))),
        _ => None,
    }
}

pub(super) fn is_local_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// The addresses of a DNS answer for `host` that may be connected to: all
/// of them for a `localhost` name, else the ones [`is_internal`] does not
/// refuse.
pub(super) fn public_addrs(
    host: &str,
    addrs: impl IntoIterator<Item = SocketAddr>,
) -> Vec<SocketAddr> {
    let local = is_local_name(host);
    addrs
        .into_iter()
        .filter(|a| local || !is_internal(a.ip()))
        .collect()
}

/// A resolver that never hands out internal addresses, except for
/// `localhost` names (which [`refusal`] lets through only when listed
/// exactly).
pub(super) struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        Box::pin(async move {
            let addrs = public_addrs(&host, tokio::net::lookup_host((host.as_str(), 0)).await?);
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no public address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}
