//! poll2 answer bodies → the poll loop's reaction → events
//! (`wasmqq_webqq::decode`, host/webqq/src/poll.rs and events.rs).
//!
//! Beyond "no panic": classification is deterministic; every decoded
//! message has normalised segments (no empty or adjacent texts, no `\r`)
//! that survive the outgoing encoder and the decoder unchanged; names are
//! left for the contacts (`sender_name` is `None`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wasmqq_webqq::decode::{Action, classify_body, decode_event};
use wasmqq_webqq::{ChatKind, Event, Segment, content};

fn check_event(item: &Value) {
    let Ok(Some(event)) = decode_event(item) else {
        return;
    };
    if let Event::Message(m) = event {
        assert!(m.sender_name.is_none());
        if matches!(m.chat.kind, ChatKind::Friend | ChatKind::Session) {
            assert_eq!(
                m.chat.id, m.sender,
                "a friend or session chat is keyed on its sender"
            );
        }
        for pair in m.segments.windows(2) {
            assert!(
                !matches!(pair, [Segment::Text(_), Segment::Text(_)]),
                "adjacent texts not merged: {:?}",
                m.segments
            );
        }
        for s in &m.segments {
            if let Segment::Text(t) = s {
                assert!(!t.is_empty() && !t.contains('\r'), "{t:?}");
            }
        }
        let encoded: Value =
            serde_json::from_str(&content::encode(&m.segments)).expect("the encoder writes JSON");
        assert_eq!(content::decode(&encoded).unwrap(), m.segments);
    }
}

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    let action = classify_body(&body);
    assert_eq!(action, classify_body(&body));
    if let Action::Events(items) = &action {
        for item in items {
            check_event(item);
        }
    }
    // The body as a single element too, so the fuzzer need not find the
    // envelope first.
    if let Ok(v) = serde_json::from_str::<Value>(&body) {
        check_event(&v);
    }
});
