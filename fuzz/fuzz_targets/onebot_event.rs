//! What a OneBot implementation pushes and answers, decoded by host/onebot:
//! `event::{decode_event, decode_event_str}` and `action::Response::decode`.
//!
//! Input is raw bytes, or JSON built from a small vocabulary of the
//! standard's field names and values (`post_type`, `message_type`, ids as
//! numbers or numeric strings, messages as CQ strings or segment arrays),
//! or a message event or response with every required field present and
//! arbitrary values, so the decoders' deep paths are reached, not only
//! "not JSON".
//!
//! Invariants (beyond "never panics"):
//! - the text and the value decode alike (`decode_event_str(text) ==
//!   decode_event(parse(text))`); `decode_event` never says "not JSON"
//!   and never yields a connection event;
//! - a message event has `group_id` exactly when its `message_type` is
//!   `group`, and the `message_type` it was sent; its ids fit in an i64 (as
//!   `int_of` reads them); `raw_message` is the one sent, or
//!   `cq::encode(message)` when none was; `message` survives the array
//!   form (`from_json ∘ to_array`) unchanged, and the CQ string form too
//!   when it came as a string; the event, written back in the
//!   implementation's shape, decodes to itself;
//! - notices and requests are the object as received; a heartbeat's
//!   interval is positive; meta events written back decode to themselves;
//! - a decoded response has the `status` it was sent (or the one its
//!   `retcode` implies), the `retcode` it was sent (or the one its status
//!   implies), and written back decodes to itself; a refusal is a
//!   non-object or one with neither a known status nor a retcode.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use wasmqq_onebot::action::{Response, Status};
use wasmqq_onebot::event::{DecodeError, decode_event, decode_event_str};
use wasmqq_onebot::{Event, MessageEvent, MessageType, MetaEvent, Role, cq, message};

#[derive(Arbitrary, Debug)]
enum Key {
    PostType,
    MessageType,
    SubType,
    MessageId,
    UserId,
    GroupId,
    SelfId,
    Message,
    RawMessage,
    Sender,
    Time,
    Font,
    Anonymous,
    MetaEventType,
    Interval,
    Status,
    NoticeType,
    RequestType,
    Retcode,
    Data,
    Echo,
    Wording,
    Msg,
    Nickname,
    Card,
    Role,
    Type,
    Text,
    Id,
    Qq,
    File,
    Url,
    Other(String),
}

impl Key {
    fn name(&self) -> String {
        match self {
            Key::PostType => "post_type",
            Key::MessageType => "message_type",
            Key::SubType => "sub_type",
            Key::MessageId => "message_id",
            Key::UserId => "user_id",
            Key::GroupId => "group_id",
            Key::SelfId => "self_id",
            Key::Message => "message",
            Key::RawMessage => "raw_message",
            Key::Sender => "sender",
            Key::Time => "time",
            Key::Font => "font",
            Key::Anonymous => "anonymous",
            Key::MetaEventType => "meta_event_type",
            Key::Interval => "interval",
            Key::Status => "status",
            Key::NoticeType => "notice_type",
            Key::RequestType => "request_type",
            Key::Retcode => "retcode",
            Key::Data => "data",
            Key::Echo => "echo",
            Key::Wording => "wording",
            Key::Msg => "msg",
            Key::Nickname => "nickname",
            Key::Card => "card",
            Key::Role => "role",
            Key::Type => "type",
            Key::Text => "text",
            Key::Id => "id",
            Key::Qq => "qq",
            Key::File => "file",
            Key::Url => "url",
            Key::Other(s) => return s.clone(),
        }
        .to_string()
    }
}

/// String values the decoders look for.
const WORDS: &[&str] = &[
    "message",
    "notice",
    "request",
    "meta_event",
    "private",
    "group",
    "guild",
    "heartbeat",
    "lifecycle",
    "connect",
    "enable",
    "friend",
    "normal",
    "anonymous",
    "ok",
    "async",
    "failed",
    "text",
    "face",
    "at",
    "image",
    "reply",
    "all",
    "owner",
    "admin",
    "member",
    "",
    "[CQ:face,id=178]看看我刚拍的照片[CQ:image,file=123.jpg]",
    "[CQ:at,qq=all] &#91;hi&#93;",
    "[CQ:text,text=a]b",
    "[CQ:share,title=震惊&#44;小伙,url=http://baidu.com/?a=1&amp;b=2]",
];

#[derive(Arbitrary, Debug)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Word(u8),
    /// An integer as a numeric string, perhaps with spaces around it.
    NumStr(i64, bool),
    Str(String),
    Array(Vec<Val>),
    Object(Vec<(Key, Val)>),
    /// A message segment `{"type": …, "data": {…}}`.
    Segment(u8, Option<Vec<(Key, Val)>>),
}

