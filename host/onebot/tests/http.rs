//! HTTP API (`http.md`) + HTTP POST webhook (`http-post.md`) against the
//! fake implementation: login, sends, statuses mapped to errors, events
//! posted to the webhook with and without a valid `X-Signature`, token
//! checks, malformed bodies.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::json;
use wasmqq_onebot::{Client, Config, Error, Event, Mode, Segment};
use wasmqq_tests::onebot_peer::*;

const SECRET: &str = "some-secret";

fn config(
    server: &HttpServer,
    listen: SocketAddr,
    token: Option<&str>,
    secret: Option<&str>,
) -> Config {
    Config {
        mode: Mode::Http {
            api: server.url(),
            listen,
            path: "/onebot/v11/http".into(),
        },
        access_token: token.map(str::to_string),
        secret: secret.map(str::to_string),
        send_interval: Duration::from_millis(10),
        action_timeout: Duration::from_secs(3),
        reconnect_base: Duration::from_millis(20),
        ..Config::default()
    }
}

#[tokio::test]
async fn api_calls_and_signed_webhook() {
    init_tracing();
    let server = HttpServer::start(50001, Some(TOKEN)).await;
    let listen = free_addr();
    let hook = format!("http://{listen}/onebot/v11/http");
    let (client, mut events) = Client::connect(config(&server, listen, Some(TOKEN), Some(SECRET)))
        .await
        .unwrap();
    assert_eq!(
        (client.self_id(), client.nickname().as_str()),
        (50001, "bot50001")
    );
    assert_eq!(client.contacts().friends.len(), 2);

    // Sends are POST /send_*_msg with array-form messages.
    let id = client
        .send_group_msg(123456, &[Segment::text("hi")])
        .await
        .unwrap();
    assert!(id >= 1000);
    assert_eq!(
        server.account.requests_of("send_group_msg")[0]["message"],
        json!([{"type": "text", "data": {"text": "hi"}}])
    );
    let (a, b) = tokio::join!(
        client.call("echo_test", json!({"n": 1, "delay_ms": 100})),
        client.call("echo_test", json!({"n": 2}))
    );
    assert_eq!(
        (a.unwrap()["n"].clone(), b.unwrap()["n"].clone()),
        (json!(1), json!(2))
    );
    // HTTP 404 is retcode 1404, as over WebSocket.
    let err = client.call("no_such_action", json!({})).await.unwrap_err();
    assert_eq!(err.retcode(), Some(1404));
    assert!(!err.is_transient());
    assert_eq!(
        client
            .call("fail_test", json!({}))
            .await
            .unwrap_err()
            .retcode(),
        Some(100)
    );

    // Events: signed → 204 and delivered.
    let body = private_event(50001, "webhook").to_string();
    assert_eq!(
        post_event(&hook, 50001, &body, Some(SECRET), None).await,
        204
    );
    let Event::Message(m) = next_event(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "webhook");
    // Bad signature → 403, none → 401; neither is delivered.
    let forged = group_event(50001, "forged").to_string();
    assert_eq!(
        post_event(&hook, 50001, &forged, Some("not-the-secret"), None).await,
        403
    );
    assert_eq!(post_event(&hook, 50001, &forged, None, None).await, 401);
    // A signed body with a wrong token is refused too.
    assert_eq!(
        post_event(&hook, 50001, &forged, Some(SECRET), Some("wrong")).await,
        403
    );
    // Not JSON → 400; an unknown post type is skipped (204).
    assert_eq!(
        post_event(&hook, 50001, "not json", Some(SECRET), None).await,
        400
    );
    let weird = r#"{"post_type": "weird", "self_id": 50001, "time": 1}"#;
    assert_eq!(
        post_event(&hook, 50001, weird, Some(SECRET), None).await,
        204
    );
    // Another account's event is skipped.
    let other = private_event(9, "not ours").to_string();
    assert_eq!(post_event(&hook, 9, &other, Some(SECRET), None).await, 204);
    let good = group_event(50001, "next good one").to_string();
    assert_eq!(
        post_event(&hook, 50001, &good, Some(SECRET), None).await,
        204
    );
    let Event::Message(m) = next_event(&mut events).await else {
        panic!()
    };
    assert_eq!(m.text(), "next good one");
    assert!(events.try_recv().is_none());

    client.shutdown().await;
    assert_eq!(events.recv().await, None);
    // The webhook is closed.
    assert!(
        reqwest::Client::new()
            .post(&hook)
            .body("{}")
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn webhook_token_without_secret() {
    init_tracing();
    let server = HttpServer::start(50002, Some(TOKEN)).await;
    let listen = free_addr();
    let hook = format!("http://{listen}/onebot/v11/http");
    let (client, mut events) = Client::connect(config(&server, listen, Some(TOKEN), None))
        .await
        .unwrap();
    let body = private_event(50002, "tok").to_string();
    assert_eq!(post_event(&hook, 50002, &body, None, None).await, 401);
    assert_eq!(
        post_event(&hook, 50002, &body, None, Some("wrong")).await,
        403
    );
    assert_eq!(
        post_event(
            &format!("{hook}?access_token=wrong"),
            50002,
            &body,
            None,
            None
        )
        .await,
        403
    );
    assert_eq!(
        post_event(
            &format!("{hook}?access_token={TOKEN}"),
            50002,
            &body,
            None,
            None
        )
        .await,
        204
    );
    assert_eq!(
        post_event(&hook, 50002, &body, None, Some(TOKEN)).await,
        204
    );
    for _ in 0..2 {
        let Event::Message(m) = next_event(&mut events).await else {
            panic!()
        };
        assert_eq!(m.text(), "tok");
    }
    client.shutdown().await;
}

#[tokio::test]
async fn api_token_refused() {
    init_tracing();
    let server = HttpServer::start(50003, Some(TOKEN)).await;
    let err = Client::connect(config(&server, free_addr(), Some("wrong"), None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 403, .. }),
        "{err}"
    );
    let err = Client::connect(config(&server, free_addr(), None, None))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { status: 401, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn unreachable_api_is_transient() {
    init_tracing();
    let server = HttpServer::start(50004, None).await;
    let (client, _events) = Client::connect(config(&server, free_addr(), None, None))
        .await
        .unwrap();
    drop(server);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let err = client
        .send_private_msg(42, &[Segment::text("x")])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Http { .. }) && err.is_transient(),
        "{err}"
    );
    assert!(err.to_string().starts_with("send_private_msg: "), "{err}");
    client.shutdown().await;
}
