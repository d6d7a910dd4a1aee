//! Contact and info endpoints (§4.3–§4.14) with their checks.

use serde_json::{Value, json};
use wasmqq_sim::SimConfig;
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D, REFERER_S};

#[tokio::test]
async fn friend_list_has_the_exact_fields_and_checks_vfwebqq_and_hash() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 0);
    let r = &v["result"];
    let info = r["info"].as_array().unwrap();
    assert_eq!(
        info.len(),
        3,
        "three friends in the built-in population: {v}"
    );
    for key in ["friends", "marknames", "categories", "vipinfo", "info"] {
        assert!(r[key].is_array(), "{key}");
    }
    let alice = info.iter().find(|i| i["nick"] == "Alice").unwrap();
    let uin = alice["uin"].as_u64().unwrap();
    assert_ne!(uin, ALICE, "uins are pseudonyms");
    assert_eq!(alice["face"], 603);
    assert!(
        r["marknames"]
            .as_array()
            .unwrap()
            .contains(&json!({"uin": uin, "markname": "Alice (work)", "type": 0}))
    );
    assert_eq!(
        r["marknames"].as_array().unwrap().len(),
        2,
        "only friends with a remark"
    );
    let f = r["friends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["uin"] == uin)
        .unwrap();
    assert_eq!(f["categories"], 1);
    assert!(
        r["categories"]
            .as_array()
            .unwrap()
            .contains(&json!({"index": 1, "sort": 1, "name": "同事"}))
    );
    assert!(
        !r["categories"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["index"] == 0),
        "category 0 is implicit"
    );
    assert!(
        r["vipinfo"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["u"] == uin)
    );
    // Wrong hash -> 100003; wrong vfwebqq -> 100001; Referer -> 100000.
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": "0000000000000000"}),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 100003);
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": "x", "hash": s.hash}),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 100001);
    let (_, body) = c
        .post_r_raw(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            "",
        )
        .await;
    assert_eq!(body, r#"{"retcode":100000}"#);
    // Lower-case hash is accepted too.
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash.to_lowercase()}),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn group_list_code_differs_from_gid_and_r_may_come_from_the_query() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_group_name_list_mask2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            REFERER_D,
        )
        .await;
    let r = &v["result"];
    assert_eq!(r["gmasklist"], json!([]));
    let list = r["gnamelist"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let dev = list.iter().find(|g| g["name"] == "wasmqq dev").unwrap();
    assert_ne!(dev["gid"], dev["code"]);
    assert_ne!(dev["gid"], DEV_GROUP);
    assert!(dev["flag"].is_u64());
    assert_eq!(
        r["gmarklist"],
        json!([{"uin": dev["gid"], "markname": "dev"}])
    );
    // MW: GET with r in the query.
    let q = url_encode(&json!({"vfwebqq": s.vfwebqq, "hash": s.hash}).to_string());
    let v2 = c
        .get_json(
            "s.web2.qq.com",
            &format!("/api/get_group_name_list_mask2?r={q}"),
            REFERER_S,
        )
        .await;
    assert_eq!(v2, v);
    sim.shutdown().await;
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn discussion_list_and_info_with_real_ruin() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let path = format!(
        "/api/get_discus_list?clientid={CLIENT_ID}&psessionid={}&vfwebqq={}&t=1",
        s.psessionid, s.vfwebqq
    );
    let v = c.get_json("s.web2.qq.com", &path, REFERER_S).await;
    let list = v["result"]["dnamelist"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "weekend plans");
    let did = list[0]["did"].as_u64().unwrap();
    assert_ne!(did, WEEKEND);
    // Wrong psessionid is refused.
    let bad = format!(
        "/api/get_discus_list?clientid={CLIENT_ID}&psessionid=nope&vfwebqq={}&t=1",
        s.vfwebqq
    );
    assert_eq!(
        c.get_json("s.web2.qq.com", &bad, REFERER_S).await["retcode"],
        100001
    );
    let path = format!(
        "/channel/get_discu_info?did={did}&vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t=1",
        s.vfwebqq, s.psessionid
    );
    let v = c.get_json("d1.web2.qq.com", &path, REFERER_D).await;
    assert_eq!(v["retcode"], 0);
    let info = &v["result"]["info"];
    assert_eq!(info["did"], did);
    assert_eq!(info["discu_name"], "weekend plans");
    let mems = info["mem_list"].as_array().unwrap();
    let ruins: Vec<u64> = mems.iter().map(|m| m["ruin"].as_u64().unwrap()).collect();
    assert_eq!(ruins, vec![ALICE, DAVE, BOT]);
    let alice_uin = friend_uin(&c, &s, "Alice").await;
    assert_eq!(
        mems[0]["mem_uin"], alice_uin,
        "same person, same uin in every list"
    );
    assert_eq!(mems[2]["mem_uin"], BOT, "the bot keeps its real QQ");
    let nicks: Vec<&str> = v["result"]["mem_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["nick"].as_str().unwrap())
        .collect();
    assert_eq!(nicks, vec!["Alice", "Dave", "wasmqq"]);
    assert!(v["result"]["mem_status"].is_array());
    let wrong = path.replace(&format!("did={did}"), "did=1");
    assert_eq!(
        c.get_json("d1.web2.qq.com", &wrong, REFERER_D).await,
        json!({"retcode": 6})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn group_info_needs_the_code_and_pairs_members_with_minfo() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gs = groups(&c, &s).await;
    let (gid, code, _) = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().clone();
    let by_gid = c
        .get_json(
            "s.web2.qq.com",
            &format!(
                "/api/get_group_info_ext2?gcode={gid}&vfwebqq={}&t=1",
                s.vfwebqq
            ),
            REFERER_S,
        )
        .await;
    assert_eq!(by_gid, json!({"retcode": 6}));
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!(
                "/api/get_group_info_ext2?gcode={code}&vfwebqq={}&t=1",
                s.vfwebqq
            ),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 0);
    let r = &v["result"];
    assert_eq!(r["ginfo"]["gid"], gid);
    assert_eq!(r["ginfo"]["code"], code);
    assert_eq!(r["ginfo"]["name"], "wasmqq dev");
    assert_eq!(r["ginfo"]["memo"], "Plugins welcome");
    let members = r["ginfo"]["members"].as_array().unwrap();
    let minfo = r["minfo"].as_array().unwrap();
    assert_eq!(members.len(), 4);
    for (m, i) in members.iter().zip(minfo) {
        assert_eq!(m["muin"], i["uin"], "members[i] pairs with minfo[i]");
    }
    let nicks: Vec<&str> = minfo.iter().map(|m| m["nick"].as_str().unwrap()).collect();
    assert_eq!(nicks, vec!["Alice", "Bob", "Dave", "wasmqq"]);
    assert_eq!(members[3]["muin"], BOT);
    assert_eq!(members[0]["mflag"], 1, "admin");
    let alice_uin = friend_uin(&c, &s, "Alice").await;
    assert_eq!(r["ginfo"]["owner"], alice_uin);
    let cards = r["cards"].as_array().unwrap();
    assert!(cards.contains(&json!({"muin": alice_uin, "card": "Alice (owner)"})));
    assert!(cards.contains(&json!({"muin": BOT, "card": "bot"})));
    assert!(r["stats"].is_array() && r["vipinfo"].is_array());
    for k in ["gender", "province", "city", "country"] {
        assert!(minfo[0][k].is_string(), "{k}");
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn self_friend_info_long_nick_online_and_status() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let v = c
        .get_json("s.web2.qq.com", "/api/get_self_info2?t=1", REFERER_S)
        .await;
    assert_eq!(v["result"]["uin"], BOT);
    assert_eq!(v["result"]["account"], BOT);
    assert_eq!(v["result"]["nick"], "wasmqq");
    assert_eq!(v["result"]["vfwebqq"], s.vfwebqq.as_str());
    assert_eq!(v["result"]["lnick"], "I run plugins");
    // Cookies only: a fresh client is refused.
    let stranger = Client::new(&sim);
    assert_eq!(
        stranger
            .get_json("s.web2.qq.com", "/api/get_self_info2?t=1", REFERER_S)
            .await["retcode"],
        100001
    );

    let alice = friend_uin(&c, &s, "Alice").await;
    let q = format!(
        "tuin={alice}&vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t=1",
        s.vfwebqq, s.psessionid
    );
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!("/api/get_friend_info2?{q}"),
            REFERER_S,
        )
        .await;
    let r = &v["result"];
    assert_eq!(r["uin"], alice);
    assert_eq!(r["nick"], "Alice");
    assert_eq!(r["gender"], "female");
    assert_eq!(r["stat"], 10);
    assert_eq!(r["client_type"], 1);
    assert!(r.get("account").is_none());
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!(
                "/api/get_single_long_nick2?tuin={alice}&vfwebqq={}&t=1",
                s.vfwebqq
            ),
            REFERER_S,
        )
        .await;
    assert_eq!(
        v["result"],
        json!([{"uin": alice, "lnick": "幸福，知道自己在哪里"}])
    );
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!("/api/get_friend_info2?tuin=1&vfwebqq={}&t=1", s.vfwebqq),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 6);

    let v = c
        .get_json(
            "d1.web2.qq.com",
            &format!(
                "/channel/get_online_buddies2?vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t=1",
                s.vfwebqq, s.psessionid
            ),
            REFERER_D,
        )
        .await;
    let online = v["result"].as_array().unwrap();
    assert_eq!(online.len(), 2, "Carol is offline: {v}");
    assert!(online.contains(&json!({"client_type": 1, "status": "online", "uin": alice})));
    assert!(
        online
            .iter()
            .any(|o| o["status"] == "away" && o["client_type"] == 21)
    );

    let v = c
        .get_json(
            "d1.web2.qq.com",
            &format!(
                "/channel/change_status2?newstatus=away&clientid={CLIENT_ID}&psessionid={}&t=1",
                s.psessionid
            ),
            REFERER_D,
        )
        .await;
    assert_eq!(v, json!({"retcode": 0, "result": "ok"}));
    sim.shutdown().await;
}

