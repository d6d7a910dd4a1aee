//! The control API's validation, population and state views.

use serde_json::{Value, json};
use wasmqq_tests::protocol::*;

#[tokio::test]
async fn message_injection_errors_name_the_problem() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let cases = [
        (
            json!({"chat": "friend", "from": DAVE, "text": "x"}),
            422,
            "10004 is not a friend",
        ),
        (
            json!({"chat": "friend", "from": 999, "text": "x"}),
            422,
            "999 is not a friend",
        ),
        (
            json!({"chat": "friend", "from": ALICE, "to": DEV_GROUP, "text": "x"}),
            422,
            "to: not allowed",
        ),
        (
            json!({"chat": "group", "from": ALICE, "text": "x"}),
            422,
            "to: required",
        ),
        (
            json!({"chat": "group", "from": ALICE, "to": 1, "text": "x"}),
            404,
            "no group with number 1",
        ),
        (
            json!({"chat": "group", "from": CAROL, "to": DEV_GROUP, "text": "x"}),
            422,
            "10003 is not a member of group 300001",
        ),
        (
            json!({"chat": "discussion", "from": BOB, "to": WEEKEND, "text": "x"}),
            422,
            "not a member of discussion",
        ),
        (
            json!({"chat": "discussion", "from": BOB, "to": 5, "text": "x"}),
            404,
            "no discussion with id 5",
        ),
        (
            json!({"chat": "channel", "from": BOB, "text": "x"}),
            400,
            "unknown variant",
        ),
        (
            json!({"chat": "friend", "from": ALICE}),
            400,
            "missing field `text`",
        ),
        (
            json!({"chat": "friend", "from": ALICE, "text": "x", "extra": 1}),
            400,
            "unknown field `extra`",
        ),
    ];
    for (body, status, needle) in cases {
        let (got, v) = c.control("/_sim/messages", &body).await;
        assert_eq!(got, status, "{body}: {v}");
        let err = v["error"].as_str().unwrap_or_default();
        assert!(err.contains(needle), "{body}: {err}");
    }
    // The bot may speak in a group (an echo from another device).
    inject(
        &c,
        json!({"chat": "group", "from": BOT, "to": DEV_GROUP, "text": "me"}),
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test]
async fn fault_requests_are_validated() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    for (body, needle) in [
        (
            json!({"endpoint": "poll3", "retcode": 1}),
            "unknown endpoint \"poll3\"",
        ),
        (json!({"endpoint": "poll2"}), "exactly one of"),
        (json!({"retcode": 1}), "endpoint is required"),
        (json!({"expire_session": true}), "no live session"),
        (
            json!({"endpoint": "poll2", "retcode": 1, "colour": 1}),
            "unknown field `colour`",
        ),
    ] {
        let (status, v) = c.control("/_sim/faults", &body).await;
        assert!((400..500).contains(&status), "{body}: {status}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{body}: {v}");
    }
    let resp = c
        .http
        .get(c.url("127.0.0.1", "/_sim/nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 404);
    let resp = c
        .http
        .put(c.url("127.0.0.1", "/_sim/state"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    sim.shutdown().await;
}

#[tokio::test]
async fn population_and_state_views() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let p = c.control_get("/_sim/population").await;
    assert_eq!(p["bot"]["qq"], BOT);
    assert_eq!(p["groups"][0]["number"], DEV_GROUP);
    assert_eq!(p["discussions"][0]["id"], WEEKEND);
    assert!(
        p["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["qq"] == ALICE && u["remark"] == "Alice (work)")
    );
    // The control API answers on any Host, e.g. a qq.com one.
    let resp = c
        .http
        .get(c.url("w.qq.com", "/_sim/state"))
        .send()
        .await
        .unwrap();
    let st: Value = resp.json().await.unwrap();
    assert_eq!(st["qr"], "none");
    assert_eq!(st["logged_in"], false);
    assert_eq!(st["session"], Value::Null);

    let s = login(&c).await;
    let st = c.control_get("/_sim/state").await;
    assert_eq!(st["qr"], "confirmed");
    assert_eq!(st["logins"], 1);
    assert_eq!(st["logged_in"], true);
    let sess = &st["session"];
    assert_eq!(sess["psessionid"], s.psessionid.as_str());
    assert_eq!(sess["activated"], true);
    assert_eq!(sess["vfwebqq"], s.vfwebqq.as_str());
    let alice = friend_uin(&c, &s, "Alice").await;
    assert!(
        sess["ids"]["users"]
            .as_array()
            .unwrap()
            .contains(&json!([ALICE, alice]))
    );
    let gs = groups(&c, &s).await;
    let (gid, code, _) = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().clone();
    assert!(
        sess["ids"]["groups"]
            .as_array()
            .unwrap()
            .contains(&json!([DEV_GROUP, gid, code]))
    );
    // Typed twin agrees.
    assert_eq!(sim.state().session.unwrap().psessionid, s.psessionid);
    sim.shutdown().await;
}
