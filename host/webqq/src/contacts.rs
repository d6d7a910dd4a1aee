//! Contacts: friends (with remarks), groups (with members and cards) and
//! discussions (with members), fetched from the list endpoints (§4.3–4.12)
//! and cached as an immutable [`ContactBook`] snapshot that is swapped on
//! each refresh, so readers never block the poll loop.
//!
//! The cache is refreshed at login, on demand
//! ([`Client::refresh_contacts`](crate::Client::refresh_contacts)), and when
//! a message comes from a sender it does not know (at most once per
//! `contacts_refresh_interval` per list, so a stranger cannot make the
//! client hammer the server).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D, REFERER_S};

use crate::error::{Error, Result};
use crate::events::{ChatKind, ChatRef};
use crate::session::Auth;
use crate::transport::{Transport, cache_buster, enc, id_field, result_of};

const ORIGIN_S: &str = "https://s.web2.qq.com";

/// The logged-in account itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SelfInfo {
    /// The real QQ number.
    pub uin: u64,
    /// The nickname (empty until `get_self_info2` answered).
    pub nick: String,
    /// The avatar id, sent as `face` with every message.
    pub face: u64,
}

/// A friend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Friend {
    /// Session-local uin.
    pub uin: u64,
    /// Nickname.
    pub nick: String,
    /// The remark (备注) the account gave this friend, if any.
    pub remark: Option<String>,
    /// Category index (0 = "My Friends").
    pub category: u64,
}

impl Friend {
    /// The remark if set, else the nick.
    pub fn display_name(&self) -> &str {
        self.remark.as_deref().unwrap_or(&self.nick)
    }
}

/// A group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Session-local uin (the account itself appears under its QQ number).
    pub uin: u64,
    /// Nickname.
    pub nick: String,
    /// Group card (群名片), if set.
    pub card: Option<String>,
    /// `mflag` bits (1 = admin, by peer lore).
    pub flag: u64,
}

impl Member {
    /// The card if set, else the nick.
    pub fn display_name(&self) -> &str {
        self.card.as_deref().unwrap_or(&self.nick)
    }
}

/// A group (群).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Session-local gid: the id for poll2 and sending.
    pub gid: u64,
    /// The code needed by `get_group_info_ext2` (≠ gid).
    pub code: u64,
    /// Group name.
    pub name: String,
    /// The account's remark for the group, if any.
    pub remark: Option<String>,
    /// Members by uin; empty until loaded (`members_loaded`).
    pub members: BTreeMap<u64, Member>,
    /// Whether `members` was fetched.
    pub members_loaded: bool,
}

/// A discussion member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscussionMember {
    /// Session-local uin.
    pub uin: u64,
    /// The member's real QQ number (`ruin`), the only place SmartQQ exposes it.
    pub qq: Option<u64>,
    /// Nickname.
    pub nick: String,
}

/// A discussion (讨论组).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discussion {
    /// Session-local did.
    pub did: u64,
    /// Name.
    pub name: String,
    /// Members by uin; empty until loaded.
    pub members: BTreeMap<u64, DiscussionMember>,
    /// Whether `members` was fetched.
    pub members_loaded: bool,
}

/// A snapshot of everything the account knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactBook {
    /// The account itself.
    pub me: SelfInfo,
    /// Friends by uin.
    pub friends: BTreeMap<u64, Friend>,
    /// Groups by gid.
    pub groups: BTreeMap<u64, Group>,
    /// Discussions by did.
    pub discussions: BTreeMap<u64, Discussion>,
}

