//! Reverse WebSocket (`communication/ws-reverse.md`): the implementation
//! dials us. We listen; each incoming connection names its account in
//! `X-Self-ID` and its role in `X-Client-Role` (`Universal`, `API` or
//! `Event`; when absent, the sub-path `…/api` or `…/event` decides, else
//! Universal).
//!
//! One listener serves several clients (accounts): listeners are kept in
//! a process-wide table by address, and each [`Client`](crate::Client) in
//! reverse mode registers a route (its path and its `self_id`) on the
//! listener for its address, binding it if it is the first. A connection
//! goes to the route whose configured `self_id` is its `X-Self-ID`; a
//! client configured without one takes the first account that connects
//! and keeps it. The listener closes when its last client shuts down.
//!
//! Everything is checked before the upgrade, so a refused connection gets
//! a plain HTTP answer: unknown path or account → 404, missing or bad
//! `X-Self-ID` / `X-Client-Role` → 400, no token → 401, wrong token →
//! 403, client shutting down → 503. A new connection for a role an
//! account already has (Universal counts as both) replaces the old one,
//! which is closed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use crate::auth::check_token;
use crate::conn::{self, ApiLink, ApiSide};
use crate::error::{Error, Result};
use crate::event::Event;
use crate::shared::Shared;

/// How long a peer may take for the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

static LISTENERS: LazyLock<Mutex<HashMap<SocketAddr, Weak<Listener>>>> =
    LazyLock::new(Default::default);

/// The role of a reverse connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Universal,
    Api,
    Event,
}

impl Role {
    fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "universal" => Some(Role::Universal),
            "api" => Some(Role::Api),
            "event" => Some(Role::Event),
            _ => None,
        }
    }

    fn has_api(self) -> bool {
        matches!(self, Role::Universal | Role::Api)
    }

    fn overlaps(self, other: Role) -> bool {
        self == other || self == Role::Universal || other == Role::Universal
    }
}

/// A live connection of a route: its id, role, and the signal that closes
/// it (taken once sent).
type Live = (u64, Role, Option<oneshot::Sender<()>>);

/// One client's route on a listener.
struct Route {
    path: String,
    want: Option<u64>,
    bound: Mutex<Option<u64>>,
    shared: Arc<Shared>,
    live: Mutex<Vec<Live>>,
}

impl Route {
    /// Records a new connection and closes those it replaces.
    fn admit(&self, id: u64, role: Role, cancel: oneshot::Sender<()>) -> usize {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        let mut replaced = 0;
        for (_, r, c) in live.iter_mut() {
            if r.overlaps(role)
                && let Some(c) = c.take()
            {
                let _ = c.send(());
                replaced += 1;
            }
        }
        live.retain(|(_, _, c)| c.is_some());
        live.push((id, role, Some(cancel)));
        replaced
    }

    fn forget(&self, id: u64) {
        self.live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|(i, _, _)| *i != id);
    }

    fn close_all(&self) {
        for (_, _, c) in self
            .live
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            if let Some(c) = c {
                let _ = c.send(());
            }
        }
    }
}

#[derive(Default)]
struct Table {
    routes: Mutex<Vec<Arc<Route>>>,
}

/// A bound listener; its accept task ends when it is dropped.
struct Listener {
    addr: SocketAddr,
    table: Arc<Table>,
    task: JoinHandle<()>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        tracing::info!(addr = %self.addr, "reverse WebSocket listener closed");
        self.task.abort();
    }
}

/// A client's registration on a listener; dropping it removes the route
/// and closes the route's connections.
pub(crate) struct Registration {
    listener: Arc<Listener>,
    route: Arc<Route>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.listener
            .table
            .routes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|r| !Arc::ptr_eq(r, &self.route));
        self.route.close_all();
    }
}

/// `/a/b/` → `/a/b`; `/` → `` (so sub-paths are `base + "/api"`).
fn normalize(path: &str) -> String {
    let t = path.trim_end_matches('/');
    if t.is_empty() || t.starts_with('/') {
        t.to_string()
    } else {
        format!("/{t}")
    }
}

