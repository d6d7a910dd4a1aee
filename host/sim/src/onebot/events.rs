//! Event encoding (`event/*.md`): message events rendered from the queue's
//! public terms, lifecycle and heartbeat meta events, and the malformed
//! events of the `onebot_malformed_event` fault.
//!
//! Every event carries `time`, `self_id` (the population's bot) and
//! `post_type`. A private message from a friend is `sub_type: friend` with
//! `sender {user_id, nickname, sex, age}`; a group message is
//! `sub_type: normal`, `anonymous: null`, with `sender` carrying the
//! member's `card` and `role` (`owner`/`admin`/`member`) from the
//! population. `message` follows the configured [`MessageFormat`];
//! `raw_message` is always the CQ-code string.

use serde_json::{Value, json};

use super::config::MessageFormat;
use super::message::{from_injected, to_array, to_cq};
use crate::Population;
use crate::event::{Event, unix_now};
use crate::model::ChatKind;

pub use crate::faults::MalformedEvent;

/// The role of a group member.
pub(crate) fn role(pop: &Population, group: u64, qq: u64) -> &'static str {
    let Some(g) = pop.group(group) else {
        return "member";
    };
    if g.owner == Some(qq) {
        "owner"
    } else if g.members.iter().any(|m| m.qq == qq && m.admin) {
        "admin"
    } else {
        "member"
    }
}

/// The gender of a person as OneBot's `sex`.
pub(crate) fn sex(pop: &Population, qq: u64) -> String {
    if qq == pop.bot.qq {
        return pop.bot.gender.clone();
    }
    pop.user(qq)
        .map(|u| u.gender.clone())
        .unwrap_or_else(|| "unknown".into())
}

/// A person's nickname ("" when unknown).
pub(crate) fn nickname(pop: &Population, qq: u64) -> String {
    pop.person(qq)
        .map(|p| p.nick().to_string())
        .unwrap_or_default()
}

/// The message event for a queued incoming message.
pub(crate) fn message(pop: &Population, format: MessageFormat, ev: &Event) -> Value {
    let segs = from_injected(&ev.segments);
    let raw = to_cq(&segs);
    let message = match format {
        MessageFormat::String => Value::String(raw.clone()),
        MessageFormat::Array => to_array(&segs),
    };
    let nick = nickname(pop, ev.from);
    let sex = sex(pop, ev.from);
    match ev.chat {
        ChatKind::Group => {
            let card = pop
                .group(ev.to)
                .and_then(|g| g.members.iter().find(|m| m.qq == ev.from))
                .and_then(|m| m.card.clone())
                .unwrap_or_default();
            json!({
                "time": ev.time, "self_id": pop.bot.qq, "post_type": "message",
                "message_type": "group", "sub_type": "normal", "message_id": ev.msg_id,
                "group_id": ev.to, "user_id": ev.from, "anonymous": null,
                "message": message, "raw_message": raw, "font": 0,
                "sender": {
                    "user_id": ev.from, "nickname": nick, "card": card, "sex": sex, "age": 0,
                    "area": "", "level": "", "role": role(pop, ev.to, ev.from), "title": "",
                },
            })
        }
        // Discussions are refused at injection while the face is OneBot.
        ChatKind::Friend | ChatKind::Discussion => json!({
            "time": ev.time, "self_id": pop.bot.qq, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": ev.msg_id,
            "user_id": ev.from, "message": message, "raw_message": raw, "font": 0,
            "sender": {"user_id": ev.from, "nickname": nick, "sex": sex, "age": 0},
        }),
    }
}

/// `get_status`'s data, also the heartbeat's `status`.
pub(crate) fn status() -> Value {
    json!({"online": true, "good": true})
}

/// A lifecycle meta event (`enable`, `disable`, `connect`).
pub(crate) fn lifecycle(self_id: u64, sub_type: &str) -> String {
    json!({
        "time": unix_now(), "self_id": self_id, "post_type": "meta_event",
        "meta_event_type": "lifecycle", "sub_type": sub_type,
    })
    .to_string()
}

/// A heartbeat meta event; `interval_ms` is the time to the next one.
pub(crate) fn heartbeat(self_id: u64, interval_ms: u128) -> String {
    json!({
        "time": unix_now(), "self_id": self_id, "post_type": "meta_event",
        "meta_event_type": "heartbeat", "status": status(), "interval": interval_ms as u64,
    })
    .to_string()
}

/// The text of a malformed event.
pub(crate) fn malformed(self_id: u64, kind: MalformedEvent) -> String {
    match kind {
        MalformedEvent::InvalidJson => format!(
            r#"{{"time":{},"self_id":{self_id},"post_type":"message","message_type":"private","message":"#,
            unix_now()
        ),
        MalformedEvent::UnknownPostType => json!({
            "time": unix_now(), "self_id": self_id, "post_type": "wasmqq_unknown",
            "detail": "a post_type this bot has never heard of",
        })
        .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmqq_wire::content::parse_text;

    fn ev(chat: ChatKind, from: u64, to: u64, text: &str) -> Event {
        Event {
            msg_id: 7,
            time: 1,
            chat,
            from,
            to,
            segments: parse_text(text),
        }
    }

    #[test]
    fn group_event_has_sender_from_population() {
        let pop = Population::builtin();
        let v = message(
            &pop,
            MessageFormat::Array,
            &ev(ChatKind::Group, 10001, 300001, "a[b] [face:14]"),
        );
        assert_eq!(v["sub_type"], "normal");
        assert_eq!(v["sender"]["card"], "Alice (owner)");
        assert_eq!(v["sender"]["role"], "owner");
        assert_eq!(v["raw_message"], "a&#91;b&#93; [CQ:face,id=14]");
        assert_eq!(
            v["message"][1],
            json!({"type": "face", "data": {"id": "14"}})
        );
        let v = message(
            &pop,
            MessageFormat::String,
            &ev(ChatKind::Group, 10002, 300002, "x"),
        );
        assert_eq!(v["sender"]["card"], "Bobby");
        assert_eq!(v["sender"]["role"], "member");
        assert_eq!(v["message"], "x");
    }

    #[test]
    fn private_event_and_malformed_ones() {
        let pop = Population::builtin();
        let v = message(
            &pop,
            MessageFormat::String,
            &ev(ChatKind::Friend, 10001, 0, "hi"),
        );
        assert_eq!(v["message_type"], "private");
        assert_eq!(v["sub_type"], "friend");
        assert_eq!(v["sender"]["nickname"], "Alice");
        assert_eq!(v["sender"]["sex"], "female");
        assert!(serde_json::from_str::<Value>(&malformed(1, MalformedEvent::InvalidJson)).is_err());
        let v: Value =
            serde_json::from_str(&malformed(1, MalformedEvent::UnknownPostType)).unwrap();
        assert_eq!(v["post_type"], "wasmqq_unknown");
    }
}
