//! One WebSocket connection to the implementation, whichever side dialled:
//! the read/write loop shared by forward and reverse mode.
//!
//! A frame is an event (it has `post_type`) or a response (it has `echo`,
//! `status` or `retcode`). Responses are handed to the waiting call at
//! once; events go to the client's bounded event channel. So that a slow
//! event consumer cannot hold up responses that it is itself waiting for
//! (a handler awaiting a send while events pile up), the loop keeps
//! reading while events wait for room, queueing up to [`QUEUE_MAX`] of
//! them; only past that does it stop reading, which pushes back on the
//! implementation through TCP. Events are never dropped.
//!
//! A heartbeat meta event announces its `interval`; if nothing at all
//! arrives for three intervals the connection is declared dead, so the
//! forward client reconnects (and a reverse peer is made to).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::action::{Pending, Response, next_echo, request_frame};
use crate::error::{Error, Result};
use crate::event::{Event, MetaEvent, decode_event};

/// Events read but not yet taken by the event channel, per connection,
/// before the loop stops reading.
pub(crate) const QUEUE_MAX: usize = 4096;

/// Requests written by calls, waiting for the write loop.
const OUTBOX: usize = 64;

/// The API side of a connection: where calls write their request and wait
/// for their response.
pub(crate) struct ApiLink {
    /// Unique per connection, to tell a replaced link from its successor.
    pub id: u64,
    /// For logs: the URL or peer.
    pub label: String,
    out: mpsc::Sender<String>,
    pub pending: Pending,
}

impl ApiLink {
    /// A link and the receiving end of its outbox, for [`run`].
    pub(crate) fn new(label: String) -> (Arc<ApiLink>, mpsc::Receiver<String>) {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let (out, rx) = mpsc::channel(OUTBOX);
        let link = ApiLink {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            label,
            out,
            pending: Pending::new(),
        };
        (Arc::new(link), rx)
    }

    /// Calls `action` on this connection and waits up to `timeout` for its
    /// response. Fails with [`Error::Disconnected`] when the connection
    /// is gone or drops before the response.
    pub(crate) async fn call(
        &self,
        action: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value> {
        let echo = next_echo();
        let (tx, rx) = oneshot::channel();
        let disconnected = || Error::Disconnected {
            action: action.to_string(),
        };
        if !self.pending.insert(echo.clone(), action, tx) {
            return Err(disconnected());
        }
        let frame = request_frame(action, params, &echo);
        let exchange = async {
            self.out.send(frame).await.map_err(|_| disconnected())?;
            rx.await.map_err(|_| disconnected())?
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(result) => {
                if result.is_err() {
                    self.pending.remove(&echo);
                }
                result
            }
            Err(_) => {
                self.pending.remove(&echo);
                tracing::warn!(conn = %self.label, action, echo, "no response within {} ms", timeout.as_millis());
                Err(Error::Timeout {
                    action: action.to_string(),
                    timeout,
                })
            }
        }
    }
}

/// What a connection carries besides events.
pub(crate) struct ApiSide<'a> {
    pub pending: &'a Pending,
    pub outbox: mpsc::Receiver<String>,
}