/// Registers `shared`'s route on the listener for `listen`, binding it if
/// needed. Fails when the address cannot be bound, or another client
/// already routes the same path and `self_id`.
///
/// A listener just closed may still hold its port for a moment (its
/// accept task is cancelled asynchronously), so binding is retried for up
/// to [`REBIND_WAIT`] while the address is in use.
pub(crate) async fn register(
    shared: Arc<Shared>,
    listen: SocketAddr,
    path: &str,
) -> Result<Registration> {
    let deadline = tokio::time::Instant::now() + REBIND_WAIT;
    loop {
        match try_register(&shared, listen, path) {
            Err(Error::Bind { source, .. })
                if source.kind() == std::io::ErrorKind::AddrInUse
                    && tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

/// How long [`register`] retries a bind whose address is in use.
const REBIND_WAIT: Duration = Duration::from_secs(1);

fn try_register(shared: &Arc<Shared>, listen: SocketAddr, path: &str) -> Result<Registration> {
    let path = normalize(path);
    let want = shared.config.self_id;
    let mut listeners = LISTENERS.lock().unwrap_or_else(|e| e.into_inner());
    let listener = match listeners.get(&listen).and_then(Weak::upgrade) {
        Some(l) => l,
        None => {
            let std_listener =
                std::net::TcpListener::bind(listen).map_err(|source| Error::Bind {
                    addr: listen,
                    source,
                })?;
            std_listener
                .set_nonblocking(true)
                .map_err(|source| Error::Bind {
                    addr: listen,
                    source,
                })?;
            let tcp = TcpListener::from_std(std_listener).map_err(|source| Error::Bind {
                addr: listen,
                source,
            })?;
            let table = Arc::new(Table::default());
            let task = tokio::spawn(accept_loop(tcp, table.clone()));
            tracing::info!(addr = %listen, "reverse WebSocket listener bound");
            let l = Arc::new(Listener {
                addr: listen,
                table,
                task,
            });
            listeners.insert(listen, Arc::downgrade(&l));
            l
        }
    };
    let mut routes = listener
        .table
        .routes
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if routes.iter().any(|r| r.path == path && r.want == want) {
        return Err(Error::Config(match want {
            Some(id) => format!("two clients for account {id} on ws://{listen}{path}"),
            None => format!(
                "two clients without self_id on ws://{listen}{path}; set self_id to share a listener"
            ),
        }));
    }
    let route = Arc::new(Route {
        path,
        want,
        bound: Mutex::new(want),
        shared: shared.clone(),
        live: Mutex::new(Vec::new()),
    });
    routes.push(route.clone());
    drop(routes);
    Ok(Registration { listener, route })
}

async fn accept_loop(tcp: TcpListener, table: Arc<Table>) {
    loop {
        match tcp.accept().await {
            Ok((stream, peer)) => {
                tokio::spawn(handle(table.clone(), stream, peer));
            }
            Err(e) => {
                tracing::warn!(error = %e, "reverse WebSocket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A refusal before the upgrade.
type Refusal = (u16, String);

/// Decides whether a handshake request is admitted, and for which route
/// and role.
fn decide(table: &Table, req: &Request) -> std::result::Result<(Arc<Route>, Role, u64), Refusal> {
    let path = normalize(req.uri().path());
    let (base, sub_role) = if let Some(b) = path.strip_suffix("/api") {
        (b, Some(Role::Api))
    } else if let Some(b) = path.strip_suffix("/event") {
        (b, Some(Role::Event))
    } else {
        (path.as_str(), None)
    };
    let routes: Vec<Arc<Route>> = {
        let all = table.routes.lock().unwrap_or_else(|e| e.into_inner());
        // An exact match of the whole path wins over a sub-path reading.
        let exact: Vec<_> = all.iter().filter(|r| r.path == path).cloned().collect();
        if exact.is_empty() {
            all.iter().filter(|r| r.path == base).cloned().collect()
        } else {
            exact
        }
    };
    let sub_role = if routes.first().is_some_and(|r| r.path == path) {
        None
    } else {
        sub_role
    };
    if routes.is_empty() {
        return Err((404, format!("no OneBot endpoint at {}", req.uri().path())));
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    let self_id: u64 = header("x-self-id")
        .ok_or((400, "missing X-Self-ID".to_string()))?
        .parse()
        .map_err(|_| (400, "X-Self-ID is not a QQ number".to_string()))?;
    let role = match header("x-client-role") {
        Some(r) => Role::parse(r).ok_or((400, format!("unknown X-Client-Role {r:?}")))?,
        None => sub_role.unwrap_or(Role::Universal),
    };
    let bound_to = |r: &Route| *r.bound.lock().unwrap_or_else(|e| e.into_inner());
    let route = routes
        .iter()
        .find(|r| r.want == Some(self_id))
        .or_else(|| routes.iter().find(|r| bound_to(r) == Some(self_id)))
        .or_else(|| routes.iter().find(|r| bound_to(r).is_none()))
        .cloned()
        .ok_or((404, format!("no client for account {self_id}")))?;
    check_token(
        route.shared.config.access_token.as_deref(),
        req.headers(),
        req.uri().query(),
    )
    .map_err(|status| {
        (
            status.as_u16(),
            if status.as_u16() == 401 {
                "access token required"
            } else {
                "wrong access token"
            }
            .to_string(),
        )
    })?;
    if route.shared.is_shut_down() {
        return Err((503, "client shutting down".to_string()));
    }
    let mut bound = route.bound.lock().unwrap_or_else(|e| e.into_inner());
    match *bound {
        None => *bound = Some(self_id),
        Some(b) if b != self_id => return Err((404, format!("no client for account {self_id}"))),
        Some(_) => {}
    }
    drop(bound);
    Ok((route, role, self_id))
}

async fn handle(table: Arc<Table>, stream: TcpStream, peer: SocketAddr) {
    let mut decision = None;
    // The signature is tungstenite's `Callback`; its error type is large.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request,
                    resp: Response|
     -> std::result::Result<Response, ErrorResponse> {
        match decide(&table, req) {
            Ok(d) => {
                decision = Some(d);
                Ok(resp)
            }
            Err((status, why)) => {
                tracing::warn!(%peer, path = req.uri().path(), status, "reverse WebSocket connection refused: {why}");
                let mut refusal = ErrorResponse::new(Some(why));
                *refusal.status_mut() =
                    http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::FORBIDDEN);
                Err(refusal)
            }
        }
    };
    let ws = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async(stream, callback),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "reverse WebSocket handshake ended");
            return;
        }
        Err(_) => {
            tracing::warn!(%peer, "reverse WebSocket handshake timed out");
            return;
        }
    };
    let Some((route, role, self_id)) = decision else {
        return;
    };
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let (cancel_tx, cancel_rx) = oneshot::channel();
    let replaced = route.admit(id, role, cancel_tx);
    let label = format!("{peer} ({self_id} {role:?})");
    tracing::info!(conn = %label, replaced, "OneBot implementation connected (reverse)");
    let shared = &route.shared;
    let stop = async {
        tokio::select! {
            biased;
            r = shared.stopped() => r,
            _ = cancel_rx => "replaced by a new connection or unregistered".to_string(),
        }
    };
    if role.has_api() {
        let (link, outbox) = ApiLink::new(label.clone());
        if let Some(old) = shared.api.send_replace(Some(link.clone())) {
            old.pending.fail_all();
        }
        let api = ApiSide {
            pending: &link.pending,
            outbox,
        };
        let reason = conn::run(
            ws,
            &label,
            Some(api),
            &shared.events,
            Some(Event::Connected),
            stop,
        )
        .await;
        let was_current = shared.api.send_if_modified(|cur| {
            if cur.as_ref().is_some_and(|l| l.id == link.id) {
                *cur = None;
                true
            } else {
                false
            }
        });
        link.pending.fail_all();
        route.forget(id);
        if was_current && !shared.is_shut_down() {
            tracing::warn!(conn = %label, %reason, "OneBot API connection lost (reverse); waiting for the implementation to reconnect");
            shared.emit(Event::Disconnected { reason }).await;
        } else {
            tracing::info!(conn = %label, %reason, "reverse connection ended");
        }
    } else {
        let reason = conn::run(ws, &label, None, &shared.events, None, stop).await;
        route.forget(id);
        tracing::info!(conn = %label, %reason, "reverse event connection ended");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_roles() {
        assert_eq!(normalize("/onebot/v11/ws/"), "/onebot/v11/ws");
        assert_eq!(normalize("/"), "");
        assert_eq!(normalize("ws"), "/ws");
        assert_eq!(Role::parse("API"), Some(Role::Api));
        assert_eq!(Role::parse("Universal"), Some(Role::Universal));
        assert_eq!(Role::parse("x"), None);
        assert!(Role::Universal.overlaps(Role::Event));
        assert!(!Role::Api.overlaps(Role::Event));
    }
}
