//! The OneBot message codecs of host/onebot: the CQ-code string form
//! (`cq::{escape, unescape, encode, parse}`) and the array form
//! (`message::{to_array, from_json}`).
//!
//! Invariants:
//! - `unescape(escape(s, p)) == s`, and the escaped text has no `[`/`]`
//!   (nor `,` inside a parameter);
//! - `parse(encode(segs))` is `segs` normalised as `host/onebot/tests/props.rs`
//!   does (adjacent texts merged, empty texts dropped), each non-text
//!   segment first read back the way the string form must read it: its
//!   kind and its parameters as strings through `Segment::from_parts` (a
//!   string cannot say that a value was a number, or that an `Other`
//!   "face" was not typed). Generated kinds and parameter names stay in
//!   the CQ grammar (`[A-Za-z0-9_.-]+`, names without `,=[]`), the only
//!   ones a string can carry;
//! - whatever `parse` returns from any string is normalised (no empty or
//!   adjacent texts) and is a fixed point: `parse(encode(parse(s))) ==
//!   parse(s)`; `from_json` of the string is `parse` of it;
//! - array form: `from_json(to_array(segs))` is `segs` read back through
//!   `from_parts(kind, data)` (exactly `segs` for what `parse` or
//!   `from_json` produced), also through the JSON text.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use wasmqq_onebot::cq;
use wasmqq_onebot::message::{self, AtTarget, Segment};

/// A segment kind: the typed ones (as `Other` they may become typed), a
/// few real ones, or one built from the CQ grammar's alphabet.
#[derive(Debug)]
struct Kind(String);

impl<'a> Arbitrary<'a> for Kind {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const NAMED: &[&str] = &[
            "text", "face", "at", "image", "reply", "share", "shake", "node", "record", "json",
        ];
        const ALPHABET: &[u8] =
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
        if u.ratio(3, 4)? {
            return Ok(Kind(u.choose(NAMED)?.to_string()));
        }
        let len = u.int_in_range(1..=12)?;
        let mut s = String::new();
        for _ in 0..len {
            s.push(*u.choose(ALPHABET)? as char);
        }
        Ok(Kind(s))
    }
}

/// A parameter name: a common one or any text without `,`, `=`, `[`, `]`
/// (which the string form cannot carry in a name), non-empty.
#[derive(Debug)]
struct Key(String);

impl<'a> Arbitrary<'a> for Key {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        const NAMED: &[&str] = &[
            "text", "id", "qq", "file", "url", "type", "title", "content",
        ];
        if u.ratio(3, 4)? {
            return Ok(Key(u.choose(NAMED)?.to_string()));
        }
        let s: String = String::arbitrary(u)?
            .chars()
            .filter(|c| !matches!(c, ',' | '=' | '[' | ']'))
            .collect();
        Ok(Key(if s.is_empty() { "k".into() } else { s }))
    }
}

#[derive(Arbitrary, Debug)]
enum Param {
    Str(String),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
}

