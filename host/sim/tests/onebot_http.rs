//! The OneBot HTTP API and the HTTP POST event client.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha1::Sha1;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use wasmqq_sim::{ChatKind, HttpPost, InjectMessage, OneBotFace};
use wasmqq_tests::onebot_ws::*;
use wasmqq_tests::protocol::*;

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

#[tokio::test]
async fn http_api_takes_query_form_and_json() {
    let sim = start(onebot_config(face())).await;
    let root = sim.onebot_http_url();
    let c = http();
    let v: Value = c
        .get(format!("{root}/get_login_info"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        v,
        json!({"status": "ok", "retcode": 0, "data": {"user_id": BOT, "nickname": "wasmqq"}})
    );
    // JSON body.
    let resp = c
        .post(format!("{root}/send_group_msg"))
        .json(&json!({"group_id": DEV_GROUP, "message": [{"type": "text", "data": {"text": "json"}}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert!(v["data"]["message_id"].is_u64(), "{v}");
    // Form body, trailing slash.
    let v: Value = c
        .post(format!("{root}/send_private_msg/"))
        .form(&[
            ("user_id", ALICE.to_string()),
            ("message", "form [CQ:face,id=2]".into()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    // Query parameters, auto_escape as a string.
    let v: Value = c
        .get(format!(
            "{root}/send_msg?message_type=private&user_id={BOB}&message=%5BCQ%3Aface%2Cid%3D3%5D&auto_escape=true"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "ok", "{v}");
    let sent: Vec<_> = sim
        .wait_sent(3, WAIT)
        .await
        .into_iter()
        .map(|s| (s.chat, s.to, s.text))
        .collect();
    assert_eq!(
        sent,
        vec![
            (ChatKind::Group, DEV_GROUP, "json".to_string()),
            (ChatKind::Friend, ALICE, "form [face:2]".to_string()),
            (ChatKind::Friend, BOB, "[CQ:face,id=3]".to_string()),
        ]
    );

    // Errors: unknown action 404, bad JSON 400, unsupported type 406,
    // missing parameter 200 + 1400, not a friend 200 + failed.
    let resp = c.get(format!("{root}/get_cookies")).send().await.unwrap();
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.json::<Value>().await.unwrap()["retcode"], 1404);
    let resp = c
        .post(format!("{root}/send_msg"))
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let resp = c
        .post(format!("{root}/send_msg"))
        .header("Content-Type", "text/plain")
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 406);
    let resp = c
        .post(format!("{root}/send_private_msg"))
        .json(&json!({"message": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    assert_eq!(
        (v["status"].as_str(), v["retcode"].as_i64()),
        (Some("failed"), Some(1400))
    );
    let v: Value = c
        .post(format!("{root}/send_private_msg"))
        .json(&json!({"user_id": DAVE, "message": "x"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["status"], "failed");
    assert!(v["retcode"].as_i64().unwrap() > 1, "{v}");
    assert_eq!(sim.sent().len(), 3);
    sim.shutdown().await;
}

#[tokio::test]
async fn http_api_token_missing_401_wrong_403() {
    let sim = start(onebot_config(OneBotFace {
        access_token: Some("tok".into()),
        ..face()
    }))
    .await;
    let url = format!("{}/get_status", sim.onebot_http_url());
    let c = http();
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(c.get(&url).send().await.unwrap()), 401);
    assert_eq!(
        status(c.get(&url).bearer_auth("bad").send().await.unwrap()),
        403
    );
    assert_eq!(
        status(
            c.get(format!("{url}?access_token=bad"))
                .send()
                .await
                .unwrap()
        ),
        403
    );
    assert_eq!(
        status(c.get(&url).bearer_auth("tok").send().await.unwrap()),
        200
    );
    let v: Value = c
        .get(format!("{url}?access_token=tok"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["data"]["online"], true);
    // The control API needs no token.
    let c2 = Client::new(&sim);
    assert_eq!(c2.control_get("/_sim/state").await["onebot_connections"], 0);
    sim.shutdown().await;
}

/// A bot's HTTP POST endpoint: records (headers, body), answers with what
/// `answer` holds (None: 204).
struct PostServer {
    url: String,
    rx: mpsc::UnboundedReceiver<(HeaderMap, Bytes)>,
    answer: Arc<Mutex<Option<Value>>>,
}

async fn post_server(listener: TcpListener) -> PostServer {
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let answer = Arc::new(Mutex::new(None::<Value>));
    let a = answer.clone();
    let app = axum::Router::new().fallback(move |headers: HeaderMap, body: Bytes| {
        let (tx, a) = (tx.clone(), a.clone());
        async move {
            let is_message = serde_json::from_slice::<Value>(&body)
                .map(|v| v["post_type"] == "message")
                .unwrap_or(false);
            let _ = tx.send((headers, body));
            match a.lock().unwrap().clone().filter(|_| is_message) {
                Some(v) => axum::Json(v).into_response(),
                None => StatusCode::NO_CONTENT.into_response(),
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    PostServer {
        url: format!("http://{addr}/onebot/v11/http"),
        rx,
        answer,
    }
}

impl PostServer {
    async fn next(&mut self) -> (HeaderMap, Bytes, Value) {
        let (h, b) = tokio::time::timeout(WAIT, self.rx.recv())
            .await
            .expect("a post")
            .unwrap();
        let v = serde_json::from_slice(&b).unwrap_or(Value::Null);
        (h, b, v)
    }

    /// The next post that is not a heartbeat.
    async fn next_event(&mut self) -> (HeaderMap, Bytes, Value) {
        loop {
            let p = self.next().await;
            if p.2["meta_event_type"] != "heartbeat" {
                return p;
            }
        }
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

fn post_face(url: &str, secret: Option<&str>) -> OneBotFace {
    OneBotFace {
        http_post: Some(HttpPost {
            retry_interval: Duration::from_millis(100),
            ..HttpPost::new(url)
        }),
        secret: secret.map(str::to_string),
        ..face()
    }
}

#[tokio::test]
async fn http_post_signs_events_and_applies_quick_replies() {
    let mut bot = post_server(TcpListener::bind("127.0.0.1:0").await.unwrap()).await;
    let sim = start(onebot_config(post_face(&bot.url, Some("sekrit")))).await;
    let (h, body, v) = bot.next().await;
    assert_eq!(
        (v["meta_event_type"].as_str(), v["sub_type"].as_str()),
        (Some("lifecycle"), Some("enable"))
    );
    assert_eq!(h["x-self-id"], BOT.to_string().as_str());
    assert_eq!(h["content-type"], "application/json");
    let sig = h["x-signature"].to_str().unwrap();
    assert_eq!(sig, format!("sha1={}", hmac_hex("sekrit", &body)));

    sim.inject(&InjectMessage {
        chat: ChatKind::Friend,
        from: ALICE,
        to: None,
        text: "no reply please".into(),
    })
    .unwrap();
    let (h, body, v) = bot.next_event().await;
    assert_eq!(v["message"], "no reply please");
    assert_eq!(v["self_id"], BOT);
    assert_eq!(
        h["x-signature"].to_str().unwrap(),
        format!("sha1={}", hmac_hex("sekrit", &body))
    );
    assert_ne!(
        h["x-signature"].to_str().unwrap(),
        format!("sha1={}", hmac_hex("other", &body))
    );

    // Quick operation: a reply (in a group it mentions the sender).
    *bot.answer.lock().unwrap() = Some(json!({"reply": "pong"}));
    sim.inject(&InjectMessage {
        chat: ChatKind::Group,
        from: ALICE,
        to: Some(DEV_GROUP),
        text: "ping".into(),
    })
    .unwrap();
    bot.next_event().await;
    let sent = sim.wait_sent(1, WAIT).await;
    assert_eq!(
        (sent[0].chat, sent[0].to, sent[0].text.as_str()),
        (ChatKind::Group, DEV_GROUP, "[at:10001] pong")
    );
    *bot.answer.lock().unwrap() =
        Some(json!({"reply": [{"type": "face", "data": {"id": "1"}}], "at_sender": false}));
    sim.inject(&InjectMessage {
        chat: ChatKind::Friend,
        from: BOB,
        to: None,
        text: "ping".into(),
    })
    .unwrap();
    bot.next_event().await;
    let sent = sim.wait_sent(2, WAIT).await;
    assert_eq!(
        (sent[1].chat, sent[1].to, sent[1].text.as_str()),
        (ChatKind::Friend, BOB, "[face:1]")
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn http_post_keeps_events_until_the_bot_is_up() {
    let probe = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let url = format!("http://{addr}/onebot/v11/http");
    let sim = start(onebot_config(post_face(&url, None))).await;
    for text in ["first", "second"] {
        sim.inject(&InjectMessage {
            chat: ChatKind::Friend,
            from: ALICE,
            to: None,
            text: text.into(),
        })
        .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut bot = post_server(TcpListener::bind(addr).await.unwrap()).await;
    let (h, _, v) = bot.next_event().await;
    assert!(h.get("x-signature").is_none());
    assert_eq!(v["message"], "first");
    assert_eq!(bot.next_event().await.2["message"], "second");
    sim.shutdown().await;
}
