//! A faithful WebQQ (SmartQQ) server simulator with a JSON control API.
//!
//! The WebQQ service is gone; this crate plays its part for `wasmqq demo`,
//! the end-to-end tests and any independent SmartQQ client. It speaks the
//! wire contract of `webqq-protocol.md` over plain HTTP, routing on the
//! `Host` header (port ignored) so clients keep their real `*.qq.com` URLs
//! with DNS pointed at the simulator:
//!
//! * ptlogin: QR code PNG + `qrsig`, `ptuiCB` 66 → 67 → 0 (auto-confirmed
//!   after a delay or by the control API), check_sig 302 and cookies;
//! * `s.web2.qq.com/api/*`: getvfwebqq, friend/group/discussion lists,
//!   profiles, group members;
//! * `d1.web2.qq.com/channel/*`: login2, activation by
//!   get_online_buddies2, poll2 long-poll, sends, discussion info.
//!
//! Every login gets fresh pseudonymous uins/gids/codes/dids; the control
//! API (`/_sim/...`, see [`control`]) speaks in public numbers: QQ numbers,
//! group numbers and discussion ids from the [`Population`].
//!
//! With [`SimConfig::onebot`] set, the simulator also wears a OneBot v11
//! face (see [`onebot`]): forward WebSocket and HTTP API on the same port
//! for any non-WebQQ Host ([`SimHandle::onebot_ws_url`],
//! [`SimHandle::onebot_http_url`]), a reverse WebSocket client and an HTTP
//! POST client, and injected messages delivered as OneBot events.
//!
//! ```no_run
//! # async fn demo() -> Result<(), wasmqq_sim::SimError> {
//! use wasmqq_sim::{ChatKind, InjectMessage, SimConfig};
//! let sim = wasmqq_sim::start(SimConfig::default(), "127.0.0.1:0".parse().unwrap()).await?;
//! println!("ptqrshow at {}", sim.url("ssl.ptlogin2.qq.com", "/ptqrshow"));
//! sim.inject(&InjectMessage { chat: ChatKind::Friend, from: 10001, to: None, text: "hi".into() })
//!     .expect("Alice is a friend");
//! sim.shutdown().await;
//! # Ok(()) }
//! ```

// Route helpers return `Result<_, Response>`: the early answer *is* the
// error, as in axum handlers; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod answers;
mod config;
mod conn;
pub mod control;
mod cookies;
mod error;
mod event;
mod faults;
mod http;
mod ids;
mod model;
mod names;
mod offline;
pub mod onebot;
mod poll;
mod population;
mod qr;
mod routes;
mod state;

pub use config::{IdleAnswer, SimConfig};
pub use control::{
    ChatKind, ControlError, InjectMessage, Pseudonyms, SentMessage, SessionState, SimState,
};
pub use error::SimError;
pub use faults::{FaultAction, FaultSpec, FaultSpecError};
pub use offline::Offline;
pub use onebot::{HttpPost, MalformedEvent, MessageFormat, OneBotFace, ReverseTarget, ReverseWs};
pub use population::{
    BUILTIN_TOML, Bot, Category, Discussion, Group, Member, Population, User, known,
};

use conn::{ConnCtl, SimListener};
use state::Sim;

/// A running simulator. Dropping it stops the server too (without waiting);
/// prefer [`SimHandle::shutdown`].
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    /// The OneBot face's client tasks (reverse WebSocket, HTTP POST).
    clients: Vec<JoinHandle<()>>,
}

/// Starts the simulator in-process on `listen` (port 0 picks a free port).
///
/// Fails with [`SimError::Bind`] when the address cannot be bound.
pub async fn start(config: SimConfig, listen: SocketAddr) -> Result<SimHandle, SimError> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|source| SimError::Bind {
            addr: listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| SimError::Bind {
        addr: listen,
        source,
    })?;
    let sim = Arc::new(Sim::new(config));
    let app = Router::new()
        .fallback(routes::dispatch)
        .with_state(sim.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(
            SimListener(listener),
            app.into_make_service_with_connect_info::<ConnCtl>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(%addr, "WebQQ simulator listening");
    let clients = onebot::start_clients(&sim);
    if sim.config.onebot.is_some() {
        tracing::info!(
            "OneBot v11 face: forward WebSocket ws://{addr}/ (/api, /event), HTTP API http://{addr}/<action>"
        );
    }
    Ok(SimHandle {
        addr,
        sim,
        stop: Some(stop),
        task: Some(task),
        clients,
    })
}

/// Runs the simulator standalone until ctrl-c (`wasmqq sim`), with
/// `config` (load a population file with [`Population::load`]).
///
/// Fails when the address cannot be bound or the server stops with an
/// error.
pub async fn serve(config: SimConfig, listen: SocketAddr) -> Result<(), SimError> {
    let mut handle = start(config, listen).await?;
    let port = handle.addr.port();
    tracing::info!(
        "point the WebQQ hosts ({}) at {} and use port {port}; control API at http://{}/_sim/state",
        wasmqq_wire::consts::HOSTS.join(", "),
        handle.addr.ip(),
        handle.addr
    );
    let Some(task) = handle.task.as_mut() else {
        return Ok(());
    };
    tokio::select! {
        r = tokio::signal::ctrl_c() => {
            r.map_err(SimError::Serve)?;
            tracing::info!("ctrl-c: stopping the simulator");
            handle.shutdown().await;
            Ok(())
        }
        r = task => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(SimError::Serve(e)),
            Err(e) => Err(SimError::Serve(std::io::Error::other(e))),
        },
    }
}

