//! The simulated world: the bot account, its friends, groups and
//! discussions, loaded from a TOML file (`config/population.toml` is the
//! built-in default, embedded at compile time).
//!
//! Every number here is *public*: real QQ numbers, group numbers (群号) and
//! discussion ids. The WebQQ API exposes session pseudonyms instead (see
//! `ids.rs`); the control API speaks in these public numbers.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::SimError;

/// The embedded default population (`config/population.toml`).
pub const BUILTIN_TOML: &str = include_str!("../../../config/population.toml");

const BUILTIN_NAME: &str = "<built-in config/population.toml>";

/// The simulated world. Load it with [`Population::load`] or use
/// [`Population::builtin`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// The account that logs in by QR code.
    pub bot: Bot,
    /// Friend categories besides the implicit index 0.
    #[serde(default)]
    pub categories: Vec<Category>,
    /// Every other account (friends and strangers).
    #[serde(default)]
    pub users: Vec<User>,
    /// Groups (the bot is a member of each).
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Discussions (the bot is a member of each).
    #[serde(default)]
    pub discussions: Vec<Discussion>,
}

/// The bot account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bot {
    /// Real QQ number.
    pub qq: u64,
    /// Nickname (no `'`, `,` or line breaks: it travels inside `ptuiCB`).
    pub nick: String,
    /// Avatar id.
    #[serde(default)]
    pub face: u32,
    /// Signature.
    #[serde(default)]
    pub lnick: String,
    /// `male`, `female` or `unknown`.
    #[serde(default = "unknown")]
    pub gender: String,
    /// Profile: country.
    #[serde(default)]
    pub country: String,
    /// Profile: province.
    #[serde(default)]
    pub province: String,
    /// Profile: city.
    #[serde(default)]
    pub city: String,
}

/// A friend category (分组).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Category {
    /// Category index (≥ 1; 0 is the implicit "我的好友").
    pub index: u32,
    /// Display name.
    pub name: String,
}

/// Another account: a friend of the bot, or only a fellow member.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Real QQ number.
    pub qq: u64,
    /// Nickname.
    pub nick: String,
    /// Whether the bot has this account as a friend.
    #[serde(default)]
    pub friend: bool,
    /// The bot's remark (备注) for this friend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Friend category index.
    #[serde(default)]
    pub category: u32,
    /// `online`, `away`, `busy`, `silent`, `hidden`, `callme` or `offline`.
    #[serde(default = "online")]
    pub status: String,
    /// 1 PC, 21 mobile, 24 iPhone, 41 web.
    #[serde(default = "one")]
    pub client_type: u32,
    /// Avatar id.
    #[serde(default)]
    pub face: u32,
    /// Signature.
    #[serde(default)]
    pub lnick: String,
    /// `male`, `female` or `unknown`.
    #[serde(default = "unknown")]
    pub gender: String,
    /// Profile: country.
    #[serde(default)]
    pub country: String,
    /// Profile: province.
    #[serde(default)]
    pub province: String,
    /// Profile: city.
    #[serde(default)]
    pub city: String,
}

/// A group (群).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Public group number (群号); the control API's `to`.
    pub number: u64,
    /// Group name.
    pub name: String,
    /// The bot's remark for the group (`gmarklist`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remark: Option<String>,
    /// Owner's QQ number (default: the first member).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<u64>,
    /// Announcement.
    #[serde(default)]
    pub memo: String,
    /// Members; the bot is added at the end when not listed.
    #[serde(default)]
    pub members: Vec<Member>,
}

/// A group member.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Real QQ number (the bot or a user).
    pub qq: u64,
    /// Group card (群名片).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    /// Administrator (`mflag` 1).
    #[serde(default)]
    pub admin: bool,
}

/// A discussion (讨论组).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Discussion {
    /// Public discussion id; the control API's `to`.
    pub id: u64,
    /// Discussion name.
    pub name: String,
    /// Members' QQ numbers; the bot is added at the end when not listed.
    #[serde(default)]
    pub members: Vec<u64>,
}

