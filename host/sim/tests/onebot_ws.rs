//! The OneBot face over the forward WebSocket, driven as a bot would.

use std::time::Duration;

use serde_json::{Value, json};
use wasmqq_sim::{ChatKind, InjectMessage, MessageFormat, OneBotFace, SentMessage};
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

fn group(from: u64, to: u64, text: &str) -> InjectMessage {
    InjectMessage {
        chat: ChatKind::Group,
        from,
        to: Some(to),
        text: text.into(),
    }
}

fn ok_data(v: &Value) -> &Value {
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["retcode"], 0, "{v}");
    &v["data"]
}

#[tokio::test]
async fn universal_connection_logs_in_receives_events_and_sends() {
    let sim = start(onebot_config(face())).await;
    let mut ws = Ws::connect(&sim.onebot_ws_url(), None).await;
    let first = ws.next_json().await;
    assert_eq!(first["post_type"], "meta_event");
    assert_eq!(first["meta_event_type"], "lifecycle");
    assert_eq!(first["sub_type"], "connect");
    assert_eq!(first["self_id"], BOT);

    let v = ws.call("get_login_info", json!({})).await;
    assert_eq!(ok_data(&v), &json!({"user_id": BOT, "nickname": "wasmqq"}));
    assert_eq!(v["echo"], "e1");

    let id = sim.inject(&friend("hi [face:14] a&[b]")).unwrap();
    let ev = ws.next_event().await;
    assert_eq!(ev["post_type"], "message");
    assert_eq!(ev["message_type"], "private");
    assert_eq!(ev["sub_type"], "friend");
    assert_eq!(ev["message_id"], id);
    assert_eq!(ev["user_id"], ALICE);
    assert_eq!(ev["self_id"], BOT);
    assert_eq!(ev["message"], "hi [CQ:face,id=14] a&amp;&#91;b&#93;");
    assert_eq!(ev["raw_message"], ev["message"]);
    assert_eq!(ev["sender"]["nickname"], "Alice");
    assert_eq!(ev["sender"]["user_id"], ALICE);
    assert!(ev["time"].as_u64().unwrap() > 1_600_000_000);

    sim.inject(&group(DAVE, DEV_GROUP, "[at:2609717081] ping"))
        .unwrap();
    let ev = ws.next_event().await;
    assert_eq!(ev["message_type"], "group");
    assert_eq!(ev["sub_type"], "normal");
    assert_eq!(ev["group_id"], DEV_GROUP);
    assert_eq!(ev["user_id"], DAVE);
    assert_eq!(ev["anonymous"], Value::Null);
    assert_eq!(ev["message"], "[CQ:at,qq=2609717081] ping");
    assert_eq!(ev["sender"]["card"], "Dave D.");
    assert_eq!(ev["sender"]["nickname"], "Dave");
    assert_eq!(ev["sender"]["role"], "member");
    sim.inject(&group(ALICE, DEV_GROUP, "x")).unwrap();
    assert_eq!(ws.next_event().await["sender"]["role"], "owner");

    let v = ws
        .call(
            "send_group_msg",
            json!({"group_id": DEV_GROUP, "message": "pong [CQ:face,id=5] &#91;ok&#93;"}),
        )
        .await;
    let mid = ok_data(&v)["message_id"].as_u64().expect("message_id");
    let v = ws
        .call(
            "send_private_msg",
            json!({"user_id": ALICE.to_string(), "message": [
                {"type": "text", "data": {"text": "dm "}},
                {"type": "face", "data": {"id": "14"}},
            ]}),
        )
        .await;
    assert_ne!(ok_data(&v)["message_id"], mid);
    let v = ws
        .call(
            "send_msg",
            json!({"message_type": "group", "group_id": FAMILY_GROUP, "message": "[CQ:face,id=1]", "auto_escape": true}),
        )
        .await;
    ok_data(&v);
    let v = ws
        .call(
            "send_msg",
            json!({"user_id": BOB, "message": {"type": "text", "data": {"text": "one segment"}}}),
        )
        .await;
    ok_data(&v);
    let sent = sim.wait_sent(4, WAIT).await;
    let got: Vec<(ChatKind, u64, &str)> = sent
        .iter()
        .map(|s: &SentMessage| (s.chat, s.to, s.text.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (ChatKind::Group, DEV_GROUP, "pong [face:5] [ok]"),
            (ChatKind::Friend, ALICE, "dm [face:14]"),
            (ChatKind::Group, FAMILY_GROUP, "[CQ:face,id=1]"),
            (ChatKind::Friend, BOB, "one segment"),
        ]
    );
    assert_eq!(sent[0].msg_id, Some(mid));
    // The control API sees the same list.
    let c = Client::new(&sim);
    let listed = c.control_get("/_sim/sent").await;
    assert_eq!(listed.as_array().unwrap().len(), 4);
    assert_eq!(listed[0]["text"], "pong [face:5] [ok]");

    // Not a friend, not a group of the bot: failed, nothing recorded.
    for (action, params) in [
        ("send_private_msg", json!({"user_id": DAVE, "message": "x"})),
        ("send_group_msg", json!({"group_id": 1, "message": "x"})),
        (
            "send_msg",
            json!({"message_type": "private", "user_id": 42, "message": "x"}),
        ),
    ] {
        let v = ws.call(action, params.clone()).await;
        assert_eq!(v["status"], "failed", "{action} {params}: {v}");
        assert!(!matches!(v["retcode"].as_i64(), Some(0 | 1) | None), "{v}");
    }
    assert_eq!(sim.sent().len(), 4);
    sim.shutdown().await;
}