impl SimHandle {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://{host}:{port}{path}`: a URL for a WebQQ host on this
    /// simulator (resolve the host to [`SimHandle::addr`]'s IP).
    pub fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.addr.port())
    }

    /// `ws://{ip}:{port}/`: the OneBot forward WebSocket (Universal); add
    /// `api` or `event` for the split connections. An unspecified listen
    /// address (`0.0.0.0`) gives `127.0.0.1`.
    pub fn onebot_ws_url(&self) -> String {
        format!("ws://{}/", self.reachable())
    }

    /// `http://{ip}:{port}`: the OneBot HTTP API root (`/<action>` below it).
    pub fn onebot_http_url(&self) -> String {
        format!("http://{}", self.reachable())
    }

    /// Live OneBot WebSocket connections (forward and reverse).
    pub fn onebot_connections(&self) -> usize {
        self.sim.state().onebot.connections()
    }

    /// Drops every OneBot WebSocket connection (`{"onebot_drop":true}`).
    pub fn onebot_drop(&self) -> Result<(), ControlError> {
        self.fault(&FaultSpec {
            onebot_drop: true,
            ..FaultSpec::default()
        })
    }

    fn reachable(&self) -> SocketAddr {
        let ip = match self.addr.ip() {
            ip if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            ip => ip,
        };
        SocketAddr::new(ip, self.addr.port())
    }

    /// The simulated world.
    pub fn population(&self) -> &Population {
        &self.sim.config.population
    }

    /// Queues an incoming message (as `POST /_sim/messages`); returns its
    /// server msg_id. Fails when the sender or target does not fit the
    /// population. Messages queued without a session wait for one.
    pub fn inject(&self, msg: &InjectMessage) -> Result<u64, ControlError> {
        self.sim.inject(msg)
    }

    /// Everything the bot sent, in order (as `GET /_sim/sent`).
    pub fn sent(&self) -> Vec<SentMessage> {
        self.sim.state().sent.clone()
    }

    /// The time from the last poll2 answer that carried an event to the
    /// last send accepted after it: what the client took to answer, without
    /// the simulator's own hops (for benchmarks). `None` until a send
    /// followed a delivered event.
    pub fn last_turnaround(&self) -> Option<Duration> {
        let st = self.sim.state();
        let (delivered, sent) = (st.last_delivered_at?, st.last_sent_at?);
        sent.checked_duration_since(delivered)
    }

    /// Waits until the bot has sent at least `count` messages or `timeout`
    /// passes; returns what was sent either way.
    pub async fn wait_sent(&self, count: usize, timeout: Duration) -> Vec<SentMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.sim.sent_notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let sent = self.sent();
            if sent.len() >= count {
                return sent;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.sent();
            }
        }
    }

    /// Login and session state (as `GET /_sim/state`).
    pub fn state(&self) -> SimState {
        self.sim.snapshot()
    }

    /// Arms a fault or applies an incident (as `POST /_sim/faults`).
    pub fn fault(&self, spec: &FaultSpec) -> Result<(), ControlError> {
        self.sim.fault(spec)
    }

    /// Kicks the session (`{"kick":true}`).
    pub fn kick(&self) -> Result<(), ControlError> {
        self.fault(&FaultSpec {
            kick: true,
            ..FaultSpec::default()
        })
    }

    /// Expires the login and session (`{"expire_session":true}`).
    pub fn expire_session(&self) -> Result<(), ControlError> {
        self.fault(&FaultSpec {
            expire_session: true,
            ..FaultSpec::default()
        })
    }

    /// Marks the latest QR code scanned (`POST /_sim/qr/scan`).
    pub fn scan_qr(&self) -> Result<(), ControlError> {
        self.sim.qr_action(false)
    }

    /// Confirms the latest QR code (`POST /_sim/qr/confirm`).
    pub fn confirm_qr(&self) -> Result<(), ControlError> {
        self.sim.qr_action(true)
    }

    /// Stops the server: held polls end at once, OneBot connections and
    /// clients close, in-flight requests finish (at most 5 s), then the
    /// task is gone.
    pub async fn shutdown(mut self) {
        self.signal_stop();
        for c in std::mem::take(&mut self.clients) {
            let abort = c.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), c)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
        tracing::info!(addr = %self.addr, "WebQQ simulator stopped");
    }

    fn signal_stop(&mut self) {
        self.sim.state().shutting_down = true;
        self.sim.stop.send_replace(true);
        self.sim.wake_polls();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.signal_stop();
    }
}
