//! Credentials a poll2 answer takes away: after `116` the old ptwebqq is
//! refused, after `120`/`121` the old session is refused until relinked — so
//! a client that ignores either code no longer passes.

use serde_json::{Value, json};
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D, REFERER_S};
use wasmqq_wire::hash::list_hash;

async fn arm(c: &Client, spec: Value) {
    let (status, v) = c.control("/_sim/faults", &spec).await;
    assert_eq!(status, 200, "{spec}: {v}");
}

async fn getvfwebqq(c: &Client, ptwebqq: &str) -> Value {
    c.get_json(
        "s.web2.qq.com",
        &format!("/api/getvfwebqq?ptwebqq={ptwebqq}&clientid={CLIENT_ID}&psessionid=&t=0.1"),
        REFERER_S,
    )
    .await
}

async fn login2(c: &Client, ptwebqq: &str, psessionid: &str) -> Value {
    c.post_r(
        "d1.web2.qq.com",
        "/channel/login2",
        &json!({"ptwebqq": ptwebqq, "clientid": CLIENT_ID, "psessionid": psessionid, "status": "online"}),
        REFERER_D,
    )
    .await
}

async fn friends(c: &Client, s: &Session, hash: &str) -> Value {
    c.post_r(
        "s.web2.qq.com",
        "/api/get_user_friends2",
        &json!({"vfwebqq": s.vfwebqq, "hash": hash}),
        REFERER_S,
    )
    .await
}

async fn online_buddies(c: &Client, s: &Session) -> Value {
    c.get_json(
        "d1.web2.qq.com",
        &format!(
            "/channel/get_online_buddies2?vfwebqq={}&clientid={CLIENT_ID}&psessionid={}&t=1",
            s.vfwebqq, s.psessionid
        ),
        REFERER_D,
    )
    .await
}

async fn recent(c: &Client, s: &Session) -> Value {
    c.post_r(
        "d1.web2.qq.com",
        "/channel/get_recent_list2",
        &json!({"vfwebqq": s.vfwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid}),
        REFERER_D,
    )
    .await
}

async fn send_group(c: &Client, s: &Session, gid: u64, text: &str) -> Value {
    let content = json!([text, ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]]).to_string();
    c.post_r(
        "d1.web2.qq.com",
        "/channel/send_qun_msg2",
        &json!({"group_uin": gid, "content": content, "face": 522, "clientid": CLIENT_ID, "msg_id": 1, "psessionid": s.psessionid}),
        REFERER_D,
    )
    .await
}

