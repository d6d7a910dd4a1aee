//! Fault injection (`POST /_sim/faults`) and session incidents.

use std::time::Duration;

use serde_json::{Value, json};
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D, REFERER_S};
use wasmqq_wire::hash::list_hash;

fn group_send(s: &Session, gid: u64, text: &str) -> Value {
    let content = json!([text, ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]]).to_string();
    json!({"group_uin": gid, "content": content, "face": 522, "clientid": CLIENT_ID, "msg_id": 1, "psessionid": s.psessionid})
}

async fn arm(c: &Client, spec: Value) {
    let (status, v) = c.control("/_sim/faults", &spec).await;
    assert_eq!(status, 200, "{spec}: {v}");
}

#[tokio::test]
async fn poll2_retcode_fault_then_back_to_normal() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    arm(&c, json!({"endpoint": "poll2", "retcode": 103, "times": 1})).await;
    inject(&c, json!({"chat": "friend", "from": ALICE, "text": "kept"})).await;
    assert_eq!(
        poll(&c, &s).await,
        json!({"errmsg": "error", "retcode": 103})
    );
    // The event was not consumed by the fault.
    assert_eq!(
        poll(&c, &s).await["result"][0]["value"]["content"][1],
        "kept"
    );
    arm(&c, json!({"endpoint": "poll2", "retcode": 121})).await;
    assert_eq!(poll(&c, &s).await, json!({"retcode": 121, "t": "0"}));
    // 121 loses the session until login2 relinks it (tests/rotation.rs).
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/login2",
            &json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "status": "online"}),
            REFERER_D,
        )
        .await;
    assert_eq!(v["retcode"], 0, "{v}");
    arm(
        &c,
        json!({"endpoint": "poll2", "retcode": 100012, "times": 2}),
    )
    .await;
    assert_eq!(c.control_get("/_sim/faults").await[0]["remaining"], 2);
    assert_eq!(
        poll(&c, &s).await,
        json!({"errmsg": "error!!!", "retcode": 100012})
    );
    assert_eq!(poll(&c, &s).await["retcode"], 100012);
    assert_eq!(
        poll(&c, &s).await,
        json!({"errmsg": "error!!!", "retcode": 0})
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn send_http_502_twice_then_delivered() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gid = groups(&c, &s).await[0].0;
    arm(
        &c,
        json!({"endpoint": "send_qun_msg2", "http_status": 502, "times": 2}),
    )
    .await;
    for _ in 0..2 {
        let (status, body) = c
            .post_r_raw(
                "d1.web2.qq.com",
                "/channel/send_qun_msg2",
                &group_send(&s, gid, "retry me"),
                REFERER_D,
            )
            .await;
        assert_eq!(status, 502);
        assert!(body.contains("502 Bad Gateway"));
    }
    assert!(sim.sent().is_empty(), "a 502 is not delivered");
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/send_qun_msg2",
            &group_send(&s, gid, "retry me"),
            REFERER_D,
        )
        .await;
    assert_eq!(v["errCode"], 0);
    assert_eq!(sim.sent().len(), 1);
    sim.shutdown().await;
}

#[tokio::test]
async fn send_1202_can_still_deliver() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gid = groups(&c, &s).await[0].0;
    arm(
        &c,
        json!({"endpoint": "send_qun_msg2", "retcode": 1202, "deliver": true}),
    )
    .await;
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/send_qun_msg2",
            &group_send(&s, gid, "maybe"),
            REFERER_D,
        )
        .await;
    assert_eq!(v, json!({"errmsg": "error!!!", "retcode": 1202}));
    assert_eq!(sim.sent().len(), 1, "delivered anyway");
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_poll_answer() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    arm(&c, json!({"endpoint": "poll2", "malformed": true})).await;
    let r =
        json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "key": ""});
    let (status, body) = c
        .post_r_raw("d1.web2.qq.com", "/channel/poll2", &r, REFERER_D)
        .await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err(), "{body}");
    assert_eq!(poll(&c, &s).await["retcode"], 0);
    sim.shutdown().await;
}