impl Val {
    fn value(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => Value::Bool(*b),
            Val::Int(n) => json!(n),
            Val::UInt(n) => json!(n),
            Val::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Val::Word(i) => json!(WORDS[*i as usize % WORDS.len()]),
            Val::NumStr(n, true) => json!(format!(" {n} ")),
            Val::NumStr(n, false) => json!(n.to_string()),
            Val::Str(s) => json!(s),
            Val::Array(items) => Value::Array(items.iter().map(Val::value).collect()),
            Val::Object(fields) => Value::Object(object(fields)),
            Val::Segment(kind, data) => {
                let mut seg = Map::new();
                seg.insert("type".into(), json!(WORDS[*kind as usize % WORDS.len()]));
                if let Some(data) = data {
                    seg.insert("data".into(), Value::Object(object(data)));
                }
                Value::Object(seg)
            }
        }
    }
}

fn object(fields: &[(Key, Val)]) -> Map<String, Value> {
    fields.iter().map(|(k, v)| (k.name(), v.value())).collect()
}

/// A message event with every field the decoder requires.
#[derive(Arbitrary, Debug)]
struct MessageTemplate {
    group: bool,
    group_id: Option<Val>,
    message_id: Val,
    user_id: Val,
    self_id: Val,
    /// As segments (true) or as whatever `message` is.
    as_segments: bool,
    segments: Vec<Val>,
    message: Val,
    extra: Vec<(Key, Val)>,
}

impl MessageTemplate {
    fn value(&self) -> Value {
        let mut obj = object(&self.extra);
        obj.insert("post_type".into(), json!("message"));
        let mt = if self.group { "group" } else { "private" };
        obj.insert("message_type".into(), json!(mt));
        if let Some(g) = &self.group_id {
            obj.insert("group_id".into(), g.value());
        }
        obj.insert("message_id".into(), self.message_id.value());
        obj.insert("user_id".into(), self.user_id.value());
        obj.insert("self_id".into(), self.self_id.value());
        let message = if self.as_segments {
            Value::Array(self.segments.iter().map(Val::value).collect())
        } else {
            self.message.value()
        };
        obj.insert("message".into(), message);
        Value::Object(obj)
    }
}

#[derive(Arbitrary, Debug)]
enum Input {
    Json(Val),
    Message(MessageTemplate),
    Response {
        status: Option<Val>,
        retcode: Option<Val>,
        extra: Vec<(Key, Val)>,
    },
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Owner => "owner",
        Role::Admin => "admin",
        Role::Member => "member",
    }
}

/// A message event in the implementation's shape.
fn write_message(m: &MessageEvent) -> Value {
    let mut obj = json!({
        "post_type": "message",
        "message_type": match m.message_type { MessageType::Group => "group", MessageType::Private => "private" },
        "sub_type": m.sub_type,
        "message_id": m.message_id,
        "user_id": m.user_id,
        "self_id": m.self_id,
        "time": m.time,
        "message": message::to_array(&m.message),
        "raw_message": m.raw_message,
        "sender": {"nickname": m.sender.nickname, "card": m.sender.card},
    });
    if let Some(g) = m.group_id {
        obj["group_id"] = json!(g);
    }
    if let Some(u) = m.sender.user_id {
        obj["sender"]["user_id"] = json!(u);
    }
    if let Some(r) = m.sender.role {
        obj["sender"]["role"] = json!(role_name(r));
    }
    obj
}

fn check_message(obj: &Map<String, Value>, m: &MessageEvent) {
    let sent_type = obj.get("message_type").and_then(Value::as_str);
    match m.message_type {
        MessageType::Group => assert_eq!(sent_type, Some("group")),
        MessageType::Private => assert_eq!(sent_type, Some("private")),
    }
    assert_eq!(
        m.group_id.is_some(),
        m.message_type == MessageType::Group,
        "{m:?}"
    );
    for id in [
        Some(m.user_id),
        Some(m.self_id),
        m.group_id,
        m.sender.user_id,
    ]
    .into_iter()
    .flatten()
    {
        assert!(i64::try_from(id).is_ok(), "{m:?}");
    }
    match obj.get("raw_message").and_then(Value::as_str) {
        Some(raw) => assert_eq!(m.raw_message, raw),
        None => assert_eq!(m.raw_message, cq::encode(&m.message)),
    }
    assert_eq!(
        message::from_json(&message::to_array(&m.message)).as_ref(),
        Ok(&m.message),
        "array form of {m:?}"
    );
    if obj.get("message").is_some_and(Value::is_string) {
        let s = cq::encode(&m.message);
        assert_eq!(cq::parse(&s), m.message, "string form {s:?}");
    }
    let written = write_message(m);
    assert_eq!(
        decode_event(&written),
        Ok(Event::Message(m.clone())),
        "written back as {written}"
    );
}

