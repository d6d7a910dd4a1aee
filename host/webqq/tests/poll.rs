//! The poll loop against the simulator: typed messages with resolved
//! sender names, own echoes, and every injected poll2 fault.

use std::time::Duration;

use serde_json::json;
use wasmqq_sim::SimConfig;
use wasmqq_tests::webqq::*;
use wasmqq_webqq::{ChatKind, Event, LoginStatus, Segment};

#[tokio::test]
async fn friend_group_and_discussion_messages_with_names() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;

    sim.say("friend", ALICE, None, "hello [face:14] there")
        .await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.chat, bot.friend("Alice"));
    assert_eq!(m.sender, m.chat.id);
    assert_eq!(
        m.sender_name.as_deref(),
        Some("Alice (work)"),
        "remark wins"
    );
    assert_eq!(
        m.segments,
        vec![
            Segment::text("hello "),
            Segment::Face(14),
            Segment::text(" there")
        ]
    );
    assert!(m.time > 0);

    sim.say("group", DAVE, Some(DEV_GROUP), "in the group")
        .await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.chat, bot.group("wasmqq dev"));
    assert_eq!(m.sender_name.as_deref(), Some("Dave D."), "group card");
    assert_eq!(m.text(), "in the group");

    sim.say("group", BOB, Some(DEV_GROUP), "no card").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.sender_name.as_deref(), Some("Bob"), "nick without card");

    sim.say("discussion", DAVE, Some(WEEKEND), "discuss").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.chat.kind, ChatKind::Discussion);
    assert_eq!(m.chat, bot.discussion("weekend plans"));
    assert_eq!(m.sender_name.as_deref(), Some("Dave"));
    bot.client.shutdown().await;
}

#[tokio::test]
async fn multi_line_text_is_normalised() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    sim.say("friend", CAROL, None, "line1\nline2").await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.text(), "line1\nline2");
    assert_eq!(m.sender_name.as_deref(), Some("Mum"));
    bot.client.shutdown().await;
}

#[tokio::test]
async fn own_echoes_are_dropped() {
    let sim = Sim::with(SimConfig {
        echo_own_sends: true,
        ..fast_sim_config()
    })
    .await;
    let mut bot = connect(&sim).await;
    let dev = bot.group("wasmqq dev");
    let report = bot
        .client
        .send(dev, &[Segment::text("from the bot")])
        .await
        .unwrap();
    assert!(report.is_delivered());
    // The bot itself speaking in the group (an echo from another device).
    sim.say("group", BOT, Some(DEV_GROUP), "me elsewhere").await;
    sim.say("group", ALICE, Some(DEV_GROUP), "after echoes")
        .await;
    let (m, _) = bot.next_message().await;
    assert_eq!(m.text(), "after echoes", "echoes never surface");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn events_queue_until_taken_and_stay_in_order() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    for i in 0..5 {
        sim.say("friend", ALICE, None, &format!("m{i}")).await;
    }
    let mut texts = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..5 {
        let (m, _) = bot.next_message().await;
        texts.push(m.text());
        ids.push(m.msg_id);
    }
    assert_eq!(texts, ["m0", "m1", "m2", "m3", "m4"]);
    ids.dedup();
    assert_eq!(ids.len(), 5, "distinct msg_ids");
    bot.client.shutdown().await;
}

/// Arms `fault` on poll2, then checks a message injected afterwards still
/// arrives; returns the events seen before it.
async fn survives(sim: &Sim, bot: &mut Bot, fault: serde_json::Value) -> Vec<Event> {
    sim.fault(fault.clone()).await;
    // Let the fault hit the next polls (the one held now answers idle first).
    sim.wait_faults_consumed().await;
    sim.say("friend", ALICE, None, "still here").await;
    let (m, others) = bot.next_message().await;
    assert_eq!(m.text(), "still here", "after {fault}");
    others
}

