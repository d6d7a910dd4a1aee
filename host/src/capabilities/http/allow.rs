//! The allow list: [`HostPattern`] (the grammar of `http_allow` entries)
//! and [`refusal`], the one decision whether a URL may be fetched.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

use super::guard::{is_internal, is_local_name};

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

/// Why an allow-list entry is not a host pattern; the message names the
/// bad part.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostPatternError {
    /// Nothing but whitespace.
    #[error("empty host")]
    Empty,
    /// A URL (or anything with a path, query, user or space) instead of a host.
    #[error("write a host (`example.com`, `*.example.com`, `host:port`), not a URL")]
    Url,
    /// `[…]` that is not an IPv6 address.
    #[error("bad IPv6 address {0:?}")]
    BadIpv6(String),
    /// A port that is not 1–65535.
    #[error("bad port {0:?}")]
    BadPort(String),
    /// A host name with an empty, over-long or non-LDH label.
    #[error("bad host name {0:?}")]
    BadHostName(String),
}

impl HostPattern {
    /// Parse an allow-list entry; the error says what is wrong.
    pub fn parse(entry: &str) -> Result<HostPattern, HostPatternError> {
        let e = entry.trim().to_ascii_lowercase();
        if e.is_empty() {
            return Err(HostPatternError::Empty);
        }
        if e == "*" {
            return Ok(HostPattern::Any);
        }
        if e.contains("://") || e.contains(['/', '?', '#', '@', ' ']) {
            return Err(HostPatternError::Url);
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
            let ip: Ipv6Addr = v6
                .parse()
                .map_err(|_| HostPatternError::BadIpv6(v6.to_string()))?;
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

impl std::str::FromStr for HostPattern {
    type Err = HostPatternError;

    fn from_str(entry: &str) -> Result<HostPattern, HostPatternError> {
        HostPattern::parse(entry)
    }
}

/// An entry of a configuration's `http_allow` list: a string that must
/// parse; the error quotes the entry and says what is wrong with it.
impl<'de> serde::Deserialize<'de> for HostPattern {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<HostPattern, D::Error> {
        let entry = String::deserialize(d)?;
        HostPattern::parse(&entry)
            .map_err(|why| serde::de::Error::custom(format!("{entry:?}: {why}")))
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

fn split_port(e: &str) -> Result<(&str, Option<u16>), HostPatternError> {
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
            _ => Err(HostPatternError::BadPort(p.to_string())),
        })
        .transpose()?;
    Ok((host, port))
}

fn check_domain(d: &str) -> Result<(), HostPatternError> {
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
        Err(HostPatternError::BadHostName(d.to_string()))
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