#[tokio::test]
async fn recent_list_follows_conversations() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let recent =
        |psid: &str| json!({"vfwebqq": s.vfwebqq, "clientid": CLIENT_ID, "psessionid": psid});
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/get_recent_list2",
            &recent(""),
            REFERER_D,
        )
        .await;
    assert_eq!(v, json!({"result": [], "retcode": 0}));
    inject(&c, json!({"chat": "friend", "from": ALICE, "text": "hi"})).await;
    inject(
        &c,
        json!({"chat": "group", "from": BOB, "to": DEV_GROUP, "text": "yo"}),
    )
    .await;
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/get_recent_list2",
            &recent(&s.psessionid),
            REFERER_D,
        )
        .await;
    let gs = groups(&c, &s).await;
    let gid = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().0;
    let alice = friend_uin(&c, &s, "Alice").await;
    assert_eq!(
        v["result"],
        json!([{"type": 1, "uin": gid}, {"type": 0, "uin": alice}])
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn get_friend_uin2_is_404_unless_enabled() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let alice = friend_uin(&c, &s, "Alice").await;
    let path = format!(
        "/api/get_friend_uin2?tuin={alice}&type=1&vfwebqq={}&t=1",
        s.vfwebqq
    );
    assert_eq!(c.get("s.web2.qq.com", &path, Some(REFERER_S)).await.0, 404);
    sim.shutdown().await;

    let sim = start(SimConfig {
        friend_uin_api: true,
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let alice = friend_uin(&c, &s, "Alice").await;
    let path = format!(
        "/api/get_friend_uin2?tuin={alice}&type=1&vfwebqq={}&t=1",
        s.vfwebqq
    );
    let v: Value = c.get_json("s.web2.qq.com", &path, REFERER_S).await;
    assert_eq!(
        v["result"],
        json!({"uiuin": "", "account": ALICE, "uin": alice})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn retired_http_answers_50_unless_the_proxy_says_https() {
    let sim = start(SimConfig {
        retire_http: true,
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let (_, body) = c
        .get("s.web2.qq.com", "/api/get_self_info2?t=1", Some(REFERER_S))
        .await;
    assert_eq!(body, r#"{"retcode":50}"#);
    let resp = c
        .http
        .get(c.url("s.web2.qq.com", "/api/get_self_info2?t=1"))
        .header("Referer", REFERER_S)
        .header("X-Original-Scheme", "https")
        .send()
        .await
        .unwrap();
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        v["retcode"], 100001,
        "reaches the endpoint (not logged in): {v}"
    );
    sim.shutdown().await;
}
