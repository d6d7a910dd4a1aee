//! What a plugin was granted by the configuration: a set of capabilities and
//! the per-plugin settings of those that need one (the HTTP allow list, the
//! key-value quota). See `docs/capabilities.md` for the configuration shape.

use super::http::{HostPattern, HostPatternError};
use super::kv::KvQuota;
use crate::abi::{Capability, CapabilitySet};

/// Why a grant configuration was refused. Messages name the bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// A capability name that does not exist.
    #[error("unknown capability {0:?} (known: kv, timers, send, contacts, http)")]
    UnknownCapability(String),
    /// An `http_allow` entry that is not a host pattern.
    #[error("http_allow entry {entry:?}: {why}")]
    BadHostPattern {
        /// The entry as written.
        entry: String,
        /// What is wrong with it.
        why: HostPatternError,
    },
}

/// A plugin's grants: capabilities plus their per-plugin settings. `log` and
/// `clock` need no grant. Built from the configuration with
/// [`Grants::from_names`], [`Grants::with_http_allow`] and
/// [`Grants::with_kv_quota`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    caps: CapabilitySet,
    http_allow: Vec<HostPattern>,
    kv_quota: Option<KvQuota>,
}

impl Grants {
    /// No capability granted.
    pub const NONE: Grants = Grants {
        caps: CapabilitySet::EMPTY,
        http_allow: Vec::new(),
        kv_quota: None,
    };

    /// Every capability granted (HTTP still reaches only allow-listed hosts,
    /// and the list is empty).
    pub fn all() -> Grants {
        Capability::ALL.into_iter().collect()
    }

    /// The capabilities named in the configuration (`["kv", "http"]`).
    /// Fails on the first unknown name.
    pub fn from_names<S: AsRef<str>>(
        names: impl IntoIterator<Item = S>,
    ) -> Result<Grants, GrantError> {
        names.into_iter().try_fold(Grants::NONE, |g, name| {
            let name = name.as_ref().trim();
            Capability::from_name(name)
                .map(|c| g.with(c))
                .ok_or_else(|| GrantError::UnknownCapability(name.to_string()))
        })
    }

    /// Add a capability.
    pub fn with(mut self, capability: Capability) -> Grants {
        self.caps = self.caps.with(capability);
        self
    }

    /// Set the hosts HTTP requests may reach (see [`HostPattern`] for the
    /// syntax). Fails on the first malformed entry.
    pub fn with_http_allow<S: AsRef<str>>(
        self,
        entries: impl IntoIterator<Item = S>,
    ) -> Result<Grants, GrantError> {
        let patterns = entries
            .into_iter()
            .map(|e| {
                HostPattern::parse(e.as_ref()).map_err(|why| GrantError::BadHostPattern {
                    entry: e.as_ref().to_string(),
                    why,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(self.with_http_patterns(patterns))
    }

    /// Set the hosts HTTP requests may reach, already parsed (as
    /// `[plugins.<name>] http_allow` is by the configuration).
    pub fn with_http_patterns(mut self, patterns: Vec<HostPattern>) -> Grants {
        self.http_allow = patterns;
        self
    }

    /// Set the key-value quota (default [`KvQuota::DEFAULT`]).
    pub fn with_kv_quota(mut self, quota: KvQuota) -> Grants {
        self.kv_quota = Some(quota);
        self
    }

    /// Whether `capability` is granted.
    pub fn allows(&self, capability: Capability) -> bool {
        self.caps.contains(capability)
    }

    /// The granted capabilities.
    pub fn iter(&self) -> impl Iterator<Item = Capability> + use<> {
        self.caps.iter()
    }

    /// The granted capabilities as a set.
    pub fn capabilities(&self) -> CapabilitySet {
        self.caps
    }

    /// The hosts HTTP requests may reach.
    pub fn http_allow(&self) -> &[HostPattern] {
        &self.http_allow
    }

    /// The key-value quota.
    pub fn kv_quota(&self) -> KvQuota {
        self.kv_quota.unwrap_or_default()
    }
}

impl FromIterator<Capability> for Grants {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        iter.into_iter().fold(Grants::NONE, Grants::with)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_hold_exactly_what_was_added() {
        let g = Grants::NONE.with(Capability::Kv).with(Capability::Http);
        assert!(g.allows(Capability::Kv));
        assert!(g.allows(Capability::Http));
        assert!(!g.allows(Capability::Send));
        assert_eq!(
            g.iter().collect::<Vec<_>>(),
            vec![Capability::Kv, Capability::Http]
        );
        assert_eq!(Grants::all().iter().count(), 5);
    }

    #[test]
    fn configuration_names_and_settings() {
        let g = Grants::from_names(["timers", " send "]).unwrap();
        assert!(g.allows(Capability::Timers) && g.allows(Capability::Send));
        assert_eq!(
            Grants::from_names(["kv", "disk"]).unwrap_err().to_string(),
            "unknown capability \"disk\" (known: kv, timers, send, contacts, http)"
        );
        let g = g
            .with_http_allow(["Example.COM", "*.example.org:8443"])
            .unwrap();
        assert_eq!(g.http_allow().len(), 2);
        let err = Grants::NONE
            .with_http_allow(["https://example.com/"])
            .unwrap_err();
        assert!(
            err.to_string().contains("\"https://example.com/\""),
            "{err}"
        );
        assert_eq!(g.kv_quota(), KvQuota::DEFAULT);
        let q = KvQuota {
            max_bytes: 10,
            max_keys: 1,
        };
        assert_eq!(g.with_kv_quota(q).kv_quota(), q);
    }
}
