//! Property tests of the CQ-code codec: encoding then parsing gives the
//! message back (adjacent texts merged, empty ones dropped, as a string
//! cannot tell them apart).

use proptest::prelude::*;
use wasmqq_onebot::{AtTarget, Segment, cq};

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        // Text with the characters that need escaping, and entity look-alikes.
        "([a-z \\[\\],&=;#]|&amp;|&#91;|&#44;|\\[CQ:|你好){0,12}".prop_map(Segment::Text),
        any::<u32>().prop_map(Segment::Face),
        any::<u64>().prop_map(|q| Segment::At(AtTarget::Qq(q))),
        Just(Segment::At(AtTarget::All)),
        "[a-z0-9:/.?=&,\\[\\]]{0,16}".prop_map(|file| Segment::Image { file, url: None }),
    ]
}

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

proptest! {
    #[test]
    fn parse_inverts_encode(message in prop::collection::vec(segment(), 0..8)) {
        let encoded = cq::encode(&message);
        prop_assert_eq!(cq::parse(&encoded), normalise(message));
    }

    #[test]
    fn unescape_inverts_escape(text in "\\PC{0,24}", in_param in any::<bool>()) {
        prop_assert_eq!(cq::unescape(&cq::escape(&text, in_param)), text);
    }

    #[test]
    fn parse_never_panics(text in "\\PC{0,40}") {
        let _ = cq::parse(&text);
    }
}

/// Arbitrary JSON, a few levels deep.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "(private|group|message|meta_event|heartbeat|text|face|at|all|[0-9]{1,20}|\\PC{0,6})"
            .prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                "(post_type|message_type|meta_event_type|message|user_id|group_id|self_id|message_id|sender|type|data|interval|qq|id|text)",
                inner,
                0..8,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Whatever the implementation sends, decoding returns (an event or an
    /// error) and never panics.
    #[test]
    fn decode_event_never_panics(value in json_value(), text in "\\PC{0,40}") {
        let _ = wasmqq_onebot::event::decode_event(&value);
        let _ = wasmqq_onebot::event::decode_event_str(&text);
        let _ = wasmqq_onebot::message::from_json(&value);
        let _ = wasmqq_onebot::action::Response::decode(&value);
    }
}
