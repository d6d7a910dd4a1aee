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

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, StatusCode, Url};
use serde::Deserialize;

use crate::runtime::abi::Capability;
use crate::runtime::abi::v0_1_0::wasmqq::plugin::http::{Host, Request, Response};
use crate::runtime::abi::v0_1_0::wasmqq::plugin::types::HostError;
use crate::runtime::state::PluginState;

use super::log_budget::clip_line;

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

/// One entry of a plugin's HTTP allow list.
///
/// - `example.com` — that host only, any port;
/// - `*.example.com` — any subdomain of `example.com` (not `example.com`);
/// - `example.com:8080`, `*.example.com:443` — the same on one port only;
/// - `127.0.0.1`, `[::1]:8080`, `localhost` — an internal address, which
///   must be listed exactly like this to be reachable;
/// - `*` — any host on a public address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    /// `*`: any public host.
    Any,
    /// One host (lowercase name, IPv4 literal, or `[IPv6]` literal).
    Exact {
        /// The host.
        host: String,
        /// The only port allowed, if any.
        port: Option<u16>,
    },
    /// `*.domain`: subdomains of `domain`.
    Subdomains {
        /// The parent domain, without the leading `*.`.
        domain: String,
        /// The only port allowed, if any.
        port: Option<u16>,
    },
}

impl HostPattern {
    /// Parse an allow-list entry; the error says what is wrong.
    pub fn parse(entry: &str) -> Result<HostPattern, String> {
        let e = entry.trim().to_ascii_lowercase();
        if e.is_empty() {
            return Err("empty host".into());
        }
        if e == "*" {
            return Ok(HostPattern::Any);
        }
        if e.contains("://") || e.contains(['/', '?', '#', '@', ' ']) {
            return Err(
                "write a host (`example.com`, `*.example.com`, `host:port`), not a URL".into(),
            );
        }
        let (host, port) = split_port(&e)?;
        if let Some(domain) = host.strip_prefix("*.") {
            check_domain(domain)?;
            return Ok(HostPattern::Subdomains {
                domain: domain.to_string(),
                port,
            });
        }
        let host = if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let ip: Ipv6Addr = v6.parse().map_err(|_| format!("bad IPv6 address {v6:?}"))?;
            format!("[{ip}]")
        } else if let Ok(ip) = host.parse::<Ipv4Addr>() {
            ip.to_string()
        } else {
            check_domain(host)?;
            host.to_string()
        };
        Ok(HostPattern::Exact { host, port })
    }

    /// Whether this entry lets a request reach `host` (canonical form, see
    /// [`canonical_host`]) on `port`.
    fn matches(&self, host: &str, port: u16) -> bool {
        match self {
            HostPattern::Any => true,
            HostPattern::Exact { host: h, port: p } => h == host && p.is_none_or(|p| p == port),
            HostPattern::Subdomains { domain, port: p } => {
                host.len() > domain.len() + 1
                    && host.ends_with(domain.as_str())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
                    && p.is_none_or(|p| p == port)
            }
        }
    }

    fn is_exact(&self) -> bool {
        matches!(self, HostPattern::Exact { .. })
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (prefix, host, port) = match self {
            HostPattern::Any => return f.write_str("*"),
            HostPattern::Exact { host, port } => ("", host, port),
            HostPattern::Subdomains { domain, port } => ("*.", domain, port),
        };
        write!(f, "{prefix}{host}")?;
        if let Some(p) = port {
            write!(f, ":{p}")?;
        }
        Ok(())
    }
}

fn split_port(e: &str) -> Result<(&str, Option<u16>), String> {
    let (host, port) = if e.starts_with('[') {
        match e.rfind("]:") {
            Some(i) => (&e[..=i], Some(&e[i + 2..])),
            None => (e, None),
        }
    } else {
        match e.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (e, None),
        }
    };
    let port = port
        .map(|p| match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("bad port {p:?}")),
        })
        .transpose()?;
    Ok((host, port))
}

fn check_domain(d: &str) -> Result<(), String> {
    let ok = !d.is_empty()
        && d.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if ok {
        Ok(())
    } else {
        Err(format!("bad host name {d:?}"))
    }
}

