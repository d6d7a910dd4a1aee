//! The message content codec (`webqq-protocol.md` §5.2, §5.3) and the
//! splitting of long outgoing messages.
//!
//! Incoming content is a JSON array whose first element is a font
//! descriptor; outgoing content is the JSON *serialisation* of an array whose
//! **last** element is the font (the `r` form field then serialises it a
//! second time). Both directions go through [`Segment`], the only content
//! model the rest of wasmqq sees: the font is a wire detail and is dropped.

use serde_json::{Value, json};

/// The most UTF-8 bytes of text one outgoing message may carry (§5.3: "about
/// 240 Chinese characters or 720 Latin ones").
pub const MAX_MESSAGE_BYTES: usize = 720;

/// How many bytes of the budget a face counts for when splitting.
const FACE_COST: usize = 8;

/// How far back from a forced cut the splitter looks for whitespace.
const WHITESPACE_WINDOW: usize = 100;

/// One piece of a chat message.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Plain text; line breaks are normalised to `\n`.
    Text(String),
    /// A classic QQ emoticon by its numeric id (e.g. 14 = 微笑).
    Face(u32),
}

impl Segment {
    /// A text segment.
    pub fn text(s: impl Into<String>) -> Self {
        Segment::Text(s.into())
    }

    /// The wire size of this segment for the [`MAX_MESSAGE_BYTES`] budget.
    fn cost(&self) -> usize {
        match self {
            Segment::Text(t) => t.len(),
            Segment::Face(_) => FACE_COST,
        }
    }
}

/// Concatenates the text of `segments`, rendering faces as `[face:N]`.
/// Handy for logs and for command parsing.
pub fn plain_text(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Text(t) => out.push_str(t),
            Segment::Face(n) => out.push_str(&format!("[face:{n}]")),
        }
    }
    out
}

/// Decodes an incoming poll2 `content` array into segments.
///
/// The font element (wherever it is), pictures (`cface`, `offpic`) and
/// unknown elements are skipped; adjacent text is merged; `\r\n` and `\r`
/// become `\n`. Fails only when `content` is not an array.
pub fn decode(content: &Value) -> Result<Vec<Segment>, String> {
    let items = content
        .as_array()
        .ok_or_else(|| format!("content is not an array: {content}"))?;
    let mut out: Vec<Segment> = Vec::new();
    for item in items {
        match item {
            Value::String(s) => {
                let text = s.replace("\r\n", "\n").replace('\r', "\n");
                if text.is_empty() {
                    continue;
                }
                if let Some(Segment::Text(prev)) = out.last_mut() {
                    prev.push_str(&text);
                } else {
                    out.push(Segment::Text(text));
                }
            }
            Value::Array(pair) => match pair.first().and_then(Value::as_str) {
                Some("face") => {
                    let id = pair.get(1).and_then(|v| {
                        v.as_u64()
                            .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
                    });
                    match id.and_then(|n| u32::try_from(n).ok()) {
                        Some(id) => out.push(Segment::Face(id)),
                        None => tracing::debug!(element = %item, "face without a numeric id"),
                    }
                }
                Some("font") => {}
                _ => tracing::debug!(element = %item, "skipping unsupported content element"),
            },
            other => tracing::debug!(element = %other, "skipping unsupported content element"),
        }
    }
    Ok(out)
}

/// What [`clean_outgoing`] left out of a message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// Control characters stripped from the text.
    pub controls: usize,
    /// Face ids dropped for being outside `0..=`[`MAX_FACE_ID`].
    pub faces: Vec<u32>,
}

impl Removed {
    /// Whether nothing was left out.
    pub fn is_empty(&self) -> bool {
        self.controls == 0 && self.faces.is_empty()
    }
}

pub use wasmqq_wire::content::MAX_FACE_ID;

