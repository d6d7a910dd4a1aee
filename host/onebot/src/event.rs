//! Events pushed by the implementation (`event/`) and their decoding.
//!
//! Message events are typed ([`MessageEvent`]); heartbeat and lifecycle
//! meta events too, since the adapter itself uses heartbeats to detect a
//! dead connection. Notices and requests are passed on as JSON: their many
//! sub-types are for the bot to interpret.
//!
//! Decoding is strict about what identifies a message (`message_type`,
//! `message_id`, `user_id`, `group_id` for groups, `self_id`, `message`)
//! and lenient about the rest (`sender` fields are "best effort" per
//! `message.md`; a missing `raw_message` is rebuilt from `message`). Ids
//! are accepted as JSON numbers or numeric strings. Anything else is a
//! [`DecodeError`] naming the field, which the connection logs and skips.

use std::time::Duration;

use serde_json::{Map, Value};

use crate::message::{self, Segment, short};

/// What the implementation pushed, or a change of the connection's state.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A private or group message (`post_type: message`).
    Message(MessageEvent),
    /// A notice (`post_type: notice`), the whole event object.
    Notice(Value),
    /// A request (`post_type: request`), the whole event object.
    Request(Value),
    /// A meta event (`post_type: meta_event`).
    Meta(MetaEvent),
    /// A connection able to carry API calls to the implementation is up
    /// (emitted for each new one, including the first).
    Connected,
    /// The API connection was lost; calls fail with
    /// [`Error::Disconnected`](crate::Error::Disconnected) until the next
    /// [`Event::Connected`].
    Disconnected {
        /// Why (closed by the peer, heartbeat timeout, read error, …).
        reason: String,
    },
}

/// The kind of chat a message came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageType {
    /// A private chat (friend, group temporary session, other).
    Private,
    /// A group.
    Group,
}

/// A group member's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `owner`.
    Owner,
    /// `admin`.
    Admin,
    /// `member`.
    Member,
}

impl Role {
    /// The role named `s` (`owner`, `admin`, `member`).
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// The `sender` of a message, as far as the implementation provided it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sender {
    /// The sender's QQ number, if given.
    pub user_id: Option<u64>,
    /// Nickname (empty if not given).
    pub nickname: String,
    /// Group card (empty if not given or private).
    pub card: String,
    /// Group role, if given.
    pub role: Option<Role>,
}

/// A message event (`event/message.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageEvent {
    /// Private or group.
    pub message_type: MessageType,
    /// `friend`/`group`/`other` (private), `normal`/`anonymous`/`notice`
    /// (group); empty if absent.
    pub sub_type: String,
    /// The message id (for `reply` segments, `delete_msg`).
    pub message_id: i64,
    /// The sender's QQ number.
    pub user_id: u64,
    /// The group, for group messages.
    pub group_id: Option<u64>,
    /// The content.
    pub message: Vec<Segment>,
    /// The content in string form (rebuilt from `message` if absent).
    pub raw_message: String,
    /// The sender's details.
    pub sender: Sender,
    /// Unix time of the event (0 if absent).
    pub time: i64,
    /// The account that received it.
    pub self_id: u64,
}

impl MessageEvent {
    /// The plain text of the message ([`message::plain_text`]).
    pub fn text(&self) -> String {
        message::plain_text(&self.message)
    }
}

/// A meta event (`event/meta.md`).
#[derive(Debug, Clone, PartialEq)]
pub enum MetaEvent {
    /// `lifecycle`: `sub_type` is `enable`, `disable` or `connect`.
    Lifecycle {
        /// The sub type.
        sub_type: String,
        /// The account.
        self_id: u64,
    },
    /// `heartbeat`: the implementation is alive; the next one is due in
    /// `interval`.
    Heartbeat {
        /// Time to the next heartbeat, if given.
        interval: Option<Duration>,
        /// The `status` object (as `get_status`).
        status: Value,
        /// The account.
        self_id: u64,
    },
    /// Any other meta event, as received.
    Other(Value),
}

