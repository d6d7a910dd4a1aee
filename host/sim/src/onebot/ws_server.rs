//! The forward WebSocket server (`communication/ws.md`): `/` is a
//! Universal connection, `/api` (or `/api/`) takes calls only, `/event`
//! (or `/event/`) pushes events only. The access token is checked before
//! the upgrade: missing → HTTP 401, wrong → 403, and no socket.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::extract::Request;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures::{SinkExt, StreamExt};

use super::auth;
use super::session::{self, Incoming, Role};
use crate::conn::ConnCtl;
use crate::http;
use crate::state::Sim;

/// The role a forward path stands for.
pub(crate) fn role_of(path: &str) -> Option<Role> {
    match path {
        "/" | "" => Some(Role::Universal),
        "/api" | "/api/" => Some(Role::Api),
        "/event" | "/event/" => Some(Role::Event),
        _ => None,
    }
}

/// Whether a request asks for a WebSocket upgrade.
pub(crate) fn is_upgrade(req: &Request) -> bool {
    req.headers()
        .get(axum::http::header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// Accepts (or refuses) a forward WebSocket connection.
pub(crate) async fn upgrade(sim: &Arc<Sim>, request: Request, conn: Option<ConnCtl>) -> Response {
    let Some(face) = sim.config.onebot.as_ref().filter(|f| f.forward_ws) else {
        return http::status_page(StatusCode::NOT_FOUND);
    };
    let path = request.uri().path().to_string();
    let Some(role) = role_of(&path) else {
        tracing::info!(%path, "onebot: WebSocket on an unknown path");
        return http::status_page(StatusCode::NOT_FOUND);
    };
    let query: Vec<(String, String)> = request
        .uri()
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    if let Err(e) = auth::check(face.access_token.as_deref(), request.headers(), &query) {
        tracing::info!(%path, error = %e, "onebot: WebSocket refused");
        return http::status_page(e.status());
    }
    let (mut parts, _body) = request.into_parts();
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(ws) => ws,
        Err(rejection) => return rejection.into_response(),
    };
    let sim = sim.clone();
    ws.on_upgrade(move |socket| async move {
        let (sink, stream) = socket.split();
        let sink =
            sink.with(|t: String| async move { Ok::<_, axum::Error>(Message::Text(t.into())) });
        let stream = stream.map(|m| match m {
            Ok(Message::Text(t)) => Incoming::Text(t.as_str().to_string()),
            Ok(Message::Binary(b)) => match String::from_utf8(b.to_vec()) {
                Ok(t) => Incoming::Text(t),
                Err(_) => Incoming::Other,
            },
            Ok(Message::Close(_)) | Err(_) => Incoming::Close,
            Ok(_) => Incoming::Other,
        });
        session::run(
            sim,
            format!("forward {path}"),
            role,
            conn,
            Box::pin(sink),
            Box::pin(stream),
        )
        .await;
    })
}