/// Serves one connection until it ends or `stop` resolves; returns why it
/// ended. `api` is `None` for an event-only connection. `first` is queued
/// ahead of everything read (the [`Event::Connected`] of a new API link).
/// Does not fail the link's pending calls: the caller does, once it has
/// taken the link out of service.
pub(crate) async fn run<S, F>(
    ws: S,
    label: &str,
    mut api: Option<ApiSide<'_>>,
    events: &mpsc::Sender<Event>,
    first: Option<Event>,
    stop: F,
) -> String
where
    S: Stream<Item = std::result::Result<Message, WsError>>
        + Sink<Message, Error = WsError>
        + Unpin,
    F: Future<Output = String>,
{
    let (mut sink, mut stream) = ws.split();
    let mut queue: VecDeque<Event> = first.into_iter().collect();
    let mut heartbeat: Option<Duration> = None;
    let mut last_seen = Instant::now();
    let mut consumer_gone = false;
    tokio::pin!(stop);
    let reason = loop {
        // An absurd interval (from the network) means no deadline, not an overflow.
        let deadline = heartbeat.and_then(|i| last_seen.checked_add(i.saturating_mul(3)));
        tokio::select! {
            reason = &mut stop => {
                let _ = sink.send(Message::Close(None)).await;
                break reason;
            }
            permit = events.reserve(), if !queue.is_empty() && !consumer_gone => match permit {
                Ok(permit) => {
                    if let Some(ev) = queue.pop_front() {
                        permit.send(ev);
                    }
                }
                Err(_) => {
                    tracing::debug!(conn = label, "event receiver dropped; events are discarded");
                    consumer_gone = true;
                    queue.clear();
                }
            },
            frame = stream.next(), if queue.len() < QUEUE_MAX => {
                last_seen = Instant::now();
                match frame {
                    None => break "connection closed".to_string(),
                    Some(Err(e)) => break format!("read error: {e}"),
                    Some(Ok(Message::Text(text))) => {
                        handle_frame(text.as_str(), label, api.as_ref().map(|a| a.pending), &mut queue, &mut heartbeat, consumer_gone);
                    }
                    Some(Ok(Message::Binary(bytes))) => match std::str::from_utf8(&bytes) {
                        Ok(text) => handle_frame(text, label, api.as_ref().map(|a| a.pending), &mut queue, &mut heartbeat, consumer_gone),
                        Err(_) => tracing::warn!(conn = label, len = bytes.len(), "binary frame is not UTF-8, skipped"),
                    },
                    Some(Ok(Message::Close(frame))) => {
                        break match frame {
                            Some(f) => format!("closed by the peer ({} {})", f.code, f.reason),
                            None => "closed by the peer".to_string(),
                        };
                    }
                    Some(Ok(_)) => {} // ping/pong: answered by tungstenite
                }
            }
            out = next_out(&mut api) => match out {
                Some(text) => {
                    if let Err(e) = sink.send(Message::text(text)).await {
                        break format!("write error: {e}");
                    }
                }
                None => api = None,
            },
            _ = sleep_until_opt(deadline) => {
                let interval = heartbeat.unwrap_or_default();
                let _ = sink.send(Message::Close(None)).await;
                break format!("no heartbeat or event for {} ms (3 × the {} ms interval)", (interval * 3).as_millis(), interval.as_millis());
            }
        }
    };
    if !queue.is_empty() && !consumer_gone {
        // Parsed events are not lost with the connection: hand them over.
        for ev in queue {
            if events.send(ev).await.is_err() {
                break;
            }
        }
    }
    reason
}

async fn next_out(api: &mut Option<ApiSide<'_>>) -> Option<String> {
    match api {
        Some(a) => a.outbox.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// Routes one text frame: a response to its call, an event to the queue;
/// anything else is logged and skipped.
fn handle_frame(
    text: &str,
    label: &str,
    pending: Option<&Pending>,
    queue: &mut VecDeque<Event>,
    heartbeat: &mut Option<Duration>,
    consumer_gone: bool,
) {
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(conn = label, error = %e, frame = %truncate(text), "frame is not JSON, skipped");
            return;
        }
    };
    let Some(obj) = value.as_object() else {
        tracing::warn!(conn = label, frame = %truncate(text), "frame is not a JSON object, skipped");
        return;
    };
    if obj.contains_key("post_type") {
        match decode_event(&value) {
            Ok(ev) => {
                if let Event::Meta(MetaEvent::Heartbeat {
                    interval: Some(i), ..
                }) = &ev
                {
                    if *heartbeat != Some(*i) {
                        tracing::debug!(
                            conn = label,
                            interval_ms = i.as_millis() as u64,
                            "heartbeat interval"
                        );
                    }
                    *heartbeat = Some(*i);
                }
                if !consumer_gone {
                    queue.push_back(ev);
                }
            }
            Err(e) => {
                tracing::warn!(conn = label, error = %e, frame = %truncate(text), "undecodable event, skipped")
            }
        }
    } else if obj.contains_key("echo") || obj.contains_key("status") || obj.contains_key("retcode")
    {
        match (Response::decode(&value), pending) {
            (Ok(resp), Some(p)) => p.resolve(resp, label),
            (Ok(_), None) => {
                tracing::warn!(conn = label, frame = %truncate(text), "response on an event-only connection, skipped")
            }
            (Err(e), _) => tracing::warn!(conn = label, error = %e, "malformed response, skipped"),
        }
    } else {
        tracing::warn!(conn = label, frame = %truncate(text), "frame is neither an event nor a response, skipped");
    }
}

/// At most 200 characters of a frame, for a log line.
fn truncate(text: &str) -> String {
    if text.chars().count() > 200 {
        let cut: String = text.chars().take(200).collect();
        format!("{cut}…")
    } else {
        text.to_string()
    }
}
