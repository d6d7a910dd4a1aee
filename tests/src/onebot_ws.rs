//! OneBot test support: a simulator with the OneBot face, and a bot-side
//! WebSocket client that calls actions and collects events, as NoneBot2
//! would.

use std::collections::VecDeque;
use std::time::Duration;

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wasmqq_sim::{OneBotFace, SimConfig};

pub use crate::wait::{WAIT, eventually};

/// Test timings with the OneBot face `face` (heartbeats off unless set).
pub fn onebot_config(face: OneBotFace) -> SimConfig {
    SimConfig {
        onebot: Some(face),
        ..crate::protocol::config()
    }
}

/// The OneBot face without heartbeats.
pub fn face() -> OneBotFace {
    OneBotFace {
        heartbeat: None,
        ..OneBotFace::default()
    }
}

/// A bot's WebSocket connection.
pub struct Ws {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Events (and other non-answers) received while waiting for answers.
    pub pending: VecDeque<Value>,
    echo: u64,
}

impl Ws {
    /// Connects to `url`, with `Authorization: Bearer <token>` when given.
    pub async fn connect(url: &str, token: Option<&str>) -> Ws {
        Self::try_connect(url, token)
            .await
            .expect("WebSocket connects")
    }

    /// Connects, or the handshake error.
    pub async fn try_connect(
        url: &str,
        token: Option<&str>,
    ) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
        let mut req = url.into_client_request().unwrap();
        if let Some(t) = token {
            req.headers_mut()
                .insert("Authorization", format!("Bearer {t}").parse().unwrap());
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Ws::from_stream(ws))
    }

    pub fn from_stream(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Ws {
        Ws {
            ws,
            pending: VecDeque::new(),
            echo: 0,
        }
    }

    /// The next text frame, raw; `None` on close or after `timeout`.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => return Some(t.as_str().to_string()),
                Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
                _ => return None,
            }
        }
    }

    /// The next JSON frame (pending ones first); panics on timeout.
    pub async fn next_json(&mut self) -> Value {
        if let Some(v) = self.pending.pop_front() {
            return v;
        }
        let t = self.next_text(WAIT).await.expect("a frame");
        serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON: {e}: {t}"))
    }

    /// The next event that is not a heartbeat.
    pub async fn next_event(&mut self) -> Value {
        loop {
            let v = self.next_json().await;
            if v["meta_event_type"] != "heartbeat" {
                return v;
            }
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        self.ws
            .send(Message::Text(text.to_string().into()))
            .await
            .expect("frame sent");
    }

    /// Calls `action` and waits for the answer with our echo; frames in
    /// between are kept for [`Ws::next_json`].
    pub async fn call(&mut self, action: &str, params: Value) -> Value {
        self.echo += 1;
        let echo = format!("e{}", self.echo);
        self.send_text(&json!({"action": action, "params": params, "echo": echo}).to_string())
            .await;
        self.answer(&json!(echo)).await
    }

    /// Waits for the answer carrying `echo`.
    pub async fn answer(&mut self, echo: &Value) -> Value {
        loop {
            let t = self.next_text(WAIT).await.expect("an answer");
            let v: Value =
                serde_json::from_str(&t).unwrap_or_else(|e| panic!("not JSON: {e}: {t}"));
            if v.get("post_type").is_none() && v.get("echo") == Some(echo) {
                return v;
            }
            self.pending.push_back(v);
        }
    }

    /// Nothing arrives within `wait` (heartbeats excepted).
    pub async fn silent_for(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next_text(left).await {
                None => return true,
                Some(t) if t.contains("\"heartbeat\"") => continue,
                Some(t) => {
                    eprintln!("unexpected frame: {t}");
                    return false;
                }
            }
        }
    }

    /// True when the connection ends within `wait`.
    pub async fn closed_within(&mut self, wait: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return false,
                Ok(None | Some(Err(_)) | Some(Ok(Message::Close(_)))) => return true,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }
}
