//! The simulator's HTTP control API (`/_sim/...`), driven the way a test
//! harness outside the process would: one client for every test package
//! (the webqq client's tests, the end-to-end tests, the soak).

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::wait::WAIT;

/// A client of one simulator's control API.
#[derive(Clone)]
pub struct SimControl {
    http: reqwest::Client,
    base: String,
}

impl SimControl {
    /// The control API of the simulator listening on `addr`.
    pub fn new(addr: SocketAddr) -> SimControl {
        SimControl {
            http: reqwest::Client::new(),
            base: format!("http://{addr}"),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `POST path` with a JSON body: the answer, or an error naming the
    /// path, the body and what went wrong.
    pub async fn try_post(&self, path: &str, body: &Value) -> Result<Value, String> {
        let resp = self
            .http
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .map_err(|e| format!("{path} {body}: {e}"))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| format!("{path} {body}: {status}: {e}"))?;
        if !status.is_success() {
            return Err(format!("{path} {body}: {status} {text}"));
        }
        Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// `POST path` with a JSON body; panics on an error or a non-2xx answer.
    pub async fn post(&self, path: &str, body: Value) -> Value {
        self.try_post(path, &body)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// `GET path`; panics on a non-2xx answer.
    pub async fn get(&self, path: &str) -> Value {
        let resp = self.http.get(self.url(path)).send().await.unwrap();
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap()
    }

    /// `POST /_sim/messages`: `from` says `text` in `chat` (`friend`,
    /// `group`, `discussion`; `to` names the group or discussion). Returns
    /// the message's id.
    pub async fn say(&self, chat: &str, from: u64, to: Option<u64>, text: &str) -> u64 {
        let mut body = json!({"chat": chat, "from": from, "text": text});
        if let Some(to) = to {
            body["to"] = json!(to);
        }
        let v = self.post("/_sim/messages", body).await;
        v["msg_id"].as_u64().expect("msg_id")
    }

    /// `POST /_sim/faults`: arms a fault.
    pub async fn fault(&self, spec: Value) {
        self.post("/_sim/faults", spec).await;
    }

    /// `DELETE /_sim/faults`: clears every armed fault.
    pub async fn clear_faults(&self) {
        let r = self
            .http
            .delete(self.url("/_sim/faults"))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }

    /// Waits until every armed endpoint fault was consumed by a request
    /// (`GET /_sim/faults` lists the rules still armed).
    pub async fn wait_faults_consumed(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let armed = self.get("/_sim/faults").await;
            let left = armed
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|f| f["remaining"].as_u64() != Some(0))
                        .count()
                })
                .unwrap_or(0);
            if left == 0 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "faults not consumed: {armed}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `GET /_sim/sent`: everything the bot sent, as the simulator lists it.
    pub async fn sent_values(&self) -> Vec<Value> {
        self.get("/_sim/sent")
            .await
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// `GET /_sim/sent`: everything the bot sent, in order, as (chat
    /// kind, to, text).
    pub async fn sent(&self) -> Vec<(String, u64, String)> {
        self.sent_values()
            .await
            .iter()
            .map(|m| {
                (
                    m["chat"].as_str().unwrap_or_default().to_string(),
                    m["to"].as_u64().unwrap_or_default(),
                    m["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    }

    /// Waits (up to [`WAIT`]) until at least `n` messages were sent and
    /// returns them; fails naming what was sent instead.
    pub async fn wait_sent_values(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let sent = self.sent_values().await;
            if sent.len() >= n {
                return sent;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the bot sent {} messages, waited for {n}: {sent:?}",
                sent.len()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