#[tokio::test]
async fn reset_drops_the_connection_without_losing_the_event() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    inject(
        &c,
        json!({"chat": "friend", "from": ALICE, "text": "survives"}),
    )
    .await;
    arm(&c, json!({"endpoint": "poll2", "reset": true})).await;
    let r =
        json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "key": ""});
    let result = c
        .http
        .post(c.url("d1.web2.qq.com", "/channel/poll2"))
        .header("Referer", REFERER_D)
        .form(&[("r", r.to_string())])
        .send()
        .await;
    let err = result.expect_err("the connection is dropped before any response");
    assert!(!err.is_timeout(), "{err:?}");
    // The server is fine and the event is still there.
    assert_eq!(
        poll(&c, &s).await["result"][0]["value"]["content"][1],
        "survives"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn kick_delivers_kick_message_then_103() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let (status, v) = c.control("/_sim/faults", &json!({"kick": true})).await;
    assert_eq!(status, 409, "no session to kick yet: {v}");
    let s = login(&c).await;
    arm(&c, json!({"kick": true})).await;
    let v = poll(&c, &s).await;
    assert_eq!(v["retcode"], 0);
    let e = &v["result"][0];
    assert_eq!(e["poll_type"], "kick_message");
    assert_eq!(e["value"]["way"], "poll");
    assert_eq!(e["value"]["show_reason"], 1);
    assert!(
        e["value"]["reason"]
            .as_str()
            .unwrap()
            .contains("另一地点登录")
    );
    assert_eq!(poll(&c, &s).await["retcode"], 103);
    // The activation probe fails too (QB's TestLogin), and so do lists.
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
    assert_eq!(v["retcode"], 100001);
    assert_eq!(sim.state().login_ended.as_deref(), Some("kicked"));
    // A fresh QR login works again.
    let s2 = login(&c).await;
    inject(&c, json!({"chat": "friend", "from": ALICE, "text": "back"})).await;
    assert_eq!(
        poll(&c, &s2).await["result"][0]["value"]["content"][1],
        "back"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn kick_wakes_a_held_poll() {
    let sim = start(wasmqq_sim::SimConfig {
        poll_hold: Duration::from_secs(20),
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let held = {
        let s = s.clone();
        let c = Client::new(&sim);
        tokio::spawn(async move { poll(&c, &s).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    sim.kick().unwrap();
    let v = tokio::time::timeout(Duration::from_secs(3), held)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v["result"][0]["poll_type"], "kick_message");
    sim.shutdown().await;
}

#[tokio::test]
async fn expire_session_fails_polls_sends_and_lists() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gid = groups(&c, &s).await[0].0;
    arm(&c, json!({"expire_session": true})).await;
    assert_eq!(poll(&c, &s).await["retcode"], 103);
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/send_qun_msg2",
            &group_send(&s, gid, "late"),
            REFERER_D,
        )
        .await;
    assert_eq!(v, json!({"errmsg": "error!!!", "retcode": 100012}));
    let v = c
        .post_r(
            "s.web2.qq.com",
            "/api/get_user_friends2",
            &json!({"vfwebqq": s.vfwebqq, "hash": s.hash}),
            REFERER_S,
        )
        .await;
    assert_eq!(v["retcode"], 100001);
    // Relink is refused: cookies are stale.
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/login2",
            &json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "status": "online"}),
            REFERER_D,
        )
        .await;
    assert_eq!(v["retcode"], 100001);
    let st = sim.state();
    assert!(!st.logged_in);
    assert_eq!(st.login_ended.as_deref(), Some("expired"));
    sim.shutdown().await;
}

#[tokio::test]
async fn retcode_116_rotates_ptwebqq() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    arm(&c, json!({"endpoint": "poll2", "retcode": 116})).await;
    let v = poll(&c, &s).await;
    assert_eq!(v["retcode"], 116);
    let p = v["p"].as_str().unwrap();
    assert_eq!(p.len(), 64);
    assert_eq!(sim.state().session.unwrap().ptwebqq, p);
    // Lists accept the hash of the new ptwebqq, not the old one's
    // (more in tests/rotation.rs).
    for (hash, retcode) in [(list_hash(BOT, p), 0), (s.hash.clone(), 100003)] {
        let v = c
            .post_r(
                "s.web2.qq.com",
                "/api/get_user_friends2",
                &json!({"vfwebqq": s.vfwebqq, "hash": hash}),
                REFERER_S,
            )
            .await;
        assert_eq!(v["retcode"], retcode);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_on_other_endpoints_and_clearing() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    arm(&c, json!({"endpoint": "ptqrshow", "http_status": 404})).await;
    assert_eq!(c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await.0, 404);
    assert_eq!(c.get("ssl.ptlogin2.qq.com", "/ptqrshow", None).await.0, 200);
    arm(
        &c,
        json!({"endpoint": "getvfwebqq", "http_status": 404, "times": 3}),
    )
    .await;
    assert_eq!(sim.state().faults_armed, 1);
    let resp = c
        .http
        .delete(c.url("127.0.0.1", "/_sim/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"cleared": 1}));
    assert_eq!(sim.state().faults_armed, 0);
    sim.shutdown().await;
}
