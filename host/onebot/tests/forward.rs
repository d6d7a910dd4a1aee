//! Forward WebSocket (`ws.md`) against the fake implementation: login,
//! contacts, events, sends, echo matching, malformed input, reconnects,
//! heartbeat timeout, token refusal, the split `/api` + `/event` mode.

use std::time::{Duration, Instant};

use serde_json::json;
use wasmqq_onebot::{AtTarget, Client, Config, Error, Event, MessageType, Mode, Role, Segment};
use wasmqq_tests::onebot_peer::*;

fn config(server: &ForwardServer, token: Option<&str>) -> Config {
    Config {
        mode: Mode::ForwardWs {
            url: server.url("/"),
        },
        access_token: token.map(str::to_string),
        reconnect_base: Duration::from_millis(50),
        reconnect_max: Duration::from_millis(200),
        send_interval: Duration::from_millis(200),
        action_timeout: Duration::from_secs(3),
        ..Config::default()
    }
}

#[tokio::test]
async fn login_events_sends_and_echo_matching() {
    init_tracing();
    let server = ForwardServer::start(10001, Some(TOKEN)).await;
    let (client, mut events) = Client::connect(config(&server, Some(TOKEN))).await.unwrap();
    assert_eq!(client.self_id(), 10001);
    assert_eq!(client.nickname(), "bot10001");
    assert_eq!(next_event(&mut events).await, Event::Connected);

    // Contacts were loaded during connect.
    let contacts = client.contacts();
    assert_eq!(contacts.friends[&42].remark, "A");
    assert_eq!(contacts.groups[&123456].name, "test group");
    let alice = &contacts.groups[&123456].members[&42];
    assert_eq!((alice.card.as_str(), alice.role), ("Al", Some(Role::Owner)));

    // A private message in string form, then a group message in array form.
    server.push(&private_event(10001, "你好～[CQ:face,id=178]"));
    server.push(&group_event(10001, " hello"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(m.message_type, MessageType::Private);
    assert_eq!((m.user_id, m.message_id, m.self_id), (12345678, 12, 10001));
    assert_eq!(m.message, vec![Segment::text("你好～"), Segment::Face(178)]);
    assert_eq!(m.sender.nickname, "小不点");
    let Event::Message(g) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(g.message_type, MessageType::Group);
    assert_eq!(g.group_id, Some(123456));
    assert_eq!(g.message[0], Segment::At(AtTarget::Qq(10001)));
    assert_eq!(g.text(), " hello");
    assert_eq!(g.sender.card, "Al");

    // Sends answer with the message id; the message goes in array form.
    let id = client
        .send_private_msg(42, &[Segment::text("hi"), Segment::Face(1)])
        .await
        .unwrap();
    assert!(id >= 1000);
    let sent = server.account.requests_of("send_private_msg");
    assert_eq!(sent[0]["user_id"], 42);
    assert_eq!(
        sent[0]["message"],
        json!([{"type": "text", "data": {"text": "hi"}}, {"type": "face", "data": {"id": "1"}}])
    );
    // Two sends to one group are paced by send_interval.
    let t0 = Instant::now();
    let a = client
        .send_group_msg(123456, &[Segment::text("1")])
        .await
        .unwrap();
    let b = client
        .send_group_msg(123456, &[Segment::text("2")])
        .await
        .unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(190),
        "{:?}",
        t0.elapsed()
    );
    assert_ne!(a, b);
    assert!(matches!(
        client.send_group_msg(1, &[]).await,
        Err(Error::EmptyMessage { .. })
    ));

    // Two concurrent calls answered in the opposite order get their own
    // responses.
    let slow = client.call("echo_test", json!({"tag": "slow", "delay_ms": 300}));
    let fast = client.call("echo_test", json!({"tag": "fast", "delay_ms": 0}));
    let (slow, fast) = tokio::join!(slow, fast);
    assert_eq!(slow.unwrap()["tag"], "slow");
    assert_eq!(fast.unwrap()["tag"], "fast");

    // A failed action names the action and retcode, and is not transient.
    let err = client.call("fail_test", json!({})).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "fail_test: action failed (retcode 100, \"nope\")"
    );
    assert!(!err.is_transient());
    let err = client.call("no_such_action", json!({})).await.unwrap_err();
    assert_eq!(err.retcode(), Some(1404));

    client.shutdown().await;
    assert_eq!(events.recv().await, None);
    assert!(matches!(
        client.call("get_login_info", json!({})).await,
        Err(Error::Shutdown)
    ));
}

