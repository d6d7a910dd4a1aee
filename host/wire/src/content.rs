//! Message `content` codecs (§5.2, §5.3).
//!
//! Incoming (poll2) content is a JSON array with the font descriptor
//! **first**; outgoing (`send_*_msg2`) content is a JSON *string* holding a
//! JSON array with the font **last**. Both decoders are tolerant in the ways
//! real peers needed: the font may sit anywhere or be missing, `size` may be
//! a string, unknown segments (pictures, 3.0 leftovers) are kept as
//! [`Segment::Other`].
//!
//! [`render_text`] and [`parse_text`] convert segments to and from a flat
//! text where a face is written `[face:N]`; the simulator's control API
//! uses that notation.

use serde_json::{Value, json};

/// The highest classic QQ face id (`["face", N]`) a message may carry.
///
/// The protocol notes give the range as "0…≈250" (`webqq-protocol.md`
/// §5.2) with unknown ids seen in the wild (212) and no exact table, so
/// wasmqq takes 0..=255 as the valid range: the WebQQ client drops faces
/// above this before sending.
pub const MAX_FACE_ID: u32 = 255;

/// One element of a message body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Plain text.
    Text(String),
    /// A classic QQ emoticon (`["face", N]`).
    Face(u32),
    /// Anything else (`cface`, `offpic`, …), kept verbatim.
    Other(Value),
}

/// The font descriptor of a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Font {
    /// Font family, e.g. `宋体` or `微软雅黑`.
    pub name: String,
    /// Point size.
    pub size: u32,
    /// `[bold, italic, underline]`, each 0 or 1.
    pub style: [u8; 3],
    /// Six hex digits without `#`.
    pub color: String,
}

impl Default for Font {
    /// The font every SmartQQ peer sends: `宋体`, 10, black.
    fn default() -> Self {
        Font {
            name: "宋体".into(),
            size: 10,
            style: [0, 0, 0],
            color: "000000".into(),
        }
    }
}

impl Font {
    /// The font the real server put in front of incoming messages.
    pub fn incoming() -> Self {
        Font {
            name: "微软雅黑".into(),
            ..Font::default()
        }
    }

    /// The `["font", {...}]` element.
    pub fn to_json(&self) -> Value {
        json!(["font", {
            "name": self.name,
            "size": self.size,
            "style": self.style,
            "color": self.color,
        }])
    }

    /// Reads a font object leniently (missing keys take the defaults,
    /// `size` may be a number or a string).
    pub fn from_json(v: &Value) -> Font {
        let d = Font::default();
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .map_or(d.name, str::to_string);
        let size = v
            .get("size")
            .and_then(|s| {
                s.as_u64()
                    .or_else(|| s.as_str().and_then(|s| s.trim().parse().ok()))
            })
            .and_then(|n| u32::try_from(n).ok())
            .unwrap_or(d.size);
        let mut style = d.style;
        if let Some(arr) = v.get("style").and_then(Value::as_array) {
            for (slot, x) in style.iter_mut().zip(arr) {
                *slot = u8::from(x.as_u64().unwrap_or(0) != 0);
            }
        }
        let color = v
            .get("color")
            .and_then(Value::as_str)
            .map_or(d.color, str::to_string);
        Font {
            name,
            size,
            style,
            color,
        }
    }
}

/// A decoded message body.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Content {
    /// The font, when one was present.
    pub font: Option<Font>,
    /// The segments in order, font excluded.
    pub segments: Vec<Segment>,
}

impl Content {
    /// The flat text of the segments ([`render_text`]).
    pub fn text(&self) -> String {
        render_text(&self.segments)
    }
}

/// Why a `content` value could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum ContentError {
    /// The outgoing content string is not JSON.
    #[error("content is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The content is JSON but not an array.
    #[error("content is not a JSON array (got {0})")]
    NotArray(&'static str),
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Decodes a content array (either direction): the font wherever it is,
/// text, faces, unknown segments.
pub fn decode_array(content: &Value) -> Result<Content, ContentError> {
    let Value::Array(items) = content else {
        return Err(ContentError::NotArray(kind(content)));
    };
    let mut out = Content::default();
    for item in items {
        match item {
            Value::String(s) => out.segments.push(Segment::Text(s.clone())),
            Value::Array(pair) => match (pair.first().and_then(Value::as_str), pair.get(1)) {
                (Some("font"), Some(f)) => out.font = Some(Font::from_json(f)),
                (Some("font"), None) => out.font = Some(Font::default()),
                (Some("face"), Some(n)) => {
                    let id = n
                        .as_u64()
                        .or_else(|| n.as_str().and_then(|s| s.trim().parse().ok()))
                        .and_then(|n| u32::try_from(n).ok());
                    match id {
                        Some(id) => out.segments.push(Segment::Face(id)),
                        None => out.segments.push(Segment::Other(item.clone())),
                    }
                }
                _ => out.segments.push(Segment::Other(item.clone())),
            },
            // Numbers and the like: keep as text, the way browsers showed them.
            Value::Number(n) => out.segments.push(Segment::Text(n.to_string())),
            other => out.segments.push(Segment::Other(other.clone())),
        }
    }
    Ok(out)
}

/// Decodes the outgoing `r.content`: a string holding a JSON array (font
/// last). A content that is already an array is accepted too.
pub fn decode_outgoing(content: &Value) -> Result<Content, ContentError> {
    match content {
        Value::String(s) => decode_array(&serde_json::from_str::<Value>(s)?),
        other => decode_array(other),
    }
}

/// Encodes the outgoing `r.content` string: the segments, then the font.
pub fn encode_outgoing(segments: &[Segment], font: &Font) -> String {
    let mut arr: Vec<Value> = segments.iter().map(segment_json).collect();
    arr.push(font.to_json());
    Value::Array(arr).to_string()
}

/// Encodes an incoming (poll2) content array: the font, then the segments.
pub fn encode_incoming(segments: &[Segment], font: &Font) -> Value {
    let mut arr = vec![font.to_json()];
    arr.extend(segments.iter().map(segment_json));
    Value::Array(arr)
}

fn segment_json(s: &Segment) -> Value {
    match s {
        Segment::Text(t) => Value::String(t.clone()),
        Segment::Face(n) => json!(["face", n]),
        Segment::Other(v) => v.clone(),
    }
}

/// Concatenates the segments into flat text: text as is, a face as
/// `[face:N]`, an unknown segment as `[<kind>]` (e.g. `[cface]`).
pub fn render_text(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Face(n) => out.push_str(&format!("[face:{n}]")),
            Segment::Other(v) => {
                let k = v
                    .as_array()
                    .and_then(|a| a.first())
                    .and_then(Value::as_str)
                    .unwrap_or("unknown");
                out.push_str(&format!("[{k}]"));
            }
        }
    }
    out
}

