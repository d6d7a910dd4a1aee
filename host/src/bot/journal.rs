//! What the bot writes into the inbound journal (see
//! [`crate::outbox::journal`]): a received message as JSON, and the key that
//! recognises the same message delivered twice.

use serde::{Deserialize, Serialize};

use crate::abi::{Chat, ChatKind, Message, Segment};
use crate::dispatch::{ChatAddress, Incoming};

/// The journal key of a message: its chat (by the stable key, not the
/// session's id), WebQQ's message id and its time.
pub fn key(incoming: &Incoming) -> String {
    format!(
        "{}|{}|{}",
        incoming.chat.key, incoming.message.id, incoming.message.time
    )
}

#[derive(Serialize, Deserialize)]
struct Stored {
    id: u64,
    kind: String,
    chat: u64,
    chat_name: Option<String>,
    sender: u64,
    sender_name: String,
    sender_qq: Option<u64>,
    #[serde(default)]
    sender_admin: bool,
    time: u64,
    segments: Vec<StoredSegment>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum StoredSegment {
    Text(String),
    Face(u32),
    Mention(u64),
}

/// A message as stored in the journal.
pub fn encode(incoming: &Incoming) -> String {
    let m = &incoming.message;
    let stored = Stored {
        id: m.id,
        kind: m.chat.kind.to_string(),
        chat: m.chat.id,
        chat_name: incoming.chat.name.clone(),
        sender: m.sender,
        sender_name: m.sender_name.clone(),
        sender_qq: incoming.sender_qq,
        sender_admin: incoming.sender_admin,
        time: m.time,
        segments: m
            .segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => StoredSegment::Text(t.clone()),
                Segment::Face(f) => StoredSegment::Face(*f),
                Segment::Mention(u) => StoredSegment::Mention(*u),
            })
            .collect(),
    };
    serde_json::to_string(&stored).expect("plain data serialises")
}

/// The inverse of [`encode`] for a message of `account` (each account
/// has its own journal); the error says what is wrong.
pub fn decode(payload: &str, account: &std::sync::Arc<str>) -> Result<Incoming, String> {
    let s: Stored = serde_json::from_str(payload).map_err(|e| e.to_string())?;
    let kind: ChatKind = s.kind.parse().map_err(|e| format!("{e}"))?;
    let chat = Chat { kind, id: s.chat };
    Ok(Incoming {
        message: Message {
            id: s.id,
            chat,
            sender: s.sender,
            sender_name: s.sender_name,
            segments: s
                .segments
                .into_iter()
                .map(|s| match s {
                    StoredSegment::Text(t) => Segment::Text(t),
                    StoredSegment::Face(f) => Segment::Face(f),
                    StoredSegment::Mention(u) => Segment::Mention(u),
                })
                .collect(),
            time: s.time,
        },
        chat: ChatAddress::on(account.clone(), chat, s.chat_name),
        sender_qq: s.sender_qq,
        sender_admin: s.sender_admin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_and_keys_by_chat_name() {
        let chat = Chat {
            kind: ChatKind::Group,
            id: 42,
        };
        let incoming = Incoming {
            message: Message {
                id: 7,
                chat,
                sender: 9,
                sender_name: "Bob \"B\"".into(),
                segments: vec![
                    Segment::Text("!echo 汉字\n".into()),
                    Segment::Face(14),
                    Segment::Mention(3),
                ],
                time: 1_700_000_000,
            },
            chat: ChatAddress::on("second".into(), chat, Some("wasmqq dev".into())),
            sender_qq: Some(10002),
            sender_admin: true,
        };
        let back = decode(&encode(&incoming), &"second".into()).unwrap();
        assert_eq!(back.message, incoming.message);
        assert_eq!(back.chat, incoming.chat);
        assert_eq!(back.sender_qq, Some(10002));
        assert!(back.sender_admin);
        assert_eq!(key(&incoming), "second/group:wasmqq dev|7|1700000000");
        let main = "main".into();
        assert!(decode("{}", &main).is_err());
        assert!(decode(&encode(&incoming).replace("group", "moon"), &main).is_err());
    }
}
