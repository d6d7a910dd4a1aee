//! OneBot faults through `POST /_sim/faults`.

use std::time::Duration;

use serde_json::{Value, json};
use wasmqq_sim::{ChatKind, InjectMessage};
use wasmqq_tests::onebot_ws::*;
use wasmqq_tests::protocol::*;

fn friend(text: &str) -> InjectMessage {
    InjectMessage {
        chat: ChatKind::Friend,
        from: ALICE,
        to: None,
        text: text.into(),
    }
}

async fn arm(c: &Client, spec: Value) {
    let (status, v) = c.control("/_sim/faults", &spec).await;
    assert_eq!(status, 200, "{spec}: {v}");
}

#[tokio::test]
async fn drop_ends_every_connection_and_nothing_is_lost() {
    let sim = start(onebot_config(face())).await;
    let c = Client::new(&sim);
    let base = sim.onebot_ws_url();
    let mut uni = Ws::connect(&base, None).await;
    let mut api = Ws::connect(&format!("{base}api"), None).await;
    assert_eq!(uni.next_json().await["sub_type"], "connect");
    assert_eq!(c.control_get("/_sim/state").await["onebot_connections"], 2);
    arm(&c, json!({"onebot_drop": true})).await;
    assert!(uni.closed_within(WAIT).await);
    assert!(api.closed_within(WAIT).await);
    eventually("connections gone", || sim.onebot_connections() == 0).await;
    let id = sim.inject(&friend("kept while down")).unwrap();
    let mut uni = Ws::connect(&base, None).await;
    assert_eq!(uni.next_json().await["sub_type"], "connect");
    assert_eq!(uni.next_event().await["message_id"], id);
    sim.shutdown().await;
}

#[tokio::test]
async fn malformed_events_invalid_json_and_unknown_post_type() {
    let sim = start(onebot_config(face())).await;
    let c = Client::new(&sim);
    // Armed before any bot is connected: kept until one is.
    arm(&c, json!({"onebot_malformed_event": "invalid_json"})).await;
    sim.inject(&friend("after the broken one")).unwrap();
    let mut ws = Ws::connect(&sim.onebot_ws_url(), None).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    let broken = ws.next_text(WAIT).await.unwrap();
    assert!(serde_json::from_str::<Value>(&broken).is_err(), "{broken}");
    assert_eq!(ws.next_event().await["message"], "after the broken one");
    arm(&c, json!({"onebot_malformed_event": "unknown_post_type"})).await;
    let v = ws.next_json().await;
    assert_eq!(v["post_type"], "wasmqq_unknown");
    assert_eq!(v["self_id"], BOT);
    // The connection still works.
    assert_eq!(ws.call("get_status", json!({})).await["status"], "ok");
    sim.shutdown().await;
}

#[tokio::test]
async fn action_faults_retcode_no_answer_reset_malformed() {
    let sim = start(onebot_config(face())).await;
    let c = Client::new(&sim);
    let url = format!("{}api", sim.onebot_ws_url());
    let mut ws = Ws::connect(&url, None).await;
    let send = json!({"group_id": DEV_GROUP, "message": "x"});

    arm(
        &c,
        json!({"endpoint": "send_group_msg", "retcode": 1200, "times": 2}),
    )
    .await;
    for _ in 0..2 {
        let v = ws.call("send_group_msg", send.clone()).await;
        assert_eq!(
            (v["status"].as_str(), v["retcode"].as_i64()),
            (Some("failed"), Some(1200))
        );
    }
    assert!(sim.sent().is_empty());
    assert_eq!(
        ws.call("send_group_msg", send.clone()).await["status"],
        "ok"
    );
    assert_eq!(sim.sent().len(), 1);
    // deliver: the send happens, the answer fails anyway.
    arm(
        &c,
        json!({"endpoint": "send_group_msg", "retcode": 1200, "deliver": true}),
    )
    .await;
    assert_eq!(
        ws.call("send_group_msg", send.clone()).await["retcode"],
        1200
    );
    assert_eq!(sim.sent().len(), 2);
    // The _async form counts as its action.
    arm(&c, json!({"endpoint": "get_status", "retcode": 7})).await;
    assert_eq!(ws.call("get_status_async", json!({})).await["retcode"], 7);

    // No answer: the call is swallowed, the connection stays.
    arm(&c, json!({"endpoint": "get_login_info", "no_answer": true})).await;
    ws.send_text(r#"{"action":"get_login_info","echo":"lost"}"#)
        .await;
    assert!(ws.silent_for(Duration::from_millis(300)).await);
    assert_eq!(ws.call("get_login_info", json!({})).await["status"], "ok");

    // Malformed answer.
    arm(
        &c,
        json!({"endpoint": "get_friend_list", "malformed": true}),
    )
    .await;
    ws.send_text(r#"{"action":"get_friend_list","echo":"m"}"#)
        .await;
    let t = ws.next_text(WAIT).await.unwrap();
    assert!(serde_json::from_str::<Value>(&t).is_err(), "{t}");

    // Reset: the connection carrying the call is dropped.
    arm(&c, json!({"endpoint": "get_group_list", "reset": true})).await;
    ws.send_text(r#"{"action":"get_group_list","echo":"r"}"#)
        .await;
    assert!(ws.closed_within(WAIT).await);
    let mut ws = Ws::connect(&url, None).await;
    assert_eq!(ws.call("get_group_list", json!({})).await["status"], "ok");
    assert_eq!(c.control_get("/_sim/faults").await, json!([]));
    sim.shutdown().await;
}

#[tokio::test]
async fn action_faults_over_http() {
    let sim = start(onebot_config(face())).await;
    let c = Client::new(&sim);
    let root = sim.onebot_http_url();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    arm(
        &c,
        json!({"endpoint": "send_private_msg", "http_status": 502}),
    )
    .await;
    let resp = http
        .post(format!("{root}/send_private_msg"))
        .json(&json!({"user_id": ALICE, "message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    arm(
        &c,
        json!({"endpoint": "send_private_msg", "retcode": 100, "times": 1}),
    )
    .await;
    let v: Value = http
        .post(format!("{root}/send_private_msg"))
        .json(&json!({"user_id": ALICE, "message": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (v["status"].as_str(), v["retcode"].as_i64()),
        (Some("failed"), Some(100))
    );
    arm(&c, json!({"endpoint": "get_login_info", "no_answer": true})).await;
    assert!(
        http.get(format!("{root}/get_login_info"))
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        http.get(format!("{root}/get_login_info"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(sim.sent().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn onebot_faults_are_validated() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let (status, v) = c
        .control("/_sim/faults", &json!({"onebot_drop": true}))
        .await;
    assert_eq!(status, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("OneBot face"), "{v}");
    for (body, needle) in [
        (
            json!({"endpoint": "poll2", "no_answer": true}),
            "no_answer is for OneBot actions",
        ),
        (
            json!({"endpoint": "send_grup_msg", "retcode": 1}),
            "OneBot actions: send_private_msg",
        ),
        (json!({"onebot_drop": true, "kick": true}), "stand alone"),
        (json!({"onebot_malformed_event": "bad"}), "unknown variant"),
        (
            json!({"endpoint": "get_status", "retcode": 1, "no_answer": true}),
            "exactly one",
        ),
    ] {
        let (status, v) = c.control("/_sim/faults", &body).await;
        assert!(status == 422 || status == 400, "{body}: {status} {v}");
        assert!(v["error"].as_str().unwrap().contains(needle), "{body}: {v}");
    }
    sim.shutdown().await;
}