/// The host of a URL as allow-list entries spell it: lowercase name, IPv4
/// literal, or `[IPv6]`.
pub fn canonical_host(url: &Url) -> Option<String> {
    Some(match url.host()? {
        url::Host::Domain(d) => d.to_ascii_lowercase(),
        url::Host::Ipv4(ip) => ip.to_string(),
        url::Host::Ipv6(ip) => format!("[{ip}]"),
    })
}

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

fn is_local_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost")
}

/// Why `url` may not be fetched with `allow`, or `None` if it may.
pub fn refusal(url: &Url, allow: &[HostPattern]) -> Option<String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Some(format!("only http and https URLs are allowed, not {url}"));
    }
    let Some(host) = canonical_host(url) else {
        return Some(format!("URL {url} has no host"));
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let internal = match url.host() {
        Some(url::Host::Ipv4(ip)) => is_internal(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => is_internal(IpAddr::V6(ip)),
        _ => is_local_name(&host),
    };
    let allowed = allow
        .iter()
        .any(|p| p.matches(&host, port) && (!internal || p.is_exact()));
    if allowed {
        None
    } else if internal && allow.iter().any(|p| p.matches(&host, port)) {
        Some(format!(
            "host {host} is an internal address; it must be listed exactly in the plugin's http_allow"
        ))
    } else {
        Some(format!(
            "host {host} (port {port}) is not in the plugin's http_allow list"
        ))
    }
}

/// The addresses of a DNS answer for `host` that may be connected to: all
/// of them for a `localhost` name, else the ones [`is_internal`] does not
/// refuse.
fn public_addrs(host: &str, addrs: impl IntoIterator<Item = SocketAddr>) -> Vec<SocketAddr> {
    let local = is_local_name(host);
    addrs
        .into_iter()
        .filter(|a| local || !is_internal(a.ip()))
        .collect()
}

/// A resolver that never hands out internal addresses, except for
/// `localhost` names (which [`refusal`] lets through only when listed
/// exactly).
struct PublicResolver;

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

/// Why the HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the plugin HTTP client: {0}")]
pub struct HttpSetupError(#[from] reqwest::Error);

/// Performs plugin HTTP requests under [`HttpLimits`]; cheap to clone.
#[derive(Clone, Debug)]
pub struct HttpFetcher {
    client: reqwest::Client,
    limits: HttpLimits,
}

fn unavailable(what: String) -> HostError {
    HostError::Unavailable(what)
}

/// An error and its causes on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let c = cause.to_string();
        if !s.contains(&c) {
            s.push_str(": ");
            s.push_str(&c);
        }
        source = cause.source();
    }
    s
}