impl ContactBook {
    /// The display name of `uin` as seen in `chat` (group card, discussion
    /// nick, friend remark or nick), falling back to the friend list.
    pub fn sender_name(&self, chat: ChatRef, uin: u64) -> Option<String> {
        let in_chat = match chat.kind {
            ChatKind::Group => self
                .groups
                .get(&chat.id)
                .and_then(|g| g.members.get(&uin))
                .map(|m| m.display_name().to_owned()),
            ChatKind::Discussion => self
                .discussions
                .get(&chat.id)
                .and_then(|d| d.members.get(&uin))
                .map(|m| m.nick.clone()),
            ChatKind::Friend | ChatKind::Session => None,
        };
        in_chat.or_else(|| self.friends.get(&uin).map(|f| f.display_name().to_owned()))
    }

    /// The name of a chat: friend display name, group remark or name,
    /// discussion name.
    pub fn chat_name(&self, chat: ChatRef) -> Option<String> {
        match chat.kind {
            ChatKind::Friend | ChatKind::Session => self
                .friends
                .get(&chat.id)
                .map(|f| f.display_name().to_owned()),
            ChatKind::Group => self
                .groups
                .get(&chat.id)
                .map(|g| g.remark.clone().unwrap_or_else(|| g.name.clone())),
            ChatKind::Discussion => self.discussions.get(&chat.id).map(|d| d.name.clone()),
        }
    }
}

/// The cache: the current snapshot plus refresh bookkeeping.
#[derive(Debug, Default)]
pub(crate) struct ContactCache {
    book: RwLock<Arc<ContactBook>>,
    last_refresh: Mutex<HashMap<String, Instant>>,
}

impl ContactCache {
    /// The current snapshot.
    pub(crate) fn snapshot(&self) -> Arc<ContactBook> {
        match self.book.read() {
            Ok(b) => b.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Applies `f` to a copy of the book and publishes it.
    pub(crate) fn update(&self, f: impl FnOnce(&mut ContactBook)) {
        let mut guard = match self.book.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut book = (**guard).clone();
        f(&mut book);
        *guard = Arc::new(book);
    }

    /// Whether the list `key` may be refreshed now (and records it if so).
    pub(crate) fn may_refresh(&self, key: &str, interval: Duration) -> bool {
        let Ok(mut map) = self.last_refresh.lock() else {
            return true;
        };
        let now = Instant::now();
        match map.get(key) {
            Some(t) if now.duration_since(*t) < interval => false,
            _ => {
                map.insert(key.to_owned(), now);
                true
            }
        }
    }

    /// Forgets everything (a new session has new ids).
    pub(crate) fn reset(&self) {
        self.update(|b| *b = ContactBook::default());
        if let Ok(mut m) = self.last_refresh.lock() {
            m.clear();
        }
    }
}

/// Undoes the HTML escaping nicks and remarks come with (§4.3).
fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", " ")
        .replace('\u{a0}', " ")
        .replace("&amp;", "&")
}

fn str_field(v: &Value, name: &str) -> String {
    v.get(name)
        .and_then(Value::as_str)
        .map(unescape)
        .unwrap_or_default()
}

fn array<'a>(endpoint: &'static str, v: &'a Value, name: &str) -> Result<&'a Vec<Value>> {
    v.get(name)
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Malformed {
            endpoint,
            detail: format!("result has no {name} array"),
        })
}

/// POST one of the two hashed list endpoints of `s.web2.qq.com` (§4.3,
/// §4.4) and return its `result`.
async fn post_list(t: &Transport, auth: &Auth, endpoint: &'static str) -> Result<Value> {
    let r = json!({"vfwebqq": auth.vfwebqq, "hash": wasmqq_wire::hash::list_hash(auth.uin, &auth.ptwebqq)});
    let url = format!("https://s.web2.qq.com/api/{endpoint}");
    let v = t
        .post_r(endpoint, &url, REFERER_S, ORIGIN_S, &r, None)
        .await?;
    result_of(endpoint, v)
}

/// `get_user_friends2` (§4.3).
pub(crate) async fn fetch_friends(t: &Transport, auth: &Auth) -> Result<BTreeMap<u64, Friend>> {
    let result = post_list(t, auth, "get_user_friends2").await?;
    decode_friends(&result)
}