#[tokio::test]
async fn retcode_103_is_probed_and_polling_goes_on() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    let others = survives(
        &sim,
        &mut bot,
        json!({"endpoint":"poll2","retcode":103,"times":2}),
    )
    .await;
    assert!(others.is_empty(), "no re-login: {others:?}");
    assert_eq!(bot.recorder.qr_codes(), 1);
    bot.client.shutdown().await;
}

/// A run of 103 answers whose probes all answer (a healthy session the
/// server is slow to register) is re-tried, up to the bound of the
/// module's table (8 within five minutes), without a new QR code.
#[tokio::test]
async fn quick_103s_with_a_healthy_session_do_not_relogin() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    for times in [3, 8] {
        let others = survives(
            &sim,
            &mut bot,
            json!({"endpoint":"poll2","retcode":103,"times":times}),
        )
        .await;
        assert!(others.is_empty(), "{times} × 103: no re-login: {others:?}");
    }
    assert_eq!(bot.recorder.qr_codes(), 1);
    assert_eq!(
        bot.recorder
            .count(|s| matches!(s, LoginStatus::Relogin { .. })),
        0
    );
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retcode_116_replaces_ptwebqq() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    let before: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sim.dir.path().join("session.json")).unwrap(),
    )
    .unwrap();
    survives(&sim, &mut bot, json!({"endpoint":"poll2","retcode":116})).await;
    let after: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(sim.dir.path().join("session.json")).unwrap(),
    )
    .unwrap();
    assert_ne!(before["ptwebqq"], after["ptwebqq"], "new ptwebqq persisted");
    // The list hash uses the new ptwebqq and is still accepted.
    bot.client
        .refresh_contacts()
        .await
        .expect("lists with the new ptwebqq");
    assert_eq!(bot.recorder.qr_codes(), 1);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retcodes_120_and_121_relink() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    for code in [121, 120] {
        let others = survives(&sim, &mut bot, json!({"endpoint":"poll2","retcode":code})).await;
        assert!(
            others.contains(&Event::Reconnected { new_session: false }),
            "{code}: {others:?}"
        );
    }
    assert_eq!(
        bot.recorder
            .count(|s| matches!(s, LoginStatus::Relinking { .. })),
        2
    );
    assert_eq!(bot.recorder.qr_codes(), 1, "no new QR code for a relink");
    bot.client.shutdown().await;
}

async fn relogs_in(fault: serde_json::Value) {
    relogs_in_after(&[], fault).await;
}

/// Arms `first` (consumed before the next poll) and then `fault` as in
/// [`survives`], and checks that exactly one full re-login followed.
async fn relogs_in_after(first: &[serde_json::Value], fault: serde_json::Value) {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    for f in first {
        sim.fault(f.clone()).await;
    }
    let others = survives(&sim, &mut bot, fault.clone()).await;
    assert!(
        others
            .iter()
            .any(|e| matches!(e, Event::SessionLost { .. })),
        "{fault}: {others:?}"
    );
    assert!(
        others.contains(&Event::Reconnected { new_session: true }),
        "{fault}: {others:?}"
    );
    assert_eq!(
        bot.recorder.qr_codes(),
        2,
        "a fresh QR login through the same observer"
    );
    assert!(
        bot.recorder
            .count(|s| matches!(s, LoginStatus::Relogin { .. }))
            == 1
    );
    // Contacts were reloaded for the new session and sending works.
    let alice = bot.friend("Alice");
    let report = bot
        .client
        .send(alice, &[Segment::text("back")])
        .await
        .unwrap();
    assert!(report.is_delivered(), "{report:?}");
    bot.client.shutdown().await;
}

#[tokio::test]
async fn retcode_100001_relogs_in() {
    relogs_in(json!({"endpoint":"poll2","retcode":100001})).await;
}

#[tokio::test]
async fn retcode_100012_relogs_in() {
    relogs_in(json!({"endpoint":"poll2","retcode":100012})).await;
}

/// 103 after 103 beyond the bound, even with every probe answering: the
/// server will not take this session back, log in again.
#[tokio::test]
async fn endless_103_relogs_in() {
    relogs_in(json!({"endpoint":"poll2","retcode":103,"times":9})).await;
}