#[tokio::test]
async fn malformed_frames_are_skipped() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let (client, mut events) = Client::connect(config(&server, None)).await.unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    for bad in [
        "not json",
        "[1, 2]",
        r#"{"post_type": "weird", "self_id": 10001}"#,
        r#"{"post_type": "message", "message_type": "private", "message_id": 1, "self_id": 10001, "message": "no user_id"}"#,
        r#"{"post_type": "message", "message_type": "group", "message_id": 1, "user_id": 1, "self_id": 10001, "message": "no group"}"#,
        r#"{"post_type": "message", "message_type": "private", "message_id": 1, "user_id": 1, "self_id": 10001, "message": 5}"#,
        r#"{"status": "ok", "retcode": 0, "data": null, "echo": "nobody-waits-for-this"}"#,
        r#"{"something": "else"}"#,
        // A heartbeat with an absurd interval (no deadline overflow).
        r#"{"post_type": "meta_event", "meta_event_type": "heartbeat", "self_id": 10001, "interval": 9223372036854775807}"#,
    ] {
        server.push_raw(bad);
    }
    server.push(&private_event(10001, "the good one"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!("a message")
    };
    assert_eq!(m.text(), "the good one");
    // The connection is still fine.
    assert_eq!(client.get_login_info().await.unwrap().0, 10001);
    assert_eq!(server.accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    client.shutdown().await;
}

#[tokio::test]
async fn reconnects_after_a_drop_and_fails_calls_in_flight() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let (client, mut events) = Client::connect(config(&server, None)).await.unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);

    // A call in flight when the connection drops fails, transiently.
    let pending = {
        let client = client.clone();
        tokio::spawn(async move { client.call("echo_test", json!({"delay_ms": 2000})).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.drop_all();
    let err = pending.await.unwrap().unwrap_err();
    assert!(matches!(err, Error::Disconnected { .. }), "{err}");
    assert!(err.is_transient());

    let Event::Disconnected { reason } = next_event(&mut events).await else {
        panic!()
    };
    assert!(!reason.is_empty());
    assert_eq!(next_event(&mut events).await, Event::Connected);
    server.wait_accepted(2).await;
    assert_eq!(client.get_login_info().await.unwrap().0, 10001);
    // Events flow on the new connection.
    server.push(&private_event(10001, "after reconnect"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "after reconnect");
    client.shutdown().await;
}

#[tokio::test]
async fn heartbeat_timeout_reconnects() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let (client, mut events) = Client::connect(config(&server, None)).await.unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    // One heartbeat announcing 100 ms, then silence: dead after 300 ms.
    let t0 = Instant::now();
    server.push(&heartbeat(10001, 100));
    assert!(matches!(next_event(&mut events).await, Event::Meta(_)));
    let Event::Disconnected { reason } = next_event(&mut events).await else {
        panic!()
    };
    assert!(reason.contains("heartbeat"), "{reason}");
    assert!(
        t0.elapsed() >= Duration::from_millis(290),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(next_event(&mut events).await, Event::Connected);
    server.wait_accepted(2).await;
    client.shutdown().await;
}

#[tokio::test]
async fn wrong_or_missing_token_is_refused() {
    init_tracing();
    let server = ForwardServer::start(10001, Some(TOKEN)).await;
    let err = Client::connect(config(&server, Some("wrong")))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 403, .. }),
        "{err}"
    );
    assert!(!err.is_transient());
    let err = Client::connect(config(&server, None)).await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err}"
    );
    assert_eq!(*server.refused.lock().unwrap(), vec![403, 401]);
}

