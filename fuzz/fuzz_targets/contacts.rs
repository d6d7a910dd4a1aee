//! The list answers of host/webqq/src/contacts.rs (`get_user_friends2`,
//! `get_group_name_list_mask2`, `get_discus_list`, `get_self_info2`,
//! `get_group_info_ext2`, `get_discu_info`).
//!
//! The first byte picks the endpoint, the rest is the answer body. Beyond
//! "no panic": every map is keyed on its entry's id, no remark or card is
//! empty, and what was decoded, written back in the server's shape (names
//! HTML-escaped as the server did), decodes to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use wasmqq_webqq::decode::{
    decode_discussion_members, decode_discussions, decode_friends, decode_group_members,
    decode_groups, decode_self, result_of,
};

/// The HTML escaping the server applied to nicks, remarks and cards.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn check(endpoint: u8, result: &Value) {
    match endpoint % 6 {
        0 => {
            let Ok(friends) = decode_friends(result) else {
                return;
            };
            let mut info = vec![];
            let mut marks = vec![];
            let mut cats = vec![];
            for (uin, f) in &friends {
                assert_eq!(*uin, f.uin);
                assert_ne!(f.remark.as_deref(), Some(""));
                info.push(json!({"uin": f.uin, "nick": esc(&f.nick), "face": 0, "flag": 0}));
                cats.push(json!({"uin": f.uin, "categories": f.category, "flag": 0}));
                if let Some(r) = &f.remark {
                    marks.push(json!({"uin": f.uin, "markname": esc(r), "type": 0}));
                }
            }
            let back = json!({"friends": cats, "marknames": marks, "info": info});
            assert_eq!(decode_friends(&back).unwrap(), friends);
        }
        1 => {
            let Ok(groups) = decode_groups(result) else {
                return;
            };
            let mut names = vec![];
            let mut marks = vec![];
            for (gid, g) in &groups {
                assert_eq!(*gid, g.gid);
                assert!(g.members.is_empty() && !g.members_loaded);
                assert_ne!(g.remark.as_deref(), Some(""));
                names.push(json!({"gid": g.gid, "code": g.code, "name": esc(&g.name), "flag": 0}));
                if let Some(r) = &g.remark {
                    marks.push(json!({"uin": g.gid, "markname": esc(r)}));
                }
            }
            let back = json!({"gmasklist": [], "gnamelist": names, "gmarklist": marks});
            assert_eq!(decode_groups(&back).unwrap(), groups);
        }
        2 => {
            let Ok(discussions) = decode_discussions(result) else {
                return;
            };
            let list: Vec<Value> = discussions
                .iter()
                .map(|(did, d)| {
                    assert_eq!(*did, d.did);
                    json!({"did": d.did, "name": esc(&d.name)})
                })
                .collect();
            let back = json!({"dnamelist": list});
            assert_eq!(decode_discussions(&back).unwrap(), discussions);
        }
        3 => {
            let me = decode_self(result, 42);
            let back = json!({"uin": me.uin, "nick": esc(&me.nick), "face": me.face});
            assert_eq!(decode_self(&back, 7), me);
        }
        4 => {
            let Ok(members) = decode_group_members(result) else {
                return;
            };
            let mut list = vec![];
            let mut minfo = vec![];
            let mut cards = vec![];
            for (uin, m) in &members {
                assert_eq!(*uin, m.uin);
                assert_ne!(m.card.as_deref(), Some(""));
                list.push(json!({"muin": m.uin, "mflag": m.flag}));
                minfo.push(json!({"uin": m.uin, "nick": esc(&m.nick)}));
                if let Some(c) = &m.card {
                    cards.push(json!({"muin": m.uin, "card": esc(c)}));
                }
            }
            let back = json!({"ginfo": {"members": list}, "minfo": minfo, "cards": cards});
            assert_eq!(decode_group_members(&back).unwrap(), members);
        }
        _ => {
            let Ok(members) = decode_discussion_members(result) else {
                return;
            };
            let mut list = vec![];
            let mut info = vec![];
            for (uin, m) in &members {
                assert_eq!(*uin, m.uin);
                list.push(match m.qq {
                    Some(qq) => json!({"mem_uin": m.uin, "ruin": qq}),
                    None => json!({"mem_uin": m.uin}),
                });
                info.push(json!({"uin": m.uin, "nick": esc(&m.nick)}));
            }
            let back = json!({"info": {"mem_list": list}, "mem_info": info});
            assert_eq!(decode_discussion_members(&back).unwrap(), members);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&endpoint, body)) = data.split_first() else {
        return;
    };
    let body = String::from_utf8_lossy(body);
    if let Ok(result) = result_of("list", &body) {
        check(endpoint, &result);
    }
    // The bare `result` too, so the fuzzer need not find the envelope.
    if let Ok(v) = serde_json::from_str::<Value>(&body) {
        check(endpoint, &v);
    }
});
