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

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

mod config;
mod conn;
pub mod control;
mod cookies;
mod error;
mod faults;
mod http;
mod ids;
mod offline;
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
pub use faults::{FaultAction, FaultSpec};
pub use offline::Offline;
pub use population::{BUILTIN_TOML, Bot, Category, Discussion, Group, Member, Population, User};

use conn::{ConnCtl, SimListener};
use state::Sim;

/// A running simulator. Dropping it stops the server too (without waiting);
/// prefer [`SimHandle::shutdown`].
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
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
    Ok(SimHandle {
        addr,
        sim,
        stop: Some(stop),
        task: Some(task),
    })
}

/// Runs the simulator standalone until ctrl-c (`wasmqq sim --listen ADDR
/// [--population FILE]`); `population` defaults to the built-in one.
///
/// Fails when the population file is invalid, the address cannot be bound
/// or the server stops with an error.
pub async fn serve(listen: SocketAddr, population: Option<PathBuf>) -> Result<(), SimError> {
    let population = match population {
        Some(p) => Population::load(&p)?,
        None => Population::builtin(),
    };
    let mut handle = start(
        SimConfig {
            population,
            ..SimConfig::default()
        },
        listen,
    )
    .await?;
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

    /// Stops the server: held polls end at once, in-flight requests finish
    /// (at most 5 s), then the task is gone.
    pub async fn shutdown(mut self) {
        self.signal_stop();
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
