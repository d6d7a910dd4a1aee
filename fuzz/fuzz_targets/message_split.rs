//! Outgoing messages: cleaning, splitting and encoding
//! (host/webqq/src/content.rs).
//!
//! `clean_outgoing` is idempotent and leaves no control character but
//! `\n`/`\t` and no face above `MAX_FACE_ID`; `split` never exceeds the
//! byte budget (a face counting 8), never yields an empty part, and its
//! parts concatenate back to the message; each part survives
//! `encode` → `decode` unchanged.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use wasmqq_webqq::Segment;
use wasmqq_webqq::content::{MAX_FACE_ID, clean_outgoing, decode, encode, plain_text, split};

#[derive(Arbitrary, Debug)]
enum Seg {
    Text(String),
    Face(u32),
}

#[derive(Arbitrary, Debug)]
struct Input {
    segments: Vec<Seg>,
    max_bytes: u16,
}

/// Adjacent texts merged, empty texts dropped.
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

fn cost(part: &[Segment]) -> usize {
    part.iter()
        .map(|s| match s {
            Segment::Text(t) => t.len(),
            Segment::Face(_) => 8,
        })
        .sum()
}

fuzz_target!(|input: Input| {
    let segments: Vec<Segment> = input
        .segments
        .into_iter()
        .map(|s| match s {
            Seg::Text(t) => Segment::Text(t),
            Seg::Face(n) => Segment::Face(n),
        })
        .collect();
    let (clean, _removed) = clean_outgoing(&segments);
    let (again, removed_again) = clean_outgoing(&clean);
    assert_eq!(again, clean, "clean_outgoing is idempotent");
    assert!(removed_again.is_empty());
    for s in &clean {
        match s {
            Segment::Text(t) => {
                assert!(!t.is_empty());
                assert!(
                    t.chars()
                        .all(|c| c == '\n' || c == '\t' || u32::from(c) >= 0x20)
                );
            }
            Segment::Face(n) => assert!(*n <= MAX_FACE_ID),
        }
    }

    let max = usize::from(input.max_bytes);
    let budget = max.max(8);
    for message in [&segments, &clean] {
        let parts = split(message, max);
        for p in &parts {
            assert!(!p.is_empty(), "empty part");
            assert!(cost(p) <= budget, "part of {} bytes over {budget}", cost(p));
            assert_eq!(&normalise(p), p, "a part is normalised");
        }
        let joined: Vec<Segment> = parts.concat();
        assert_eq!(
            normalise(&joined),
            normalise(message),
            "parts concatenate back"
        );
        assert_eq!(
            parts.iter().map(|p| plain_text(p)).collect::<String>(),
            plain_text(message)
        );
    }
    for p in split(&clean, max) {
        let v: serde_json::Value = serde_json::from_str(&encode(&p)).expect("encode writes JSON");
        assert_eq!(decode(&v).unwrap(), p, "encode → decode");
    }
});
