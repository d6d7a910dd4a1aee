//! Which capabilities a plugin was granted by the configuration.

use super::abi::Capability;

/// A set of granted capabilities. `log` and `clock` need no grant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Grants(u8);

impl Grants {
    /// No capability granted.
    pub const NONE: Grants = Grants(0);

    fn bit(capability: Capability) -> u8 {
        1 << (capability as u8)
    }

    /// Every capability granted.
    pub fn all() -> Grants {
        Capability::ALL.into_iter().collect()
    }

    /// Add a capability.
    pub fn with(self, capability: Capability) -> Grants {
        Grants(self.0 | Self::bit(capability))
    }

    /// Whether `capability` is granted.
    pub fn allows(self, capability: Capability) -> bool {
        self.0 & Self::bit(capability) != 0
    }

    /// The granted capabilities.
    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL.into_iter().filter(move |c| self.allows(*c))
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
}