/// Why an event pushed by the implementation could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame or body is not JSON.
    #[error("event is not JSON: {0}")]
    NotJson(String),
    /// The JSON is not an object.
    #[error("event is not a JSON object: {0}")]
    NotObject(String),
    /// A required field is absent.
    #[error("{event} event without \"{field}\"")]
    Missing {
        /// The event kind (`message`, `group message`, …).
        event: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field has the wrong type or value.
    #[error("{event} event: bad \"{field}\": {detail}")]
    Invalid {
        /// The event kind.
        event: &'static str,
        /// The field.
        field: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// `post_type` is not one of the four of `event/README.md`.
    #[error("unknown post_type {0:?}")]
    UnknownPostType(String),
    /// `message_type` is neither `private` nor `group`.
    #[error("unknown message_type {0:?}")]
    UnknownMessageType(String),
}

/// Decodes an event from its JSON text.
pub fn decode_event_str(text: &str) -> Result<Event, DecodeError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| DecodeError::NotJson(e.to_string()))?;
    decode_event(&value)
}

/// Decodes an event object (one with a `post_type`).
pub fn decode_event(value: &Value) -> Result<Event, DecodeError> {
    let obj = value
        .as_object()
        .ok_or_else(|| DecodeError::NotObject(short(value)))?;
    let post_type = obj.get("post_type").ok_or(DecodeError::Missing {
        event: "any",
        field: "post_type",
    })?;
    let post_type = post_type.as_str().ok_or_else(|| DecodeError::Invalid {
        event: "any",
        field: "post_type",
        detail: short(post_type),
    })?;
    match post_type {
        "message" => decode_message(obj).map(Event::Message),
        "notice" => Ok(Event::Notice(value.clone())),
        "request" => Ok(Event::Request(value.clone())),
        "meta_event" => decode_meta(obj, value).map(Event::Meta),
        other => Err(DecodeError::UnknownPostType(other.to_string())),
    }
}

/// An integer field given as a number or a numeric string.
fn int_of(
    obj: &Map<String, Value>,
    event: &'static str,
    field: &'static str,
) -> Result<Option<i64>, DecodeError> {
    let invalid = |v: &Value| DecodeError::Invalid {
        event,
        field,
        detail: short(v),
    };
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_u64().and_then(|u| i64::try_from(u).ok()))
            .map(Some)
            .ok_or_else(|| invalid(v)),
        Some(v @ Value::String(s)) => s.trim().parse().map(Some).map_err(|_| invalid(v)),
        Some(v) => Err(invalid(v)),
    }
}

/// A required QQ/group number (non-negative integer).
fn id_of(
    obj: &Map<String, Value>,
    event: &'static str,
    field: &'static str,
) -> Result<u64, DecodeError> {
    let n = int_of(obj, event, field)?.ok_or(DecodeError::Missing { event, field })?;
    u64::try_from(n).map_err(|_| DecodeError::Invalid {
        event,
        field,
        detail: n.to_string(),
    })
}

