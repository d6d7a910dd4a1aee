//! Reverse WebSocket (`ws-reverse.md`): the fake implementation dials our
//! listener with `X-Self-ID` and `X-Client-Role`. Login, events, sends,
//! echo matching, refusals before the upgrade (401/403/404/400), several
//! accounts on one listener, the split API + Event roles, replacement of
//! a connection by a newer one.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use wasmqq_onebot::{Client, Config, Error, Event, Events, MessageType, Mode, Segment};
use wasmqq_tests::onebot_peer::*;

const PATH: &str = "/onebot/v11/ws";

fn config(listen: SocketAddr, self_id: Option<u64>, token: Option<&str>) -> Config {
    Config {
        mode: Mode::ReverseWs {
            listen,
            path: PATH.to_string(),
        },
        access_token: token.map(str::to_string),
        self_id,
        send_interval: Duration::from_millis(10),
        action_timeout: Duration::from_secs(3),
        ..Config::default()
    }
}

fn url(listen: SocketAddr, sub: &str) -> String {
    format!("ws://{listen}{PATH}{sub}")
}

/// Starts `connect` in the background (it returns once an implementation
/// connected).
fn connecting(cfg: Config) -> tokio::task::JoinHandle<Result<(Client, Events), Error>> {
    tokio::spawn(Client::connect(cfg))
}

