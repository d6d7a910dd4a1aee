//! Per-login pseudonyms (§7).
//!
//! The real service never exposed QQ numbers, group numbers or discussion
//! ids: each login saw fresh session-local `uin`s, `gid`s, `code`s and
//! `did`s. The simulator allocates a new random set at every successful QR
//! login, keeps the bot's own QQ real everywhere, and makes `code ≠ gid`.

use std::collections::{HashMap, HashSet};

use rand::Rng;

use crate::Population;

/// The pseudonyms of one login, both ways.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ids {
    bot: u64,
    uin: HashMap<u64, u64>,
    qq_of_uin: HashMap<u64, u64>,
    gid: HashMap<u64, u64>,
    group_of_gid: HashMap<u64, u64>,
    code: HashMap<u64, u64>,
    group_of_code: HashMap<u64, u64>,
    did: HashMap<u64, u64>,
    disc_of_did: HashMap<u64, u64>,
}

impl Ids {
    /// Allocates fresh, distinct pseudonyms for everyone in `pop`.
    pub(crate) fn allocate(pop: &Population) -> Ids {
        let mut rng = rand::rng();
        // Never collide with a real number either, so a client that mixes
        // them up fails loudly instead of by luck.
        let mut used: HashSet<u64> = pop.users.iter().map(|u| u.qq).collect();
        used.insert(pop.bot.qq);
        used.extend(pop.groups.iter().map(|g| g.number));
        used.extend(pop.discussions.iter().map(|d| d.id));
        let mut fresh = || loop {
            let n = rng.random_range(1_000_000_000u64..4_200_000_000);
            if used.insert(n) {
                return n;
            }
        };
        let mut ids = Ids {
            bot: pop.bot.qq,
            ..Ids::default()
        };
        for u in &pop.users {
            let n = fresh();
            ids.uin.insert(u.qq, n);
            ids.qq_of_uin.insert(n, u.qq);
        }
        for g in &pop.groups {
            let (gid, code) = (fresh(), fresh());
            ids.gid.insert(g.number, gid);
            ids.group_of_gid.insert(gid, g.number);
            ids.code.insert(g.number, code);
            ids.group_of_code.insert(code, g.number);
        }
        for d in &pop.discussions {
            let did = fresh();
            ids.did.insert(d.id, did);
            ids.disc_of_did.insert(did, d.id);
        }
        ids
    }

    /// The session uin of a person; the bot keeps its real QQ.
    pub(crate) fn uin(&self, qq: u64) -> u64 {
        if qq == self.bot {
            qq
        } else {
            self.uin.get(&qq).copied().unwrap_or(qq)
        }
    }

    /// The real QQ behind a session uin (the bot's QQ maps to itself).
    pub(crate) fn qq(&self, uin: u64) -> Option<u64> {
        if uin == self.bot {
            Some(uin)
        } else {
            self.qq_of_uin.get(&uin).copied()
        }
    }

    pub(crate) fn gid(&self, number: u64) -> u64 {
        self.gid.get(&number).copied().unwrap_or_default()
    }

    pub(crate) fn group_of_gid(&self, gid: u64) -> Option<u64> {
        self.group_of_gid.get(&gid).copied()
    }

    pub(crate) fn code(&self, number: u64) -> u64 {
        self.code.get(&number).copied().unwrap_or_default()
    }

    pub(crate) fn group_of_code(&self, code: u64) -> Option<u64> {
        self.group_of_code.get(&code).copied()
    }

    pub(crate) fn did(&self, id: u64) -> u64 {
        self.did.get(&id).copied().unwrap_or_default()
    }

    pub(crate) fn disc_of_did(&self, did: u64) -> Option<u64> {
        self.disc_of_did.get(&did).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_distinct_and_fresh_per_login() {
        let pop = Population::builtin();
        let a = Ids::allocate(&pop);
        let b = Ids::allocate(&pop);
        assert_eq!(a.uin(pop.bot.qq), pop.bot.qq);
        for u in &pop.users {
            assert_ne!(a.uin(u.qq), u.qq);
            assert_eq!(a.qq(a.uin(u.qq)), Some(u.qq));
        }
        for g in &pop.groups {
            assert_ne!(a.gid(g.number), a.code(g.number));
            assert_ne!(a.gid(g.number), g.number);
            assert_eq!(a.group_of_gid(a.gid(g.number)), Some(g.number));
            assert_eq!(a.group_of_code(a.code(g.number)), Some(g.number));
            assert_eq!(a.group_of_gid(a.code(g.number)), None);
        }
        let first = pop.users[0].qq;
        assert_ne!(a.uin(first), b.uin(first), "fresh pseudonyms per login");
    }
}