impl Param {
    fn value(&self) -> Value {
        match self {
            Param::Str(s) => Value::String(s.clone()),
            Param::Int(n) => Value::from(*n),
            Param::UInt(n) => Value::from(*n),
            Param::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Param::Bool(b) => Value::Bool(*b),
            Param::Null => Value::Null,
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Seg {
    Text(String),
    Face(u32),
    AtQq(u64),
    AtAll,
    Image { file: String, url: Option<String> },
    Reply(String),
    Other { kind: Kind, data: Vec<(Key, Param)> },
}

impl Seg {
    fn segment(&self) -> Segment {
        match self {
            Seg::Text(t) => Segment::Text(t.clone()),
            Seg::Face(id) => Segment::Face(*id),
            Seg::AtQq(qq) => Segment::At(AtTarget::Qq(*qq)),
            Seg::AtAll => Segment::At(AtTarget::All),
            Seg::Image { file, url } => Segment::Image {
                file: file.clone(),
                url: url.clone(),
            },
            Seg::Reply(id) => Segment::Reply(id.clone()),
            Seg::Other { kind, data } => Segment::Other {
                kind: kind.0.clone(),
                data: data.iter().map(|(k, v)| (k.0.clone(), v.value())).collect(),
            },
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    text: String,
    in_param: bool,
    segs: Vec<Seg>,
    raw: String,
}

/// The normalisation of `host/onebot/tests/props.rs`: empty texts dropped,
/// adjacent texts merged.
fn normalise(message: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for seg in message {
        match (out.last_mut(), seg) {
            (_, Segment::Text(t)) if t.is_empty() => {}
            (Some(Segment::Text(prev)), Segment::Text(t)) => prev.push_str(&t),
            (_, seg) => out.push(seg),
        }
    }
    out
}

/// What the string form can say about `seg`: its kind and its parameters
/// as strings.
fn through_string(seg: &Segment) -> Segment {
    match seg {
        Segment::Text(_) => seg.clone(),
        _ => Segment::from_parts(
            seg.kind(),
            seg.params()
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        ),
    }
}

/// What the array form says about `seg`: its kind and its `data`.
fn through_array(seg: &Segment) -> Segment {
    let json = seg.to_json();
    let data: Map<String, Value> = json["data"].as_object().cloned().unwrap_or_default();
    Segment::from_parts(seg.kind(), data)
}

fn is_normalised(m: &[Segment]) -> bool {
    m.iter()
        .all(|s| !matches!(s, Segment::Text(t) if t.is_empty()))
        && m.windows(2)
            .all(|w| !matches!(w, [Segment::Text(_), Segment::Text(_)]))
}

/// The array form round trip, as a value and through its JSON text.
fn check_array(m: &[Segment]) {
    let expected: Vec<Segment> = m.iter().map(through_array).collect();
    let array = message::to_array(m);
    assert_eq!(
        message::from_json(&array).as_ref(),
        Ok(&expected),
        "array form of {m:?}"
    );
    let text = array.to_string();
    let back: Value = serde_json::from_str(&text).expect("to_array gives JSON");
    assert_eq!(back, array, "JSON text of {m:?}");
    // A second pass changes nothing.
    assert_eq!(
        message::from_json(&message::to_array(&expected)).as_ref(),
        Ok(&expected)
    );
}

fn check_escape(text: &str, in_param: bool) {
    let escaped = cq::escape(text, in_param);
    assert!(!escaped.contains(['[', ']']), "{escaped:?}");
    assert!(!in_param || !escaped.contains(','), "{escaped:?}");
    assert_eq!(cq::unescape(&escaped), text);
}

/// Any string → segments: normalised, a fixed point of encode ∘ parse.
fn check_string(raw: &str) {
    let parsed = cq::parse(raw);
    assert!(is_normalised(&parsed), "{raw:?} parsed to {parsed:?}");
    let again = cq::encode(&parsed);
    assert_eq!(cq::parse(&again), parsed, "{raw:?} re-encoded as {again:?}");
    assert_eq!(
        message::from_json(&Value::String(raw.to_string())),
        Ok(parsed.clone())
    );
    check_array(&parsed);
    // What parse produced is what the array form reads back, exactly.
    assert_eq!(message::from_json(&message::to_array(&parsed)), Ok(parsed));
}

// The input is a CQ string (the seeds are the standard's examples) and,
// read by `arbitrary`, the segments and texts of `Input`.
fuzz_target!(|data: &[u8]| {
    let raw = String::from_utf8_lossy(data);
    check_string(&raw);
    check_escape(&raw, false);
    check_escape(&raw, true);

    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    check_escape(&input.text, input.in_param);

    // Segments → string → segments.
    let segs: Vec<Segment> = input.segs.iter().map(Seg::segment).collect();
    let encoded = cq::encode(&segs);
    let expected = normalise(segs.iter().map(through_string).collect());
    assert_eq!(cq::parse(&encoded), expected, "encoded as {encoded:?}");
    check_array(&segs);

    check_string(&input.raw);
});
