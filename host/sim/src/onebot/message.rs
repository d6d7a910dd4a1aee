//! OneBot messages: the string format (CQ codes, with the standard's
//! escaping) and the array format (message segments), both ways.
//!
//! Segments are kept generic (`type` plus string-valued `data`), so a
//! segment the simulator has no meaning for (`image`, `reply`, …) is still
//! accepted and recorded as `[image]`. Injected text (`[face:N]`, and
//! `[at:QQ]` for a mention) becomes `face`/`at` segments.

use serde_json::{Map, Value, json};
use wasmqq_wire::content::Segment;

/// One message segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Seg {
    /// `text`, `face`, `at`, `image`, …
    pub kind: String,
    /// Parameters, as strings (numbers and booleans are stringified).
    pub data: Vec<(String, String)>,
}

impl Seg {
    pub(crate) fn text(t: impl Into<String>) -> Seg {
        Seg {
            kind: "text".into(),
            data: vec![("text".into(), t.into())],
        }
    }

    fn one(kind: &str, key: &str, value: String) -> Seg {
        Seg {
            kind: kind.into(),
            data: vec![(key.into(), value)],
        }
    }

    /// A parameter.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Escapes plain text for the string format.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('[', "&#91;")
        .replace(']', "&#93;")
}

/// Escapes a CQ code parameter value (also `,`).
fn escape_param(text: &str) -> String {
    escape(text).replace(',', "&#44;")
}

/// Undoes [`escape`] and [`escape_param`].
pub(crate) fn unescape(text: &str) -> String {
    text.replace("&#44;", ",")
        .replace("&#91;", "[")
        .replace("&#93;", "]")
        .replace("&amp;", "&")
}

/// Parses the string format. Text between CQ codes is unescaped; a `[CQ:`
/// without its `]` is kept as text.
pub(crate) fn parse_cq(s: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut text = String::new();
    while let Some(pos) = rest.find("[CQ:") {
        let after = &rest[pos + 4..];
        let Some(end) = after.find(']') else {
            break;
        };
        text.push_str(&rest[..pos]);
        if !text.is_empty() {
            out.push(Seg::text(unescape(&std::mem::take(&mut text))));
        }
        let body = &after[..end];
        let mut parts = body.split(',');
        let kind = parts.next().unwrap_or_default().to_string();
        let data = parts
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_string(), unescape(v)),
                None => (p.to_string(), String::new()),
            })
            .collect();
        out.push(Seg { kind, data });
        rest = &after[end + 1..];
    }
    text.push_str(rest);
    if !text.is_empty() {
        out.push(Seg::text(unescape(&text)));
    }
    out
}

/// Renders segments in the string format.
pub(crate) fn to_cq(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        if s.kind == "text" {
            out.push_str(&escape(s.get("text").unwrap_or_default()));
            continue;
        }
        out.push_str("[CQ:");
        out.push_str(&s.kind);
        for (k, v) in &s.data {
            out.push(',');
            out.push_str(k);
            out.push('=');
            out.push_str(&escape_param(v));
        }
        out.push(']');
    }
    out
}

/// Renders segments in the array format.
pub(crate) fn to_array(segs: &[Seg]) -> Value {
    Value::Array(
        segs.iter()
            .map(|s| {
                let data: Map<String, Value> = s
                    .data
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                json!({"type": s.kind, "data": data})
            })
            .collect(),
    )
}

fn param_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn segment(v: &Value) -> Result<Seg, String> {
    let obj = v
        .as_object()
        .ok_or_else(|| format!("message segment {v} is not an object"))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| format!("message segment {v} has no string \"type\""))?;
    let data = match obj.get("data") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), param_text(v))).collect(),
        Some(other) => return Err(format!("message segment data {other} is not an object")),
    };
    Ok(Seg {
        kind: kind.to_string(),
        data,
    })
}

/// Reads a `message` parameter: a string (CQ codes unless `auto_escape`),
/// an array of segments, or a single segment object.
pub(crate) fn from_param(v: &Value, auto_escape: bool) -> Result<Vec<Seg>, String> {
    match v {
        Value::String(s) if auto_escape => Ok(if s.is_empty() {
            Vec::new()
        } else {
            vec![Seg::text(s.clone())]
        }),
        Value::String(s) => Ok(parse_cq(s)),
        Value::Array(items) => items.iter().map(segment).collect(),
        Value::Object(_) => Ok(vec![segment(v)?]),
        other => Err(format!(
            "message must be a string, a segment array or a segment object, not {other}"
        )),
    }
}

/// The simulator's flat text of a sent message (`SentMessage::text`):
/// text as is, `[face:N]`, `[at:QQ]` (`[at:all]`), other segments `[kind]`.
pub(crate) fn render_sent(segs: &[Seg]) -> String {
    let mut out = String::new();
    for s in segs {
        match s.kind.as_str() {
            "text" => out.push_str(s.get("text").unwrap_or_default()),
            "face" => out.push_str(&format!("[face:{}]", s.get("id").unwrap_or_default())),
            "at" => out.push_str(&format!("[at:{}]", s.get("qq").unwrap_or_default())),
            k => out.push_str(&format!("[{k}]")),
        }
    }
    out
}

