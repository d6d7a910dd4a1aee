//! `wasmqq:plugin/http`, granted by `http`: outgoing HTTP to allow-listed
//! hosts only.
//!
//! Every request, and every redirect it meets, is checked against the
//! plugin's allow list ([`HostPattern`]s from its grant configuration) before
//! a connection is made. Redirects are followed by the host itself (reqwest's
//! own policy is off), so each hop is checked the same way, up to
//! [`HttpLimits::max_redirects`].
//!
//! Internal addresses — loopback, private, link-local, CGNAT, unspecified,
//! reserved ([`is_internal`]), and IPv6 forms that embed one of those
//! (`[::127.0.0.1]`, NAT64 `[64:ff9b::a9fe:a9fe]`, 6to4, …) — are never
//! reached through a wildcard or a DNS name: the client's resolver drops
//! them from every answer (so a public name that resolves to `127.0.0.1` is
//! refused), and an IP literal or `localhost` in a URL must be listed
//! exactly (`"127.0.0.1"`, `"[::1]:8080"`, `"localhost"`).
//!
//! Responses are read up to [`HttpLimits::max_response_bytes`]; each fetch
//! ends after [`HttpLimits::timeout_ms`] or shortly before the plugin's call
//! deadline, whichever comes first. Proxies from the environment are ignored.
//!
//! Rooms: [`allow`] (the allow-list grammar and the decision), [`guard`]
//! (internal addresses, the filtering resolver), [`fetch`] (the client and
//! each hop); this file holds the limits and the host side of the
//! interface, with its grant check.

mod allow;
mod fetch;
mod guard;

use serde::Deserialize;

use super::caller::{Ctx, Uses, not_available};
use crate::abi::Capability;
use crate::abi::v0_1_0::wasmqq::plugin::http::{Host, Request, Response};
use crate::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::capabilities::log_budget::clip_line;

pub use allow::{HostPattern, HostPatternError, canonical_host, refusal};
pub use fetch::{HttpFetcher, HttpSetupError};
pub use guard::{embedded_ipv4, is_internal};

/// The `http` capability's part of a plugin's state.
pub struct Slice {
    /// The fetcher; `None`: `unavailable`.
    pub(crate) fetcher: Option<HttpFetcher>,
    /// The hosts this plugin may reach (its `http_allow` list).
    pub(crate) allow: Vec<HostPattern>,
}

/// Link `wasmqq:plugin/http`, its host side seeing what `get` gives.
pub(crate) fn link<T: Send + 'static>(
    linker: &mut wasmtime::component::Linker<T>,
    get: fn(&mut T) -> Ctx<'_, Slice>,
) -> wasmtime::Result<()> {
    crate::abi::v0_1_0::wasmqq::plugin::http::add_to_linker::<T, Uses<Slice>>(linker, get)
}

/// Limits of plugin HTTP requests. Defaults: 10 s, 1 MiB responses, 64 KiB
/// request bodies, 5 redirects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpLimits {
    /// Longest a fetch may take, redirects included, in milliseconds (it is
    /// also cut to fit in the plugin's call deadline).
    pub timeout_ms: u64,
    /// Largest response body; a longer one is `quota-exceeded`.
    pub max_response_bytes: usize,
    /// Largest request body; a longer one is `quota-exceeded`.
    pub max_request_bytes: usize,
    /// Redirects followed before giving up.
    pub max_redirects: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            timeout_ms: 10_000,
            max_response_bytes: 1 << 20,
            max_request_bytes: 64 << 10,
            max_redirects: 5,
        }
    }
}

