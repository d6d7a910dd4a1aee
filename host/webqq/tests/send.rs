//! Sending against the simulator: the three chat kinds, faces, splitting,
//! pacing, retries and the 1202 / 100100 / expiry answers.

use std::time::Duration;

use serde_json::json;
use wasmqq_tests::webqq::*;
use wasmqq_webqq::{ChatKind, ChatRef, ClientConfig, Error, Segment, SendOutcome};

#[tokio::test]
async fn sends_to_friend_group_and_discussion() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    let c = &bot.client;
    let r = c
        .send(
            bot.friend("Alice"),
            &[Segment::text("hi Alice "), Segment::Face(14)],
        )
        .await
        .unwrap();
    assert!(r.is_delivered());
    assert_eq!(r.parts.len(), 1);
    assert_eq!(r.parts[0].outcome, SendOutcome::Delivered);
    assert_eq!(r.parts[0].attempts, 1);
    c.send(
        bot.group("wasmqq dev"),
        &[Segment::text("hi group \"quoted\"\nline")],
    )
    .await
    .unwrap();
    c.send(
        bot.discussion("weekend plans"),
        &[Segment::text("hi discussion")],
    )
    .await
    .unwrap();
    let sent = sim.wait_sent_values(3).await;
    assert_eq!(sent[0]["chat"], "friend");
    assert_eq!(sent[0]["to"], ALICE);
    assert_eq!(sent[0]["text"], "hi Alice [face:14]");
    assert_eq!(sent[0]["msg_id"], r.parts[0].msg_id);
    assert_eq!(sent[1]["chat"], "group");
    assert_eq!(sent[1]["to"], DEV_GROUP);
    assert_eq!(sent[1]["text"], "hi group \"quoted\"\nline");
    assert_eq!(sent[2]["chat"], "discussion");
    assert_eq!(sent[2]["to"], WEEKEND);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn msg_ids_form_a_sequence() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    let a = bot.friend("Alice");
    let b = bot.friend("Bob");
    let r1 = bot.client.send(a, &[Segment::text("1")]).await.unwrap();
    let r2 = bot.client.send(b, &[Segment::text("2")]).await.unwrap();
    assert_eq!(r2.parts[0].msg_id, r1.parts[0].msg_id + 1);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn long_text_is_split_and_paced() {
    let sim = Sim::start().await;
    let config = ClientConfig {
        send_interval: Duration::from_millis(300),
        ..sim.client_config()
    };
    let bot = connect_with(config).await;
    let text = "汉字 and words ".repeat(120); // 1920 bytes
    let started = std::time::Instant::now();
    let r = bot
        .client
        .send(bot.group("Family"), &[Segment::text(text.clone())])
        .await
        .unwrap();
    let took = started.elapsed();
    assert!(r.is_delivered());
    assert_eq!(r.parts.len(), 3, "{r:?}");
    assert!(took >= Duration::from_millis(600), "paced: {took:?}");
    let sent = sim.wait_sent_values(3).await;
    let mut joined = String::new();
    for s in &sent {
        let t = s["text"].as_str().unwrap();
        assert!(t.len() <= 720, "{} bytes", t.len());
        assert_eq!(s["to"], FAMILY_GROUP);
        joined.push_str(t);
    }
    assert_eq!(joined, text);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn pacing_is_per_chat() {
    let sim = Sim::start().await;
    let config = ClientConfig {
        send_interval: Duration::from_millis(400),
        ..sim.client_config()
    };
    let bot = connect_with(config).await;
    let (a, b) = (bot.friend("Alice"), bot.friend("Bob"));
    let started = std::time::Instant::now();
    bot.client.send(a, &[Segment::text("a1")]).await.unwrap();
    bot.client.send(b, &[Segment::text("b1")]).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(350),
        "other chats are not held up"
    );
    bot.client.send(a, &[Segment::text("a2")]).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "same chat waits"
    );
    bot.client.shutdown().await;
}