/// The message as it may go to the server: in text, `\r\n` and `\r`
/// become `\n` and every other C0 control character (U+0000..U+001F)
/// except `\n` and `\t` is stripped (NUL among them, which peers and the
/// server treat as the end of the text); faces outside `0..=`[`MAX_FACE_ID`]
/// are dropped; text segments left empty disappear. Also says what was left
/// out, for the caller to log.
pub fn clean_outgoing(segments: &[Segment]) -> (Vec<Segment>, Removed) {
    let mut removed = Removed::default();
    let mut out = Vec::with_capacity(segments.len());
    for s in segments {
        match s {
            Segment::Text(t) => {
                let mut clean = String::with_capacity(t.len());
                let mut chars = t.chars().peekable();
                while let Some(c) = chars.next() {
                    match c {
                        '\r' => {
                            chars.next_if_eq(&'\n');
                            clean.push('\n');
                        }
                        '\n' | '\t' => clean.push(c),
                        c if u32::from(c) < 0x20 => removed.controls += 1,
                        c => clean.push(c),
                    }
                }
                if !clean.is_empty() {
                    out.push(Segment::Text(clean));
                }
            }
            Segment::Face(id) if *id > MAX_FACE_ID => removed.faces.push(*id),
            Segment::Face(_) => out.push(s.clone()),
        }
    }
    (out, removed)
}