/// 103 with a probe that is refused (not a session-expired code) three
/// times in a row: log in again.
#[tokio::test]
async fn persistently_refused_probe_relogs_in() {
    relogs_in_after(
        &[json!({"endpoint":"get_online_buddies2","retcode":103,"times":3})],
        json!({"endpoint":"poll2","retcode":103,"times":3}),
    )
    .await;
}

#[tokio::test]
async fn expired_session_relogs_in() {
    relogs_in(json!({"expire_session": true})).await;
}

#[tokio::test]
async fn kick_emits_kicked_and_relogs_in() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    let others = survives(&sim, &mut bot, json!({"kick": true})).await;
    assert!(
        others.iter().any(|e| matches!(e, Event::Kicked { .. })),
        "{others:?}"
    );
    assert!(others.contains(&Event::Reconnected { new_session: true }));
    assert_eq!(bot.recorder.qr_codes(), 2);
    bot.client.shutdown().await;
}

#[tokio::test]
async fn http_errors_malformed_answers_and_resets_back_off_and_recover() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    for fault in [
        json!({"endpoint":"poll2","http_status":504,"times":2}),
        json!({"endpoint":"poll2","http_status":502}),
        json!({"endpoint":"poll2","http_status":500,"times":3}),
        json!({"endpoint":"poll2","malformed":true,"times":2}),
        json!({"endpoint":"poll2","reset":true,"times":2}),
        json!({"endpoint":"poll2","retcode":1202}),
        json!({"endpoint":"poll2","retcode":100003,"times":2}),
    ] {
        let others = survives(&sim, &mut bot, fault.clone()).await;
        assert!(others.is_empty(), "{fault}: {others:?}");
    }
    assert_eq!(
        bot.recorder.qr_codes(),
        1,
        "no re-login for transient faults"
    );
    bot.client.shutdown().await;
}

#[tokio::test]
async fn idle_answers_of_every_era_are_re_polled() {
    for idle in [
        wasmqq_sim::IdleAnswer::Json,
        wasmqq_sim::IdleAnswer::Http504,
        wasmqq_sim::IdleAnswer::Retcode102,
    ] {
        let sim = Sim::with(SimConfig {
            idle_answer: idle,
            poll_hold: Duration::from_millis(100),
            ..fast_sim_config()
        })
        .await;
        let mut bot = connect(&sim).await;
        // Several idle polls pass.
        tokio::time::sleep(Duration::from_millis(400)).await;
        sim.say("friend", ALICE, None, "after idle").await;
        let (m, others) = bot.next_message().await;
        assert_eq!(m.text(), "after idle", "{idle:?}");
        assert!(others.is_empty(), "{idle:?}: {others:?}");
        bot.client.shutdown().await;
    }
}

/// The re-login's activation answers an error retcode once (the soak's
/// injected `100001`): it is retried within the same login, not fatal.
#[tokio::test]
async fn a_refused_activation_during_relogin_is_retried() {
    relogs_in_after(
        &[json!({"endpoint":"get_online_buddies2","retcode":100001})],
        json!({"endpoint":"poll2","retcode":100001}),
    )
    .await;
}

/// Every step of a re-login failing for a while (error retcodes and
/// malformed answers, beyond the activation's own retries) only delays
/// the session: the client keeps trying and comes back, it never stops.
#[tokio::test]
async fn a_relogin_failing_repeatedly_keeps_trying() {
    let sim = Sim::start().await;
    let mut bot = connect(&sim).await;
    sim.fault(json!({"endpoint":"get_online_buddies2","retcode":100001,"times":6}))
        .await;
    sim.fault(json!({"endpoint":"getvfwebqq","malformed":true}))
        .await;
    let others = survives(&sim, &mut bot, json!({"endpoint":"poll2","retcode":100001})).await;
    assert!(
        !others.iter().any(|e| matches!(e, Event::Stopped { .. })),
        "{others:?}"
    );
    assert!(
        others.contains(&Event::Reconnected { new_session: true }),
        "{others:?}"
    );
    bot.client.shutdown().await;
}