#[tokio::test]
async fn transient_http_errors_are_retried_with_the_same_msg_id() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"send_qun_msg2","http_status":502,"times":2}))
        .await;
    let r = bot
        .client
        .send(bot.group("wasmqq dev"), &[Segment::text("retried")])
        .await
        .unwrap();
    assert_eq!(r.parts[0].outcome, SendOutcome::Delivered);
    assert_eq!(r.parts[0].attempts, 3);
    let sent = sim.wait_sent_values(1).await;
    assert_eq!(sent.len(), 1, "delivered once");
    assert_eq!(sent[0]["msg_id"], r.parts[0].msg_id);

    sim.fault(json!({"endpoint":"send_buddy_msg2","reset":true}))
        .await;
    let r = bot
        .client
        .send(bot.friend("Bob"), &[Segment::text("after reset")])
        .await
        .unwrap();
    assert_eq!(r.parts[0].outcome, SendOutcome::Delivered);
    assert_eq!(r.parts[0].attempts, 2);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retries_are_bounded() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"send_discu_msg2","http_status":503,"times":10}))
        .await;
    let r = bot
        .client
        .send(bot.discussion("weekend plans"), &[Segment::text("never")])
        .await
        .unwrap();
    assert!(!r.is_delivered());
    assert_eq!(r.parts[0].attempts, 4, "1 + send_retries");
    assert!(matches!(
        r.parts[0].outcome,
        SendOutcome::Failed { retcode: None, .. }
    ));
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retcode_1202_is_probably_delivered_and_never_resent() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"send_qun_msg2","retcode":1202,"deliver":true}))
        .await;
    let r = bot
        .client
        .send(bot.group("wasmqq dev"), &[Segment::text("maybe")])
        .await
        .unwrap();
    assert_eq!(r.parts[0].outcome, SendOutcome::ProbablyDelivered);
    assert_eq!(r.parts[0].attempts, 1);
    assert!(r.is_delivered());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sim.sent_values().await.len(), 1, "not resent");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retcode_100100_is_delivered() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"send_buddy_msg2","retcode":100100,"deliver":true}))
        .await;
    let r = bot
        .client
        .send(bot.friend("Alice"), &[Segment::text("ok-ish")])
        .await
        .unwrap();
    assert_eq!(
        r.parts[0].outcome,
        SendOutcome::DeliveredWithWarning { retcode: 100100 }
    );
    assert!(r.is_delivered());
    bot.client.shutdown().await;
}

#[tokio::test]
async fn a_failed_part_stops_the_rest() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"send_buddy_msg2","retcode":100012}))
        .await;
    let r = bot
        .client
        .send(bot.friend("Alice"), &[Segment::text("x".repeat(1000))])
        .await
        .unwrap();
    assert_eq!(r.parts.len(), 2);
    assert!(matches!(
        r.parts[0].outcome,
        SendOutcome::Failed {
            retcode: Some(100012),
            ..
        }
    ));
    assert_eq!(r.parts[1].outcome, SendOutcome::NotSent);
    assert!(r.failure().is_some());
    assert!(sim.sent_values().await.is_empty());
    bot.client.shutdown().await;
}

#[tokio::test]
async fn empty_and_session_targets_are_refused() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    let err = bot
        .client
        .send(bot.friend("Alice"), &[Segment::text("")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::EmptyMessage { .. }), "{err}");
    let session = ChatRef {
        kind: ChatKind::Session,
        id: 1,
    };
    let err = bot
        .client
        .send(session, &[Segment::text("x")])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err}");
    bot.client.shutdown().await;
}

/// NUL and the other C0 control characters (but `\n` and `\t`) never reach
/// the server, `\r\n` becomes `\n`, and faces outside 0..=255 are dropped;
/// a message left with nothing is refused like an empty one.
#[tokio::test]
async fn control_characters_and_bad_faces_are_not_sent() {
    let sim = Sim::start().await;
    let bot = connect(&sim).await;
    let alice = bot.friend("Alice");
    let r = bot
        .client
        .send(
            alice,
            &[
                Segment::text("a\0b\u{1b}[31mc\r\nd\te\u{7}\rf"),
                Segment::Face(14),
                Segment::Face(256),
                Segment::Face(u32::MAX),
                Segment::text("\u{0}end\u{1f}"),
            ],
        )
        .await
        .unwrap();
    assert!(r.is_delivered(), "{r:?}");
    let sent = sim.wait_sent_values(1).await;
    assert_eq!(sent[0]["text"], "ab[31mc\nd\te\nf[face:14]end");
    for only_bad in [
        vec![Segment::text("\0\0\u{1}")],
        vec![Segment::Face(1000)],
        vec![Segment::text("\u{0}"), Segment::Face(300)],
    ] {
        let err = bot.client.send(alice, &only_bad).await.unwrap_err();
        assert!(matches!(err, Error::EmptyMessage { .. }), "{err}");
    }
    assert_eq!(sim.sent_values().await.len(), 1);
    bot.client.shutdown().await;
}