/// The font element appended to every outgoing message (§5.3).
fn font() -> Value {
    json!(["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}])
}

/// Encodes outgoing segments as the `r.content` **string**: the JSON text of
/// `[segment, …, ["font", {…}]]` (font last).
pub fn encode(segments: &[Segment]) -> String {
    let mut items: Vec<Value> = segments
        .iter()
        .map(|s| match s {
            Segment::Text(t) => Value::String(t.clone()),
            Segment::Face(n) => json!(["face", n]),
        })
        .collect();
    items.push(font());
    Value::Array(items).to_string()
}

/// Splits a message into parts whose text is at most `max_bytes` UTF-8 bytes
/// (a face counts as 8 bytes), cutting only on character boundaries and
/// preferring whitespace within the last 100 bytes before a forced cut.
/// Concatenating the parts gives back the message. Empty text segments are
/// dropped; an empty message gives no parts.
pub fn split(segments: &[Segment], max_bytes: usize) -> Vec<Vec<Segment>> {
    let max = max_bytes.max(FACE_COST).max(4);
    let mut parts: Vec<Vec<Segment>> = Vec::new();
    let mut cur: Vec<Segment> = Vec::new();
    let mut used = 0usize;
    let flush = |parts: &mut Vec<Vec<Segment>>, cur: &mut Vec<Segment>, used: &mut usize| {
        if !cur.is_empty() {
            parts.push(std::mem::take(cur));
        }
        *used = 0;
    };
    for seg in segments {
        match seg {
            Segment::Face(_) => {
                if used + seg.cost() > max {
                    flush(&mut parts, &mut cur, &mut used);
                }
                used += seg.cost();
                cur.push(seg.clone());
            }
            Segment::Text(text) => {
                let mut rest: &str = text;
                while !rest.is_empty() {
                    let avail = max - used;
                    if rest.len() <= avail {
                        used += rest.len();
                        push_text(&mut cur, rest);
                        break;
                    }
                    let cut = cut_point(rest, avail);
                    // A part that already holds something and would get only
                    // a small or awkward piece is closed first, so a long text
                    // starts on a fresh part.
                    if cut == 0 || (!cur.is_empty() && cut < avail / 2) {
                        if cur.is_empty() {
                            // Not even one character fits: cannot happen with
                            // max >= 4, but never loop forever.
                            let c = rest.chars().next().map_or(1, char::len_utf8);
                            push_text(&mut cur, &rest[..c]);
                            rest = &rest[c..];
                        }
                        flush(&mut parts, &mut cur, &mut used);
                        continue;
                    }
                    push_text(&mut cur, &rest[..cut]);
                    rest = &rest[cut..];
                    flush(&mut parts, &mut cur, &mut used);
                }
            }
        }
    }
    flush(&mut parts, &mut cur, &mut used);
    parts
}

fn push_text(cur: &mut Vec<Segment>, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Segment::Text(prev)) = cur.last_mut() {
        prev.push_str(s);
    } else {
        cur.push(Segment::Text(s.to_owned()));
    }
}

/// Where to cut `s` so the head is at most `avail` bytes: after the last
/// whitespace within [`WHITESPACE_WINDOW`] bytes of the limit, else at the
/// last character boundary. 0 when nothing fits.
fn cut_point(s: &str, avail: usize) -> usize {
    let mut limit = avail.min(s.len());
    while limit > 0 && !s.is_char_boundary(limit) {
        limit -= 1;
    }
    let window_start = limit.saturating_sub(WHITESPACE_WINDOW);
    let ws = s[..limit]
        .char_indices()
        .rev()
        .take_while(|(i, _)| *i >= window_start)
        .find(|(_, c)| c.is_whitespace())
        .map(|(i, c)| i + c.len_utf8());
    match ws {
        Some(p) if p > 0 => p,
        _ => limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(parts: &[Vec<Segment>]) -> String {
        parts.iter().map(|p| plain_text(p)).collect()
    }

    #[test]
    fn decode_skips_font_and_normalises_newlines() {
        let v: Value = serde_json::from_str(
            r#"[["font",{"color":"000000","name":"微软雅黑","size":10,"style":[0,0,0]}],"好啊\r\nline2\r",["face",14],"a","b",["cface",{"name":"x"}]]"#,
        )
        .unwrap();
        assert_eq!(
            decode(&v).unwrap(),
            vec![
                Segment::text("好啊\nline2\n"),
                Segment::Face(14),
                Segment::text("ab"),
            ]
        );
        assert!(decode(&json!({"x": 1})).is_err());
        assert_eq!(decode(&json!([["font", {}]])).unwrap(), vec![]);
    }

    #[test]
    fn encode_puts_font_last_and_is_a_json_string() {
        let s = encode(&[Segment::text("hello \"q\""), Segment::Face(14)]);
        let v: Value = serde_json::from_str(&s).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr[0], json!("hello \"q\""));
        assert_eq!(arr[1], json!(["face", 14]));
        assert_eq!(arr[2][0], json!("font"));
        assert_eq!(arr[2][1]["name"], json!("宋体"));
        // double encoding: the r object carries the string, serialised again
        let r = json!({"content": s}).to_string();
        assert!(r.contains(r#"\"face\""#));
        // and decode (which skips the font wherever it is) round-trips
        assert_eq!(
            decode(&v).unwrap(),
            vec![Segment::text("hello \"q\""), Segment::Face(14)]
        );
    }

    #[test]
    fn clean_outgoing_strips_controls_and_drops_bad_faces() {
        let (segs, removed) = clean_outgoing(&[
            Segment::text("a\0b\u{1}c\r\nd\re\tf\ng\u{1f}\u{7f}é"),
            Segment::Face(0),
            Segment::Face(MAX_FACE_ID),
            Segment::Face(MAX_FACE_ID + 1),
            Segment::text("\0\u{1b}"),
            Segment::Face(u32::MAX),
            Segment::text("汉"),
        ]);
        assert_eq!(
            segs,
            vec![
                // DEL and non-ASCII are not C0: kept.
                Segment::text("abc\nd\ne\tf\ng\u{7f}é"),
                Segment::Face(0),
                Segment::Face(255),
                Segment::text("汉"),
            ]
        );
        assert_eq!(
            removed,
            Removed {
                controls: 5,
                faces: vec![256, u32::MAX],
            }
        );
        // A clean message comes back as it was.
        let ok = vec![Segment::text("hi\tthere\n"), Segment::Face(14)];
        let (same, removed) = clean_outgoing(&ok);
        assert_eq!(same, ok);
        assert!(removed.is_empty());
        // Nothing left: no segment at all.
        let (none, removed) = clean_outgoing(&[Segment::text("\0"), Segment::Face(999)]);
        assert!(none.is_empty());
        assert!(!removed.is_empty());
    }

    #[test]
    fn short_message_is_one_part() {
        let msg = vec![Segment::text("hi"), Segment::Face(1)];
        assert_eq!(split(&msg, MAX_MESSAGE_BYTES), vec![msg]);
        assert!(split(&[], MAX_MESSAGE_BYTES).is_empty());
        assert!(split(&[Segment::text("")], MAX_MESSAGE_BYTES).is_empty());
    }

    #[test]
    fn long_ascii_splits_within_limit_and_round_trips() {
        let text: String = (0..2000).map(|i| (b'a' + (i % 26) as u8) as char).collect();
        let parts = split(&[Segment::text(text.clone())], MAX_MESSAGE_BYTES);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            assert!(plain_text(p).len() <= MAX_MESSAGE_BYTES);
        }
        assert_eq!(parts[0].len(), 1);
        assert_eq!(plain_text(&parts[0]).len(), 720);
        assert_eq!(joined(&parts), text);
    }

    #[test]
    fn cjk_is_cut_on_character_boundaries() {
        let text = "汉".repeat(500); // 1500 bytes
        let parts = split(&[Segment::text(text.clone())], MAX_MESSAGE_BYTES);
        assert_eq!(parts.len(), 3);
        for p in &parts {
            let t = plain_text(p);
            assert!(t.len() <= MAX_MESSAGE_BYTES);
            assert_eq!(t.len() % 3, 0);
        }
        assert_eq!(plain_text(&parts[0]).chars().count(), 240);
        assert_eq!(joined(&parts), text);
    }

    #[test]
    fn prefers_whitespace_near_the_end() {
        let word = "abcdefghi "; // 10 bytes
        let text = word.repeat(100); // 1000 bytes, spaces at 9, 19, ...
        let parts = split(&[Segment::text(text.clone())], MAX_MESSAGE_BYTES);
        let first = plain_text(&parts[0]);
        assert_eq!(first.len(), 720);
        assert!(first.ends_with(' '));
        // whitespace far from the end is not used: cut at the limit instead
        let text2 = format!("a b{}", "x".repeat(1000));
        let parts2 = split(&[Segment::text(text2.clone())], MAX_MESSAGE_BYTES);
        assert_eq!(plain_text(&parts2[0]).len(), 720);
        assert_eq!(joined(&parts2), text2);
        // whitespace within the window is preferred over the hard limit
        let text3 = format!("{} {}", "y".repeat(690), "z".repeat(100));
        let parts3 = split(&[Segment::text(text3.clone())], MAX_MESSAGE_BYTES);
        assert_eq!(plain_text(&parts3[0]), format!("{} ", "y".repeat(690)));
        assert_eq!(joined(&parts3), text3);
    }

    #[test]
    fn faces_count_and_stay_in_order() {
        let mut msg = vec![Segment::text("a".repeat(715)), Segment::Face(14)];
        msg.push(Segment::text("tail"));
        let parts = split(&msg, MAX_MESSAGE_BYTES);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], vec![Segment::text("a".repeat(715))]);
        assert_eq!(parts[1], vec![Segment::Face(14), Segment::text("tail")]);
    }

    #[test]
    fn emoji_and_mixed_widths_never_break_characters() {
        let text: String = "a😀汉é ".repeat(300);
        for max in [5usize, 7, 50, 720] {
            let parts = split(&[Segment::text(text.clone())], max);
            for p in &parts {
                assert!(plain_text(p).len() <= max.max(8), "max {max}");
            }
            assert_eq!(joined(&parts), text);
        }
    }
}
