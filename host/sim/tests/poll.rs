//! poll2 long-poll semantics (§2.8, §4.1, §5.1, §6.2).

use std::time::{Duration, Instant};

use serde_json::json;
use wasmqq_sim::{IdleAnswer, SimConfig};
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D};

#[tokio::test]
async fn poll_answers_103_until_get_online_buddies2() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    qr_login(&c).await;
    let ptwebqq = c.cookie("d1.web2.qq.com", "ptwebqq").unwrap();
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/login2",
            &json!({"ptwebqq": ptwebqq, "clientid": CLIENT_ID, "psessionid": "", "status": "online"}),
            REFERER_D,
        )
        .await;
    let s = Session {
        ptwebqq: ptwebqq.clone(),
        vfwebqq: String::new(),
        psessionid: v["result"]["psessionid"].as_str().unwrap().into(),
        uin: BOT,
        hash: String::new(),
    };
    for _ in 0..2 {
        assert_eq!(
            poll(&c, &s).await,
            json!({"errmsg": "error", "retcode": 103})
        );
    }
    let s = open_session_after_login2(&c, s).await;
    let started = Instant::now();
    let v = poll(&c, &s).await;
    assert_eq!(
        v,
        json!({"errmsg": "error!!!", "retcode": 0}),
        "idle answer"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(180),
        "held for the poll hold"
    );
    sim.shutdown().await;
}

async fn open_session_after_login2(c: &Client, mut s: Session) -> Session {
    let v = c
        .get_json(
            "s.web2.qq.com",
            &format!(
                "/api/getvfwebqq?ptwebqq={}&clientid={CLIENT_ID}&psessionid=&t=1",
                s.ptwebqq
            ),
            REFERER_D,
        )
        .await;
    s.vfwebqq = v["result"]["vfwebqq"].as_str().unwrap().into();
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
    assert_eq!(v["retcode"], 0);
    s
}

