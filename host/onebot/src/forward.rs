//! Forward WebSocket (`communication/ws.md`): the implementation listens,
//! we dial it — one Universal connection, or an `/api` and an `/event`
//! connection that live and die together.
//!
//! A supervisor task owns the connection(s): when they drop (closed, read
//! error, heartbeat timeout) it takes the API link out of service (calls
//! in flight fail with the transient [`Error::Disconnected`]), emits
//! [`Event::Disconnected`], and redials with capped exponential backoff
//! and jitter; each new connection emits [`Event::Connected`]. A refused
//! token (HTTP 401/403 on the handshake) is fatal for
//! [`Client::connect`](crate::Client::connect) and logged as an error
//! (and retried at the backoff's pace) afterwards.

use std::sync::Arc;

use http::HeaderValue;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use url::Url;
use wasmqq_wire::backoff::Backoff;

use crate::auth::bearer;
use crate::config::Mode;
use crate::conn::{self, ApiLink, ApiSide};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::shared::Shared;

/// How long a connection must have lasted for the reconnect backoff to
/// start over from [`Config::reconnect_base`](crate::Config::reconnect_base).
const STABLE: std::time::Duration = std::time::Duration::from_secs(10);

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The dialled connection(s): `api` serves both roles unless `event` is
/// given.
pub(crate) struct Conns {
    api: (Ws, String),
    event: Option<(Ws, String)>,
}

/// Opens one WebSocket to `url`, with our token.
async fn dial(shared: &Shared, url: &Url) -> Result<Ws> {
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| Error::Config(format!("{url}: not a WebSocket URL: {e}")))?;
    if let Some(token) = &shared.config.access_token {
        let value = HeaderValue::from_str(&bearer(token))
            .map_err(|_| Error::Config("access_token is not a valid header value".into()))?;
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, value);
    }
    let connect = tokio_tungstenite::connect_async(request);
    match tokio::time::timeout(shared.config.action_timeout, connect).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp)))
            if matches!(resp.status().as_u16(), 401 | 403) =>
        {
            Err(Error::Unauthorized {
                endpoint: url.to_string(),
                status: resp.status().as_u16(),
            })
        }
        Ok(Err(e)) => Err(Error::Connect {
            url: url.to_string(),
            source: Box::new(e),
        }),
        Err(_) => Err(Error::Timeout {
            action: format!("connect {url}"),
            timeout: shared.config.action_timeout,
        }),
    }
}

/// Dials the mode's connection(s).
async fn dial_all(shared: &Shared) -> Result<Conns> {
    match &shared.config.mode {
        Mode::ForwardWs { url } => Ok(Conns {
            api: (dial(shared, url).await?, url.to_string()),
            event: None,
        }),
        Mode::ForwardWsSplit { api, event } => {
            let a = dial(shared, api).await?;
            let e = dial(shared, event).await?;
            Ok(Conns {
                api: (a, api.to_string()),
                event: Some((e, event.to_string())),
            })
        }
        other => Err(Error::Config(format!(
            "not a forward mode: {}",
            other.describe()
        ))),
    }
}

/// The first connection, retried with backoff while the implementation is
/// unreachable. Fails on a refused token, a bad URL, or shutdown.
pub(crate) async fn first_connect(shared: &Shared) -> Result<Conns> {
    let mut backoff = Backoff::new(shared.config.reconnect_base, shared.config.reconnect_max);
    loop {
        match dial_all(shared).await {
            Ok(c) => return Ok(c),
            Err(e @ (Error::Unauthorized { .. } | Error::Config(_))) => return Err(e),
            Err(e) => {
                let delay = backoff.next_delay();
                tracing::warn!(error = %e, "OneBot implementation not reachable; retrying in {} ms", delay.as_millis());
                if shared.sleep_or_shutdown(delay).await {
                    return Err(Error::Shutdown);
                }
            }
        }
    }
}

/// Serves `first`, then reconnects for as long as the client runs.
pub(crate) async fn supervise(shared: Arc<Shared>, first: Conns) {
    let mut backoff = Backoff::new(shared.config.reconnect_base, shared.config.reconnect_max);
    let mut next = Some(first);
    loop {
        let conns = match next.take() {
            Some(c) => c,
            None => match dial_all(&shared).await {
                Ok(c) => c,
                Err(e) => {
                    let delay = backoff.next_delay();
                    if matches!(e, Error::Unauthorized { .. }) {
                        tracing::error!(error = %e, "reconnect refused; retrying in {} ms", delay.as_millis());
                    } else {
                        tracing::warn!(error = %e, "reconnect failed; retrying in {} ms", delay.as_millis());
                    }
                    if shared.sleep_or_shutdown(delay).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let started = tokio::time::Instant::now();
        let reason = serve(&shared, conns).await;
        // A connection that held for a while earns a fresh backoff; one
        // that the implementation drops at once keeps backing off.
        if started.elapsed() >= STABLE {
            backoff.reset();
        }
        if shared.is_shut_down() {
            return;
        }
        tracing::warn!(%reason, "OneBot connection lost; reconnecting");
        shared.emit(Event::Disconnected { reason }).await;
        let delay = backoff.next_delay();
        if shared.sleep_or_shutdown(delay).await {
            return;
        }
    }
}

/// Serves one set of connections until one of them ends.
async fn serve(shared: &Shared, conns: Conns) -> String {
    let (api_ws, api_label) = conns.api;
    let (link, outbox) = ApiLink::new(api_label.clone());
    shared.api.send_replace(Some(link.clone()));
    tracing::info!(conn = %api_label, "connected to the OneBot implementation");
    let api_side = ApiSide {
        pending: &link.pending,
        outbox,
    };
    let reason = match conns.event {
        None => {
            conn::run(
                api_ws,
                &api_label,
                Some(api_side),
                &shared.events,
                Some(Event::Connected),
                shared.stopped(),
            )
            .await
        }
        Some((event_ws, event_label)) => {
            tokio::select! {
                r = conn::run(api_ws, &api_label, Some(api_side), &shared.events, Some(Event::Connected), shared.stopped()) => format!("{api_label}: {r}"),
                r = conn::run(event_ws, &event_label, None, &shared.events, None, shared.stopped()) => format!("{event_label}: {r}"),
            }
        }
    };
    shared.api.send_if_modified(|cur| {
        if cur.as_ref().is_some_and(|l| l.id == link.id) {
            *cur = None;
            true
        } else {
            false
        }
    });
    link.pending.fail_all();
    reason
}

#[cfg(test)]
mod tests {
    use tokio_tungstenite::tungstenite::Error as WsError;
    use tokio_tungstenite::tungstenite::error::UrlError;

    #[tokio::test]
    async fn wss_is_compiled_in() {
        // A plain TCP server: the TLS handshake fails, but it is tried.
        let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = tcp.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((s, _)) = tcp.accept().await {
                drop(s);
            }
        });
        let err = tokio_tungstenite::connect_async(format!("wss://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert!(
            !matches!(err, WsError::Url(UrlError::TlsFeatureNotEnabled)),
            "{err}"
        );
    }
}
