//! One OneBot WebSocket connection, whichever side opened it: the forward
//! server's accepted sockets and the reverse client's connections run the
//! same loop over a text sink and a frame stream.
//!
//! An event-capable connection (Universal, Event) first gets a lifecycle
//! `connect` meta event, then everything queued, then live events and
//! heartbeats. An API-capable one (Universal, API) answers each call frame
//! `{"action", "params", "echo"}` with the envelope and the same `echo`;
//! a frame that is not JSON, not an object or without a string `action`
//! gets a `failed`/1400 answer (echo null when unknown), an unknown action
//! 1404. Nothing a bot sends can end the loop except closing the socket.

use std::sync::Arc;

use futures::{Sink, SinkExt, Stream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;

use super::actions::{self, Outcome, Reply};
use super::events;
use super::hub::{self, Conn, Out};
use crate::conn::ConnCtl;
use crate::state::{Event, Sim};

/// What a connection carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Role {
    /// API calls and events (`/`, `X-Client-Role: Universal`).
    Universal,
    /// API calls only (`/api`, `X-Client-Role: API`).
    Api,
    /// Events only (`/event`, `X-Client-Role: Event`).
    Event,
}

impl Role {
    fn api(self) -> bool {
        self != Role::Event
    }

    fn events(self) -> bool {
        self != Role::Api
    }

    /// The `X-Client-Role` value.
    pub(crate) fn header(self) -> &'static str {
        match self {
            Role::Universal => "Universal",
            Role::Api => "API",
            Role::Event => "Event",
        }
    }
}

/// A frame from the bot, transport-neutral.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A text (or UTF-8 binary) frame.
    Text(String),
    /// A close frame.
    Close,
    /// Ping, pong, non-UTF-8 binary.
    Other,
}

/// How the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The bot closed or the socket failed.
    Closed,
    /// The drop fault or a reset fault: drop without a close frame.
    Dropped,
    /// The simulator is stopping.
    Shutdown,
}

/// Runs the connection until it ends; registers it with the hub for its
/// life.
pub(crate) async fn run<S, R>(
    sim: Arc<Sim>,
    label: String,
    role: Role,
    ctl: Option<ConnCtl>,
    mut sink: S,
    mut stream: R,
) -> End
where
    S: Sink<String> + Unpin,
    S::Error: std::fmt::Display,
    R: Stream<Item = Incoming> + Unpin,
{
    let Some(face) = sim.config.onebot.clone() else {
        return End::Closed;
    };
    let self_id = sim.config.population.bot.qq;
    let mut stop = sim.stop.subscribe();
    if *stop.borrow() {
        return End::Shutdown;
    }
    let (tx, mut rx) = mpsc::unbounded_channel();
    let id = {
        let mut st = sim.state();
        let id = hub::register(
            &mut st,
            Conn {
                label: label.clone(),
                events: role.events(),
                droppable: true,
                tx: tx.clone(),
                ctl: ctl.clone(),
            },
        );
        if role.events() {
            let _ = tx.send(Out::Frame(events::lifecycle(self_id, "connect")));
            hub::pump(&sim, &mut st);
        }
        id
    };
    drop(tx);
    let mut beat = face.heartbeat.filter(|_| role.events()).map(|d| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        (i, d)
    });
    let mut unsent: Vec<Event> = Vec::new();
    let end = loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Out::Event(text, ev)) => {
                    if let Err(e) = sink.send(text).await {
                        tracing::info!(conn = %label, error = %e, "onebot: event not written");
                        unsent.extend(ev);
                        break End::Closed;
                    }
                }
                Some(Out::Frame(text)) => {
                    if sink.send(text).await.is_err() {
                        break End::Closed;
                    }
                }
                Some(Out::Drop) => break End::Dropped,
                None => break End::Closed,
            },
            frame = stream.next() => match frame {
                Some(Incoming::Text(text)) if role.api() => {
                    match answer(&sim, &text) {
                        Answer::Text(t) => {
                            if sink.send(t).await.is_err() {
                                break End::Closed;
                            }
                        }
                        Answer::Nothing => {}
                        Answer::Drop => break End::Dropped,
                    }
                }
                Some(Incoming::Text(_)) => {
                    tracing::debug!(conn = %label, "onebot: frame on an event-only connection ignored");
                }
                Some(Incoming::Other) => {}
                Some(Incoming::Close) | None => break End::Closed,
            },
            _ = async {
                match beat.as_mut() {
                    Some((i, _)) => { i.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                let ms = beat.as_ref().map(|(_, d)| d.as_millis()).unwrap_or_default();
                if sink.send(events::heartbeat(self_id, ms)).await.is_err() {
                    break End::Closed;
                }
            }
            _ = stop.changed() => break End::Shutdown,
        }
    };
    hub::unregister(&mut sim.state(), id, &mut rx, unsent);
    if end != End::Dropped {
        let _ = sink.close().await;
    }
    tracing::info!(conn = %label, ?end, "onebot: connection ended");
    end
}

enum Answer {
    Text(String),
    Nothing,
    Drop,
}

/// Answers one call frame.
fn answer(sim: &Arc<Sim>, text: &str) -> Answer {
    let v: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            tracing::info!(error = %e, "onebot: call frame is not JSON");
            return Answer::Text(
                Reply::bad_params(format!("the frame is not JSON: {e}"))
                    .envelope(Some(&Value::Null))
                    .to_string(),
            );
        }
    };
    let echo = v.get("echo").cloned().unwrap_or(Value::Null);
    let Some(action) = v.get("action").and_then(Value::as_str) else {
        return Answer::Text(
            Reply::bad_params("the call has no string \"action\"")
                .envelope(Some(&echo))
                .to_string(),
        );
    };
    let params = v.get("params").cloned().unwrap_or(Value::Null);
    let echo_ref = v.get("echo");
    match actions::call(sim, action, &params) {
        Outcome::Reply(r) => Answer::Text(r.envelope(echo_ref).to_string()),
        Outcome::HttpStatus(s) => Answer::Text(
            Reply::failed(i64::from(s), "injected fault")
                .envelope(echo_ref)
                .to_string(),
        ),
        Outcome::Malformed => Answer::Text(r#"{"status":"ok","retcode":0,"data":{"#.into()),
        Outcome::NoAnswer => Answer::Nothing,
        Outcome::Reset => Answer::Drop,
    }
}