/// Splits flat text into segments, turning every `[face:N]` into a face;
/// the inverse of [`render_text`] for text and faces.
pub fn parse_text(text: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut buf = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find("[face:") {
        let after = &rest[pos + 6..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let closes = after[digits.len()..].starts_with(']');
        match (closes, digits.parse::<u32>()) {
            (true, Ok(n)) => {
                buf.push_str(&rest[..pos]);
                if !buf.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut buf)));
                }
                out.push(Segment::Face(n));
                rest = &after[digits.len() + 1..];
            }
            _ => {
                buf.push_str(&rest[..pos + 6]);
                rest = after;
            }
        }
    }
    buf.push_str(rest);
    if !buf.is_empty() {
        out.push(Segment::Text(buf));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outgoing_round_trip_puts_font_last() {
        let segs = vec![Segment::Text("hello ".into()), Segment::Face(14)];
        let s = encode_outgoing(&segs, &Font::default());
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v[0], "hello ");
        assert_eq!(v[1], json!(["face", 14]));
        assert_eq!(v[2][0], "font");
        assert_eq!(v[2][1]["name"], "宋体");
        let c = decode_outgoing(&Value::String(s)).unwrap();
        assert_eq!(c.segments, segs);
        assert_eq!(c.font, Some(Font::default()));
        assert_eq!(c.text(), "hello [face:14]");
    }

    #[test]
    fn decodes_qb_sample_and_tolerates_variants() {
        // QB's double-encoded sample (§4.2).
        let r: Value = serde_json::from_str(r#"{"content": "[\"hello \", [\"face\", 14], [\"font\", {\"name\": \"\\u5b8b\\u4f53\", \"size\": 10, \"style\": [0, 0, 0], \"color\": \"000000\"}]]"}"#).unwrap();
        let c = decode_outgoing(&r["content"]).unwrap();
        assert_eq!(c.text(), "hello [face:14]");
        assert_eq!(c.font.unwrap().name, "宋体");
        // YZ: size as a string, Arial.
        let c = decode_outgoing(&json!(
            r#"["hi",["font",{"name":"Arial","size":"10","style":[0,0,0],"color":"000000"}]]"#
        ))
        .unwrap();
        assert_eq!(c.font.as_ref().unwrap().size, 10);
        assert_eq!(c.text(), "hi");
        // No font at all (WebQQ 3.0), content already an array.
        let c = decode_outgoing(&json!(["a", "b"])).unwrap();
        assert_eq!(c.font, None);
        assert_eq!(c.text(), "ab");
        // Not JSON / not an array.
        assert!(decode_outgoing(&json!("[oops")).is_err());
        assert!(decode_outgoing(&json!("{}")).is_err());
    }

    #[test]
    fn incoming_puts_font_first_and_keeps_unknowns() {
        let v = encode_incoming(&[Segment::Text("好啊".into())], &Font::incoming());
        assert_eq!(v[0][0], "font");
        assert_eq!(v[0][1]["name"], "微软雅黑");
        assert_eq!(v[1], "好啊");
        let c = decode_array(&json!([
            ["font", {"size": 10}],
            ["cface", {"name": "x.jpg"}],
            "t"
        ]))
        .unwrap();
        assert_eq!(c.text(), "[cface]t");
    }

    /// Found by the `content_roundtrip` fuzz target: a long number literal
    /// in an unknown segment changed on the second decode (serde_json's
    /// default float parser is not correctly rounded; the crate enables
    /// `float_roundtrip`).
    #[test]
    fn numbers_in_unknown_segments_round_trip_exactly() {
        let s = r#"["a",1.5,null,["",-0],[444444444444444444444444444444444444444]]"#;
        let c = decode_outgoing(&json!(s)).unwrap();
        let again =
            decode_outgoing(&json!(encode_outgoing(&c.segments, &Font::default()))).unwrap();
        assert_eq!(again.segments, c.segments);
        let again = decode_array(&encode_incoming(&c.segments, &Font::default())).unwrap();
        assert_eq!(again.segments, c.segments);
    }

    #[test]
    fn parse_text_is_the_inverse_of_render() {
        let segs = parse_text("a[face:14]b[face:x][face:2]");
        assert_eq!(
            segs,
            vec![
                Segment::Text("a".into()),
                Segment::Face(14),
                Segment::Text("b[face:x]".into()),
                Segment::Face(2)
            ]
        );
        assert_eq!(render_text(&segs), "a[face:14]b[face:x][face:2]");
        assert_eq!(parse_text(""), vec![]);
        assert_eq!(parse_text("[face:"), vec![Segment::Text("[face:".into())]);
    }
}
