//! The typed events the client delivers, and the pure decoding of poll2's
//! `result` elements into them (§5.1).
//!
//! Ids are the protocol's session-local ids (§7): a friend's `uin`, a
//! group's `gid`, a discussion's `did`. They are only stable for one login;
//! after [`Event::Reconnected`] with `new_session: true` they may all have
//! changed, so anything keyed on them must be re-resolved through the
//! contacts.

use std::fmt;

use serde_json::Value;

use crate::content::{self, Segment};
use crate::transport::id_field;

/// The kind of a chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChatKind {
    /// A one-to-one chat with a friend; id = the friend's uin.
    Friend,
    /// A group (群); id = its gid.
    Group,
    /// A discussion (讨论组); id = its did.
    Discussion,
    /// A temporary chat with a non-friend via a common group or discussion;
    /// id = the peer's uin. Receive-only: SmartQQ retired the sess send API.
    Session,
}

impl ChatKind {
    /// The lowercase name (`friend`, `group`, `discussion`, `session`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Friend => "friend",
            ChatKind::Group => "group",
            ChatKind::Discussion => "discussion",
            ChatKind::Session => "session",
        }
    }
}

impl fmt::Display for ChatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A chat: its kind and session-local id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChatRef {
    /// Friend, group, discussion or temporary session.
    pub kind: ChatKind,
    /// Friend uin, group gid, discussion did, or session peer uin.
    pub id: u64,
}

impl ChatRef {
    /// A friend chat.
    pub fn friend(uin: u64) -> ChatRef {
        ChatRef {
            kind: ChatKind::Friend,
            id: uin,
        }
    }
    /// A group chat.
    pub fn group(gid: u64) -> ChatRef {
        ChatRef {
            kind: ChatKind::Group,
            id: gid,
        }
    }
    /// A discussion chat.
    pub fn discussion(did: u64) -> ChatRef {
        ChatRef {
            kind: ChatKind::Discussion,
            id: did,
        }
    }
}

impl fmt::Display for ChatRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// An incoming chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The server's message id (per session).
    pub msg_id: u64,
    /// Where it was said (the chat to reply to).
    pub chat: ChatRef,
    /// The sender's uin (equal to the chat id for friend and session chats).
    pub sender: u64,
    /// The sender's display name: friend remark or nick, group card or nick,
    /// discussion nick; `None` when the contacts do not know the sender.
    pub sender_name: Option<String>,
    /// For a temporary session: the group or discussion it goes through.
    pub via: Option<ChatRef>,
    /// Unix seconds, as stamped by the server.
    pub time: u64,
    /// The content (font dropped).
    pub segments: Vec<Segment>,
}

impl Message {
    /// The text of the message, faces rendered as `[face:N]`.
    pub fn text(&self) -> String {
        content::plain_text(&self.segments)
    }
}

/// Something that happened on the WebQQ session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A chat message from someone else (own echoes are dropped).
    Message(Message),
    /// A friend's online status changed (`buddies_status_change`).
    StatusChange {
        /// The friend's uin.
        uin: u64,
        /// `online`, `offline`, `away`, `busy`, `silent`, `hidden`, `callme`.
        status: String,
        /// The client type code (1 PC, 21 mobile, …), when given.
        client_type: Option<u64>,
    },
    /// The account was logged in elsewhere (`kick_message`); a full
    /// re-login follows.
    Kicked {
        /// The server's reason text.
        reason: String,
    },
    /// The session is lost (expired, kicked, failed probe); a full re-login
    /// (new QR code through the observer) starts.
    SessionLost {
        /// Why.
        reason: String,
    },
    /// The session is back after a relink or re-login.
    Reconnected {
        /// True after a full re-login: session-local ids (uins, gids, dids)
        /// may have changed and the contacts were reloaded.
        new_session: bool,
    },
    /// The client stopped for good (re-login failed); no more events follow.
    Stopped {
        /// Why.
        reason: String,
    },
}

/// A poll2 element decoded, before sender names are resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RawEvent {
    Message(Message),
    StatusChange {
        uin: u64,
        status: String,
        client_type: Option<u64>,
    },
    Kick {
        reason: String,
    },
    /// A poll_type this client does not handle (logged, skipped).
    Ignored(String),
}

/// Decodes one element of poll2's `result` (§5.1) into the event the client
/// delivers for it, before sender names are resolved (`sender_name` is
/// `None`); `Ok(None)` for a `poll_type` the client skips. The pure half of
/// the poll loop, public for the fuzz targets and property tests.
///
/// Fails, describing the element, when it lacks `poll_type`, `value`, a
/// numeric id the event needs, or a content array.
pub fn decode_event(item: &Value) -> Result<Option<Event>, String> {
    Ok(match decode_poll_item(item)? {
        RawEvent::Message(m) => Some(Event::Message(m)),
        RawEvent::StatusChange {
            uin,
            status,
            client_type,
        } => Some(Event::StatusChange {
            uin,
            status,
            client_type,
        }),
        RawEvent::Kick { reason } => Some(Event::Kicked { reason }),
        RawEvent::Ignored(_) => None,
    })
}