#[tokio::test]
async fn wrong_account_is_refused() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let cfg = Config {
        self_id: Some(999),
        ..config(&server, None)
    };
    let err = Client::connect(cfg).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongAccount {
                expected: 999,
                actual: 10001
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn split_api_and_event_connections() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let cfg = Config {
        mode: Mode::ForwardWsSplit {
            api: server.url("/api"),
            event: server.url("/event"),
        },
        ..config(&server, None)
    };
    let (client, mut events) = Client::connect(cfg).await.unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    assert_eq!(server.peers("/api").len(), 1);
    assert_eq!(server.peers("/event").len(), 1);
    // Calls went over /api only.
    assert!(
        server
            .account
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|(_, _, via)| via == "/api")
    );
    for p in server.peers("/event") {
        p.push(&group_event(10001, "on the event connection"));
    }
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "on the event connection");
    assert!(
        client
            .send_group_msg(123456, &[Segment::text("x")])
            .await
            .unwrap()
            >= 1000
    );
    // Losing the event connection drops and redials both.
    for p in server.peers("/event") {
        p.close();
    }
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));
    assert_eq!(next_event(&mut events).await, Event::Connected);
    server.wait_accepted(4).await;
    client.shutdown().await;
}

#[tokio::test]
async fn connect_waits_for_the_implementation() {
    init_tracing();
    // Nothing listens yet: connect keeps retrying until the server is up.
    let addr = free_addr();
    let cfg = Config {
        mode: Mode::ForwardWs {
            url: url::Url::parse(&format!("ws://{addr}/")).unwrap(),
        },
        reconnect_base: Duration::from_millis(20),
        reconnect_max: Duration::from_millis(50),
        ..Config::default()
    };
    let connecting = tokio::spawn(Client::connect(cfg));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!connecting.is_finished());
    let server = ForwardServer::start_on(addr, 10001).await;
    let (client, _events) = tokio::time::timeout(Duration::from_secs(5), connecting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(client.self_id(), 10001);
    drop(server);
    client.shutdown().await;
}

#[tokio::test]
async fn slow_consumer_loses_no_events_and_calls_still_answer() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let cfg = Config {
        event_buffer: 2,
        ..config(&server, None)
    };
    let (client, mut events) = Client::connect(cfg).await.unwrap();
    // Nobody reads events while 200 arrive: the channel (2) is full.
    for i in 0..200 {
        let mut ev = private_event(10001, &format!("n{i}"));
        ev["message_id"] = json!(i);
        server.push(&ev);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A call's response is not stuck behind the unread events.
    let info = tokio::time::timeout(Duration::from_secs(2), client.get_login_info()).await;
    assert_eq!(info.expect("answered while events wait").unwrap().0, 10001);
    // Every event arrives, in order.
    assert_eq!(next_event(&mut events).await, Event::Connected);
    for i in 0..200 {
        let Event::Message(m) = next_event(&mut events).await else {
            panic!()
        };
        assert_eq!(m.message_id, i);
    }
    assert!(events.try_recv().is_none());
    client.shutdown().await;
}

#[tokio::test]
async fn dropping_the_client_stops_reconnecting() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let (client, _events) = Client::connect(config(&server, None)).await.unwrap();
    drop(client);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(server.peers("/").is_empty(), "the connection was closed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        server.accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "and not redialled"
    );
}

#[tokio::test]
async fn a_call_times_out_and_its_late_answer_is_dropped() {
    init_tracing();
    let server = ForwardServer::start(10001, None).await;
    let cfg = Config {
        action_timeout: Duration::from_millis(200),
        ..config(&server, None)
    };
    let (client, mut events) = Client::connect(cfg).await.unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    let t0 = Instant::now();
    let err = client
        .call("echo_test", json!({"delay_ms": 500}))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Timeout { .. }) && err.is_transient(),
        "{err}"
    );
    assert!(t0.elapsed() >= Duration::from_millis(190));
    assert_eq!(err.to_string(), "echo_test: no response within 200 ms");
    // The late answer arrives and is skipped; the next call is unaffected.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        client.call("echo_test", json!({"x": 1})).await.unwrap()["x"],
        1
    );
    client.shutdown().await;
}
