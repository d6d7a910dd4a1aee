//! The string message format: CQ codes (`message/string.md`).
//!
//! Plain text escapes `&`, `[` and `]` as `&amp;`, `&#91;`, `&#93;`;
//! inside a CQ code's parameter values `,` is escaped too, as `&#44;`.
//! Parsing follows the standard's rule: the function name is what follows
//! `[CQ:` up to the first `,` or `]`, parameters are split on `,`, and each
//! parameter's name ends at its first `=`.
//!
//! Parsing never fails: something that looks like the start of a CQ code
//! but is not one (no closing `]`, an empty name, a parameter without `=`)
//! is kept as text, so a message is never dropped for its content.

use serde_json::{Map, Value};

use super::Segment;

/// Escapes `text` for the string format; with `in_param`, also `,` (for a
/// CQ parameter value).
pub fn escape(text: &str, in_param: bool) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            ',' if in_param => out.push_str("&#44;"),
            c => out.push(c),
        }
    }
    out
}

/// Undoes [`escape`] (either kind) in one pass, so `&amp;#91;` becomes the
/// text `&#91;`, not `[`. Unknown entities are left as they are.
pub fn unescape(text: &str) -> String {
    const ENTITIES: [(&str, char); 4] = [
        ("&amp;", '&'),
        ("&#91;", '['),
        ("&#93;", ']'),
        ("&#44;", ','),
    ];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match ENTITIES.iter().find(|(e, _)| rest.starts_with(e)) {
            Some((e, c)) => {
                out.push(*c);
                rest = &rest[e.len()..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A message in string form: text escaped, every other segment as a CQ
/// code with its parameters escaped.
pub fn encode(message: &[Segment]) -> String {
    let mut out = String::new();
    for seg in message {
        match seg {
            Segment::Text(t) => out.push_str(&escape(t, false)),
            other => {
                out.push_str("[CQ:");
                out.push_str(other.kind());
                for (k, v) in other.params() {
                    out.push(',');
                    out.push_str(&k);
                    out.push('=');
                    out.push_str(&escape(&v, true));
                }
                out.push(']');
            }
        }
    }
    out
}

/// Parses a string-form message. Adjacent text comes out as one
/// [`Segment::Text`]; empty text is omitted. Never fails (see the module
/// docs for what is kept as text).
pub fn parse(s: &str) -> Vec<Segment> {
    let mut out = Vec::new();
    let mut text = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("[CQ:") {
        text.push_str(&unescape(&rest[..start]));
        let after = &rest[start + 4..];
        let code = after
            .find(']')
            .and_then(|end| parse_code(&after[..end]).map(|seg| (seg, end)));
        match code {
            // `[CQ:text,text=…]` is text too: merged with its neighbours
            // (and dropped if empty), as the docs above promise.
            Some((Segment::Text(t), end)) => {
                text.push_str(&t);
                rest = &after[end + 1..];
            }
            Some((seg, end)) => {
                if !text.is_empty() {
                    out.push(Segment::Text(std::mem::take(&mut text)));
                }
                out.push(seg);
                rest = &after[end + 1..];
            }
            None => {
                // Not a CQ code: keep "[CQ:" as text and scan on after it.
                text.push_str("[CQ:");
                rest = after;
            }
        }
    }
    text.push_str(&unescape(rest));
    if !text.is_empty() {
        out.push(Segment::Text(text));
    }
    out
}

/// The segment of a CQ code's body (between `[CQ:` and `]`), or `None`
/// if it is not well formed.
fn parse_code(body: &str) -> Option<Segment> {
    if body.contains('[') {
        return None;
    }
    let mut parts = body.split(',');
    let kind = parts.next()?;
    if kind.is_empty()
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return None;
    }
    let mut data = Map::new();
    for part in parts {
        let (key, value) = part.split_once('=')?;
        if key.is_empty() {
            return None;
        }
        data.insert(key.to_string(), Value::String(unescape(value)));
    }
    Some(Segment::from_parts(kind, data))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::AtTarget;

    #[test]
    fn escaping_examples_from_the_standard() {
        // string.md, "转义".
        let raw = "- [x] 使用 `&data` 获取地址";
        let escaped = "- &#91;x&#93; 使用 `&amp;data` 获取地址";
        assert_eq!(escape(raw, false), escaped);
        assert_eq!(unescape(escaped), raw);
        assert_eq!(parse(escaped), vec![Segment::text(raw)]);
        assert_eq!(encode(&[Segment::text(raw)]), escaped);
        // Commas are escaped only inside parameter values.
        assert_eq!(escape("a,b", false), "a,b");
        assert_eq!(escape("a,b", true), "a&#44;b");
        // One pass: an escaped entity stays an entity.
        assert_eq!(unescape("&amp;#91;"), "&#91;");
        assert_eq!(unescape("&lt; & &#"), "&lt; & &#");
    }

    #[test]
    fn share_with_escaped_params() {
        // string.md: a share whose title has a comma and whose URL has `&`.
        let s = "[CQ:share,title=震惊&#44;小伙睡觉前居然...,url=http://baidu.com/?a=1&amp;b=2]";
        let m = parse(s);
        let Segment::Other { kind, data } = &m[0] else {
            panic!("{m:?}")
        };
        assert_eq!(kind, "share");
        assert_eq!(data["title"], "震惊,小伙睡觉前居然...");
        assert_eq!(data["url"], "http://baidu.com/?a=1&b=2");
        // `=` in a value belongs to the value.
        let m = parse("[CQ:share,title=标题中有=等号,url=http://baidu.com]");
        let Segment::Other { data, .. } = &m[0] else {
            panic!()
        };
        assert_eq!(data["title"], "标题中有=等号");
    }

    #[test]
    fn face_at_image() {
        assert_eq!(
            parse("[CQ:face,id=178]看看我刚拍的照片[CQ:image,file=123.jpg]"),
            vec![
                Segment::Face(178),
                Segment::text("看看我刚拍的照片"),
                Segment::Image {
                    file: "123.jpg".into(),
                    url: None
                }
            ]
        );
        assert_eq!(
            parse("[CQ:at,qq=all] hi"),
            vec![Segment::At(AtTarget::All), Segment::text(" hi")]
        );
        assert_eq!(
            parse("[CQ:at,qq=10001000]"),
            vec![Segment::At(AtTarget::Qq(10001000))]
        );
        assert_eq!(encode(&[Segment::At(AtTarget::All)]), "[CQ:at,qq=all]");
        assert_eq!(
            encode(&[Segment::Face(178), Segment::text("x")]),
            "[CQ:face,id=178]x"
        );
        let shake = parse("[CQ:shake]");
        assert_eq!(
            shake,
            vec![Segment::Other {
                kind: "shake".into(),
                data: Map::new()
            }]
        );
        assert_eq!(encode(&shake), "[CQ:shake]");
    }

    #[test]
    fn malformed_codes_are_kept_as_text() {
        for s in [
            "[CQ:face,id=178",
            "[CQ:]",
            "[CQ:face,id]",
            "[CQ:fa ce]",
            "[CQ:,id=1]",
            "[CQ:face,=1]",
            "[CQ:",
        ] {
            assert_eq!(parse(s), vec![Segment::text(s)], "{s}");
        }
        // A broken code before a good one: the good one is still found.
        assert_eq!(
            parse("[CQ:bad [CQ:face,id=1]"),
            vec![Segment::text("[CQ:bad "), Segment::Face(1)]
        );
        // Raw brackets in text are tolerated.
        assert_eq!(parse("a]b[c"), vec![Segment::text("a]b[c")]);
        assert_eq!(parse(""), vec![]);
    }

    #[test]
    fn text_codes_merge_with_adjacent_text() {
        // Regression (found writing the cq_codec fuzz target): a `text` CQ
        // code came out as a segment of its own, so "a[CQ:text,text=b]"
        // gave two adjacent texts and "[CQ:text,text=]" an empty one,
        // against parse's docs, and parse ∘ encode ∘ parse differed from
        // parse.
        assert_eq!(parse("a[CQ:text,text=b]c"), vec![Segment::text("abc")]);
        assert_eq!(parse("[CQ:text,text=]"), vec![]);
        assert_eq!(
            parse("[CQ:face,id=1][CQ:text,text=&#91;x&#93;][CQ:face,id=2]"),
            vec![Segment::Face(1), Segment::text("[x]"), Segment::Face(2)]
        );
        let m = parse("x[CQ:text,text=]y");
        assert_eq!(m, vec![Segment::text("xy")]);
        assert_eq!(parse(&encode(&m)), m);
    }

    #[test]
    fn node_content_round_trips() {
        // segment.md, custom forward node: nested CQ code in a parameter.
        let s =
            "[CQ:node,user_id=10001000,nickname=某人,content=&#91;CQ:face&#44;id=123&#93;哈喽～]";
        let m = parse(s);
        let Segment::Other { data, .. } = &m[0] else {
            panic!()
        };
        assert_eq!(data["content"], "[CQ:face,id=123]哈喽～");
        assert_eq!(parse(&encode(&m)), m);
    }
}
