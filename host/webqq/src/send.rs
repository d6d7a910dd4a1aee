//! Sending messages to friends, groups and discussions (§4.2, §5.3, §6.3).
//!
//! A message is split into parts of at most 720 UTF-8 bytes
//! ([`content::split`]); each part gets the next `msg_id` of a per-client
//! sequence and is paced: parts to one chat leave at least
//! `send_interval` apart, and sends to one chat are serialised so parts
//! never interleave. Transient failures (connection errors, timeouts, HTTP
//! 5xx) are retried with the same `msg_id` after a backoff. `1202` means
//! "probably delivered" and is **never** resent (resending is how peers
//! spammed groups); `100100` means delivered. Every part's fate is reported
//! in a [`SendReport`].
//!
//! Before splitting, a message is cleaned ([`content::clean_outgoing`]): C0
//! control characters other than `\n` and `\t` are stripped and faces
//! outside `0..=255` dropped, with one warning saying what was left out; a
//! message left empty is refused as [`Error::EmptyMessage`].

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasmqq_wire::backoff::Backoff;
use wasmqq_wire::consts::{CLIENT_ID, REFERER_D};

use crate::content::{self, Segment};
use crate::error::{Error, Result};
use crate::events::{ChatKind, ChatRef};
use crate::session::Auth;
use crate::transport::{Transport, errmsg_of, int_field, truncate};

const ORIGIN_D: &str = "https://d1.web2.qq.com";

/// What happened to one part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted (`errCode 0` / `"send ok"`).
    Delivered,
    /// `retcode 100100`: an error code, but the message was delivered (§6.1).
    DeliveredWithWarning {
        /// The retcode (100100).
        retcode: i64,
    },
    /// `retcode 1202`: the server was busy or suspicious; the message was
    /// *probably* delivered and is deliberately not resent.
    ProbablyDelivered,
    /// The part was not delivered (after retries, for transient errors).
    Failed {
        /// The retcode when the server answered one.
        retcode: Option<i64>,
        /// The error, naming the endpoint.
        reason: String,
    },
    /// Not attempted because an earlier part failed.
    NotSent,
}

impl SendOutcome {
    /// Delivered, delivered with a warning, or probably delivered.
    pub fn is_delivered(&self) -> bool {
        matches!(
            self,
            SendOutcome::Delivered
                | SendOutcome::DeliveredWithWarning { .. }
                | SendOutcome::ProbablyDelivered
        )
    }
}

/// The report of one part of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartReport {
    /// The `msg_id` used (the same for every attempt of this part).
    pub msg_id: u64,
    /// The part's content.
    pub segments: Vec<Segment>,
    /// How many requests were made (0 for [`SendOutcome::NotSent`]).
    pub attempts: u32,
    /// What happened.
    pub outcome: SendOutcome,
}

/// The result of [`Client::send`](crate::Client::send): one report per part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendReport {
    /// The target chat.
    pub chat: ChatRef,
    /// The parts, in order.
    pub parts: Vec<PartReport>,
}

impl SendReport {
    /// Whether every part was delivered (or probably delivered).
    pub fn is_delivered(&self) -> bool {
        self.parts.iter().all(|p| p.outcome.is_delivered())
    }

    /// The first failure, if any part failed.
    pub fn failure(&self) -> Option<&SendOutcome> {
        self.parts
            .iter()
            .map(|p| &p.outcome)
            .find(|o| matches!(o, SendOutcome::Failed { .. }))
    }
}

/// Settings of the sender, from the client configuration.
#[derive(Debug, Clone)]
pub(crate) struct SendSettings {
    pub interval: Duration,
    pub retries: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    pub max_bytes: usize,
}

/// Pacing and the msg_id sequence, shared by all sends of a client.
#[derive(Debug)]
pub(crate) struct SendState {
    next_msg_id: AtomicU64,
    chats: std::sync::Mutex<HashMap<ChatRef, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

impl SendState {
    /// A fresh state with a random 8-digit msg_id start (TW style, §5.4).
    pub(crate) fn new() -> SendState {
        let start = rand::random_range(10_000_000u64..50_000_000);
        SendState {
            next_msg_id: AtomicU64::new(start),
            chats: std::sync::Mutex::new(HashMap::new()),
        }
    }

    fn msg_id(&self) -> u64 {
        self.next_msg_id.fetch_add(1, Ordering::Relaxed)
    }

    fn chat_lock(&self, chat: ChatRef) -> Arc<tokio::sync::Mutex<Option<Instant>>> {
        let mut map = match self.chats.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(chat).or_default().clone()
    }
}

/// The endpoint a chat kind is sent through.
pub(crate) fn endpoint_for(kind: ChatKind) -> Result<&'static str> {
    match kind {
        ChatKind::Friend => Ok("send_buddy_msg2"),
        ChatKind::Group => Ok("send_qun_msg2"),
        ChatKind::Discussion => Ok("send_discu_msg2"),
        ChatKind::Session => Err(Error::Unsupported("session")),
    }
}

