//! Property tests of the wire codecs: the invariants the fuzz targets
//! `content_roundtrip` and `ptuicb` check (docs/fuzzing.md), kept in
//! `cargo test`.

use proptest::prelude::*;
use serde_json::{Value, json};
use wasmqq_wire::content::{
    Font, Segment, decode_array, decode_outgoing, encode_incoming, encode_outgoing, parse_text,
    render_text,
};
use wasmqq_wire::ptuicb::PtuiCb;

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        any::<String>().prop_map(Segment::Text),
        any::<u32>().prop_map(Segment::Face),
        ("[a-z]{1,8}", any::<String>())
            .prop_filter("font and face are not unknown", |(k, _)| k != "font"
                && k != "face")
            .prop_map(|(k, v)| Segment::Other(json!([k, {"name": v}]))),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Segment::Other(json!(["offpic", f]))),
    ]
}

fn font() -> impl Strategy<Value = Font> {
    (
        any::<String>(),
        any::<u32>(),
        [0u8..=1, 0u8..=1, 0u8..=1],
        "[0-9a-f]{6}",
    )
        .prop_map(|(name, size, style, color)| Font {
            name,
            size,
            style,
            color,
        })
}

/// Adjacent texts merged, empty ones dropped: what `parse_text` yields.
fn normalise(segs: &[Segment]) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for s in segs {
        match (s, out.last_mut()) {
            (Segment::Text(t), _) if t.is_empty() => {}
            (Segment::Text(t), Some(Segment::Text(prev))) => prev.push_str(t),
            _ => out.push(s.clone()),
        }
    }
    out
}

proptest! {
    #[test]
    fn outgoing_round_trips(segs in prop::collection::vec(segment(), 0..8), font in font()) {
        let c = decode_outgoing(&Value::String(encode_outgoing(&segs, &font))).unwrap();
        prop_assert_eq!(&c.segments, &segs);
        prop_assert_eq!(c.font, Some(font));
    }

    #[test]
    fn incoming_round_trips(segs in prop::collection::vec(segment(), 0..8), font in font()) {
        let c = decode_array(&encode_incoming(&segs, &font)).unwrap();
        prop_assert_eq!(&c.segments, &segs);
        prop_assert_eq!(c.font, Some(font));
    }

    /// decode ∘ encode ∘ decode = decode, for any JSON array.
    #[test]
    fn decoding_is_stable(v in json_array()) {
        let c = decode_array(&v).unwrap();
        let font = c.font.clone().unwrap_or_default();
        let again = decode_outgoing(&Value::String(encode_outgoing(&c.segments, &font))).unwrap();
        prop_assert_eq!(again.segments, c.segments);
    }

    #[test]
    fn text_notation_round_trips(
        segs in prop::collection::vec(prop_oneof![
            "[^\\[]*".prop_map(Segment::Text),
            any::<u32>().prop_map(Segment::Face),
        ], 0..8)
    ) {
        prop_assert_eq!(parse_text(&render_text(&segs)), normalise(&segs));
    }

    /// Any text: parsing is idempotent through rendering, and lossless but
    /// for leading zeros (`[face:007]` is face 7).
    #[test]
    fn parse_text_is_idempotent(s in "([a-z ]|\\[face:[0-9]{0,12}\\]?|\\[|\\])*") {
        let segs = parse_text(&s);
        prop_assert_eq!(parse_text(&render_text(&segs)), segs.clone());
        if !s.contains("[face:0") {
            prop_assert_eq!(render_text(&segs), s);
        }
    }

    #[test]
    fn ptuicb_format_then_parse(
        code in "[^']*", url in "[^']*", message in "[^']*", nick in "[^']*"
    ) {
        let cb = PtuiCb { code, url, message, nick };
        prop_assert_eq!(PtuiCb::parse(&cb.to_string()), Ok(cb));
    }

    #[test]
    fn ptuicb_parse_is_stable(body in "ptuiCB\\(('[^']*',? ?){0,8}\\);?(\\r\\n)?|.*") {
        if let Ok(cb) = PtuiCb::parse(&body) {
            let _ = cb.qr_status();
            prop_assert_eq!(PtuiCb::parse(&cb.to_string()), Ok(cb));
        }
    }
}

fn json_array() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        prop_oneof![Just("font"), Just("face"), Just("cface")].prop_map(|s| json!(s)),
    ];
    let value = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,5}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::vec(value, 0..6).prop_map(Value::Array)
}