fn str_of(obj: &Map<String, Value>, field: &str) -> String {
    obj.get(field)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn decode_message(obj: &Map<String, Value>) -> Result<MessageEvent, DecodeError> {
    const EV: &str = "message";
    let message_type = match obj.get("message_type").and_then(Value::as_str) {
        Some("private") => MessageType::Private,
        Some("group") => MessageType::Group,
        Some(other) => return Err(DecodeError::UnknownMessageType(other.to_string())),
        None => {
            return Err(DecodeError::Missing {
                event: EV,
                field: "message_type",
            });
        }
    };
    let group_id = match message_type {
        MessageType::Group => Some(id_of(obj, "group message", "group_id")?),
        MessageType::Private => None,
    };
    let message_id = int_of(obj, EV, "message_id")?.ok_or(DecodeError::Missing {
        event: EV,
        field: "message_id",
    })?;
    let user_id = id_of(obj, EV, "user_id")?;
    let self_id = id_of(obj, EV, "self_id")?;
    let raw = obj.get("message").ok_or(DecodeError::Missing {
        event: EV,
        field: "message",
    })?;
    let message = message::from_json(raw).map_err(|e| DecodeError::Invalid {
        event: EV,
        field: "message",
        detail: e.to_string(),
    })?;
    let raw_message = match obj.get("raw_message").and_then(Value::as_str) {
        Some(r) => r.to_string(),
        None => crate::cq::encode(&message),
    };
    let sender = match obj.get("sender").and_then(Value::as_object) {
        Some(s) => Sender {
            user_id: int_of(s, "sender", "user_id")
                .ok()
                .flatten()
                .and_then(|n| u64::try_from(n).ok()),
            nickname: str_of(s, "nickname"),
            card: str_of(s, "card"),
            role: s.get("role").and_then(Value::as_str).and_then(Role::parse),
        },
        None => Sender::default(),
    };
    Ok(MessageEvent {
        message_type,
        sub_type: str_of(obj, "sub_type"),
        message_id,
        user_id,
        group_id,
        message,
        raw_message,
        sender,
        time: int_of(obj, EV, "time")?.unwrap_or(0),
        self_id,
    })
}

fn decode_meta(obj: &Map<String, Value>, value: &Value) -> Result<MetaEvent, DecodeError> {
    const EV: &str = "meta";
    match obj.get("meta_event_type").and_then(Value::as_str) {
        Some("heartbeat") => {
            let interval = int_of(obj, "heartbeat", "interval")?
                .filter(|ms| *ms > 0)
                .map(|ms| Duration::from_millis(ms as u64));
            Ok(MetaEvent::Heartbeat {
                interval,
                status: obj.get("status").cloned().unwrap_or(Value::Null),
                self_id: id_of(obj, "heartbeat", "self_id")?,
            })
        }
        Some("lifecycle") => Ok(MetaEvent::Lifecycle {
            sub_type: str_of(obj, "sub_type"),
            self_id: id_of(obj, "lifecycle", "self_id")?,
        }),
        Some(_) => Ok(MetaEvent::Other(value.clone())),
        None => Err(DecodeError::Missing {
            event: EV,
            field: "meta_event_type",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::AtTarget;
    use serde_json::json;

    #[test]
    fn private_message_from_the_standard() {
        // communication/http-post.md, "上报".
        let body = r#"{
            "time": 1515204254, "self_id": 10001000, "post_type": "message",
            "message_type": "private", "sub_type": "friend", "message_id": 12,
            "user_id": 12345678, "message": "你好～", "raw_message": "你好～",
            "font": 456, "sender": {"nickname": "小不点", "sex": "male", "age": 18}
        }"#;
        let Event::Message(m) = decode_event_str(body).unwrap() else {
            panic!()
        };
        assert_eq!(m.message_type, MessageType::Private);
        assert_eq!(m.sub_type, "friend");
        assert_eq!(
            (m.message_id, m.user_id, m.self_id, m.time),
            (12, 12345678, 10001000, 1515204254)
        );
        assert_eq!(m.group_id, None);
        assert_eq!(m.message, vec![Segment::text("你好～")]);
        assert_eq!(m.raw_message, "你好～");
        assert_eq!(m.sender.nickname, "小不点");
        assert_eq!(m.sender.role, None);
    }

    #[test]
    fn group_message_array_form() {
        let v = json!({
            "time": 1, "self_id": "10001000", "post_type": "message", "message_type": "group",
            "sub_type": "normal", "message_id": -5, "group_id": 123456, "user_id": 42, "anonymous": null,
            "message": [{"type": "at", "data": {"qq": "10001000"}}, {"type": "text", "data": {"text": " hi"}}],
            "sender": {"user_id": 42, "nickname": "n", "card": "c", "role": "admin"}
        });
        let Event::Message(m) = decode_event(&v).unwrap() else {
            panic!()
        };
        assert_eq!(m.group_id, Some(123456));
        assert_eq!(m.message_id, -5);
        assert_eq!(m.self_id, 10001000);
        assert_eq!(m.message[0], Segment::At(AtTarget::Qq(10001000)));
        assert_eq!(m.text(), " hi");
        assert_eq!(m.raw_message, "[CQ:at,qq=10001000] hi");
        assert_eq!(m.sender.role, Some(Role::Admin));
        assert_eq!(m.sender.card, "c");
    }

    #[test]
    fn meta_notice_request() {
        let hb = json!({"time": 1, "self_id": 1, "post_type": "meta_event", "meta_event_type": "heartbeat",
                        "status": {"online": true, "good": true}, "interval": 15000});
        assert_eq!(
            decode_event(&hb).unwrap(),
            Event::Meta(MetaEvent::Heartbeat {
                interval: Some(Duration::from_secs(15)),
                status: json!({"online": true, "good": true}),
                self_id: 1
            })
        );
        let lc = json!({"time": 1, "self_id": 1, "post_type": "meta_event", "meta_event_type": "lifecycle", "sub_type": "connect"});
        assert_eq!(
            decode_event(&lc).unwrap(),
            Event::Meta(MetaEvent::Lifecycle {
                sub_type: "connect".into(),
                self_id: 1
            })
        );
        let n = json!({"time": 1, "self_id": 1, "post_type": "notice", "notice_type": "group_increase"});
        assert_eq!(decode_event(&n).unwrap(), Event::Notice(n.clone()));
        let r = json!({"time": 1, "self_id": 1, "post_type": "request", "request_type": "friend", "flag": "x"});
        assert_eq!(decode_event(&r).unwrap(), Event::Request(r.clone()));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let cases: &[(&str, DecodeError)] = &[
            ("not json", DecodeError::NotJson(String::new())),
            ("[1,2]", DecodeError::NotObject(String::new())),
            (
                r#"{"time":1}"#,
                DecodeError::Missing {
                    event: "any",
                    field: "post_type",
                },
            ),
            (
                r#"{"post_type":"weird"}"#,
                DecodeError::UnknownPostType("weird".into()),
            ),
            (
                r#"{"post_type":"message","message_type":"guild"}"#,
                DecodeError::UnknownMessageType("guild".into()),
            ),
            (
                r#"{"post_type":"message","message_type":"group","message_id":1,"user_id":2,"self_id":3,"message":"x"}"#,
                DecodeError::Missing {
                    event: "group message",
                    field: "group_id",
                },
            ),
            (
                r#"{"post_type":"message","message_type":"private","message_id":1,"self_id":3,"message":"x"}"#,
                DecodeError::Missing {
                    event: "message",
                    field: "user_id",
                },
            ),
            (
                r#"{"post_type":"message","message_type":"private","message_id":1,"user_id":-2,"self_id":3,"message":"x"}"#,
                DecodeError::Invalid {
                    event: "message",
                    field: "user_id",
                    detail: "-2".into(),
                },
            ),
            (
                r#"{"post_type":"message","message_type":"private","message_id":1,"user_id":2,"self_id":3,"message":7}"#,
                DecodeError::Invalid {
                    event: "message",
                    field: "message",
                    detail: String::new(),
                },
            ),
            (
                r#"{"post_type":"meta_event"}"#,
                DecodeError::Missing {
                    event: "meta",
                    field: "meta_event_type",
                },
            ),
        ];
        for (text, expected) in cases {
            let err = decode_event_str(text).unwrap_err();
            assert_eq!(
                std::mem::discriminant(&err),
                std::mem::discriminant(expected),
                "{text}: {err}"
            );
            if !matches!(
                expected,
                DecodeError::NotJson(_) | DecodeError::NotObject(_)
            ) && !matches!(
                expected,
                DecodeError::Invalid {
                    field: "message",
                    ..
                }
            ) {
                assert_eq!(&err, expected, "{text}");
            }
        }
    }
}
