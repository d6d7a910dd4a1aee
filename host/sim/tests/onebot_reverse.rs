//! The OneBot reverse WebSocket client: the test is the bot's server.
// tungstenite's handshake callback returns its own large error type.
#![allow(clippy::result_large_err)]

use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderMap;
use wasmqq_sim::{ChatKind, InjectMessage, OneBotFace, ReverseTarget, ReverseWs};
use wasmqq_tests::onebot_ws::*;
use wasmqq_tests::protocol::*;

/// Accepts one WebSocket connection; returns it with its request headers
/// and path.
async fn accept(listener: &TcpListener) -> (Ws, HeaderMap, String) {
    let (stream, _) = tokio::time::timeout(WAIT, listener.accept())
        .await
        .expect("the simulator connects")
        .unwrap();
    let mut seen = None;
    let ws = tokio_tungstenite::accept_hdr_async(
        MaybeTlsStream::Plain(stream),
        |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
            seen = Some((req.headers().clone(), req.uri().path().to_string()));
            Ok(resp)
        },
    )
    .await
    .expect("handshake");
    let (headers, path) = seen.unwrap();
    (Ws::from_stream(ws), headers, path)
}

fn reverse(target: ReverseTarget, token: Option<&str>) -> OneBotFace {
    OneBotFace {
        reverse_ws: Some(ReverseWs {
            target,
            reconnect_interval: Duration::from_millis(100),
        }),
        access_token: token.map(str::to_string),
        ..face()
    }
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn universal_client_sends_identity_and_token_and_reconnects() {
    // The bot's server is not up yet: the client keeps trying.
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = format!("ws://{addr}/onebot/v11/ws");
    let sim = start(onebot_config(reverse(
        ReverseTarget::Universal(url),
        Some("tok"),
    )))
    .await;
    sim.inject(&InjectMessage {
        chat: ChatKind::Friend,
        from: ALICE,
        to: None,
        text: "waiting for you".into(),
    })
    .unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let listener = TcpListener::bind(addr).await.unwrap();
    let (mut ws, headers, path) = accept(&listener).await;
    assert_eq!(path, "/onebot/v11/ws");
    assert_eq!(header(&headers, "x-self-id"), BOT.to_string());
    assert_eq!(header(&headers, "x-client-role"), "Universal");
    assert_eq!(header(&headers, "authorization"), "Bearer tok");
    let first = ws.next_json().await;
    assert_eq!(
        (
            first["meta_event_type"].as_str(),
            first["sub_type"].as_str()
        ),
        (Some("lifecycle"), Some("connect"))
    );
    assert_eq!(ws.next_event().await["message"], "waiting for you");
    // Calls work on the same connection.
    let v = ws.call("get_login_info", json!({})).await;
    assert_eq!(v["data"]["user_id"], BOT);
    let v = ws
        .call(
            "send_group_msg",
            json!({"group_id": DEV_GROUP, "message": "via reverse"}),
        )
        .await;
    assert_eq!(v["status"], "ok");
    assert_eq!(sim.wait_sent(1, WAIT).await[0].text, "via reverse");
    assert_eq!(sim.onebot_connections(), 1);

    // The bot's server drops the connection: the client comes back.
    drop(ws);
    let (mut ws, headers, _) = accept(&listener).await;
    assert_eq!(header(&headers, "x-client-role"), "Universal");
    assert_eq!(ws.next_json().await["sub_type"], "connect");

    // So it does after the drop fault.
    sim.onebot_drop().unwrap();
    assert!(ws.closed_within(WAIT).await);
    let (mut ws, _, _) = accept(&listener).await;
    assert_eq!(ws.next_json().await["sub_type"], "connect");
    sim.inject(&InjectMessage {
        chat: ChatKind::Group,
        from: BOB,
        to: Some(FAMILY_GROUP),
        text: "after the drop".into(),
    })
    .unwrap();
    assert_eq!(ws.next_event().await["message"], "after the drop");
    sim.shutdown().await;
}

#[tokio::test]
async fn split_client_opens_an_api_and_an_event_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let sim = start(onebot_config(reverse(
        ReverseTarget::Split {
            api: format!("ws://{addr}/api"),
            event: format!("ws://{addr}/event"),
        },
        None,
    )))
    .await;
    let mut api = None;
    let mut event = None;
    for _ in 0..2 {
        let (ws, headers, path) = accept(&listener).await;
        assert!(headers.get("authorization").is_none());
        match header(&headers, "x-client-role") {
            "API" => {
                assert_eq!(path, "/api");
                api = Some(ws);
            }
            "Event" => {
                assert_eq!(path, "/event");
                event = Some(ws);
            }
            other => panic!("role {other:?}"),
        }
    }
    let (mut api, mut event) = (api.unwrap(), event.unwrap());
    assert_eq!(event.next_json().await["sub_type"], "connect");
    sim.inject(&InjectMessage {
        chat: ChatKind::Friend,
        from: BOB,
        to: None,
        text: "split".into(),
    })
    .unwrap();
    assert_eq!(event.next_event().await["user_id"], BOB);
    assert!(api.silent_for(Duration::from_millis(300)).await);
    assert_eq!(
        api.call("get_status", json!({})).await["data"]["good"],
        true
    );
    sim.shutdown().await;
}