/// Segments of an injected text: `[face:N]` → face, `[at:QQ]` → at.
pub(crate) fn from_injected(segments: &[Segment]) -> Vec<Seg> {
    let mut out = Vec::new();
    for s in segments {
        match s {
            Segment::Face(n) => out.push(Seg::one("face", "id", n.to_string())),
            Segment::Text(t) => split_at(t, &mut out),
            Segment::Other(v) => {
                let k = v
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                out.push(Seg {
                    kind: k.to_string(),
                    data: Vec::new(),
                });
            }
        }
    }
    out
}

fn split_at(t: &str, out: &mut Vec<Seg>) {
    let mut rest = t;
    let mut buf = String::new();
    while let Some(pos) = rest.find("[at:") {
        let after = &rest[pos + 4..];
        let target: String = after
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let ok = !target.is_empty()
            && after[target.len()..].starts_with(']')
            && (target == "all" || target.chars().all(|c| c.is_ascii_digit()));
        if ok {
            buf.push_str(&rest[..pos]);
            if !buf.is_empty() {
                out.push(Seg::text(std::mem::take(&mut buf)));
            }
            out.push(Seg::one("at", "qq", target.clone()));
            rest = &after[target.len() + 1..];
        } else {
            buf.push_str(&rest[..pos + 4]);
            rest = after;
        }
    }
    buf.push_str(rest);
    if !buf.is_empty() {
        out.push(Seg::text(buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmqq_wire::content::parse_text;

    fn injected_text(text: &str) -> Vec<Seg> {
        from_injected(&parse_text(text))
    }

    #[test]
    fn escaping_follows_the_standard() {
        assert_eq!(
            escape("- [x] 使用 `&data` 获取地址"),
            "- &#91;x&#93; 使用 `&amp;data` 获取地址"
        );
        let segs = vec![Seg {
            kind: "share".into(),
            data: vec![
                ("title".into(), "震惊,小伙睡觉前居然...".into()),
                ("url".into(), "http://baidu.com/?a=1&b=2".into()),
            ],
        }];
        let s = to_cq(&segs);
        assert_eq!(
            s,
            "[CQ:share,title=震惊&#44;小伙睡觉前居然...,url=http://baidu.com/?a=1&amp;b=2]"
        );
        assert_eq!(parse_cq(&s), segs);
        assert_eq!(unescape("&amp;#91;"), "&#91;");
    }

    #[test]
    fn parses_the_standards_example() {
        let segs = parse_cq(
            "&#91;第一部分&#93;[CQ:image,file=123.jpg]图片之后的部分，表情：[CQ:face,id=123]",
        );
        assert_eq!(
            to_array(&segs),
            json!([
                {"type": "text", "data": {"text": "[第一部分]"}},
                {"type": "image", "data": {"file": "123.jpg"}},
                {"type": "text", "data": {"text": "图片之后的部分，表情："}},
                {"type": "face", "data": {"id": "123"}},
            ])
        );
        assert_eq!(
            parse_cq("[CQ:share,title=标题中有=等号,url=http://baidu.com]")[0].get("title"),
            Some("标题中有=等号")
        );
        assert_eq!(parse_cq("[CQ:shake]")[0].kind, "shake");
        assert_eq!(
            parse_cq("a [CQ:face,id=1"),
            vec![Seg::text("a [CQ:face,id=1")]
        );
    }

    #[test]
    fn reads_every_message_shape() {
        let a = from_param(&json!("hi [CQ:face,id=14]"), false).unwrap();
        assert_eq!(render_sent(&a), "hi [face:14]");
        let b = from_param(&json!("hi [CQ:face,id=14]"), true).unwrap();
        assert_eq!(render_sent(&b), "hi [CQ:face,id=14]");
        let c = from_param(
            &json!([{"type": "text", "data": {"text": "x"}}, {"type": "face", "data": {"id": 5}}, {"type": "at", "data": {"qq": 10001}}]),
            true,
        )
        .unwrap();
        assert_eq!(render_sent(&c), "x[face:5][at:10001]");
        let d = from_param(&json!({"type": "image", "data": {"file": "a.png"}}), false).unwrap();
        assert_eq!(render_sent(&d), "[image]");
        assert!(from_param(&json!(5), false).is_err());
        assert!(from_param(&json!([{"data": {}}]), false).is_err());
        assert!(from_param(&json!([{"type": "text", "data": 3}]), false).is_err());
    }

    #[test]
    fn injected_text_has_faces_and_mentions() {
        let s = injected_text("[at:2609717081] hi [face:14] [at:x] [at:all]");
        assert_eq!(
            to_cq(&s),
            "[CQ:at,qq=2609717081] hi [CQ:face,id=14] &#91;at:x&#93; [CQ:at,qq=all]"
        );
    }
}
