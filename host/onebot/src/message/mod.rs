//! OneBot v11 messages (`message/`): the [`Segment`] type and its array
//! form (`message/array.md`); the string form (CQ codes) is its child [`cq`] (also `crate::cq`).
//!
//! A message arrives in either form, depending on the implementation's
//! `message_format` setting, so [`from_json`] accepts a string, an array
//! or a single segment object (as `api/README.md` allows for `message`
//! parameters). We always send the array form ([`to_array`]): it needs no
//! escaping and every implementation must accept it.
//!
//! The common segment kinds are typed (`text`, `face`, `at`, `image`,
//! `reply`); every other kind, and a common kind whose data does not parse
//! (a `face` whose `id` is not a number), is kept verbatim as
//! [`Segment::Other`], so nothing received is lost on the way back out.
//! Typed segments keep only the fields they model (an `image`'s `file` and
//! `url`; extra keys such as `type=flash` make it `Other`).

pub mod cq;

use serde_json::{Map, Value};

/// The target of an `at` segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtTarget {
    /// One member, by QQ number.
    Qq(u64),
    /// Everyone in the group (`qq=all`).
    All,
}

/// One message segment (`message/segment.md`).
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// Plain text (`text`), unescaped.
    Text(String),
    /// A QQ face (`face`, `id`).
    Face(u32),
    /// A mention (`at`, `qq`).
    At(AtTarget),
    /// An image: `file` (received file name, or a `file://`, `http(s)://`
    /// or `base64://` source when sending) and, on receipt, its `url`.
    Image {
        /// The `file` parameter.
        file: String,
        /// The `url` parameter (received images only).
        url: Option<String>,
    },
    /// A reply to the message with this `id`.
    Reply(String),
    /// Any other segment, as received.
    Other {
        /// The segment `type`.
        kind: String,
        /// Its `data` (an empty map for `null`).
        data: Map<String, Value>,
    },
}

impl Segment {
    /// A text segment.
    pub fn text(text: impl Into<String>) -> Segment {
        Segment::Text(text.into())
    }

    /// The segment's `type` (`text`, `face`, …).
    pub fn kind(&self) -> &str {
        match self {
            Segment::Text(_) => "text",
            Segment::Face(_) => "face",
            Segment::At(_) => "at",
            Segment::Image { .. } => "image",
            Segment::Reply(_) => "reply",
            Segment::Other { kind, .. } => kind,
        }
    }

    /// The segment's `data` parameters as strings, in their CQ-code order.
    /// Non-string values of an [`Segment::Other`] are given as JSON text.
    pub fn params(&self) -> Vec<(String, String)> {
        match self {
            Segment::Text(t) => vec![("text".into(), t.clone())],
            Segment::Face(id) => vec![("id".into(), id.to_string())],
            Segment::At(AtTarget::Qq(qq)) => vec![("qq".into(), qq.to_string())],
            Segment::At(AtTarget::All) => vec![("qq".into(), "all".into())],
            Segment::Image { file, url } => {
                let mut p = vec![("file".to_string(), file.clone())];
                if let Some(url) = url {
                    p.push(("url".into(), url.clone()));
                }
                p
            }
            Segment::Reply(id) => vec![("id".into(), id.clone())],
            Segment::Other { data, .. } => data
                .iter()
                .map(|(k, v)| (k.clone(), value_text(v)))
                .collect(),
        }
    }

    /// The segment in array form: `{"type": …, "data": {…}}`, every value a
    /// string (`array.md`: "几乎所有消息段参数值类型均为字符串").
    pub fn to_json(&self) -> Value {
        let data: Map<String, Value> = match self {
            Segment::Other { data, .. } => data.clone(),
            _ => self
                .params()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        };
        let mut seg = Map::new();
        seg.insert("type".into(), Value::String(self.kind().to_string()));
        seg.insert("data".into(), Value::Object(data));
        Value::Object(seg)
    }

    /// The segment of `kind` with `data`, typed when `kind` is one this
    /// module models and its data parses, [`Segment::Other`] otherwise.
    pub fn from_parts(kind: &str, data: Map<String, Value>) -> Segment {
        let str_of = |key: &str| data.get(key).map(value_text);
        let typed = match kind {
            "text" => str_of("text").map(Segment::Text),
            "face" => str_of("id")
                .and_then(|id| id.parse().ok())
                .map(Segment::Face),
            "at" => str_of("qq").and_then(|qq| match qq.as_str() {
                "all" => Some(Segment::At(AtTarget::All)),
                n => n.parse().ok().map(|n| Segment::At(AtTarget::Qq(n))),
            }),
            "image" if data.keys().all(|k| k == "file" || k == "url") => {
                str_of("file").map(|file| Segment::Image {
                    file,
                    url: str_of("url"),
                })
            }
            "reply" => str_of("id").map(Segment::Reply),
            _ => None,
        };
        typed.unwrap_or_else(|| Segment::Other {
            kind: kind.to_string(),
            data,
        })
    }

