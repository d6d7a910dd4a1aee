//! send_buddy_msg2 / send_qun_msg2 / send_discu_msg2 (§4.2, §5.3) and
//! `GET /_sim/sent`.

use std::time::Duration;

use serde_json::{Value, json};
use wasmqq_sim::ChatKind;
use wasmqq_tests::protocol::*;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D};
use wasmqq_wire::content::{Font, Segment, encode_outgoing};

fn font() -> Value {
    json!(["font", {"name": "宋体", "size": 10, "style": [0, 0, 0], "color": "000000"}])
}

async fn send(c: &Client, path: &str, r: Value) -> Value {
    c.post_r("d1.web2.qq.com", path, &r, REFERER_D).await
}

#[tokio::test]
async fn the_three_sends_are_recorded_in_public_terms() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let alice = friend_uin(&c, &s, "Alice").await;
    let gs = groups(&c, &s).await;
    let gid = gs.iter().find(|g| g.2 == "wasmqq dev").unwrap().0;
    let path = format!(
        "/api/get_discus_list?clientid={CLIENT_ID}&psessionid={}&vfwebqq={}&t=1",
        s.psessionid, s.vfwebqq
    );
    let did = c.get_json("s.web2.qq.com", &path, REFERER_D).await["result"]["dnamelist"][0]["did"]
        .as_u64()
        .unwrap();

    // QB-style: ASCII-escaped, face segment, font last.
    let content = encode_outgoing(
        &[Segment::Text("hello ".into()), Segment::Face(14)],
        &Font::default(),
    );
    let v = send(&c, "/channel/send_buddy_msg2", json!({"to": alice, "content": content, "face": 522, "clientid": CLIENT_ID, "msg_id": 6000001, "psessionid": s.psessionid})).await;
    assert_eq!(v, json!({"errCode": 0, "msg": "send ok"}));
    // YZ-style: string numbers, size as a string, Arial.
    let content = json!(["群里好", ["font", {"name": "Arial", "size": "10", "style": [0, 0, 0], "color": "000000"}]]).to_string();
    let v = send(&c, "/channel/send_qun_msg2", json!({"group_uin": gid.to_string(), "content": content, "face": 564, "clientid": "53999199", "msg_id": "12345", "psessionid": s.psessionid})).await;
    assert_eq!(v["errCode"], 0);
    // No font at all (tolerated), multi-line text.
    let content = json!(["line1\nline2"]).to_string();
    let v = send(&c, "/channel/send_discu_msg2", json!({"did": did, "content": content, "face": 573, "clientid": CLIENT_ID, "msg_id": 43690001, "psessionid": s.psessionid})).await;
    assert_eq!(v["errCode"], 0);

    let sent = sim.wait_sent(3, Duration::from_secs(2)).await;
    assert_eq!(sent.len(), 3);
    assert_eq!(
        (sent[0].chat, sent[0].to, sent[0].text.as_str()),
        (ChatKind::Friend, ALICE, "hello [face:14]")
    );
    assert_eq!(sent[0].msg_id, Some(6000001));
    assert_eq!(
        (sent[1].chat, sent[1].to, sent[1].text.as_str()),
        (ChatKind::Group, DEV_GROUP, "群里好")
    );
    assert_eq!(
        (sent[2].chat, sent[2].to, sent[2].text.as_str()),
        (ChatKind::Discussion, WEEKEND, "line1\nline2")
    );
    // Same through the control API.
    let v = c.control_get("/_sim/sent").await;
    assert_eq!(v.as_array().unwrap().len(), 3);
    assert_eq!(v[0]["chat"], "friend");
    assert_eq!(v[0]["to"], ALICE);
    assert_eq!(v[0]["text"], "hello [face:14]");
    assert!(v[0]["time"].as_u64().unwrap() > 1_500_000_000);
    assert_eq!(v[1]["chat"], "group");
    assert_eq!(v[1]["to"], DEV_GROUP);
    assert_eq!(v[2]["chat"], "discussion");
    assert_eq!(v[2]["to"], WEEKEND);
    // DELETE clears.
    let resp = c
        .http
        .delete(c.url("127.0.0.1", "/_sim/sent"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<Value>().await.unwrap(), json!({"cleared": 3}));
    assert!(sim.sent().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn send_errors() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let alice = friend_uin(&c, &s, "Alice").await;
    let content = json!(["x", font()]).to_string();
    let gs = groups(&c, &s).await;
    let (gid, code, _) = gs[0].clone();
    // A group code, a QQ number, a stale id: not this session's target.
    for (path, r) in [
        (
            "/channel/send_qun_msg2",
            json!({"group_uin": code, "content": content, "clientid": CLIENT_ID, "psessionid": s.psessionid, "msg_id": 1}),
        ),
        (
            "/channel/send_buddy_msg2",
            json!({"to": ALICE, "content": content, "clientid": CLIENT_ID, "psessionid": s.psessionid, "msg_id": 1}),
        ),
        (
            "/channel/send_discu_msg2",
            json!({"did": gid, "content": content, "clientid": CLIENT_ID, "psessionid": s.psessionid, "msg_id": 1}),
        ),
    ] {
        assert_eq!(
            send(&c, path, r).await,
            json!({"retcode": 6, "errmsg": "error!!!"}),
            "{path}"
        );
    }
    // Wrong psessionid.
    let v = send(&c, "/channel/send_buddy_msg2", json!({"to": alice, "content": content, "clientid": CLIENT_ID, "psessionid": "x", "msg_id": 1})).await;
    assert_eq!(v, json!({"retcode": 100001, "errmsg": "error!!!"}));
    // Content that is not a JSON array.
    let v = send(&c, "/channel/send_buddy_msg2", json!({"to": alice, "content": "[oops", "clientid": CLIENT_ID, "psessionid": s.psessionid, "msg_id": 1})).await;
    assert_eq!(v["retcode"], 100006);
    // Referer.
    let (_, body) = c
        .post_r_raw(
            "d1.web2.qq.com",
            "/channel/send_buddy_msg2",
            &json!({"to": alice, "content": content, "psessionid": s.psessionid}),
            "",
        )
        .await;
    assert_eq!(body, r#"{"retcode":100000}"#);
    assert!(sim.sent().is_empty(), "nothing was delivered");
    sim.shutdown().await;
}

#[tokio::test]
async fn the_turnaround_runs_from_the_delivered_event_to_the_next_send() {
    let sim = start(config()).await;
    let c = Client::new(&sim);
    let s = login(&c).await;
    let alice = friend_uin(&c, &s, "Alice").await;
    assert_eq!(sim.last_turnaround(), None, "nothing delivered yet");
    inject(&c, json!({"chat": "friend", "from": ALICE, "text": "ping"})).await;
    let waited = std::time::Instant::now();
    let v = poll(&c, &s).await;
    assert_eq!(v["result"][0]["poll_type"], "message", "{v}");
    assert_eq!(sim.last_turnaround(), None, "nothing sent after it yet");
    tokio::time::sleep(Duration::from_millis(30)).await;
    let content = encode_outgoing(&[Segment::Text("pong".into())], &Font::default());
    let v = send(&c, "/channel/send_buddy_msg2", json!({"to": alice, "content": content, "face": 0, "clientid": CLIENT_ID, "msg_id": 1, "psessionid": s.psessionid})).await;
    assert_eq!(v["errCode"], 0);
    let took = sim.last_turnaround().expect("a send after the event");
    assert!(
        took >= Duration::from_millis(30) && took <= waited.elapsed(),
        "{took:?}"
    );
}