async fn connected(
    task: tokio::task::JoinHandle<Result<(Client, Events), Error>>,
) -> (Client, Events) {
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("connect within 5 s")
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn universal_connection_login_events_and_calls() {
    init_tracing();
    let listen = free_addr();
    let task = connecting(config(listen, Some(20001), Some(TOKEN)));
    let account = Account::new(20001);
    let peer = dial_reverse_retry(
        &url(listen, ""),
        account.clone(),
        Some("Universal"),
        Some(TOKEN),
    )
    .await
    .unwrap();
    let (client, mut events) = connected(task).await;
    assert_eq!(client.self_id(), 20001);
    assert_eq!(client.contacts().groups[&123456].members.len(), 2);
    assert_eq!(next_event(&mut events).await, Event::Connected);

    peer.push(&private_event(20001, "私聊"));
    peer.push(&group_event(20001, "群聊"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(
        (m.message_type, m.text().as_str()),
        (MessageType::Private, "私聊")
    );
    let Event::Message(g) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(
        (g.message_type, g.group_id),
        (MessageType::Group, Some(123456))
    );

    let id = client
        .send_group_msg(123456, &[Segment::text("pong")])
        .await
        .unwrap();
    assert!(id >= 1000);
    assert_eq!(
        account.requests_of("send_group_msg")[0]["message"],
        json!([{"type": "text", "data": {"text": "pong"}}])
    );
    let (a, b) = tokio::join!(
        client.call("echo_test", json!({"n": 1, "delay_ms": 200})),
        client.call("echo_test", json!({"n": 2}))
    );
    assert_eq!(
        (a.unwrap()["n"].clone(), b.unwrap()["n"].clone()),
        (json!(1), json!(2))
    );

    // Malformed frames are skipped; the next good event arrives.
    peer.push_raw("{not json");
    peer.push_raw(r#"{"post_type": "message", "message_type": "private"}"#);
    peer.push(&private_event(20001, "still here"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "still here");

    // The implementation disconnecting is reported; calls then fail
    // transiently until it is back.
    peer.close();
    assert!(matches!(
        next_event(&mut events).await,
        Event::Disconnected { .. }
    ));
    let err = client.get_login_info().await.unwrap_err();
    assert!(
        matches!(err, Error::Disconnected { .. }) && err.is_transient(),
        "{err}"
    );
    let _peer = dial_reverse(
        &url(listen, ""),
        account.clone(),
        Some("Universal"),
        Some(TOKEN),
    )
    .await
    .unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    assert_eq!(client.get_login_info().await.unwrap().0, 20001);
    client.shutdown().await;
    assert_eq!(events.recv().await, None);
}

#[tokio::test]
async fn refused_before_the_upgrade() {
    init_tracing();
    let listen = free_addr();
    let task = connecting(config(listen, Some(20002), Some(TOKEN)));
    let account = Account::new(20002);
    // authorization.md: no token → 401, a wrong one → 403.
    assert_eq!(
        dial_reverse_retry(&url(listen, ""), account.clone(), Some("Universal"), None)
            .await
            .err(),
        Some(401)
    );
    assert_eq!(
        dial_reverse(
            &url(listen, ""),
            account.clone(),
            Some("Universal"),
            Some("wrong")
        )
        .await
        .err(),
        Some(403)
    );
    assert_eq!(
        dial_reverse(
            &format!("{}?access_token=wrong", url(listen, "")),
            account.clone(),
            None,
            None
        )
        .await
        .err(),
        Some(403)
    );
    // An account nobody waits for, an unknown path, a bad role.
    assert_eq!(
        dial_reverse(&url(listen, ""), Account::new(555), None, Some(TOKEN))
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        dial_reverse(
            &format!("ws://{listen}/elsewhere"),
            account.clone(),
            None,
            Some(TOKEN)
        )
        .await
        .err(),
        Some(404)
    );
    assert_eq!(
        dial_reverse(
            &url(listen, ""),
            account.clone(),
            Some("Bogus"),
            Some(TOKEN)
        )
        .await
        .err(),
        Some(400)
    );
    assert!(!task.is_finished());
    // The token in the query string is accepted too.
    let _peer = dial_reverse(
        &format!("{}?access_token={TOKEN}", url(listen, "")),
        account.clone(),
        None,
        None,
    )
    .await
    .unwrap();
    let (client, _events) = connected(task).await;
    assert_eq!(client.self_id(), 20002);
    client.shutdown().await;
}

#[tokio::test]
async fn two_accounts_share_one_listener() {
    init_tracing();
    let listen = free_addr();
    let task1 = connecting(config(listen, Some(30001), None));
    // Let the first client bind the listener; the second joins it.
    let first = dial_reverse_retry(&url(listen, ""), Account::new(30001), None, None)
        .await
        .unwrap();
    let (c1, mut e1) = connected(task1).await;
    let task2 = connecting(config(listen, Some(30002), None));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let acc2 = Account::new(30002);
    let second = dial_reverse(&url(listen, ""), acc2.clone(), None, None)
        .await
        .unwrap();
    let (c2, mut e2) = connected(task2).await;
    assert_eq!((c1.self_id(), c2.self_id()), (30001, 30002));
    assert_eq!(next_event(&mut e1).await, Event::Connected);
    assert_eq!(next_event(&mut e2).await, Event::Connected);

    second.push(&private_event(30002, "for two"));
    first.push(&private_event(30001, "for one"));
    let Event::Message(m1) = next_non_meta(&mut e1).await else {
        panic!()
    };
    let Event::Message(m2) = next_non_meta(&mut e2).await else {
        panic!()
    };
    assert_eq!((m1.text().as_str(), m1.self_id), ("for one", 30001));
    assert_eq!((m2.text().as_str(), m2.self_id), ("for two", 30002));
    c2.send_private_msg(42, &[Segment::text("from two")])
        .await
        .unwrap();
    assert_eq!(acc2.requests_of("send_private_msg").len(), 1);

    // A second client for the same account on the same listener is refused.
    let dup = Client::connect(config(listen, Some(30001), None))
        .await
        .unwrap_err();
    assert!(matches!(dup, Error::Config(_)), "{dup}");

    // The listener outlives the first client's shutdown.
    c1.shutdown().await;
    assert_eq!(c2.get_login_info().await.unwrap().0, 30002);
    c2.shutdown().await;
}

#[tokio::test]
async fn split_roles_and_replacement() {
    init_tracing();
    let listen = free_addr();
    let task = connecting(config(listen, None, None));
    let account = Account::new(40001);
    // Event connection first (no API yet: connect keeps waiting), by header.
    let event = dial_reverse_retry(&url(listen, "/event"), account.clone(), Some("Event"), None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!task.is_finished());
    // The API role, by sub-path alone.
    let api = dial_reverse(&url(listen, "/api"), account.clone(), None, None)
        .await
        .unwrap();
    let (client, mut events) = connected(task).await;
    assert_eq!(client.self_id(), 40001);
    assert_eq!(next_event(&mut events).await, Event::Connected);
    assert!(
        account
            .requests
            .lock()
            .unwrap()
            .iter()
            .all(|(_, _, via)| via.ends_with("/api"))
    );
    event.push(&private_event(40001, "via event role"));
    let Event::Message(m) = next_non_meta(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "via event role");

    // A new API connection for the account replaces the old one, which
    // is closed; calls go over the new one.
    let api2 = dial_reverse(&url(listen, "/api"), account.clone(), Some("API"), None)
        .await
        .unwrap();
    assert_eq!(next_event(&mut events).await, Event::Connected);
    for _ in 0..100 {
        if api.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(api.is_closed(), "the replaced connection is closed");
    assert!(
        !event.is_closed(),
        "the event connection is not replaced by an API one"
    );
    client.call("echo_test", json!({})).await.unwrap();
    drop(api2);
    client.shutdown().await;
}

#[tokio::test]
async fn listener_closes_with_its_last_client_and_can_be_bound_again() {
    init_tracing();
    let listen = free_addr();
    let task = connecting(config(listen, Some(60001), None));
    let _peer = dial_reverse_retry(&url(listen, ""), Account::new(60001), None, None)
        .await
        .unwrap();
    let (client, _events) = connected(task).await;
    client.shutdown().await;
    // Closed: nothing accepts any more.
    let mut closed = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(listen).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(closed, "the listener is closed");
    // A new client binds the address again.
    let task = connecting(config(listen, Some(60001), None));
    let _peer = dial_reverse_retry(&url(listen, ""), Account::new(60001), None, None)
        .await
        .unwrap();
    let (client, _events) = connected(task).await;
    assert_eq!(client.self_id(), 60001);
    client.shutdown().await;
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_three_heartbeat_intervals() {
    init_tracing();
    let listen = free_addr();
    let task = connecting(config(listen, Some(70001), None));
    let peer = dial_reverse_retry(&url(listen, ""), Account::new(70001), None, None)
        .await
        .unwrap();
    let (client, mut events) = connected(task).await;
    assert_eq!(next_event(&mut events).await, Event::Connected);
    peer.push(&heartbeat(70001, 100));
    assert!(matches!(next_event(&mut events).await, Event::Meta(_)));
    let Event::Disconnected { reason } = next_event(&mut events).await else {
        panic!()
    };
    assert!(reason.contains("heartbeat"), "{reason}");
    for _ in 0..100 {
        if peer.is_closed() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(peer.is_closed(), "we closed the dead connection");
    client.shutdown().await;
}