fn write_meta(meta: &MetaEvent) -> Value {
    match meta {
        MetaEvent::Lifecycle { sub_type, self_id } => json!({
            "post_type": "meta_event", "meta_event_type": "lifecycle",
            "sub_type": sub_type, "self_id": self_id,
        }),
        MetaEvent::Heartbeat {
            interval,
            status,
            self_id,
        } => json!({
            "post_type": "meta_event", "meta_event_type": "heartbeat",
            "interval": interval.map(|d| d.as_millis() as i64), "status": status, "self_id": self_id,
        }),
        MetaEvent::Other(v) => v.clone(),
    }
}

fn check_event(value: &Value) {
    let decoded = decode_event(value);
    let obj = value.as_object();
    let post_type = obj.and_then(|o| o.get("post_type")).and_then(Value::as_str);
    match &decoded {
        Ok(Event::Message(m)) => {
            assert_eq!(post_type, Some("message"));
            check_message(obj.unwrap(), m);
        }
        Ok(Event::Notice(v)) => {
            assert_eq!(post_type, Some("notice"));
            assert_eq!(v, value);
        }
        Ok(Event::Request(v)) => {
            assert_eq!(post_type, Some("request"));
            assert_eq!(v, value);
        }
        Ok(Event::Meta(meta)) => {
            assert_eq!(post_type, Some("meta_event"));
            if let MetaEvent::Heartbeat {
                interval: Some(d), ..
            } = meta
            {
                assert!(!d.is_zero());
            }
            if let MetaEvent::Other(v) = meta {
                assert_eq!(v, value);
            }
            let written = write_meta(meta);
            assert_eq!(
                decode_event(&written),
                Ok(Event::Meta(meta.clone())),
                "written back as {written}"
            );
        }
        Ok(other) => panic!("decode_event yielded a connection event: {other:?}"),
        Err(DecodeError::NotJson(_)) => panic!("decode_event said a value is not JSON"),
        Err(_) => {}
    }
    // The same through the JSON text.
    assert_eq!(decode_event_str(&value.to_string()), decoded);
}

fn check_response(value: &Value) {
    let decoded = Response::decode(value);
    let Some(obj) = value.as_object() else {
        assert!(decoded.is_err());
        return;
    };
    let sent_status = match obj.get("status").and_then(Value::as_str) {
        Some("ok") => Some(Status::Ok),
        Some("async") => Some(Status::Async),
        Some("failed") => Some(Status::Failed),
        _ => None,
    };
    let sent_retcode = obj.get("retcode").and_then(Value::as_i64);
    let r = match decoded {
        Err(_) => {
            assert!(
                sent_status.is_none() && sent_retcode.is_none(),
                "{value} refused"
            );
            return;
        }
        Ok(r) => r,
    };
    let implied = |code: i64| match code {
        0 => Status::Ok,
        1 => Status::Async,
        _ => Status::Failed,
    };
    assert_eq!(Some(r.status), sent_status.or(sent_retcode.map(implied)));
    let default = match r.status {
        Status::Ok => 0,
        Status::Async => 1,
        Status::Failed => -1,
    };
    assert_eq!(r.retcode, sent_retcode.unwrap_or(default));
    assert_eq!(&r.data, obj.get("data").unwrap_or(&Value::Null));
    assert_eq!(r.echo.as_ref(), obj.get("echo"));
    let status = match r.status {
        Status::Ok => "ok",
        Status::Async => "async",
        Status::Failed => "failed",
    };
    let mut written =
        json!({"status": status, "retcode": r.retcode, "data": r.data, "message": r.message});
    if let Some(echo) = &r.echo {
        written["echo"] = echo.clone();
    }
    assert_eq!(
        Response::decode(&written).as_ref(),
        Ok(&r),
        "written back as {written}"
    );
}

fn check(value: &Value) {
    check_event(value);
    check_response(value);
}

// The input is a frame as the implementation sends it (the seeds are the
// standard's examples) and, read by `arbitrary`, an `Input`.
fuzz_target!(|bytes: &[u8]| {
    let parsed: Result<Value, _> = serde_json::from_slice(bytes);
    if let Ok(text) = std::str::from_utf8(bytes) {
        let from_text = decode_event_str(text);
        match &parsed {
            Ok(v) => assert_eq!(from_text, decode_event(v)),
            Err(_) => assert!(matches!(from_text, Err(DecodeError::NotJson(_)))),
        }
    }
    if let Ok(v) = &parsed {
        check(v);
    }
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(bytes)) else {
        return;
    };
    match input {
        Input::Json(v) => check(&v.value()),
        Input::Message(m) => check(&m.value()),
        Input::Response {
            status,
            retcode,
            extra,
        } => {
            let mut obj = object(&extra);
            if let Some(s) = status {
                obj.insert("status".into(), s.value());
            }
            if let Some(r) = retcode {
                obj.insert("retcode".into(), r.value());
            }
            check(&Value::Object(obj));
        }
    }
});
