//! HTTP (`communication/http.md`) and HTTP POST (`http-post.md`).
//!
//! API calls are `POST <api>/<action>` with the params as a JSON body and
//! our token as `Authorization: Bearer`. The HTTP status carries what
//! WebSocket puts in `retcode`: 401/403 are a refused token
//! ([`Error::Unauthorized`]), 400/404 become [`Error::Failed`] with
//! retcode 1400/1404 as over WebSocket, other non-200 statuses are
//! [`Error::Status`] (transient for 5xx).
//!
//! Events arrive at our webhook as POSTed JSON. When a `secret` is
//! configured the body must carry a valid `X-Signature` (missing → 401,
//! bad → 403) and that authenticates it — implementations do not send
//! their access token on HTTP POST; a token presented anyway must be the
//! right one. Without a secret the access token is required as on every
//! server endpoint (missing → 401, wrong → 403). Bodies that are not JSON
//! get 400; events that cannot be decoded are logged and answered 204 like
//! the others, so the implementation does not resend them. We answer 204
//! (no quick operation) once the event is in the event channel, which is
//! how backpressure reaches the implementation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;
use tokio::task::JoinHandle;
use url::Url;

use crate::action::{Response, retcode_for_http_status};
use crate::auth::{check_signature, check_token, presented_token};
use crate::error::{Error, Result};
use crate::event::decode_event;
use crate::shared::Shared;

/// The HTTP API client.
pub(crate) struct HttpApi {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl HttpApi {
    /// A client for the API at `api`.
    pub(crate) fn new(api: &Url, token: Option<String>) -> Result<HttpApi> {
        let client = reqwest::Client::builder()
            .build()
            .map_err(|e| Error::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(HttpApi {
            client,
            base: api.as_str().trim_end_matches('/').to_string(),
            token,
        })
    }

    /// `POST <api>/<action>` with `params`; the response's data.
    pub(crate) async fn call(
        &self,
        action: &str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value> {
        let url = format!("{}/{action}", self.base);
        let mut req = self.client.post(&url).json(params).timeout(timeout);
        if let Some(token) = &self.token {
            req = req.bearer_auth(token);
        }
        let map_err = |e: reqwest::Error| {
            if e.is_timeout() {
                Error::Timeout {
                    action: action.to_string(),
                    timeout,
                }
            } else {
                Error::Http {
                    action: action.to_string(),
                    source: e,
                }
            }
        };
        let resp = req.send().await.map_err(map_err)?;
        let status = resp.status().as_u16();
        let body = resp.text().await.map_err(map_err)?;
        match status {
            200 => {}
            401 | 403 => {
                return Err(Error::Unauthorized {
                    endpoint: url,
                    status,
                });
            }
            s => {
                return Err(match retcode_for_http_status(s) {
                    Some(retcode) => Error::Failed {
                        action: action.to_string(),
                        retcode,
                        message: body.chars().take(200).collect(),
                    },
                    None => Error::Status {
                        action: action.to_string(),
                        status: s,
                    },
                });
            }
        }
        let value: Value = serde_json::from_str(&body).map_err(|e| Error::Malformed {
            action: action.to_string(),
            detail: format!("not JSON: {e}"),
        })?;
        let response = Response::decode(&value).map_err(|e| Error::Malformed {
            action: action.to_string(),
            detail: e.to_string(),
        })?;
        response.into_result(action)
    }
}

/// Binds the webhook at `listen` + `path` and serves it until shutdown.
pub(crate) async fn start_webhook(
    shared: Arc<Shared>,
    listen: SocketAddr,
    path: &str,
) -> Result<JoinHandle<()>> {
    let tcp = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|source| Error::Bind {
            addr: listen,
            source,
        })?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut router = Router::new().route(&path, post(webhook));
    let alt = if path.len() > 1 && path.ends_with('/') {
        Some(path.trim_end_matches('/').to_string())
    } else if path.len() > 1 {
        Some(format!("{path}/"))
    } else {
        None
    };
    if let Some(alt) = alt.filter(|a| !a.is_empty()) {
        router = router.route(&alt, post(webhook));
    }
    let router = router.with_state(shared.clone());
    tracing::info!(addr = %listen, %path, "HTTP POST webhook listening");
    Ok(tokio::spawn(async move {
        let stop = async move {
            shared.stopped().await;
        };
        if let Err(e) = axum::serve(tcp, router).with_graceful_shutdown(stop).await {
            tracing::error!(addr = %listen, error = %e, "HTTP POST webhook stopped");
        }
    }))
}

async fn webhook(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> StatusCode {
    let config = &shared.config;
    let query = uri.query();
    let authorised = match &config.secret {
        Some(secret) => check_signature(secret, &headers, &body).and_then(|()| {
            if presented_token(&headers, query).is_some() {
                check_token(config.access_token.as_deref(), &headers, query)
            } else {
                Ok(())
            }
        }),
        None => check_token(config.access_token.as_deref(), &headers, query),
    };
    if let Err(status) = authorised {
        tracing::warn!(
            status = status.as_u16(),
            "HTTP POST event refused: {}",
            match (status.as_u16(), config.secret.is_some()) {
                (401, true) => "no X-Signature",
                (403, true) => "bad X-Signature or token",
                (401, false) => "no access token",
                _ => "wrong access token",
            }
        );
        return status;
    }
    if shared.is_shut_down() {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, len = body.len(), "HTTP POST body is not JSON, refused");
            return StatusCode::BAD_REQUEST;
        }
    };
    let header_self = headers
        .get("x-self-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok());
    let ours = shared.self_id.load(Ordering::Relaxed);
    if let Some(id) = header_self
        && ours != 0
        && id != ours
    {
        tracing::warn!(
            x_self_id = id,
            self_id = ours,
            "HTTP POST event for another account, skipped"
        );
        return StatusCode::NO_CONTENT;
    }
    match decode_event(&value) {
        Ok(ev) => shared.emit(ev).await,
        Err(e) => tracing::warn!(error = %e, "undecodable HTTP POST event, skipped"),
    }
    StatusCode::NO_CONTENT
}