/// Decodes the `result` of `get_user_friends2` (§4.3): friends by uin, with
/// remarks and categories; entries without a numeric uin are skipped.
///
/// Fails only when `result` has no `info` array.
pub fn decode_friends(result: &Value) -> Result<BTreeMap<u64, Friend>> {
    const EP: &str = "get_user_friends2";
    let mut categories: HashMap<u64, u64> = HashMap::new();
    if let Some(fr) = result.get("friends").and_then(Value::as_array) {
        for f in fr {
            if let Some(uin) = id_field(f.get("uin")) {
                categories.insert(uin, id_field(f.get("categories")).unwrap_or_default());
            }
        }
    }
    let remarks = by_uin(result, "marknames", "uin", "markname");
    let mut out = BTreeMap::new();
    for i in array(EP, result, "info")? {
        let Some(uin) = id_field(i.get("uin")) else {
            continue;
        };
        out.insert(
            uin,
            Friend {
                uin,
                nick: str_field(i, "nick"),
                remark: remarks.get(&uin).cloned().filter(|r| !r.is_empty()),
                category: categories.get(&uin).copied().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// `get_group_name_list_mask2` (§4.4); members are not loaded.
pub(crate) async fn fetch_groups(t: &Transport, auth: &Auth) -> Result<BTreeMap<u64, Group>> {
    let result = post_list(t, auth, "get_group_name_list_mask2").await?;
    decode_groups(&result)
}

/// Decodes the `result` of `get_group_name_list_mask2` (§4.4): groups by
/// gid with remarks, members not loaded; entries without a numeric gid and
/// code are skipped.
///
/// Fails only when `result` has no `gnamelist` array.
pub fn decode_groups(result: &Value) -> Result<BTreeMap<u64, Group>> {
    const EP: &str = "get_group_name_list_mask2";
    // `gmarklist[].uin` is a gid.
    let remarks = by_uin(result, "gmarklist", "uin", "markname");
    let mut out = BTreeMap::new();
    for g in array(EP, result, "gnamelist")? {
        let (Some(gid), Some(code)) = (id_field(g.get("gid")), id_field(g.get("code"))) else {
            continue;
        };
        out.insert(
            gid,
            Group {
                gid,
                code,
                name: str_field(g, "name"),
                remark: remarks.get(&gid).cloned().filter(|r| !r.is_empty()),
                members: BTreeMap::new(),
                members_loaded: false,
            },
        );
    }
    Ok(out)
}

/// `get_discus_list` (§4.5); members are not loaded.
pub(crate) async fn fetch_discussions(
    t: &Transport,
    auth: &Auth,
) -> Result<BTreeMap<u64, Discussion>> {
    const EP: &str = "get_discus_list";
    let url = format!(
        "https://s.web2.qq.com/api/get_discus_list?clientid={CLIENT_ID}&psessionid={}&vfwebqq={}&t={}",
        enc(&auth.psessionid),
        enc(&auth.vfwebqq),
        cache_buster()
    );
    let result = result_of(EP, t.get_json(EP, &url, REFERER_S).await?)?;
    decode_discussions(&result)
}

/// Decodes the `result` of `get_discus_list` (§4.5): discussions by did,
/// members not loaded; entries without a numeric did are skipped.
///
/// Fails only when `result` has no `dnamelist` array.
pub fn decode_discussions(result: &Value) -> Result<BTreeMap<u64, Discussion>> {
    const EP: &str = "get_discus_list";
    let mut out = BTreeMap::new();
    for d in array(EP, result, "dnamelist")? {
        let Some(did) = id_field(d.get("did")) else {
            continue;
        };
        out.insert(
            did,
            Discussion {
                did,
                name: str_field(d, "name"),
                members: BTreeMap::new(),
                members_loaded: false,
            },
        );
    }
    Ok(out)
}

/// `get_self_info2` (§4.6).
pub(crate) async fn fetch_self(t: &Transport, auth: &Auth) -> Result<SelfInfo> {
    const EP: &str = "get_self_info2";
    let url = format!(
        "https://s.web2.qq.com/api/get_self_info2?t={}",
        cache_buster()
    );
    let result = result_of(EP, t.get_json(EP, &url, REFERER_S).await?)?;
    Ok(decode_self(&result, auth.uin))
}

/// Decodes the `result` of `get_self_info2` (§4.6); `uin` stands in when
/// the answer has no numeric one. Never fails: missing fields are empty.
pub fn decode_self(result: &Value, uin: u64) -> SelfInfo {
    SelfInfo {
        uin: id_field(result.get("uin")).unwrap_or(uin),
        nick: str_field(result, "nick"),
        face: id_field(result.get("face")).unwrap_or_default(),
    }
}

/// `get_group_info_ext2` (§4.11) by group `code`: the members with cards.
pub(crate) async fn fetch_group_members(
    t: &Transport,
    auth: &Auth,
    code: u64,
) -> Result<BTreeMap<u64, Member>> {
    const EP: &str = "get_group_info_ext2";
    let url = format!(
        "https://s.web2.qq.com/api/get_group_info_ext2?gcode={code}&vfwebqq={}&t={}",
        enc(&auth.vfwebqq),
        cache_buster()
    );
    let result = result_of(EP, t.get_json(EP, &url, REFERER_S).await?)?;
    decode_group_members(&result)
}

/// Decodes the `result` of `get_group_info_ext2` (§4.11): members by uin
/// with nicks, cards and flags; entries without a numeric `muin` are
/// skipped.
///
/// Fails when `result` has no `ginfo` or `ginfo` no `members` array.
pub fn decode_group_members(result: &Value) -> Result<BTreeMap<u64, Member>> {
    const EP: &str = "get_group_info_ext2";
    let nicks = by_uin(result, "minfo", "uin", "nick");
    let cards = by_uin(result, "cards", "muin", "card");
    let ginfo = result.get("ginfo").ok_or_else(|| Error::Malformed {
        endpoint: EP,
        detail: "result has no ginfo".into(),
    })?;
    let mut out = BTreeMap::new();
    for m in array(EP, ginfo, "members")? {
        let Some(uin) = id_field(m.get("muin")) else {
            continue;
        };
        out.insert(
            uin,
            Member {
                uin,
                nick: nicks.get(&uin).cloned().unwrap_or_default(),
                card: cards.get(&uin).cloned().filter(|c| !c.is_empty()),
                flag: id_field(m.get("mflag")).unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

/// `{uin → name}` from the optional array `result[list]` whose entries carry
/// the id in `id` and the name in `name` (absent lists are empty: the server
/// sometimes left them out). Looked up, not taken out, so an entry listed
/// twice in the main list keeps its name both times.
fn by_uin(result: &Value, list: &str, id: &str, name: &str) -> HashMap<u64, String> {
    result
        .get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| Some((id_field(e.get(id))?, str_field(e, name))))
        .collect()
}

/// `get_discu_info` (§4.12): the members of a discussion.
pub(crate) async fn fetch_discussion_members(
    t: &Transport,
    auth: &Auth,
    did: u64,
) -> Result<BTreeMap<u64, DiscussionMember>> {
    const EP: &str = "get_discu_info";
    let url = format!(
        "https://d1.web2.qq.com/channel/get_discu_info?did={did}&vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t={}",
        enc(&auth.vfwebqq),
        enc(&auth.psessionid),
        cache_buster()
    );
    let result = result_of(EP, t.get_json(EP, &url, REFERER_D).await?)?;
    decode_discussion_members(&result)
}

/// Decodes the `result` of `get_discu_info` (§4.12): members by uin with
/// nicks and real QQ numbers; entries without a numeric `mem_uin` are
/// skipped.
///
/// Fails when `result` has no `info` or `info` no `mem_list` array.
pub fn decode_discussion_members(result: &Value) -> Result<BTreeMap<u64, DiscussionMember>> {
    const EP: &str = "get_discu_info";
    let nicks = by_uin(result, "mem_info", "uin", "nick");
    let info = result.get("info").ok_or_else(|| Error::Malformed {
        endpoint: EP,
        detail: "result has no info".into(),
    })?;
    let mut out = BTreeMap::new();
    for m in array(EP, info, "mem_list")? {
        let Some(uin) = id_field(m.get("mem_uin")) else {
            continue;
        };
        out.insert(
            uin,
            DiscussionMember {
                uin,
                qq: id_field(m.get("ruin")),
                nick: nicks.get(&uin).cloned().unwrap_or_default(),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_prefer_cards_and_remarks() {
        let mut book = ContactBook::default();
        book.friends.insert(
            1,
            Friend {
                uin: 1,
                nick: "nick".into(),
                remark: Some("remark".into()),
                category: 0,
            },
        );
        let mut g = Group {
            gid: 10,
            code: 11,
            name: "g".into(),
            remark: None,
            members: BTreeMap::new(),
            members_loaded: true,
        };
        g.members.insert(
            1,
            Member {
                uin: 1,
                nick: "nick".into(),
                card: Some("card".into()),
                flag: 0,
            },
        );
        g.members.insert(
            2,
            Member {
                uin: 2,
                nick: "n2".into(),
                card: None,
                flag: 0,
            },
        );
        book.groups.insert(10, g);
        assert_eq!(
            book.sender_name(ChatRef::friend(1), 1).as_deref(),
            Some("remark")
        );
        assert_eq!(
            book.sender_name(ChatRef::group(10), 1).as_deref(),
            Some("card")
        );
        assert_eq!(
            book.sender_name(ChatRef::group(10), 2).as_deref(),
            Some("n2")
        );
        assert_eq!(book.sender_name(ChatRef::group(10), 3), None);
        assert_eq!(book.chat_name(ChatRef::group(10)).as_deref(), Some("g"));
        assert_eq!(unescape("a&amp;lt;&nbsp;b"), "a&lt; b");
    }

    /// An entry the server lists twice is one entry, with its remark or
    /// nick and card (they were taken out of the lookup by the first copy,
    /// so the copy that won lost them).
    #[test]
    fn duplicated_entries_keep_their_names() {
        let friends = decode_friends(&json!({
            "info": [{"uin": 1, "nick": "a"}, {"uin": 1, "nick": "a"}],
            "marknames": [{"uin": 1, "markname": "r"}]
        }))
        .unwrap();
        assert_eq!(friends[&1].remark.as_deref(), Some("r"));
        let members = decode_group_members(&json!({
            "ginfo": {"members": [{"muin": 5}, {"muin": "5"}]},
            "minfo": [{"uin": 5, "nick": "n"}],
            "cards": [{"muin": 5, "card": "c"}]
        }))
        .unwrap();
        assert_eq!(members[&5].nick, "n");
        assert_eq!(members[&5].card.as_deref(), Some("c"));
        let groups = decode_groups(&json!({
            "gnamelist": [{"gid": 9, "code": 1, "name": "g"}, {"gid": 9, "code": 1, "name": "g"}],
            "gmarklist": [{"uin": 9, "markname": "m"}]
        }))
        .unwrap();
        assert_eq!(groups[&9].remark.as_deref(), Some("m"));
    }

    #[test]
    fn refresh_is_rate_limited_per_list() {
        let c = ContactCache::default();
        assert!(c.may_refresh("friends", Duration::from_secs(60)));
        assert!(!c.may_refresh("friends", Duration::from_secs(60)));
        assert!(c.may_refresh("groups", Duration::from_secs(60)));
        assert!(c.may_refresh("friends", Duration::ZERO));
    }
}
