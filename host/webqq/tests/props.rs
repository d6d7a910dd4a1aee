//! Property tests of the client's decoders and the outgoing message
//! pipeline: the invariants the fuzz targets `poll2`, `message_split` and
//! `contacts` check (docs/fuzzing.md), kept in `cargo test`.

use proptest::prelude::*;
use serde_json::{Value, json};
use wasmqq_webqq::content::{MAX_FACE_ID, clean_outgoing, decode, encode, plain_text, split};
use wasmqq_webqq::decode::{Action, classify_body, decode_event, decode_friends, decode_groups};
use wasmqq_webqq::{ChatRef, Event, Segment};

fn segment() -> impl Strategy<Value = Segment> {
    prop_oneof![
        any::<String>().prop_map(Segment::Text),
        // Spaces and wide characters, so cuts land everywhere.
        "([a-z]{0,30} |汉|😀|é|\r\n|\t|\u{0})*".prop_map(Segment::Text),
        any::<u32>().prop_map(Segment::Face),
        (0..=MAX_FACE_ID).prop_map(Segment::Face),
    ]
}

fn cost(part: &[Segment]) -> usize {
    part.iter()
        .map(|s| match s {
            Segment::Text(t) => t.len(),
            Segment::Face(_) => 8,
        })
        .sum()
}

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

/// The HTML escaping the server applied to names.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

proptest! {
    /// A split message never exceeds the budget (a face counting 8 bytes),
    /// has no empty part, and concatenates back to the original.
    #[test]
    fn split_respects_the_limit_and_concatenates_back(
        segs in prop::collection::vec(segment(), 0..10),
        max in prop_oneof![0usize..64, 64usize..=720, Just(720usize)],
    ) {
        let parts = split(&segs, max);
        for p in &parts {
            prop_assert!(!p.is_empty());
            prop_assert!(cost(p) <= max.max(8), "part of {} bytes, max {}", cost(p), max);
            prop_assert_eq!(&normalise(p), p);
        }
        prop_assert_eq!(normalise(&parts.concat()), normalise(&segs));
        prop_assert_eq!(parts.iter().map(|p| plain_text(p)).collect::<String>(), plain_text(&segs));
    }

    #[test]
    fn clean_outgoing_is_idempotent(segs in prop::collection::vec(segment(), 0..10)) {
        let (clean, _) = clean_outgoing(&segs);
        let (again, removed) = clean_outgoing(&clean);
        prop_assert_eq!(&again, &clean);
        prop_assert!(removed.is_empty());
        for s in &clean {
            match s {
                Segment::Text(t) => prop_assert!(
                    !t.is_empty() && t.chars().all(|c| c == '\n' || c == '\t' || u32::from(c) >= 0x20)
                ),
                Segment::Face(n) => prop_assert!(*n <= MAX_FACE_ID),
            }
        }
    }

    /// What the client sends decodes (as the simulator and peers read it)
    /// to the same segments.
    #[test]
    fn encode_then_decode(segs in prop::collection::vec(segment(), 0..10)) {
        let (clean, _) = clean_outgoing(&segs);
        for part in split(&clean, 720) {
            let v: Value = serde_json::from_str(&encode(&part)).unwrap();
            prop_assert_eq!(decode(&v).unwrap(), part);
        }
    }

    /// A group message in the server's shape decodes to its fields.
    #[test]
    fn poll2_group_message_decodes(
        gid in any::<u64>(), sender in any::<u64>(), msg_id in any::<u64>(), time in any::<u64>(),
        segs in prop::collection::vec(segment(), 0..6), ids_as_strings in any::<bool>(),
    ) {
        let id = |n: u64| if ids_as_strings { json!(n.to_string()) } else { json!(n) };
        let (clean, _) = clean_outgoing(&segs);
        let mut content = vec![json!(["font", {"name": "微软雅黑", "size": 10, "style": [0, 0, 0], "color": "000000"}])];
        content.extend(clean.iter().map(|s| match s {
            Segment::Text(t) => json!(t),
            Segment::Face(n) => json!(["face", n]),
        }));
        let body = json!({"retcode": 0, "result": [{"poll_type": "group_message", "value": {
            "content": content, "from_uin": id(gid), "group_code": id(gid), "send_uin": id(sender),
            "msg_id": id(msg_id), "msg_type": 0, "time": id(time), "to_uin": 1}}]}).to_string();
        let Action::Events(items) = classify_body(&body) else {
            return Err(TestCaseError::fail("not events"));
        };
        prop_assert_eq!(items.len(), 1);
        let Ok(Some(Event::Message(m))) = decode_event(&items[0]) else {
            return Err(TestCaseError::fail("not a message"));
        };
        prop_assert_eq!(m.chat, ChatRef::group(gid));
        prop_assert_eq!((m.sender, m.msg_id, m.time), (sender, msg_id, time));
        prop_assert_eq!(m.segments, normalise(&clean));
    }

    #[test]
    fn poll2_classification_by_retcode(code in any::<i64>(), p in "[0-9a-f]{0,64}") {
        let action = classify_body(&json!({"retcode": code, "p": p, "errmsg": ""}).to_string());
        match (code, action) {
            (0 | 102, a) => prop_assert_eq!(a, Action::Idle),
            (103, a) => prop_assert_eq!(a, Action::Probe),
            (116, a) => prop_assert_eq!(a, Action::NewPtwebqq(p)),
            (120 | 121, a) => prop_assert_eq!(a, Action::Relink(code)),
            (100 | 100000 | 100001 | 100012, a) => prop_assert!(matches!(a, Action::Relogin(_)), "{:?}", a),
            (_, a) => prop_assert!(matches!(a, Action::Backoff(_)), "{:?}", a),
        }
    }

    /// Friends written as the server writes them (names HTML-escaped)
    /// decode to the same friends.
    #[test]
    fn friends_round_trip(
        friends in prop::collection::btree_map(any::<u64>(), ("[^\u{a0}]*", prop::option::of("[^\u{a0}]+"), 0u64..10), 0..6)
    ) {
        let info: Vec<Value> = friends.iter().map(|(u, (n, _, _))| json!({"uin": u, "nick": esc(n), "face": 0})).collect();
        let cats: Vec<Value> = friends.iter().map(|(u, (_, _, c))| json!({"uin": u, "categories": c})).collect();
        let marks: Vec<Value> = friends.iter().filter_map(|(u, (_, r, _))| r.as_ref().map(|r| json!({"uin": u, "markname": esc(r)}))).collect();
        let decoded = decode_friends(&json!({"friends": cats, "marknames": marks, "info": info})).unwrap();
        prop_assert_eq!(decoded.len(), friends.len());
        for (uin, (nick, remark, category)) in &friends {
            let f = &decoded[uin];
            prop_assert_eq!(&f.nick, nick);
            prop_assert_eq!(&f.remark, remark);
            prop_assert_eq!(f.category, *category);
        }
    }

    #[test]
    fn groups_keyed_on_gid(groups in prop::collection::btree_map(any::<u64>(), (any::<u64>(), "[^\u{a0}]*"), 0..6)) {
        let list: Vec<Value> = groups.iter().map(|(gid, (code, name))| json!({"gid": gid, "code": code, "name": esc(name)})).collect();
        let decoded = decode_groups(&json!({"gnamelist": list, "gmarklist": []})).unwrap();
        prop_assert_eq!(decoded.len(), groups.len());
        for (gid, (code, name)) in &groups {
            prop_assert_eq!(decoded[gid].code, *code);
            prop_assert_eq!(&decoded[gid].name, name);
        }
    }
}