fn unknown() -> String {
    "unknown".into()
}
fn online() -> String {
    "online".into()
}
fn one() -> u32 {
    1
}

const STATUSES: &[&str] = &[
    "online", "away", "busy", "silent", "hidden", "callme", "offline",
];
const GENDERS: &[&str] = &["male", "female", "unknown"];

/// A person as seen in lists: the bot or a user.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Person<'a> {
    Bot(&'a Bot),
    User(&'a User),
}

impl Person<'_> {
    pub(crate) fn nick(&self) -> &str {
        match self {
            Person::Bot(b) => &b.nick,
            Person::User(u) => &u.nick,
        }
    }
}

/// The well-known numbers of the built-in population
/// (`config/population.toml`), for tests, benches and examples: one
/// spelling, checked against the file by a unit test.
pub mod known {
    /// The bot's QQ number.
    pub const BOT: u64 = 2609717081;
    /// Alice: a friend, in "wasmqq dev"; the admin of test bots.
    pub const ALICE: u64 = 10001;
    /// Bob: a friend, in both groups.
    pub const BOB: u64 = 10002;
    /// Carol: a friend ("Mum"), in "Family".
    pub const CAROL: u64 = 10003;
    /// Dave: not a friend; in "wasmqq dev" (card "Dave D.") and the
    /// discussion.
    pub const DAVE: u64 = 10004;
    /// The group "wasmqq dev" (Alice, Bob, Dave).
    pub const DEV_GROUP: u64 = 300001;
    /// The group "Family" (Carol, Bob).
    pub const FAMILY_GROUP: u64 = 300002;
    /// The discussion "weekend plans".
    pub const WEEKEND: u64 = 400001;
}

impl Population {
    /// The embedded default population (`config/population.toml`).
    ///
    /// # Panics
    /// Never in a released build: the file is checked by a unit test.
    pub fn builtin() -> Population {
        match Self::parse(BUILTIN_TOML, Path::new(BUILTIN_NAME)) {
            Ok(p) => p,
            Err(e) => panic!("the built-in population is invalid: {e}"),
        }
    }