impl Host for Ctx<'_, Slice> {
    async fn fetch(&mut self, req: Request) -> Result<Response, HostError> {
        self.require(Capability::Http)?;
        let caller = self.caller;
        let Slice { fetcher, allow } = &*self.own;
        let fetcher = fetcher
            .as_ref()
            .ok_or_else(|| not_available("HTTP fetch"))?;
        if allow.is_empty() {
            if self.may_warn() {
                tracing::warn!(plugin = %self.plugin, "HTTP fetch refused: the plugin's http_allow list is empty");
            }
            return Err(HostError::Invalid(
                "no host is in the plugin's http_allow list".into(),
            ));
        }
        let url = req.url.clone();
        let result = fetcher
            .fetch(&caller.plugin, allow, req, Some(caller.deadline))
            .await;
        if let Err(e) = &result
            && self.may_warn()
        {
            let line_bytes = self.log.limits().line_bytes;
            let url = clip_line(&url, line_bytes / 4);
            let why = format!("{e:?}");
            let why = clip_line(&why, line_bytes / 2);
            tracing::warn!(plugin = %self.plugin, %url, "plugin HTTP fetch failed: {why}");
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv6Addr, SocketAddr};

    use reqwest::Url;

    use super::guard::public_addrs;
    use super::*;

    fn allow(entries: &[&str]) -> Vec<HostPattern> {
        entries
            .iter()
            .map(|e| HostPattern::parse(e).unwrap())
            .collect()
    }

    fn refused(url: &str, entries: &[&str]) -> bool {
        refusal(&Url::parse(url).unwrap(), &allow(entries)).is_some()
    }

    #[test]
    fn patterns_parse_and_print() {
        for e in [
            "example.com",
            "*.example.com:8443",
            "127.0.0.1:80",
            "[::1]",
            "*",
        ] {
            assert_eq!(HostPattern::parse(e).unwrap().to_string(), e);
        }
        assert_eq!(HostPattern::parse("[0::1]").unwrap().to_string(), "[::1]");
        for bad in [
            "",
            "http://x.com",
            "x.com/a",
            "x.com:http",
            "a..b",
            "*x.com",
            "[zz]",
        ] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn allow_list_matching() {
        assert!(!refused("https://example.com/a", &["example.com"]));
        assert!(!refused("http://EXAMPLE.com:8080/", &["example.com"]));
        assert!(refused("http://example.com:8080/", &["example.com:80"]));
        assert!(refused("http://a.example.com/", &["example.com"]));
        assert!(!refused("http://a.b.example.com/", &["*.example.com"]));
        assert!(refused("http://example.com/", &["*.example.com"]));
        assert!(refused("http://badexample.com/", &["*.example.com"]));
        assert!(refused("ftp://example.com/", &["*"]));
        assert!(!refused("http://example.org/", &["*"]));
    }

    #[test]
    fn internal_addresses_need_an_exact_entry() {
        for url in [
            "http://127.0.0.1/",
            "http://localhost/",
            "http://[::1]/",
            "http://10.0.0.1/",
            "http://169.254.169.254/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
        ] {
            assert!(refused(url, &["*"]), "{url}");
        }
        assert!(!refused("http://127.0.0.1:8080/", &["127.0.0.1"]));
        assert!(refused("http://127.0.0.2:8080/", &["127.0.0.1"]));
        assert!(!refused("http://localhost:1/", &["localhost:1"]));
        assert!(!refused("http://[::1]/", &["[::1]"]));
        assert!(!is_internal("93.184.216.34".parse().unwrap()));
    }

    /// IPv6 forms that carry an IPv4 address are judged by that address.
    #[test]
    fn ipv6_forms_embedding_ipv4_are_judged_by_it() {
        let internal = [
            // IPv4-mapped.
            "::ffff:127.0.0.1",
            "::ffff:a9fe:a9fe",
            // IPv4-compatible (deprecated, still routed by some stacks).
            "::127.0.0.1",
            "::10.1.2.3",
            "::a9fe:a9fe",
            // NAT64, well-known prefix: 169.254.169.254, 127.0.0.1, 192.168.1.1.
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::169.254.169.254",
            "64:ff9b::7f00:1",
            "64:ff9b::192.168.1.1",
            // NAT64, local-use prefix: internal whatever it embeds.
            "64:ff9b:1::a9fe:a9fe",
            "64:ff9b:1::5db8:d822",
            // 6to4: 2002:AABB:CCDD::/48 is the IPv4 AA.BB.CC.DD.
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "2002:c0a8:101:1::1",
            "2002:a00:1::",
            // Teredo: the client's address, inverted, in the last 32 bits.
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
        ];
        for ip in internal {
            let ip: Ipv6Addr = ip.parse().unwrap();
            assert!(is_internal(IpAddr::V6(ip)), "{ip} is internal");
            let url = format!("http://[{ip}]/");
            assert!(refused(&url, &["*"]), "{url}");
        }
        // The same forms around a public address stay public.
        for ip in [
            "::ffff:93.184.216.34",
            "64:ff9b::93.184.216.34",
            "2002:5db8:d822::1",
            "2001:0:4136:e378:8000:63bf:a247:27dd",
            "2606:2800:220:1:248:1893:25c8:1946",
        ] {
            let ip: Ipv6Addr = ip.parse().unwrap();
            assert!(!is_internal(IpAddr::V6(ip)), "{ip} is public");
        }
        // The URL forms of the issue, and IPv4 literals written oddly.
        for url in [
            "http://[::127.0.0.1]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[64:ff9b::169.254.169.254]:80/latest/meta-data/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
        ] {
            assert!(refused(url, &["*"]), "{url}");
        }
        // Listing the exact form still reaches it.
        assert!(!refused("http://[::127.0.0.1]/", &["[::127.0.0.1]"]));
    }

    /// DNS answers go through the same check: a public name resolving to an
    /// embedded internal address gets no address at all.
    #[test]
    fn resolved_addresses_are_filtered_the_same_way() {
        let answers = |ips: &[&str]| -> Vec<SocketAddr> {
            ips.iter()
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
                .collect()
        };
        let all = answers(&[
            "127.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "::ffff:10.0.0.1",
            "93.184.216.34",
            "64:ff9b::5db8:d822",
        ]);
        assert_eq!(
            public_addrs("evil.example", all.clone()),
            answers(&["93.184.216.34", "64:ff9b::5db8:d822"])
        );
        assert!(public_addrs("evil.example", answers(&["64:ff9b::7f00:1"])).is_empty());
        // `localhost` names keep their answers (they must be listed exactly).
        assert_eq!(public_addrs("localhost", all.clone()), all);
    }
}