#[tokio::test]
async fn after_116_the_old_ptwebqq_is_refused_everywhere() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    arm(&c, json!({"endpoint": "poll2", "retcode": 116})).await;
    let v = poll(&c, &s).await;
    assert_eq!(v["retcode"], 116);
    let new = v["p"].as_str().unwrap().to_owned();
    assert_ne!(new, s.ptwebqq);

    // The old ptwebqq: getvfwebqq and login2 refuse it, and so do the lists
    // for a hash made with it.
    assert_eq!(
        getvfwebqq(&c, &s.ptwebqq).await,
        json!({"errmsg": "error!!!", "retcode": 100001})
    );
    assert_eq!(
        login2(&c, &s.ptwebqq, &s.psessionid).await,
        json!({"errmsg": "error!!!", "retcode": 100001})
    );
    assert_eq!(
        login2(&c, &s.ptwebqq, "").await["retcode"],
        100001,
        "no new session with it either"
    );
    assert_eq!(
        friends(&c, &s, &s.hash).await,
        json!({"errmsg": "error!!!", "retcode": 100003})
    );

    // The new one works for all of them, and the session lives on.
    let v = getvfwebqq(&c, &new).await;
    assert_eq!(v["result"]["vfwebqq"], s.vfwebqq.as_str());
    assert_eq!(friends(&c, &s, &list_hash(BOT, &new)).await["retcode"], 0);
    let v = login2(&c, &new, &s.psessionid).await;
    assert_eq!(v["result"]["psessionid"], s.psessionid.as_str(), "relinked");
    assert_eq!(
        poll(&c, &s).await,
        json!({"errmsg": "error!!!", "retcode": 0})
    );

    // A second rotation retires the first new value too.
    arm(&c, json!({"endpoint": "poll2", "retcode": 116})).await;
    let newer = poll(&c, &s).await["p"].as_str().unwrap().to_owned();
    assert_eq!(getvfwebqq(&c, &new).await["retcode"], 100001);
    assert_eq!(
        friends(&c, &s, &list_hash(BOT, &new)).await["retcode"],
        100003
    );
    assert_eq!(getvfwebqq(&c, &newer).await["retcode"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn after_121_or_120_the_session_is_refused_until_relinked() {
    for code in [121, 120] {
        let sim = start(config()).await;
        let c = Client::new(&sim);
        let s = login(&c).await;
        let gid = groups(&c, &s).await[0].0;
        arm(&c, json!({"endpoint": "poll2", "retcode": code})).await;
        let v = poll(&c, &s).await;
        assert_eq!(v["retcode"], code, "{v}");

        // Everything with the old psessionid is refused now.
        inject(
            &c,
            json!({"chat": "friend", "from": ALICE, "text": "waiting"}),
        )
        .await;
        assert_eq!(
            poll(&c, &s).await,
            json!({"errmsg": "error", "retcode": 103}),
            "{code}"
        );
        assert_eq!(poll(&c, &s).await["retcode"], 103, "{code}: still refused");
        assert_eq!(
            send_group(&c, &s, gid, "lost?").await["retcode"],
            100001,
            "{code}"
        );
        assert_eq!(online_buddies(&c, &s).await["retcode"], 100001, "{code}");
        assert_eq!(recent(&c, &s).await["retcode"], 100001, "{code}");
        assert!(
            c.control_get("/_sim/sent")
                .await
                .as_array()
                .unwrap()
                .is_empty(),
            "{code}: nothing was sent through the lost session"
        );

        // login2 with the same psessionid relinks it; the queued event was
        // kept for it.
        let v = login2(&c, &s.ptwebqq, &s.psessionid).await;
        assert_eq!(
            v["result"]["psessionid"],
            s.psessionid.as_str(),
            "{code}: {v}"
        );
        let v = poll(&c, &s).await;
        assert_eq!(
            v["result"][0]["value"]["content"][1], "waiting",
            "{code}: {v}"
        );
        assert_eq!(
            send_group(&c, &s, gid, "back").await["errCode"],
            0,
            "{code}"
        );
        assert_eq!(online_buddies(&c, &s).await["retcode"], 0, "{code}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn after_121_a_new_session_or_a_new_login_also_recovers() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    arm(&c, json!({"endpoint": "poll2", "retcode": 121})).await;
    assert_eq!(poll(&c, &s).await["retcode"], 121);

    // A fresh login2 (empty psessionid) opens a new session; the old stays
    // refused.
    let v = login2(&c, &s.ptwebqq, "").await;
    let fresh = Session {
        psessionid: v["result"]["psessionid"].as_str().unwrap().to_owned(),
        ..s.clone()
    };
    assert_ne!(fresh.psessionid, s.psessionid);
    assert_eq!(online_buddies(&c, &fresh).await["retcode"], 0);
    assert_eq!(poll(&c, &fresh).await["retcode"], 0);
    assert_eq!(poll(&c, &s).await["retcode"], 103);

    // So does a whole new QR login.
    arm(&c, json!({"endpoint": "poll2", "retcode": 121})).await;
    assert_eq!(poll(&c, &fresh).await["retcode"], 121);
    let again = login(&c).await;
    assert_eq!(poll(&c, &again).await["retcode"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_121_answered_by_another_endpoint_does_not_lose_the_session() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gid = groups(&c, &s).await[0].0;
    arm(&c, json!({"endpoint": "send_qun_msg2", "retcode": 121})).await;
    assert_eq!(send_group(&c, &s, gid, "x").await["retcode"], 121);
    assert_eq!(poll(&c, &s).await["retcode"], 0);
    assert_eq!(send_group(&c, &s, gid, "y").await["errCode"], 0);
    sim.shutdown().await;
}