/// Sends `segments` to `chat`. `auth` is called before each request so a
/// relink between retries is picked up. Errors only for an empty message,
/// an unsupported chat kind, or shutdown; everything else is in the report.
pub(crate) async fn send<F, Fut>(
    t: &Transport,
    state: &SendState,
    settings: &SendSettings,
    face: u64,
    auth: F,
    chat: ChatRef,
    segments: &[Segment],
) -> Result<SendReport>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<Auth>>,
{
    let endpoint = endpoint_for(chat.kind)?;
    let (segments, removed) = content::clean_outgoing(segments);
    if !removed.is_empty() {
        tracing::warn!(
            control_chars = removed.controls,
            dropped_faces = ?removed.faces,
            "outgoing message cleaned: {} control character(s) stripped, {} face(s) outside 0..={} dropped",
            removed.controls,
            removed.faces.len(),
            content::MAX_FACE_ID
        );
    }
    let parts = content::split(&segments, settings.max_bytes);
    if parts.is_empty() {
        return Err(Error::EmptyMessage { endpoint });
    }
    let lock = state.chat_lock(chat);
    let mut last_sent = lock.lock().await;
    let mut reports = Vec::with_capacity(parts.len());
    let mut failed = false;
    for part in parts {
        if failed {
            reports.push(PartReport {
                msg_id: 0,
                segments: part,
                attempts: 0,
                outcome: SendOutcome::NotSent,
            });
            continue;
        }
        let msg_id = state.msg_id();
        let mut backoff = Backoff::new(settings.backoff_base, settings.backoff_max);
        let mut attempts = 0;
        let outcome = loop {
            if let Some(prev) = *last_sent {
                let ready = prev + settings.interval;
                if ready > Instant::now() {
                    tokio::time::sleep_until(ready.into()).await;
                }
            }
            let auth = auth().await?;
            attempts += 1;
            let answer = post_part(t, endpoint, &auth, face, chat, msg_id, &part).await;
            *last_sent = Some(Instant::now());
            match answer {
                Ok(outcome) => break outcome,
                Err(e) if e.is_transient() && attempts <= settings.retries => {
                    let delay = backoff.next_delay();
                    tracing::warn!(msg_id, error = %e, attempt = attempts, ?delay, "transient send failure; retrying");
                    tokio::time::sleep(delay).await;
                }
                Err(e) => {
                    break SendOutcome::Failed {
                        retcode: e.retcode(),
                        reason: e.to_string(),
                    };
                }
            }
        };
        match &outcome {
            SendOutcome::Failed { reason, .. } => {
                tracing::warn!(msg_id, reason, attempts, "message part not delivered");
                failed = true;
            }
            SendOutcome::ProbablyDelivered => {
                tracing::warn!(msg_id, "retcode 1202: probably delivered; not resending")
            }
            o => tracing::debug!(msg_id, outcome = ?o, "message part sent"),
        }
        reports.push(PartReport {
            msg_id,
            segments: part,
            attempts,
            outcome,
        });
    }
    Ok(SendReport {
        chat,
        parts: reports,
    })
}

/// One request. `Ok` for every answer the server gave that decides the
/// part's fate; `Err` for transport failures (and malformed answers).
async fn post_part(
    t: &Transport,
    endpoint: &'static str,
    auth: &Auth,
    face: u64,
    chat: ChatRef,
    msg_id: u64,
    part: &[Segment],
) -> Result<SendOutcome> {
    let mut r = json!({
        "content": content::encode(part),
        "face": face,
        "clientid": CLIENT_ID,
        "msg_id": msg_id,
        "psessionid": auth.psessionid,
    });
    let target = match chat.kind {
        ChatKind::Friend => "to",
        ChatKind::Group => "group_uin",
        _ => "did",
    };
    r[target] = json!(chat.id);
    let url = format!("https://d1.web2.qq.com/channel/{endpoint}");
    let v = t
        .post_r(endpoint, &url, REFERER_D, ORIGIN_D, &r, None)
        .await?;
    classify(endpoint, &v)
}

/// Maps a send answer (§1.3: `errCode` on success, `retcode` on failure)
/// to an outcome.
pub(crate) fn classify(endpoint: &'static str, v: &Value) -> Result<SendOutcome> {
    if let Some(code) = v.get("errCode").and_then(int_field) {
        return Ok(if code == 0 {
            SendOutcome::Delivered
        } else {
            SendOutcome::Failed {
                retcode: Some(code),
                reason: format!("{endpoint}: errCode {code} ({:?})", errmsg_of(v)),
            }
        });
    }
    match v.get("retcode").and_then(int_field) {
        Some(0) => Ok(SendOutcome::Delivered),
        Some(100100) => Ok(SendOutcome::DeliveredWithWarning { retcode: 100100 }),
        Some(1202) => Ok(SendOutcome::ProbablyDelivered),
        Some(code) => Ok(SendOutcome::Failed {
            retcode: Some(code),
            reason: Error::Retcode {
                endpoint,
                retcode: code,
                errmsg: errmsg_of(v),
            }
            .to_string(),
        }),
        None => Err(Error::Malformed {
            endpoint,
            detail: format!(
                "neither errCode nor retcode in {}",
                truncate(&v.to_string(), 200)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_every_send_answer() {
        let c = |v: Value| classify("send_qun_msg2", &v).unwrap();
        assert_eq!(
            c(json!({"errCode":0,"msg":"send ok"})),
            SendOutcome::Delivered
        );
        assert_eq!(
            c(json!({"retcode":0,"result":"ok"})),
            SendOutcome::Delivered
        );
        assert_eq!(
            c(json!({"retcode":100100,"errmsg":""})),
            SendOutcome::DeliveredWithWarning { retcode: 100100 }
        );
        assert_eq!(
            c(json!({"retcode":1202,"errmsg":"error!!!"})),
            SendOutcome::ProbablyDelivered
        );
        assert!(matches!(
            c(json!({"retcode":100012,"errmsg":"error!!!"})),
            SendOutcome::Failed {
                retcode: Some(100012),
                ..
            }
        ));
        assert!(matches!(
            c(json!({"errCode":5,"errMsg":"ERROR"})),
            SendOutcome::Failed {
                retcode: Some(5),
                ..
            }
        ));
        assert!(classify("x", &json!({"a":1})).is_err());
        assert!(SendOutcome::ProbablyDelivered.is_delivered());
        assert!(!SendOutcome::NotSent.is_delivered());
    }
}
