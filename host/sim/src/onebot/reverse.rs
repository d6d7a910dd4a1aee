//! The reverse WebSocket client (`communication/ws-reverse.md`): the
//! simulator connects to the bot with `X-Self-ID` (the population's bot),
//! `X-Client-Role` (`Universal` by default, or `API` and `Event` on two
//! connections), `Authorization: Bearer <access_token>` when a token is
//! set, and then behaves as on a forward connection. A refused or dropped
//! connection is retried every `reconnect_interval` until the simulator
//! stops.

use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use super::config::{ReverseTarget, ReverseWs};
use super::session::{self, End, Incoming, Role};
use crate::state::Sim;

/// How long a connection attempt (TCP and handshake) may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A reverse connection that could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReverseError {
    /// The configured URL is not a WebSocket URL.
    #[error("onebot reverse WebSocket url {url:?}: {source}")]
    BadUrl {
        /// The URL.
        url: String,
        /// Why.
        source: tokio_tungstenite::tungstenite::Error,
    },
    /// A header value (the access token) cannot be sent.
    #[error("onebot reverse WebSocket: the access token is not a valid header value")]
    BadToken,
    /// The handshake did not complete in time.
    #[error("onebot reverse WebSocket {url}: no handshake within 10 s")]
    Timeout {
        /// The URL.
        url: String,
    },
    /// Connecting or the handshake failed.
    #[error("onebot reverse WebSocket {url}: {source}")]
    Connect {
        /// The URL.
        url: String,
        /// Why.
        source: tokio_tungstenite::tungstenite::Error,
    },
}

/// Starts the client task(s).
pub(crate) fn spawn(sim: &Arc<Sim>, rw: &ReverseWs) -> Vec<JoinHandle<()>> {
    let targets = match &rw.target {
        ReverseTarget::Universal(u) => vec![(u.clone(), Role::Universal)],
        ReverseTarget::Split { api, event } => {
            vec![(api.clone(), Role::Api), (event.clone(), Role::Event)]
        }
    };
    targets
        .into_iter()
        .map(|(url, role)| {
            let sim = sim.clone();
            let interval = rw.reconnect_interval;
            tokio::spawn(async move { client(sim, url, role, interval).await })
        })
        .collect()
}

async fn client(sim: Arc<Sim>, url: String, role: Role, interval: std::time::Duration) {
    let mut stop = sim.stop.subscribe();
    loop {
        if *stop.borrow() {
            return;
        }
        match connect_once(&sim, &url, role).await {
            Ok(End::Shutdown) => return,
            Ok(end) => {
                tracing::info!(%url, role = role.header(), ?end, "onebot: reverse connection ended; reconnecting")
            }
            Err(e @ (ReverseError::BadUrl { .. } | ReverseError::BadToken)) => {
                tracing::error!(error = %e, "onebot: reverse client stopped");
                return;
            }
            Err(e) => tracing::info!(error = %e, "onebot: reverse connection failed; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn connect_once(sim: &Arc<Sim>, url: &str, role: Role) -> Result<End, ReverseError> {
    let mut request = url
        .into_client_request()
        .map_err(|source| ReverseError::BadUrl {
            url: url.to_string(),
            source,
        })?;
    let h = request.headers_mut();
    h.insert("X-Self-ID", HeaderValue::from(sim.config.population.bot.qq));
    h.insert("X-Client-Role", HeaderValue::from_static(role.header()));
    h.insert(
        "User-Agent",
        HeaderValue::from_static(concat!(
            "wasmqq-sim/",
            env!("CARGO_PKG_VERSION"),
            " OneBot/11"
        )),
    );
    if let Some(t) = sim
        .config
        .onebot
        .as_ref()
        .and_then(|f| f.access_token.as_deref())
        .filter(|t| !t.is_empty())
    {
        let v =
            HeaderValue::from_str(&format!("Bearer {t}")).map_err(|_| ReverseError::BadToken)?;
        h.insert("Authorization", v);
    }
    let mut stop = sim.stop.subscribe();
    let connect = tokio::time::timeout(CONNECT_TIMEOUT, tokio_tungstenite::connect_async(request));
    let ws = tokio::select! {
        r = connect => match r {
            Ok(r) => r.map_err(|source| ReverseError::Connect {
                url: url.to_string(),
                source,
            })?.0,
            Err(_) => return Err(ReverseError::Timeout { url: url.to_string() }),
        },
        _ = stop.changed() => return Ok(End::Shutdown),
    };
    tracing::info!(%url, role = role.header(), "onebot: reverse connection open");
    let (sink, stream) = ws.split();
    let sink = sink.with(|t: String| async move {
        Ok::<_, tokio_tungstenite::tungstenite::Error>(Message::Text(t.into()))
    });
    let stream = stream.map(|m| match m {
        Ok(Message::Text(t)) => Incoming::Text(t.as_str().to_string()),
        Ok(Message::Binary(b)) => match String::from_utf8(b.to_vec()) {
            Ok(t) => Incoming::Text(t),
            Err(_) => Incoming::Other,
        },
        Ok(Message::Close(_)) | Err(_) => Incoming::Close,
        Ok(_) => Incoming::Other,
    });
    Ok(session::run(
        sim.clone(),
        format!("reverse {} {url}", role.header()),
        role,
        None,
        Box::pin(sink),
        Box::pin(stream),
    )
    .await)
}