/// Decodes one element of poll2's `result` (§5.1). Errors describe the
/// malformed element.
pub(crate) fn decode_poll_item(item: &Value) -> Result<RawEvent, String> {
    let poll_type = item
        .get("poll_type")
        .and_then(Value::as_str)
        .ok_or("element without poll_type")?;
    let value = item.get("value").ok_or("element without value")?;
    let field = |name: &str| id_field(value.get(name));
    let need = |name: &str| field(name).ok_or_else(|| format!("{poll_type}: no numeric {name}"));
    let message = |chat: ChatRef, sender: u64, via: Option<ChatRef>| -> Result<RawEvent, String> {
        let segments = content::decode(value.get("content").unwrap_or(&Value::Null))
            .map_err(|e| format!("{poll_type}: {e}"))?;
        Ok(RawEvent::Message(Message {
            msg_id: need("msg_id")?,
            chat,
            sender,
            sender_name: None,
            via,
            time: field("time").unwrap_or_default(),
            segments,
        }))
    };
    match poll_type {
        "message" => {
            let from = need("from_uin")?;
            message(ChatRef::friend(from), from, None)
        }
        "group_message" => {
            // Key groups on from_uin (the gid); group_code is only the gid
            // in late SmartQQ (§5.1, §7).
            let gid = need("from_uin")?;
            message(ChatRef::group(gid), need("send_uin")?, None)
        }
        "discu_message" => {
            let did = field("did").or_else(|| field("from_uin"));
            let did = did.ok_or_else(|| format!("{poll_type}: no numeric did"))?;
            message(ChatRef::discussion(did), need("send_uin")?, None)
        }
        "sess_message" => {
            let from = need("from_uin")?;
            let via = field("id").map(|id| {
                if field("service_type") == Some(1) {
                    ChatRef::discussion(id)
                } else {
                    ChatRef::group(id)
                }
            });
            message(
                ChatRef {
                    kind: ChatKind::Session,
                    id: from,
                },
                from,
                via,
            )
        }
        "buddies_status_change" => Ok(RawEvent::StatusChange {
            uin: need("uin")?,
            status: value
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("unknown")
                .to_owned(),
            client_type: field("client_type"),
        }),
        "kick_message" => Ok(RawEvent::Kick {
            reason: value
                .get("reason")
                .and_then(Value::as_str)
                .unwrap_or("kicked")
                .to_owned(),
        }),
        other => Ok(RawEvent::Ignored(other.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_spec_samples() {
        let friend = json!({"poll_type":"message","value":{
            "content":[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],"好啊"],
            "from_uin":3785096088u64,"msg_id":25477,"msg_type":0,"time":1450686775,"to_uin":931996776}});
        let RawEvent::Message(m) = decode_poll_item(&friend).unwrap() else {
            panic!()
        };
        assert_eq!(m.chat, ChatRef::friend(3785096088));
        assert_eq!(m.sender, 3785096088);
        assert_eq!(m.text(), "好啊");
        assert_eq!(m.time, 1450686775);

        let group = json!({"poll_type":"group_message","value":{
            "content":[["font",{}],"hi",["face",14]],
            "from_uin":2323421101u64,"group_code":2323421101u64,"msg_id":50873,"msg_type":0,
            "send_uin":3680220215u64,"time":1450687625,"to_uin":931996776}});
        let RawEvent::Message(m) = decode_poll_item(&group).unwrap() else {
            panic!()
        };
        assert_eq!(m.chat, ChatRef::group(2323421101));
        assert_eq!(m.sender, 3680220215);
        assert_eq!(m.segments, vec![Segment::text("hi"), Segment::Face(14)]);

        let discu = json!({"poll_type":"discu_message","value":{
            "content":[["font",{}],"1"],"did":1946609037u64,"from_uin":1946609037u64,"msg_id":4,
            "msg_type":5,"send_uin":120221673,"time":1515002365,"to_uin":592812090}});
        let RawEvent::Message(m) = decode_poll_item(&discu).unwrap() else {
            panic!()
        };
        assert_eq!(m.chat, ChatRef::discussion(1946609037));

        let sess = json!({"poll_type":"sess_message","value":{
            "content":[["font",{}],"x"],"from_uin":7,"id":99,"service_type":1,"msg_id":5,"time":1}});
        let RawEvent::Message(m) = decode_poll_item(&sess).unwrap() else {
            panic!()
        };
        assert_eq!(m.chat.kind, ChatKind::Session);
        assert_eq!(m.via, Some(ChatRef::discussion(99)));
    }

    #[test]
    fn decodes_status_kick_and_unknown() {
        let st = json!({"poll_type":"buddies_status_change","value":{"uin":5,"status":"away","client_type":1}});
        assert_eq!(
            decode_poll_item(&st).unwrap(),
            RawEvent::StatusChange {
                uin: 5,
                status: "away".into(),
                client_type: Some(1)
            }
        );
        let kick = json!({"poll_type":"kick_message","value":{"way":"poll","show_reason":1,"reason":"elsewhere"}});
        assert_eq!(
            decode_poll_item(&kick).unwrap(),
            RawEvent::Kick {
                reason: "elsewhere".into()
            }
        );
        let other = json!({"poll_type":"input_notify","value":{}});
        assert_eq!(
            decode_poll_item(&other).unwrap(),
            RawEvent::Ignored("input_notify".into())
        );
        assert!(decode_poll_item(&json!({"value":{}})).is_err());
        assert!(decode_poll_item(&json!({"poll_type":"message","value":{"msg_id":1}})).is_err());
        assert!(
            decode_poll_item(
                &json!({"poll_type":"message","value":{"from_uin":1,"msg_id":1,"content":"x"}})
            )
            .is_err()
        );
    }
}