#[tokio::test]
async fn array_format_events() {
    let sim = start(onebot_config(OneBotFace {
        message_format: MessageFormat::Array,
        ..face()
    }))
    .await;
    let mut ws = Ws::connect(&sim.onebot_ws_url(), None).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    sim.inject(&friend("a[b] [face:14]")).unwrap();
    let ev = ws.next_event().await;
    assert_eq!(
        ev["message"],
        json!([
            {"type": "text", "data": {"text": "a[b] "}},
            {"type": "face", "data": {"id": "14"}},
        ])
    );
    assert_eq!(ev["raw_message"], "a&#91;b&#93; [CQ:face,id=14]");
    sim.inject(&group(BOB, FAMILY_GROUP, "[at:2609717081] hey"))
        .unwrap();
    let ev = ws.next_event().await;
    assert_eq!(
        ev["message"],
        json!([
            {"type": "at", "data": {"qq": "2609717081"}},
            {"type": "text", "data": {"text": " hey"}},
        ])
    );
    assert_eq!(ev["sender"]["card"], "Bobby");
    sim.shutdown().await;
}

#[tokio::test]
async fn api_and_event_connections_are_split() {
    let sim = start(onebot_config(face())).await;
    let base = sim.onebot_ws_url();
    let mut api = Ws::connect(&format!("{base}api"), None).await;
    let mut event = Ws::connect(&format!("{base}event/"), None).await;
    assert_eq!(event.next_json().await["sub_type"], "connect");
    // /api gets no lifecycle and no events.
    sim.inject(&friend("to the event socket")).unwrap();
    assert_eq!(event.next_event().await["message"], "to the event socket");
    assert!(api.silent_for(Duration::from_millis(300)).await);
    let v = api.call("get_status", json!(null)).await;
    assert_eq!(ok_data(&v), &json!({"online": true, "good": true}));
    // /event answers no calls.
    event
        .send_text(r#"{"action":"get_status","echo":"x"}"#)
        .await;
    assert!(event.silent_for(Duration::from_millis(300)).await);
    // An unknown path is no WebSocket.
    assert!(Ws::try_connect(&format!("{base}nope"), None).await.is_err());
    assert_eq!(sim.onebot_connections(), 2);
    sim.shutdown().await;
}

#[tokio::test]
async fn events_injected_while_disconnected_arrive_after_connect() {
    let sim = start(onebot_config(face())).await;
    let a = sim.inject(&friend("one")).unwrap();
    let b = sim.inject(&group(ALICE, DEV_GROUP, "two")).unwrap();
    assert_eq!(sim.state().queued_events, 2);
    let mut ws = Ws::connect(&sim.onebot_ws_url(), None).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    assert_eq!(ws.next_event().await["message_id"], a);
    assert_eq!(ws.next_event().await["message_id"], b);
    assert_eq!(sim.state().queued_events, 0);
    // The bot goes away; what comes meanwhile waits for the next one.
    ws.ws.close(None).await.unwrap();
    drop(ws);
    let deadline = tokio::time::Instant::now() + WAIT;
    while sim.onebot_connections() > 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let c = sim.inject(&friend("three")).unwrap();
    assert_eq!(sim.state().queued_events, 1);
    let mut ws = Ws::connect(&sim.onebot_ws_url(), None).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    let ev = ws.next_event().await;
    assert_eq!(
        (ev["message_id"].as_u64(), ev["message"].as_str()),
        (Some(c), Some("three"))
    );
    assert_eq!(sim.state().delivered_events, 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn bad_input_is_answered_per_the_standard() {
    let sim = start(onebot_config(face())).await;
    let mut ws = Ws::connect(&format!("{}api", sim.onebot_ws_url()), None).await;
    ws.send_text("this is not json").await;
    let v = ws.next_json().await;
    assert_eq!(
        (v["status"].as_str(), v["retcode"].as_i64()),
        (Some("failed"), Some(1400))
    );
    assert_eq!(v["echo"], Value::Null);
    ws.send_text(r#"{"params":{},"echo":7}"#).await;
    let v = ws.answer(&json!(7)).await;
    assert_eq!(v["retcode"], 1400);
    ws.send_text(r#"[1,2]"#).await;
    assert_eq!(ws.next_json().await["retcode"], 1400);
    ws.send_text(r#"{"action":"get_status","params":[1],"echo":8}"#)
        .await;
    assert_eq!(ws.answer(&json!(8)).await["retcode"], 1400);

    let v = ws.call("no_such_action", json!({})).await;
    assert_eq!(
        (v["status"].as_str(), v["retcode"].as_i64(), &v["data"]),
        (Some("failed"), Some(1404), &Value::Null)
    );
    for (action, params) in [
        ("send_private_msg", json!({"message": "x"})),
        (
            "send_private_msg",
            json!({"user_id": "abc", "message": "x"}),
        ),
        ("send_private_msg", json!({"user_id": -3, "message": "x"})),
        ("send_group_msg", json!({"group_id": DEV_GROUP})),
        (
            "send_group_msg",
            json!({"group_id": DEV_GROUP, "message": ""}),
        ),
        (
            "send_group_msg",
            json!({"group_id": DEV_GROUP, "message": 5}),
        ),
        (
            "send_group_msg",
            json!({"group_id": DEV_GROUP, "message": [{"data": {}}]}),
        ),
        (
            "send_msg",
            json!({"message_type": "discuss", "discuss_id": 1, "message": "x"}),
        ),
        ("send_msg", json!({"message": "x"})),
        ("get_group_info", json!({})),
        ("get_group_member_info", json!({"group_id": DEV_GROUP})),
        ("delete_msg", json!({})),
    ] {
        let v = ws.call(action, params.clone()).await;
        assert_eq!(v["status"], "failed", "{action} {params}: {v}");
        assert_eq!(v["retcode"], 1400, "{action} {params}: {v}");
    }
    assert!(sim.sent().is_empty());

    // _async and _rate_limited: accepted at once, done anyway.
    let v = ws
        .call(
            "send_private_msg_async",
            json!({"user_id": ALICE, "message": "a"}),
        )
        .await;
    assert_eq!(
        (v["status"].as_str(), v["retcode"].as_i64(), &v["data"]),
        (Some("async"), Some(1), &Value::Null)
    );
    let v = ws
        .call(
            "send_group_msg_rate_limited",
            json!({"group_id": DEV_GROUP, "message": "r"}),
        )
        .await;
    assert_eq!(v["status"], "async");
    let sent = sim.wait_sent(2, WAIT).await;
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].text, "r");
    ok_data(&ws.call("get_status", json!({})).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn the_access_token_guards_the_upgrade() {
    let sim = start(onebot_config(OneBotFace {
        access_token: Some("s3cret".into()),
        ..face()
    }))
    .await;
    let url = sim.onebot_ws_url();
    let status = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(resp) => resp.status().as_u16(),
        other => panic!("not an HTTP refusal: {other}"),
    };
    assert_eq!(
        status(Ws::try_connect(&url, None).await.err().unwrap()),
        401
    );
    assert_eq!(
        status(Ws::try_connect(&url, Some("nope")).await.err().unwrap()),
        403
    );
    let mut ws = Ws::connect(&url, Some("s3cret")).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    let mut ws2 = Ws::connect(&format!("{url}api?access_token=s3cret"), None).await;
    ok_data(&ws2.call("get_login_info", json!({})).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn heartbeats_carry_status_and_interval() {
    let sim = start(onebot_config(OneBotFace {
        heartbeat: Some(Duration::from_millis(100)),
        ..face()
    }))
    .await;
    let mut ws = Ws::connect(&format!("{}event", sim.onebot_ws_url()), None).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    for _ in 0..2 {
        let hb = ws.next_json().await;
        assert_eq!(hb["post_type"], "meta_event", "{hb}");
        assert_eq!(hb["meta_event_type"], "heartbeat");
        assert_eq!(hb["interval"], 100);
        assert_eq!(hb["status"]["online"], true);
        assert_eq!(hb["status"]["good"], true);
        assert_eq!(hb["self_id"], BOT);
    }
    sim.shutdown().await;
}

#[tokio::test]
async fn contacts_and_info_actions() {
    let sim = start(onebot_config(face())).await;
    let mut ws = Ws::connect(&format!("{}api", sim.onebot_ws_url()), None).await;
    let v = ws.call("get_friend_list", json!({})).await;
    let friends = ok_data(&v).as_array().unwrap().clone();
    assert_eq!(friends.len(), 3);
    assert_eq!(
        friends[0],
        json!({"user_id": ALICE, "nickname": "Alice", "remark": "Alice (work)"})
    );
    assert_eq!(friends[1]["remark"], "");
    let v = ws.call("get_group_list", json!({})).await;
    let groups = ok_data(&v).as_array().unwrap().clone();
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["group_id"], DEV_GROUP);
    assert_eq!(groups[0]["group_name"], "wasmqq dev");
    assert_eq!(groups[0]["member_count"], 4);
    let v = ws
        .call(
            "get_group_info",
            json!({"group_id": FAMILY_GROUP.to_string()}),
        )
        .await;
    assert_eq!(ok_data(&v)["group_name"], "Family");
    assert_eq!(ok_data(&v)["member_count"], 3);
    let v = ws.call("get_group_info", json!({"group_id": 5})).await;
    assert_eq!(v["status"], "failed");
    let v = ws
        .call("get_group_member_list", json!({"group_id": DEV_GROUP}))
        .await;
    let members = ok_data(&v).as_array().unwrap().clone();
    assert_eq!(members.len(), 4);
    let roles: Vec<_> = members
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["owner", "member", "member", "member"]);
    let v = ws
        .call(
            "get_group_member_info",
            json!({"group_id": DEV_GROUP, "user_id": BOT}),
        )
        .await;
    assert_eq!(ok_data(&v)["card"], "bot");
    assert_eq!(ok_data(&v)["nickname"], "wasmqq");
    let v = ws
        .call(
            "get_group_member_info",
            json!({"group_id": FAMILY_GROUP, "user_id": ALICE}),
        )
        .await;
    assert_eq!(v["status"], "failed");
    let v = ws.call("get_stranger_info", json!({"user_id": DAVE})).await;
    assert_eq!(
        ok_data(&v),
        &json!({"user_id": DAVE, "nickname": "Dave", "sex": "unknown", "age": 0})
    );
    assert_eq!(
        ws.call("get_stranger_info", json!({"user_id": 9})).await["status"],
        "failed"
    );
    let v = ws.call("get_version_info", json!({})).await;
    assert_eq!(ok_data(&v)["protocol_version"], "v11");
    assert_eq!(ok_data(&v)["app_name"], "wasmqq-sim");
    for a in ["can_send_image", "can_send_record"] {
        let v = ws.call(a, json!({})).await;
        assert!(ok_data(&v)["yes"].is_boolean(), "{v}");
    }
    ok_data(&ws.call("delete_msg", json!({"message_id": 12345})).await);
    sim.shutdown().await;
}

#[tokio::test]
async fn discussions_are_refused_while_the_face_is_onebot() {
    let sim = start(onebot_config(face())).await;
    let e = sim
        .inject(&InjectMessage {
            chat: ChatKind::Discussion,
            from: ALICE,
            to: Some(WEEKEND),
            text: "x".into(),
        })
        .unwrap_err();
    assert!(e.to_string().contains("OneBot"), "{e}");
    let c = Client::new(&sim);
    let (status, v) = c
        .control(
            "/_sim/messages",
            &json!({"chat": "discussion", "from": ALICE, "to": WEEKEND, "text": "x"}),
        )
        .await;
    assert_eq!(status, 422, "{v}");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("discussions do not exist")
    );
    // The WebQQ hosts are still the WebQQ face.
    let (status, _) = c
        .get(
            "ssl.ptlogin2.qq.com",
            "/ptqrshow?appid=501004106&e=0&l=M&s=5&d=72&v=4&t=0.5",
            None,
        )
        .await;
    assert_eq!(status, 200);
    sim.shutdown().await;
}