#[tokio::test]
async fn events_are_delivered_one_per_answer_in_late_smartqq_shape() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let id1 = inject(
        &c,
        json!({"chat": "friend", "from": ALICE, "text": "hello [face:14]!"}),
    )
    .await;
    let id2 = inject(
        &c,
        json!({"chat": "group", "from": BOB, "to": DEV_GROUP, "text": "group hi"}),
    )
    .await;
    let id3 = inject(
        &c,
        json!({"chat": "discussion", "from": DAVE, "to": WEEKEND, "text": "disc hi"}),
    )
    .await;
    assert!(id1 < id2 && id2 < id3);
    let alice = friend_uin(&c, &s, "Alice").await;
    let bob = friend_uin(&c, &s, "Bob").await;
    let gs = groups(&c, &s).await;
    let (gid, code, _) = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().clone();

    let v = poll(&c, &s).await;
    assert_eq!(v["retcode"], 0);
    assert_eq!(
        v["result"].as_array().unwrap().len(),
        1,
        "one event per answer"
    );
    let e = &v["result"][0];
    assert_eq!(e["poll_type"], "message");
    let val = &e["value"];
    assert_eq!(val["from_uin"], alice);
    assert_eq!(val["to_uin"], BOT);
    assert_eq!(val["msg_id"], id1);
    assert!(val["time"].as_u64().unwrap() > 1_500_000_000);
    let content = val["content"].as_array().unwrap();
    assert_eq!(content[0][0], "font", "font first");
    assert_eq!(content[0][1]["name"], "微软雅黑");
    assert_eq!(content[1], "hello ");
    assert_eq!(content[2], json!(["face", 14]));
    assert_eq!(content[3], "!");

    let v = poll(&c, &s).await;
    let val = &v["result"][0]["value"];
    assert_eq!(v["result"][0]["poll_type"], "group_message");
    assert_eq!(val["from_uin"], gid);
    assert_eq!(val["group_code"], gid, "late SmartQQ: group_code == gid");
    assert_ne!(val["group_code"], code);
    assert_eq!(val["send_uin"], bob);
    assert_eq!(val["to_uin"], BOT);
    assert_eq!(val["content"][1], "group hi");

    let v = poll(&c, &s).await;
    let val = &v["result"][0]["value"];
    assert_eq!(v["result"][0]["poll_type"], "discu_message");
    assert_eq!(val["did"], val["from_uin"]);
    assert_ne!(val["did"], WEEKEND);
    assert_ne!(val["send_uin"], DAVE);
    assert_eq!(val["msg_id"], id3);

    assert_eq!(poll(&c, &s).await["errmsg"], "error!!!", "queue drained");
    assert_eq!(sim.state().delivered_events, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn a_held_poll_answers_at_once_when_an_event_arrives() {
    let sim = start(SimConfig {
        poll_hold: Duration::from_secs(20),
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let started = Instant::now();
    let (v, _) = tokio::join!(poll(&c, &s), async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(sim.state().polls_held, 1);
        inject(
            &c,
            json!({"chat": "friend", "from": BOB, "text": "wake up"}),
        )
        .await
    });
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(v["result"][0]["value"]["content"][1], "wake up");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_second_poll_completes_the_older_one_with_the_idle_answer() {
    let sim = start(SimConfig {
        poll_hold: Duration::from_secs(20),
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let started = Instant::now();
    let first = {
        let s = s.clone();
        let http = Client::new(&sim);
        tokio::spawn(async move { poll(&http, &s).await })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(sim.state().polls_held, 1);
    let second = {
        let s = s.clone();
        let http = Client::new(&sim);
        tokio::spawn(async move { poll(&http, &s).await })
    };
    let first = first.await.unwrap();
    assert_eq!(first, json!({"errmsg": "error!!!", "retcode": 0}));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "completed by the newer poll"
    );
    // The newer poll is the one held now, and gets the next event.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(sim.state().polls_held, 1);
    inject(
        &c,
        json!({"chat": "friend", "from": ALICE, "text": "for the second"}),
    )
    .await;
    let second = second.await.unwrap();
    assert_eq!(second["result"][0]["value"]["content"][1], "for the second");
    sim.shutdown().await;
}

#[tokio::test]
async fn queued_before_login_then_delivered() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let id = inject(
        &c,
        json!({"chat": "friend", "from": CAROL, "text": "while you were away"}),
    )
    .await;
    assert_eq!(sim.state().queued_events, 1);
    let s = login(&c).await;
    let v = poll(&c, &s).await;
    assert_eq!(v["result"][0]["value"]["msg_id"], id);
    assert_eq!(v["result"][0]["value"]["content"][1], "while you were away");
    sim.shutdown().await;
}

#[tokio::test]
async fn idle_answer_modes() {
    for (mode, check) in [
        (IdleAnswer::Retcode102, "102"),
        (IdleAnswer::Http504, "504"),
    ] {
        let sim = start(SimConfig {
            idle_answer: mode,
            ..config()
        })
        .await;
        let c = Client::new(&sim);
        let s = login(&c).await;
        let (status, body) = c
            .post_r_raw(
                "d1.web2.qq.com",
                "/channel/poll2",
                &json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "key": ""}),
                REFERER_D,
            )
            .await;
        match check {
            "102" => {
                assert_eq!(status, 200);
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                assert_eq!(v, json!({"retcode": 102, "errmsg": ""}));
            }
            _ => assert_eq!(status, 504),
        }
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn poll_checks_referer_psessionid_and_clientid() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let r =
        json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": s.psessionid, "key": ""});
    let (_, body) = c
        .post_r_raw("d1.web2.qq.com", "/channel/poll2", &r, "")
        .await;
    assert_eq!(body, r#"{"retcode":100000}"#);
    let bad = json!({"ptwebqq": s.ptwebqq, "clientid": CLIENT_ID, "psessionid": "nope", "key": ""});
    assert_eq!(
        c.post_r("d1.web2.qq.com", "/channel/poll2", &bad, REFERER_D)
            .await["retcode"],
        103
    );
    let bad =
        json!({"ptwebqq": s.ptwebqq, "clientid": 12345678, "psessionid": s.psessionid, "key": ""});
    assert_eq!(
        c.post_r("d1.web2.qq.com", "/channel/poll2", &bad, REFERER_D)
            .await["retcode"],
        103
    );
    // clientid as a string (YZ) is fine.
    inject(&c, json!({"chat": "friend", "from": ALICE, "text": "x"})).await;
    let ok = json!({"ptwebqq": s.ptwebqq, "clientid": "53999199", "psessionid": s.psessionid, "key": ""});
    assert_eq!(
        c.post_r("d1.web2.qq.com", "/channel/poll2", &ok, REFERER_D)
            .await["retcode"],
        0
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn echo_of_own_sends_when_enabled() {
    let sim = start(SimConfig {
        echo_own_sends: true,
        ..config()
    })
    .await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let gs = groups(&c, &s).await;
    let gid = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().0;
    let content = json!(["echo me", ["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}]]).to_string();
    let v = c
        .post_r(
            "d1.web2.qq.com",
            "/channel/send_qun_msg2",
            &json!({"group_uin": gid, "content": content, "face": 522, "clientid": CLIENT_ID, "msg_id": 6000001, "psessionid": s.psessionid}),
            REFERER_D,
        )
        .await;
    assert_eq!(v, json!({"errCode": 0, "msg": "send ok"}));
    let v = poll(&c, &s).await;
    assert_eq!(v["result"][0]["value"]["send_uin"], BOT);
    assert_eq!(v["result"][0]["value"]["from_uin"], gid);
    sim.shutdown().await;
}
