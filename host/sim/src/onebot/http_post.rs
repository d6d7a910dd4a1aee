//! The HTTP POST event client (`communication/http-post.md`): each event
//! is POSTed as JSON to the configured URL with `X-Self-ID` and, when a
//! secret is set, `X-Signature: sha1=<hex HMAC-SHA1(secret, body)>`.
//!
//! The poster is an event consumer for the simulator's whole life: it
//! posts a lifecycle `enable` first, then events in order, and heartbeats
//! when configured. A message event whose post gets no HTTP answer
//! (refused, timed out) is posted again every `retry_interval`, holding
//! back the ones after it, so nothing is lost while the bot is down; meta
//! events are not retried. A JSON object answer to a message event is a
//! quick operation (`reply`, with `at_sender` in groups); 204 or an empty
//! body means none.

use std::sync::Arc;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha1::Sha1;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::actions;
use super::config::HttpPost;
use super::events;
use super::hub::{self, Conn, Out};
use crate::state::{Event, Sim};

/// `sha1=<hex>`: the `X-Signature` of `body` under `secret`.
pub(crate) fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes keys of any length; this cannot fail.
    let mut mac = match Hmac::<Sha1>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Starts the poster.
pub(crate) fn spawn(sim: &Arc<Sim>, cfg: &HttpPost) -> JoinHandle<()> {
    let (tx, rx) = mpsc::unbounded_channel();
    let self_id = sim.config.population.bot.qq;
    let id = {
        let mut st = sim.state();
        let id = hub::register(
            &mut st,
            Conn {
                label: format!("http_post {}", cfg.url),
                events: true,
                droppable: false,
                tx: tx.clone(),
                ctl: None,
            },
        );
        let _ = tx.send(Out::Frame(events::lifecycle(self_id, "enable")));
        hub::pump(sim, &mut st);
        id
    };
    drop(tx);
    let (sim, cfg) = (sim.clone(), cfg.clone());
    tokio::spawn(async move { poster(sim, cfg, id, rx).await })
}

enum Posted {
    /// An HTTP answer (any status) with its body.
    Answered(u16, Vec<u8>),
    /// No answer.
    Unreachable,
}

async fn poster(sim: Arc<Sim>, cfg: HttpPost, id: u64, mut rx: mpsc::UnboundedReceiver<Out>) {
    let Some(face) = sim.config.onebot.clone() else {
        return;
    };
    let self_id = sim.config.population.bot.qq;
    let client = match reqwest::Client::builder().timeout(cfg.timeout).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "onebot: HTTP POST client cannot be built");
            return;
        }
    };
    let mut stop = sim.stop.subscribe();
    let mut beat = face.heartbeat.map(|d| {
        let mut i = tokio::time::interval_at(tokio::time::Instant::now() + d, d);
        i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        (i, d)
    });
    let mut unsent: Vec<Event> = Vec::new();
    'outer: loop {
        let out = tokio::select! {
            out = rx.recv() => out,
            _ = async {
                match beat.as_mut() {
                    Some((i, _)) => { i.tick().await; }
                    None => std::future::pending::<()>().await,
                }
            } => {
                let ms = beat.as_ref().map(|(_, d)| d.as_millis()).unwrap_or_default();
                Some(Out::Frame(events::heartbeat(self_id, ms)))
            }
            _ = stop.changed() => break,
        };
        match out {
            Some(Out::Event(body, ev)) => loop {
                match post(&client, &cfg.url, self_id, face.secret.as_deref(), &body).await {
                    Posted::Answered(status, answer) => {
                        if !(200..300).contains(&status) {
                            tracing::warn!(url = %cfg.url, status, "onebot: HTTP POST answered an error");
                        } else if let Some(ev) = &ev {
                            quick(&sim, ev, &answer);
                        }
                        break;
                    }
                    Posted::Unreachable => {
                        tokio::select! {
                            _ = tokio::time::sleep(cfg.retry_interval) => {}
                            _ = stop.changed() => {
                                unsent.extend(ev);
                                break 'outer;
                            }
                        }
                    }
                }
            },
            Some(Out::Frame(body)) => {
                let _ = post(&client, &cfg.url, self_id, face.secret.as_deref(), &body).await;
            }
            Some(Out::Drop) => {}
            None => break,
        }
    }
    hub::unregister(&mut sim.state(), id, &mut rx, unsent);
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    self_id: u64,
    secret: Option<&str>,
    body: &str,
) -> Posted {
    let mut rb = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Self-ID", self_id.to_string())
        .body(body.to_string());
    if let Some(s) = secret.filter(|s| !s.is_empty()) {
        rb = rb.header("X-Signature", signature(s, body.as_bytes()));
    }
    match rb.send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
            Posted::Answered(status, bytes)
        }
        Err(e) => {
            tracing::info!(%url, error = %e, "onebot: HTTP POST failed");
            Posted::Unreachable
        }
    }
}

/// Applies a quick operation answer, if any.
fn quick(sim: &Arc<Sim>, ev: &Event, answer: &[u8]) {
    if answer.iter().all(u8::is_ascii_whitespace) {
        return;
    }
    match serde_json::from_slice::<Value>(answer) {
        Ok(op @ Value::Object(_)) => actions::quick_operation(sim, ev, &op),
        Ok(_) | Err(_) => {
            tracing::info!("onebot: HTTP POST answer is not a quick operation object; ignored");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_sha1_vector() {
        // RFC 2202 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha1=effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"
        );
    }
}