impl HttpFetcher {
    /// Build the client: no proxy, no cookies, no automatic redirects, a
    /// resolver that drops internal addresses.
    pub fn new(limits: HttpLimits) -> Result<HttpFetcher, HttpSetupError> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(PublicResolver))
            .user_agent(concat!(
                "wasmqq/",
                env!("CARGO_PKG_VERSION"),
                " (plugin fetch)"
            ))
            .build()?;
        Ok(HttpFetcher { client, limits })
    }

    /// The limits in force.
    pub fn limits(&self) -> &HttpLimits {
        &self.limits
    }

    /// Perform `req` for `plugin` within `allow`, finishing before
    /// `deadline` if given. Errors, as the plugin receives them: `invalid`
    /// for a malformed request or a host (or redirect target) not allowed,
    /// `quota-exceeded` for a body over the size limits, `unavailable` for
    /// network failures, timeouts and too many redirects. Failures are not
    /// logged here (the host interface logs them within the plugin's log
    /// budget).
    pub async fn fetch(
        &self,
        plugin: &str,
        allow: &[HostPattern],
        req: Request,
        deadline: Option<Instant>,
    ) -> Result<Response, HostError> {
        let mut limit = Duration::from_millis(self.limits.timeout_ms);
        if let Some(deadline) = deadline {
            // Leave the plugin a tenth of its remaining time to use the answer.
            let left = deadline.saturating_duration_since(Instant::now());
            limit = limit.min(left - left / 10);
        }
        let url_text = req.url.clone();
        let result = match tokio::time::timeout(limit, self.run(allow, req)).await {
            Ok(r) => r,
            Err(_) => Err(unavailable(format!(
                "HTTP request to {url_text} timed out after {} ms",
                limit.as_millis()
            ))),
        };
        // A failure is logged by the caller, within the plugin's log budget.
        if let Ok(resp) = &result {
            tracing::debug!(
                plugin,
                url = %url_text,
                status = resp.status,
                bytes = resp.body.len(),
                "plugin HTTP fetch"
            );
        }
        result
    }

    async fn run(&self, allow: &[HostPattern], req: Request) -> Result<Response, HostError> {
        let mut method = Method::from_bytes(req.method.trim().to_ascii_uppercase().as_bytes())
            .map_err(|_| HostError::Invalid(format!("bad HTTP method {:?}", req.method)))?;
        let mut url = Url::parse(&req.url)
            .map_err(|e| HostError::Invalid(format!("bad URL {:?}: {e}", req.url)))?;
        if let Some(why) = refusal(&url, allow) {
            return Err(HostError::Invalid(why));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &req.headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| HostError::Invalid(format!("bad header name {name:?}")))?;
            if name == reqwest::header::HOST {
                return Err(HostError::Invalid(
                    "the Host header is set by the host".into(),
                ));
            }
            let value = HeaderValue::from_str(value)
                .map_err(|_| HostError::Invalid(format!("bad value for header {name}")))?;
            headers.append(name, value);
        }
        if req.body.len() > self.limits.max_request_bytes {
            return Err(HostError::QuotaExceeded(format!(
                "HTTP request body is {} bytes, at most {} allowed",
                req.body.len(),
                self.limits.max_request_bytes
            )));
        }
        let mut body = req.body;
        let mut hops = 0;
        loop {
            let mut builder = self
                .client
                .request(method.clone(), url.clone())
                .headers(headers.clone());
            if !body.is_empty() {
                builder = builder.body(body.clone());
            }
            let resp = builder
                .send()
                .await
                .map_err(|e| unavailable(format!("HTTP request to {url} failed: {}", chain(&e))))?;
            let status = resp.status();
            if let Some(location) = redirect_target(&resp) {
                hops += 1;
                if hops > self.limits.max_redirects {
                    return Err(unavailable(format!(
                        "too many redirects (more than {}) from {}",
                        self.limits.max_redirects, req.url
                    )));
                }
                let next = url.join(&location).map_err(|e| {
                    unavailable(format!("{url} redirects to a bad URL {location:?}: {e}"))
                })?;
                if let Some(why) = refusal(&next, allow) {
                    return Err(HostError::Invalid(format!(
                        "redirect from {url} to {next} refused: {why}"
                    )));
                }
                if status == StatusCode::SEE_OTHER && method != Method::HEAD
                    || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
                        && method == Method::POST
                {
                    method = Method::GET;
                    body.clear();
                    headers.remove(reqwest::header::CONTENT_TYPE);
                    headers.remove(reqwest::header::CONTENT_LENGTH);
                }
                if canonical_host(&next) != canonical_host(&url) {
                    headers.remove(reqwest::header::AUTHORIZATION);
                    headers.remove(reqwest::header::COOKIE);
                }
                url = next;
                continue;
            }
            return self.read(resp).await;
        }
    }

    async fn read(&self, mut resp: reqwest::Response) -> Result<Response, HostError> {
        let max = self.limits.max_response_bytes;
        let too_big = |n: String| {
            HostError::QuotaExceeded(format!(
                "HTTP response body is {n} bytes, at most {max} allowed"
            ))
        };
        if let Some(len) = resp.content_length()
            && len > max as u64
        {
            return Err(too_big(len.to_string()));
        }
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            unavailable(format!(
                "reading the response of {} failed: {}",
                resp.url(),
                chain(&e)
            ))
        })? {
            if body.len() + chunk.len() > max {
                return Err(too_big(format!("more than {max}")));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The `Location` of a redirect response, if it is one.
fn redirect_target(resp: &reqwest::Response) -> Option<String> {
    if !matches!(
        resp.status(),
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) {
        return None;
    }
    resp.headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

impl Host for PluginState {
    async fn fetch(&mut self, req: Request) -> Result<Response, HostError> {
        self.require(Capability::Http)?;
        let fetcher = self
            .services
            .http
            .clone()
            .ok_or_else(|| super::not_available("HTTP fetch"))?;
        let allow = self.grants.http_allow().to_vec();
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
            .fetch(&self.plugin, &allow, req, Some(self.deadline))
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
