//! The contact cache: friends, groups and their members, as listed by
//! `get_friend_list`, `get_group_list` and `get_group_member_list`
//! (`api/public.md`). The client keeps one immutable snapshot behind an
//! `Arc` and swaps in a new one on refresh, so readers never wait.
//!
//! List entries without a usable id are logged and skipped; other fields
//! default to empty.

use std::collections::HashMap;

use serde_json::Value;

use crate::event::Role;

/// A friend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Friend {
    /// QQ number.
    pub user_id: u64,
    /// Nickname.
    pub nickname: String,
    /// The remark we gave them (empty if none).
    pub remark: String,
}

/// A group member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// QQ number.
    pub user_id: u64,
    /// Nickname.
    pub nickname: String,
    /// Group card (empty if none).
    pub card: String,
    /// Role, if given.
    pub role: Option<Role>,
}

impl Friend {
    /// The name we know them by: the remark, else the nickname.
    pub fn display_name(&self) -> &str {
        if self.remark.is_empty() {
            &self.nickname
        } else {
            &self.remark
        }
    }
}

impl Member {
    /// The name shown in the group: the card, else the nickname.
    pub fn display_name(&self) -> &str {
        if self.card.is_empty() {
            &self.nickname
        } else {
            &self.card
        }
    }
}

/// A group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Group {
    /// Group number.
    pub group_id: u64,
    /// Group name.
    pub name: String,
    /// Members by QQ number (empty until listed).
    pub members: HashMap<u64, Member>,
}

/// A snapshot of the account's contacts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Contacts {
    /// Friends by QQ number.
    pub friends: HashMap<u64, Friend>,
    /// Groups by group number.
    pub groups: HashMap<u64, Group>,
}

fn id(v: &Value, field: &str) -> Option<u64> {
    match v.get(field)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn text(v: &Value, field: &str) -> String {
    v.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn entries<'a>(list: &'a Value, what: &'static str) -> Result<&'a Vec<Value>, String> {
    list.as_array().ok_or_else(|| {
        format!(
            "{what}: data is not an array: {}",
            crate::message::short(list)
        )
    })
}

/// Decodes `get_friend_list` data.
pub fn decode_friends(list: &Value) -> Result<HashMap<u64, Friend>, String> {
    let mut out = HashMap::new();
    for e in entries(list, "get_friend_list")? {
        match id(e, "user_id") {
            Some(user_id) => {
                out.insert(
                    user_id,
                    Friend {
                        user_id,
                        nickname: text(e, "nickname"),
                        remark: text(e, "remark"),
                    },
                );
            }
            None => {
                tracing::warn!(entry = %crate::message::short(e), "get_friend_list: entry without a user_id, skipped")
            }
        }
    }
    Ok(out)
}

/// Decodes `get_group_list` data (members left empty).
pub fn decode_groups(list: &Value) -> Result<HashMap<u64, Group>, String> {
    let mut out = HashMap::new();
    for e in entries(list, "get_group_list")? {
        match id(e, "group_id") {
            Some(group_id) => {
                out.insert(
                    group_id,
                    Group {
                        group_id,
                        name: text(e, "group_name"),
                        members: HashMap::new(),
                    },
                );
            }
            None => {
                tracing::warn!(entry = %crate::message::short(e), "get_group_list: entry without a group_id, skipped")
            }
        }
    }
    Ok(out)
}

/// Decodes `get_group_member_list` data.
pub fn decode_members(list: &Value) -> Result<HashMap<u64, Member>, String> {
    let mut out = HashMap::new();
    for e in entries(list, "get_group_member_list")? {
        match id(e, "user_id") {
            Some(user_id) => {
                let role = e.get("role").and_then(Value::as_str).and_then(Role::parse);
                out.insert(
                    user_id,
                    Member {
                        user_id,
                        nickname: text(e, "nickname"),
                        card: text(e, "card"),
                        role,
                    },
                );
            }
            None => {
                tracing::warn!(entry = %crate::message::short(e), "get_group_member_list: entry without a user_id, skipped")
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists() {
        let f = decode_friends(&json!([{"user_id": 1, "nickname": "a", "remark": "r"}, {"nickname": "no id"}, {"user_id": "2"}])).unwrap();
        assert_eq!(f.len(), 2);
        assert_eq!(f[&1].remark, "r");
        assert_eq!(f[&2].nickname, "");
        let g = decode_groups(&json!([{"group_id": 10, "group_name": "g", "member_count": 3}]))
            .unwrap();
        assert_eq!(g[&10].name, "g");
        let m = decode_members(
            &json!([{"group_id": 10, "user_id": 1, "nickname": "n", "card": "", "role": "owner"}]),
        )
        .unwrap();
        assert_eq!(m[&1].role, Some(Role::Owner));
        assert_eq!(m[&1].display_name(), "n");
        assert!(decode_friends(&json!({"x": 1})).is_err());
    }
}
