//! The message content codec of host/wire/src/content.rs, both ways.
//!
//! Whatever decodes (as an outgoing string, or as an array) re-encodes, in
//! both directions, to a content that decodes to the same segments and
//! font; `parse_text` is idempotent through `render_text` and gives
//! normalised segments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wasmqq_wire::content::{
    Content, Font, Segment, decode_array, decode_outgoing, encode_incoming, encode_outgoing,
    parse_text, render_text,
};

fn round_trip(c: &Content) {
    let font = c.font.clone().unwrap_or_default();
    let out = encode_outgoing(&c.segments, &font);
    let back = decode_outgoing(&Value::String(out)).expect("own outgoing content decodes");
    assert_eq!(back.segments, c.segments);
    assert_eq!(back.font.as_ref(), Some(&font));
    let inc = encode_incoming(&c.segments, &font);
    let back = decode_array(&inc).expect("own incoming content decodes");
    assert_eq!(back.segments, c.segments);
    assert_eq!(back.font.as_ref(), Some(&font));
    assert_eq!(Font::from_json(&font.to_json()[1]), font);
    let _ = c.text();
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    if let Ok(c) = decode_outgoing(&Value::String(s.to_string())) {
        round_trip(&c);
    }
    if let Ok(v) = serde_json::from_str::<Value>(&s)
        && let Ok(c) = decode_array(&v)
    {
        round_trip(&c);
    }
    let segs = parse_text(&s);
    assert_eq!(parse_text(&render_text(&segs)), segs);
    for pair in segs.windows(2) {
        assert!(!matches!(pair, [Segment::Text(_), Segment::Text(_)]));
    }
    assert!(
        !segs
            .iter()
            .any(|x| matches!(x, Segment::Text(t) if t.is_empty()))
    );
});