    /// One segment from its array form. Fails when the value is not an
    /// object with a string `type` and an object (or null/absent) `data`.
    pub fn from_json(value: &Value) -> Result<Segment, MessageError> {
        let obj = value
            .as_object()
            .ok_or_else(|| MessageError::SegmentNotObject(short(value)))?;
        let kind = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| MessageError::NoType(short(value)))?;
        let data = match obj.get("data") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m.clone(),
            Some(other) => {
                return Err(MessageError::DataNotObject {
                    kind: kind.to_string(),
                    data: short(other),
                });
            }
        };
        Ok(Segment::from_parts(kind, data))
    }
}

/// Why a JSON value is not a message; each names the bad value (cut to
/// 120 characters).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// A segment that is not a JSON object.
    #[error("segment is not an object: {0}")]
    SegmentNotObject(String),
    /// A segment without a string `type`.
    #[error("segment without a string \"type\": {0}")]
    NoType(String),
    /// A segment whose `data` is neither an object nor null.
    #[error("segment {kind:?} has a non-object \"data\": {data}")]
    DataNotObject {
        /// The segment's type.
        kind: String,
        /// The `data` value.
        data: String,
    },
    /// A message that is neither a string, an array nor a segment object.
    #[error("message is neither a string nor an array: {0}")]
    NotAMessage(String),
}

/// The text of a `data` value: strings as they are, other values as JSON.
fn value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value shortened for an error message.
pub(crate) fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(120).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// The text segments of a message, concatenated (other segments are
/// skipped).
pub fn plain_text(message: &[Segment]) -> String {
    message
        .iter()
        .filter_map(|s| match s {
            Segment::Text(t) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

/// A message in array form, as sent in `send_*_msg` actions.
pub fn to_array(message: &[Segment]) -> Value {
    Value::Array(message.iter().map(Segment::to_json).collect())
}

/// A message from either form: a CQ-code string, an array of segments, or
/// one segment object. Fails, naming what was wrong, on any other JSON
/// type or a malformed segment.
pub fn from_json(value: &Value) -> Result<Vec<Segment>, MessageError> {
    match value {
        Value::String(s) => Ok(cq::parse(s)),
        Value::Array(items) => items.iter().map(Segment::from_json).collect(),
        Value::Object(_) => Ok(vec![Segment::from_json(value)?]),
        other => Err(MessageError::NotAMessage(short(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn array_example_from_the_standard() {
        // message/array.md, "消息段数组".
        let v = json!([
            {"type": "text", "data": {"text": "[第一部分]"}},
            {"type": "image", "data": {"file": "123.jpg"}},
            {"type": "text", "data": {"text": "图片之后的部分，表情："}},
            {"type": "face", "data": {"id": "123"}}
        ]);
        let m = from_json(&v).unwrap();
        assert_eq!(
            m,
            vec![
                Segment::text("[第一部分]"),
                Segment::Image {
                    file: "123.jpg".into(),
                    url: None
                },
                Segment::text("图片之后的部分，表情："),
                Segment::Face(123),
            ]
        );
        assert_eq!(to_array(&m), v);
        // The same message in string form parses the same.
        let s = json!(
            "&#91;第一部分&#93;[CQ:image,file=123.jpg]图片之后的部分，表情：[CQ:face,id=123]"
        );
        assert_eq!(from_json(&s).unwrap(), m);
        assert_eq!(plain_text(&m), "[第一部分]图片之后的部分，表情：");
    }

    #[test]
    fn typed_and_other_segments() {
        let at_all = json!({"type": "at", "data": {"qq": "all"}});
        assert_eq!(
            Segment::from_json(&at_all).unwrap(),
            Segment::At(AtTarget::All)
        );
        // Numbers where strings are expected are accepted.
        let at = json!({"type": "at", "data": {"qq": 10001000}});
        assert_eq!(
            Segment::from_json(&at).unwrap(),
            Segment::At(AtTarget::Qq(10001000))
        );
        // A face with a non-numeric id, and a flash image, are kept verbatim.
        let bad_face = json!({"type": "face", "data": {"id": "smile"}});
        assert!(matches!(
            Segment::from_json(&bad_face).unwrap(),
            Segment::Other { .. }
        ));
        let flash = json!({"type": "image", "data": {"file": "a.jpg", "type": "flash"}});
        let seg = Segment::from_json(&flash).unwrap();
        assert!(matches!(seg, Segment::Other { ref kind, .. } if kind == "image"));
        assert_eq!(seg.to_json(), flash);
        // data: null is allowed (array.md).
        let shake = json!({"type": "shake", "data": null});
        assert_eq!(
            Segment::from_json(&shake).unwrap(),
            Segment::Other {
                kind: "shake".into(),
                data: Map::new()
            }
        );
        // A single object is a one-segment message.
        assert_eq!(
            from_json(&json!({"type": "face", "data": {"id": "178"}})).unwrap(),
            vec![Segment::Face(178)]
        );
    }

    #[test]
    fn malformed_arrays_are_errors() {
        assert!(from_json(&json!(12)).is_err());
        assert!(from_json(&json!([{"data": {}}])).is_err());
        assert!(from_json(&json!([{"type": "text", "data": "x"}])).is_err());
        assert!(from_json(&json!(["text"])).is_err());
    }
}