    /// Loads and validates a population file.
    ///
    /// Fails with an error naming the file and the key when the file cannot
    /// be read, is not valid TOML, has unknown keys, or is inconsistent
    /// (duplicate numbers, members that do not exist, …).
    pub fn load(path: &Path) -> Result<Population, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::PopulationRead {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates population TOML; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Population, SimError> {
        let mut p: Population = toml::from_str(text).map_err(|e| SimError::PopulationParse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        p.validate(path)?;
        p.normalise();
        Ok(p)
    }

    fn validate(&self, path: &Path) -> Result<(), SimError> {
        let err = |key: String, message: String| SimError::PopulationInvalid {
            path: PathBuf::from(path),
            key,
            message,
        };
        let b = &self.bot;
        if b.nick.is_empty() || b.nick.contains(['\'', ',', '\r', '\n']) {
            return Err(err(
                "bot.nick".into(),
                format!(
                    "{:?} must be non-empty and contain no ' , or line break (it is sent inside ptuiCB)",
                    b.nick
                ),
            ));
        }
        if b.qq == 0 {
            return Err(err("bot.qq".into(), "must not be 0".into()));
        }
        if !GENDERS.contains(&b.gender.as_str()) {
            return Err(err(
                "bot.gender".into(),
                format!("{:?} is not one of {GENDERS:?}", b.gender),
            ));
        }
        let mut cats = HashSet::from([0u32]);
        for (i, c) in self.categories.iter().enumerate() {
            if c.index == 0 || !cats.insert(c.index) {
                return Err(err(
                    format!("categories[{i}].index"),
                    format!("{} is 0 (implicit) or a duplicate", c.index),
                ));
            }
        }
        let mut qqs = HashSet::from([b.qq]);
        for (i, u) in self.users.iter().enumerate() {
            if u.qq == 0 || !qqs.insert(u.qq) {
                return Err(err(
                    format!("users[{i}].qq"),
                    format!("{} is 0 or used twice (the bot counts)", u.qq),
                ));
            }
            if !cats.contains(&u.category) {
                return Err(err(
                    format!("users[{i}].category"),
                    format!("no category with index {}", u.category),
                ));
            }
            if !STATUSES.contains(&u.status.as_str()) {
                return Err(err(
                    format!("users[{i}].status"),
                    format!("{:?} is not one of {STATUSES:?}", u.status),
                ));
            }
            if !GENDERS.contains(&u.gender.as_str()) {
                return Err(err(
                    format!("users[{i}].gender"),
                    format!("{:?} is not one of {GENDERS:?}", u.gender),
                ));
            }
            if !u.friend && (u.remark.is_some() || u.category != 0) {
                return Err(err(
                    format!("users[{i}]"),
                    "remark and category are only for friends (set friend = true)".into(),
                ));
            }
        }
        let mut numbers = HashSet::new();
        for (i, g) in self.groups.iter().enumerate() {
            if g.number == 0 || !numbers.insert(g.number) {
                return Err(err(
                    format!("groups[{i}].number"),
                    format!("{} is 0 or used twice", g.number),
                ));
            }
            let mut seen = HashSet::new();
            for (j, m) in g.members.iter().enumerate() {
                if !qqs.contains(&m.qq) {
                    return Err(err(
                        format!("groups[{i}].members[{j}].qq"),
                        format!("{} is neither the bot nor in [[users]]", m.qq),
                    ));
                }
                if !seen.insert(m.qq) {
                    return Err(err(
                        format!("groups[{i}].members[{j}].qq"),
                        format!("{} is listed twice", m.qq),
                    ));
                }
            }
            if let Some(owner) = g.owner
                && !seen.contains(&owner)
                && owner != b.qq
            {
                return Err(err(
                    format!("groups[{i}].owner"),
                    format!("{owner} is not a member"),
                ));
            }
        }
        let mut ids = HashSet::new();
        for (i, d) in self.discussions.iter().enumerate() {
            if d.id == 0 || !ids.insert(d.id) {
                return Err(err(
                    format!("discussions[{i}].id"),
                    format!("{} is 0 or used twice", d.id),
                ));
            }
            let mut seen = HashSet::new();
            for (j, qq) in d.members.iter().enumerate() {
                if !qqs.contains(qq) {
                    return Err(err(
                        format!("discussions[{i}].members[{j}]"),
                        format!("{qq} is neither the bot nor in [[users]]"),
                    ));
                }
                if !seen.insert(*qq) {
                    return Err(err(
                        format!("discussions[{i}].members[{j}]"),
                        format!("{qq} is listed twice"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Adds the bot to every group and discussion and fills group owners.
    fn normalise(&mut self) {
        let bot = self.bot.qq;
        for g in &mut self.groups {
            if !g.members.iter().any(|m| m.qq == bot) {
                g.members.push(Member {
                    qq: bot,
                    card: None,
                    admin: false,
                });
            }
            if g.owner.is_none() {
                g.owner = g.members.first().map(|m| m.qq);
            }
        }
        for d in &mut self.discussions {
            if !d.members.contains(&bot) {
                d.members.push(bot);
            }
        }
    }

    /// The user with this QQ number.
    pub fn user(&self, qq: u64) -> Option<&User> {
        self.users.iter().find(|u| u.qq == qq)
    }

    pub(crate) fn person(&self, qq: u64) -> Option<Person<'_>> {
        if qq == self.bot.qq {
            Some(Person::Bot(&self.bot))
        } else {
            self.user(qq).map(Person::User)
        }
    }

    /// The friend with this QQ number.
    pub fn friend(&self, qq: u64) -> Option<&User> {
        self.user(qq).filter(|u| u.friend)
    }

    /// The friends, in file order.
    pub fn friends(&self) -> impl Iterator<Item = &User> {
        self.users.iter().filter(|u| u.friend)
    }

    /// The group with this public number.
    pub fn group(&self, number: u64) -> Option<&Group> {
        self.groups.iter().find(|g| g.number == number)
    }

    /// The discussion with this public id.
    pub fn discussion(&self, id: u64) -> Option<&Discussion> {
        self.discussions.iter().find(|d| d.id == id)
    }
}

impl Default for Population {
    fn default() -> Self {
        Population::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_is_valid_and_normalised() {
        let p = Population::builtin();
        assert_eq!(p.bot.qq, 2609717081);
        assert!(p.friends().count() >= 2);
        for g in &p.groups {
            assert!(
                g.members.iter().any(|m| m.qq == p.bot.qq),
                "bot in {}",
                g.name
            );
            assert!(g.owner.is_some());
        }
        for d in &p.discussions {
            assert!(d.members.contains(&p.bot.qq));
        }
        // The bot listed explicitly in group 300001 is not added twice.
        let g = p.group(300001).unwrap();
        assert_eq!(g.members.iter().filter(|m| m.qq == p.bot.qq).count(), 1);
    }

    #[test]
    fn known_numbers_are_those_of_the_builtin_file() {
        use known::*;
        let p = Population::builtin();
        assert_eq!(p.bot.qq, BOT);
        let nick = |qq| p.users.iter().find(|u| u.qq == qq).map(|u| u.nick.as_str());
        assert_eq!(
            [ALICE, BOB, CAROL, DAVE].map(nick),
            [Some("Alice"), Some("Bob"), Some("Carol"), Some("Dave")]
        );
        let members = |n| {
            let mut m: Vec<u64> = p.group(n).unwrap().members.iter().map(|m| m.qq).collect();
            m.retain(|q| *q != BOT);
            m.sort();
            m
        };
        assert_eq!(p.group(DEV_GROUP).unwrap().name, "wasmqq dev");
        assert_eq!(members(DEV_GROUP), [ALICE, BOB, DAVE]);
        assert_eq!(p.group(FAMILY_GROUP).unwrap().name, "Family");
        assert_eq!(members(FAMILY_GROUP), [BOB, CAROL]);
        assert!(
            p.discussions
                .iter()
                .any(|d| d.id == WEEKEND && d.members.contains(&DAVE))
        );
    }

    fn parse(text: &str) -> Result<Population, SimError> {
        Population::parse(text, Path::new("pop.toml"))
    }

    #[test]
    fn unknown_key_names_file_and_key() {
        let e = parse("[bot]\nqq = 1\nnick = \"b\"\ncolour = 3\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("pop.toml"), "{e}");
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn inconsistencies_name_the_key() {
        let base = "[bot]\nqq = 1\nnick = \"b\"\n";
        let cases = [
            ("[[users]]\nqq = 1\nnick = \"x\"\n", "users[0].qq"),
            (
                "[[users]]\nqq = 2\nnick = \"x\"\nstatus = \"sleepy\"\n",
                "users[0].status",
            ),
            (
                "[[users]]\nqq = 2\nnick = \"x\"\nfriend = true\ncategory = 4\n",
                "users[0].category",
            ),
            (
                "[[groups]]\nnumber = 5\nname = \"g\"\nmembers = [{ qq = 9 }]\n",
                "groups[0].members[0].qq",
            ),
            (
                "[[groups]]\nnumber = 5\nname = \"g\"\nowner = 9\n",
                "groups[0].owner",
            ),
            (
                "[[discussions]]\nid = 5\nname = \"d\"\nmembers = [7]\n",
                "discussions[0].members[0]",
            ),
        ];
        for (extra, key) in cases {
            let e = parse(&format!("{base}{extra}")).unwrap_err().to_string();
            assert!(e.contains("pop.toml") && e.contains(key), "{key}: {e}");
        }
        let e = parse("[bot]\nqq = 1\nnick = \"a'b\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bot.nick"), "{e}");
    }

    #[test]
    fn load_reports_missing_file() {
        let e = Population::load(Path::new("/nonexistent/pop.toml")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/pop.toml"));
    }
}
